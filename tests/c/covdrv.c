/* Driver-API forms of the runtime's semantics, and the legacy launch path (issue 13):
 * CUDA 13's pools by location (cuMemGetDefaultMemPool, cuMemGetMemPool, cuMemSetMemPool),
 * batched prefetch and discard of managed ranges, cuStreamUpdateCaptureDependencies_v2,
 * cuGraphConditionalHandleCreate, cuFuncSetBlockShape / cuParamSet* / cuLaunch*, and
 * cuTensorMapEncodeIm2colWide. Run in-process (sim) and as a remote client of a sim server:
 * the same rules.
 *   covdrv LIBDIR [label]
 * Status values are NVIDIA's documented numbers: 0 success, 1 invalid value, 101 invalid
 * device, 201 invalid context, 400 invalid handle, 401 illegal state, 500 not found,
 * 801 not supported. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cubin.h"

typedef int CUresult;
typedef unsigned long long CUdeviceptr;
typedef void *H;
static int failures, checks;
#define CHECK(c, ...) do { checks++; if (!(c)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)
#define EQ(got, want, what) do { long long g_ = (long long)(got), w_ = (long long)(want); CHECK(g_ == w_, "%s: got %lld, want %lld", what, g_, w_); } while (0)

/* CUmemLocation, CUmemPoolProps (NVIDIA's documented fields). */
struct memloc { int type, id; };
struct arraydesc { size_t width, height; int format; unsigned channels; };
struct poolprops { int allocType, handleTypes; struct memloc location; void *win32; size_t maxSize; unsigned short usage; unsigned char reserved[54]; };

#define FNS(X) \
	X(cuInit, (unsigned)) X(cuCtxCreate_v2, (H *, unsigned, int)) X(cuCtxDestroy_v2, (H)) X(cuCtxGetCurrent, (H *)) \
	X(cuCtxSynchronize, (void)) X(cuGetProcAddress_v2, (const char *, void **, int, unsigned long long, int *)) \
	X(cuMemPoolCreate, (H *, const struct poolprops *)) X(cuMemPoolDestroy, (H)) \
	X(cuDeviceGetDefaultMemPool, (H *, int)) X(cuDeviceGetMemPool, (H *, int)) \
	X(cuMemGetDefaultMemPool, (H *, struct memloc *, int)) X(cuMemGetMemPool, (H *, struct memloc *, int)) \
	X(cuMemSetMemPool, (struct memloc *, int, H)) \
	X(cuMemAllocManaged, (CUdeviceptr *, size_t, unsigned)) X(cuMemAlloc_v2, (CUdeviceptr *, size_t)) X(cuMemFree_v2, (CUdeviceptr)) \
	X(cuMemRangeGetAttribute, (void *, size_t, int, CUdeviceptr, size_t)) \
	X(cuMemPrefetchBatchAsync, (CUdeviceptr *, size_t *, size_t, struct memloc *, size_t *, size_t, unsigned long long, H)) \
	X(cuMemPrefetchBatchAsync_ptsz, (CUdeviceptr *, size_t *, size_t, struct memloc *, size_t *, size_t, unsigned long long, H)) \
	X(cuMemDiscardBatchAsync, (CUdeviceptr *, size_t *, size_t, unsigned long long, H)) \
	X(cuMemDiscardBatchAsync_ptsz, (CUdeviceptr *, size_t *, size_t, unsigned long long, H)) \
	X(cuMemDiscardAndPrefetchBatchAsync, (CUdeviceptr *, size_t *, size_t, struct memloc *, size_t *, size_t, unsigned long long, H)) \
	X(cuMemDiscardAndPrefetchBatchAsync_ptsz, (CUdeviceptr *, size_t *, size_t, struct memloc *, size_t *, size_t, unsigned long long, H)) \
	X(cuStreamCreate, (H *, unsigned)) X(cuStreamDestroy_v2, (H)) X(cuStreamSynchronize, (H)) \
	X(cuStreamBeginCapture_v2, (H, int)) X(cuStreamBeginCapture_ptsz, (H)) X(cuStreamEndCapture, (H, H *)) X(cuStreamEndCapture_ptsz, (H, H *)) \
		X(cuMemsetD32Async, (CUdeviceptr, unsigned, size_t, H)) X(cuMemsetD32Async_ptsz, (CUdeviceptr, unsigned, size_t, H)) \
	X(cuStreamUpdateCaptureDependencies, (H, H *, size_t, unsigned)) \
	X(cuStreamUpdateCaptureDependencies_v2, (H, H *, const void *, size_t, unsigned)) \
	X(cuStreamUpdateCaptureDependencies_v2_ptsz, (H, H *, const void *, size_t, unsigned)) \
	X(cuGraphCreate, (H *, unsigned)) X(cuGraphDestroy, (H)) \
	X(cuGraphConditionalHandleCreate, (unsigned long long *, H, H, unsigned, unsigned)) \
	X(cuModuleLoadData, (H *, const void *)) X(cuModuleUnload, (H)) X(cuModuleGetFunction, (H *, H, const char *)) \
	X(cuFuncSetBlockShape, (H, int, int, int)) X(cuFuncSetSharedSize, (H, unsigned)) \
	X(cuParamSetSize, (H, unsigned)) X(cuParamSeti, (H, int, unsigned)) X(cuParamSetf, (H, int, float)) \
	X(cuParamSetv, (H, int, void *, unsigned)) X(cuLaunch, (H)) X(cuLaunchGrid, (H, int, int)) \
	X(cuLaunchGridAsync, (H, int, int, H)) \
	X(cuMemGetHandleForAddressRange, (void *, CUdeviceptr, size_t, int, unsigned long long)) \
	X(cuMemMapArrayAsync, (void *, unsigned, H)) X(cuMemMapArrayAsync_ptsz, (void *, unsigned, H)) \
	X(cuArrayCreate_v2, (H *, const struct arraydesc *)) X(cuArrayDestroy, (H)) \
	X(cuTensorMapEncodeIm2col, (void *, int, unsigned, void *, const unsigned long long *, const unsigned long long *, const int *, const int *, unsigned, unsigned, const unsigned *, int, int, int, int)) \
	X(cuTensorMapEncodeIm2colWide, (void *, int, unsigned, void *, const unsigned long long *, const unsigned long long *, int, int, unsigned, unsigned, const unsigned *, int, int, int, int, int))

#define DECL(name, args) static CUresult (*name) args;
FNS(DECL)
static void *lib;

/* CUDA 13's pools by location agree with the per-device calls, and a pool set for a location
 * is the device's current pool. Only pinned pools of a device exist. */
static void test_pools(void) {
	struct memloc dev0 = {1, 0}, host = {2, 0}, numa = {3, 0}, nodev = {1, 9}, bad = {7, 0};
	H def = NULL, cur = NULL, want = NULL;
	EQ(cuDeviceGetDefaultMemPool(&want, 0), 0, "cuDeviceGetDefaultMemPool");
	EQ(cuMemGetDefaultMemPool(&def, &dev0, 1), 0, "cuMemGetDefaultMemPool");
	CHECK(def != NULL && def == want, "the location's default pool is the device's");
	EQ(cuMemGetMemPool(&cur, &dev0, 1), 0, "cuMemGetMemPool");
	CHECK(cur == def, "the current pool starts as the default one");
	EQ(cuMemGetDefaultMemPool(&def, &dev0, 0), 1, "an allocation type other than pinned");
	EQ(cuMemGetDefaultMemPool(&def, &host, 1), 801, "host pools are not modelled");
	EQ(cuMemGetMemPool(&def, &numa, 1), 801, "host NUMA pools neither");
	EQ(cuMemGetDefaultMemPool(&def, &nodev, 1), 101, "no such device");
	EQ(cuMemGetDefaultMemPool(&def, &bad, 1), 1, "no such location type");
	EQ(cuMemGetDefaultMemPool(&def, NULL, 1), 1, "no location");
	EQ(cuMemGetMemPool(NULL, &dev0, 1), 1, "no output");

	struct poolprops pp = {0};
	pp.allocType = 1; pp.location = dev0;
	H mine = NULL;
	EQ(cuMemPoolCreate(&mine, &pp), 0, "cuMemPoolCreate");
	EQ(cuMemSetMemPool(&dev0, 1, mine), 0, "cuMemSetMemPool");
	EQ(cuMemGetMemPool(&cur, &dev0, 1), 0, "cuMemGetMemPool");
	CHECK(cur == mine, "the location's current pool is the one set");
	EQ(cuDeviceGetMemPool(&cur, 0), 0, "cuDeviceGetMemPool");
	CHECK(cur == mine, "and the device's");
	EQ(cuMemGetDefaultMemPool(&cur, &dev0, 1), 0, "cuMemGetDefaultMemPool");
	CHECK(cur == want, "the default pool stays");
	EQ(cuMemSetMemPool(&dev0, 1, (H)0xdead000), 1, "an unknown pool");
	EQ(cuMemSetMemPool(&host, 1, mine), 801, "a host location");
	EQ(cuMemSetMemPool(&dev0, 1, want), 0, "back to the default pool");
	EQ(cuMemPoolDestroy(mine), 0, "cuMemPoolDestroy");
}

/* CU_MEM_RANGE_ATTRIBUTE_LAST_PREFETCH_LOCATION (4): a device, -1 the host, -2 nowhere. */
static int last_prefetch(CUdeviceptr p, size_t n) {
	int v = 77;
	EQ(cuMemRangeGetAttribute(&v, 4, 4, p, n), 0, "cuMemRangeGetAttribute");
	return v;
}

/* The batches: each range goes to the location whose index range holds it, everything is
 * checked before anything is recorded, and a discard forgets where a range was. */
static void test_batches(void) {
	CUdeviceptr a = 0, b = 0, c = 0, dev = 0;
	EQ(cuMemAllocManaged(&a, 8192, 1), 0, "cuMemAllocManaged");
	EQ(cuMemAllocManaged(&b, 8192, 1), 0, "cuMemAllocManaged");
	EQ(cuMemAllocManaged(&c, 8192, 1), 0, "cuMemAllocManaged");
	CUdeviceptr ptrs[3] = {a, b, c};
	size_t sizes[3] = {8192, 4096, 8192}, idxs[2] = {0, 1};
	struct memloc locs[2] = {{2, 0}, {1, 0}}, one[1] = {{1, 0}}, nodev[1] = {{1, 9}};
	EQ(cuMemPrefetchBatchAsync(ptrs, sizes, 3, locs, idxs, 2, 0, NULL), 0, "cuMemPrefetchBatchAsync");
	EQ(last_prefetch(a, 8192), -1, "the first range to the host");
	EQ(last_prefetch(b, 4096), 0, "the second to device 0");
	EQ(last_prefetch(c, 8192), 0, "the third too");
	size_t bad_idxs[2] = {1, 2}, too_big[3] = {8192, 4096, 8193};
	EQ(cuMemPrefetchBatchAsync(ptrs, sizes, 3, locs, bad_idxs, 2, 0, NULL), 1, "the first location must serve range 0");
	EQ(cuMemPrefetchBatchAsync(ptrs, sizes, 3, locs, idxs, 2, 1, NULL), 1, "no flags are defined");
	EQ(cuMemPrefetchBatchAsync(ptrs, sizes, 0, locs, idxs, 2, 0, NULL), 1, "no ranges");
	EQ(cuMemPrefetchBatchAsync(ptrs, sizes, 3, nodev, idxs, 1, 0, NULL), 101, "no such device");
	EQ(cuMemPrefetchBatchAsync(ptrs, too_big, 3, one, idxs, 1, 0, NULL), 1, "a range past its allocation");
	EQ(last_prefetch(c, 8192), 0, "a failed batch records nothing");
	EQ(cuMemPrefetchBatchAsync(ptrs, sizes, 3, locs, idxs, 2, 0, (H)0xbad0), 400, "an unknown stream");
	EQ(cuMemPrefetchBatchAsync_ptsz(ptrs, sizes, 3, one, idxs, 1, 0, NULL), 0, "cuMemPrefetchBatchAsync_ptsz");
	EQ(last_prefetch(a, 8192), 0, "all to device 0");

	EQ(cuMemDiscardBatchAsync(ptrs, sizes, 2, 0, NULL), 0, "cuMemDiscardBatchAsync");
	EQ(last_prefetch(a, 8192), -2, "a discarded range was prefetched nowhere");
	EQ(last_prefetch(c, 8192), 0, "the third was not in the batch");
	EQ(cuMemDiscardBatchAsync_ptsz(ptrs, sizes, 3, 0, NULL), 0, "cuMemDiscardBatchAsync_ptsz");
	EQ(last_prefetch(c, 8192), -2, "now it was");
	EQ(cuMemDiscardBatchAsync(ptrs, sizes, 3, 2, NULL), 1, "no flags are defined");
	EQ(cuMemDiscardAndPrefetchBatchAsync(ptrs, sizes, 3, locs, idxs, 2, 0, NULL), 0, "cuMemDiscardAndPrefetchBatchAsync");
	EQ(last_prefetch(a, 8192), -1, "discarded, then to the host");
	EQ(last_prefetch(c, 8192), 0, "discarded, then to device 0");
	struct memloc tohost[1] = {{2, 0}};
	EQ(cuMemDiscardAndPrefetchBatchAsync_ptsz(ptrs, sizes, 3, tohost, idxs, 1, 0, NULL), 0, "cuMemDiscardAndPrefetchBatchAsync_ptsz");
	EQ(last_prefetch(c, 8192), -1, "to the host");
	EQ(cuMemAlloc_v2(&dev, 4096), 0, "cuMemAlloc");
	CUdeviceptr mixed[1] = {dev};
	EQ(cuMemDiscardBatchAsync(mixed, sizes + 1, 1, 0, NULL), 1, "device memory is not managed");
	cuMemFree_v2(dev); cuMemFree_v2(a); cuMemFree_v2(b); cuMemFree_v2(c);
}

/* v2 takes edge data: the default edges (all zero bytes) only, as cuGraphAddDependencies_v2;
 * cuGetProcAddress hands v2 out from CUDA 12.3 and v1 before. */
static void test_capture_deps(void) {
	CUdeviceptr a = 0;
	EQ(cuMemAlloc_v2(&a, 256), 0, "cuMemAlloc");
	H s = NULL, g = NULL;
	EQ(cuStreamCreate(&s, 1), 0, "cuStreamCreate");
	unsigned char edges[16] = {0};
	EQ(cuStreamUpdateCaptureDependencies_v2(s, NULL, NULL, 0, 0), 401, "the stream is not capturing");
	EQ(cuStreamBeginCapture_v2(s, 2), 0, "cuStreamBeginCapture");
	EQ(cuMemsetD32Async(a, 1, 4, s), 0, "a captured fill");
	/* The model reports no captured nodes as dependencies, so the sets named here are empty
	 * (cuda/covdrv_test.go takes a captured node and its edges). */
	EQ(cuStreamUpdateCaptureDependencies_v2(s, NULL, edges, 0, 1), 0, "set, with edge data for no node");
	EQ(cuStreamUpdateCaptureDependencies_v2(s, NULL, NULL, 0, 0), 0, "add nothing, without edge data");
	EQ(cuStreamUpdateCaptureDependencies_v2(s, NULL, edges, 0, 2), 1, "no such flag");
	H wild[1] = {(H)0x7777};
	EQ(cuStreamUpdateCaptureDependencies_v2(s, wild, edges, 1, 0), 1, "a node of no graph");
	EQ(cuStreamEndCapture(s, &g), 0, "cuStreamEndCapture");
	EQ(cuGraphDestroy(g), 0, "cuGraphDestroy");

	EQ(cuStreamBeginCapture_ptsz(NULL), 0, "capture the per-thread stream");
	EQ(cuMemsetD32Async_ptsz(a, 2, 4, NULL), 0, "a captured fill");
	EQ(cuStreamUpdateCaptureDependencies_v2_ptsz(NULL, NULL, NULL, 0, 1), 0, "_ptsz: no dependencies from now on");
	EQ(cuStreamEndCapture_ptsz(NULL, &g), 0, "cuStreamEndCapture_ptsz");
	EQ(cuGraphDestroy(g), 0, "cuGraphDestroy");
	EQ(cuStreamDestroy_v2(s), 0, "cuStreamDestroy");
	cuMemFree_v2(a);

	void *fn = NULL; int ps = -1;
	EQ(cuGetProcAddress_v2("cuStreamUpdateCaptureDependencies", &fn, 12030, 0, &ps), 0, "cuGetProcAddress at 12.3");
	CHECK(fn == (void *)cuStreamUpdateCaptureDependencies_v2, "v2 from 12.3");
	EQ(cuGetProcAddress_v2("cuStreamUpdateCaptureDependencies", &fn, 12030, 2, &ps), 0, "per-thread at 12.3");
	CHECK(fn == (void *)cuStreamUpdateCaptureDependencies_v2_ptsz, "v2_ptsz for the per-thread stream");
	EQ(cuGetProcAddress_v2("cuStreamUpdateCaptureDependencies", &fn, 11030, 0, &ps), 0, "cuGetProcAddress at 11.3");
	CHECK(fn == (void *)cuStreamUpdateCaptureDependencies, "v1 before");
}

/* The driver's form names the context the conditional node will run in. */
static void test_conditional(void) {
	H g = NULL, ctx = NULL;
	unsigned long long h = 0, h2 = 0;
	EQ(cuGraphCreate(&g, 0), 0, "cuGraphCreate");
	EQ(cuCtxGetCurrent(&ctx), 0, "cuCtxGetCurrent");
	EQ(cuGraphConditionalHandleCreate(&h, g, ctx, 1, 1), 0, "cuGraphConditionalHandleCreate");
	EQ(cuGraphConditionalHandleCreate(&h2, g, ctx, 0, 0), 0, "another");
	CHECK(h != h2, "each handle is new");
	EQ(cuGraphConditionalHandleCreate(&h, g, ctx, 0, 2), 1, "no such flag");
	EQ(cuGraphConditionalHandleCreate(NULL, g, ctx, 0, 0), 1, "no output");
	EQ(cuGraphConditionalHandleCreate(&h, g, (H)0x5151, 0, 0), 201, "no such context");
	EQ(cuGraphConditionalHandleCreate(&h, (H)0x5151, ctx, 0, 0), 1, "no such graph");
	EQ(cuGraphDestroy(g), 0, "cuGraphDestroy");
}

/* ---- a cubin (as tests/c/driver13.c builds one): add(int *, int, int) and noop() ---- */
static unsigned char cubin[4096];
static void make_cubin(void) {
	static unsigned char info[3 * 16];
	unsigned offs[3] = {0, 8, 12}, sizes[3] = {8, 4, 4};
	for (int i = 0; i < 3; i++) {
		unsigned char *r = info + 16 * i;
		r[0] = 4; r[1] = 0x17; put16(r + 2, 12);
		put32(r + 4, 0); put16(r + 8, i); put16(r + 10, offs[i]); put32(r + 12, sizes[i] << 18);
	}
	static unsigned char code[16] = {0};
	static char strtab[32];
	memcpy(strtab, "\0_Z3addPiii\0_Z4noopv\0", 21);
	static unsigned char symtab[24];
	struct sec s[] = {
		{"", 0, 0, NULL, 0}, {".shstrtab", 3, 0, NULL, 0}, {".strtab", 3, 0, (unsigned char *)strtab, 21},
		{".symtab", 2, 2, symtab, 24}, {".text._Z3addPiii", 1, 0, code, 16}, {".nv.info._Z3addPiii", 1, 0, info, sizeof info},
		{".text._Z4noopv", 1, 0, code, 16},
	};
	cubin_write(cubin, s, sizeof s / sizeof s[0], 1, 0, 0);
}

/* The legacy launch path: the block shape, shared size and parameters are the function's,
 * set before the launch, which cuLaunchKernel checks as for any launch (kernels are no-ops
 * here: VGPU_SIM_LAUNCH=noop). */
static void test_legacy_launch(void) {
	make_cubin();
	H mod = NULL, add = NULL, noop = NULL, s = NULL;
	EQ(cuModuleLoadData(&mod, cubin), 0, "cuModuleLoadData");
	EQ(cuModuleGetFunction(&add, mod, "_Z3addPiii"), 0, "add");
	EQ(cuModuleGetFunction(&noop, mod, "_Z4noopv"), 0, "noop");
	EQ(cuLaunch(noop), 1, "no block shape set yet");
	EQ(cuFuncSetBlockShape(noop, 0, 1, 1), 1, "a block dimension of 0");
	EQ(cuFuncSetBlockShape(noop, 32, -1, 1), 1, "a negative block dimension");
	EQ(cuFuncSetBlockShape((H)0x4242, 32, 1, 1), 400, "no such function");
	EQ(cuFuncSetBlockShape(noop, 32, 1, 1), 0, "cuFuncSetBlockShape");
	EQ(cuLaunch(noop), 0, "cuLaunch");
	EQ(cuLaunchGrid(noop, 4, 2), 0, "cuLaunchGrid");
	EQ(cuLaunchGrid(noop, 0, 2), 1, "a grid of width 0");
	EQ(cuLaunchGrid(noop, 1, -3), 1, "a negative grid height");
	EQ(cuLaunch((H)0x4242), 400, "launching no function");
	EQ(cuFuncSetSharedSize(noop, 1024), 0, "cuFuncSetSharedSize");
	EQ(cuLaunch(noop), 0, "with 1 KiB of dynamic shared memory");
	EQ(cuFuncSetSharedSize(noop, 1u << 30), 0, "a size is only checked at the launch");
	EQ(cuLaunch(noop), 1, "more shared memory than a block can have");
	EQ(cuFuncSetSharedSize(noop, 0), 0, "none again");
	EQ(cuFuncSetBlockShape(noop, 2048, 1, 1), 0, "a shape is only checked at the launch");
	EQ(cuLaunch(noop), 1, "too large a block");

	CUdeviceptr out = 0;
	EQ(cuMemAlloc_v2(&out, 64), 0, "cuMemAlloc");
	EQ(cuParamSeti(add, 0, 1), 1, "no parameter space yet");
	EQ(cuParamSetSize(add, 40000), 1, "more than a kernel's parameter space");
	EQ(cuParamSetSize(add, 16), 0, "cuParamSetSize");
	EQ(cuParamSetv(add, 0, &out, 8), 0, "cuParamSetv: the pointer");
	EQ(cuParamSeti(add, 8, 5), 0, "cuParamSeti");
	EQ(cuParamSetf(add, 12, 2.5f), 0, "cuParamSetf");
	EQ(cuParamSeti(add, 13, 5), 1, "an int past the end");
	EQ(cuParamSeti(add, -4, 5), 1, "a negative offset");
	EQ(cuParamSetf(add, 16, 1.0f), 1, "a float at the end");
	EQ(cuParamSetv(add, 12, &out, 8), 1, "bytes past the end");
	EQ(cuParamSetv(add, 0, NULL, 4), 1, "no bytes to copy");
	EQ(cuParamSetv(add, 16, &out, 0), 0, "nothing at the end");
	EQ(cuParamSeti((H)0x4242, 0, 1), 400, "no such function");
	EQ(cuFuncSetBlockShape(add, 64, 1, 1), 0, "cuFuncSetBlockShape");
	EQ(cuLaunchGrid(add, 2, 1), 0, "cuLaunchGrid with parameters");
	EQ(cuStreamCreate(&s, 1), 0, "cuStreamCreate");
	EQ(cuLaunchGridAsync(add, 1, 1, s), 0, "cuLaunchGridAsync");
	EQ(cuStreamSynchronize(s), 0, "the launch completed");
	EQ(cuStreamDestroy_v2(s), 0, "cuStreamDestroy");
	EQ(cuCtxSynchronize(), 0, "cuCtxSynchronize");
	cuMemFree_v2(out);
	EQ(cuModuleUnload(mod), 0, "cuModuleUnload");
}

/* The wide im2col map: rank 3 to 5, no interleave, a wide mode, a swizzle the wide modes
 * define whose span holds a pixel's channels, corners in 16 bits. */
static void test_im2col_wide(void) {
	static unsigned char tm[128] __attribute__((aligned(64))), tm2[128] __attribute__((aligned(64)));
	static float data[4096] __attribute__((aligned(256)));
	unsigned long long dims[4] = {32, 16, 16, 2}, strides[3] = {128, 2048, 32768};
	unsigned es[4] = {1, 1, 1, 1};
	enum { F32 = 7 };
#define WIDE(t, rank, lo, hi, ch, px, il, mode, sw) cuTensorMapEncodeIm2colWide(t, F32, rank, data, dims, strides, lo, hi, ch, px, es, il, mode, sw, 0, 0)
	EQ(WIDE(tm, 4, -1, 1, 32, 64, 0, 0, 3), 0, "cuTensorMapEncodeIm2colWide (W32, 128B swizzle)");
	EQ(WIDE(tm2, 4, -1, 1, 32, 64, 0, 1, 3), 0, "W128");
	CHECK(memcmp(tm, tm2, 128) != 0, "the mode is part of the map");
	EQ(WIDE(tm2, 4, -1, 1, 32, 64, 0, 0, 3), 0, "the same arguments again");
	CHECK(memcmp(tm, tm2, 128) == 0, "give the same map");
	int lo[2] = {-1, -1}, hi[2] = {1, 1};
	EQ(cuTensorMapEncodeIm2col(tm2, F32, 4, data, dims, strides, lo, hi, 32, 64, es, 0, 3, 0, 0), 0, "the plain im2col map");
	CHECK(memcmp(tm, tm2, 128) != 0, "differs from the wide one");
	EQ(WIDE(tm, 4, -1, 1, 16, 64, 0, 0, 4), 0, "128B with 32-byte atoms");
	EQ(WIDE(tm, 4, -1, 1, 16, 64, 0, 0, 6), 0, "128B with 64-byte atoms");
	EQ(WIDE(tm, 4, -1, 1, 8, 64, 0, 0, 1), 0, "32B, 8 floats a pixel");
	EQ(WIDE(tm, 4, -1, 1, 16, 64, 0, 0, 1), 1, "16 floats do not fit a 32-byte swizzle");
	EQ(WIDE(tm, 4, -1, 1, 8, 64, 0, 0, 0), 1, "no swizzle");
	EQ(WIDE(tm, 4, -1, 1, 8, 64, 0, 0, 5), 1, "the 8-byte-flip swizzle");
	EQ(WIDE(tm, 4, -1, 1, 8, 64, 0, 0, 7), 1, "no such swizzle");
	EQ(WIDE(tm, 4, -1, 1, 8, 64, 0, 2, 3), 1, "no such mode");
	EQ(WIDE(tm, 4, -1, 1, 8, 64, 1, 0, 3), 1, "interleaved");
	EQ(WIDE(tm, 2, -1, 1, 8, 64, 0, 0, 3), 1, "rank 2");
	EQ(WIDE(tm, 6, -1, 1, 8, 64, 0, 0, 3), 1, "rank 6");
	EQ(WIDE(tm, 4, -40000, 1, 8, 64, 0, 0, 3), 1, "a lower corner past 16 bits");
	EQ(WIDE(tm, 4, -1, 32768, 8, 64, 0, 0, 3), 1, "an upper corner past 16 bits");
	EQ(WIDE(tm, 4, -32768, 32767, 8, 64, 0, 0, 3), 0, "the widest corners");
	EQ(WIDE(tm, 4, -1, 1, 0, 64, 0, 0, 3), 1, "no channels");
	EQ(WIDE(tm, 4, -1, 1, 8, 0, 0, 0, 3), 1, "no pixels");
	EQ(WIDE(tm, 4, -1, 1, 8, 1025, 0, 0, 3), 1, "too many pixels");
	EQ(WIDE(tm + 8, 4, -1, 1, 8, 64, 0, 0, 3), 1, "a map not aligned to 64 bytes");
	EQ(cuTensorMapEncodeIm2colWide(tm, F32, 4, (char *)data + 4, dims, strides, -1, 1, 8, 64, es, 0, 0, 3, 0, 0), 1, "a global address not aligned to 16 bytes");
#undef WIDE
}

/* A dma-buf export is checked as documented, then refused: no dma-buf of this machine's
 * kernel describes vgpu's device memory (801, as a driver whose kernel cannot export). */
static void test_dmabuf(void) {
	CUdeviceptr p = 0;
	int fd = -7;
	EQ(cuMemAlloc_v2(&p, 1 << 20), 0, "cuMemAlloc");
	EQ(cuMemGetHandleForAddressRange(&fd, p, 1 << 16, 1, 0), 801, "a valid dma-buf request");
	EQ(cuMemGetHandleForAddressRange(&fd, p, 1 << 16, 1, 1), 801, "with the PCIe mapping");
	EQ(fd, -7, "no descriptor is written");
	EQ(cuMemGetHandleForAddressRange(&fd, p, 1 << 16, 2, 0), 1, "no such handle type");
	EQ(cuMemGetHandleForAddressRange(&fd, p, 1 << 16, 1, 4), 1, "no such flag");
	EQ(cuMemGetHandleForAddressRange(NULL, p, 1 << 16, 1, 0), 1, "no output");
	EQ(cuMemGetHandleForAddressRange(&fd, p + 16, 1 << 16, 1, 0), 1, "an address not page-aligned");
	EQ(cuMemGetHandleForAddressRange(&fd, p, 100, 1, 0), 1, "a size not page-aligned");
	EQ(cuMemGetHandleForAddressRange(&fd, p, 2 << 20, 1, 0), 1, "past the allocation");
	EQ(cuMemGetHandleForAddressRange(&fd, p, 0, 1, 0), 1, "an empty range");
	EQ(cuMemFree_v2(p), 0, "cuMemFree");
	EQ(cuMemGetHandleForAddressRange(&fd, p, 1 << 16, 1, 0), 1, "freed memory");
}

/* Sparse-array mapping: vgpu makes no sparse array, so an entry naming a real array is an
 * invalid value, one naming no array an invalid handle. */
static void test_map_array(void) {
	struct arraydesc d = {64, 64, 1, 1};
	H a = NULL, s = NULL;
	EQ(cuArrayCreate_v2(&a, &d), 0, "cuArrayCreate");
	unsigned char info[2][96];
	memset(info, 0, sizeof info);
	memcpy(info[0] + 8, &a, sizeof a); /* CU_RESOURCE_TYPE_ARRAY */
	memcpy(info[1] + 8, &a, sizeof a);
	EQ(cuMemMapArrayAsync(info, 1, NULL), 1, "the array is not sparse");
	EQ(cuMemMapArrayAsync_ptsz(info, 2, NULL), 1, "_ptsz: neither entry is");
	H wild = (H)0x7171;
	memcpy(info[1] + 8, &wild, sizeof wild);
	EQ(cuMemMapArrayAsync(info, 2, NULL), 400, "no such array");
	info[1][0] = 1; /* a mipmapped array */
	EQ(cuMemMapArrayAsync(info, 2, NULL), 400, "no such mipmapped array");
	info[1][0] = 2;
	EQ(cuMemMapArrayAsync(info, 2, NULL), 1, "linear memory is no array");
	EQ(cuMemMapArrayAsync(NULL, 1, NULL), 1, "no list");
	EQ(cuMemMapArrayAsync(info, 0, NULL), 1, "no entries");
	EQ(cuStreamCreate(&s, 1), 0, "cuStreamCreate");
	EQ(cuMemMapArrayAsync(info, 1, s), 1, "on a stream");
	EQ(cuStreamDestroy_v2(s), 0, "cuStreamDestroy");
	EQ(cuArrayDestroy(a), 0, "cuArrayDestroy");
	EQ(cuMemMapArrayAsync(info, 1, NULL), 400, "a destroyed array");
}

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) { fprintf(stderr, "usage: covdrv LIBDIR [label]\n"); return 2; }
	char path[4096];
	snprintf(path, sizeof path, "%s/libcuda.so.1", argv[1]);
	lib = dlopen(path, RTLD_NOW);
	if (!lib) { printf("covdrv: FAIL: %s\n", dlerror()); return 1; }
#define LOAD(name, args) if (!(name = (CUresult(*) args)dlsym(lib, #name))) { printf("covdrv: FAIL: %s not exported\n", #name); return 1; }
	FNS(LOAD)
	H ctx = NULL;
	EQ(cuInit(0), 0, "cuInit");
	EQ(cuCtxCreate_v2(&ctx, 0, 0), 0, "cuCtxCreate");
	test_pools();
	test_batches();
	test_capture_deps();
	test_conditional();
	test_legacy_launch();
	test_im2col_wide();
	test_dmabuf();
	test_map_array();
	EQ(cuCtxDestroy_v2(ctx), 0, "cuCtxDestroy");
	printf("%s: covdrv %s: %d checks, %d failures\n", failures ? "FAIL" : "PASS", argc > 2 ? argv[2] : "", checks, failures);
	return failures != 0;
}
