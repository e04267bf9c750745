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
	X(err_t, cudaGraphLaunch_ptsz, (void *, void *))
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
	p___cudaRegisterFatBinaryEnd(mod);
	test_per_thread();
	test_events();
	p___cudaUnregisterFatBinary(mod);
	printf("%s: runtime13b %s: %d checks, %d failures\n", failures ? "FAIL" : "PASS", argc > 2 ? argv[2] : "", checks, failures);
	return failures != 0;
}
