/* A decode-shaped step through the CUDA runtime, for whatever libcudart the loader finds (vgpu
 * remote over TCP or a unix socket, in-process, NVIDIA's):
 *   decodestep [steps] [launches] [download-bytes]
 * Per step, on one stream: a 4 KB cudaMemcpyAsync host -> device, `launches` (40) kernel
 * launches, a cudaMemcpyAsync device -> host of `download-bytes` (600 KB: a token's logits) into
 * cudaHostAlloc'ed memory, and one cudaStreamSynchronize. Prints "decode_step_p50 X us",
 * "decode_step_mean X us".
 *
 * Every step checks what came back: the upload lands in the first 4 KB of the buffer the
 * download reads, stamped with the step's number, so a download that overtook its upload, came
 * back from an earlier step or lost bytes fails the run (exit 1). The kernel comes from the
 * same registration nvcc's stubs make (a small fat binary naming it, as tests/remote/client.c
 * does); on a sim server it is a no-op (VGPU_SIM_LAUNCH=noop). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timing.h"

static void host_stub(void) {}
static struct { unsigned magic, version; const unsigned long long *data; void *unused; } wrapper;
/* A fat binary header (magic, version 1, header size 16, 16 bytes of body) and a body that
 * names the kernel, as a real image's string table does. */
static unsigned long long fatbin[4] = {0x0010000100000000ull | 0xba55ed50u, 16, 0x7674736574345a5full, 0};
typedef struct { unsigned x, y, z; } dim3;

/* The pattern of byte i of the download buffer outside the upload's 4 KB. */
static unsigned char pattern(size_t i) { return (unsigned char)(i * 2654435761u >> 13); }

int main(int argc, char **argv) {
	int steps = argc > 1 ? atoi(argv[1]) : 2000, launches = argc > 2 ? atoi(argv[2]) : 40;
	size_t down = argc > 3 ? (size_t)atol(argv[3]) : 600 << 10;
	enum { UP = 4096, WARM = 200 };
	if (steps < 1 || launches < 0 || down < UP) { fprintf(stderr, "usage: decodestep [steps] [launches] [bytes >= 4096]\n"); return 2; }
	void *rt = dlopen("libcudart.so.13", RTLD_NOW);
	if (!rt) rt = dlopen("libcudart.so.12", RTLD_NOW);
	if (!rt) { printf("error dlopen %s\n", dlerror()); return 2; }
#define F(ret, name, ...) ret (*name)(__VA_ARGS__) = (ret (*)(__VA_ARGS__))dlsym(rt, #name)
	F(int, cudaMalloc, void **, size_t);
	F(int, cudaHostAlloc, void **, size_t, unsigned);
	F(int, cudaMemcpy, void *, const void *, size_t, int);
	F(int, cudaMemcpyAsync, void *, const void *, size_t, int, void *);
	F(int, cudaStreamCreate, void **);
	F(int, cudaStreamSynchronize, void *);
	F(int, cudaLaunchKernel, const void *, dim3, dim3, void **, size_t, void *);
	F(void **, __cudaRegisterFatBinary, void *);
	F(void, __cudaRegisterFunction, void **, const char *, char *, const char *, int, void *, void *, void *, void *, int *);
	wrapper.magic = 0x466243b1; wrapper.version = 1; wrapper.data = fatbin;
	if (launches > 0) /* without launches the step runs on any runtime and GPU: no kernel image is needed */
		__cudaRegisterFunction(__cudaRegisterFatBinary(&wrapper), (const char *)host_stub, "_Z4testv", "_Z4testv", -1, 0, 0, 0, 0, 0);

	void *d = NULL, *s = NULL;
	unsigned char *out = NULL, *in = malloc(UP), *init = malloc(down);
	int r;
	if ((r = cudaMalloc(&d, down)) || (r = cudaHostAlloc((void **)&out, down, 0)) || (r = cudaStreamCreate(&s))) {
		printf("error setup %d\n", r);
		return 2;
	}
	for (size_t i = 0; i < down; i++) init[i] = pattern(i);
	if ((r = cudaMemcpy(d, init, down, 1))) { printf("error initial upload %d\n", r); return 2; }
	int total = WARM + steps;
	double *t = malloc(sizeof *t * total);
	dim3 one = {1, 1, 1}, block = {32, 1, 1};
	for (int i = 0; i < total; i++) {
		for (int j = 0; j < UP; j += 4) memcpy(in + j, &i, 4);
		memset(out, 0, 64); /* a step that brought nothing back cannot pass for the last one */
		double t0 = now();
		r = cudaMemcpyAsync(d, in, UP, 1, s);
		for (int k = 0; k < launches && !r; k++) r = cudaLaunchKernel((const void *)host_stub, one, block, NULL, 0, s);
		if (!r) r = cudaMemcpyAsync(out, d, down, 2, s);
		if (!r) r = cudaStreamSynchronize(s);
		t[i] = (now() - t0) * 1e6;
		if (r) { printf("error step %d: %d\n", i, r); return 1; }
		if (memcmp(out, in, UP)) { printf("error step %d: the download does not carry this step's upload\n", i); return 1; }
		for (size_t k = UP; k < down; k += 4093)
			if (out[k] != pattern(k)) { printf("error step %d: byte %zu of the download is wrong\n", i, k); return 1; }
		if (down > UP && out[down - 1] != pattern(down - 1)) { printf("error step %d: the download's last byte is wrong\n", i); return 1; }
	}
	double sum = 0;
	for (int i = WARM; i < total; i++) sum += t[i];
	qsort(t + WARM, steps, sizeof *t, cmp);
	printf("decode_step_p50 %.1f us\ndecode_step_mean %.1f us\n", t[WARM + steps / 2], sum / steps);
	return 0;
}
