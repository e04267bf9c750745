/* Stream memory operations, the linker, legacy attachment, coredump and profiler settings,
 * tensor maps, multicast, capture dependencies, cudaLibrary* and cudaGetExportTable. Run
 * in-process (sim) and as a remote client of a sim server: the same rules.
 *   streammisc LIBDIR [label]
 * Status values are NVIDIA's documented numbers: 0 success, 1 invalid value, 200 invalid
 * image, 201 invalid context, 218 invalid PTX, 301 file not found, 400 invalid handle, 401
 * illegal state, 600 not ready, 800 not permitted, 801 not supported. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef int res_t;
typedef unsigned long long dptr_t;
static int failures, checks, remote;
#define CHECK(c, ...) do { checks++; if (!(c)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)
#define EQ(got, want, what) do { long long g_ = (long long)(got), w_ = (long long)(want); CHECK(g_ == w_, "%s: got %lld, want %lld", what, g_, w_); } while (0)

#define FNS(X) \
	X(res_t, cuInit, (unsigned)) X(res_t, cuDeviceGet, (int *, int)) \
	X(res_t, cuDeviceGetAttribute, (int *, int, int)) \
	X(res_t, cuCtxCreate_v2, (void **, unsigned, int)) X(res_t, cuCtxDestroy_v2, (void *)) \
	X(res_t, cuCtxSetCurrent, (void *)) X(res_t, cuCtxGetApiVersion, (void *, unsigned *)) \
	X(res_t, cuMemAlloc_v2, (dptr_t *, size_t)) X(res_t, cuMemFree_v2, (dptr_t)) \
	X(res_t, cuMemcpyHtoD_v2, (dptr_t, const void *, size_t)) X(res_t, cuMemcpyDtoH_v2, (void *, dptr_t, size_t)) \
	X(res_t, cuStreamCreate, (void **, unsigned)) X(res_t, cuStreamDestroy_v2, (void *)) \
	X(res_t, cuStreamSynchronize, (void *)) \
	X(res_t, cuStreamWriteValue32, (void *, dptr_t, unsigned, unsigned)) \
	X(res_t, cuStreamWriteValue64, (void *, dptr_t, unsigned long long, unsigned)) \
	X(res_t, cuStreamWaitValue32, (void *, dptr_t, unsigned, unsigned)) \
	X(res_t, cuStreamWaitValue32_v2_ptsz, (void *, dptr_t, unsigned, unsigned)) \
	X(res_t, cuStreamWaitValue64, (void *, dptr_t, unsigned long long, unsigned)) \
	X(res_t, cuStreamWaitValue64_v2, (void *, dptr_t, unsigned long long, unsigned)) \
	X(res_t, cuStreamBatchMemOp, (void *, unsigned, void *, unsigned)) \
	X(res_t, cuStreamBatchMemOp_v2_ptsz, (void *, unsigned, void *, unsigned)) \
	X(res_t, cuStreamBeginCapture_v2, (void *, int)) X(res_t, cuStreamEndCapture, (void *, void **)) \
	X(res_t, cuStreamUpdateCaptureDependencies, (void *, void **, size_t, unsigned)) \
	X(res_t, cuGraphInstantiateWithFlags, (void **, void *, unsigned long long)) \
	X(res_t, cuGraphLaunch, (void *, void *)) X(res_t, cuGraphExecDestroy, (void *)) X(res_t, cuGraphDestroy, (void *)) \
	X(res_t, cuLinkCreate_v2, (unsigned, void *, void *, void **)) \
	X(res_t, cuLinkAddData_v2, (void *, int, void *, size_t, const char *, unsigned, void *, void *)) \
	X(res_t, cuLinkAddFile_v2, (void *, int, const char *, unsigned, void *, void *)) \
	X(res_t, cuLinkComplete, (void *, void **, size_t *)) X(res_t, cuLinkDestroy, (void *)) \
	X(res_t, cuModuleLoadData, (void **, const void *)) X(res_t, cuModuleGetFunction, (void **, void *, const char *)) \
	X(res_t, cuModuleUnload, (void *)) \
	X(res_t, cuCtxAttach, (void **, unsigned)) X(res_t, cuCtxDetach, (void *)) \
	X(res_t, cuCtxResetPersistingL2Cache, (void)) X(res_t, cuFlushGPUDirectRDMAWrites, (int, int)) \
	X(res_t, cuCoredumpGetAttribute, (int, void *, size_t *)) X(res_t, cuCoredumpSetAttribute, (int, void *, size_t *)) \
	X(res_t, cuCoredumpGetAttributeGlobal, (int, void *, size_t *)) X(res_t, cuCoredumpSetAttributeGlobal, (int, void *, size_t *)) \
	X(res_t, cuProfilerInitialize, (const char *, const char *, int)) \
	X(res_t, cuProfilerStart, (void)) X(res_t, cuProfilerStop, (void)) \
	X(res_t, cuTensorMapEncodeTiled, (void *, int, unsigned, void *, const unsigned long long *, const unsigned long long *, \
		const unsigned *, const unsigned *, int, int, int, int)) \
	X(res_t, cuTensorMapEncodeIm2col, (void *, int, unsigned, void *, const unsigned long long *, const unsigned long long *, \
		const int *, const int *, unsigned, unsigned, const unsigned *, int, int, int, int)) \
	X(res_t, cuTensorMapReplaceAddress, (void *, void *)) \
	X(res_t, cuMulticastCreate, (unsigned long long *, const void *)) \
	X(res_t, cuMulticastGetGranularity, (size_t *, const void *, int)) \
	X(res_t, cuMulticastAddDevice, (unsigned long long, int)) \
	X(res_t, cuGetExportTable, (const void **, const void *)) \
	X(res_t, cudaGetExportTable, (const void **, const void *)) \
	X(res_t, cudaStreamCreate, (void **)) X(res_t, cudaStreamDestroy, (void *)) \
	X(res_t, cudaStreamBeginCapture, (void *, int)) X(res_t, cudaStreamEndCapture, (void *, void **)) \
	X(res_t, cudaStreamUpdateCaptureDependencies, (void *, void **, size_t, unsigned)) \
	X(res_t, cudaStreamUpdateCaptureDependencies_ptsz, (void *, void **, size_t, unsigned)) \
	X(res_t, cudaGraphDestroy, (void *)) \
	X(res_t, cudaLibraryLoadData, (void **, const void *, void *, void **, unsigned, void *, void **, unsigned)) \
	X(res_t, cudaLibraryLoadFromFile, (void **, const char *, void *, void **, unsigned, void *, void **, unsigned)) \
	X(res_t, cudaLibraryUnload, (void *)) X(res_t, cudaLibraryGetKernel, (void **, void *, const char *)) \
	X(res_t, cudaLibraryGetKernelCount, (unsigned *, void *)) X(res_t, cudaLibraryEnumerateKernels, (void **, unsigned, void *)) \
	X(res_t, cudaLogsRegisterCallback, (void (*)(void *, int, char *, size_t), void *, void **)) \
	X(res_t, cudaLogsUnregisterCallback, (void *)) X(res_t, cudaLogsCurrent, (unsigned *, unsigned)) \
	X(res_t, cudaLogsDumpToFile, (unsigned *, const char *, unsigned)) \
	X(res_t, cudaLogsDumpToMemory, (unsigned *, char *, size_t *, unsigned)) \
	X(res_t, cudaLibraryGetManaged, (void **, size_t *, void *, const char *)) \
	X(res_t, cudaLibraryGetGlobal, (void **, size_t *, void *, const char *)) \
	X(res_t, cudaDeviceGetHostAtomicCapabilities, (unsigned *, const int *, unsigned, int)) \
	X(res_t, cudaDeviceGetP2PAtomicCapabilities, (unsigned *, const int *, unsigned, int, int)) \
	X(res_t, cuLaunchCooperativeKernel, (void *, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, void *, void **)) \
	X(res_t, cuLaunchCooperativeKernelMultiDevice, (void *, unsigned, unsigned)) \
	X(res_t, cuLogsCurrent, (unsigned *, unsigned)) X(res_t, cuLogsDumpToMemory, (unsigned *, char *, size_t *, unsigned))

#define DECL(r, n, a) static r(*p_##n) a;
FNS(DECL)
typedef res_t (*capinfo13_t)(void *, int *, unsigned long long *, void **, const void **, const void **, size_t *);
static capinfo13_t p_capinfo13;

static const char ptx[] =
	".version 8.0\n.target sm_90\n.address_size 64\n"
	".visible .entry axpy(.param .u64 x)\n{\n\tret;\n}\n"
	".visible .entry scale(.param .u64 x)\n{\n\tret;\n}\n";

/* CUstreamBatchMemOpParams: a 48-byte union; waits and writes share one layout. */
struct memop { unsigned op, pad; unsigned long long addr, value; unsigned flags, pad2; unsigned long long alias, pad3; };

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

static dptr_t word;      /* 16 bytes of device memory the waits use */
static void *ctx;

static void *late_writer(void *arg) {
	(void)arg;
	p_cuCtxSetCurrent(ctx);
	usleep(50000);
	unsigned v = 42;
	p_cuMemcpyHtoD_v2(word + 12, &v, 4);
	return NULL;
}

/* A wait completes when its comparison holds; a wait nothing satisfies gives up, reporting not
 * ready (at the wait, or at the next synchronisation when the call was pipelined), in bounded time. */
static void test_waits(void) {
	void *s = NULL;
	EQ(p_cuStreamCreate(&s, 0), 0, "cuStreamCreate");
	EQ(p_cuMemAlloc_v2(&word, 16), 0, "cuMemAlloc");
	unsigned zero[4] = {0};
	EQ(p_cuMemcpyHtoD_v2(word, zero, 16), 0, "clear the words");
	EQ(p_cuStreamWriteValue32(s, word, 5, 0), 0, "write 5");
	EQ(p_cuStreamWaitValue32(s, word, 5, 1), 0, "wait EQ 5");
	EQ(p_cuStreamWaitValue32(s, word, 3, 0), 0, "wait GEQ 3");
	EQ(p_cuStreamWaitValue32(s, word, 0xfffffff0u, 0), 0, "wait GEQ compares cyclically: 5 is past 0xfffffff0");
	EQ(p_cuStreamWaitValue32(s, word, 4, 2), 0, "wait AND 4");
	EQ(p_cuStreamWaitValue32(s, word, 2, 3), 0, "wait NOR 2: ~(5|2) has bits");
	EQ(p_cuStreamWaitValue32_v2_ptsz(NULL, word, 5, 1), 0, "per-thread stream wait");
	EQ(p_cuStreamSynchronize(s), 0, "synchronise after satisfied waits");

	EQ(p_cuStreamWaitValue32(s, word + 2, 5, 1), 1, "unaligned address");
	EQ(p_cuStreamWaitValue32(s, word, 5, 4), 1, "unknown comparison");
	EQ(p_cuStreamWaitValue32(s, word, 5, 1 | (1u << 30)), 801, "flush needs CAN_FLUSH_REMOTE_WRITES, which the device lacks");
	unsigned host = 0;
	EQ(p_cuStreamWaitValue32(s, (dptr_t)(uintptr_t)&host, 0, 1), 1, "pageable host memory is not device-accessible");
	EQ(p_cuStreamWaitValue32(s, word + 16, 0, 1), 1, "past the allocation");

	EQ(p_cuStreamWriteValue64(s, word + 8, 0x1122334455667788ull, 0), 0, "write64");
	EQ(p_cuStreamWaitValue64(s, word + 8, 0x1122334455667788ull, 1), 0, "wait64 EQ");
	EQ(p_cuStreamWaitValue64_v2(s, word + 8, 0x1122334455667700ull, 0), 0, "wait64 GEQ");
	EQ(p_cuStreamWaitValue64(s, word + 4, 0, 1), 1, "a 64-bit word must be 8-byte aligned");

	double t0 = now();
	int r1 = p_cuStreamWaitValue32(s, word, 6, 1), r2 = p_cuStreamSynchronize(s);
	double dt = now() - t0;
	CHECK((r1 == 600 && r2 == 0) || (r1 == 0 && r2 == 600), "an unsatisfiable wait reports 600 once: wait %d, sync %d", r1, r2);
	CHECK(dt < 10, "an unsatisfiable wait gives up in bounded time (%.1f s)", dt);
	EQ(p_cuStreamSynchronize(s), 0, "the stream works on after the failed wait");

	if (!remote) {
		/* Another thread's write satisfies a wait that is polling (in-process: the program's own memory). */
		pthread_t t;
		pthread_create(&t, NULL, late_writer, NULL);
		EQ(p_cuStreamWaitValue32(s, word + 12, 42, 1), 0, "a later write by another thread satisfies the wait");
		pthread_join(t, NULL);
	}

	/* Captured, a wait is replayed with the graph. */
	void *g = NULL, *ge = NULL;
	EQ(p_cuStreamBeginCapture_v2(s, 0), 0, "begin capture");
	EQ(p_cuStreamWaitValue32(s, word, 5, 1), 0, "wait recorded");
	EQ(p_cuStreamUpdateCaptureDependencies(s, NULL, 0, 1), 0, "set an empty dependency set");
	EQ(p_cuStreamUpdateCaptureDependencies(s, NULL, 0, 2), 1, "unknown dependency flag");
	void *bogus = (void *)0x1234;
	EQ(p_cuStreamUpdateCaptureDependencies(s, &bogus, 1, 0), 1, "a dependency that is no node of the capture");
	EQ(p_cuStreamEndCapture(s, &g), 0, "end capture");
	EQ(p_cuStreamUpdateCaptureDependencies(s, NULL, 0, 0), 401, "not capturing");
	EQ(p_cuGraphInstantiateWithFlags(&ge, g, 0), 0, "instantiate");
	EQ(p_cuGraphLaunch(ge, s), 0, "launch the graph with its wait");
	EQ(p_cuStreamSynchronize(s), 0, "graph's wait satisfied");
	p_cuGraphExecDestroy(ge);
	p_cuGraphDestroy(g);
	p_cuStreamDestroy_v2(s);
}

/* A batch is checked whole before any operation is issued; its operations run in order. */
static void test_batch(void) {
	void *s = NULL;
	EQ(p_cuStreamCreate(&s, 0), 0, "cuStreamCreate");
	unsigned zero[4] = {0};
	EQ(p_cuMemcpyHtoD_v2(word, zero, 16), 0, "clear the words");
	struct memop ops[3];
	memset(ops, 0, sizeof ops);
	ops[0].op = 2; ops[0].addr = word + 4; ops[0].value = 7;                         /* write32 */
	ops[1].op = 1; ops[1].addr = word + 4; ops[1].value = 7; ops[1].flags = 1;        /* wait32 EQ */
	ops[2].op = 5; ops[2].addr = word + 8; ops[2].value = 0xa1b2c3d4e5f60718ull;     /* write64 */
	EQ(sizeof(struct memop), 48, "CUstreamBatchMemOpParams is 48 bytes");
	EQ(p_cuStreamBatchMemOp(s, 3, ops, 0), 0, "batch of three");
	EQ(p_cuStreamSynchronize(s), 0, "synchronise");
	unsigned got[4];
	EQ(p_cuMemcpyDtoH_v2(got, word, 16), 0, "read back");
	EQ(got[1], 7, "write32 landed");
	EQ(((unsigned long long)got[3] << 32) | got[2], 0xa1b2c3d4e5f60718ull, "write64 landed");

	EQ(p_cuStreamBatchMemOp(s, 0, ops, 0), 1, "count 0");
	EQ(p_cuStreamBatchMemOp(s, 3, ops, 1), 1, "flags must be 0");
	EQ(p_cuStreamBatchMemOp(s, 3, NULL, 0), 1, "no array");
	ops[0].value = 99;
	ops[2].op = 77;
	EQ(p_cuStreamBatchMemOp_v2_ptsz(s, 3, ops, 0), 1, "an unknown operation fails the batch");
	EQ(p_cuMemcpyDtoH_v2(got, word, 16), 0, "read back");
	EQ(got[1], 7, "nothing of a rejected batch was issued");
	ops[2].op = 3;
	EQ(p_cuStreamBatchMemOp(s, 3, ops, 0), 801, "flush remote writes needs CAN_FLUSH_REMOTE_WRITES");
	ops[0].value = 7;
	ops[2].op = 6;
	EQ(p_cuStreamBatchMemOp(s, 3, ops, 0), 0, "a memory barrier orders and passes");
	ops[2].pad = 7;
	EQ(p_cuStreamBatchMemOp(s, 3, ops, 0), 1, "an unknown barrier scope");
	p_cuStreamDestroy_v2(s);
}

/* The linker takes PTX, cubins and fat binaries as bytes (a file is read by the caller's
 * process) and completes one input into an image cuModuleLoadData loads. */
static void test_link(void) {
	void *ls = NULL, *img = NULL, *m = NULL, *f = NULL;
	size_t sz = 0;
	EQ(p_cuLinkCreate_v2(0, NULL, NULL, &ls), 0, "cuLinkCreate");
	EQ(p_cuLinkAddData_v2(ls, 1, (void *)ptx, sizeof ptx, "k.ptx", 0, NULL, NULL), 0, "add PTX");
	EQ(p_cuLinkComplete(ls, &img, &sz), 0, "complete");
	CHECK(img != NULL && sz >= strlen(ptx), "an image of the input's size (%zu)", sz);
	EQ(p_cuModuleLoadData(&m, img), 0, "load the linked image");
	EQ(p_cuModuleGetFunction(&f, m, "scale"), 0, "its kernel is there");
	EQ(p_cuModuleGetFunction(&f, m, "absent"), 500, "and no other");
	EQ(p_cuModuleUnload(m), 0, "unload");
	EQ(p_cuLinkDestroy(ls), 0, "destroy");
	EQ(p_cuLinkDestroy(ls), 400, "destroyed twice");
	EQ(p_cuLinkAddData_v2(ls, 1, (void *)ptx, sizeof ptx, NULL, 0, NULL, NULL), 400, "a destroyed state");

	EQ(p_cuLinkCreate_v2(0, NULL, NULL, NULL), 1, "no output");
	EQ(p_cuLinkCreate_v2(2, NULL, NULL, &ls), 1, "counted options missing");
	EQ(p_cuLinkCreate_v2(0, NULL, NULL, &ls), 0, "cuLinkCreate");
	EQ(p_cuLinkAddData_v2(ls, 1, "garbage", 8, NULL, 0, NULL, NULL), 218, "text that is no PTX");
	EQ(p_cuLinkAddData_v2(ls, 0, (void *)ptx, sizeof ptx, NULL, 0, NULL, NULL), 200, "PTX declared a cubin");
	EQ(p_cuLinkAddData_v2(ls, 2, (void *)ptx, sizeof ptx, NULL, 0, NULL, NULL), 200, "PTX declared a fat binary");
	EQ(p_cuLinkAddData_v2(ls, 9, (void *)ptx, sizeof ptx, NULL, 0, NULL, NULL), 1, "unknown input type");
	EQ(p_cuLinkAddData_v2(ls, 3, (void *)ptx, sizeof ptx, NULL, 0, NULL, NULL), 801, "host objects need nvlink");
	EQ(p_cuLinkAddData_v2(ls, 1, NULL, 8, NULL, 0, NULL, NULL), 1, "no data");
	EQ(p_cuLinkComplete(ls, &img, &sz), 1, "nothing to link");
	char path[] = "/tmp/vgpu-link-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0, "temp file");
	if (fd >= 0) {
		CHECK(write(fd, ptx, strlen(ptx)) == (ssize_t)strlen(ptx), "write PTX file");
		close(fd);
	}
	EQ(p_cuLinkAddFile_v2(ls, 1, path, 0, NULL, NULL), 0, "add a PTX file (read by this process)");
	unlink(path);
	EQ(p_cuLinkAddFile_v2(ls, 1, "/nonexistent/vgpu.ptx", 0, NULL, NULL), 301, "missing file");
	EQ(p_cuLinkComplete(ls, &img, &sz), 0, "complete the file's PTX");
	EQ(p_cuModuleLoadData(&m, img), 0, "load it");
	EQ(p_cuModuleGetFunction(&f, m, "axpy"), 0, "its kernel");
	p_cuModuleUnload(m);
	EQ(p_cuLinkDestroy(ls), 0, "destroy");
	EQ(p_cuLinkCreate_v2(0, NULL, NULL, &ls), 0, "cuLinkCreate");
	EQ(p_cuLinkAddData_v2(ls, 1, (void *)ptx, sizeof ptx, NULL, 0, NULL, NULL), 0, "first input");
	EQ(p_cuLinkAddData_v2(ls, 1, (void *)ptx, sizeof ptx, NULL, 0, NULL, NULL), 0, "second input");
	EQ(p_cuLinkComplete(ls, &img, &sz), 801, "two inputs need a device linker the model lacks");
	EQ(p_cuLinkDestroy(ls), 0, "destroy");
}

/* A multi-device cooperative launch is one cooperative launch per device, checked whole first. */
static void test_multidevice(void) {
	void *m = NULL, *f = NULL, *s = NULL;
	EQ(p_cuModuleLoadData(&m, ptx), 0, "load PTX");
	EQ(p_cuModuleGetFunction(&f, m, "axpy"), 0, "its kernel");
	EQ(p_cuStreamCreate(&s, 0), 0, "a stream");
	dptr_t arg = word;
	void *args[1] = {&arg};
	struct { void *f; unsigned gx, gy, gz, bx, by, bz, shared; void *stream; void **params; } lp = {f, 1, 1, 1, 32, 1, 1, 0, s, args};
	EQ(sizeof lp, 56, "CUDA_LAUNCH_PARAMS is 56 bytes");
	int single = p_cuLaunchCooperativeKernel(f, 1, 1, 1, 32, 1, 1, 0, s, args);
	EQ(p_cuLaunchCooperativeKernelMultiDevice(&lp, 1, 0), single, "one device: what the cooperative launch answers");
	EQ(p_cuLaunchCooperativeKernelMultiDevice(&lp, 1, 3), single, "both sync flags");
	EQ(p_cuLaunchCooperativeKernelMultiDevice(&lp, 0, 0), 1, "no devices");
	EQ(p_cuLaunchCooperativeKernelMultiDevice(&lp, 65, 0), 1, "more devices than there are");
	EQ(p_cuLaunchCooperativeKernelMultiDevice(&lp, 1, 4), 1, "unknown flag");
	EQ(p_cuLaunchCooperativeKernelMultiDevice(NULL, 1, 0), 1, "no list");
	lp.stream = NULL;
	EQ(p_cuLaunchCooperativeKernelMultiDevice(&lp, 1, 0), 400, "the NULL stream");
	p_cuStreamDestroy_v2(s);
	p_cuModuleUnload(m);
}

/* Attach raises the current context's usage count; each detach lowers it, the last destroys. */
static void test_attach(void) {
	void *c = NULL, *a = NULL;
	unsigned v = 0;
	EQ(p_cuCtxCreate_v2(&c, 0, 0), 0, "cuCtxCreate");
	EQ(p_cuCtxAttach(&a, 0), 0, "cuCtxAttach");
	CHECK(a == c, "attach hands out the current context");
	EQ(p_cuCtxAttach(&a, 1), 1, "flags must be 0");
	EQ(p_cuCtxAttach(NULL, 0), 1, "no output");
	EQ(p_cuCtxDetach(ctx), 201, "a context that is not current");
	EQ(p_cuCtxDetach(c), 0, "detach the attachment");
	EQ(p_cuCtxGetApiVersion(c, &v), 0, "still alive after one detach");
	EQ(p_cuCtxDetach(c), 0, "detach the creation");
	CHECK(p_cuCtxGetApiVersion(c, &v) != 0, "the last detach destroyed it");
	EQ(p_cuCtxSetCurrent(ctx), 0, "back to the test's context");
}

static void test_misc(void) {
	EQ(p_cuCtxResetPersistingL2Cache(), 0, "reset persisting L2");
	EQ(p_cuFlushGPUDirectRDMAWrites(0, 100), 0, "flush to owner");
	EQ(p_cuFlushGPUDirectRDMAWrites(0, 200), 0, "flush to all devices");
	EQ(p_cuFlushGPUDirectRDMAWrites(1, 100), 1, "unknown target");
	EQ(p_cuFlushGPUDirectRDMAWrites(0, 5), 1, "unknown scope");
	EQ(p_cuProfilerStart(), 0, "profiler start");
	EQ(p_cuProfilerStop(), 0, "profiler stop");
	EQ(p_cuProfilerInitialize(NULL, "out.csv", 2), 1, "unknown output mode");

	/* Coredump settings read back as set; the per-context form may not set process-wide ones. */
	size_t n = 0;
	unsigned char b = 9;
	EQ(p_cuCoredumpGetAttribute(1, NULL, &n), 0, "size of ENABLE_ON_EXCEPTION");
	EQ(n, 1, "a bool");
	n = 1;
	EQ(p_cuCoredumpGetAttributeGlobal(2, &b, &n), 0, "TRIGGER_HOST");
	EQ(b, 1, "TRIGGER_HOST defaults to true");
	b = 1; n = 1;
	EQ(p_cuCoredumpSetAttribute(3, &b, &n), 0, "set LIGHTWEIGHT for the context");
	b = 0; n = 1;
	EQ(p_cuCoredumpGetAttribute(3, &b, &n), 0, "get LIGHTWEIGHT");
	EQ(b, 1, "read back as set");
	char file[] = "my.core";
	n = sizeof file;
	EQ(p_cuCoredumpSetAttributeGlobal(5, file, &n), 0, "set FILE");
	char back[64] = {0};
	n = sizeof back;
	EQ(p_cuCoredumpGetAttributeGlobal(5, back, &n), 0, "get FILE");
	CHECK(!strcmp(back, "my.core"), "FILE read back: %s", back);
	n = 2;
	EQ(p_cuCoredumpGetAttributeGlobal(5, back, &n), 1, "a buffer too small");
	n = sizeof file;
	EQ(p_cuCoredumpSetAttribute(6, file, &n), 800, "PIPE is process-wide");
	EQ(p_cuCoredumpGetAttribute(99, back, &n), 1, "unknown setting");

	/* Multicast needs NVSwitch: the attribute says 0 and the calls say not supported. */
	int mc = -1;
	EQ(p_cuDeviceGetAttribute(&mc, 132, 0), 0, "MULTICAST_SUPPORTED");
	EQ(mc, 0, "no multicast on the modelled device");
	struct { unsigned num; unsigned pad; size_t size; unsigned long long types, flags; } prop = {1, 0, 2 << 20, 1, 0};
	unsigned long long h = 0;
	size_t gran = 0;
	EQ(p_cuMulticastCreate(&h, &prop), 801, "cuMulticastCreate");
	EQ(p_cuMulticastGetGranularity(&gran, &prop, 0), 801, "cuMulticastGetGranularity");
	EQ(p_cuMulticastCreate(&h, NULL), 1, "no properties");
	EQ(p_cuMulticastAddDevice(0x1234, 0), 1, "no multicast object exists");

	/* Native atomics over the host link follow HOST_NATIVE_ATOMIC_SUPPORTED. */
	int native = -1;
	EQ(p_cuDeviceGetAttribute(&native, 86, 0), 0, "HOST_NATIVE_ATOMIC_SUPPORTED");
	int aops[3] = {0, 9, 10};
	unsigned caps[3] = {77, 77, 77};
	EQ(p_cudaDeviceGetHostAtomicCapabilities(caps, aops, 3, 0), 0, "cudaDeviceGetHostAtomicCapabilities");
	for (int i = 0; i < 3; i++) CHECK((caps[i] != 0) == (native != 0), "op %d: capabilities %#x with native atomics %d", aops[i], caps[i], native);
	int badop[1] = {13};
	EQ(p_cudaDeviceGetHostAtomicCapabilities(caps, badop, 1, 0), 1, "unknown operation");
	EQ(p_cudaDeviceGetHostAtomicCapabilities(caps, aops, 0, 0), 1, "count 0");
	EQ(p_cudaDeviceGetHostAtomicCapabilities(caps, aops, 3, 64), 101, "no such device");
	EQ(p_cudaDeviceGetP2PAtomicCapabilities(caps, aops, 3, 0, 0), 101, "a device and itself are no peer link");

	/* cudaGetExportTable forwards the driver's tables. */
	static const unsigned char id[16] = {0x6b, 0xd5, 0xfb, 0x6c, 0x5b, 0xf4, 0xe7, 0x4a, 0x89, 0x87, 0xd9, 0x39, 0x12, 0xfd, 0x9d, 0xf9};
	const void *t1 = NULL, *t2 = NULL;
	EQ(p_cuGetExportTable(&t1, id), 0, "cuGetExportTable");
	EQ(p_cudaGetExportTable(&t2, id), 0, "cudaGetExportTable");
	CHECK(t1 == t2 && t1 != NULL, "the same table");
	EQ(p_cudaGetExportTable(NULL, id), 1, "no output");
}

/* A tensor map is a deterministic descriptor; replacing its address equals encoding with it. */
static void test_tensormap(void) {
	static _Alignas(64) unsigned char a[128], b[128], c[128];
	unsigned long long dims[2] = {64, 32}, strides[1] = {256};
	unsigned box[2] = {32, 8}, es[2] = {1, 1};
	void *g1 = (void *)(uintptr_t)word, *g2 = (void *)(uintptr_t)(word + 0x100);
	EQ(p_cuTensorMapEncodeTiled(a, 7, 2, g1, dims, strides, box, es, 0, 0, 0, 0), 0, "encode tiled");
	EQ(p_cuTensorMapEncodeTiled(b, 7, 2, g1, dims, strides, box, es, 0, 0, 0, 0), 0, "again");
	CHECK(!memcmp(a, b, 128), "the same arguments give the same descriptor");
	EQ(p_cuTensorMapEncodeTiled(c, 7, 2, g2, dims, strides, box, es, 0, 0, 0, 0), 0, "another address");
	CHECK(memcmp(a, c, 128), "another address, another descriptor");
	EQ(p_cuTensorMapReplaceAddress(a, g2), 0, "replace the address");
	CHECK(!memcmp(a, c, 128), "replaced equals encoded with that address");
	EQ(p_cuTensorMapReplaceAddress(a, (void *)(uintptr_t)(word + 8)), 1, "an address not 16-byte aligned");
	EQ(p_cuTensorMapEncodeTiled(a, 7, 2, (void *)(uintptr_t)(word + 8), dims, strides, box, es, 0, 0, 0, 0), 1, "unaligned global address");
	EQ(p_cuTensorMapEncodeTiled(a + 8, 7, 2, g1, dims, strides, box, es, 0, 0, 0, 0), 1, "a descriptor not 64-byte aligned");
	unsigned badbox[2] = {0, 8}, bigbox[2] = {257, 8}, oddbox[2] = {3, 8};
	EQ(p_cuTensorMapEncodeTiled(a, 7, 2, g1, dims, strides, badbox, es, 0, 0, 0, 0), 1, "a zero box");
	EQ(p_cuTensorMapEncodeTiled(a, 7, 2, g1, dims, strides, bigbox, es, 0, 0, 0, 0), 1, "a box past 256");
	EQ(p_cuTensorMapEncodeTiled(a, 7, 2, g1, dims, strides, oddbox, es, 0, 0, 0, 0), 1, "an inner box row not a multiple of 16 bytes");
	unsigned long long badstride[1] = {100};
	EQ(p_cuTensorMapEncodeTiled(a, 7, 2, g1, dims, badstride, box, es, 0, 0, 0, 0), 1, "a stride not a multiple of 16");
	EQ(p_cuTensorMapEncodeTiled(a, 7, 6, g1, dims, strides, box, es, 0, 0, 0, 0), 1, "rank past 5");
	EQ(p_cuTensorMapEncodeTiled(a, 40, 2, g1, dims, strides, box, es, 0, 0, 0, 0), 1, "unknown data type");
	EQ(p_cuTensorMapEncodeTiled(a, 0, 2, g1, dims, strides, box, es, 0, 0, 0, 1), 1, "NaN fill for an integer type");
	EQ(p_cuTensorMapEncodeTiled(a, 7, 2, g1, dims, strides, box, es, 0, 1, 0, 0), 1, "a 128-byte box row past a 32-byte swizzle");
	unsigned long long d4[4] = {16, 8, 8, 2}, s4[3] = {64, 512, 4096};
	int lo[2] = {-1, -1}, hi[2] = {1, 1}, far[2] = {-200, 0};
	unsigned es4[4] = {1, 1, 1, 1};
	EQ(p_cuTensorMapEncodeIm2col(b, 7, 4, g1, d4, s4, lo, hi, 16, 32, es4, 0, 0, 0, 0), 0, "encode im2col");
	CHECK(memcmp(b, c, 128), "an im2col map differs from a tiled one");
	EQ(p_cuTensorMapEncodeIm2col(b, 7, 4, g1, d4, s4, far, hi, 16, 32, es4, 0, 0, 0, 0), 1, "a corner out of rank 4's range");
	EQ(p_cuTensorMapEncodeIm2col(b, 7, 2, g1, dims, strides, lo, hi, 16, 32, es, 0, 0, 0, 0), 1, "im2col needs rank 3 or more");
	EQ(p_cuTensorMapEncodeIm2col(b, 7, 4, g1, d4, s4, lo, hi, 0, 32, es4, 0, 0, 0, 0), 1, "no channels");
}

/* The runtime's capture dependencies, CUDA 13's capture info and libraries. */
static void test_runtime(void) {
	void *s = NULL, *g = NULL;
	EQ(p_cudaStreamCreate(&s), 0, "cudaStreamCreate");
	EQ(p_cudaStreamUpdateCaptureDependencies(s, NULL, 0, 0), 401, "not capturing");
	EQ(p_cudaStreamBeginCapture(s, 0), 0, "begin capture");
	EQ(p_cudaStreamUpdateCaptureDependencies(s, NULL, 0, 1), 0, "set no dependencies");
	EQ(p_cudaStreamUpdateCaptureDependencies(s, NULL, 0, 3), 1, "unknown flags");
	int st = -1;
	unsigned long long cid = 0;
	size_t nd = 99;
	if (p_capinfo13) {
		EQ(p_capinfo13(s, &st, &cid, NULL, NULL, NULL, &nd), 0, "CUDA 13 cudaStreamGetCaptureInfo");
		EQ(st, 1, "active");
		CHECK(cid != 0, "a capture id");
		EQ(nd, 0, "no dependencies reported");
	}
	EQ(p_cudaStreamEndCapture(s, &g), 0, "end capture");
	if (p_capinfo13) {
		EQ(p_capinfo13(s, &st, NULL, NULL, NULL, NULL, NULL), 0, "after the capture");
		EQ(st, 0, "none");
		EQ(p_capinfo13(s, NULL, NULL, NULL, NULL, NULL, NULL), 1, "no status output");
	}
	EQ(p_cudaStreamUpdateCaptureDependencies_ptsz(NULL, NULL, 0, 0), 401, "per-thread stream not capturing");
	p_cudaGraphDestroy(g);
	p_cudaStreamDestroy(s);

	void *lib = NULL, *k = NULL, *ks[4] = {0};
	unsigned count = 0;
	EQ(p_cudaLibraryLoadData(&lib, ptx, NULL, NULL, 0, NULL, NULL, 0), 0, "cudaLibraryLoadData");
	EQ(p_cudaLibraryGetKernel(&k, lib, "axpy"), 0, "cudaLibraryGetKernel");
	CHECK(k != NULL, "a kernel handle");
	EQ(p_cudaLibraryGetKernelCount(&count, lib), 0, "cudaLibraryGetKernelCount");
	CHECK(count >= 1, "at least the kernel asked for (%u)", count);
	EQ(p_cudaLibraryEnumerateKernels(ks, count < 4 ? count : 4, lib), 0, "cudaLibraryEnumerateKernels");
	EQ(p_cudaLibraryLoadData(NULL, ptx, NULL, NULL, 0, NULL, NULL, 0), 1, "no output");
	EQ(p_cudaLibraryLoadFromFile(&k, "/nonexistent/vgpu.cubin", NULL, NULL, 0, NULL, NULL, 0), 301, "missing file");
	void *mp = NULL;
	size_t msz = 0;
	EQ(p_cudaLibraryGetManaged(&mp, &msz, lib, "absent"), 500, "no such managed variable");
	EQ(p_cudaLibraryGetManaged(&mp, &msz, (void *)0x1234, "absent"), 400, "no such library");
	EQ(p_cudaLibraryGetGlobal(&mp, &msz, lib, "absent"), 500, "no such global");
	EQ(p_cudaLibraryGetGlobal(&mp, &msz, (void *)0x1234, "absent"), 400, "cudaLibraryGetGlobal: no such library");
	EQ(p_cudaLibraryUnload(lib), 0, "cudaLibraryUnload");
	EQ(p_cudaLibraryUnload(lib), 400, "unloaded twice");
}

/* The error log keeps vgpu's warnings (here: the link it could not do), dumps them from an
 * iterator on, to memory or to a file this process writes, and calls registered callbacks. */
static volatile int cb_calls, cb_level = -1, cb_saw_linker;
static void log_cb(void *data, int level, char *msg, size_t n) {
	if (data != (void *)0x5eed) return;
	cb_calls++;
	cb_level = level;
	if (strstr(msg, "device linker") && strlen(msg) == n) cb_saw_linker = 1;
}

static void test_logs(unsigned it0, void *cbh) {
	char buf[8192];
	size_t n = sizeof buf;
	unsigned it = it0, end = 0;
	EQ(p_cudaLogsDumpToMemory(&it, buf, &n, 0), 0, "cudaLogsDumpToMemory");
	CHECK(strstr(buf, "device linker") != NULL, "the log holds the linker's warning: %s", buf);
	EQ(n, strlen(buf), "size is the bytes written");
	EQ(p_cudaLogsCurrent(&end, 0), 0, "cudaLogsCurrent");
	EQ(it, end, "the iterator moved to the log's end");
	n = sizeof buf;
	EQ(p_cuLogsDumpToMemory(&it, buf, &n, 0), 0, "nothing new");
	EQ(n, 0, "nothing written");
	unsigned it1 = it0;
	n = 8;
	EQ(p_cudaLogsDumpToMemory(&it1, buf, &n, 0), 0, "a buffer too small for a line");
	EQ(n, 0, "no partial line");
	EQ(it1, it0, "the iterator stays");
	EQ(p_cudaLogsDumpToMemory(&it, buf, &n, 1), 1, "flags must be 0");
	EQ(p_cudaLogsDumpToMemory(&it, NULL, &n, 0), 1, "no buffer");
	EQ(p_cudaLogsCurrent(NULL, 0), 1, "no iterator");
	char path[] = "/tmp/vgpu-logs-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0, "temp file");
	it1 = it0;
	EQ(p_cudaLogsDumpToFile(&it1, path, 0), 0, "cudaLogsDumpToFile (written by this process)");
	char fbuf[8192] = {0};
	ssize_t got = read(fd, fbuf, sizeof fbuf - 1);
	CHECK(got > 0 && strstr(fbuf, "device linker"), "the file holds the warning");
	close(fd);
	unlink(path);
	EQ(p_cudaLogsDumpToFile(&it1, NULL, 0), 1, "no path");
	for (int i = 0; i < 100 && !cb_saw_linker; i++) usleep(10000);
	CHECK(cb_saw_linker, "the callback saw the warning (%d calls)", cb_calls);
	EQ(cb_level, 1, "at warning level");
	EQ(p_cudaLogsUnregisterCallback(cbh), 0, "unregister");
	EQ(p_cudaLogsUnregisterCallback(cbh), 1, "unregistered twice");
	EQ(p_cudaLogsRegisterCallback(NULL, NULL, &cbh), 1, "no function");
}

int main(int argc, char **argv) {
	char path[4096];
	snprintf(path, sizeof path, "%s/libcuda.so.1", argc > 1 ? argv[1] : "build/lib");
	void *h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	if (!h) { printf("FAIL dlopen %s: %s\n", path, dlerror()); return 1; }
	const char *label = argc > 2 ? argv[2] : "sim";
	remote = !strcmp(label, "remote");
#define LOAD(r, n, a) p_##n = (r(*) a)dlsym(h, #n); if (!p_##n) { printf("FAIL missing %s\n", #n); return 1; }
	FNS(LOAD)
	p_capinfo13 = (capinfo13_t)dlvsym(h, "cudaStreamGetCaptureInfo", "libcudart.so.13");
	CHECK(p_capinfo13 != NULL, "cudaStreamGetCaptureInfo@libcudart.so.13 exported");
	int dev = 0;
	EQ(p_cuInit(0), 0, "cuInit");
	EQ(p_cuDeviceGet(&dev, 0), 0, "cuDeviceGet");
	EQ(p_cuCtxCreate_v2(&ctx, 0, dev), 0, "cuCtxCreate");
	unsigned it0 = 0;
	void *cbh = NULL;
	EQ(p_cudaLogsCurrent(&it0, 0), 0, "cudaLogsCurrent");
	EQ(p_cudaLogsRegisterCallback(log_cb, (void *)0x5eed, &cbh), 0, "cudaLogsRegisterCallback");
	test_waits();
	test_batch();
	test_link();
	test_multidevice();
	test_attach();
	test_misc();
	test_tensormap();
	test_runtime();
	test_logs(it0, cbh);
	printf("streammisc (%s): %d checks, %d failures\n", label, checks, failures);
	return failures != 0;
}
