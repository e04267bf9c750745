/* Parity with NVIDIA's stack: the answers the programs in tests/programs got natively on an H200 (CUDA 13,
 * driver 580) where vgpu answered otherwise. Run in-process (sim) and as a remote client of a
 * sim server: the same rules.
 *   parity LIBDIR [label]
 * Status values are NVIDIA's documented numbers (cudaError_t and CUresult agree on these):
 * 0 success, 1 invalid value, 217 peer access unsupported, 400 invalid resource handle,
 * 720 cooperative launch too large, 904 stream capture unjoined. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int err_t;
typedef struct { unsigned x, y, z; } dim3;
static int failures, checks;
#define CHECK(c, ...) do { checks++; if (!(c)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)
#define EQ(got, want, what) do { long long g_ = (long long)(got), w_ = (long long)(want); CHECK(g_ == w_, "%s: got %lld, want %lld", what, g_, w_); } while (0)

struct chdesc { int x, y, z, w, f; };
struct ipch { char reserved[64]; };

#define FNS(X) \
	X(err_t, cudaMalloc, (void **, size_t)) X(err_t, cudaFree, (void *)) \
	X(err_t, cudaMallocPitch, (void **, size_t *, size_t, size_t)) \
	X(err_t, cudaMemset2D, (void *, size_t, int, size_t, size_t)) \
	X(err_t, cudaMemset2DAsync, (void *, size_t, int, size_t, size_t, void *)) \
	X(err_t, cudaDeviceSynchronize, (void)) X(err_t, cudaGetLastError, (void)) \
	X(err_t, cudaDeviceEnablePeerAccess, (int, unsigned)) \
	X(err_t, cudaIpcOpenMemHandle, (void **, struct ipch, unsigned)) \
	X(err_t, cudaEventCreateWithFlags, (void **, unsigned)) X(err_t, cudaEventDestroy, (void *)) \
	X(err_t, cudaEventRecord, (void *, void *)) \
	X(err_t, cudaStreamCreateWithFlags, (void **, unsigned)) X(err_t, cudaStreamDestroy, (void *)) \
	X(err_t, cudaStreamWaitEvent, (void *, void *, unsigned)) \
	X(err_t, cudaStreamBeginCapture, (void *, int)) X(err_t, cudaStreamEndCapture, (void *, void **)) \
	X(err_t, cudaStreamIsCapturing, (void *, int *)) X(err_t, cudaGraphDestroy, (void *)) \
	X(err_t, cudaMemsetAsync, (void *, int, size_t, void *)) \
	X(err_t, cudaOccupancyMaxActiveBlocksPerMultiprocessor, (int *, const void *, int, size_t)) \
	X(err_t, cudaDeviceGetAttribute, (int *, int, int)) \
	X(err_t, cudaLaunchCooperativeKernel, (const void *, dim3, dim3, void **, size_t, void *)) \
	X(err_t, cudaLaunchCooperativeKernel_ptsz, (const void *, dim3, dim3, void **, size_t, void *)) \
	X(err_t, cudaLaunchKernel, (const void *, dim3, dim3, void **, size_t, void *)) \
	X(err_t, cudaMallocArray, (void **, const struct chdesc *, size_t, size_t, unsigned)) X(err_t, cudaFreeArray, (void *)) \
	X(err_t, cudaCreateSurfaceObject, (unsigned long long *, const void *)) \
	X(err_t, cudaDestroySurfaceObject, (unsigned long long)) \
	X(err_t, cuInit, (unsigned)) X(err_t, cuDevicePrimaryCtxRetain, (void **, int)) X(err_t, cuCtxSetCurrent, (void *)) \
	X(err_t, cuCtxEnablePeerAccess, (void *, unsigned)) \
	X(err_t, cuEventCreate, (void **, unsigned)) X(err_t, cuEventDestroy_v2, (void *)) \
	X(err_t, cuEventRecordWithFlags, (void *, void *, unsigned)) X(err_t, cuStreamWaitEvent, (void *, void *, unsigned)) \
	X(err_t, cuStreamSynchronize, (void *)) \
	X(err_t, cuMemsetD2D8_v2, (unsigned long long, size_t, unsigned char, size_t, size_t)) \
	X(err_t, cuMemHostAlloc, (void **, size_t, unsigned)) X(err_t, cuMemAllocHost_v2, (void **, size_t)) \
	X(err_t, cuMemFreeHost, (void *)) X(err_t, cuMemHostGetFlags, (unsigned *, void *)) \
	X(err_t, cudaGetFuncBySymbol, (void **, const void *)) \
	X(err_t, cuLaunchCooperativeKernel, (void *, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, void *, void **)) \
	X(void **, __cudaRegisterFatBinary, (void *)) X(void, __cudaRegisterFatBinaryEnd, (void **)) \
	X(void, __cudaUnregisterFatBinary, (void **)) \
	X(void, __cudaRegisterFunction, (void **, const char *, char *, const char *, int, void *, void *, void *, void *, int *))

#define DECL(r, n, a) static r(*p_##n) a;
FNS(DECL)

/* A fat binary whose payload names the kernel, so a sim server finds it by name when a
 * remote client ships the image: header (magic, version 1, header size 16; payload size),
 * then the payload. */
static void coop_stub(void) {}
static unsigned long long fatbin[4] = {0x0010000100000000ull | 0xba55ed50u, 16, 0, 0};
static struct { int magic, version; void *data, *unused; } wrapper;

/* cudaDeviceEnablePeerAccess and cuCtxEnablePeerAccess of a device to itself: peer access
 * unsupported (cudaDeviceCanAccessPeer(d, d) is 0), not an invalid device. */
static void test_peer_self(void *ctx) {
	EQ(p_cudaDeviceEnablePeerAccess(0, 0), 217, "cudaDeviceEnablePeerAccess to itself");
	p_cudaGetLastError();
	EQ(p_cuCtxEnablePeerAccess(ctx, 0), 217, "cuCtxEnablePeerAccess to its own context");
}

/* One row needs no pitch: a 2D fill of one row wider than the pitch succeeds; two such rows
 * would overlap and are an invalid value. */
static void test_memset2d_one_row(void) {
	void *d = NULL;
	size_t pitch = 0;
	EQ(p_cudaMallocPitch(&d, &pitch, 64, 4), 0, "cudaMallocPitch");
	EQ(p_cudaMemset2D(d, pitch, 0, pitch + 1, 1), 0, "one row wider than the pitch");
	EQ(p_cudaMemset2DAsync(d, pitch, 0, pitch + 1, 1, NULL), 0, "async, one row wider than the pitch");
	EQ(p_cudaMemset2D(d, pitch, 0, pitch + 1, 2), 1, "two rows wider than the pitch");
	EQ(p_cuMemsetD2D8_v2((unsigned long long)(size_t)d, pitch, 0, pitch + 1, 1), 0, "cuMemsetD2D8, one row");
	EQ(p_cudaDeviceSynchronize(), 0, "no deferred error");
	EQ(p_cudaFree(d), 0, "cudaFree");
}

/* An all-zero IPC handle is an invalid value; interprocess events must disable timing. */
static void test_ipc_and_event_flags(void) {
	struct ipch zero;
	memset(&zero, 0, sizeof zero);
	void *p = NULL;
	EQ(p_cudaIpcOpenMemHandle(&p, zero, 1), 1, "open a zero handle");
	void *ev = NULL;
	EQ(p_cudaEventCreateWithFlags(&ev, 0x4), 1, "cudaEventInterprocess without cudaEventDisableTiming");
	EQ(p_cudaEventCreateWithFlags(&ev, 0x6), 0, "interprocess with disable-timing");
	EQ(p_cudaEventDestroy(ev), 0, "destroy");
	EQ(p_cuEventCreate(&ev, 0x4), 1, "CU_EVENT_INTERPROCESS without CU_EVENT_DISABLE_TIMING");
	EQ(p_cuEventCreate(&ev, 0x6), 0, "cuEventCreate interprocess with disable-timing");
	/* Unknown flags fail at the call, and leave nothing for the next synchronisation. */
	EQ(p_cuEventRecordWithFlags(ev, NULL, 0x80), 1, "cuEventRecordWithFlags with an unknown flag");
	EQ(p_cuStreamWaitEvent(NULL, ev, 0x80), 1, "cuStreamWaitEvent with an unknown flag");
	EQ(p_cuStreamSynchronize(NULL), 0, "no deferred error from either");
	EQ(p_cuEventDestroy_v2(ev), 0, "cuEventDestroy");
}

/* A capture whose forked stream's work is never waited for by the origin ends with
 * cudaErrorStreamCaptureUnjoined, no graph, and no stream left capturing; joined, it ends. */
static void test_capture_unjoined(void) {
	void *s = NULL, *s2 = NULL, *fork = NULL, *join = NULL, *g = NULL, *d = NULL;
	int st = -1;
	EQ(p_cudaMalloc(&d, 256), 0, "cudaMalloc");
	EQ(p_cudaStreamCreateWithFlags(&s, 1), 0, "stream");
	EQ(p_cudaStreamCreateWithFlags(&s2, 1), 0, "second stream");
	EQ(p_cudaEventCreateWithFlags(&fork, 2), 0, "fork event");
	EQ(p_cudaEventCreateWithFlags(&join, 2), 0, "join event");

	EQ(p_cudaStreamBeginCapture(s, 0), 0, "begin");
	EQ(p_cudaEventRecord(fork, s), 0, "record the fork");
	EQ(p_cudaStreamWaitEvent(s2, fork, 0), 0, "fork");
	EQ(p_cudaMemsetAsync(d, 1, 256, s2), 0, "work on the fork");
	g = (void *)1;
	EQ(p_cudaStreamEndCapture(s, &g), 904, "end with an unjoined fork");
	CHECK(g == NULL, "no graph from an unjoined capture");
	EQ(p_cudaStreamIsCapturing(s2, &st), 0, "status of the fork");
	EQ(st, 0, "the fork no longer captures");
	EQ(p_cudaStreamIsCapturing(s, &st), 0, "status of the origin");
	EQ(st, 0, "the origin no longer captures");

	EQ(p_cudaStreamBeginCapture(s, 0), 0, "begin again");
	EQ(p_cudaEventRecord(fork, s), 0, "record the fork");
	EQ(p_cudaStreamWaitEvent(s2, fork, 0), 0, "fork");
	EQ(p_cudaMemsetAsync(d, 1, 256, s2), 0, "work on the fork");
	EQ(p_cudaEventRecord(join, s2), 0, "record the join");
	EQ(p_cudaStreamWaitEvent(s, join, 0), 0, "join");
	EQ(p_cudaMemsetAsync(d, 2, 128, s), 0, "work after the join");
	EQ(p_cudaStreamEndCapture(s, &g), 0, "end with the fork joined");
	CHECK(g != NULL, "a graph");
	if (g) EQ(p_cudaGraphDestroy(g), 0, "destroy the graph");

	/* Work on the fork after its join point needs a join of its own. */
	EQ(p_cudaStreamBeginCapture(s, 0), 0, "begin a third time");
	EQ(p_cudaEventRecord(fork, s), 0, "record the fork");
	EQ(p_cudaStreamWaitEvent(s2, fork, 0), 0, "fork");
	EQ(p_cudaEventRecord(join, s2), 0, "record the join");
	EQ(p_cudaStreamWaitEvent(s, join, 0), 0, "join");
	EQ(p_cudaMemsetAsync(d, 3, 64, s2), 0, "more work on the fork after the join");
	EQ(p_cudaStreamEndCapture(s, &g), 904, "the later work is unjoined");

	EQ(p_cudaEventDestroy(fork), 0, "destroy"); EQ(p_cudaEventDestroy(join), 0, "destroy");
	EQ(p_cudaStreamDestroy(s), 0, "destroy"); EQ(p_cudaStreamDestroy(s2), 0, "destroy");
	EQ(p_cudaFree(d), 0, "free");
}

/* A cooperative grid of as many blocks as are co-resident launches; one block more is
 * cudaErrorCooperativeLaunchTooLarge, through the runtime and the driver alike. */
static void test_cooperative(void) {
	int per = 0, sms = 0;
	EQ(p_cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per, (const void *)coop_stub, 256, 0), 0, "occupancy");
	EQ(p_cudaDeviceGetAttribute(&sms, 16, 0), 0, "SM count");
	CHECK(per > 0 && sms > 0, "occupancy %d, SMs %d", per, sms);
	dim3 fits = {(unsigned)(per * sms), 1, 1}, toobig = {(unsigned)(per * sms + 1), 1, 1}, block = {256, 1, 1};
	EQ(p_cudaLaunchCooperativeKernel((const void *)coop_stub, fits, block, NULL, 0, NULL), 0, "a co-resident grid");
	EQ(p_cudaDeviceSynchronize(), 0, "it ran");
	EQ(p_cudaLaunchCooperativeKernel((const void *)coop_stub, toobig, block, NULL, 0, NULL), 720, "one block more");
	p_cudaGetLastError();
	EQ(p_cudaLaunchCooperativeKernel_ptsz((const void *)coop_stub, toobig, block, NULL, 0, NULL), 720, "the per-thread form too");
	p_cudaGetLastError();
	EQ(p_cudaLaunchKernel((const void *)coop_stub, toobig, block, NULL, 0, NULL), 0, "a plain launch of that grid is fine");
	EQ(p_cudaDeviceSynchronize(), 0, "it ran");
	void *f = NULL;
	EQ(p_cudaGetFuncBySymbol(&f, (const void *)coop_stub), 0, "cudaGetFuncBySymbol");
	EQ(p_cuLaunchCooperativeKernel(f, fits.x, 1, 1, 256, 1, 1, 0, NULL, NULL), 0, "cuLaunchCooperativeKernel, co-resident");
	EQ(p_cuStreamSynchronize(NULL), 0, "it ran");
	EQ(p_cuLaunchCooperativeKernel(f, toobig.x, 1, 1, 256, 1, 1, 0, NULL, NULL), 720, "cuLaunchCooperativeKernel, one block more");
}

/* cuMemHostAlloc and kin answer in a driver-only program (NVIDIA's runtime calls them) on
 * every backend: a remote client's contexts are the server's. */
static void test_driver_host_memory(void) {
	void *h = NULL, *h2 = NULL;
	unsigned flags = 99;
	EQ(p_cuMemHostAlloc(&h, 4096, 0), 0, "cuMemHostAlloc");
	CHECK(h != NULL, "a pointer");
	if (h) memset(h, 0x5a, 4096);
	EQ(p_cuMemHostGetFlags(&flags, h), 0, "cuMemHostGetFlags");
	EQ(p_cuMemAllocHost_v2(&h2, 64), 0, "cuMemAllocHost");
	EQ(p_cuMemFreeHost(h), 0, "cuMemFreeHost");
	EQ(p_cuMemFreeHost(h2), 0, "cuMemFreeHost");
}

/* A surface over an array made without cudaArraySurfaceLoadStore is created, as NVIDIA's
 * runtime does. */
static void test_surface_any_array(void) {
	struct chdesc f32 = {32, 0, 0, 0, 2};
	void *a = NULL;
	EQ(p_cudaMallocArray(&a, &f32, 16, 4, 0), 0, "an array without load/store");
	unsigned char rd[64];
	memset(rd, 0, sizeof rd);
	memcpy(rd + 8, &a, sizeof a); /* resType 0 (array), then the array */
	unsigned long long surf = 0;
	EQ(p_cudaCreateSurfaceObject(&surf, rd), 0, "a surface over it");
	EQ(p_cudaDestroySurfaceObject(surf), 0, "destroy");
	EQ(p_cudaFreeArray(a), 0, "free");
}

int main(int argc, char **argv) {
	char path[4096];
	snprintf(path, sizeof path, "%s/libcudart.so.13", argc > 1 ? argv[1] : ".");
	void *h = dlopen(path, RTLD_NOW);
	if (!h) { printf("FAIL %s\n", dlerror()); return 1; }
#define BIND(r, n, a) if (!(p_##n = (r(*) a)dlsym(h, #n))) { printf("FAIL missing %s\n", #n); return 1; }
	FNS(BIND)
	memcpy((char *)&fatbin[2], "\0_Z4coopv\0", 11);
	wrapper.magic = 0x466243b1; wrapper.version = 1; wrapper.data = fatbin;
	void **mod = p___cudaRegisterFatBinary(&wrapper);
	p___cudaRegisterFunction(mod, (const char *)coop_stub, "_Z4coopv", "_Z4coopv", -1, 0, 0, 0, 0, 0);
	p___cudaRegisterFatBinaryEnd(mod);
	void *ctx = NULL;
	EQ(p_cuInit(0), 0, "cuInit");
	EQ(p_cuDevicePrimaryCtxRetain(&ctx, 0), 0, "cuDevicePrimaryCtxRetain");
	EQ(p_cuCtxSetCurrent(ctx), 0, "cuCtxSetCurrent");
	test_driver_host_memory();
	test_peer_self(ctx);
	test_memset2d_one_row();
	test_ipc_and_event_flags();
	test_capture_unjoined();
	test_cooperative();
	test_surface_any_array();
	p___cudaUnregisterFatBinary(mod);
	printf("%s: parity %s: %d checks, %d failures\n", failures ? "FAIL" : "PASS", argc > 2 ? argv[2] : "", checks, failures);
	return failures != 0;
}
