/* The remote path's micro-benchmarks, for whatever CUDA the loader finds (NVIDIA's, vgpu
 * in-process, local or remote): one line per figure, "name value unit".
 *   remote [gemm-size]
 * - sync round trip: a 1-byte cudaMemsetAsync and the cudaStreamSynchronize after it (p50, p99);
 * - late sync: the same, with 300 us of host work between the two: posted work should have run
 *   by then, so the sync costs one round trip (it measures how soon posted work starts);
 * - launch throughput: 20,000 launches of an empty kernel (driver API, from PTX), then one sync;
 * - H2D and D2H bandwidth of 256 MiB copies, from pageable and from pinned memory;
 * - a GEMM loop: cublasSgemm of gemm-size (default 2048) cubed, 20 times. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timing.h"
static void *lib(const char *a, const char *b) {
	void *h = dlopen(a, RTLD_NOW);
	return h ? h : dlopen(b, RTLD_NOW);
}

/* An empty kernel, as PTX the driver compiles for whatever GPU it has. */
static const char ptx[] =
	".version 7.0\n.target sm_50\n.address_size 64\n"
	".visible .entry vgpu_empty()\n{\n\tret;\n}\n";

int main(int argc, char **argv) {
	int gn = argc > 1 ? atoi(argv[1]) : 2048;
	void *rt = lib("libcudart.so.13", "libcudart.so.12"), *cu = dlopen("libcuda.so.1", RTLD_NOW);
	void *bl = lib("libcublas.so.13", "libcublas.so.12");
	if (!rt || !cu || !bl) { printf("error dlopen %s\n", dlerror()); return 2; }
#define F(h, ret, name, ...) ret (*name)(__VA_ARGS__) = (ret (*)(__VA_ARGS__))dlsym(h, #name)
	F(rt, int, cudaMalloc, void **, size_t);
	F(rt, int, cudaMallocHost, void **, size_t);
	F(rt, int, cudaMemcpy, void *, const void *, size_t, int);
	F(rt, int, cudaMemsetAsync, void *, int, size_t, void *);
	F(rt, int, cudaStreamSynchronize, void *);
	F(rt, int, cudaDeviceSynchronize, void);
	F(cu, int, cuModuleLoadData, void **, const void *);
	F(cu, int, cuModuleGetFunction, void **, void *, const char *);
	F(cu, int, cuLaunchKernel, void *, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, void *, void **, void **);
	F(cu, int, cuCtxSynchronize, void);
	F(bl, int, cublasCreate_v2, void **);
	F(bl, int, cublasSgemm_v2, void *, int, int, int, int, int, const float *, const void *, int, const void *, int, const float *, void *, int);
	void *d = NULL;
	if (cudaMalloc(&d, 1 << 20)) { printf("error no device\n"); return 2; }
	{ /* a program's first upload, before anything is timed: it sets up whatever data path
	     the library takes (a shared file's window and rings are attached at the first bulk copy) */
		void *warm = calloc(1, 1 << 20);
		cudaMemcpy(d, warm, 1 << 20, 1);
		free(warm);
	}

	enum { RT = 2000 };
	static double lat[RT];
	for (int i = 0; i < RT; i++) {
		double t = now();
		cudaMemsetAsync(d, i, 1, NULL);
		cudaStreamSynchronize(NULL);
		lat[i] = (now() - t) * 1e6;
	}
	qsort(lat, RT, sizeof *lat, cmp);
	printf("sync_round_trip_p50 %.1f us\nsync_round_trip_p99 %.1f us\n", lat[RT / 2], lat[RT * 99 / 100]);
	enum { LATE = 500 };
	for (int i = 0; i < LATE; i++) {
		cudaMemsetAsync(d, i, 1, NULL);
		for (double t = now(); now() - t < 300e-6;) /* host work */;
		double t = now();
		cudaStreamSynchronize(NULL);
		lat[i] = (now() - t) * 1e6;
	}
	qsort(lat, LATE, sizeof *lat, cmp);
	printf("late_sync_p50 %.1f us\n", lat[LATE / 2]);

	void *mod = NULL, *fn = NULL;
	int r = cuModuleLoadData(&mod, ptx);
	if (!r) r = cuModuleGetFunction(&fn, mod, "vgpu_empty");
	if (r) printf("launch_throughput error %d\n", r);
	else {
		/* The best of 5 rounds of 50,000: one short round moved ±20% between runs on the
		 * GPU machine, more than the changes it was to judge. */
		const int N = 50000, ROUNDS = 5;
		cuLaunchKernel(fn, 1, 1, 1, 32, 1, 1, 0, NULL, NULL, NULL);
		int s = cuCtxSynchronize();
		double best = 0;
		for (int round = 0; round < ROUNDS && !s; round++) {
			double t = now();
			for (int i = 0; i < N; i++) cuLaunchKernel(fn, 1, 1, 1, 32, 1, 1, 0, NULL, NULL, NULL);
			s = cuCtxSynchronize();
			double rate = N / (now() - t);
			if (rate > best) best = rate;
		}
		if (s) printf("launch_throughput error %d\n", s);
		else printf("launch_throughput %.0f kernels/s\n", best);
	}

	const size_t n = 256 << 20;
	void *big = NULL, *pin = NULL;
	unsigned char *page = malloc(n);
	memset(page, 1, n);
	if (cudaMalloc(&big, n) || cudaMallocHost(&pin, n)) { printf("error allocation\n"); return 1; }
	memset(pin, 2, n);
	struct { const char *name; void *host; int kind; } bw[] = {
		{"h2d_pageable", page, 1}, {"d2h_pageable", page, 2}, {"h2d_pinned", pin, 1}, {"d2h_pinned", pin, 2}};
	for (int k = 0; k < 4; k++) {
		double best = 0;
		for (int i = 0; i < 4; i++) { /* the best of 4, after the first touch */
			double t = now();
			int e = bw[k].kind == 1 ? cudaMemcpy(big, bw[k].host, n, 1) : cudaMemcpy(bw[k].host, big, n, 2);
			double gbs = n / (now() - t) / 1e9;
			if (e) { best = -e; break; }
			if (i > 0 && gbs > best) best = gbs;
		}
		printf("%s %.2f GB/s\n", bw[k].name, best);
	}

	void *h = NULL, *a = NULL, *b = NULL, *c = NULL;
	size_t m = (size_t)gn * gn * 4;
	if (cublasCreate_v2(&h) || cudaMalloc(&a, m) || cudaMalloc(&b, m) || cudaMalloc(&c, m)) {
		printf("gemm error setup\n");
		return 1;
	}
	cudaMemcpy(a, page, m, 1);
	cudaMemcpy(b, page, m, 1);
	float one = 1, zero = 0;
	cublasSgemm_v2(h, 0, 0, gn, gn, gn, &one, a, gn, b, gn, &zero, c, gn);
	cudaDeviceSynchronize();
	const int G = 20;
	double t = now();
	for (int i = 0; i < G; i++) cublasSgemm_v2(h, 0, 0, gn, gn, gn, &one, a, gn, b, gn, &zero, c, gn);
	int s = cudaDeviceSynchronize();
	double dt = now() - t;
	printf("sgemm_%d %.1f GFLOP/s%s\n", gn, s ? 0 : 2.0 * gn * gn * gn * G / dt / 1e9, s ? " (error)" : "");
	return 0;
}
