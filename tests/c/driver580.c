/* Driver 580's additions (issue 13): green contexts on an SM partition model, cuCtxCreate_v4,
 * the calls that name their context, graph edge data, async notifications, process
 * checkpoints and batch decompression. Run in-process (sim) and as a remote client of a sim
 * server, on the default H100 (132 SMs, compute capability 9.0):
 *   driver580 LIBDIR [label]
 * Status values are NVIDIA's documented CUresult numbers: 0 success, 1 invalid value,
 * 201 invalid context, 400 invalid handle, 401 illegal state, 801 not supported,
 * 900 capture unsupported, 914 invalid resource type, 915 invalid resource configuration,
 * 224 unsupported execution affinity. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int CUresult;
typedef unsigned long long CUdeviceptr;
typedef void *H;
static int failures, checks;
#define CHECK(c, ...) do { checks++; if (!(c)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)
#define EQ(got, want, what) do { long long g_ = (long long)(got), w_ = (long long)(want); CHECK(g_ == w_, "%s: got %lld, want %lld", what, g_, w_); } while (0)

/* CUdevResource: type, 92 bytes of the driver's, then the SM resource (CUDA 13's four fields). */
typedef struct {
	int type;
	unsigned char internal[92];
	struct { unsigned smCount, minSmPartitionSize, smCoscheduledAlignment, flags; } sm;
	unsigned char rest[48 - 16];
} devres;
typedef struct { unsigned char from_port, to_port, type, reserved[5]; } edgedata;
typedef struct { void *aff; int numAff; void *cig; } ctxparams;
typedef struct { int type; union { unsigned smCount; } param; } affinity;

#define FNS(X) \
	X(cuInit, (unsigned)) X(cuDevicePrimaryCtxRetain, (H *, int)) X(cuCtxSetCurrent, (H)) X(cuCtxGetCurrent, (H *)) \
	X(cuCtxPushCurrent_v2, (H)) X(cuCtxPopCurrent_v2, (H *)) X(cuCtxGetId, (H, unsigned long long *)) \
	X(cuCtxDestroy_v2, (H)) X(cuDeviceGetAttribute, (int *, int, int)) \
	X(cuDeviceGetDevResource, (int, devres *, int)) X(cuCtxGetDevResource, (H, devres *, int)) \
	X(cuGreenCtxGetDevResource, (H, devres *, int)) \
	X(cuDevSmResourceSplitByCount, (devres *, unsigned *, const devres *, devres *, unsigned, unsigned)) \
	X(cuDevResourceGenerateDesc, (H *, devres *, unsigned)) X(cuGreenCtxCreate, (H *, H, int, unsigned)) \
	X(cuGreenCtxDestroy, (H)) X(cuCtxFromGreenCtx, (H *, H)) X(cuGreenCtxGetId, (H, unsigned long long *)) \
	X(cuGreenCtxRecordEvent, (H, H)) X(cuGreenCtxWaitEvent, (H, H)) \
	X(cuGreenCtxStreamCreate, (H *, H, unsigned, int)) X(cuStreamGetGreenCtx, (H, H *)) \
	X(cuStreamGetCtx_v2, (H, H *, H *)) X(cuStreamGetCtx_v2_ptsz, (H, H *, H *)) \
	X(cuStreamGetDevice_ptsz, (H, int *)) X(cuStreamCreate, (H *, unsigned)) X(cuStreamDestroy_v2, (H)) \
	X(cuStreamGetCaptureInfo_v3_ptsz, (H, int *, unsigned long long *, H *, const H **, const edgedata **, size_t *)) \
	X(cuStreamBeginCapture_v2, (H, int)) X(cuStreamEndCapture, (H, H *)) \
	X(cuCtxCreate_v4, (H *, ctxparams *, unsigned, int)) X(cuCtxGetDevice_v2, (int *, H)) \
	X(cuCtxSynchronize_v2, (H)) X(cuCtxRecordEvent, (H, H)) X(cuCtxWaitEvent, (H, H)) \
	X(cuEventCreate, (H *, unsigned)) X(cuEventQuery, (H)) X(cuEventDestroy_v2, (H)) \
	X(cuGraphCreate, (H *, unsigned)) X(cuGraphAddEmptyNode, (H *, H, const H *, size_t)) \
	X(cuGraphAddNode_v2, (H *, H, const H *, const edgedata *, size_t, void *)) \
	X(cuGraphGetEdges_v2, (H, H *, H *, edgedata *, size_t *)) \
	X(cuGraphNodeGetDependencies_v2, (H, H *, edgedata *, size_t *)) \
	X(cuGraphNodeGetDependentNodes_v2, (H, H *, edgedata *, size_t *)) \
	X(cuGraphRemoveDependencies_v2, (H, const H *, const H *, const edgedata *, size_t)) \
	X(cuGraphNodeGetType, (H, int *)) X(cuGraphDestroy, (H)) \
	X(cuDeviceRegisterAsyncNotification, (int, void *, void *, H *)) \
	X(cuDeviceUnregisterAsyncNotification, (int, H)) \
	X(cuCheckpointProcessGetState, (int, int *)) X(cuCheckpointProcessGetRestoreThreadId, (int, int *)) \
	X(cuCheckpointProcessLock, (int, void *)) X(cuCheckpointProcessCheckpoint, (int, void *)) \
	X(cuCheckpointProcessRestore, (int, void *)) X(cuCheckpointProcessUnlock, (int, void *)) \
	X(cuMemAlloc_v2, (CUdeviceptr *, size_t)) X(cuMemFree_v2, (CUdeviceptr)) \
	X(cuMemcpyHtoD_v2, (CUdeviceptr, const void *, size_t)) X(cuMemcpyDtoH_v2, (void *, CUdeviceptr, size_t)) \
	X(cuMemBatchDecompressAsync, (void *, size_t, unsigned, size_t *, H)) \
	X(cuGetProcAddress_v2, (const char *, void **, int, unsigned long long, int *))

#define DECL(name, args) static CUresult(*name) args;
FNS(DECL)

static void notified(void *info, void *user, H handle) { (void)info; (void)user; (void)handle; }

/* An H100 has 132 SMs; a cc 9.0 group is at least 8 SMs and a multiple of 8. */
static void resources(void) {
	devres dev, groups[32], rest;
	memset(&dev, 0, sizeof dev);
	EQ(cuDeviceGetDevResource(0, &dev, 1), 0, "the device's SM resource");
	EQ(dev.sm.smCount, 132, "every SM of the H100");
	EQ(dev.sm.minSmPartitionSize, 8, "cc 9.0's smallest group");
	EQ(dev.sm.smCoscheduledAlignment, 8, "cc 9.0's group multiple");
	/* Outputs of failed calls are scratch: a remote client's come back cleared. */
	devres scratch;
	EQ(cuDeviceGetDevResource(0, &scratch, 1000), 914, "only SM resources");
	EQ(cuDeviceGetDevResource(7, &scratch, 1), 101, "no such device");

	unsigned nb = 0;
	EQ(cuDevSmResourceSplitByCount(NULL, &nb, &dev, NULL, 0, 16), 0, "a dry run");
	EQ(nb, 132 / 16, "groups of 16 that fit");
	nb = 0;
	EQ(cuDevSmResourceSplitByCount(NULL, &nb, &dev, NULL, 0, 5), 0, "5 rounds up to the minimum 8");
	EQ(nb, 132 / 8, "groups of 8");
	EQ(cuDevSmResourceSplitByCount(NULL, &nb, &dev, NULL, 0, 12), 0, "12 rounds up to 16");
	EQ(nb, 8, "eight groups of 16");
	EQ(cuDevSmResourceSplitByCount(NULL, &nb, &dev, NULL, 1, 3), 0, "ignoring co-scheduling: two-SM granularity");
	EQ(nb, 132 / 4, "groups of 4");
	EQ(cuDevSmResourceSplitByCount(NULL, &nb, &dev, NULL, 0, 200), 915, "more SMs than the device has");
	EQ(cuDevSmResourceSplitByCount(NULL, &nb, &dev, NULL, 8, 8), 1, "an unknown flag");

	nb = 3;
	memset(groups, 0, sizeof groups);
	EQ(cuDevSmResourceSplitByCount(groups, &nb, &dev, &rest, 0, 32), 0, "three groups of 32");
	EQ(nb, 3, "as many as asked");
	for (int i = 0; i < 3; i++) EQ(groups[i].sm.smCount, 32, "a group's SMs");
	EQ(rest.sm.smCount, 132 - 96, "the remainder");
	EQ(cuDevSmResourceSplitByCount(NULL, &nb, &groups[0], NULL, 0, 8), 915, "a group splits again only as a green context's");

	devres forged = groups[0];
	forged.sm.smCount = 64;
	H desc = NULL;
	EQ(cuDevResourceGenerateDesc(&desc, &forged, 1), 915, "a resource whose count was changed");
	devres other[2];
	nb = 1;
	EQ(cuDevSmResourceSplitByCount(other, &nb, &dev, &other[1], 0, 8), 0, "a second split");
	devres mixed[2] = {groups[0], other[0]};
	EQ(cuDevResourceGenerateDesc(&desc, mixed, 2), 915, "resources of two splits");
	EQ(cuDevResourceGenerateDesc(&desc, groups, 0), 1, "no resource");

	devres two[2] = {groups[0], groups[2]};
	EQ(cuDevResourceGenerateDesc(&desc, two, 2), 0, "two groups of one split");
	H green = NULL;
	EQ(cuGreenCtxCreate(&green, desc, 0, 2), 1, "an unknown flag");
	EQ(cuGreenCtxCreate(&green, (H)0x1234, 0, 1), 1, "not a descriptor");
	EQ(cuGreenCtxCreate(&green, desc, 0, 1), 0, "a green context with a default stream");
	devres gr;
	EQ(cuGreenCtxGetDevResource(green, &gr, 1), 0, "its resource");
	EQ(gr.sm.smCount, 64, "the SMs of both groups");
	nb = 0;
	EQ(cuDevSmResourceSplitByCount(NULL, &nb, &gr, NULL, 0, 16), 0, "a green context's resource splits");
	EQ(nb, 4, "four groups of 16 of its 64");

	H gctx = NULL, cur = NULL;
	EQ(cuCtxFromGreenCtx(&gctx, green), 0, "its context");
	EQ(cuCtxGetCurrent(&cur), 0, "cuCtxGetCurrent");
	CHECK(cur != gctx, "creating a green context does not make it current");
	devres cr;
	EQ(cuCtxGetDevResource(gctx, &cr, 1), 0, "the context's resource");
	EQ(cr.sm.smCount, 64, "is the green context's");
	EQ(cuCtxGetDevResource(cur, &cr, 1), 0, "a regular context's resource");
	EQ(cr.sm.smCount, 132, "is the device's");
	unsigned long long gid = 0, cid = 1;
	EQ(cuGreenCtxGetId(green, &gid), 0, "cuGreenCtxGetId");
	EQ(cuCtxGetId(gctx, &cid), 0, "cuCtxGetId of its context");
	EQ(gid, cid, "the same id");

	H s = NULL, g2 = NULL, c2 = NULL;
	EQ(cuGreenCtxStreamCreate(&s, green, 0, 0), 1, "a green context's stream must be non-blocking");
	EQ(cuGreenCtxStreamCreate(&s, green, 1, 0), 0, "a non-blocking stream");
	EQ(cuStreamGetGreenCtx(s, &g2), 0, "cuStreamGetGreenCtx");
	CHECK(g2 == green, "the stream's green context");
	H prim = NULL;
	EQ(cuDevicePrimaryCtxRetain(&prim, 0), 0, "the primary context");
	EQ(cuStreamGetCtx_v2(s, &c2, &g2), 0, "cuStreamGetCtx_v2");
	CHECK(c2 == prim && g2 == green, "the primary context and the green context");
	H plain = NULL;
	EQ(cuStreamCreate(&plain, 0), 0, "a regular stream");
	EQ(cuStreamGetGreenCtx(plain, &g2), 0, "cuStreamGetGreenCtx");
	CHECK(g2 == NULL, "none for a regular stream");
	EQ(cuStreamGetCtx_v2_ptsz(plain, &c2, &g2), 0, "cuStreamGetCtx_v2_ptsz");
	CHECK(c2 == cur && g2 == NULL, "its context and no green context");
	EQ(cuCtxPushCurrent_v2(gctx), 0, "the green context current");
	EQ(cuStreamGetGreenCtx(NULL, &g2), 0, "the NULL stream");
	CHECK(g2 == green, "the current green context's");
	EQ(cuCtxPopCurrent_v2(&c2), 0, "popped");

	H ev = NULL;
	EQ(cuEventCreate(&ev, 0), 0, "an event");
	EQ(cuGreenCtxRecordEvent(green, ev), 0, "recorded for the green context");
	EQ(cuEventQuery(ev), 0, "complete: the model's work is done at issue");
	EQ(cuGreenCtxWaitEvent(green, ev), 0, "the green context waits for it");
	EQ(cuGreenCtxRecordEvent(green, (H)0x99), 400, "not an event");

	H graph = NULL;
	EQ(cuStreamBeginCapture_v2(s, 0), 0, "capturing the green stream");
	EQ(cuGreenCtxRecordEvent(green, ev), 900, "not while a stream of it captures");
	EQ(cuStreamEndCapture(s, &graph), 0, "capture ended");
	if (graph) cuGraphDestroy(graph);

	EQ(cuGreenCtxDestroy(green), 0, "destroyed");
	EQ(cuGreenCtxGetId(green, &gid), 400, "gone");
	EQ(cuCtxGetDevResource(gctx, &cr, 1), 201, "its context is gone too");
	EQ(cuStreamGetGreenCtx(s, &g2), 400, "and its stream");
	EQ(cuStreamDestroy_v2(plain), 0, "cuStreamDestroy");
	EQ(cuEventDestroy_v2(ev), 0, "cuEventDestroy");
}

static void contexts(void) {
	H cur = NULL, c = NULL;
	cuCtxGetCurrent(&cur);
	int dev = -1;
	EQ(cuCtxGetDevice_v2(&dev, cur), 0, "cuCtxGetDevice_v2");
	EQ(dev, 0, "device 0");
	EQ(cuCtxGetDevice_v2(&dev, NULL), 0, "NULL: the current context");
	EQ(cuCtxGetDevice_v2(&dev, (H)0x7777), 201, "not a context");
	EQ(cuCtxSynchronize_v2(cur), 0, "cuCtxSynchronize_v2");
	EQ(cuCtxSynchronize_v2(NULL), 0, "NULL: the current context");
	EQ(cuCtxSynchronize_v2((H)0x7777), 201, "not a context, even with nothing in flight");

	EQ(cuCtxCreate_v4(&c, NULL, 0, 0), 0, "cuCtxCreate_v4 without parameters");
	EQ(cuCtxGetCurrent(&cur), 0, "cuCtxGetCurrent");
	CHECK(cur == c, "the new context is current");
	EQ(cuCtxDestroy_v2(c), 0, "destroyed");
	affinity aff = {0, {8}};
	ctxparams p = {&aff, 1, NULL};
	EQ(cuCtxCreate_v4(&c, &p, 0, 0), 224, "execution affinity needs MPS");
	int cig = 7;
	ctxparams q = {NULL, 0, &cig};
	EQ(cuCtxCreate_v4(&c, &q, 0, 0), 801, "no CUDA-in-graphics on the H100");
	ctxparams both = {&aff, 1, &cig};
	EQ(cuCtxCreate_v4(&c, &both, 0, 0), 1, "affinity and CIG are exclusive");
	ctxparams none = {NULL, 0, NULL};
	EQ(cuCtxCreate_v4(&c, &none, 0, 5), 101, "no device 5");
	EQ(cuCtxCreate_v4(&c, &none, 0, 0), 0, "empty parameters");
	EQ(cuCtxDestroy_v2(c), 0, "destroyed");
	void *fn = NULL;
	int st = 9;
	EQ(cuGetProcAddress_v2("cuCtxCreate", &fn, 12050, 0, &st), 0, "cuCtxCreate at 12.5");
	CHECK(fn == (void *)cuCtxCreate_v4, "is cuCtxCreate_v4");
	EQ(cuGetProcAddress_v2("cuCtxSynchronize", &fn, 13000, 0, &st), 0, "cuCtxSynchronize at 13.0");
	CHECK(fn == (void *)cuCtxSynchronize_v2, "is cuCtxSynchronize_v2");

	cuCtxGetCurrent(&cur);
	H ev = NULL, s = NULL, g = NULL;
	EQ(cuEventCreate(&ev, 0), 0, "an event");
	EQ(cuCtxRecordEvent(cur, ev), 0, "recorded for the context");
	EQ(cuCtxWaitEvent(cur, ev), 0, "the context waits for it");
	EQ(cuStreamCreate(&s, 1), 0, "a stream");
	EQ(cuStreamBeginCapture_v2(s, 2), 0, "capturing");
	EQ(cuCtxRecordEvent(cur, ev), 900, "not while a stream of the context captures");
	EQ(cuStreamEndCapture(s, &g), 0, "capture ended");
	if (g) cuGraphDestroy(g);
	int d = -1;
	EQ(cuStreamGetDevice_ptsz(NULL, &d), 0, "cuStreamGetDevice_ptsz");
	EQ(d, 0, "the per-thread stream's device");
	int status = 9;
	unsigned long long id = 0;
	EQ(cuStreamGetCaptureInfo_v3_ptsz(s, &status, &id, NULL, NULL, NULL, NULL), 0, "cuStreamGetCaptureInfo_v3_ptsz");
	EQ(status, 0, "not capturing");
	cuStreamDestroy_v2(s);
	cuEventDestroy_v2(ev);
}

static void graphs(int remote) {
	H g = NULL, a = NULL, b = NULL, c = NULL;
	EQ(cuGraphCreate(&g, 0), 0, "cuGraphCreate");
	EQ(cuGraphAddEmptyNode(&a, g, NULL, 0), 0, "a");
	unsigned char params[256];
	memset(params, 0, sizeof params);
	*(int *)params = 5; /* empty */
	edgedata def[1];
	memset(def, 0, sizeof def);
	EQ(cuGraphAddNode_v2(&b, g, &a, def, 1, params), 0, "an empty node after a, default edge");
	int typ = -1;
	EQ(cuGraphNodeGetType(b, &typ), 0, "its type");
	EQ(typ, 5, "empty");
	edgedata prog = {1, 0, 1, {0}};
	EQ(cuGraphAddNode_v2(&c, g, &a, &prog, 1, params), 1, "a programmatic edge needs kernel nodes");
	*(int *)params = 77;
	EQ(cuGraphAddNode_v2(&c, g, &a, NULL, 1, params), 1, "no such node type");
	*(int *)params = 13;
	EQ(cuGraphAddNode_v2(&c, g, &a, NULL, 1, params), 801, "conditional nodes are not built yet");
	*(int *)params = 3; /* host */
	*(void **)(params + 16) = (void *)notified;
	if (remote) EQ(cuGraphAddNode_v2(&c, g, &a, NULL, 1, params), 801, "a server cannot run a client's host function");

	H from[4], to[4];
	edgedata ed[4];
	memset(ed, 0xff, sizeof ed);
	size_t n = 4;
	EQ(cuGraphGetEdges_v2(g, from, to, ed, &n), 0, "cuGraphGetEdges_v2");
	EQ(n, 1, "one edge");
	CHECK(from[0] == a && to[0] == b, "a -> b");
	EQ(ed[0].type + ed[0].from_port + ed[0].to_port, 0, "the default edge");
	n = 0;
	EQ(cuGraphGetEdges_v2(g, NULL, NULL, NULL, &n), 0, "the count");
	EQ(n, 1, "one");
	EQ(cuGraphGetEdges_v2(g, NULL, NULL, ed, &n), 1, "edge data without edges");
	H deps[2];
	n = 2;
	memset(ed, 0xff, sizeof ed);
	EQ(cuGraphNodeGetDependencies_v2(b, deps, ed, &n), 0, "b's dependencies");
	EQ(n, 1, "one");
	CHECK(deps[0] == a && ed[0].type == 0, "a, default edge");
	n = 2;
	EQ(cuGraphNodeGetDependentNodes_v2(a, deps, ed, &n), 0, "a's dependents");
	CHECK(n == 1 && deps[0] == b, "b");
	EQ(cuGraphRemoveDependencies_v2(g, &a, &b, &prog, 1), 1, "no programmatic edge a -> b");
	EQ(cuGraphRemoveDependencies_v2(g, &a, &b, def, 1), 0, "the default edge removed");
	n = 4;
	EQ(cuGraphGetEdges_v2(g, from, to, ed, &n), 0, "cuGraphGetEdges_v2");
	EQ(n, 0, "no edge left");
	EQ(cuGraphRemoveDependencies_v2(g, &a, &b, NULL, 1), 1, "not there any more");
	cuGraphDestroy(g);
}

static void notifications(void) {
	H h = NULL, scratch = NULL;
	EQ(cuDeviceRegisterAsyncNotification(0, (void *)notified, NULL, &h), 0, "registered");
	CHECK(h != NULL, "a handle");
	EQ(cuDeviceRegisterAsyncNotification(0, NULL, NULL, &scratch), 1, "no callback");
	EQ(cuDeviceRegisterAsyncNotification(9, (void *)notified, NULL, &scratch), 101, "no device 9");
	EQ(cuDeviceUnregisterAsyncNotification(0, (H)0x55), 1, "not a registration");
	EQ(cuDeviceUnregisterAsyncNotification(0, h), 0, "unregistered");
	EQ(cuDeviceUnregisterAsyncNotification(0, h), 1, "only once");
}

/* A checkpoint takes device memory to the host and a restore brings it back bit for bit. */
static void checkpoints(void) {
	int pid = getpid(), state = -1, tid = 0;
	EQ(cuCheckpointProcessGetState(pid, &state), 0, "the process's state");
	EQ(state, 0, "running");
	EQ(cuCheckpointProcessGetState(pid == 1 ? 2 : 1, &state), 1, "another process cannot be named");
	EQ(cuCheckpointProcessCheckpoint(pid, NULL), 401, "a running process must be locked first");
	EQ(cuCheckpointProcessGetRestoreThreadId(pid, &tid), 0, "the restore thread");
	CHECK(tid > 0, "a thread id");
	enum { N = 1 << 16 };
	CUdeviceptr p = 0;
	EQ(cuMemAlloc_v2(&p, N), 0, "cuMemAlloc");
	unsigned char *buf = malloc(N), *back = malloc(N);
	for (int i = 0; i < N; i++) buf[i] = (unsigned char)(i * 7 + 3);
	EQ(cuMemcpyHtoD_v2(p, buf, N), 0, "a pattern on the device");
	unsigned char args[64];
	memset(args, 0, sizeof args);
	args[20] = 1;
	EQ(cuCheckpointProcessLock(pid, args), 1, "reserved lock arguments must be zero");
	args[20] = 0;
	*(unsigned *)args = 1000; /* timeoutMs */
	EQ(cuCheckpointProcessLock(pid, args), 0, "locked");
	EQ(cuCheckpointProcessLock(pid, NULL), 401, "already locked");
	EQ(cuCheckpointProcessGetState(pid, &state), 0, "state");
	EQ(state, 1, "locked");
	EQ(cuCheckpointProcessCheckpoint(pid, NULL), 0, "checkpointed");
	EQ(cuCheckpointProcessGetState(pid, &state), 0, "state");
	EQ(state, 2, "checkpointed");
	EQ(cuCheckpointProcessUnlock(pid, NULL), 401, "a checkpointed process is restored before it unlocks");
	EQ(cuCheckpointProcessRestore(pid, NULL), 0, "restored");
	EQ(cuCheckpointProcessGetState(pid, &state), 0, "state");
	EQ(state, 1, "locked again");
	EQ(cuCheckpointProcessUnlock(pid, NULL), 0, "unlocked");
	EQ(cuCheckpointProcessGetState(pid, &state), 0, "state");
	EQ(state, 0, "running");
	memset(back, 0, N);
	EQ(cuMemcpyDtoH_v2(back, p, N), 0, "read back");
	CHECK(!memcmp(buf, back, N), "the device memory is bit for bit what it was");
	cuMemFree_v2(p);
	free(buf);
	free(back);
}

static void decompress(void) {
	int mask = -1, len = -1;
	EQ(cuDeviceGetAttribute(&mask, 136, 0), 0, "CU_DEVICE_ATTRIBUTE_MEM_DECOMPRESS_ALGORITHM_MASK");
	EQ(mask, 0, "no decompression engine on the H100");
	EQ(cuDeviceGetAttribute(&len, 137, 0), 0, "CU_DEVICE_ATTRIBUTE_MEM_DECOMPRESS_MAXIMUM_LENGTH");
	EQ(len, 0, "none");
	unsigned char params[64];
	memset(params, 0, sizeof params);
	size_t idx = 5;
	EQ(cuMemBatchDecompressAsync(params, 1, 0, &idx, NULL), 801, "not supported without the engine");
	EQ(idx, (size_t)-1, "no entry to blame");
	EQ(cuMemBatchDecompressAsync(params, 0, 0, &idx, NULL), 1, "an empty batch");
	EQ(cuMemBatchDecompressAsync(params, 1, 0, &idx, (H)0x4242), 400, "not a stream");
}

int main(int argc, char **argv) {
	if (argc < 2) { fprintf(stderr, "usage: driver580 LIBDIR [label]\n"); return 2; }
	const char *label = argc > 2 ? argv[2] : "sim";
	int remote = !strcmp(label, "remote");
	char path[4096];
	snprintf(path, sizeof path, "%s/libcuda.so.1", argv[1]);
	void *lib = dlopen(path, RTLD_NOW);
	if (!lib) { printf("driver580: FAIL: %s\n", dlerror()); return 1; }
#define LOAD(name, args) if (!(name = (CUresult(*) args)dlsym(lib, #name))) { printf("driver580: FAIL: %s not exported\n", #name); return 1; }
	FNS(LOAD)
	H ctx = NULL;
	EQ(cuInit(0), 0, "cuInit");
	EQ(cuDevicePrimaryCtxRetain(&ctx, 0), 0, "cuDevicePrimaryCtxRetain");
	EQ(cuCtxSetCurrent(ctx), 0, "cuCtxSetCurrent");
	resources();
	contexts();
	graphs(remote);
	notifications();
	checkpoints();
	decompress();
	printf("driver580 (%s): %d checks, %d failures\n", label, checks, failures);
	return failures != 0;
}
