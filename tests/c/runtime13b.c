/* More of issue 13's runtime: per-thread default streams (the _ptsz/_ptds forms a program
 * built with `nvcc --default-stream per-thread` calls), events and their flags, stream ids.
 * Run in-process (sim) and as a remote client of a sim server: the same rules.
 *   runtime13b LIBDIR [label]
 * Status values are NVIDIA's documented cudaError_t numbers: 0 success, 1 invalid value,
 * 400 invalid resource handle, 600 not ready, 900 capture unsupported, 901 capture
 * invalidated. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int err_t;
typedef struct { unsigned x, y, z; } dim3;
static int failures, checks;
static pthread_mutex_t report = PTHREAD_MUTEX_INITIALIZER;
#define CHECK(c, ...) do { pthread_mutex_lock(&report); checks++; if (!(c)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } pthread_mutex_unlock(&report); } while (0)
#define EQ(got, want, what) do { long long g_ = (long long)(got), w_ = (long long)(want); CHECK(g_ == w_, "%s: got %lld, want %lld", what, g_, w_); } while (0)

#define FNS(X) \
	X(err_t, cudaMalloc, (void **, size_t)) X(err_t, cudaFree, (void *)) \
	X(err_t, cudaMemcpy, (void *, const void *, size_t, int)) X(err_t, cudaMemset, (void *, int, size_t)) \
	X(err_t, cudaGetLastError, (void)) X(err_t, cudaDeviceSynchronize, (void)) \
	X(err_t, cudaStreamCreateWithFlags, (void **, unsigned)) X(err_t, cudaStreamDestroy, (void *)) \
	X(err_t, cudaStreamBeginCapture, (void *, int)) X(err_t, cudaStreamIsCapturing, (void *, int *)) \
	X(err_t, cudaStreamGetId, (void *, unsigned long long *)) X(err_t, cudaStreamGetDevice, (void *, int *)) \
	X(err_t, cudaGraphGetNodes, (void *, void **, size_t *)) X(err_t, cudaGraphDestroy, (void *)) \
	X(err_t, cudaGraphInstantiate, (void **, void *, unsigned long long)) X(err_t, cudaGraphExecDestroy, (void *)) \
	X(err_t, cudaEventCreateWithFlags, (void **, unsigned)) X(err_t, cudaEventDestroy, (void *)) \
	X(err_t, cudaEventRecord, (void *, void *)) X(err_t, cudaEventRecordWithFlags, (void *, void *, unsigned)) \
	X(err_t, cudaEventQuery, (void *)) X(err_t, cudaEventSynchronize, (void *)) \
	X(err_t, cudaEventElapsedTime, (float *, void *, void *)) \
	X(void **, __cudaRegisterFatBinary, (void *)) X(void, __cudaRegisterFatBinaryEnd, (void **)) \
	X(void, __cudaUnregisterFatBinary, (void **)) \
	X(void, __cudaRegisterFunction, (void **, const char *, char *, const char *, int, void *, void *, void *, void *, int *)) \
	X(err_t, __cudaGetKernel, (void **, const void *)) \
	X(err_t, cudaMemcpy_ptds, (void *, const void *, size_t, int)) \
	X(err_t, cudaMemcpyAsync_ptsz, (void *, const void *, size_t, int, void *)) \
	X(err_t, cudaMemset_ptds, (void *, int, size_t)) X(err_t, cudaMemsetAsync_ptsz, (void *, int, size_t, void *)) \
	X(err_t, cudaMemset2D_ptds, (void *, size_t, int, size_t, size_t)) \
	X(err_t, cudaMemcpy2D_ptds, (void *, size_t, const void *, size_t, size_t, size_t, int)) \
	X(err_t, cudaStreamSynchronize_ptsz, (void *)) X(err_t, cudaStreamQuery_ptsz, (void *)) \
	X(err_t, cudaStreamGetFlags_ptsz, (void *, unsigned *)) X(err_t, cudaStreamGetPriority_ptsz, (void *, int *)) \
	X(err_t, cudaStreamIsCapturing_ptsz, (void *, int *)) X(err_t, cudaStreamBeginCapture_ptsz, (void *, int)) \
	X(err_t, cudaStreamEndCapture_ptsz, (void *, void **)) X(err_t, cudaStreamWaitEvent_ptsz, (void *, void *, unsigned)) \
	X(err_t, cudaStreamGetId_ptsz, (void *, unsigned long long *)) X(err_t, cudaStreamGetDevice_ptsz, (void *, int *)) \
	X(err_t, cudaEventRecord_ptsz, (void *, void *)) X(err_t, cudaEventRecordWithFlags_ptsz, (void *, void *, unsigned)) \
	X(err_t, cudaLaunchKernel_ptsz, (const void *, dim3, dim3, void **, size_t, void *)) \
	X(err_t, cudaLaunchCooperativeKernel_ptsz, (const void *, dim3, dim3, void **, size_t, void *)) \
	X(err_t, __cudaLaunchKernel_ptsz, (void *, dim3, dim3, void **, size_t, void *)) \
	X(err_t, cudaLaunchKernelExC_ptsz, (const void *, const void *, void **)) \
	X(err_t, cudaLaunchHostFunc_ptsz, (void *, void (*)(void *), void *)) \
	X(err_t, cudaStreamAddCallback_ptsz, (void *, void (*)(void *, int, void *), void *, unsigned)) \
	X(err_t, cudaMallocAsync_ptsz, (void **, size_t, void *)) X(err_t, cudaFreeAsync_ptsz, (void *, void *)) \
	X(err_t, cudaGraphLaunch_ptsz, (void *, void *)) \
	X(err_t, cudaGraphLaunch, (void *, void *)) X(err_t, cudaStreamSynchronize, (void *)) \
	X(err_t, cudaGraphCreate, (void **, unsigned)) \
	X(err_t, cudaGraphAddEmptyNode, (void **, void *, void **, size_t)) \
	X(err_t, cudaGraphAddMemsetNode, (void **, void *, void **, size_t, const void *)) \
	X(err_t, cudaGraphAddMemcpyNode1D, (void **, void *, void **, size_t, void *, const void *, size_t, int)) \
	X(err_t, cudaGraphAddKernelNode, (void **, void *, void **, size_t, const void *)) \
	X(err_t, cudaGraphKernelNodeGetParams, (void *, void *)) X(err_t, cudaGraphKernelNodeSetParams, (void *, const void *)) \
	X(err_t, cudaGraphExecKernelNodeSetParams, (void *, void *, const void *)) \
	X(err_t, cudaGraphNodeGetType, (void *, int *)) X(err_t, cudaGraphClone, (void **, void *)) \
	X(err_t, cudaGraphAddDependencies, (void *, void **, void **, const void *, size_t)) \
	X(err_t, cudaGraphGetEdges, (void *, void **, void **, void *, size_t *)) \
	X(err_t, cudaHostAlloc, (void **, size_t, unsigned)) X(err_t, cudaMallocHost, (void **, size_t)) \
	X(err_t, cudaFreeHost, (void *)) X(err_t, cudaHostGetFlags, (unsigned *, void *)) \
	X(err_t, cudaHostRegister, (void *, size_t, unsigned)) X(err_t, cudaHostUnregister, (void *)) \
	X(err_t, cudaDeviceGetAttribute, (int *, int, int)) \
	X(err_t, cudaOccupancyMaxActiveBlocksPerMultiprocessor, (int *, const void *, int, size_t)) \
	X(err_t, cudaOccupancyAvailableDynamicSMemPerBlock, (size_t *, const void *, int, int)) \
	X(err_t, cudaOccupancyMaxPotentialClusterSize, (int *, const void *, const void *)) \
	X(err_t, cudaOccupancyMaxActiveClusters, (int *, const void *, const void *)) \
	X(err_t, cudaGetDeviceCount, (int *)) X(err_t, cudaDeviceCanAccessPeer, (int *, int, int)) X(err_t, cudaDeviceGetP2PAttribute, (int *, int, int, int)) \
	X(err_t, cudaStreamCreateWithPriority, (void **, unsigned, int)) \
	X(err_t, cudaStreamGetAttribute, (void *, int, void *)) X(err_t, cudaStreamSetAttribute, (void *, int, const void *)) \
	X(err_t, cudaStreamGetAttribute_ptsz, (void *, int, void *)) X(err_t, cudaStreamSetAttribute_ptsz, (void *, int, const void *)) \
	X(err_t, cudaFuncGetName, (const char **, const void *)) X(err_t, cudaGetFuncBySymbol, (void **, const void *)) \
	X(err_t, cudaGetKernel, (void **, const void *)) \
	X(err_t, cudaGraphMemsetNodeGetParams, (void *, void *)) X(err_t, cudaGraphMemsetNodeSetParams, (void *, const void *)) \
	X(err_t, cudaGraphExecMemsetNodeSetParams, (void *, void *, const void *)) \
	X(err_t, cudaGraphMemcpyNodeSetParams1D, (void *, void *, const void *, size_t, int)) \
	X(err_t, cudaGraphExecMemcpyNodeSetParams1D, (void *, void *, void *, const void *, size_t, int)) \
	X(err_t, cudaGraphDestroyNode, (void *)) \
	X(err_t, cudaGraphNodeGetDependencies, (void *, void **, void *, size_t *)) \
	X(err_t, cudaGraphNodeGetDependentNodes, (void *, void **, void *, size_t *)) \
	X(err_t, cudaGraphUpload, (void *, void *)) X(err_t, cudaGraphUpload_ptsz, (void *, void *)) \
	X(err_t, cudaGraphAddChildGraphNode, (void **, void *, void **, size_t, void *))
#define DECL(r, n, a) static r(*p_##n) a;
FNS(DECL)

enum { H2D = 1, D2H = 2 };
#define PER_THREAD ((void *)2) /* cudaStreamPerThread */
#define LEGACY ((void *)1)     /* cudaStreamLegacy */
#define WILD ((void *)0x7ead0000dea0)

static int in_process;

/* A remote client pipelines stream-ordered calls: a refusal the server finds arrives with
 * the next synchronising call instead, as a kernel's error does. */
static err_t now_or_at_sync(err_t r) { return r ? r : p_cudaDeviceSynchronize(); }

static size_t nodes(void *g) {
	size_t n = 12345;
	EQ(p_cudaGraphGetNodes(g, NULL, &n), 0, "cudaGraphGetNodes");
	return n;
}

static int all(const unsigned char *b, int from, int to, unsigned char v) {
	for (int i = from; i < to; i++)
		if (b[i] != v) return 0;
	return 1;
}

/* Another thread's per-thread stream: its own id, not capturing while this thread's is,
 * and its work runs at once instead of joining this thread's capture. */
struct other { unsigned char *d; unsigned long long id; int capturing; };
static void *other_thread(void *p) {
	struct other *o = p;
	EQ(p_cudaStreamGetId_ptsz(0, &o->id), 0, "cudaStreamGetId_ptsz on another thread");
	o->capturing = -1;
	EQ(p_cudaStreamIsCapturing_ptsz(0, &o->capturing), 0, "cudaStreamIsCapturing_ptsz on another thread");
	EQ(p_cudaMemsetAsync_ptsz(o->d + 32, 0x22, 32, 0), 0, "memset on another thread's per-thread stream");
	EQ(p_cudaStreamSynchronize_ptsz(0), 0, "and its sync");
	return NULL;
}

static void host_stub(void) {}
static void host_stub2(void) {}
static struct { unsigned magic, version; const unsigned long long *data; void *unused; } wrapper;
static unsigned long long fatbin[4] = {0x0010000100000000ull | 0xba55ed50u, 0};

struct hostcall { int runs; void *stream; int status; };
static void host_fn(void *p) { ((struct hostcall *)p)->runs++; }
static void stream_cb(void *stream, int status, void *p) {
	struct hostcall *h = p;
	h->runs++; h->stream = stream; h->status = status;
}

static void test_per_thread(void) {
	unsigned char *d = NULL, back[64];
	EQ(p_cudaMalloc((void **)&d, sizeof back), 0, "malloc");
	EQ(p_cudaMemset_ptds(d, 0x11, sizeof back), 0, "cudaMemset_ptds");
	EQ(p_cudaMemcpy_ptds(back, d, sizeof back, D2H), 0, "cudaMemcpy_ptds");
	CHECK(all(back, 0, 64, 0x11), "cudaMemset_ptds did not fill");

	/* 0 in a _ptsz call is the per-thread stream (handle 2), not the legacy one. */
	unsigned long long legacy = 0, legacy1 = 0, pt0 = 0, pt2 = 0, plain0 = 0;
	EQ(p_cudaStreamGetId(0, &legacy), 0, "cudaStreamGetId(0)");
	EQ(p_cudaStreamGetId(LEGACY, &legacy1), 0, "cudaStreamGetId(cudaStreamLegacy)");
	EQ(p_cudaStreamGetId_ptsz(0, &pt0), 0, "cudaStreamGetId_ptsz(0)");
	EQ(p_cudaStreamGetId(PER_THREAD, &pt2), 0, "cudaStreamGetId(cudaStreamPerThread)");
	EQ(p_cudaStreamGetId_ptsz(LEGACY, &plain0), 0, "cudaStreamGetId_ptsz(cudaStreamLegacy)");
	EQ(legacy, legacy1, "0 and cudaStreamLegacy are one stream in the plain call");
	EQ(pt0, pt2, "0 in a _ptsz call is cudaStreamPerThread");
	CHECK(pt0 != legacy, "the per-thread stream is not the legacy stream (%llu)", pt0);
	EQ(plain0, legacy, "an explicit cudaStreamLegacy keeps its meaning in a _ptsz call");
	int dev = -1; unsigned flags = 99; int prio = 99;
	EQ(p_cudaStreamGetDevice_ptsz(0, &dev), 0, "cudaStreamGetDevice_ptsz"); EQ(dev, 0, "on device 0");
	EQ(p_cudaStreamGetFlags_ptsz(0, &flags), 0, "cudaStreamGetFlags_ptsz"); EQ(flags, 0, "a blocking stream");
	EQ(p_cudaStreamGetPriority_ptsz(0, &prio), 0, "cudaStreamGetPriority_ptsz"); EQ(prio, 0, "default priority");
	EQ(p_cudaStreamQuery_ptsz(0), 0, "an idle per-thread stream is complete");
	EQ(p_cudaStreamDestroy(PER_THREAD), 400, "cudaStreamPerThread cannot be destroyed");
	EQ(p_cudaStreamGetId_ptsz(0, &pt2), 0, "and is still there"); EQ(pt2, pt0, "the same stream");
	EQ(p_cudaStreamGetId_ptsz(WILD, &pt2), 400, "a wild stream = invalid resource handle");
	EQ(p_cudaStreamGetId_ptsz(0, NULL), 1, "NULL id = invalid value");
	EQ(p_cudaStreamGetDevice(WILD, &dev), 400, "cudaStreamGetDevice of a wild stream");
	void *s = NULL; unsigned long long sid = 0, sid2 = 0;
	EQ(p_cudaStreamCreateWithFlags(&s, 1), 0, "stream");
	EQ(p_cudaStreamGetId(s, &sid), 0, "its id"); EQ(p_cudaStreamGetId_ptsz(s, &sid2), 0, "again through _ptsz");
	EQ(sid, sid2, "an explicit stream keeps its meaning in a _ptsz call");
	CHECK(sid != pt0 && sid != legacy, "each stream has its own id");

	/* The legacy stream cannot be captured; this thread's per-thread stream can. */
	EQ(p_cudaStreamBeginCapture(0, 2), 900, "capturing the legacy stream = capture unsupported");
	p_cudaGetLastError();
	EQ(p_cudaStreamBeginCapture_ptsz(0, 2), 0, "cudaStreamBeginCapture_ptsz(0, relaxed)");
	int st = -1;
	EQ(p_cudaStreamIsCapturing_ptsz(0, &st), 0, "cudaStreamIsCapturing_ptsz"); EQ(st, 1, "active");
	st = -1;
	EQ(p_cudaStreamIsCapturing(PER_THREAD, &st), 0, "cudaStreamIsCapturing(cudaStreamPerThread)"); EQ(st, 1, "the same capture");
	st = -1;
	EQ(p_cudaStreamIsCapturing(s, &st), 0, "another stream"); EQ(st, 0, "is not capturing");
	EQ(p_cudaMemsetAsync_ptsz(d, 0x5a, 32, 0), 0, "a memset is recorded");
	/* Launches of this program's stand-in module: in process only (a remote client ships a
	 * kernel's module to the server, and this one holds no code to ship). */
	int launches = in_process ? 4 : 0;
	dim3 grid = {2, 1, 1}, block = {64, 1, 1};
	if (in_process) {
	EQ(p_cudaLaunchKernel_ptsz((void *)host_stub, grid, block, NULL, 0, 0), 0, "cudaLaunchKernel_ptsz is recorded");
	EQ(p_cudaLaunchCooperativeKernel_ptsz((void *)host_stub, grid, block, NULL, 0, 0), 0, "cudaLaunchCooperativeKernel_ptsz too");
	void *kh = NULL;
	EQ(p___cudaGetKernel(&kh, (void *)host_stub), 0, "__cudaGetKernel");
	EQ(p___cudaLaunchKernel_ptsz(kh, grid, block, NULL, 0, 0), 0, "__cudaLaunchKernel_ptsz too");
	struct { dim3 grid, block; size_t smem; void *stream; void *attrs; unsigned nattrs; } cfg = {grid, block, 0, 0, NULL, 0};
	EQ(p_cudaLaunchKernelExC_ptsz(&cfg, (void *)host_stub, NULL), 0, "cudaLaunchKernelExC_ptsz with stream 0 too");
	}
	struct other o = {d, 0, -1};
	pthread_t t;
	pthread_create(&t, NULL, other_thread, &o);
	pthread_join(t, NULL);
	CHECK(o.id != pt0 && o.id != legacy, "another thread's per-thread stream has its own id (%llu vs %llu)", o.id, pt0);
	EQ(o.capturing, 0, "another thread's per-thread stream is not in this thread's capture");
	void *g = NULL;
	EQ(p_cudaStreamEndCapture_ptsz(0, &g), 0, "cudaStreamEndCapture_ptsz");
	EQ(nodes(g), 1 + launches, "the memset and the launches were recorded, the other thread's memset was not");
	EQ(p_cudaMemcpy_ptds(back, d, sizeof back, D2H), 0, "read");
	CHECK(all(back, 0, 32, 0x11), "a recorded memset does not run");
	CHECK(all(back, 32, 64, 0x22), "the other thread's memset ran at once");
	/* The graph, without its launches (the sim cannot run kernels), replayed on stream 0. */
	void *g2 = NULL, *x = NULL;
	EQ(p_cudaStreamBeginCapture_ptsz(0, 2), 0, "capture again");
	EQ(p_cudaMemsetAsync_ptsz(d, 0x5a, 32, 0), 0, "a memset");
	EQ(p_cudaStreamEndCapture_ptsz(0, &g2), 0, "end");
	EQ(p_cudaGraphInstantiate(&x, g2, 0), 0, "instantiate");
	EQ(p_cudaGraphLaunch_ptsz(x, 0), 0, "cudaGraphLaunch_ptsz");
	EQ(p_cudaStreamSynchronize_ptsz(0), 0, "cudaStreamSynchronize_ptsz");
	EQ(p_cudaMemcpy_ptds(back, d, sizeof back, D2H), 0, "read");
	CHECK(all(back, 0, 32, 0x5a), "the replayed memset ran");
	p_cudaGraphExecDestroy(x); p_cudaGraphDestroy(g); p_cudaGraphDestroy(g2);

	/* A synchronous _ptds call cannot join a capture of the per-thread stream: it fails, and
	 * the capture is invalidated. */
	EQ(p_cudaStreamBeginCapture_ptsz(0, 2), 0, "capture");
	EQ(p_cudaMemset_ptds(d, 0, 8), 900, "cudaMemset_ptds while capturing = capture unsupported");
	EQ(p_cudaMemcpy_ptds(back, d, 8, D2H), 900, "cudaMemcpy_ptds while capturing = capture unsupported");
	g = NULL;
	EQ(p_cudaStreamEndCapture_ptsz(0, &g), 901, "the capture is invalidated");
	CHECK(g == NULL, "no graph");
	p_cudaGetLastError();
	EQ(p_cudaMemcpy_ptds(back, d, sizeof back, D2H), 0, "read");
	CHECK(all(back, 0, 32, 0x5a), "the refused memset wrote nothing");

	/* Pitched and host-ordered forms. */
	EQ(p_cudaMemset2D_ptds(d, 16, 0x33, 4, 4), 0, "cudaMemset2D_ptds");
	unsigned char pitched[16];
	EQ(p_cudaMemcpy2D_ptds(pitched, 4, d, 16, 4, 4, D2H), 0, "cudaMemcpy2D_ptds");
	CHECK(all(pitched, 0, 16, 0x33), "the 2D round trip");
	struct hostcall h = {0}, c = {0, WILD, -1};
	EQ(p_cudaLaunchHostFunc_ptsz(0, host_fn, &h), 0, "cudaLaunchHostFunc_ptsz");
	EQ(p_cudaStreamSynchronize_ptsz(0), 0, "sync"); EQ(h.runs, 1, "the host function ran once");
	EQ(p_cudaStreamAddCallback_ptsz(0, stream_cb, &c, 0), 0, "cudaStreamAddCallback_ptsz");
	EQ(p_cudaStreamSynchronize_ptsz(0), 0, "sync");
	EQ(c.runs, 1, "the callback ran once"); CHECK(c.stream == NULL, "with the stream as named"); EQ(c.status, 0, "and success");
	EQ(p_cudaLaunchHostFunc_ptsz(0, NULL, &h), 1, "a NULL host function = invalid value");
	void *a = NULL;
	EQ(p_cudaMallocAsync_ptsz(&a, 4096, 0), 0, "cudaMallocAsync_ptsz");
	EQ(p_cudaMemcpyAsync_ptsz(a, back, 64, H2D, 0), 0, "cudaMemcpyAsync_ptsz up");
	unsigned char again[64] = {0};
	EQ(p_cudaMemcpyAsync_ptsz(again, a, 64, D2H, 0), 0, "and down");
	EQ(p_cudaStreamSynchronize_ptsz(0), 0, "sync");
	CHECK(!memcmp(again, back, 64), "the per-thread stream's copies in order");
	EQ(p_cudaFreeAsync_ptsz(a, 0), 0, "cudaFreeAsync_ptsz");
	EQ(p_cudaStreamSynchronize_ptsz(WILD), 400, "a wild stream = invalid resource handle");
	p_cudaGetLastError();
	p_cudaStreamDestroy(s); p_cudaFree(d);
}

static void test_events(void) {
	void *timed = NULL, *timed2 = NULL, *untimed = NULL, *never = NULL, *s = NULL;
	EQ(p_cudaEventCreateWithFlags(&timed, 0), 0, "event");
	EQ(p_cudaEventCreateWithFlags(&timed2, 0), 0, "event");
	EQ(p_cudaEventCreateWithFlags(&untimed, 2), 0, "cudaEventDisableTiming");
	EQ(p_cudaEventCreateWithFlags(&never, 0), 0, "an event never recorded");
	EQ(p_cudaStreamCreateWithFlags(&s, 1), 0, "stream");
	EQ(p_cudaEventQuery(never), 0, "a never-recorded event is complete");
	EQ(p_cudaEventRecord(timed, s), 0, "record");
	EQ(p_cudaEventRecordWithFlags(untimed, s, 0), 0, "cudaEventRecordWithFlags, default");
	EQ(p_cudaEventRecordWithFlags_ptsz(timed2, 0, 1), 0, "cudaEventRecordWithFlags_ptsz, external");
	EQ(p_cudaEventSynchronize(timed2), 0, "sync");
	EQ(p_cudaEventQuery(untimed), 0, "a recorded event without timing completes");
	float ms = -1;
	EQ(p_cudaEventElapsedTime(&ms, timed, timed2), 0, "elapsed between two timed events");
	CHECK(ms >= 0, "a non-negative time: %g", ms);
	EQ(p_cudaEventElapsedTime(&ms, timed, untimed), 400, "an event without timing = invalid resource handle");
	EQ(p_cudaEventElapsedTime(&ms, untimed, timed), 400, "either end");
	EQ(p_cudaEventElapsedTime(&ms, timed, never), 400, "a never-recorded end = invalid resource handle");
	EQ(p_cudaEventElapsedTime(NULL, timed, timed2), 1, "NULL out = invalid value");
	EQ(p_cudaEventRecordWithFlags(timed, s, 4), 1, "unknown record flags = invalid value");
	EQ(now_or_at_sync(p_cudaEventRecordWithFlags(WILD, s, 0)), 400, "a wild event = invalid resource handle");
	EQ(p_cudaDeviceSynchronize(), 0, "and reported once");
	EQ(p_cudaEventRecord_ptsz(timed, 0), 0, "cudaEventRecord_ptsz");
	EQ(p_cudaStreamWaitEvent_ptsz(0, timed, 0), 0, "cudaStreamWaitEvent_ptsz");
	EQ(p_cudaStreamWaitEvent_ptsz(0, timed, 8), 1, "unknown wait flags = invalid value");
	EQ(p_cudaEventCreateWithFlags(&never, 0x10), 1, "unknown event flags = invalid value");
	p_cudaGetLastError();
	p_cudaEventDestroy(timed); p_cudaEventDestroy(timed2); p_cudaEventDestroy(untimed); p_cudaStreamDestroy(s);
}

static void test_host_flags(void) {
	void *p = NULL, *q = NULL;
	unsigned f = 99;
	EQ(p_cudaHostAlloc(&p, 8192, 3), 0, "cudaHostAlloc portable|mapped");
	EQ(p_cudaHostGetFlags(&f, p), 0, "cudaHostGetFlags"); EQ(f, 3, "the flags it was allocated with");
	f = 99;
	EQ(p_cudaHostGetFlags(&f, (char *)p + 5000), 0, "an address inside it"); EQ(f, 3, "the same flags");
	EQ(p_cudaMallocHost(&q, 100), 0, "cudaMallocHost");
	EQ(p_cudaHostGetFlags(&f, q), 0, "cudaHostGetFlags of cudaMallocHost memory"); EQ(f, 2, "mapped (unified addressing), as NVIDIA reports");
	static char plain[4096];
	EQ(p_cudaHostGetFlags(&f, plain), 1, "memory not from cudaHostAlloc = invalid value");
	EQ(p_cudaHostRegister(plain, sizeof plain, 0), 0, "cudaHostRegister");
	EQ(p_cudaHostGetFlags(&f, plain), 0, "registered memory: its flags, as NVIDIA reports them"); EQ(f, 2, "mapped (unified addressing)");
	EQ(p_cudaHostUnregister(plain), 0, "unregister");
	EQ(p_cudaHostRegister(plain, sizeof plain, 0x10), 1, "unknown cudaHostRegister flags = invalid value");
	EQ(p_cudaHostGetFlags(NULL, p), 1, "NULL out = invalid value");
	EQ(p_cudaFreeHost(p), 0, "free"); EQ(p_cudaFreeHost(q), 0, "free");
	EQ(p_cudaHostGetFlags(&f, p), 1, "freed memory = invalid value");
	p_cudaGetLastError();
}

/* cudaLaunchConfig_t with one launch attribute (cluster dimension, id 4) when cx > 0. */
struct attr { unsigned id, pad; unsigned v[16]; };
struct cfg { dim3 grid, block; size_t smem; void *stream; struct attr *attrs; unsigned nattrs; };

static void test_occupancy(void) {
	size_t one = 0, two = 0;
	int optin = 0, sms = 0, perSM = 0;
	EQ(p_cudaDeviceGetAttribute(&optin, 97, 0), 0, "cudaDevAttrMaxSharedMemoryPerBlockOptin");
	EQ(p_cudaDeviceGetAttribute(&sms, 16, 0), 0, "cudaDevAttrMultiProcessorCount");
	EQ(p_cudaOccupancyAvailableDynamicSMemPerBlock(&one, (void *)host_stub, 1, 128), 0, "cudaOccupancyAvailableDynamicSMemPerBlock, 1 block");
	EQ(p_cudaOccupancyAvailableDynamicSMemPerBlock(&two, (void *)host_stub, 2, 128), 0, "2 blocks");
	CHECK(one > 0 && one <= (size_t)optin, "one block may use up to the opt-in limit: %zu of %d", one, optin);
	CHECK(two > 0 && two < one, "two blocks share the SM: %zu < %zu", two, one);
	/* The answer is consistent with the occupancy calculator: two blocks of that size fit.
	 * (In process only: a remote client asks the server's driver, shipping the kernel's
	 * module, and this program's stand-in module holds no code.) */
	if (in_process) {
		EQ(p_cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSM, (void *)host_stub, 128, two), 0, "occupancy at that size");
		CHECK(perSM >= 2, "two blocks with the answered shared memory are resident: %d", perSM);
	}
	EQ(p_cudaOccupancyAvailableDynamicSMemPerBlock(&one, (void *)host_stub, 0, 128), 1, "0 blocks = invalid value");
	EQ(p_cudaOccupancyAvailableDynamicSMemPerBlock(NULL, (void *)host_stub, 1, 128), 1, "NULL out = invalid value");
	EQ(p_cudaOccupancyAvailableDynamicSMemPerBlock(&one, (void *)test_occupancy, 1, 128), 98, "an unregistered function = invalid device function");
	struct attr cl = {4, 0, {2, 1, 1}};
	struct cfg c = {{16, 1, 1}, {128, 1, 1}, 0, 0, NULL, 0};
	int size = -1, clusters = -1;
	EQ(p_cudaOccupancyMaxPotentialClusterSize(&size, (void *)host_stub, &c), 0, "cudaOccupancyMaxPotentialClusterSize");
	EQ(size, 8, "the portable cluster limit on an H100");
	EQ(p_cudaOccupancyMaxActiveClusters(&clusters, (void *)host_stub, &c), 912, "no cluster dimension = invalid cluster size");
	c.attrs = &cl; c.nattrs = 1;
	EQ(p_cudaOccupancyMaxActiveClusters(&clusters, (void *)host_stub, &c), 0, "cudaOccupancyMaxActiveClusters, clusters of 2");
	CHECK(clusters >= sms / 2 && clusters <= sms * 32 / 2, "clusters of 2 fill the device: %d on %d SMs", clusters, sms);
	cl.v[0] = 16;
	EQ(p_cudaOccupancyMaxActiveClusters(&clusters, (void *)host_stub, &c), 912, "a cluster past the portable limit = invalid cluster size");
	EQ(p_cudaOccupancyMaxPotentialClusterSize(NULL, (void *)host_stub, &c), 1, "NULL out = invalid value");
	p_cudaGetLastError();
}

struct memset_params { void *dst; size_t pitch; unsigned value, elementSize; size_t width, height; };

static void test_graph_build(void) {
	unsigned char *d = NULL, back[256];
	EQ(p_cudaMalloc((void **)&d, 256), 0, "malloc");
	EQ(p_cudaMemset(d, 0, 256), 0, "clear");
	void *g = NULL, *a = NULL, *b = NULL, *c = NULL, *e = NULL, *s = NULL;
	EQ(p_cudaStreamCreateWithFlags(&s, 1), 0, "stream");
	EQ(p_cudaGraphCreate(&g, 0), 0, "cudaGraphCreate");
	struct memset_params fill = {d, 0, 0x11, 1, 256, 1};
	EQ(p_cudaGraphAddMemsetNode(&a, g, NULL, 0, &fill), 0, "cudaGraphAddMemsetNode, bytes");
	/* C is added before B, and copies what B writes: only the edge added afterwards makes
	 * it run second. */
	EQ(p_cudaGraphAddMemcpyNode1D(&c, g, &a, 1, d + 192, d + 64, 16, 3), 0, "cudaGraphAddMemcpyNode1D, device to device");
	struct memset_params words = {d + 64, 32, 0xdeadbeef, 4, 4, 2};
	EQ(p_cudaGraphAddMemsetNode(&b, g, &a, 1, &words), 0, "cudaGraphAddMemsetNode, 4-byte words in 2 pitched rows");
	void *bc[2] = {b, c};
	EQ(p_cudaGraphAddEmptyNode(&e, g, bc, 2), 0, "cudaGraphAddEmptyNode after B and C");
	EQ(p_cudaGraphAddDependencies(g, &b, &c, NULL, 1), 0, "cudaGraphAddDependencies B -> C");
	EQ(p_cudaGraphAddDependencies(g, &b, &c, NULL, 1), 1, "the same edge again = invalid value");
	EQ(p_cudaGraphAddDependencies(g, &c, &a, NULL, 1), 1, "an edge closing a cycle = invalid value");
	EQ(p_cudaGraphAddDependencies(g, &a, &a, NULL, 1), 1, "a node on itself = invalid value");
	unsigned long long port = 1;
	EQ(p_cudaGraphAddDependencies(g, &a, &e, &port, 1), 1, "edge data other than the default = invalid value");
	int type = -1;
	EQ(p_cudaGraphNodeGetType(a, &type), 0, "cudaGraphNodeGetType"); EQ(type, 2, "memset");
	EQ(p_cudaGraphNodeGetType(c, &type), 0, "type"); EQ(type, 1, "memcpy");
	EQ(p_cudaGraphNodeGetType(e, &type), 0, "type"); EQ(type, 5, "empty");
	EQ(p_cudaGraphNodeGetType(WILD, &type), 1, "a wild node = invalid value");
	EQ(nodes(g), 4, "four nodes");
	size_t ne = 0;
	EQ(p_cudaGraphGetEdges(g, NULL, NULL, NULL, &ne), 0, "cudaGraphGetEdges, count"); EQ(ne, 5, "A->C, A->B, B->E, C->E, B->C");
	void *from[8], *to[8];
	ne = 8;
	EQ(p_cudaGraphGetEdges(g, from, to, NULL, &ne), 0, "cudaGraphGetEdges"); EQ(ne, 5, "five written");
	int found = 0;
	for (size_t i = 0; i < ne; i++) found += from[i] == b && to[i] == c;
	EQ(found, 1, "the added edge is listed once");
	CHECK(from[5] == NULL && to[7] == NULL, "entries past the edges are NULL");
	void *x = NULL;
	EQ(p_cudaGraphInstantiate(&x, g, 0), 0, "instantiate");
	EQ(p_cudaGraphLaunch(x, s), 0, "launch");
	EQ(p_cudaStreamSynchronize(s), 0, "sync");
	EQ(p_cudaMemcpy(back, d, 256, D2H), 0, "read");
	static const unsigned char word[4] = {0xef, 0xbe, 0xad, 0xde};
	int bad = 0;
	for (int i = 0; i < 256; i++) {
		int inB = (i >= 64 && i < 80) || (i >= 96 && i < 112), inC = i >= 192 && i < 208;
		unsigned char want = inB || inC ? word[i % 4] : 0x11;
		bad += back[i] != want;
	}
	EQ(bad, 0, "bytes differing from: fill, then the words, then the copy of them");
	/* A clone: the same nodes and edges, handles of its own, usable after the original goes. */
	void *g2 = NULL, *x2 = NULL;
	EQ(p_cudaGraphClone(&g2, g), 0, "cudaGraphClone");
	EQ(nodes(g2), 4, "the clone's nodes");
	ne = 0;
	EQ(p_cudaGraphGetEdges(g2, NULL, NULL, NULL, &ne), 0, "its edges"); EQ(ne, 5, "the same five");
	void *cn[4] = {0};
	size_t n4 = 4;
	EQ(p_cudaGraphGetNodes(g2, cn, &n4), 0, "its node handles");
	CHECK(cn[0] && cn[0] != a && cn[1] != c && cn[2] != b && cn[3] != e, "the clone's nodes are its own");
	EQ(p_cudaGraphAddDependencies(g2, &a, &e, NULL, 1), 1, "a node of another graph = invalid value");
	EQ(p_cudaGraphExecDestroy(x), 0, "exec destroy"); EQ(p_cudaGraphDestroy(g), 0, "destroy the original");
	EQ(p_cudaGraphNodeGetType(a, &type), 1, "its nodes went with it");
	EQ(p_cudaMemset(d, 0, 256), 0, "clear");
	EQ(p_cudaGraphInstantiate(&x2, g2, 0), 0, "instantiate the clone");
	EQ(p_cudaGraphLaunch(x2, s), 0, "launch"); EQ(p_cudaStreamSynchronize(s), 0, "sync");
	EQ(p_cudaMemcpy(back, d, 256, D2H), 0, "read");
	CHECK(back[0] == 0x11 && back[64] == 0xef && back[195] == 0xde, "the clone did the same work");
	/* Bad input. */
	void *n = NULL;
	struct memset_params odd = {d, 0, 0, 3, 4, 1}, wide = {d, 8, 0, 1, 16, 2}, wild = {WILD, 0, 0, 1, 16, 1};
	EQ(p_cudaGraphAddMemsetNode(&n, g2, NULL, 0, &odd), 1, "a 3-byte element = invalid value");
	EQ(p_cudaGraphAddMemsetNode(&n, g2, NULL, 0, &wide), 1, "rows wider than the pitch = invalid value");
	EQ(p_cudaGraphAddMemsetNode(&n, g2, NULL, 0, &wild), 1, "memory that is not the caller's = invalid value");
	EQ(p_cudaGraphAddMemcpyNode1D(&n, g2, NULL, 0, d, d + 128, 1024, 3), 1, "a copy past the allocation = invalid value");
	EQ(p_cudaGraphAddEmptyNode(&n, g2, NULL, 1), 1, "a count of dependencies with no array = invalid value");
	EQ(p_cudaGraphAddEmptyNode(NULL, g2, NULL, 0), 1, "NULL out = invalid value");
	EQ(p_cudaGraphAddEmptyNode(&n, WILD, NULL, 0), 1, "a wild graph = invalid value");
	/* Host memory in a copy node: read at every launch (a remote client makes the copy
	 * itself when the launch reaches the node). */
	static unsigned char host[16];
	EQ(p_cudaGraphAddMemcpyNode1D(&n, g2, NULL, 0, d, host, 16, 1), 0, "a host-to-device copy node");
	EQ(nodes(g2), 5, "refused nodes were not added");
	p_cudaGetLastError();
	p_cudaGraphExecDestroy(x2); p_cudaGraphDestroy(g2); p_cudaStreamDestroy(s); p_cudaFree(d);
}

static void test_graph_edit(void) {
	unsigned char *d = NULL, back[64];
	void *g = NULL, *a = NULL, *b = NULL, *c = NULL, *x = NULL, *s = NULL, *list[4];
	EQ(p_cudaMalloc((void **)&d, 64), 0, "malloc");
	EQ(p_cudaStreamCreateWithFlags(&s, 1), 0, "stream");
	EQ(p_cudaGraphCreate(&g, 0), 0, "graph");
	struct memset_params fa = {d, 0, 0x11, 1, 64, 1}, fb = {d + 8, 0, 0x22, 1, 8, 1}, got;
	EQ(p_cudaGraphAddMemsetNode(&a, g, NULL, 0, &fa), 0, "A: fill");
	EQ(p_cudaGraphAddMemsetNode(&b, g, &a, 1, &fb), 0, "B: 8 bytes, after A");
	EQ(p_cudaGraphAddMemcpyNode1D(&c, g, &b, 1, d + 32, d, 16, 3), 0, "C: copy, after B");
	size_t n = 0;
	EQ(p_cudaGraphNodeGetDependencies(c, NULL, NULL, &n), 0, "cudaGraphNodeGetDependencies, count"); EQ(n, 1, "one");
	n = 4;
	EQ(p_cudaGraphNodeGetDependencies(c, list, NULL, &n), 0, "cudaGraphNodeGetDependencies");
	CHECK(n == 1 && list[0] == b && list[1] == NULL, "C depends on B alone");
	n = 4;
	EQ(p_cudaGraphNodeGetDependentNodes(a, list, NULL, &n), 0, "cudaGraphNodeGetDependentNodes");
	CHECK(n == 1 && list[0] == b, "B depends on A");
	EQ(p_cudaGraphNodeGetDependencies(c, list, NULL, NULL), 1, "NULL count = invalid value");
	memset(&got, 0, sizeof got);
	EQ(p_cudaGraphMemsetNodeGetParams(b, &got), 0, "cudaGraphMemsetNodeGetParams");
	CHECK(got.dst == d + 8 && got.value == 0x22 && got.width == 8 && got.elementSize == 1, "what the node was given");
	fb.value = 0x33;
	EQ(p_cudaGraphMemsetNodeSetParams(b, &fb), 0, "cudaGraphMemsetNodeSetParams");
	EQ(p_cudaGraphMemsetNodeGetParams(b, &got), 0, "get"); EQ(got.value, 0x33, "the new value");
	EQ(p_cudaGraphMemsetNodeGetParams(c, &got), 1, "memset parameters of a copy node = invalid value");
	EQ(p_cudaGraphMemcpyNodeSetParams1D(b, d, d + 32, 8, 3), 1, "copy parameters for a memset node = invalid value");
	EQ(p_cudaGraphInstantiate(&x, g, 0), 0, "instantiate");
	fb.value = 0x44;
	EQ(p_cudaGraphExecMemsetNodeSetParams(x, b, &fb), 0, "cudaGraphExecMemsetNodeSetParams");
	EQ(p_cudaGraphMemsetNodeGetParams(b, &got), 0, "get"); EQ(got.value, 0x33, "the graph's node keeps its value");
	struct memset_params rows = {d, 16, 0, 1, 8, 2};
	EQ(p_cudaGraphExecMemsetNodeSetParams(x, b, &rows), 1, "another shape in an executable graph = invalid value");
	EQ(p_cudaGraphExecMemcpyNodeSetParams1D(x, c, d + 48, d, 16, 3), 0, "cudaGraphExecMemcpyNodeSetParams1D");
	EQ(p_cudaGraphUpload(x, s), 0, "cudaGraphUpload");
	EQ(p_cudaGraphUpload_ptsz(x, 0), 0, "cudaGraphUpload_ptsz");
	EQ(p_cudaGraphUpload(WILD, s), 1, "a wild executable graph = invalid value");
	EQ(p_cudaGraphLaunch(x, s), 0, "launch"); EQ(p_cudaStreamSynchronize(s), 0, "sync");
	EQ(p_cudaMemcpy(back, d, 64, D2H), 0, "read");
	CHECK(back[0] == 0x11 && back[8] == 0x44 && back[15] == 0x44 && back[16] == 0x11, "the executable graph's memset value");
	CHECK(back[56] == 0x44 && back[48] == 0x11 && back[32] == 0x11, "the executable graph's copy destination");
	/* The graph as a child of another, after a node that clears the memory first. */
	void *outer = NULL, *clear = NULL, *child = NULL, *ox = NULL;
	struct memset_params zero = {d, 0, 0, 1, 64, 1};
	EQ(p_cudaGraphCreate(&outer, 0), 0, "another graph");
	EQ(p_cudaGraphAddMemsetNode(&clear, outer, NULL, 0, &zero), 0, "clear");
	EQ(p_cudaGraphAddChildGraphNode(&child, outer, &clear, 1, g), 0, "cudaGraphAddChildGraphNode");
	int type = -1;
	EQ(p_cudaGraphNodeGetType(child, &type), 0, "type"); EQ(type, 4, "a child graph node");
	EQ(p_cudaGraphAddChildGraphNode(&child, g, NULL, 0, g), 1, "a graph as its own child = invalid value");
	EQ(p_cudaMemset(d, 0x77, 64), 0, "scribble");
	EQ(p_cudaGraphInstantiate(&ox, outer, 0), 0, "instantiate");
	EQ(p_cudaGraphLaunch(ox, s), 0, "launch"); EQ(p_cudaStreamSynchronize(s), 0, "sync");
	EQ(p_cudaMemcpy(back, d, 64, D2H), 0, "read");
	CHECK(back[0] == 0x11 && back[8] == 0x33 && back[40] == 0x33 && back[63] == 0x11, "the child's work (with its graph's values), after the clear");
	p_cudaGraphExecDestroy(ox); p_cudaGraphDestroy(outer);
	EQ(p_cudaGraphDestroyNode(b), 0, "cudaGraphDestroyNode");
	EQ(nodes(g), 2, "two nodes left");
	n = 4;
	EQ(p_cudaGraphNodeGetDependencies(c, list, NULL, &n), 0, "C's dependencies"); EQ(n, 0, "went with B");
	n = 9;
	EQ(p_cudaGraphGetEdges(g, NULL, NULL, NULL, &n), 0, "edges"); EQ(n, 0, "none left");
	EQ(p_cudaGraphDestroyNode(b), 1, "a destroyed node = invalid value");
	p_cudaGetLastError();
	p_cudaGraphExecDestroy(x); p_cudaGraphDestroy(g); p_cudaStreamDestroy(s); p_cudaFree(d);
}

struct kparams { void *func; dim3 grid, block; unsigned smem; void **args; void **extra; };

static void test_kernel_nodes(void) {
	void *g = NULL, *k = NULL, *x = NULL;
	EQ(p_cudaGraphCreate(&g, 0), 0, "graph");
	struct kparams p = {(void *)host_stub, {4, 1, 1}, {128, 1, 1}, 0, NULL, NULL}, got;
	EQ(p_cudaGraphAddKernelNode(&k, g, NULL, 0, &p), 0, "cudaGraphAddKernelNode");
	int type = -1;
	EQ(p_cudaGraphNodeGetType(k, &type), 0, "type"); EQ(type, 0, "kernel");
	memset(&got, 0, sizeof got);
	EQ(p_cudaGraphKernelNodeGetParams(k, &got), 0, "cudaGraphKernelNodeGetParams");
	CHECK(got.func == (void *)host_stub && got.grid.x == 4 && got.block.x == 128, "the parameters it was given");
	p.grid.x = 9;
	EQ(p_cudaGraphKernelNodeSetParams(k, &p), 0, "cudaGraphKernelNodeSetParams");
	EQ(p_cudaGraphKernelNodeGetParams(k, &got), 0, "get"); EQ(got.grid.x, 9, "the new grid");
	EQ(p_cudaGraphInstantiate(&x, g, 0), 0, "instantiate");
	p.grid.x = 2;
	EQ(p_cudaGraphExecKernelNodeSetParams(x, k, &p), 0, "cudaGraphExecKernelNodeSetParams");
	EQ(p_cudaGraphKernelNodeGetParams(k, &got), 0, "get"); EQ(got.grid.x, 9, "the graph's node keeps its parameters");
	struct kparams other = p;
	other.func = (void *)host_stub2;
	EQ(p_cudaGraphExecKernelNodeSetParams(x, k, &other), 1, "another function in an executable graph = invalid value");
	other.func = (void *)test_kernel_nodes;
	EQ(p_cudaGraphAddKernelNode(&k, g, NULL, 0, &other), 98, "an unregistered function = invalid device function");
	struct kparams huge = {(void *)host_stub, {1, 1, 1}, {2048, 1, 1}, 0, NULL, NULL};
	void *k2 = NULL;
	EQ(p_cudaGraphAddKernelNode(&k2, g, NULL, 0, &huge), 9, "a 2048-thread block = invalid configuration");
	void *m = NULL;
	struct memset_params one = {NULL, 0, 0, 1, 1, 1};
	void *d = NULL;
	EQ(p_cudaMalloc(&d, 16), 0, "malloc"); one.dst = d;
	EQ(p_cudaGraphAddMemsetNode(&m, g, &k, 1, &one), 0, "memset node");
	EQ(p_cudaGraphKernelNodeGetParams(m, &got), 1, "kernel parameters of a memset node = invalid value");
	p_cudaGetLastError();
	p_cudaGraphExecDestroy(x); p_cudaGraphDestroy(g); p_cudaFree(d);
}

/* cudaLaunchAttributeValue as a stream attribute: 64 bytes. */
union attrval { unsigned char raw[64]; int i; struct { void *base; size_t bytes; float ratio; int hit, miss; } window; };

struct attr_seen { int policy, err; };
static void *other_attr_thread(void *p) {
	struct attr_seen *a = p;
	union attrval v;
	memset(&v, 0, sizeof v);
	a->err = p_cudaStreamGetAttribute_ptsz(0, 3, &v);
	a->policy = v.i;
	return NULL;
}

static void test_peers_and_attributes(void) {
	int n = 0, v = -1;
	EQ(p_cudaGetDeviceCount(&n), 0, "count");
	EQ(n, 2, "this test runs with VGPU_DEVICES=2");
	EQ(p_cudaDeviceGetP2PAttribute(&v, 2, 0, 1), 0, "cudaDeviceGetP2PAttribute, access supported"); EQ(v, 1, "peers");
	EQ(p_cudaDeviceGetP2PAttribute(&v, 3, 1, 0), 0, "native atomics"); EQ(v, 1, "supported");
	EQ(p_cudaDeviceGetP2PAttribute(&v, 1, 0, 1), 0, "performance rank"); EQ(v, 0, "the best");
	int can = -1;
	EQ(p_cudaDeviceCanAccessPeer(&can, 0, 1), 0, "cudaDeviceCanAccessPeer"); EQ(can, 1, "agrees with the access attribute");
	EQ(p_cudaDeviceGetP2PAttribute(&v, 2, 0, 0), 101, "one device on both sides = invalid device");
	EQ(p_cudaDeviceGetP2PAttribute(&v, 2, 0, 7), 101, "no such device = invalid device");
	EQ(p_cudaDeviceGetP2PAttribute(&v, 99, 0, 1), 1, "an unknown attribute = invalid value");
	EQ(p_cudaDeviceGetP2PAttribute(NULL, 2, 0, 1), 1, "NULL out = invalid value");

	void *s = NULL;
	union attrval a, got;
	EQ(p_cudaStreamCreateWithPriority(&s, 1, -3), 0, "a stream at priority -3");
	memset(&got, 0x7f, sizeof got);
	EQ(p_cudaStreamGetAttribute(s, 8, &got), 0, "cudaStreamGetAttribute, priority"); EQ(got.i, -3, "the stream's priority");
	EQ(p_cudaStreamGetAttribute(s, 3, &got), 0, "synchronisation policy"); EQ(got.i, 1, "automatic by default");
	memset(&a, 0, sizeof a); a.i = 4;
	EQ(p_cudaStreamSetAttribute(s, 3, &a), 0, "cudaStreamSetAttribute, blocking sync");
	EQ(p_cudaStreamGetAttribute(s, 3, &got), 0, "read back"); EQ(got.i, 4, "what was set");
	a.i = 9;
	EQ(p_cudaStreamSetAttribute(s, 3, &a), 1, "policy 9 = invalid value");
	EQ(p_cudaStreamGetAttribute(s, 3, &got), 0, "read back"); EQ(got.i, 4, "a refused value changes nothing");
	a.i = -1;
	EQ(p_cudaStreamSetAttribute(s, 8, &a), 0, "priority -1");
	int prio = 99;
	EQ(p_cudaStreamGetPriority_ptsz(s, &prio), 0, "cudaStreamGetPriority"); EQ(prio, -1, "the stream's priority follows");
	memset(&a, 0, sizeof a);
	a.window.bytes = 1 << 20; a.window.ratio = 0.5f; a.window.hit = 1; a.window.miss = 2;
	EQ(p_cudaStreamSetAttribute(s, 1, &a), 0, "an access policy window");
	EQ(p_cudaStreamGetAttribute(s, 1, &got), 0, "read back");
	CHECK(got.window.bytes == 1 << 20 && got.window.ratio == 0.5f && got.window.miss == 2, "the window set");
	a.window.ratio = 2;
	EQ(p_cudaStreamSetAttribute(s, 1, &a), 1, "a hit ratio above 1 = invalid value");
	a.window.ratio = 0.5f; a.window.bytes = 1ull << 40;
	EQ(p_cudaStreamSetAttribute(s, 1, &a), 1, "a window past the device's limit = invalid value");
	EQ(p_cudaStreamSetAttribute(s, 2, &a), 1, "cooperative is no stream attribute = invalid value");
	EQ(p_cudaStreamGetAttribute(s, 8, NULL), 1, "NULL out = invalid value");
	EQ(p_cudaStreamGetAttribute(WILD, 8, &got), 400, "a wild stream = invalid resource handle");
	memset(&a, 0, sizeof a); a.i = 2;
	EQ(p_cudaStreamSetAttribute(0, 3, &a), 400, "the legacy stream's attributes are not the caller's to set");
	EQ(p_cudaStreamSetAttribute_ptsz(0, 3, &a), 0, "the per-thread stream's are");
	EQ(p_cudaStreamGetAttribute(PER_THREAD, 3, &got), 0, "read through cudaStreamPerThread"); EQ(got.i, 2, "the value set");
	struct attr_seen other = {-1, -1};
	pthread_t t;
	pthread_create(&t, NULL, other_attr_thread, &other);
	pthread_join(t, NULL);
	EQ(other.err, 0, "another thread's per-thread stream"); EQ(other.policy, 1, "keeps its own attributes");
	p_cudaGetLastError();
	p_cudaStreamDestroy(s);

	const char *name = NULL;
	EQ(p_cudaFuncGetName(&name, (void *)host_stub), 0, "cudaFuncGetName");
	CHECK(name && !strcmp(name, "_Z4stubv"), "the kernel's device name: %s", name ? name : "(null)");
	EQ(p_cudaFuncGetName(&name, (void *)test_events), 98, "an unregistered function = invalid device function");
	EQ(p_cudaFuncGetName(NULL, (void *)host_stub), 1, "NULL out = invalid value");
	void *f = NULL, *k = NULL, *k2 = NULL;
	EQ(p_cudaGetFuncBySymbol(&f, (void *)host_stub), 0, "cudaGetFuncBySymbol"); CHECK(f != NULL, "a function handle");
	EQ(p_cudaGetKernel(&k, (void *)host_stub), 0, "cudaGetKernel");
	EQ(p___cudaGetKernel(&k2, (void *)host_stub), 0, "__cudaGetKernel");
	CHECK(k == k2 && k != NULL, "cudaGetKernel and nvcc's __cudaGetKernel agree");
	EQ(p_cudaGetFuncBySymbol(&f, (void *)test_events), 98, "an unregistered stub = invalid device function");
	p_cudaGetLastError();
}

int main(int argc, char **argv) {
	char path[4096];
	snprintf(path, sizeof path, "%s/libcudart.so.13", argc > 1 ? argv[1] : ".");
	void *h = dlopen(path, RTLD_NOW);
	if (!h) { printf("FAIL %s\n", dlerror()); return 1; }
#define BIND(r, n, a) if (!(p_##n = (r(*) a)dlsym(h, #n))) { printf("FAIL missing %s\n", #n); return 1; }
	FNS(BIND)
	in_process = !getenv("VGPU_BACKEND") || strcmp(getenv("VGPU_BACKEND"), "remote") != 0;
	wrapper.magic = 0x466243b1; wrapper.version = 1; wrapper.data = fatbin;
	void **mod = p___cudaRegisterFatBinary(&wrapper);
	p___cudaRegisterFunction(mod, (const char *)host_stub, "_Z4stubv", "_Z4stubv", -1, 0, 0, 0, 0, 0);
	p___cudaRegisterFunction(mod, (const char *)host_stub2, "_Z5stub2v", "_Z5stub2v", -1, 0, 0, 0, 0, 0);
	p___cudaRegisterFatBinaryEnd(mod);
	test_per_thread();
	test_events();
	test_host_flags();
	test_occupancy();
	test_graph_build();
	test_graph_edit();
	if (in_process) test_kernel_nodes();
	test_peers_and_attributes();
	p___cudaUnregisterFatBinary(mod);
	printf("%s: runtime13b %s: %d checks, %d failures\n", failures ? "FAIL" : "PASS", argc > 2 ? argv[2] : "", checks, failures);
	return failures != 0;
}
