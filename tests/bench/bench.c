/* make bench: nanoseconds per call for the property queries programs make most, through
 * whatever libcuda / libcudart / libnvidia-ml the loader finds (vgpu's, or NVIDIA's on a GPU
 * machine, which is the native baseline). Prints one line per figure: name ns_per_call. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef int (*attr_fn)(int *, int, int);
typedef int (*props_fn)(void *, int);
typedef int (*init_fn)(void);
typedef int (*handle_fn)(unsigned, void **);
typedef int (*mem_fn)(void *, void *);
typedef int (*cuinit_fn)(unsigned);
typedef int (*count_fn)(int *);

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e9 + t.tv_nsec; }

int main(int argc, char **argv) {
	long iters = argc > 1 ? atol(argv[1]) : 2000000;
	void *cu = dlopen("libcuda.so.1", RTLD_NOW), *rt = dlopen("libcudart.so.13", RTLD_NOW), *ml = dlopen("libnvidia-ml.so.1", RTLD_NOW);
	if (!cu || !rt || !ml) { fprintf(stderr, "dlopen: %s\n", dlerror()); return 1; }
	cuinit_fn cuInit = (cuinit_fn)dlsym(cu, "cuInit");
	attr_fn cuDeviceGetAttribute = (attr_fn)dlsym(cu, "cuDeviceGetAttribute");
	props_fn cudaGetDeviceProperties = (props_fn)dlsym(rt, "cudaGetDeviceProperties");
	count_fn cudaGetDeviceCount = (count_fn)dlsym(rt, "cudaGetDeviceCount");
	init_fn nvmlInit = (init_fn)dlsym(ml, "nvmlInit_v2");
	handle_fn nvmlGetHandle = (handle_fn)dlsym(ml, "nvmlDeviceGetHandleByIndex_v2");
	mem_fn nvmlMem = (mem_fn)dlsym(ml, "nvmlDeviceGetMemoryInfo");
	int n, v; static unsigned char prop[2048]; void *h; unsigned long long mem[3];
	if (cuInit(0) || cudaGetDeviceCount(&n) || nvmlInit() || nvmlGetHandle(0, &h)) { fprintf(stderr, "init failed\n"); return 1; }
	double t0 = now();
	for (long i = 0; i < iters; i++) cuDeviceGetAttribute(&v, 1 + (int)(i % 120), 0);
	double t1 = now();
	for (long i = 0; i < iters / 4; i++) cudaGetDeviceProperties(prop, 0);
	double t2 = now();
	for (long i = 0; i < iters; i++) nvmlMem(h, mem);
	double t3 = now();
	printf("cuDeviceGetAttribute %.1f\n", (t1 - t0) / iters);
	printf("cudaGetDeviceProperties %.1f\n", (t2 - t1) / (iters / 4));
	printf("nvmlDeviceGetMemoryInfo %.1f\n", (t3 - t2) / iters);
	return 0;
}
