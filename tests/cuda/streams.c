/* Streams and events with cross-stream waits: what one stream writes, another copies only
 * after an event says it is done, and the first overwrites it only after the second's copy.
 * Prints what each buffer holds and the API's answers; native, local and remote must agree.
 *   streams                                        (finds libcudart.so.13 or .12 by name) */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define F(ret, name, ...) ret (*name)(__VA_ARGS__) = (ret (*)(__VA_ARGS__))dlsym(rt, #name)

/* count reports how many of n bytes hold v. */
static size_t count(const unsigned char *p, size_t n, unsigned char v) {
	size_t c = 0;
	for (size_t i = 0; i < n; i++) c += p[i] == v;
	return c;
}

int main(void) {
	void *rt = dlopen("libcudart.so.13", RTLD_NOW);
	if (!rt) rt = dlopen("libcudart.so.12", RTLD_NOW);
	if (!rt) { printf("dlopen: %s\n", dlerror()); return 2; }
	F(int, cudaMalloc, void **, size_t);
	F(int, cudaMemcpy, void *, const void *, size_t, int);
	F(int, cudaMemcpyAsync, void *, const void *, size_t, int, void *);
	F(int, cudaMemsetAsync, void *, int, size_t, void *);
	F(int, cudaStreamCreateWithFlags, void **, unsigned);
	F(int, cudaStreamWaitEvent, void *, void *, unsigned);
	F(int, cudaStreamSynchronize, void *);
	F(int, cudaStreamQuery, void *);
	F(int, cudaStreamDestroy, void *);
	F(int, cudaEventCreateWithFlags, void **, unsigned);
	F(int, cudaEventRecord, void *, void *);
	F(int, cudaEventSynchronize, void *);
	F(int, cudaEventQuery, void *);
	F(int, cudaEventElapsedTime, float *, void *, void *);
	F(int, cudaEventDestroy, void *);
	F(int, cudaDeviceSynchronize, void);
	const size_t n = 32 << 20;
	unsigned char *h = malloc(n);
	void *x, *y, *s1, *s2, *e1, *e2, *t0, *t1;
	int r = cudaMalloc(&x, n) | cudaMalloc(&y, n);
	r |= cudaStreamCreateWithFlags(&s1, 1) | cudaStreamCreateWithFlags(&s2, 1);
	r |= cudaEventCreateWithFlags(&e1, 2 /* disable timing */) | cudaEventCreateWithFlags(&e2, 2);
	r |= cudaEventCreateWithFlags(&t0, 0) | cudaEventCreateWithFlags(&t1, 0);
	if (r) { printf("setup failed: %d\n", r); return 1; }
	for (int round = 0; round < 3; round++) {
		int a = cudaEventRecord(t0, s1);
		a |= cudaMemsetAsync(x, 1 + round, n, s1);
		a |= cudaEventRecord(e1, s1);
		a |= cudaStreamWaitEvent(s2, e1, 0);       /* s2 copies x only once s1 has written it */
		a |= cudaMemcpyAsync(y, x, n, 3, s2);
		a |= cudaEventRecord(e2, s2);
		a |= cudaStreamWaitEvent(s1, e2, 0);       /* s1 overwrites x only after that copy */
		a |= cudaMemsetAsync(x, 100 + round, n, s1);
		a |= cudaEventRecord(t1, s1);
		int sync = cudaStreamSynchronize(s1);
		int q1 = cudaEventQuery(e2), q2 = cudaStreamQuery(s2);
		float ms = -1;
		int timed = cudaEventElapsedTime(&ms, t0, t1);
		cudaMemcpy(h, y, n, 2);
		size_t ys = count(h, n, 1 + round);
		cudaMemcpy(h, x, n, 2);
		size_t xs = count(h, n, 100 + round);
		printf("round %d: calls %d sync %d; y holds the first write in %zu/%zu bytes, x the second in %zu/%zu; "
			"event query %d, stream query %d, elapsed time %d (%s)\n",
			round, a, sync, ys, n, xs, n, q1, q2, timed, ms >= 0 ? "measured" : "none");
	}
	/* The per-thread default stream, and what events without timing cannot do. */
	int pt = cudaMemsetAsync(y, 7, n, (void *)2) | cudaStreamSynchronize((void *)2);
	cudaMemcpy(h, y, n, 2);
	float ms;
	printf("per-thread stream: %d, y holds 7 in %zu/%zu; elapsed time between untimed events: %d; event sync %d\n",
		pt, count(h, n, 7), n, cudaEventElapsedTime(&ms, e1, e2), cudaEventSynchronize(e2));
	printf("destroy: %d %d %d %d; device sync %d\n", cudaEventDestroy(e1), cudaEventDestroy(e2), cudaStreamDestroy(s1),
		cudaStreamDestroy(s2), cudaDeviceSynchronize());
	return 0;
}
