/* make demo: the virtual GPU through the driver API, the runtime API and NVML, loaded by
 * the NVIDIA library names the way any CUDA program finds them. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include "api.h"

#define DECL(ret, name, args) static ret(*p_##name) args;
X_DRIVER(DECL) X_RUNTIME(DECL) X_NVML(DECL)

int main(void) {
	void *cu = dlopen("libcuda.so.1", RTLD_NOW), *rt = dlopen("libcudart.so.13", RTLD_NOW), *ml = dlopen("libnvidia-ml.so.1", RTLD_NOW);
	if (!cu || !rt || !ml) { printf("dlopen failed: %s\n", dlerror()); return 1; }
#define BD(ret, name, args) p_##name = (ret(*) args)dlsym(cu, #name);
#define BR(ret, name, args) p_##name = (ret(*) args)dlsym(rt, #name);
#define BN(ret, name, args) p_##name = (ret(*) args)dlsym(ml, #name);
	X_DRIVER(BD) X_RUNTIME(BR) X_NVML(BN)
	int n = 0, v = 0;
	p_cuInit(0);
	p_cuDeviceGetCount(&n);
	p_cuDriverGetVersion(&v);
	printf("driver API   libcuda.so.1       %d device(s), CUDA %d.%d\n", n, v / 1000, v % 1000 / 10);
	for (int i = 0; i < n; i++) {
		char name[128], pci[32]; int ma, mi, sms; size_t tot; unsigned char u[16];
		p_cuDeviceGetName(name, sizeof name, i); p_cuDeviceGetPCIBusId(pci, sizeof pci, i);
		p_cuDeviceGetAttribute(&ma, 75, i); p_cuDeviceGetAttribute(&mi, 76, i); p_cuDeviceGetAttribute(&sms, 16, i);
		p_cuDeviceTotalMem_v2(&tot, i); p_cuDeviceGetUuid(u, i);
		printf("  %d: %s  cc %d.%d  %d SMs  %zu MiB  %s  GPU-%02x%02x%02x%02x-...\n", i, name, ma, mi, sms, tot >> 20, pci, u[0], u[1], u[2], u[3]);
	}
	size_t f, t; void *p;
	p_cudaGetDeviceCount(&n);
	p_cudaMemGetInfo(&f, &t);
	printf("runtime API  libcudart.so.13    %d device(s), free %zu of %zu MiB\n", n, f >> 20, t >> 20);
	p_cudaMalloc(&p, 8ull << 30);
	p_cudaMemGetInfo(&f, &t);
	printf("  after cudaMalloc(8 GiB): free %zu MiB\n", f >> 20);
	p_nvmlInit_v2();
	unsigned nn; char drv[80]; p_nvmlSystemGetDriverVersion(drv, sizeof drv); p_nvmlDeviceGetCount_v2(&nn);
	printf("NVML         libnvidia-ml.so.1  %u device(s), driver %s\n", nn, drv);
	for (unsigned i = 0; i < nn; i++) {
		nvmlDevice_t h; char name[96], uuid[96]; nvmlMemory_t m;
		p_nvmlDeviceGetHandleByIndex_v2(i, &h); p_nvmlDeviceGetName(h, name, sizeof name);
		p_nvmlDeviceGetUUID(h, uuid, sizeof uuid); p_nvmlDeviceGetMemoryInfo(h, &m);
		printf("  %u: %s  %s  used %llu MiB, free %llu MiB of %llu MiB\n", i, name, uuid, m.used >> 20, m.free >> 20, m.total >> 20);
	}
	p_cudaFree(p);
	p_nvmlShutdown();
	return 0;
}
