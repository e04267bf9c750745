/* Issue 13's runtime, fourth slice: copies with arrays on the per-thread default stream, 3D
 * fills, device and function preferences, graph-memory figures, array queries, managed-memory
 * hints and range attributes, stream memory attachment and attribute copies. Run in-process
 * (sim) and as a remote client of a sim server: the same rules.
 *   runtime13d LIBDIR [label]
 * Status values are NVIDIA's documented cudaError_t numbers: 0 success, 1 invalid value,
 * 98 invalid device function, 101 invalid device, 400 invalid resource handle. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int err_t;
static int failures, checks;
#define CHECK(c, ...) do { checks++; if (!(c)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)
#define EQ(got, want, what) do { long long g_ = (long long)(got), w_ = (long long)(want); CHECK(g_ == w_, "%s: got %lld, want %lld", what, g_, w_); } while (0)

/* NVIDIA's ABI, from the documented field lists. */
struct chdesc { int x, y, z, w, f; };
struct extent { size_t width, height, depth; };
struct pitched { void *ptr; size_t pitch, xsize, ysize; };
struct memloc { int type, id; };   /* cudaMemLocation: cudaMemLocationTypeDevice 1, Host 2 */
#define PER_THREAD ((void *)2)      /* cudaStreamPerThread */

#define FNS(X) \
	X(err_t, cudaMalloc, (void **, size_t)) X(err_t, cudaFree, (void *)) \
	X(err_t, cudaMallocManaged, (void **, size_t, unsigned)) \
	X(err_t, cudaMemcpy, (void *, const void *, size_t, int)) X(err_t, cudaMemset, (void *, int, size_t)) \
	X(err_t, cudaDeviceSynchronize, (void)) X(err_t, cudaStreamSynchronize, (void *)) \
	X(err_t, cudaStreamCreateWithFlags, (void **, unsigned)) X(err_t, cudaStreamDestroy, (void *)) \
	X(err_t, cudaGetDeviceProperties, (void *, int)) \
	X(err_t, cudaMallocArray, (void **, const struct chdesc *, size_t, size_t, unsigned)) \
	X(err_t, cudaFreeArray, (void *)) X(err_t, cudaMalloc3D, (struct pitched *, struct extent)) \
	X(err_t, cudaMemcpyToArray_ptds, (void *, size_t, size_t, const void *, size_t, int)) \
	X(err_t, cudaMemcpyFromArray_ptds, (void *, const void *, size_t, size_t, size_t, int)) \
	X(err_t, cudaMemcpy2DToArray_ptds, (void *, size_t, size_t, const void *, size_t, size_t, size_t, int)) \
	X(err_t, cudaMemcpy2DFromArray_ptds, (void *, size_t, const void *, size_t, size_t, size_t, size_t, int)) \
	X(err_t, cudaMemcpyToArrayAsync_ptsz, (void *, size_t, size_t, const void *, size_t, int, void *)) \
	X(err_t, cudaMemcpyFromArrayAsync_ptsz, (void *, const void *, size_t, size_t, size_t, int, void *)) \
	X(err_t, cudaMemcpy2DToArrayAsync_ptsz, (void *, size_t, size_t, const void *, size_t, size_t, size_t, int, void *)) \
	X(err_t, cudaMemcpy2DFromArrayAsync_ptsz, (void *, size_t, const void *, size_t, size_t, size_t, size_t, int, void *)) \
	X(err_t, cudaMemcpyArrayToArray_ptds, (void *, size_t, size_t, const void *, size_t, size_t, size_t, int)) \
	X(err_t, cudaMemcpy2DArrayToArray_ptds, (void *, size_t, size_t, const void *, size_t, size_t, size_t, size_t, int)) \
	X(err_t, cudaMemset3D, (struct pitched, int, struct extent)) \
	X(err_t, cudaMemset3DAsync, (struct pitched, int, struct extent, void *)) \
	X(err_t, cudaMemset3D_ptds, (struct pitched, int, struct extent)) \
	X(err_t, cudaMemset3DAsync_ptsz, (struct pitched, int, struct extent, void *)) \
	X(err_t, cudaChooseDevice, (int *, const void *)) \
	X(err_t, cudaDeviceGetCacheConfig, (int *)) X(err_t, cudaDeviceSetCacheConfig, (int)) \
	X(err_t, cudaDeviceGetSharedMemConfig, (int *)) X(err_t, cudaDeviceSetSharedMemConfig, (int)) \
	X(err_t, cudaFuncSetCacheConfig, (const void *, int)) X(err_t, cudaFuncSetSharedMemConfig, (const void *, int)) \
	X(err_t, cudaFuncGetParamInfo, (const void *, size_t, size_t *, size_t *)) \
	X(err_t, cudaDeviceGetDefaultMemPool, (void **, int)) X(err_t, cudaDeviceSetMemPool, (int, void *)) \
	X(err_t, cudaDeviceGetMemPool, (void **, int)) \
	X(err_t, cudaDeviceGetTexture1DLinearMaxWidth, (size_t *, const struct chdesc *, int)) \
	X(err_t, cudaCtxResetPersistingL2Cache, (void)) X(err_t, cudaDeviceFlushGPUDirectRDMAWrites, (int, int)) \
	X(err_t, cudaDeviceGetGraphMemAttribute, (int, int, void *)) X(err_t, cudaDeviceSetGraphMemAttribute, (int, int, void *)) \
	X(err_t, cudaDeviceGraphMemTrim, (int)) \
	X(err_t, cudaGetDriverEntryPoint, (const char *, void **, unsigned long long, int *)) \
	X(err_t, cudaGetDriverEntryPoint_ptsz, (const char *, void **, unsigned long long, int *)) \
	X(err_t, cudaGetDriverEntryPointByVersion_ptsz, (const char *, void **, unsigned, unsigned long long, int *)) \
	X(err_t, cudaArrayGetPlane, (void **, void *, unsigned)) \
	X(err_t, cudaArrayGetMemoryRequirements, (void *, void *, int)) X(err_t, cudaArrayGetSparseProperties, (void *, void *)) \
	X(err_t, cudaProfilerStart, (void)) X(err_t, cudaProfilerStop, (void)) \
	X(err_t, cudaMemAdvise, (const void *, size_t, int, struct memloc)) \
	X(err_t, cudaMemPrefetchAsync, (const void *, size_t, struct memloc, unsigned, void *)) \
	X(err_t, cudaMemPrefetchAsync_ptsz, (const void *, size_t, struct memloc, unsigned, void *)) \
	X(err_t, cudaMemRangeGetAttribute, (void *, size_t, int, const void *, size_t)) \
	X(err_t, cudaMemRangeGetAttributes, (void **, size_t *, int *, size_t, const void *, size_t)) \
	X(err_t, cudaStreamAttachMemAsync, (void *, void *, size_t, unsigned)) \
	X(err_t, cudaStreamAttachMemAsync_ptsz, (void *, void *, size_t, unsigned)) \
	X(err_t, cudaStreamGetAttribute, (void *, int, void *)) X(err_t, cudaStreamSetAttribute, (void *, int, const void *)) \
	X(err_t, cudaStreamCopyAttributes, (void *, void *)) X(err_t, cudaStreamCopyAttributes_ptsz, (void *, void *)) \
	X(err_t, cudaGraphCreate, (void **, unsigned)) X(err_t, cudaGraphDestroy, (void *)) \
	X(err_t, cudaGraphAddMemsetNode, (void **, void *, void **, size_t, const void *)) \
	X(err_t, cudaGraphAddMemcpyNode1D, (void **, void *, void **, size_t, void *, const void *, size_t, int)) \
	X(err_t, cudaGraphAddEmptyNode, (void **, void *, void **, size_t)) \
	X(err_t, cudaGraphAddChildGraphNode, (void **, void *, void **, size_t, void *)) \
	X(err_t, cudaGraphAddEventRecordNode, (void **, void *, void **, size_t, void *)) \
	X(err_t, cudaGraphEventRecordNodeGetEvent, (void *, void **)) \
	X(err_t, cudaGraphAddDependencies, (void *, void **, void **, const void *, size_t)) \
	X(err_t, cudaGraphGetNodes, (void *, void **, size_t *)) X(err_t, cudaGraphNodeGetType, (void *, int *)) \
	X(err_t, cudaGraphClone, (void **, void *)) \
	X(err_t, cudaGraphInstantiate, (void **, void *, unsigned long long)) X(err_t, cudaGraphExecDestroy, (void *)) \
	X(err_t, cudaGraphLaunch, (void *, void *)) \
	X(err_t, cudaEventCreateWithFlags, (void **, unsigned)) X(err_t, cudaEventDestroy, (void *)) \
	X(err_t, cudaGraphGetRootNodes, (void *, void **, size_t *)) \
	X(err_t, cudaGraphRemoveDependencies, (void *, void **, void **, const void *, size_t)) \
	X(err_t, cudaGraphNodeGetEnabled, (void *, void *, unsigned *)) X(err_t, cudaGraphNodeSetEnabled, (void *, void *, unsigned)) \
	X(err_t, cudaGraphChildGraphNodeGetGraph, (void *, void **)) \
	X(err_t, cudaGraphEventRecordNodeSetEvent, (void *, void *)) X(err_t, cudaGraphEventWaitNodeSetEvent, (void *, void *)) \
	X(err_t, cudaGraphExecEventRecordNodeSetEvent, (void *, void *, void *)) \
	X(err_t, cudaGraphExecEventWaitNodeSetEvent, (void *, void *, void *)) \
	X(err_t, cudaGraphNodeFindInClone, (void **, void *, void *)) \
	X(err_t, cudaGraphInstantiateWithParams_ptsz, (void **, void *, void *)) \
	X(err_t, cudaGraphExecChildGraphNodeSetParams, (void *, void *, void *)) \
	X(err_t, cudaMemGetDefaultMemPool, (void **, struct memloc *, int)) X(err_t, cudaMemGetMemPool, (void **, struct memloc *, int)) \
	X(err_t, cudaMemSetMemPool, (struct memloc *, int, void *)) \
	X(err_t, cudaMallocFromPoolAsync, (void **, size_t, void *, void *)) X(err_t, cudaMallocFromPoolAsync_ptsz, (void **, size_t, void *, void *)) \
	X(err_t, cudaFreeAsync, (void *, void *)) X(err_t, cudaMemPoolGetAttribute, (void *, int, void *)) \
	X(err_t, cudaGetKernel, (void **, const void *)) X(err_t, cudaKernelSetAttributeForDevice, (void *, int, int, int)) \
	X(err_t, cudaFuncGetAttributes, (void *, const void *)) \
	X(err_t, cudaSetValidDevices, (int *, int)) \
	X(err_t, cudaDeviceRegisterAsyncNotification, (int, void (*)(void *, void *, void *), void *, void **)) \
	X(err_t, cudaDeviceUnregisterAsyncNotification, (int, void *)) \
	X(void **, __cudaRegisterFatBinary, (void *)) X(void, __cudaRegisterFatBinaryEnd, (void **)) \
	X(void, __cudaUnregisterFatBinary, (void **)) \
	X(void, __cudaRegisterFunction, (void **, const char *, char *, const char *, int, void *, void *, void *, void *, int *))

#define DECL(r, n, a) static r(*p_##n) a;
FNS(DECL)

static void host_stub(void) {}
static unsigned long long fatbin[4] = {0x0010000100000000ull | 0xba55ed50u, 0};
static struct { int magic, version; void *data, *unused; } wrapper;

/* Copies with arrays on the per-thread default stream move the same bytes as their plain forms. */
static void test_array_copies(void) {
	struct chdesc f32 = {32, 0, 0, 0, 2};
	void *a = NULL, *b = NULL;
	EQ(p_cudaMallocArray(&a, &f32, 16, 4, 0), 0, "cudaMallocArray a");
	EQ(p_cudaMallocArray(&b, &f32, 16, 4, 0), 0, "cudaMallocArray b");
	float in[64], out[64];
	for (int i = 0; i < 64; i++) in[i] = (float)i * 1.5f;
	EQ(p_cudaMemcpy2DToArray_ptds(a, 0, 0, in, 64, 64, 4, 1), 0, "cudaMemcpy2DToArray_ptds");
	memset(out, 0, sizeof out);
	EQ(p_cudaMemcpy2DFromArray_ptds(out, 64, a, 0, 0, 64, 4, 2), 0, "cudaMemcpy2DFromArray_ptds");
	CHECK(!memcmp(in, out, sizeof in), "2D _ptds round trip differs");
	EQ(p_cudaMemcpy2DArrayToArray_ptds(b, 0, 0, a, 0, 0, 64, 4, 3), 0, "cudaMemcpy2DArrayToArray_ptds");
	memset(out, 0, sizeof out);
	EQ(p_cudaMemcpyFromArray_ptds(out, b, 0, 0, sizeof out, 2), 0, "cudaMemcpyFromArray_ptds");
	CHECK(!memcmp(in, out, sizeof in), "array to array (2D) differs");
	/* Row 1 of b from row 2 of a, linear form. */
	EQ(p_cudaMemcpyArrayToArray_ptds(b, 0, 1, a, 0, 2, 64, 3), 0, "cudaMemcpyArrayToArray_ptds");
	EQ(p_cudaMemcpyFromArray_ptds(out, b, 0, 1, 64, 2), 0, "cudaMemcpyFromArray_ptds row 1");
	CHECK(!memcmp(in + 32, out, 64), "array to array (linear) differs");
	/* _ptsz forms with stream 0 run on the per-thread stream, whose synchronisation waits for them. */
	for (int i = 0; i < 64; i++) in[i] = -(float)i;
	EQ(p_cudaMemcpyToArrayAsync_ptsz(a, 0, 0, in, sizeof in, 1, NULL), 0, "cudaMemcpyToArrayAsync_ptsz");
	memset(out, 0, sizeof out);
	EQ(p_cudaMemcpy2DFromArrayAsync_ptsz(out, 64, a, 0, 0, 64, 4, 2, NULL), 0, "cudaMemcpy2DFromArrayAsync_ptsz");
	EQ(p_cudaStreamSynchronize(PER_THREAD), 0, "sync per-thread");
	CHECK(!memcmp(in, out, sizeof in), "_ptsz round trip differs");
	EQ(p_cudaMemcpy2DToArrayAsync_ptsz(a, 4, 1, in, 8, 8, 2, 1, NULL), 0, "cudaMemcpy2DToArrayAsync_ptsz");
	EQ(p_cudaMemcpyFromArrayAsync_ptsz(out, a, 4, 1, 8, 2, NULL), 0, "cudaMemcpyFromArrayAsync_ptsz");
	EQ(p_cudaStreamSynchronize(PER_THREAD), 0, "sync per-thread");
	CHECK(!memcmp(in, out, 8), "2D region at (4,1) differs");
	EQ(p_cudaMemcpy2DToArray_ptds(a, 60, 0, in, 64, 64, 1, 1), 1, "a row past the array's width");
	EQ(p_cudaMemcpyToArray_ptds(NULL, 0, 0, in, 4, 1), 400, "no array");
	p_cudaFreeArray(a);
	p_cudaFreeArray(b);
}

/* cudaMemset3D fills extent.width bytes of extent.height rows of extent.depth slices, rows
 * pitch apart and slices pitch*ysize apart; the padding between stays as it was. */
static void test_memset3d(void) {
	struct extent e = {10, 3, 2};
	struct pitched pp;
	EQ(p_cudaMalloc3D(&pp, e), 0, "cudaMalloc3D");
	size_t total = pp.pitch * pp.ysize * 2;
	EQ(p_cudaMemset(pp.ptr, 0, total), 0, "clear");
	EQ(p_cudaMemset3D(pp, 0x5a, e), 0, "cudaMemset3D");
	unsigned char *h = malloc(total);
	EQ(p_cudaMemcpy(h, pp.ptr, total, 2), 0, "read back");
	int bad = 0;
	for (size_t z = 0; z < 2; z++)
		for (size_t y = 0; y < pp.ysize; y++)
			for (size_t x = 0; x < pp.pitch; x++) {
				unsigned char want = (y < 3 && x < 10) ? 0x5a : 0;
				if (h[z * pp.pitch * pp.ysize + y * pp.pitch + x] != want) bad++;
			}
	EQ(bad, 0, "bytes outside/inside the 3D extent");
	struct extent small = {4, 2, 2};
	EQ(p_cudaMemset3DAsync(pp, 7, small, NULL), 0, "cudaMemset3DAsync");
	EQ(p_cudaMemset3DAsync_ptsz(pp, 8, (struct extent){1, 1, 1}, NULL), 0, "cudaMemset3DAsync_ptsz");
	EQ(p_cudaMemset3D_ptds(pp, 9, (struct extent){0, 1, 1}), 0, "an empty extent");
	EQ(p_cudaDeviceSynchronize(), 0, "sync");
	EQ(p_cudaMemcpy(h, pp.ptr, total, 2), 0, "read back");
	EQ(h[0], 8, "first byte: the _ptsz fill, after the async one");
	EQ(h[1], 7, "second byte");
	EQ(h[pp.pitch * pp.ysize + pp.pitch + 3], 7, "slice 1 row 1 byte 3");
	EQ(h[pp.pitch * pp.ysize + pp.pitch + 4], 0x5a, "slice 1 row 1 byte 4: past the small extent");
	struct pitched wide = pp;
	EQ(p_cudaMemset3D(wide, 1, (struct extent){pp.pitch + 1, 1, 1}), 1, "a row wider than the pitch");
	EQ(p_cudaMemset3D(wide, 1, (struct extent){10, 3, 3}), 1, "a slice past the allocation");
	EQ(p_cudaMemcpy(h, pp.ptr, 1, 2), 0, "read back");
	EQ(h[0], 8, "a refused fill wrote nothing");
	free(h);
	p_cudaFree(pp.ptr);
}

static void test_preferences(void) {
	unsigned char prop[1008] = {0};
	EQ(p_cudaGetDeviceProperties(prop, 0), 0, "cudaGetDeviceProperties");
	int dev = -1;
	EQ(p_cudaChooseDevice(&dev, prop), 0, "cudaChooseDevice with device 0's properties");
	EQ(dev, 0, "the chosen device");
	EQ(p_cudaChooseDevice(&dev, NULL), 1, "cudaChooseDevice without properties");

	int v = -1;
	EQ(p_cudaDeviceSetCacheConfig(2), 0, "cudaDeviceSetCacheConfig(PreferL1)");
	EQ(p_cudaDeviceGetCacheConfig(&v), 0, "cudaDeviceGetCacheConfig");
	EQ(v, 2, "the cache preference set");
	EQ(p_cudaDeviceSetCacheConfig(4), 1, "an unknown cache preference");
	EQ(p_cudaDeviceGetCacheConfig(NULL), 1, "cudaDeviceGetCacheConfig(NULL)");
	EQ(p_cudaDeviceSetCacheConfig(0), 0, "back to no preference");
	EQ(p_cudaDeviceSetSharedMemConfig(2), 0, "cudaDeviceSetSharedMemConfig(EightByte)");
	EQ(p_cudaDeviceGetSharedMemConfig(&v), 0, "cudaDeviceGetSharedMemConfig");
	EQ(v, 1, "banks stay four bytes wide");
	EQ(p_cudaDeviceSetSharedMemConfig(3), 1, "an unknown bank size");

	EQ(p_cudaFuncSetCacheConfig((const void *)host_stub, 3), 0, "cudaFuncSetCacheConfig");
	EQ(p_cudaFuncSetCacheConfig((const void *)host_stub, 4), 1, "an unknown cache preference");
	EQ(p_cudaFuncSetCacheConfig((const void *)test_preferences, 1), 98, "not a kernel");
	EQ(p_cudaFuncSetSharedMemConfig((const void *)host_stub, 1), 0, "cudaFuncSetSharedMemConfig");
	EQ(p_cudaFuncSetSharedMemConfig((const void *)test_preferences, 1), 98, "not a kernel");
	size_t off, size;
	EQ(p_cudaFuncGetParamInfo((const void *)host_stub, 0, &off, &size), 1, "a kernel without parameter 0");
	EQ(p_cudaFuncGetParamInfo((const void *)test_preferences, 0, &off, &size), 98, "not a kernel");

	void *pool = NULL, *cur = NULL;
	EQ(p_cudaDeviceGetDefaultMemPool(&pool, 0), 0, "default pool");
	EQ(p_cudaDeviceSetMemPool(0, pool), 0, "cudaDeviceSetMemPool(default)");
	EQ(p_cudaDeviceGetMemPool(&cur, 0), 0, "cudaDeviceGetMemPool");
	CHECK(cur == pool, "the current pool is the one set");
	EQ(p_cudaDeviceSetMemPool(0, (void *)0x1234), 1, "not a pool");
	EQ(p_cudaDeviceSetMemPool(99, pool), 1, "no device 99: invalid value, as NVIDIA answers");

	size_t w = 0;
	struct chdesc f32 = {32, 0, 0, 0, 2}, bad = {7, 0, 0, 0, 2};
	EQ(p_cudaDeviceGetTexture1DLinearMaxWidth(&w, &f32, 0), 0, "cudaDeviceGetTexture1DLinearMaxWidth");
	CHECK(w >= (1u << 27), "1D linear textures span at least 2^27 elements, got %zu", w);
	CHECK(p_cudaDeviceGetTexture1DLinearMaxWidth(&w, &bad, 0) != 0, "a 7-bit channel is refused");
	EQ(p_cudaDeviceGetTexture1DLinearMaxWidth(&w, &f32, 99), 101, "no device 99");

	EQ(p_cudaCtxResetPersistingL2Cache(), 0, "cudaCtxResetPersistingL2Cache");
	EQ(p_cudaDeviceFlushGPUDirectRDMAWrites(0, 100), 0, "flush to the owner");
	EQ(p_cudaDeviceFlushGPUDirectRDMAWrites(0, 200), 0, "flush to all devices");
	EQ(p_cudaDeviceFlushGPUDirectRDMAWrites(1, 100), 1, "an unknown target");
	EQ(p_cudaDeviceFlushGPUDirectRDMAWrites(0, 5), 1, "an unknown scope");

	unsigned long long g = 99;
	EQ(p_cudaDeviceGetGraphMemAttribute(0, 0, &g), 0, "used memory, current");
	EQ(g, 0, "no graph holds memory");
	EQ(p_cudaDeviceGetGraphMemAttribute(0, 4, &g), 1, "an unknown attribute");
	EQ(p_cudaDeviceGetGraphMemAttribute(99, 0, &g), 101, "no device 99");
	g = 0;
	EQ(p_cudaDeviceSetGraphMemAttribute(0, 1, &g), 0, "reset the used high-water mark");
	EQ(p_cudaDeviceSetGraphMemAttribute(0, 3, &g), 0, "reset the reserved high-water mark");
	EQ(p_cudaDeviceSetGraphMemAttribute(0, 0, &g), 1, "the current figure cannot be set");
	g = 5;
	EQ(p_cudaDeviceSetGraphMemAttribute(0, 1, &g), 1, "a high-water mark resets only to 0");
	EQ(p_cudaDeviceGraphMemTrim(0), 0, "cudaDeviceGraphMemTrim");
	EQ(p_cudaDeviceGraphMemTrim(99), 101, "no device 99");

	/* The _ptsz forms' default is the per-thread variants: what the plain form gives when asked for them. */
	void *f1 = NULL, *f2 = NULL, *f3 = NULL;
	int s1 = -1, s2 = -1, s3 = -1;
	EQ(p_cudaGetDriverEntryPoint_ptsz("cuMemcpyAsync", &f1, 0, &s1), 0, "cudaGetDriverEntryPoint_ptsz");
	EQ(p_cudaGetDriverEntryPoint("cuMemcpyAsync", &f2, 2, &s2), 0, "cudaGetDriverEntryPoint per-thread");
	EQ(p_cudaGetDriverEntryPointByVersion_ptsz("cuMemcpyAsync", &f3, 12000, 0, &s3), 0, "ByVersion_ptsz");
	EQ(s1, 0, "found"); EQ(s3, 0, "found");
	CHECK(f1 && f1 == f2 && f1 == f3, "the same per-thread entry point");

	EQ(p_cudaProfilerStart(), 0, "cudaProfilerStart");
	EQ(p_cudaProfilerStop(), 0, "cudaProfilerStop");
}

/* vgpu's arrays are single-plane, neither sparse nor deferred: these queries answer an
 * invalid value for them, and an invalid resource handle for what is not an array. */
static void test_array_queries(void) {
	struct chdesc f32 = {32, 0, 0, 0, 2};
	void *a = NULL, *plane = NULL;
	unsigned char buf[64];
	EQ(p_cudaMallocArray(&a, &f32, 8, 8, 0), 0, "cudaMallocArray");
	EQ(p_cudaArrayGetPlane(&plane, a, 0), 1, "plane 0 of a single-plane array");
	EQ(p_cudaArrayGetMemoryRequirements(buf, a, 0), 1, "requirements of an array backed at creation");
	EQ(p_cudaArrayGetSparseProperties(buf, a), 1, "sparse properties of a dense array");
	p_cudaFreeArray(a);
	EQ(p_cudaArrayGetPlane(&plane, a, 0), 400, "a freed array");
	EQ(p_cudaArrayGetSparseProperties(buf, a), 400, "a freed array");
}

/* Managed memory hints: kept per page, reported by cudaMemRangeGetAttribute as one value when
 * every page of the range agrees, cudaInvalidDeviceId (-2) when they do not. */
static void test_managed_hints(void) {
	enum { SZ = 1 << 20, HALF = SZ / 2 };
	char *m = NULL;
	void *dev = NULL;
	struct memloc d0 = {1, 0}, host = {2, 0}, d9 = {1, 9};
	EQ(p_cudaMallocManaged((void **)&m, SZ, 1), 0, "cudaMallocManaged");
	EQ(p_cudaMalloc(&dev, 4096), 0, "cudaMalloc");
	int v = -7;
	EQ(p_cudaMemRangeGetAttribute(&v, 4, 1, m, SZ), 0, "read-mostly, nothing advised");
	EQ(v, 0, "not read-mostly");
	EQ(p_cudaMemAdvise(m, 8192, 1, d0), 0, "SetReadMostly on two pages");
	EQ(p_cudaMemRangeGetAttribute(&v, 4, 1, m, 8192), 0, "read-mostly of those pages");
	EQ(v, 1, "read-mostly");
	EQ(p_cudaMemRangeGetAttribute(&v, 4, 1, m, SZ), 0, "read-mostly of the whole");
	EQ(v, 0, "not all of it is read-mostly");
	EQ(p_cudaMemAdvise(m, 4096, 2, d0), 0, "UnsetReadMostly on the first page");
	EQ(p_cudaMemRangeGetAttribute(&v, 4, 1, m + 4096, 4096), 0, "second page");
	EQ(v, 1, "the second page stays read-mostly");

	EQ(p_cudaMemAdvise(m, SZ, 3, d0), 0, "preferred location: device 0");
	EQ(p_cudaMemAdvise(m + HALF, HALF, 3, host), 0, "preferred location of the second half: host");
	EQ(p_cudaMemRangeGetAttribute(&v, 4, 2, m, HALF), 0, "preferred location, first half");
	EQ(v, 0, "device 0");
	EQ(p_cudaMemRangeGetAttribute(&v, 4, 2, m + HALF, HALF), 0, "preferred location, second half");
	EQ(v, -1, "cudaCpuDeviceId");
	EQ(p_cudaMemRangeGetAttribute(&v, 4, 5, m + HALF, HALF), 0, "preferred location type, second half");
	EQ(v, 2, "cudaMemLocationTypeHost");
	EQ(p_cudaMemRangeGetAttribute(&v, 4, 2, m, SZ), 0, "preferred location, whole");
	EQ(v, -2, "the halves disagree");
	EQ(p_cudaMemAdvise(m, SZ, 4, d0), 0, "UnsetPreferredLocation");
	EQ(p_cudaMemRangeGetAttribute(&v, 4, 5, m, SZ), 0, "preferred location type");
	EQ(v, 0, "cudaMemLocationTypeInvalid once unset");

	int acc[3] = {7, 7, 7};
	EQ(p_cudaMemAdvise(m, SZ, 5, d0), 0, "SetAccessedBy device 0");
	EQ(p_cudaMemRangeGetAttribute(acc, sizeof acc, 3, m, SZ), 0, "accessed-by");
	EQ(acc[0], 0, "device 0"); EQ(acc[1], -2, "then none"); EQ(acc[2], -2, "then none");
	EQ(p_cudaMemRangeGetAttribute(acc, 6, 3, m, SZ), 1, "accessed-by into 6 bytes");

	EQ(p_cudaMemPrefetchAsync(m, SZ, d0, 0, NULL), 0, "prefetch to device 0");
	EQ(p_cudaMemPrefetchAsync_ptsz(m, 4096, host, 0, NULL), 0, "prefetch a page to the host");
	EQ(p_cudaDeviceSynchronize(), 0, "sync");
	EQ(p_cudaMemRangeGetAttribute(&v, 4, 4, m + 4096, SZ - 4096), 0, "last prefetch location");
	EQ(v, 0, "device 0");
	EQ(p_cudaMemRangeGetAttribute(&v, 4, 4, m, SZ), 0, "last prefetch location, whole");
	EQ(v, -2, "the first page went elsewhere");

	/* Several attributes at once, each into its own buffer. */
	int rm = -7, pl = -7;
	void *bufs[2] = {&rm, &pl};
	size_t sizes[2] = {4, 4};
	int attrs[2] = {1, 4};
	EQ(p_cudaMemRangeGetAttributes(bufs, sizes, attrs, 2, m + 4096, 4096), 0, "cudaMemRangeGetAttributes");
	EQ(rm, 1, "read-mostly"); EQ(pl, 0, "last prefetched to device 0");
	attrs[1] = 99;
	EQ(p_cudaMemRangeGetAttributes(bufs, sizes, attrs, 2, m, 4096), 1, "an unknown attribute");

	EQ(p_cudaMemAdvise(dev, 4096, 1, d0), 1, "advice on device memory");
	EQ(p_cudaMemAdvise(m, 0, 1, d0), 1, "an empty range");
	EQ(p_cudaMemAdvise(m, SZ + 1, 1, d0), 1, "a range past the allocation");
	EQ(p_cudaMemAdvise(m, SZ, 9, d0), 1, "unknown advice");
	EQ(p_cudaMemAdvise(m, SZ, 3, d9), 101, "a preferred device that does not exist");
	EQ(p_cudaMemPrefetchAsync(m, SZ, d0, 1, NULL), 1, "prefetch flags");
	EQ(p_cudaMemPrefetchAsync(dev, 4096, d0, 0, NULL), 1, "prefetch of device memory");
	EQ(p_cudaMemRangeGetAttribute(&v, 8, 1, m, SZ), 1, "a 4-byte attribute into 8 bytes");
	EQ(p_cudaDeviceSynchronize(), 0, "sync");

	void *s = NULL;
	EQ(p_cudaStreamCreateWithFlags(&s, 1), 0, "stream");
	EQ(p_cudaStreamAttachMemAsync(s, m, 0, 4), 0, "attach to one stream");
	EQ(p_cudaStreamAttachMemAsync(s, m, SZ, 1), 0, "attach globally, whole length");
	EQ(p_cudaStreamAttachMemAsync_ptsz(NULL, m, 0, 2), 0, "attach to the host");
	EQ(p_cudaStreamAttachMemAsync(s, m, 0, 3), 1, "two attachments at once");
	EQ(p_cudaStreamAttachMemAsync(s, m, 4096, 1), 1, "part of an allocation");
	EQ(p_cudaStreamAttachMemAsync(NULL, m, 0, 4), 1, "single-stream attachment to the NULL stream");
	EQ(p_cudaStreamAttachMemAsync(s, dev, 0, 1), 1, "device memory");
	EQ(p_cudaStreamSynchronize(s), 0, "sync");
	p_cudaStreamDestroy(s);
	p_cudaFree(m);
	p_cudaFree(dev);
}

/* cudaStreamCopyAttributes gives dst every attribute src has. */
static void test_stream_copy_attributes(void) {
	void *a = NULL, *b = NULL;
	EQ(p_cudaStreamCreateWithFlags(&a, 1), 0, "stream a");
	EQ(p_cudaStreamCreateWithFlags(&b, 1), 0, "stream b");
	unsigned char val[64] = {0}, got[64];
	val[0] = 2; /* cudaSyncPolicySpin */
	EQ(p_cudaStreamSetAttribute(a, 3, val), 0, "sync policy of a");
	EQ(p_cudaStreamCopyAttributes(b, a), 0, "cudaStreamCopyAttributes");
	memset(got, 0, sizeof got);
	EQ(p_cudaStreamGetAttribute(b, 3, got), 0, "sync policy of b");
	EQ(got[0], 2, "copied");
	val[0] = 3;
	EQ(p_cudaStreamSetAttribute(b, 3, val), 0, "sync policy of b");
	EQ(p_cudaStreamCopyAttributes_ptsz(a, b), 0, "cudaStreamCopyAttributes_ptsz");
	EQ(p_cudaStreamGetAttribute(a, 3, got), 0, "sync policy of a");
	EQ(got[0], 3, "copied back");
	EQ(p_cudaStreamCopyAttributes(a, (void *)0x7ead0000dea0), 400, "an unknown source stream");
	p_cudaStreamDestroy(a);
	p_cudaStreamDestroy(b);
}

static int notified;
static void notify_cb(void *info, void *data, void *handle) { notified++; }

struct memsetp { void *dst; size_t pitch; unsigned value, elementSize; size_t width, height; };

static int has(void **list, size_t n, void *x) {
	for (size_t i = 0; i < n; i++) if (list[i] == x) return 1;
	return 0;
}

/* Root nodes, removing edges, disabled nodes, event and child nodes changed, clones. */
static void test_graph_rest(void) {
	enum { N = 256 };
	unsigned char *a = NULL, *b = NULL, h[N];
	EQ(p_cudaMalloc((void **)&a, N), 0, "cudaMalloc a");
	EQ(p_cudaMalloc((void **)&b, N), 0, "cudaMalloc b");
	void *g = NULL, *A = NULL, *B = NULL, *C = NULL, *E = NULL;
	EQ(p_cudaGraphCreate(&g, 0), 0, "cudaGraphCreate");
	struct memsetp ms = {a, 0, 1, 1, N, 1};
	EQ(p_cudaGraphAddMemsetNode(&A, g, NULL, 0, &ms), 0, "memset node A (a = 1)");
	EQ(p_cudaGraphAddMemcpyNode1D(&B, g, &A, 1, b, a, N, 3), 0, "copy node B (b = a) after A");
	EQ(p_cudaGraphAddEmptyNode(&C, g, NULL, 0), 0, "empty node C");

	void *roots[4] = {0};
	size_t n = 4;
	EQ(p_cudaGraphGetRootNodes(g, roots, &n), 0, "cudaGraphGetRootNodes");
	EQ(n, 2, "two roots");
	CHECK(has(roots, n, A) && has(roots, n, C) && !has(roots, n, B), "the roots are A and C");
	n = 0;
	EQ(p_cudaGraphGetRootNodes(g, NULL, &n), 0, "count only");
	EQ(n, 2, "two roots");

	EQ(p_cudaGraphRemoveDependencies(g, &A, &B, NULL, 1), 0, "remove A -> B");
	n = 4;
	EQ(p_cudaGraphGetRootNodes(g, roots, &n), 0, "roots");
	EQ(n, 3, "B is a root now");
	EQ(p_cudaGraphRemoveDependencies(g, &A, &B, NULL, 1), 1, "an edge that is not there");
	void *from[2] = {A, C}, *to[2] = {B, B};
	EQ(p_cudaGraphAddDependencies(g, from, to, NULL, 2), 0, "A -> B, C -> B");
	EQ(p_cudaGraphRemoveDependencies(g, from, to, NULL, 2), 0, "both removed at once");
	EQ(p_cudaGraphAddDependencies(g, from, to, NULL, 2), 0, "and added again");
	void *dup[2] = {A, A}, *dupTo[2] = {B, B};
	EQ(p_cudaGraphRemoveDependencies(g, dup, dupTo, NULL, 2), 1, "the same edge twice");
	n = 4;
	EQ(p_cudaGraphGetRootNodes(g, roots, &n), 0, "roots");
	EQ(n, 2, "a refused removal removed nothing");

	/* A disabled memset leaves a as it was; the copy after it still runs. */
	void *x = NULL;
	unsigned on = 7;
	EQ(p_cudaGraphInstantiate(&x, g, 0), 0, "instantiate");
	EQ(p_cudaGraphNodeGetEnabled(x, A, &on), 0, "cudaGraphNodeGetEnabled");
	EQ(on, 1, "nodes start enabled");
	EQ(p_cudaGraphNodeSetEnabled(x, A, 0), 0, "disable A");
	EQ(p_cudaGraphNodeGetEnabled(x, A, &on), 0, "cudaGraphNodeGetEnabled");
	EQ(on, 0, "A disabled");
	EQ(p_cudaGraphNodeSetEnabled(x, C, 0), 1, "an empty node cannot be disabled");
	EQ(p_cudaMemset(a, 9, N), 0, "a = 9");
	EQ(p_cudaGraphLaunch(x, NULL), 0, "launch with A disabled");
	EQ(p_cudaDeviceSynchronize(), 0, "sync");
	EQ(p_cudaMemcpy(h, b, N, 2), 0, "read b");
	EQ(h[0], 9, "b copied a, which A did not set");
	EQ(p_cudaGraphNodeSetEnabled(x, A, 1), 0, "enable A");
	EQ(p_cudaGraphLaunch(x, NULL), 0, "launch with A enabled");
	EQ(p_cudaDeviceSynchronize(), 0, "sync");
	EQ(p_cudaMemcpy(h, b, N, 2), 0, "read b");
	EQ(h[N - 1], 1, "A ran before the copy");

	/* Clones: each original node has one counterpart there, and only there. */
	void *c = NULL, *found = NULL;
	int type = -1;
	EQ(p_cudaGraphClone(&c, g), 0, "cudaGraphClone");
	EQ(p_cudaGraphNodeFindInClone(&found, A, c), 0, "cudaGraphNodeFindInClone");
	CHECK(found && found != A, "a node of the clone");
	EQ(p_cudaGraphNodeGetType(found, &type), 0, "its type");
	EQ(type, 2, "a memset node");
	EQ(p_cudaGraphNodeFindInClone(&found, A, g), 1, "a graph is not its own clone");

	/* Event record nodes: the graph's node and the executable graph's copy change apart. */
	void *e1 = NULL, *e2 = NULL, *got = NULL, *x2 = NULL;
	EQ(p_cudaEventCreateWithFlags(&e1, 0), 0, "event 1");
	EQ(p_cudaEventCreateWithFlags(&e2, 0), 0, "event 2");
	EQ(p_cudaGraphAddEventRecordNode(&E, g, &B, 1, e1), 0, "record e1 after B");
	EQ(p_cudaGraphInstantiate(&x2, g, 0), 0, "instantiate");
	EQ(p_cudaGraphEventRecordNodeSetEvent(E, e2), 0, "cudaGraphEventRecordNodeSetEvent");
	EQ(p_cudaGraphEventRecordNodeGetEvent(E, &got), 0, "its event");
	CHECK(got == e2, "the node records e2 now");
	EQ(p_cudaGraphEventWaitNodeSetEvent(E, e1), 1, "a record node is not a wait node");
	EQ(p_cudaGraphExecEventRecordNodeSetEvent(x2, E, e1), 0, "cudaGraphExecEventRecordNodeSetEvent");
	EQ(p_cudaGraphExecEventWaitNodeSetEvent(x2, E, e1), 1, "not a wait node");
	EQ(p_cudaGraphExecEventRecordNodeSetEvent(x2, E, (void *)0x7ead0000dea0), 1, "not an event");
	EQ(p_cudaGraphEventRecordNodeGetEvent(E, &got), 0, "its event");
	CHECK(got == e2, "the graph's node keeps e2");
	EQ(p_cudaGraphLaunch(x2, NULL), 0, "launch");
	EQ(p_cudaDeviceSynchronize(), 0, "sync");

	/* Child nodes: the node's graph, and an executable graph's child work replaced. */
	void *child = NULL, *child2 = NULL, *K = NULL, *kg = NULL, *cn = NULL, *p = NULL, *x3 = NULL;
	struct memsetp m1 = {a, 0, 4, 1, N, 1}, m2 = {a, 0, 5, 1, N, 1};
	EQ(p_cudaGraphCreate(&child, 0), 0, "child");
	EQ(p_cudaGraphAddMemsetNode(&cn, child, NULL, 0, &m1), 0, "child: a = 4");
	EQ(p_cudaGraphCreate(&child2, 0), 0, "child 2");
	EQ(p_cudaGraphAddMemsetNode(&cn, child2, NULL, 0, &m2), 0, "child 2: a = 5");
	EQ(p_cudaGraphCreate(&p, 0), 0, "parent");
	EQ(p_cudaGraphAddChildGraphNode(&K, p, NULL, 0, child), 0, "child node");
	EQ(p_cudaGraphChildGraphNodeGetGraph(K, &kg), 0, "cudaGraphChildGraphNodeGetGraph");
	n = 0;
	EQ(p_cudaGraphGetNodes(kg, NULL, &n), 0, "its nodes");
	EQ(n, 1, "one memset");
	EQ(p_cudaGraphChildGraphNodeGetGraph(A, &kg), 1, "not a child node");
	EQ(p_cudaGraphInstantiate(&x3, p, 0), 0, "instantiate parent");
	EQ(p_cudaGraphExecChildGraphNodeSetParams(x3, K, child2), 0, "cudaGraphExecChildGraphNodeSetParams");
	EQ(p_cudaGraphExecChildGraphNodeSetParams(x3, K, g), 1, "a child of another shape");
	EQ(p_cudaGraphLaunch(x3, NULL), 0, "launch parent");
	EQ(p_cudaDeviceSynchronize(), 0, "sync");
	EQ(p_cudaMemcpy(h, a, 1, 2), 0, "read a");
	EQ(h[0], 5, "child 2's work ran");

	/* Instantiation with an upload to stream 0 means the per-thread stream under _ptsz. */
	struct { unsigned long long flags; void *upload, *errNode; int result; } ip = {2, NULL, (void *)1, -1};
	void *x4 = NULL;
	EQ(p_cudaGraphInstantiateWithParams_ptsz(&x4, g, &ip), 0, "cudaGraphInstantiateWithParams_ptsz");
	EQ(ip.result, 0, "cudaGraphInstantiateSuccess");
	ip.flags = 1ull << 40;
	EQ(p_cudaGraphInstantiateWithParams_ptsz(&x4, g, &ip), 1, "unknown flags");

	p_cudaGraphExecDestroy(x); p_cudaGraphExecDestroy(x2); p_cudaGraphExecDestroy(x3); p_cudaGraphExecDestroy(x4);
	p_cudaGraphDestroy(g); p_cudaGraphDestroy(c); p_cudaGraphDestroy(p);
	p_cudaGraphDestroy(child); p_cudaGraphDestroy(child2);
	p_cudaEventDestroy(e1); p_cudaEventDestroy(e2);
	p_cudaFree(a); p_cudaFree(b);
}

/* Pools by location are the devices' default pools; allocation from one is stream-ordered
 * and counted in its figures. */
static void test_pools_and_kernels(int remote) {
	struct memloc d0 = {1, 0}, d9 = {1, 9}, host = {2, 0};
	void *def = NULL, *cur = NULL, *pool = NULL;
	EQ(p_cudaDeviceGetDefaultMemPool(&def, 0), 0, "device 0's default pool");
	EQ(p_cudaMemGetDefaultMemPool(&pool, &d0, 1), 0, "cudaMemGetDefaultMemPool(device 0, pinned)");
	CHECK(pool == def, "the same pool");
	EQ(p_cudaMemGetMemPool(&cur, &d0, 1), 0, "cudaMemGetMemPool");
	CHECK(cur == def, "the current pool is the default one");
	EQ(p_cudaMemGetDefaultMemPool(&pool, &d9, 1), 101, "no device 9");
	EQ(p_cudaMemGetDefaultMemPool(&pool, &d0, 0), 1, "cudaMemAllocationTypeInvalid");
	EQ(p_cudaMemGetDefaultMemPool(&pool, NULL, 1), 1, "no location");
	EQ(p_cudaMemGetDefaultMemPool(&pool, &host, 1), 801, "host pools are not modelled");
	EQ(p_cudaMemSetMemPool(&d0, 1, def), 0, "cudaMemSetMemPool(default)");
	EQ(p_cudaMemSetMemPool(&d0, 1, (void *)0x1234), 1, "not a pool");

	unsigned long long before = 0, after = 0;
	EQ(p_cudaMemPoolGetAttribute(def, 7, &before), 0, "used memory (cudaMemPoolAttrUsedMemCurrent)");
	void *p1 = NULL, *p2 = NULL;
	EQ(p_cudaMallocFromPoolAsync(&p1, 1 << 20, def, NULL), 0, "cudaMallocFromPoolAsync");
	EQ(p_cudaMallocFromPoolAsync_ptsz(&p2, 4096, def, NULL), 0, "cudaMallocFromPoolAsync_ptsz");
	CHECK(p1 && p2 && p1 != p2, "two allocations");
	EQ(p_cudaMemset(p1, 3, 1 << 20), 0, "the memory is usable");
	EQ(p_cudaMemPoolGetAttribute(def, 7, &after), 0, "used memory");
	CHECK(after >= before + (1 << 20), "the pool counts them: %llu -> %llu", before, after);
	EQ(p_cudaMallocFromPoolAsync(&p1, 16, (void *)0x1234, NULL), 1, "not a pool");
	EQ(p_cudaMallocFromPoolAsync(&p1, 0, def, NULL), 1, "zero bytes");
	EQ(p_cudaFreeAsync(p2, PER_THREAD), 0, "free p2");
	EQ(p_cudaDeviceSynchronize(), 0, "sync");
	EQ(p_cudaFree(p1), 0, "free p1");

	/* A kernel handle's attribute on one device is what the function then reports. */
	void *k = NULL;
	unsigned char fa[144];
	EQ(p_cudaGetKernel(&k, (const void *)host_stub), 0, "cudaGetKernel");
	EQ(p_cudaKernelSetAttributeForDevice(k, 8, 1024, 0), 0, "max dynamic shared memory 1024 on device 0");
	/* A remote server learns a kernel from its image, and this stub's image is empty. */
	if (!remote) {
		EQ(p_cudaFuncGetAttributes(fa, (const void *)host_stub), 0, "cudaFuncGetAttributes");
		EQ(*(int *)(fa + 44), 1024, "maxDynamicSharedSizeBytes");
	}
	EQ(p_cudaKernelSetAttributeForDevice(k, 8, 1024, 9), 101, "no device 9");
	EQ(p_cudaKernelSetAttributeForDevice((void *)0x7ead0000dea0, 8, 1024, 0), 98, "not a kernel");

	int ok[1] = {0}, bad[1] = {9}, twice[2] = {0, 0};
	EQ(p_cudaSetValidDevices(ok, 1), 0, "cudaSetValidDevices({0})");
	EQ(p_cudaSetValidDevices(bad, 1), 101, "no device 9");
	EQ(p_cudaSetValidDevices(twice, 2), 1, "a device twice");
	EQ(p_cudaSetValidDevices(NULL, 1), 1, "no list");
	EQ(p_cudaSetValidDevices(NULL, 0), 0, "an empty list");

	/* Budget notifications: a registration lasts until it is unregistered, on its device. */
	void *cb = NULL, *cb2 = NULL;
	EQ(p_cudaDeviceRegisterAsyncNotification(0, notify_cb, NULL, &cb), 0, "register");
	EQ(p_cudaDeviceRegisterAsyncNotification(0, notify_cb, NULL, &cb2), 0, "register again");
	CHECK(cb && cb != cb2, "two handles");
	EQ(p_cudaDeviceRegisterAsyncNotification(0, NULL, NULL, &cb2), 1, "no callback");
	EQ(p_cudaDeviceRegisterAsyncNotification(9, notify_cb, NULL, &cb2), 101, "no device 9");
	EQ(p_cudaDeviceUnregisterAsyncNotification(0, cb), 0, "unregister");
	EQ(p_cudaDeviceUnregisterAsyncNotification(0, cb), 1, "unregister twice");
	EQ(p_cudaDeviceUnregisterAsyncNotification(9, cb2), 101, "no device 9");
	EQ(p_cudaDeviceUnregisterAsyncNotification(0, cb2), 0, "unregister the second");
	EQ(notified, 0, "vgpu's devices report no budget changes");
}

int main(int argc, char **argv) {
	char path[4096];
	snprintf(path, sizeof path, "%s/libcudart.so.13", argc > 1 ? argv[1] : ".");
	void *h = dlopen(path, RTLD_NOW);
	if (!h) { printf("FAIL %s\n", dlerror()); return 1; }
#define BIND(r, n, a) if (!(p_##n = (r(*) a)dlsym(h, #n))) { printf("FAIL missing %s\n", #n); return 1; }
	FNS(BIND)
	wrapper.magic = 0x466243b1; wrapper.version = 1; wrapper.data = fatbin;
	void **mod = p___cudaRegisterFatBinary(&wrapper);
	p___cudaRegisterFunction(mod, (const char *)host_stub, "_Z4stubv", "_Z4stubv", -1, 0, 0, 0, 0, 0);
	p___cudaRegisterFatBinaryEnd(mod);
	test_array_copies();
	test_memset3d();
	test_preferences();
	test_array_queries();
	test_managed_hints();
	test_stream_copy_attributes();
	test_graph_rest();
	test_pools_and_kernels(getenv("VGPU_BACKEND") && !strcmp(getenv("VGPU_BACKEND"), "remote"));
	p___cudaUnregisterFatBinary(mod);
	printf("%s: runtime13d %s: %d checks, %d failures\n", failures ? "FAIL" : "PASS", argc > 2 ? argv[2] : "", checks, failures);
	return failures != 0;
}
