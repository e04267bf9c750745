/* Prints, straight from the library's NVML, what `vgpu smi --query-gpu=index,name,uuid,
 * memory.total,memory.used,memory.free,pci.bus_id,compute_cap,driver_version
 * --format=csv,noheader,nounits` must print: the test compares the two. */
#include <dlfcn.h>
#include <stdio.h>
#include "api.h"

#define DECL(ret, name, args) static ret(*p_##name) args;
X_NVML(DECL)

int main(void) {
	void *ml = dlopen("libnvidia-ml.so.1", RTLD_NOW);
	if (!ml) { fprintf(stderr, "%s\n", dlerror()); return 1; }
#define B(ret, name, args) p_##name = (ret(*) args)dlsym(ml, #name);
	X_NVML(B)
	unsigned n; char drv[96];
	if (p_nvmlInit_v2() || p_nvmlDeviceGetCount_v2(&n) || p_nvmlSystemGetDriverVersion(drv, sizeof drv)) return 1;
	for (unsigned i = 0; i < n; i++) {
		nvmlDevice_t h; char name[96], uuid[96]; nvmlMemory_t m; nvmlPciInfo_t pci; int ma, mi;
		p_nvmlDeviceGetHandleByIndex_v2(i, &h);
		p_nvmlDeviceGetName(h, name, sizeof name); p_nvmlDeviceGetUUID(h, uuid, sizeof uuid);
		nvmlMemory_v2_t m2 = {.version = 40 | 2 << 24};
		p_nvmlDeviceGetMemoryInfo(h, &m); p_nvmlDeviceGetMemoryInfo_v2(h, &m2); p_nvmlDeviceGetPciInfo_v3(h, &pci); p_nvmlDeviceGetCudaComputeCapability(h, &ma, &mi);
		printf("%u, %s, %s, %llu, %llu, %llu, %s, %d.%d, %s\n", i, name, uuid, m2.total >> 20, m2.used >> 20, m2.free >> 20, pci.busId, ma, mi, drv);
	}
	return p_nvmlShutdown();
}
