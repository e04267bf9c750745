// The property-query fast path. Device attributes and rendered cudaDeviceProp structs never
// change once the device model is built, so the generated C wrappers of the hottest queries
// answer from this C snapshot without entering Go (a C-to-Go call costs more than the
// whole answer). Anything unusual (bad arguments, not yet initialised, tracing on, a sticky
// error) returns -1 and the call takes the normal Go path, which has the error rules.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FAST_MAX_DEV 64
#define FAST_ATTR_MAX 148

static int32_t fast_attrs[FAST_MAX_DEV][FAST_ATTR_MAX];
static int fast_count;                                  // visible devices published
static const unsigned char *fast_props[2][FAST_MAX_DEV]; // [0] CUDA 12 layout, [1] CUDA 13
static int fast_off = 1;                                // until the model is built
static int fast_driver_ready;                           // cuInit (or the runtime) has run

void vgpu_fast_publish_attrs(int dev, const int32_t *attrs, int n) {
	if (dev >= 0 && dev < FAST_MAX_DEV && n <= FAST_ATTR_MAX)
		memcpy(fast_attrs[dev], attrs, n * sizeof(int32_t));
}

void vgpu_fast_enable(int count, int on) {
	__atomic_store_n(&fast_count, count <= FAST_MAX_DEV ? count : 0, __ATOMIC_RELEASE);
	__atomic_store_n(&fast_off, !on, __ATOMIC_RELEASE);
}

void vgpu_fast_driver_ready(void) { __atomic_store_n(&fast_driver_ready, 1, __ATOMIC_RELEASE); }

void vgpu_fast_publish_props(int major, int dev, const void *p, size_t n) {
	if ((major != 12 && major != 13) || dev < 0 || dev >= FAST_MAX_DEV) return;
	unsigned char *copy = malloc(n);
	if (!copy) return;
	memcpy(copy, p, n);
	const unsigned char *expected = NULL;
	if (!__atomic_compare_exchange_n(&fast_props[major - 12][dev], &expected, copy, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		free(copy); // another thread published first; the contents are identical
}

static int usable(int dev) {
	return !__atomic_load_n(&fast_off, __ATOMIC_ACQUIRE) && __atomic_load_n(&fast_driver_ready, __ATOMIC_ACQUIRE) &&
	       dev >= 0 && dev < __atomic_load_n(&fast_count, __ATOMIC_ACQUIRE);
}

int vgpu_fast_cuDeviceGetAttribute(void *pi, int attr, int dev) {
	if (!pi || attr <= 0 || attr >= FAST_ATTR_MAX || !usable(dev)) return -1;
	*(int32_t *)pi = fast_attrs[dev][attr];
	return 0;
}

int vgpu_fast_cudaDeviceGetAttribute(void *pi, int attr, int dev) { return vgpu_fast_cuDeviceGetAttribute(pi, attr, dev); }

static int props(void *p, int dev, int major) {
	if (!p || !usable(dev)) return -1;
	const unsigned char *b = __atomic_load_n(&fast_props[major - 12][dev], __ATOMIC_ACQUIRE);
	if (!b) return -1;
	memcpy(p, b, major == 12 ? 1032 : 1008);
	return 0;
}

int vgpu_fast_cudaGetDeviceProperties_13(void *p, int dev) { return props(p, dev, 13); }
int vgpu_fast_cudaGetDeviceProperties_12(void *p, int dev) { return props(p, dev, 12); }
int vgpu_fast_cudaGetDeviceProperties_v2_12(void *p, int dev) { return props(p, dev, 12); }
