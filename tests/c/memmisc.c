/* Memory odds and ends (issue 13): the legacy 32-bit memory names and how cuGetProcAddress
 * hands them out, pointer attributes of device, host and unknown memory (driver and runtime),
 * cuPointerSetAttribute, host registration and pinned allocations through the old names.
 * Run in-process (sim) and as a remote client of a sim server: the same rules.
 *   memmisc LIBDIR [label]
 * Status values are NVIDIA's documented numbers: 0 success, 1 invalid value, 2 out of
 * memory. CUmemorytype: 1 host, 2 device; cudaMemoryType: 0 unregistered, 1 host, 2 device. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef unsigned long long CUdeviceptr;
typedef void *H;
static int failures, checks;
#define CHECK(c, ...) do { checks++; if (!(c)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)
#define EQ(got, want, what) do { long long g_ = (long long)(got), w_ = (long long)(want); CHECK(g_ == w_, "%s: got %lld, want %lld", what, g_, w_); } while (0)

/* CUmemPoolProps / cudaMemPoolProps, CUmemAccessDesc, CUmemLocation (NVIDIA's documented fields). */
struct memloc { int type, id; };
struct poolprops { int allocType, handleTypes; struct memloc location; void *win32; size_t maxSize; unsigned short usage; unsigned char reserved[54]; };
struct accessdesc { struct memloc location; int flags; };

/* cudaPointerAttributes: the fields both majors share. */
struct ptrattrs { int type, device; void *devicePointer, *hostPointer; char reserved[64]; };

#define FNS(X) \
	X(cuInit, (unsigned)) X(cuCtxSynchronize, (void)) X(cuCtxCreate_v2, (H *, unsigned, int)) X(cuCtxDestroy_v2, (H)) \
	X(cuMemGetInfo_v2, (size_t *, size_t *)) X(cuMemAlloc_v2, (CUdeviceptr *, size_t)) \
	X(cuMemFree_v2, (CUdeviceptr)) X(cuMemcpyHtoD_v2, (CUdeviceptr, const void *, size_t)) \
	X(cuMemcpyDtoH_v2, (void *, CUdeviceptr, size_t)) \
	X(cuMemAlloc, (unsigned *, unsigned)) X(cuMemFree, (unsigned)) \
	X(cuMemAllocPitch, (unsigned *, unsigned *, unsigned, unsigned, unsigned)) \
	X(cuMemGetAddressRange, (unsigned *, unsigned *, unsigned)) \
	X(cuMemcpyHtoD, (unsigned, const void *, unsigned)) X(cuMemcpyDtoH, (void *, unsigned, unsigned)) \
	X(cuMemcpyDtoD, (unsigned, unsigned, unsigned)) X(cuMemcpyDtoDAsync, (unsigned, unsigned, unsigned, H)) \
	X(cuMemcpyHtoDAsync, (unsigned, const void *, unsigned, H)) X(cuMemcpyDtoHAsync, (void *, unsigned, unsigned, H)) \
	X(cuMemsetD8, (unsigned, unsigned char, unsigned)) X(cuMemsetD16, (unsigned, unsigned short, unsigned)) \
	X(cuMemsetD32, (unsigned, unsigned, unsigned)) \
	X(cuMemsetD2D8, (unsigned, unsigned, unsigned char, unsigned, unsigned)) \
	X(cuMemsetD2D16, (unsigned, unsigned, unsigned short, unsigned, unsigned)) \
	X(cuMemsetD2D32, (unsigned, unsigned, unsigned, unsigned, unsigned)) \
	X(cuMemHostGetDevicePointer, (unsigned *, void *, unsigned)) \
	X(cuMemHostGetDevicePointer_v2, (CUdeviceptr *, void *, unsigned)) \
	X(cuMemAllocHost, (void **, unsigned)) X(cuMemFreeHost, (void *)) \
	X(cuMemHostRegister, (void *, size_t, unsigned)) X(cuMemHostUnregister, (void *)) \
	X(cuPointerGetAttribute, (void *, int, CUdeviceptr)) \
	X(cuPointerGetAttributes, (unsigned, int *, void **, CUdeviceptr)) \
	X(cuPointerSetAttribute, (const void *, int, CUdeviceptr)) \
	X(cuGetProcAddress_v2, (const char *, void **, int, unsigned long long, int *)) \
	X(cuMemPoolCreate, (H *, const struct poolprops *)) X(cuMemPoolDestroy, (H)) \
	X(cuMemPoolSetAccess, (H, const struct accessdesc *, size_t)) \
	X(cuMemPoolGetAccess, (int *, H, const struct memloc *)) \
	X(cuMemAllocFromPoolAsync, (CUdeviceptr *, size_t, H, H)) \
	X(cuMemAllocFromPoolAsync_ptsz, (CUdeviceptr *, size_t, H, H)) \
	X(cuMemAllocAsync, (CUdeviceptr *, size_t, H)) X(cuMemFreeAsync, (CUdeviceptr, H)) \
	X(cuDeviceSetMemPool, (int, H)) X(cuDeviceGetMemPool, (H *, int)) X(cuDeviceGetDefaultMemPool, (H *, int)) \
	X(cuMemPoolGetAttribute, (H, int, void *)) \
	X(cuMemAllocManaged, (CUdeviceptr *, size_t, unsigned)) \
	X(cuMemAdvise, (CUdeviceptr, size_t, int, int)) X(cuMemAdvise_v2, (CUdeviceptr, size_t, int, struct memloc)) \
	X(cuMemPrefetchAsync, (CUdeviceptr, size_t, int, H)) X(cuMemPrefetchAsync_ptsz, (CUdeviceptr, size_t, int, H)) \
	X(cuMemPrefetchAsync_v2, (CUdeviceptr, size_t, struct memloc, unsigned, H)) \
	X(cuMemPrefetchAsync_v2_ptsz, (CUdeviceptr, size_t, struct memloc, unsigned, H)) \
	X(cuMemRangeGetAttribute, (void *, size_t, int, CUdeviceptr, size_t)) \
	X(cuMemRangeGetAttributes, (void **, size_t *, int *, size_t, CUdeviceptr, size_t)) \
	X(cuStreamAttachMemAsync, (H, CUdeviceptr, size_t, unsigned)) \
	X(cuStreamAttachMemAsync_ptsz, (H, CUdeviceptr, size_t, unsigned)) \
	X(cuStreamCreate, (H *, unsigned)) X(cuStreamDestroy_v2, (H)) \
	X(cuMemCreate, (unsigned long long *, size_t, const void *, unsigned long long)) \
	X(cuMemRelease, (unsigned long long)) \
	X(cuMemAddressReserve, (CUdeviceptr *, size_t, size_t, CUdeviceptr, unsigned long long)) \
	X(cuMemAddressFree, (CUdeviceptr, size_t)) \
	X(cuMemMap, (CUdeviceptr, size_t, size_t, unsigned long long, unsigned long long)) \
	X(cuMemUnmap, (CUdeviceptr, size_t)) \
	X(cuMemGetAllocationPropertiesFromHandle, (void *, unsigned long long)) \
	X(cuMemRetainAllocationHandle, (unsigned long long *, void *))

#define DECL(name, args) static CUresult (*name) args;
FNS(DECL)
static int (*rtPointerGetAttributes)(struct ptrattrs *, const void *);
static int (*rtMalloc)(void **, size_t);
static int (*rtFree)(void *);
static int (*rtMemPoolCreate)(H *, const struct poolprops *);
static int (*rtMemPoolDestroy)(H);
static int (*rtMemPoolSetAccess)(H, const struct accessdesc *, size_t);
static int (*rtMemPoolGetAccess)(int *, H, const struct memloc *);
static int (*rtMallocFromPoolAsync)(void **, size_t, H, H);
static int (*rtFreeAsync)(void *, H);
static int (*rtDeviceSetMemPool)(int, H);
static int (*rtDeviceGetMemPool)(H *, int);
static int (*rtMallocManaged)(void **, size_t, unsigned);
static int (*rtMemRangeGetAttribute)(void *, size_t, int, const void *, size_t);
static int (*rtPrefetchBatch)(void **, size_t *, size_t, struct memloc *, size_t *, size_t, unsigned long long, H);
static int (*rtPrefetchBatchPtsz)(void **, size_t *, size_t, struct memloc *, size_t *, size_t, unsigned long long, H);
static int (*rtDiscardBatch)(void **, size_t *, size_t, unsigned long long, H);
static int (*rtDiscardBatchPtsz)(void **, size_t *, size_t, unsigned long long, H);
static int (*rtDiscardPrefetchBatch)(void **, size_t *, size_t, struct memloc *, size_t *, size_t, unsigned long long, H);
static int (*rtDiscardPrefetchBatchPtsz)(void **, size_t *, size_t, struct memloc *, size_t *, size_t, unsigned long long, H);

static void *lib;
static int remote;

/* The un-suffixed names are the pre-3.2 ABI: served to old callers, never to new ones. */
static void test_proc_address(void) {
	const char *names[] = {"cuMemAlloc", "cuMemFree", "cuMemcpyHtoD", "cuMemsetD2D32", "cuMemGetAddressRange", "cuMemAllocHost"};
	for (unsigned i = 0; i < sizeof names / sizeof *names; i++) {
		char v2[64];
		snprintf(v2, sizeof v2, "%s_v2", names[i]);
		void *fn = NULL;
		int st = -1;
		EQ(cuGetProcAddress_v2(names[i], &fn, 2000, 0, &st), 0, "cuGetProcAddress at 2.0");
		CHECK(fn == dlsym(lib, names[i]), "%s at 2.0 is the legacy symbol", names[i]);
		EQ(cuGetProcAddress_v2(names[i], &fn, 12000, 0, &st), 0, "cuGetProcAddress at 12.0");
		CHECK(fn == dlsym(lib, v2) && fn != dlsym(lib, names[i]), "%s at 12.0 is %s", names[i], v2);
	}
}

/* An address or pitch that does not fit in 32 bits is never handed out truncated: the
 * allocation fails with OUT_OF_MEMORY and nothing stays allocated. Fills and copies through a
 * 32-bit address name no allocation of this client: INVALID_VALUE. */
static void test_legacy(void) {
	size_t free0, free1, total;
	EQ(cuMemGetInfo_v2(&free0, &total), 0, "cuMemGetInfo");
	unsigned p = 0, pitch = 0, base = 0, size = 0;
	CUresult r = cuMemAlloc(&p, 1 << 20);
	if (r == 0) {
		CHECK(p != 0, "a 32-bit address");
		EQ(cuMemGetAddressRange(&base, &size, p + 16), 0, "range of the legacy allocation");
		EQ(base, p, "base");
		EQ(cuMemFree(p), 0, "cuMemFree");
	} else {
		EQ(r, 2, "cuMemAlloc of an address above 4 GiB");
		EQ(p, 0, "nothing written out");
	}
	r = cuMemAllocPitch(&p, &pitch, 100, 10, 4);
	if (r == 0)
		EQ(cuMemFree(p), 0, "cuMemFree of the pitched allocation");
	else
		EQ(r, 2, "cuMemAllocPitch of an address above 4 GiB");
	EQ(cuMemAllocPitch(&p, &pitch, 100, 10, 3), 1, "element size 3 (the _v2 checks)");
	EQ(cuMemAlloc(NULL, 16), 1, "cuMemAlloc(NULL)");
	EQ(cuMemGetInfo_v2(&free1, &total), 0, "cuMemGetInfo");
	EQ(free1, free0, "nothing stays allocated");
	unsigned char buf[64] = {0};
	const unsigned wild = 0x1000;
	EQ(cuMemsetD8(wild, 1, 16), 1, "cuMemsetD8 at a 32-bit address");
	EQ(cuMemsetD16(wild, 1, 16), 1, "cuMemsetD16");
	EQ(cuMemsetD32(wild, 1, 16), 1, "cuMemsetD32");
	EQ(cuMemsetD2D8(wild, 64, 1, 16, 2), 1, "cuMemsetD2D8");
	EQ(cuMemsetD2D16(wild, 64, 1, 16, 2), 1, "cuMemsetD2D16");
	EQ(cuMemsetD2D32(wild, 64, 1, 16, 2), 1, "cuMemsetD2D32");
	EQ(cuMemcpyHtoD(wild, buf, 16), 1, "cuMemcpyHtoD");
	EQ(cuMemcpyDtoH(buf, wild, 16), 1, "cuMemcpyDtoH");
	EQ(cuMemcpyDtoD(wild, wild + 64, 16), 1, "cuMemcpyDtoD");
	/* A remote client posts stream-ordered work and learns of its failure at the next
	 * synchronisation, as a real GPU reports errors of asynchronous work. */
	r = cuMemcpyDtoDAsync(wild, wild + 64, 16, NULL);
	CHECK(r == 1 || (remote && r == 0), "cuMemcpyDtoDAsync: %d", r);
	if (r == 0) { CUresult s_ = cuCtxSynchronize(); CHECK(s_ == 1, "the deferred error: %d", s_); }
	/* (A remote client's posted upload of a few bytes does not report its failure at the next
	 * cuCtxSynchronize today: the same for cuMemcpyHtoDAsync_v2, left to the copy path.) */
	r = cuMemcpyHtoDAsync(wild, buf, 16, NULL);
	CHECK(r == 1 || (remote && r == 0), "cuMemcpyHtoDAsync: %d", r);
	cuCtxSynchronize();
	EQ(cuMemcpyDtoHAsync(buf, wild, 16, NULL), 1, "cuMemcpyDtoHAsync");
	EQ(cuMemGetAddressRange(&base, &size, wild), 500, "cuMemGetAddressRange: CUDA_ERROR_NOT_FOUND");
	EQ(cuMemFree(0), 0, "cuMemFree(0)");

	/* The host calls: a full-width host pointer, a 32-bit size. */
	void *h = NULL;
	EQ(cuMemAllocHost(&h, 4096), 0, "cuMemAllocHost");
	CHECK(h != NULL, "a host pointer");
	unsigned d32 = 0;
	CUdeviceptr d64 = 0;
	EQ(cuMemHostGetDevicePointer_v2(&d64, h, 0), 0, "cuMemHostGetDevicePointer_v2");
	EQ(cuMemHostGetDevicePointer(&d32, h, 0), (uintptr_t)h <= 0xffffffffu ? 0 : 1, "the legacy form: a 64-bit host address does not fit");
	if (h) memset(h, 0x5a, 4096);
	EQ(cuMemFreeHost(h), 0, "cuMemFreeHost");
	static char page[8192] __attribute__((aligned(4096)));
	EQ(cuMemHostRegister(page, 4096, 0), 0, "cuMemHostRegister (the first ABI)");
	EQ(cuMemHostGetDevicePointer_v2(&d64, page, 0), 0, "registered memory has a device address");
	EQ(d64, (uintptr_t)page, "the host address (unified addressing)");
	EQ(cuMemHostUnregister(page), 0, "cuMemHostUnregister");
	EQ(cuMemHostGetDevicePointer_v2(&d64, page, 0), 1, "no longer registered");
}

/* Attributes of device, host and unknown memory; a 4-byte attribute writes 4 bytes. */
static void test_pointer_attributes(void) {
	CUdeviceptr d = 0;
	const size_t n = 1 << 20;
	EQ(cuMemAlloc_v2(&d, n), 0, "cuMemAlloc_v2");
	struct { unsigned v, canary; } t = {0, 0xdeadbeef};
	EQ(cuPointerGetAttribute(&t, 2, d + 100), 0, "MEMORY_TYPE of device memory");
	EQ(t.v, 2, "CU_MEMORYTYPE_DEVICE");
	EQ(t.canary, 0xdeadbeef, "the value's 4 bytes only");
	CUdeviceptr start = 0, size = 0;
	EQ(cuPointerGetAttribute(&start, 11, d + 100), 0, "RANGE_START_ADDR");
	EQ(start, d, "range start");
	int attrs[4] = {2, 11, 12, 9};
	unsigned type = 0;
	int ordinal = -1;
	void *slots[4] = {&type, &start, &size, &ordinal};
	start = 0;
	EQ(cuPointerGetAttributes(4, attrs, slots, d + 4096), 0, "cuPointerGetAttributes");
	EQ(type, 2, "type");
	EQ(start, d, "start");
	EQ(size, n, "size");
	EQ(ordinal, 0, "device ordinal");
	EQ(cuPointerGetAttributes(0, attrs, slots, d), 1, "no attributes");
	EQ(cuPointerGetAttributes(4, attrs, NULL, d), 1, "no slots");

	unsigned one = 1, got = 7;
	EQ(cuPointerGetAttribute(&got, 6, d), 0, "SYNC_MEMOPS before it is set");
	EQ(got, 0, "unset");
	EQ(cuPointerSetAttribute(&one, 6, d + 8), 0, "cuPointerSetAttribute SYNC_MEMOPS");
	EQ(cuPointerGetAttribute(&got, 6, d), 0, "SYNC_MEMOPS");
	EQ(got, 1, "set");
	EQ(cuPointerSetAttribute(&one, 2, d), 1, "MEMORY_TYPE cannot be set");
	EQ(cuPointerSetAttribute(NULL, 6, d), 1, "no value");
	EQ(cuPointerSetAttribute(&one, 6, 0x1000), 1, "unknown memory");

	/* Host memory this process allocated: known to the caller's side, remote or not. */
	void *h = NULL;
	EQ(cuMemAllocHost(&h, 8192), 0, "cuMemAllocHost");
	t.v = 0;
	EQ(cuPointerGetAttribute(&t, 2, (uintptr_t)h + 8), 0, "MEMORY_TYPE of pinned host memory");
	EQ(t.v, 1, "CU_MEMORYTYPE_HOST");
	EQ(t.canary, 0xdeadbeef, "the value's 4 bytes only");
	EQ(cuPointerSetAttribute(&one, 6, (uintptr_t)h), 0, "SYNC_MEMOPS on pinned host memory");

	/* Unknown memory: INVALID_VALUE from the driver, "unregistered" from the runtime. */
	static int stack_like;
	EQ(cuPointerGetAttribute(&t, 2, (uintptr_t)&stack_like), 1, "MEMORY_TYPE of memory CUDA does not know");

	struct ptrattrs a;
	memset(&a, 0x77, sizeof a);
	EQ(rtPointerGetAttributes(&a, (void *)(uintptr_t)d), 0, "cudaPointerGetAttributes of device memory");
	EQ(a.type, 2, "cudaMemoryTypeDevice");
	EQ(a.device, 0, "device");
	CHECK(a.devicePointer == (void *)(uintptr_t)d, "device pointer");
	EQ(rtPointerGetAttributes(&a, h), 0, "cudaPointerGetAttributes of pinned host memory");
	EQ(a.type, 1, "cudaMemoryTypeHost");
	CHECK(a.hostPointer == h, "host pointer");
	EQ(rtPointerGetAttributes(&a, &stack_like), 0, "cudaPointerGetAttributes of unknown memory");
	EQ(a.type, 0, "cudaMemoryTypeUnregistered");
	CHECK(a.hostPointer == &stack_like, "its own address as the host pointer");
	EQ(rtPointerGetAttributes(NULL, h), 1, "no attributes");
	void *rd = NULL;
	EQ(rtMalloc(&rd, 4096), 0, "cudaMalloc");
	EQ(rtPointerGetAttributes(&a, (char *)rd + 64), 0, "cudaPointerGetAttributes inside a cudaMalloc");
	EQ(a.type, 2, "device");
	EQ(rtFree(rd), 0, "cudaFree");

	EQ(cuMemFreeHost(h), 0, "cuMemFreeHost");
	EQ(cuMemFree_v2(d), 0, "cuMemFree_v2");
	EQ(cuPointerGetAttribute(&t, 2, d), 1, "freed memory is unknown");
}

static unsigned long long used_of(H pool) {
	unsigned long long v = ~0ull;
	EQ(cuMemPoolGetAttribute(pool, 7, &v), 0, "USED_MEM_CURRENT");
	return v;
}

/* Pools a program creates: allocation from them within their maximum size, the current pool
 * cuMemAllocAsync draws from, access descriptors, destruction; the runtime's forms alike. */
static void test_pools(void) {
	struct poolprops pr;
	memset(&pr, 0, sizeof pr);
	pr.allocType = 1; pr.location.type = 1; pr.location.id = 0;
	H pool = NULL, small = NULL, dflt = NULL, cur = NULL;
	EQ(cuMemPoolCreate(&pool, &pr), 0, "cuMemPoolCreate");
	CHECK(pool != NULL, "a pool handle");
	EQ(cuDeviceGetDefaultMemPool(&dflt, 0), 0, "cuDeviceGetDefaultMemPool");
	CHECK(pool != dflt, "a pool of its own");
	struct poolprops bad = pr;
	bad.allocType = 0;
	EQ(cuMemPoolCreate(&small, &bad), 1, "allocation type invalid");
	bad = pr; bad.handleTypes = 8;
	EQ(cuMemPoolCreate(&small, &bad), 801, "fabric handles: not supported");
	bad = pr; bad.location.type = 2;
	EQ(cuMemPoolCreate(&small, &bad), 801, "a host pool: not supported");
	bad = pr; bad.location.id = 99;
	EQ(cuMemPoolCreate(&small, &bad), 1, "no such device: invalid value, as NVIDIA answers");
	EQ(cuMemPoolCreate(&small, NULL), 1, "no properties");

	CUdeviceptr d = 0;
	EQ(cuMemAllocFromPoolAsync(&d, 1 << 20, pool, NULL), 0, "cuMemAllocFromPoolAsync");
	EQ(used_of(pool), 1 << 20, "the pool's figures count it");
	EQ(used_of(dflt), 0, "the default pool's do not");
	EQ(cuMemFreeAsync(d, NULL), 0, "cuMemFreeAsync");
	EQ(cuCtxSynchronize(), 0, "sync");
	EQ(used_of(pool), 0, "returned to its pool");
	EQ(cuMemAllocFromPoolAsync_ptsz(&d, 4096, pool, NULL), 0, "cuMemAllocFromPoolAsync_ptsz");
	EQ(cuMemFreeAsync(d, NULL), 0, "cuMemFreeAsync");
	EQ(cuMemAllocFromPoolAsync(&d, 0, pool, NULL), 1, "zero bytes");
	EQ(cuMemAllocFromPoolAsync(&d, 16, (H)0x1234, NULL), 1, "a wild pool");

	pr.maxSize = 2 << 20;
	EQ(cuMemPoolCreate(&small, &pr), 0, "a pool of at most 2 MiB");
	EQ(cuMemAllocFromPoolAsync(&d, 3 << 20, small, NULL), 2, "beyond its maximum size: out of memory");
	EQ(cuMemAllocFromPoolAsync(&d, 1 << 20, small, NULL), 0, "within it");
	CUdeviceptr d2 = 0;
	EQ(cuMemAllocFromPoolAsync(&d2, 3 << 19, small, NULL), 2, "the sum beyond it");
	EQ(cuMemFreeAsync(d, NULL), 0, "cuMemFreeAsync");

	EQ(cuDeviceSetMemPool(0, pool), 0, "cuDeviceSetMemPool");
	EQ(cuDeviceGetMemPool(&cur, 0), 0, "cuDeviceGetMemPool");
	CHECK(cur == pool, "the current pool is the one set");
	EQ(cuMemAllocAsync(&d, 1 << 16, NULL), 0, "cuMemAllocAsync");
	EQ(used_of(pool), 1 << 16, "drawn from the current pool");
	EQ(cuMemFreeAsync(d, NULL), 0, "cuMemFreeAsync");
	EQ(cuDeviceSetMemPool(5, pool), 1, "no such device: invalid value, as NVIDIA answers");

	struct accessdesc ad = {{1, 0}, 3};
	EQ(cuMemPoolSetAccess(pool, &ad, 1), 0, "read-write for its own device");
	ad.flags = 0;
	EQ(cuMemPoolSetAccess(pool, &ad, 1), 1, "its own device cannot lose access");
	ad.flags = 3; ad.location.id = 42;
	EQ(cuMemPoolSetAccess(pool, &ad, 1), 1, "no such device");
	EQ(cuMemPoolSetAccess(pool, &ad, 0), 1, "no descriptors");
	int flags = -1;
	struct memloc here = {1, 0};
	EQ(cuMemPoolGetAccess(&flags, pool, &here), 0, "cuMemPoolGetAccess");
	EQ(flags, 3, "CU_MEM_ACCESS_FLAGS_PROT_READWRITE");

	EQ(cuMemPoolDestroy(dflt), 1, "a default pool cannot be destroyed");
	EQ(cuMemPoolDestroy(pool), 0, "cuMemPoolDestroy");
	EQ(cuDeviceGetMemPool(&cur, 0), 0, "cuDeviceGetMemPool");
	CHECK(cur == dflt, "the default pool is current again");
	EQ(cuMemPoolDestroy(pool), 1, "destroyed already");
	EQ(cuMemAllocFromPoolAsync(&d, 16, pool, NULL), 1, "from a destroyed pool");
	EQ(cuMemPoolDestroy(small), 0, "cuMemPoolDestroy");

	/* The runtime's forms. */
	H rp = NULL, rc = NULL;
	pr.maxSize = 0;
	EQ(rtMemPoolCreate(&rp, &pr), 0, "cudaMemPoolCreate");
	void *p = NULL;
	EQ(rtMallocFromPoolAsync(&p, 1 << 20, rp, NULL), 0, "cudaMallocFromPoolAsync from a created pool");
	EQ(used_of(rp), 1 << 20, "counted in it");
	EQ(rtFreeAsync(p, NULL), 0, "cudaFreeAsync");
	EQ(rtDeviceSetMemPool(0, rp), 0, "cudaDeviceSetMemPool");
	EQ(rtDeviceGetMemPool(&rc, 0), 0, "cudaDeviceGetMemPool");
	CHECK(rc == rp, "the runtime sees the current pool");
	ad.location.id = 0; ad.flags = 3;
	EQ(rtMemPoolSetAccess(rp, &ad, 1), 0, "cudaMemPoolSetAccess");
	EQ(rtMemPoolGetAccess(&flags, rp, &here), 0, "cudaMemPoolGetAccess");
	EQ(flags, 3, "read-write");
	EQ(rtMemPoolDestroy(rp), 0, "cudaMemPoolDestroy");
	EQ(rtMemPoolDestroy(rp), 1, "destroyed already");
	EQ(rtDeviceGetMemPool(&rc, 0), 0, "cudaDeviceGetMemPool");
	CHECK(rc == dflt, "the default pool again");
}

static int range_attr(CUdeviceptr p, size_t n, int attr) {
	int v = -99;
	EQ(cuMemRangeGetAttribute(&v, 4, attr, p, n), 0, "cuMemRangeGetAttribute");
	return v;
}

/* Managed memory through the driver: advice and prefetches are what the range attributes
 * report (READ_MOSTLY 1, PREFERRED_LOCATION 2, LAST_PREFETCH_LOCATION 4; CU_DEVICE_CPU -1,
 * CU_DEVICE_INVALID -2), the same records the runtime keeps; stream attachment is checked. */
static void test_managed(void) {
	CUdeviceptr m = 0, d = 0;
	const size_t n = 1 << 16;
	EQ(cuMemAllocManaged(&m, n, 1), 0, "cuMemAllocManaged");
	EQ(cuMemAlloc_v2(&d, 4096), 0, "cuMemAlloc_v2");
	EQ(range_attr(m, n, 1), 0, "not read-mostly yet");
	EQ(cuMemAdvise(m, n, 1, 0), 0, "cuMemAdvise SET_READ_MOSTLY");
	EQ(range_attr(m, n, 1), 1, "read-mostly");
	EQ(cuMemAdvise(m, 4096, 2, 0), 0, "UNSET_READ_MOSTLY on the first page");
	EQ(range_attr(m, n, 1), 0, "not all of it read-mostly");
	EQ(range_attr(m + 8192, 4096, 1), 1, "the rest still is");
	struct memloc dev0 = {1, 0}, host = {2, 0}, nodev = {1, 9};
	EQ(cuMemAdvise_v2(m, n, 3, dev0), 0, "cuMemAdvise_v2 SET_PREFERRED_LOCATION device 0");
	EQ(range_attr(m, n, 2), 0, "preferred: device 0");
	EQ(cuMemAdvise(m, n, 3, -1), 0, "SET_PREFERRED_LOCATION the host");
	EQ(range_attr(m, n, 2), -1, "preferred: CU_DEVICE_CPU");
	EQ(cuMemAdvise_v2(m, n, 3, nodev), 101, "no such device");
	EQ(cuMemAdvise(m, n, 42, 0), 1, "no such advice");
	EQ(cuMemAdvise(d, 64, 1, 0), 1, "device memory is not managed");
	EQ(cuMemAdvise(m, n + 1, 1, 0), 1, "past the allocation");

	EQ(range_attr(m, n, 4), -2, "never prefetched: CU_DEVICE_INVALID");
	EQ(cuMemPrefetchAsync_v2(m, n, host, 0, NULL), 0, "cuMemPrefetchAsync_v2 to the host");
	EQ(range_attr(m, n, 4), -1, "last prefetched to the host");
	EQ(cuMemPrefetchAsync(m, 4096, 0, NULL), 0, "cuMemPrefetchAsync of a page to device 0");
	EQ(range_attr(m, 4096, 4), 0, "that page: device 0");
	EQ(range_attr(m, n, 4), -2, "the whole range disagrees");
	EQ(cuMemPrefetchAsync_ptsz(m, n, 0, NULL), 0, "cuMemPrefetchAsync_ptsz");
	EQ(cuMemPrefetchAsync_v2_ptsz(m, n, dev0, 0, NULL), 0, "cuMemPrefetchAsync_v2_ptsz");
	EQ(range_attr(m, n, 4), 0, "all of it on device 0");
	EQ(cuMemPrefetchAsync_v2(m, n, dev0, 1, NULL), 1, "no flags are defined");
	EQ(cuMemPrefetchAsync_v2(d, 64, dev0, 0, NULL), 1, "device memory is not managed");

	int rm = -1, pl = -1;
	void *data[2] = {&rm, &pl};
	size_t sizes[2] = {4, 4};
	int attrs[2] = {1, 4};
	EQ(cuMemRangeGetAttributes(data, sizes, attrs, 2, m + 8192, 4096), 0, "cuMemRangeGetAttributes");
	EQ(rm, 1, "read-mostly");
	EQ(pl, 0, "last prefetched to device 0");
	long long wide = 0;
	data[1] = &wide; sizes[1] = sizeof wide;
	EQ(cuMemRangeGetAttributes(data, sizes, attrs, 2, m, 4096), 1, "a size that is not the attribute's");
	EQ(cuMemRangeGetAttributes(data, sizes, attrs, 0, m, 4096), 1, "no attributes");
	EQ(cuMemRangeGetAttribute(&rm, 4, 1, d, 64), 1, "device memory is not managed");

	H s = NULL;
	EQ(cuStreamCreate(&s, 0), 0, "cuStreamCreate");
	EQ(cuStreamAttachMemAsync(s, m, 0, 4), 0, "cuStreamAttachMemAsync single");
	EQ(cuStreamAttachMemAsync(NULL, m, 0, 4), 1, "single on the default stream");
	EQ(cuStreamAttachMemAsync(NULL, m, 0, 1), 0, "global");
	EQ(cuStreamAttachMemAsync_ptsz(NULL, m, n, 2), 0, "cuStreamAttachMemAsync_ptsz host, whole length");
	EQ(cuStreamAttachMemAsync(s, m, 100, 1), 1, "a length that is not the allocation's");
	EQ(cuStreamAttachMemAsync(s, m + 64, 0, 1), 1, "not the allocation's start");
	EQ(cuStreamAttachMemAsync(s, d, 0, 1), 1, "device memory is not managed");
	EQ(cuStreamAttachMemAsync(s, m, 0, 3), 1, "no such flag");
	EQ(cuStreamDestroy_v2(s), 0, "cuStreamDestroy");
	EQ(cuMemFree_v2(m), 0, "cuMemFree_v2");
	EQ(cuMemFree_v2(d), 0, "cuMemFree_v2");
}

static int rt_last_prefetch(void *p, size_t n) {
	int v = -99;
	EQ(rtMemRangeGetAttribute(&v, 4, 4, p, n), 0, "cudaMemRangeGetAttribute LAST_PREFETCH_LOCATION");
	return v;
}

/* The runtime's batched prefetches and discards: location k serves the ranges from index
 * idxs[k] on. The locations array travels whole to a remote server, host entries first
 * included (cudaMemLocationTypeHost 2, cudaCpuDeviceId -1 as the answer). */
static void test_batches(void) {
	void *a = NULL, *b = NULL, *c = NULL;
	EQ(rtMallocManaged(&a, 8192, 1), 0, "cudaMallocManaged");
	EQ(rtMallocManaged(&b, 8192, 1), 0, "cudaMallocManaged");
	EQ(rtMallocManaged(&c, 8192, 1), 0, "cudaMallocManaged");
	void *ptrs[3] = {a, b, c};
	size_t sizes[3] = {8192, 4096, 8192};
	struct memloc locs[2] = {{2, 0}, {1, 0}};
	size_t idxs[2] = {0, 1};
	EQ(rtPrefetchBatch(ptrs, sizes, 3, locs, idxs, 2, 0, NULL), 0, "cudaMemPrefetchBatchAsync");
	EQ(rt_last_prefetch(a, 8192), -1, "the first range to the host");
	EQ(rt_last_prefetch(b, 4096), 0, "the second to device 0");
	EQ(rt_last_prefetch(c, 8192), 0, "the third too");
	struct memloc one[1] = {{2, 0}};
	EQ(rtPrefetchBatchPtsz(ptrs, sizes, 3, one, idxs, 1, 0, NULL), 0, "cudaMemPrefetchBatchAsync_ptsz");
	EQ(rt_last_prefetch(c, 8192), -1, "all to the host");
	size_t bad_idxs[2] = {1, 2};
	EQ(rtPrefetchBatch(ptrs, sizes, 3, locs, bad_idxs, 2, 0, NULL), 1, "the first location must start at range 0");
	size_t dup_idxs[2] = {0, 0};
	EQ(rtPrefetchBatch(ptrs, sizes, 3, locs, dup_idxs, 2, 0, NULL), 1, "indices must increase");
	EQ(rtPrefetchBatch(ptrs, sizes, 3, locs, idxs, 2, 1, NULL), 1, "no flags are defined");
	EQ(rtPrefetchBatch(ptrs, sizes, 0, locs, idxs, 2, 0, NULL), 1, "no ranges");
	EQ(rtPrefetchBatch(ptrs, sizes, 3, locs, idxs, 4, 0, NULL), 1, "more locations than ranges");
	struct memloc nodev[1] = {{1, 9}};
	EQ(rtPrefetchBatch(ptrs, sizes, 3, nodev, idxs, 1, 0, NULL), 101, "no such device");
	size_t too_big[3] = {8192, 4096, 8193};
	EQ(rtPrefetchBatch(ptrs, too_big, 3, locs, idxs, 2, 0, NULL), 1, "a range past its allocation");
	EQ(rt_last_prefetch(a, 8192), -1, "a failed batch records nothing");

	EQ(rtDiscardBatch(ptrs, sizes, 2, 0, NULL), 0, "cudaMemDiscardBatchAsync");
	EQ(rt_last_prefetch(a, 8192), -2, "a discarded range was prefetched nowhere");
	EQ(rt_last_prefetch(c, 8192), -1, "the third was not in the batch");
	EQ(rtDiscardBatchPtsz(ptrs, sizes, 3, 0, NULL), 0, "cudaMemDiscardBatchAsync_ptsz");
	EQ(rtDiscardBatch(ptrs, sizes, 3, 2, NULL), 1, "no flags are defined");
	EQ(rtDiscardPrefetchBatch(ptrs, sizes, 3, locs, idxs, 2, 0, NULL), 0, "cudaMemDiscardAndPrefetchBatchAsync");
	EQ(rt_last_prefetch(a, 8192), -1, "discarded, then to the host");
	EQ(rt_last_prefetch(c, 8192), 0, "discarded, then to device 0");
	EQ(rtDiscardPrefetchBatchPtsz(ptrs, sizes, 3, one, idxs, 1, 0, NULL), 0, "cudaMemDiscardAndPrefetchBatchAsync_ptsz");
	EQ(rt_last_prefetch(c, 8192), -1, "to the host");
	void *dev = NULL;
	EQ(rtMalloc(&dev, 4096), 0, "cudaMalloc");
	void *mixed[1] = {dev};
	EQ(rtDiscardBatch(mixed, sizes + 1, 1, 0, NULL), 1, "device memory is not managed");
	rtFree(dev); rtFree(a); rtFree(b); rtFree(c);
}

/* The VMM family's handle queries: the handle behind a mapped address is the one created,
 * with a reference of its own; the properties are those it was created with. */
static void test_vmm_handles(void) {
	struct { int type, handleTypes; struct memloc loc; void *win32; unsigned char flags[8]; } prop, got;
	memset(&prop, 0, sizeof prop);
	prop.type = 1; prop.loc.type = 1; prop.loc.id = 0;
	const size_t sz = 2 << 20;
	unsigned long long h = 0, h2 = 0, h3 = 0;
	CUdeviceptr va = 0;
	EQ(cuMemCreate(&h, sz, &prop, 0), 0, "cuMemCreate");
	memset(&got, 0x55, sizeof got);
	EQ(cuMemGetAllocationPropertiesFromHandle(&got, h), 0, "cuMemGetAllocationPropertiesFromHandle");
	EQ(got.type, 1, "pinned");
	EQ(got.loc.type, 1, "a device location");
	EQ(got.loc.id, 0, "device 0");
	EQ(cuMemGetAllocationPropertiesFromHandle(&got, 0x1234), 1, "a wild handle");
	EQ(cuMemGetAllocationPropertiesFromHandle(NULL, h), 1, "no properties");
	EQ(cuMemAddressReserve(&va, 2 * sz, 0, 0, 0), 0, "cuMemAddressReserve");
	EQ(cuMemRetainAllocationHandle(&h2, (void *)(uintptr_t)va), 1, "nothing mapped there yet");
	EQ(cuMemMap(va, sz, 0, h, 0), 0, "cuMemMap");
	EQ(cuMemRetainAllocationHandle(&h2, (void *)(uintptr_t)(va + 100)), 0, "cuMemRetainAllocationHandle");
	EQ(h2, h, "the handle created");
	EQ(cuMemRetainAllocationHandle(&h2, (void *)(uintptr_t)(va + sz)), 1, "reserved but unmapped");
	EQ(cuMemRelease(h2), 0, "the retained reference");
	EQ(cuMemRelease(h), 0, "the creation's reference");
	EQ(cuMemRelease(h), 1, "no reference left");
	EQ(cuMemRetainAllocationHandle(&h3, (void *)(uintptr_t)va), 0, "still mapped: retained again");
	EQ(cuMemGetAllocationPropertiesFromHandle(&got, h3), 0, "the retained handle is good");
	EQ(cuMemRelease(h3), 0, "cuMemRelease");
	EQ(cuMemUnmap(va, sz), 0, "cuMemUnmap");
	EQ(cuMemAddressFree(va, 2 * sz), 0, "cuMemAddressFree");
}

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) { fprintf(stderr, "usage: memmisc LIBDIR [label]\n"); return 2; }
	char path[4096];
	snprintf(path, sizeof path, "%s/libcuda.so.1", argv[1]);
	lib = dlopen(path, RTLD_NOW);
	if (!lib) { printf("memmisc: FAIL: %s\n", dlerror()); return 1; }
#define LOAD(name, args) if (!(name = (CUresult(*) args)dlsym(lib, #name))) { printf("memmisc: FAIL: %s not exported\n", #name); return 1; }
	FNS(LOAD)
	snprintf(path, sizeof path, "%s/libcudart.so.13", argv[1]);
	void *rt = dlopen(path, RTLD_NOW);
	if (!rt) { printf("memmisc: FAIL: %s\n", dlerror()); return 1; }
	rtPointerGetAttributes = (int (*)(struct ptrattrs *, const void *))dlsym(rt, "cudaPointerGetAttributes");
	rtMalloc = (int (*)(void **, size_t))dlsym(rt, "cudaMalloc");
	rtFree = (int (*)(void *))dlsym(rt, "cudaFree");
#define RT(v, name) v = (__typeof__(v))dlsym(rt, name); if (!v) { printf("memmisc: FAIL: %s not exported\n", name); return 1; }
	RT(rtMemPoolCreate, "cudaMemPoolCreate") RT(rtMemPoolDestroy, "cudaMemPoolDestroy")
	RT(rtMemPoolSetAccess, "cudaMemPoolSetAccess") RT(rtMemPoolGetAccess, "cudaMemPoolGetAccess")
	RT(rtMallocFromPoolAsync, "cudaMallocFromPoolAsync") RT(rtFreeAsync, "cudaFreeAsync")
	RT(rtDeviceSetMemPool, "cudaDeviceSetMemPool") RT(rtDeviceGetMemPool, "cudaDeviceGetMemPool")
	RT(rtMallocManaged, "cudaMallocManaged") RT(rtMemRangeGetAttribute, "cudaMemRangeGetAttribute")
	RT(rtPrefetchBatch, "cudaMemPrefetchBatchAsync") RT(rtPrefetchBatchPtsz, "cudaMemPrefetchBatchAsync_ptsz")
	RT(rtDiscardBatch, "cudaMemDiscardBatchAsync") RT(rtDiscardBatchPtsz, "cudaMemDiscardBatchAsync_ptsz")
	RT(rtDiscardPrefetchBatch, "cudaMemDiscardAndPrefetchBatchAsync")
	RT(rtDiscardPrefetchBatchPtsz, "cudaMemDiscardAndPrefetchBatchAsync_ptsz")
	if (!rtPointerGetAttributes || !rtMalloc || !rtFree) { printf("memmisc: FAIL: runtime symbols\n"); return 1; }
	remote = argc > 2 && !strcmp(argv[2], "remote");
	H ctx = NULL;
	EQ(cuInit(0), 0, "cuInit");
	EQ(cuCtxCreate_v2(&ctx, 0, 0), 0, "cuCtxCreate");
	test_proc_address();
	test_legacy();
	test_pointer_attributes();
	test_pools();
	test_managed();
	test_batches();
	test_vmm_handles();
	EQ(cuCtxDestroy_v2(ctx), 0, "cuCtxDestroy");
	printf("%s: memmisc %s: %d checks, %d failures\n", failures ? "FAIL" : "PASS", argc > 2 ? argv[2] : "", checks, failures);
	return failures != 0;
}
