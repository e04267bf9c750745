/* A program whose first act is CUDA's: cuInit and cuDeviceGetCount through libcuda.so.1, as
 * a runner's discovery starts. Its exec-to-exit time beside startup.c's is what first use
 * costs: the Go runtime finishing its start and the device model being built. */
#include <dlfcn.h>

int main(void) {
	void *h = dlopen("libcuda.so.1", RTLD_NOW);
	if (!h) return 1;
	int (*init)(unsigned) = (int (*)(unsigned))dlsym(h, "cuInit");
	int (*count)(int *) = (int (*)(int *))dlsym(h, "cuDeviceGetCount");
	int n = 0;
	if (!init || !count || init(0) || count(&n) || n < 1) return 1;
	return 0;
}
