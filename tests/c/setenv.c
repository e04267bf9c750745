/* A program that sets CUDA_VISIBLE_DEVICES and VGPU_DEVICES with setenv() before its first
 * CUDA call sees them, in every API, as with NVIDIA's driver. usage: setenv LIBDIR */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
	if (argc < 2) return 2;
	setenv("VGPU_DEVICES", "3", 1);
	setenv("CUDA_VISIBLE_DEVICES", "2,0", 1);
	char path[4096];
	snprintf(path, sizeof path, "%s/libcuda.so.1", argv[1]);
	void *h = dlopen(path, RTLD_NOW);
	if (!h) { printf("setenv: FAIL: %s\n", dlerror()); return 1; }
	int n = -1, m = -1; unsigned nv = 0;
	((int (*)(unsigned))dlsym(h, "cuInit"))(0);
	((int (*)(int *))dlsym(h, "cuDeviceGetCount"))(&n);
	((int (*)(int *))dlsym(h, "cudaGetDeviceCount"))(&m);
	((int (*)(void))dlsym(h, "nvmlInit_v2"))();
	((int (*)(unsigned *))dlsym(h, "nvmlDeviceGetCount_v2"))(&nv);
	int ok = n == 2 && m == 2 && nv == 2;
	printf("setenv: %s: driver %d, runtime %d, NVML %u device(s) of 3, 2 visible\n", ok ? "PASS" : "FAIL", n, m, nv);
	return !ok;
}
