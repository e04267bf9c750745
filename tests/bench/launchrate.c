/* Launch throughput through whatever libcuda.so.1 the loader finds: ROUNDS times, N launches
 * of an empty kernel (driver API, from PTX) then one cuCtxSynchronize; prints the best round,
 * "launch_throughput VALUE launches/s".   launchrate [N] [ROUNDS] */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "timing.h"

static const char ptx[] =
	".version 7.0\n.target sm_50\n.address_size 64\n"
	".visible .entry vgpu_empty()\n{\n\tret;\n}\n";

int main(int argc, char **argv) {
	int n = argc > 1 ? atoi(argv[1]) : 20000, rounds = argc > 2 ? atoi(argv[2]) : 5;
	void *cu = dlopen("libcuda.so.1", RTLD_NOW);
	if (!cu) { printf("error dlopen %s\n", dlerror()); return 2; }
#define F(ret, name, ...) ret (*name)(__VA_ARGS__) = (ret (*)(__VA_ARGS__))dlsym(cu, #name)
	F(int, cuInit, unsigned);
	F(int, cuDeviceGet, int *, int);
	F(int, cuDevicePrimaryCtxRetain, void **, int);
	F(int, cuCtxSetCurrent, void *);
	F(int, cuModuleLoadData, void **, const void *);
	F(int, cuModuleGetFunction, void **, void *, const char *);
	F(int, cuLaunchKernel, void *, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, void *, void **, void **);
	F(int, cuCtxSynchronize, void);
	int dev = 0, r;
	void *ctx = NULL, *mod = NULL, *fn = NULL;
	if ((r = cuInit(0)) || (r = cuDeviceGet(&dev, 0)) || (r = cuDevicePrimaryCtxRetain(&ctx, dev)) || (r = cuCtxSetCurrent(ctx)) ||
		(r = cuModuleLoadData(&mod, ptx)) || (r = cuModuleGetFunction(&fn, mod, "vgpu_empty"))) {
		printf("error setup %d\n", r);
		return 1;
	}
	cuLaunchKernel(fn, 1, 1, 1, 32, 1, 1, 0, NULL, NULL, NULL);
	cuCtxSynchronize();
	double best = 0, cpu_best = 1e9;
	for (int k = 0; k < rounds; k++) {
		struct rusage r0, r1;
		getrusage(RUSAGE_SELF, &r0);
		double t = now();
		for (int i = 0; i < n; i++)
			if ((r = cuLaunchKernel(fn, 1, 1, 1, 32, 1, 1, 0, NULL, NULL, NULL))) { printf("error launch %d\n", r); return 1; }
		if ((r = cuCtxSynchronize())) { printf("error sync %d\n", r); return 1; }
		double rate = n / (now() - t);
		getrusage(RUSAGE_SELF, &r1);
		double cpu = (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec + r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) * 1e6 +
			(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec + r1.ru_stime.tv_usec - r0.ru_stime.tv_usec);
		if (rate > best) best = rate;
		if (cpu / n < cpu_best) cpu_best = cpu / n;
	}
	long (*iters)(void) = (long (*)(void))dlsym(cu, "vgpu_fake_launch_iters");
	if (iters) printf("fake_launch_iters %ld\n", iters()); /* the stand-in driver's calibration */
	printf("launch_throughput %.0f launches/s\n", best);
	/* This process's CPU per launch, all its threads: for a remote client, the client's stage. */
	printf("client_cpu_per_launch %.2f us\n", cpu_best);
	return 0;
}
