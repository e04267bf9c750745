/* Pinned host memory and host functions through NVIDIA's runtime on vgpu's libcuda.so.1:
 * cudaMallocHost and cudaHostAlloc (cuMemHostAlloc underneath), cudaLaunchHostFunc and
 * cudaStreamAddCallback (cuLaunchHostFunc / cuStreamAddCallback with the runtime's own
 * trampolines), in stream order with their user data. The prototypes are declared here (no
 * NVIDIA header). Exit status 0 only if every check holds. */
#include <stdio.h>
#include <string.h>

typedef void *cudaStream_t;
int cudaMallocHost(void **, size_t);
int cudaHostAlloc(void **, size_t, unsigned);
int cudaHostGetFlags(unsigned *, void *);
int cudaFreeHost(void *);
int cudaMalloc(void **, size_t);
int cudaFree(void *);
int cudaMemcpyAsync(void *, const void *, size_t, int, cudaStream_t);
int cudaStreamCreate(cudaStream_t *);
int cudaStreamDestroy(cudaStream_t);
int cudaStreamSynchronize(cudaStream_t);
int cudaLaunchHostFunc(cudaStream_t, void (*)(void *), void *);
int cudaStreamAddCallback(cudaStream_t, void (*)(cudaStream_t, int, void *), void *, unsigned);

static int failures;
#define CHECK(c, ...) do { int ok_ = (c); printf(ok_ ? "ok   " : "FAIL "); printf(__VA_ARGS__); printf("\n"); failures += !ok_; } while (0)

struct seen { const unsigned *src; unsigned value; int order[4]; int n; };
static void host_read(void *p) { struct seen *s = p; s->value = *s->src; s->order[s->n++] = 1; }
static void callback(cudaStream_t st, int status, void *p) {
	struct seen *s = p;
	s->order[s->n++] = status == 0 ? 2 : -status;
	(void)st;
}
static cudaStream_t cb_stream;
static int cb_stream_ok;
static void note_stream(cudaStream_t st, int status, void *p) { cb_stream_ok = st == cb_stream && status == 0 && p == &cb_stream; }

int main(void) {
	unsigned *h = NULL, *h2 = NULL, *d = NULL;
	int r = cudaMallocHost((void **)&h, 64 * sizeof *h);
	CHECK(r == 0 && h, "cudaMallocHost: %d", r);
	if (!h) return 1;
	memset(h, 0, 64 * sizeof *h);
	r = cudaHostAlloc((void **)&h2, 64 * sizeof *h2, 0x1 | 0x2); /* portable, mapped */
	CHECK(r == 0 && h2, "cudaHostAlloc portable|mapped: %d", r);
	if (!h2) return 1;
	unsigned flags = 0;
	r = cudaHostGetFlags(&flags, h2);
	CHECK(r == 0 && (flags & 3) == 3, "cudaHostGetFlags: %d, flags %u", r, flags);

	cudaStream_t s;
	CHECK(cudaStreamCreate(&s) == 0, "cudaStreamCreate");
	CHECK(cudaMalloc((void **)&d, 64 * sizeof *d) == 0, "cudaMalloc");
	for (int i = 0; i < 64; i++) h2[i] = 0x5a5a5a5au;
	CHECK(cudaMemcpyAsync(d, h2, 64 * sizeof *d, 1, s) == 0, "upload from pinned memory");
	CHECK(cudaMemcpyAsync(h, d, 64 * sizeof *d, 2, s) == 0, "download into pinned memory");
	struct seen seen = {h, 0, {0}, 0};
	r = cudaLaunchHostFunc(s, host_read, &seen);
	CHECK(r == 0, "cudaLaunchHostFunc: %d", r);
	r = cudaStreamAddCallback(s, callback, &seen, 0);
	CHECK(r == 0, "cudaStreamAddCallback: %d", r);
	CHECK(cudaStreamSynchronize(s) == 0, "cudaStreamSynchronize");
	CHECK(seen.value == 0x5a5a5a5au, "the host function saw the download: %08x", seen.value);
	CHECK(seen.n == 2 && seen.order[0] == 1 && seen.order[1] == 2, "host function, then callback with cudaSuccess (%d: %d %d)", seen.n, seen.order[0], seen.order[1]);
	cb_stream = s;
	CHECK(cudaStreamAddCallback(s, note_stream, &cb_stream, 0) == 0 && cudaStreamSynchronize(s) == 0, "a second callback");
	CHECK(cb_stream_ok, "the callback got its stream, status and user data");
	CHECK(cudaStreamAddCallback(s, note_stream, NULL, 1) == 1, "a callback with flags 1 is an invalid value");

	CHECK(cudaFree(d) == 0, "cudaFree");
	CHECK(cudaStreamDestroy(s) == 0, "cudaStreamDestroy");
	CHECK(cudaFreeHost(h) == 0 && cudaFreeHost(h2) == 0, "cudaFreeHost");
	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures != 0;
}
