/* A driver-API program: loads a module image (PTX or cubin) from a file, launches a kernel
 * from it and prints a checksum. It declares the few driver entry points it uses itself and
 * links -lcuda, so it runs on NVIDIA's driver and, through the loader path, on vgpu's.
 * usage: driver IMAGE */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <stdint.h>

typedef int CUresult;
typedef void *CUcontext, *CUmodule, *CUfunction;
CUresult cuInit(unsigned);
CUresult cuDevicePrimaryCtxRetain(CUcontext *, int);
CUresult cuCtxSetCurrent(CUcontext);
CUresult cuModuleLoadData(CUmodule *, const void *);
CUresult cuModuleGetFunction(CUfunction *, CUmodule, const char *);
CUresult cuMemAlloc_v2(unsigned long long *, size_t);
CUresult cuMemcpyHtoD_v2(unsigned long long, const void *, size_t);
CUresult cuMemcpyDtoH_v2(void *, unsigned long long, size_t);
CUresult cuLaunchKernel(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, void *, void **, void **);
CUresult cuCtxSynchronize(void);

#define CK(x) do { CUresult r_ = (x); if (r_) { printf("%s: %d\n", #x, r_); return 1; } } while (0)

int main(int argc, char **argv) {
	FILE *f = fopen(argv[1], "rb");
	if (!f) return 2;
	static char image[4 << 20];
	size_t len = fread(image, 1, sizeof image - 1, f);
	image[len] = 0;
	fclose(f);
	CUcontext ctx; CUmodule mod; CUfunction fn, none;
	CK(cuInit(0));
	CK(cuDevicePrimaryCtxRetain(&ctx, 0));
	CK(cuCtxSetCurrent(ctx));
	CK(cuModuleLoadData(&mod, image));
	CK(cuModuleGetFunction(&fn, mod, "scale_add"));
	printf("unknown kernel name: %d\n", cuModuleGetFunction(&none, mod, "no_such_kernel"));
	int n = 1 << 16;
	float *h = malloc(n * sizeof(float));
	for (int i = 0; i < n; i++) h[i] = (float)(i % 101);
	unsigned long long d;
	CK(cuMemAlloc_v2(&d, n * sizeof(float)));
	CK(cuMemcpyHtoD_v2(d, h, n * sizeof(float)));
	float a = 3.0f; double b = 0.5;
	void *params[] = {&d, &a, &b, &n};
	CK(cuLaunchKernel(fn, (n + 127) / 128, 1, 1, 128, 1, 1, 0, NULL, params, NULL));
	CK(cuCtxSynchronize());
	CK(cuMemcpyDtoH_v2(h, d, n * sizeof(float)));
	uint64_t sum = 1469598103934665603ull;
	for (size_t i = 0; i < n * sizeof(float); i++) sum = (sum ^ ((unsigned char *)h)[i]) * 1099511628211ull;
	printf("scale_add: h[100] = %g, checksum %016llx\n", h[100], (unsigned long long)sum);
	/* The same kernel through the `extra` form: one buffer laid out as its parameters
	 * (pointer at 0, float at 8, double at 16, int at 24). */
	unsigned char buf[32] = {0};
	size_t size = sizeof buf;
	a = 0.5f, b = -1.0;
	memcpy(buf, &d, 8); memcpy(buf + 8, &a, 4); memcpy(buf + 16, &b, 8); memcpy(buf + 24, &n, 4);
	void *extra[] = {(void *)1 /* CU_LAUNCH_PARAM_BUFFER_POINTER */, buf, (void *)2 /* ..._BUFFER_SIZE */, &size, (void *)0};
	/* The parameters take 28 bytes: NVIDIA's driver reads a longer buffer as too many
	 * arguments (701) and takes a shorter one. */
	printf("extra buffer of 32 bytes: %d\n", cuLaunchKernel(fn, (n + 127) / 128, 1, 1, 128, 1, 1, 0, NULL, NULL, extra));
	size = 24;
	printf("extra buffer of 24 bytes: %d\n", cuLaunchKernel(fn, (n + 127) / 128, 1, 1, 128, 1, 1, 0, NULL, NULL, extra));
	size = 28;
	CK(cuLaunchKernel(fn, (n + 127) / 128, 1, 1, 128, 1, 1, 0, NULL, NULL, extra));
	printf("both forms at once: %d\n", cuLaunchKernel(fn, 1, 1, 1, 1, 1, 1, 0, NULL, params, extra));
	CK(cuCtxSynchronize());
	CK(cuMemcpyDtoH_v2(h, d, n * sizeof(float)));
	sum = 1469598103934665603ull;
	for (size_t i = 0; i < n * sizeof(float); i++) sum = (sum ^ ((unsigned char *)h)[i]) * 1099511628211ull;
	printf("scale_add (extra): h[100] = %g, checksum %016llx\n", h[100], (unsigned long long)sum);
	return 0;
}
