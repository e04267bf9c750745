/* The sim's answers where tests/programs showed NVIDIA's (H200, CUDA 13, driver 580) differ:
 * host memory flags, pools of a device that does not exist, in-place changes of executable
 * graphs, stream-ordered allocation captured into graph nodes. Run in-process (sim) and as a
 * remote client of a sim server: the same rules.
 *   simparity LIBDIR [label]
 * Status values are NVIDIA's documented numbers: 0 success, 1 invalid value,
 * 910 graph exec update failure; node types: 2 memset, 3 host, 7 event record,
 * 10 memory allocation, 11 memory free. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int err_t;
static int failures, checks;
#define CHECK(c, ...) do { checks++; if (!(c)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)
#define EQ(got, want, what) do { long long g_ = (long long)(got), w_ = (long long)(want); CHECK(g_ == w_, "%s: got %lld, want %lld", what, g_, w_); } while (0)

/* cudaMemsetParams: dst, pitch, value, elementSize, width, height. */
struct memsetp { void *dst; size_t pitch; unsigned value, elementSize; size_t width, height; };
/* cudaGraphExecUpdateResultInfo: result, errorNode, errorFromNode. */
struct updinfo { int result; void *errorNode, *errorFromNode; };

#define FNS(X) \
	X(err_t, cudaGetLastError, (void)) X(err_t, cudaMalloc, (void **, size_t)) X(err_t, cudaFree, (void *)) \
	X(err_t, cudaHostRegister, (void *, size_t, unsigned)) X(err_t, cudaHostUnregister, (void *)) \
	X(err_t, cudaHostGetFlags, (unsigned *, void *)) X(err_t, cudaHostAlloc, (void **, size_t, unsigned)) \
	X(err_t, cudaMallocHost, (void **, size_t)) X(err_t, cudaFreeHost, (void *)) \
	X(err_t, cudaMemPoolCreate, (void **, const void *)) X(err_t, cudaMemPoolDestroy, (void *)) \
	X(err_t, cudaDeviceGetDefaultMemPool, (void **, int)) X(err_t, cudaDeviceSetMemPool, (int, void *)) \
	X(err_t, cudaGraphCreate, (void **, unsigned)) X(err_t, cudaGraphDestroy, (void *)) \
	X(err_t, cudaGraphAddMemsetNode, (void **, void *, void **, size_t, const struct memsetp *)) \
	X(err_t, cudaGraphAddEmptyNode, (void **, void *, void **, size_t)) \
	X(err_t, cudaGraphInstantiate, (void **, void *, unsigned long long)) X(err_t, cudaGraphExecDestroy, (void *)) \
	X(err_t, cudaGraphExecMemsetNodeSetParams, (void *, void *, const struct memsetp *)) \
	X(err_t, cudaGraphExecUpdate, (void *, void *, struct updinfo *)) \
	X(err_t, cudaGraphLaunch, (void *, void *)) X(err_t, cudaGraphGetNodes, (void *, void **, size_t *)) \
	X(err_t, cudaGraphNodeGetType, (void *, int *)) \
	X(err_t, cudaGraphMemAllocNodeGetParams, (void *, void *)) X(err_t, cudaGraphMemFreeNodeGetParams, (void *, void *)) \
	X(err_t, cudaMemcpy, (void *, const void *, size_t, int)) \
	X(err_t, cudaStreamCreateWithFlags, (void **, unsigned)) X(err_t, cudaStreamDestroy, (void *)) \
	X(err_t, cudaStreamSynchronize, (void *)) \
	X(err_t, cudaStreamBeginCapture, (void *, int)) X(err_t, cudaStreamEndCapture, (void *, void **)) \
	X(err_t, cudaEventCreateWithFlags, (void **, unsigned)) X(err_t, cudaEventDestroy, (void *)) \
	X(err_t, cudaEventRecord, (void *, void *)) X(err_t, cudaStreamWaitEvent, (void *, void *, unsigned)) \
	X(err_t, cudaMallocAsync, (void **, size_t, void *)) X(err_t, cudaFreeAsync, (void *, void *)) \
	X(err_t, cudaMemsetAsync, (void *, int, size_t, void *)) \
	X(err_t, cudaMemcpyAsync, (void *, const void *, size_t, int, void *)) \
	X(err_t, cudaLaunchHostFunc, (void *, void (*)(void *), void *)) \
	X(err_t, cuInit, (unsigned)) X(err_t, cuMemHostRegister_v2, (void *, size_t, unsigned)) \
	X(err_t, cuMemHostUnregister, (void *)) X(err_t, cuMemPoolCreate, (void **, const void *)) \
	X(err_t, cuDeviceSetMemPool, (int, void *)) \
	X(err_t, cuMemcpyDtoHAsync_v2, (void *, unsigned long long, size_t, void *)) \
	X(err_t, cuPointerGetAttributes, (unsigned, int *, void **, unsigned long long)) \
	X(err_t, cuDevicePrimaryCtxRetain, (void **, int)) X(err_t, cuCtxSetCurrent, (void *))

#define DECL(r, n, a) static r(*p_##n) a;
FNS(DECL)

/* Host memory flags: registered memory reports the flags it was registered with, and every
 * pinned allocation on a device with unified addressing is mapped, so cudaHostAlloc's memory
 * reports cudaHostAllocMapped (2) too (native: write-combined 4 reads back 6). */
static void test_host_flags(void) {
	char *buf = NULL;
	unsigned f = 99;
	if (posix_memalign((void **)&buf, 4096, 8192) != 0) { CHECK(0, "posix_memalign"); return; }
	p_cudaGetLastError();
	EQ(p_cudaHostRegister(buf, 8192, 3), 0, "cudaHostRegister mapped|portable");
	EQ(p_cudaHostGetFlags(&f, buf), 0, "cudaHostGetFlags of registered memory");
	EQ(f, 3, "its registration flags");
	f = 99;
	EQ(p_cudaHostGetFlags(&f, buf + 5000), 0, "an address inside it");
	EQ(f, 3, "the same flags");
	EQ(p_cudaGetLastError(), 0, "no error left behind for the next launch check");
	EQ(p_cudaHostUnregister(buf), 0, "unregister");
	EQ(p_cudaHostGetFlags(&f, buf), 1, "unregistered memory: invalid value");
	EQ(p_cudaHostRegister(buf, 8192, 0), 0, "cudaHostRegister default");
	EQ(p_cudaHostGetFlags(&f, buf), 0, "cudaHostGetFlags");
	EQ(f, 2, "mapped (unified addressing)");
	EQ(p_cudaHostUnregister(buf), 0, "unregister");
	p_cudaGetLastError();
	free(buf);

	void *wc = NULL, *mp = NULL, *mh = NULL;
	EQ(p_cudaHostAlloc(&wc, 4096, 4), 0, "cudaHostAlloc write-combined");
	EQ(p_cudaHostGetFlags(&f, wc), 0, "cudaHostGetFlags");
	EQ(f, 6, "write-combined and mapped");
	EQ(p_cudaHostAlloc(&mp, 4096, 3), 0, "cudaHostAlloc mapped|portable");
	EQ(p_cudaHostGetFlags(&f, mp), 0, "cudaHostGetFlags");
	EQ(f, 3, "mapped|portable");
	EQ(p_cudaMallocHost(&mh, 64), 0, "cudaMallocHost");
	EQ(p_cudaHostGetFlags(&f, mh), 0, "cudaHostGetFlags");
	EQ(f, 2, "mapped");
	p_cudaFreeHost(wc); p_cudaFreeHost(mp); p_cudaFreeHost(mh);
}

/* The runtime answers a pool of a device that does not exist with an invalid value. */
static void test_pool_no_device(void) {
	unsigned char props[128];
	memset(props, 0, sizeof props);
	int one = 1, nodev = 4096;
	memcpy(props, &one, 4);         /* allocType pinned */
	memcpy(props + 8, &one, 4);     /* location type device */
	memcpy(props + 12, &nodev, 4);  /* location id */
	void *pool = NULL, *def = NULL;
	EQ(p_cudaMemPoolCreate(&pool, props), 1, "cudaMemPoolCreate on device 4096");
	EQ(p_cudaDeviceGetDefaultMemPool(&def, 0), 0, "default pool of device 0");
	EQ(p_cudaDeviceSetMemPool(4096, def), 1, "cudaDeviceSetMemPool of device 4096");
	EQ(p_cudaDeviceSetMemPool(99, def), 1, "cudaDeviceSetMemPool of device 99");
	p_cudaGetLastError();
	/* The driver answers so too (NVIDIA's static runtime hands its answers on). */
	EQ(p_cuMemPoolCreate(&pool, props), 1, "cuMemPoolCreate on device 4096");
	EQ(p_cuDeviceSetMemPool(4096, def), 1, "cuDeviceSetMemPool of device 4096");
}

/* cuMemHostRegister knows portable, device-map, I/O memory and read-only (0xf); any other
 * flag is an invalid value (NVIDIA's static runtime passes cudaHostRegister's flags on). */
static void test_driver_register_flags(void) {
	char *buf = NULL;
	if (posix_memalign((void **)&buf, 4096, 8192) != 0) { CHECK(0, "posix_memalign"); return; }
	EQ(p_cuMemHostRegister_v2(buf, 8192, 0x80), 1, "cuMemHostRegister with flag 0x80");
	EQ(p_cuMemHostRegister_v2(buf, 8192, 0x10), 1, "cuMemHostRegister with flag 0x10");
	EQ(p_cuMemHostRegister_v2(buf, 8192, 3), 0, "cuMemHostRegister portable|device-map");
	EQ(p_cuMemHostUnregister(buf), 0, "cuMemHostUnregister");
	free(buf);
}

static int g_calls;
static void count(void *arg) { (void)arg; g_calls++; }

/* An executable memset node takes a new value whatever it is (a zero fill and a 4-byte
 * pattern alike); an update from a graph with a node more fails as a changed topology. */
static void test_exec_graph_changes(void) {
	float *d = NULL;
	EQ(p_cudaMalloc((void **)&d, 1024 * sizeof(float)), 0, "cudaMalloc");
	void *g = NULL, *mset = NULL, *empty = NULL, *extra = NULL, *exec = NULL, *s = NULL;
	EQ(p_cudaStreamCreateWithFlags(&s, 1), 0, "stream");
	EQ(p_cudaGraphCreate(&g, 0), 0, "cudaGraphCreate");
	struct memsetp mp = {d, 0, 0, 4, 1024, 1};
	EQ(p_cudaGraphAddMemsetNode(&mset, g, NULL, 0, &mp), 0, "memset node of zeros");
	EQ(p_cudaGraphAddEmptyNode(&empty, g, &mset, 1), 0, "empty node");
	EQ(p_cudaGraphInstantiate(&exec, g, 0), 0, "instantiate");
	EQ(p_cudaGraphLaunch(exec, s), 0, "launch");
	struct memsetp mp1 = mp;
	mp1.value = 0x3f800000; /* 1.0f */
	EQ(p_cudaGraphExecMemsetNodeSetParams(exec, mset, &mp1), 0, "exec memset set-params to a 4-byte pattern");
	EQ(p_cudaGraphLaunch(exec, s), 0, "launch");
	EQ(p_cudaStreamSynchronize(s), 0, "sync");
	float got[2] = {0, 0};
	EQ(p_cudaMemcpy(got, d + 1022, sizeof got, 2), 0, "copy back");
	CHECK(got[0] == 1.0f && got[1] == 1.0f, "the new pattern was written: %g %g", got[0], got[1]);
	mp1.value = 0;
	EQ(p_cudaGraphExecMemsetNodeSetParams(exec, mset, &mp1), 0, "and back to zeros");

	struct updinfo info = {99, NULL, NULL};
	EQ(p_cudaGraphExecUpdate(exec, g, &info), 0, "update, same topology");
	EQ(info.result, 0, "update result success");
	EQ(p_cudaGraphAddEmptyNode(&extra, g, &empty, 1), 0, "a node more");
	info.result = 99;
	EQ(p_cudaGraphExecUpdate(exec, g, &info), 910, "update, topology changed");
	EQ(info.result, 2, "cudaGraphExecUpdateErrorTopologyChanged");
	p_cudaGetLastError();
	p_cudaGraphExecDestroy(exec);
	p_cudaGraphDestroy(g);
	p_cudaStreamDestroy(s);
	p_cudaFree(d);
}

/* cudaMallocAsync and cudaFreeAsync while capturing become memory allocation and free nodes
 * (the address is the node's, fixed at capture); the fork/join event records are edges, not
 * nodes; the graph replays, its host function each time. */
static void test_capture_stream_ordered_allocation(void) {
	void *s = NULL, *s2 = NULL, *fork = NULL, *join = NULL, *g = NULL, *exec = NULL, *d = NULL, *h = NULL;
	EQ(p_cudaMalloc(&d, 4096), 0, "cudaMalloc");
	EQ(p_cudaMallocHost(&h, 4096), 0, "cudaMallocHost");
	EQ(p_cudaStreamCreateWithFlags(&s, 1), 0, "stream");
	EQ(p_cudaStreamCreateWithFlags(&s2, 1), 0, "stream 2");
	EQ(p_cudaEventCreateWithFlags(&fork, 2), 0, "event");
	EQ(p_cudaEventCreateWithFlags(&join, 2), 0, "event");
	g_calls = 0;
	EQ(p_cudaStreamBeginCapture(s, 0), 0, "begin capture");
	EQ(p_cudaEventRecord(fork, s), 0, "fork record");
	EQ(p_cudaStreamWaitEvent(s2, fork, 0), 0, "fork wait");
	void *tmp = NULL;
	EQ(p_cudaMallocAsync(&tmp, 4096, s2), 0, "cudaMallocAsync while capturing");
	CHECK(tmp != NULL, "an address at capture");
	EQ(p_cudaMemsetAsync(tmp, 7, 4096, s2), 0, "memset of it");
	EQ(p_cudaMemcpyAsync(d, tmp, 4096, 3, s2), 0, "copy from it to device memory");
	EQ(p_cudaMemcpyAsync(tmp, d, 4096, 3, s2), 0, "and back");
	EQ(p_cudaFreeAsync(tmp, s2), 0, "cudaFreeAsync while capturing");
	EQ(p_cudaEventRecord(join, s2), 0, "join record");
	EQ(p_cudaStreamWaitEvent(s, join, 0), 0, "join wait");
	EQ(p_cudaMemcpyAsync(h, d, 4096, 2, s), 0, "device to pinned host memory");
	EQ(p_cuMemcpyDtoHAsync_v2(h, (unsigned long long)(size_t)d, 4096, s), 0, "the driver's form (NVIDIA's static runtime calls it)");
	EQ(p_cudaLaunchHostFunc(s, count, NULL), 0, "host function");
	EQ(p_cudaStreamEndCapture(s, &g), 0, "end capture");
	EQ(g_calls, 0, "the host function did not run during capture");

	void *nodes[16];
	size_t n = 16;
	EQ(p_cudaGraphGetNodes(g, nodes, &n), 0, "cudaGraphGetNodes");
	EQ(n, 8, "alloc, memset, 4 copies, free, host: the event records are no nodes");
	int by[16] = {0};
	unsigned char params[120];
	for (size_t i = 0; i < n && i < 16; i++) {
		int t = -1;
		EQ(p_cudaGraphNodeGetType(nodes[i], &t), 0, "cudaGraphNodeGetType");
		if (t >= 0 && t < 16) by[t]++;
		if (t == 10) {
			memset(params, 0, sizeof params);
			EQ(p_cudaGraphMemAllocNodeGetParams(nodes[i], params), 0, "alloc node params");
			void *dptr; size_t bytes;
			memcpy(&bytes, params + 104, 8); memcpy(&dptr, params + 112, 8);
			CHECK(dptr == tmp, "the alloc node's address is the one cudaMallocAsync gave");
			EQ(bytes, 4096, "its size");
		}
		if (t == 11) {
			void *dptr = NULL;
			EQ(p_cudaGraphMemFreeNodeGetParams(nodes[i], &dptr), 0, "free node params");
			CHECK(dptr == tmp, "the free node frees it");
		}
	}
	EQ(by[10], 1, "one memory allocation node");
	EQ(by[11], 1, "one memory free node");
	EQ(by[2], 1, "one memset node");
	EQ(by[1], 4, "four copy nodes");
	EQ(by[3], 1, "one host node");
	EQ(by[7], 0, "no event record node");
	EQ(p_cudaGraphInstantiate(&exec, g, 0), 0, "instantiate");
	for (int i = 0; i < 3; i++) EQ(p_cudaGraphLaunch(exec, s), 0, "replay");
	EQ(p_cudaStreamSynchronize(s), 0, "sync");
	EQ(g_calls, 3, "the host function ran at each replay");
	p_cudaGetLastError();
	p_cudaGraphExecDestroy(exec);
	p_cudaGraphDestroy(g);
	p_cudaEventDestroy(fork); p_cudaEventDestroy(join);
	p_cudaStreamDestroy(s); p_cudaStreamDestroy(s2);
	p_cudaFree(d); p_cudaFreeHost(h);
}

/* cuPointerGetAttributes of memory CUDA does not know succeeds with default values: NULL,
 * zero, and the invalid device (-2) as the ordinal, from which NVIDIA's runtime answers
 * cudaPointerGetAttributes with cudaMemoryTypeUnregistered. */
static void test_pointer_attributes_unknown(void) {
	static char plain[4096];
	int attrs[3] = {1, 2, 9}; /* context, memory type, device ordinal */
	void *ctx = (void *)0x1234;
	unsigned type = 77;
	int ord = 77;
	void *slots[3] = {&ctx, &type, &ord};
	EQ(p_cuPointerGetAttributes(3, attrs, slots, (unsigned long long)(size_t)plain), 0, "cuPointerGetAttributes of plain memory");
	CHECK(ctx == NULL, "no context");
	EQ(type, 0, "no memory type");
	EQ(ord, -2, "CU_DEVICE_INVALID");
}

int main(int argc, char **argv) {
	char path[4096];
	snprintf(path, sizeof path, "%s/libcudart.so.13", argc > 1 ? argv[1] : ".");
	void *h = dlopen(path, RTLD_NOW);
	if (!h) { printf("FAIL %s\n", dlerror()); return 1; }
#define BIND(r, n, a) if (!(p_##n = (r(*) a)dlsym(h, #n))) { printf("FAIL missing %s\n", #n); return 1; }
	FNS(BIND)
	void *ctx = NULL;
	EQ(p_cuInit(0), 0, "cuInit");
	EQ(p_cuDevicePrimaryCtxRetain(&ctx, 0), 0, "cuDevicePrimaryCtxRetain");
	EQ(p_cuCtxSetCurrent(ctx), 0, "cuCtxSetCurrent");
	test_host_flags();
	test_driver_register_flags();
	test_pointer_attributes_unknown();
	test_pool_no_device();
	test_exec_graph_changes();
	test_capture_stream_ordered_allocation();
	printf("%s: simparity %s: %d checks, %d failures\n", failures ? "FAIL" : "PASS", argc > 2 ? argv[2] : "", checks, failures);
	return failures != 0;
}
