/* vgpu's C harness: the library used as real programs use it.
 *
 *   harness            dlopen the NVIDIA names through LD_LIBRARY_PATH
 *   harness --preload  the library is LD_PRELOADed and nothing else is on the search path
 *   harness-linked     linked at build time against the alias names (-lcuda -lcudart ...)
 *
 * Expectations come from the environment the Makefile sets: EXPECT_COUNT, EXPECT_NAME,
 * EXPECT_TOTAL (bytes CUDA reports), EXPECT_NVML_TOTAL, EXPECT_SMS, EXPECT_CC ("9.0").
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "api.h"

#define DECL(ret, name, args) static ret(*p_##name) args;
X_DRIVER(DECL) X_RUNTIME(DECL) X_BLAS(DECL) X_NVML(DECL)

static int failures, checks;
#define CHECK(cond, ...) do { checks++; if (!(cond)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)
#define EQ(got, want, what) do { long long g_ = (long long)(got), w_ = (long long)(want); CHECK(g_ == w_, "%s: got %lld, want %lld", what, g_, w_); } while (0)

static const char *env(const char *k, const char *d) { const char *v = getenv(k); return v && *v ? v : d; }

#ifdef LINKED
#define EXT(ret, name, args) extern ret name args;
X_DRIVER(EXT) X_RUNTIME(EXT) X_BLAS(EXT) X_NVML(EXT)
#define BIND(ret, name, args) p_##name = name;
static int bind_all(int preload) { (void)preload; X_DRIVER(BIND) X_RUNTIME(BIND) X_BLAS(BIND) X_NVML(BIND) return 0; }
#else
static void *h_cuda, *h_rt12, *h_rt13, *h_blas12, *h_blas13, *h_nvml;
static int missing;
static void *sym(void *h, const char *name, const char *ver) {
	void *p = ver ? dlvsym(h, name, ver) : dlsym(h, name);
	if (!p) { printf("FAIL missing %s%s%s\n", name, ver ? "@" : "", ver ? ver : ""); missing++; }
	return p;
}
#define BIND_D(ret, name, args) p_##name = (ret(*) args)sym(h_cuda, #name, NULL);
#define BIND_R(ret, name, args) p_##name = (ret(*) args)sym(h_rt13, #name, "libcudart.so.13");
#define BIND_B(ret, name, args) p_##name = (ret(*) args)sym(h_blas13, #name, "libcublas.so.13");
#define BIND_N(ret, name, args) p_##name = (ret(*) args)sym(h_nvml, #name, NULL);
static int bind_all(int preload) {
	if (preload) {
		/* Only the preloaded file is reachable: dlopen by the driver's name must find it. */
		h_cuda = dlopen("libcuda.so.1", RTLD_NOW);
		CHECK(h_cuda != NULL, "dlopen(libcuda.so.1) under LD_PRELOAD alone: %s", dlerror());
		h_rt12 = h_rt13 = h_blas12 = h_blas13 = h_nvml = RTLD_DEFAULT;
		Dl_info a, b;
		CHECK(h_cuda && dladdr(dlsym(h_cuda, "cuInit"), &a) && dladdr(dlsym(RTLD_DEFAULT, "cudaMalloc"), &b) &&
		      a.dli_fbase == b.dli_fbase, "dlopen(libcuda.so.1) is not the preloaded library");
	} else {
		const char *names[] = {"libcuda.so.1", "libcudart.so.12", "libcudart.so.13", "libcublas.so.12", "libcublas.so.13", "libnvidia-ml.so.1", "libcublasLt.so.13"};
		void **hs[] = {&h_cuda, &h_rt12, &h_rt13, &h_blas12, &h_blas13, &h_nvml, NULL};
		void *first = NULL;
		for (int i = 0; i < 7; i++) {
			void *h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
			CHECK(h != NULL, "dlopen(%s): %s", names[i], dlerror());
			if (!h) return 1;
			if (hs[i]) *hs[i] = h;
			/* One file under many names is one object: same handle, same state. */
			if (!first) first = h;
			CHECK(h == first, "dlopen(%s) gave a second copy of the library", names[i]);
			Dl_info a, b;
			void *pre = dlsym(RTLD_DEFAULT, "cuInit");
			if (pre) /* also preloaded: still the same object */
				CHECK(dladdr(pre, &a) && dladdr(dlsym(h, "cuInit"), &b) && a.dli_fbase == b.dli_fbase,
				      "%s by name is not the preloaded library", names[i]);
		}
	}
	X_DRIVER(BIND_D) X_RUNTIME(BIND_R) X_BLAS(BIND_B) X_NVML(BIND_N)
	return missing;
}
#endif

/* --- symbol versions: every ggml import at the node it needs ------------------------------- */
#ifndef LINKED
static const char *ggml_runtime_imports[] = {
	"cudaDeviceCanAccessPeer", "cudaDeviceDisablePeerAccess", "cudaDeviceEnablePeerAccess", "cudaDeviceGetAttribute",
	"cudaDeviceGetPCIBusId", "cudaDeviceReset", "cudaDeviceSynchronize", "cudaDriverGetVersion", "cudaEventCreateWithFlags",
	"cudaEventDestroy", "cudaEventRecord", "cudaEventSynchronize", "cudaFree", "cudaFreeHost", "cudaFuncGetAttributes",
	"cudaFuncSetAttribute", "cudaGetDevice", "cudaGetDeviceCount", "cudaGetErrorString", "cudaGetLastError",
	"cudaGraphDestroy", "cudaGraphExecDestroy", "cudaGraphExecUpdate", "cudaGraphInstantiate", "cudaGraphLaunch",
	"cudaHostAlloc", "cudaHostGetDevicePointer", "cudaHostRegister", "cudaHostUnregister", "cudaLaunchCooperativeKernel",
	"cudaLaunchKernelExC", "cudaMalloc", "cudaMallocHost", "cudaMallocManaged", "cudaMemGetInfo", "cudaMemcpy2DAsync",
	"cudaMemcpy3DPeerAsync", "cudaMemcpyAsync", "cudaMemcpyPeerAsync", "cudaMemset", "cudaMemsetAsync",
	"cudaOccupancyMaxActiveBlocksPerMultiprocessorWithFlags", "cudaPeekAtLastError", "__cudaPopCallConfiguration",
	"__cudaPushCallConfiguration", "__cudaRegisterFatBinary", "__cudaRegisterFatBinaryEnd", "__cudaRegisterFunction",
	"__cudaRegisterVar", "cudaSetDevice", "cudaSetDeviceFlags", "cudaStreamBeginCapture", "cudaStreamCreateWithFlags",
	"cudaStreamDestroy", "cudaStreamEndCapture", "cudaStreamIsCapturing", "cudaStreamSynchronize", "cudaStreamWaitEvent",
	"__cudaUnregisterFatBinary", NULL};
static const char *ggml_blas_imports[] = {"cublasCreate_v2", "cublasDestroy_v2", "cublasGemmBatchedEx", "cublasGemmEx",
	"cublasGemmStridedBatchedEx", "cublasGetStatusString", "cublasSetMathMode", "cublasSetStream_v2", "cublasSetWorkspace_v2",
	"cublasSgemmBatched", "cublasSgemmStridedBatched", "cublasSgemm_v2", "cublasStrsmBatched", NULL};
static const char *ggml_driver_imports[] = {"cuDeviceGet", "cuDeviceGetAttribute", "cuGetErrorString", "cuMemAddressFree",
	"cuMemAddressReserve", "cuMemCreate", "cuMemGetAllocationGranularity", "cuMemMap", "cuMemRelease", "cuMemSetAccess",
	"cuMemUnmap", NULL};

static void test_symbol_versions(void) {
	void *h = h_rt13 == RTLD_DEFAULT ? RTLD_DEFAULT : h_rt13;
	for (const char **s = ggml_runtime_imports; *s; s++)
		for (int v = 12; v <= 13; v++) {
			char node[32]; snprintf(node, sizeof node, "libcudart.so.%d", v);
			CHECK(dlvsym(h, *s, node) != NULL, "%s@%s missing", *s, node);
		}
	for (const char **s = ggml_blas_imports; *s; s++)
		for (int v = 12; v <= 13; v++) {
			char node[32]; snprintf(node, sizeof node, "libcublas.so.%d", v);
			CHECK(dlvsym(h, *s, node) != NULL, "%s@%s missing", *s, node);
		}
	for (const char **s = ggml_driver_imports; *s; s++) CHECK(dlsym(h_cuda, *s) != NULL, "%s missing", *s);
	/* The per-major entry points. */
	CHECK(dlvsym(h, "cudaGetDeviceProperties_v2", "libcudart.so.12"), "cudaGetDeviceProperties_v2@12");
	CHECK(dlvsym(h, "cudaGetDeviceProperties", "libcudart.so.13"), "cudaGetDeviceProperties@13");
	CHECK(dlvsym(h, "cudaLaunchKernel", "libcudart.so.12"), "cudaLaunchKernel@12");
	CHECK(dlvsym(h, "__cudaGetKernel", "libcudart.so.13"), "__cudaGetKernel@13");
	CHECK(dlvsym(h, "__cudaLaunchKernel", "libcudart.so.13"), "__cudaLaunchKernel@13");
	CHECK(dlvsym(h, "__cudaGetKernel", "libcudart.so.12") == NULL, "__cudaGetKernel must not exist for CUDA 12");
}

/* Both cudaDeviceProp layouts, each filled exactly to its size. */
static void test_prop_layouts(void) {
	typedef cudaError_t (*getprop)(void *, int);
	struct { getprop fn; const struct prop_offsets *o; const char *what; } v[] = {
		{(getprop)dlvsym(h_rt12 == RTLD_DEFAULT ? RTLD_DEFAULT : h_rt12, "cudaGetDeviceProperties_v2", "libcudart.so.12"), &prop12, "CUDA 12 _v2"},
		{(getprop)dlvsym(h_rt13 == RTLD_DEFAULT ? RTLD_DEFAULT : h_rt13, "cudaGetDeviceProperties", "libcudart.so.13"), &prop13, "CUDA 13"},
	};
	int cc_major = atoi(env("EXPECT_CC", "9.0")), cc_minor = atoi(strchr(env("EXPECT_CC", "9.0"), '.') + 1);
	for (int i = 0; i < 2; i++) {
		if (!v[i].fn) { CHECK(0, "%s entry point missing", v[i].what); continue; }
		unsigned char buf[1200];
		memset(buf, 0xab, sizeof buf);
		EQ(v[i].fn(buf, 0), 0, v[i].what);
		const struct prop_offsets *o = v[i].o;
		CHECK(strcmp((char *)buf, env("EXPECT_NAME", "NVIDIA H100 80GB HBM3")) == 0, "%s name %s", v[i].what, (char *)buf);
		EQ(*(size_t *)(buf + o->totalGlobalMem), strtoull(env("EXPECT_TOTAL", "85017493504"), 0, 10), "prop totalGlobalMem");
		EQ(*(int *)(buf + o->major), cc_major, "prop major");
		EQ(*(int *)(buf + o->minor), cc_minor, "prop minor");
		EQ(*(int *)(buf + o->multiProcessorCount), atoi(env("EXPECT_SMS", "132")), "prop multiProcessorCount");
		EQ(*(int *)(buf + o->integrated), 0, "prop integrated");
		int bus; p_cudaDeviceGetAttribute(&bus, 33, 0);
		EQ(*(int *)(buf + o->pciBusID), bus, "prop pciBusID");
		int optin; p_cudaDeviceGetAttribute(&optin, 97, 0);
		EQ(*(size_t *)(buf + o->sharedMemPerBlockOptin), optin, "prop sharedMemPerBlockOptin");
		CHECK(buf[o->size] == 0xab && buf[o->size + 63] == 0xab, "%s wrote past its %d bytes", v[i].what, o->size);
		/* The second query is served by the C fast path: it must be byte-identical. */
		unsigned char again[1200];
		memset(again, 0xab, sizeof again);
		EQ(v[i].fn(again, 0), 0, "second query");
		CHECK(memcmp(buf, again, sizeof again) == 0, "%s: fast path differs from the first answer", v[i].what);
		EQ(v[i].fn(again, 99), 101, "bad ordinal on the fast path falls back to the error");
		EQ(v[i].fn(NULL, 0), 1, "NULL on the fast path falls back to the error");
		p_cudaGetLastError();
	}
}
#endif

/* --- the three APIs against each other and the config -------------------------------------- */
static void fmt_uuid(const unsigned char *u, char *out) {
	sprintf(out, "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	        u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

static void test_agreement(void) {
	int n = -1, rn = -1; unsigned nn = 0;
	EQ(p_cuInit(0), 0, "cuInit");
	EQ(p_cuDeviceGetCount(&n), 0, "cuDeviceGetCount");
	EQ(p_cudaGetDeviceCount(&rn), 0, "cudaGetDeviceCount");
	EQ(p_nvmlInit_v2(), 0, "nvmlInit_v2");
	EQ(p_nvmlDeviceGetCount_v2(&nn), 0, "nvmlDeviceGetCount_v2");
	int want = atoi(env("EXPECT_COUNT", "1"));
	EQ(n, want, "driver count"); EQ(rn, want, "runtime count"); EQ(nn, want, "NVML count");
	int dv; p_cuDriverGetVersion(&dv); EQ(dv, atoi(env("EXPECT_CUDA_VERSION", "13000")), "cuDriverGetVersion");
	p_cudaDriverGetVersion(&dv); EQ(dv, atoi(env("EXPECT_CUDA_VERSION", "13000")), "cudaDriverGetVersion");
	char drv[80]; EQ(p_nvmlSystemGetDriverVersion(drv, sizeof drv), 0, "nvmlSystemGetDriverVersion");
	CHECK(strncmp(drv, "580.", 4) == 0 || getenv("VGPU_DRIVER_VERSION"), "driver version %s", drv);
	char uuids[16][48], pcis[16][32];
	for (int i = 0; i < n && i < 16; i++) {
		CUdevice d; EQ(p_cuDeviceGet(&d, i), 0, "cuDeviceGet");
		char name[256], nname[96]; nvmlDevice_t h;
		p_cuDeviceGetName(name, sizeof name, d);
		EQ(p_nvmlDeviceGetHandleByIndex_v2(i, &h), 0, "nvml handle by index");
		p_nvmlDeviceGetName(h, nname, sizeof nname);
		CHECK(strcmp(name, env("EXPECT_NAME", "NVIDIA H100 80GB HBM3")) == 0, "device %d name %s", i, name);
		CHECK(strcmp(name, nname) == 0, "cuDeviceGetName %s vs NVML %s", name, nname);
		unsigned char u[16]; char us[48], nu[96];
		p_cuDeviceGetUuid(u, d); fmt_uuid(u, us);
		p_nvmlDeviceGetUUID(h, nu, sizeof nu);
		CHECK(strcmp(us, nu) == 0, "UUID driver %s vs NVML %s", us, nu);
		nvmlDevice_t h2;
		EQ(p_nvmlDeviceGetHandleByUUID(us, &h2), 0, "nvmlDeviceGetHandleByUUID"); CHECK(h2 == h, "handle by UUID differs");
		char pci[32], rpci[32]; nvmlPciInfo_t pi;
		p_cuDeviceGetPCIBusId(pci, sizeof pci, d); p_cudaDeviceGetPCIBusId(rpci, sizeof rpci, i);
		CHECK(strcmp(pci, rpci) == 0, "PCI driver %s vs runtime %s", pci, rpci);
		EQ(p_nvmlDeviceGetPciInfo_v3(h, &pi), 0, "nvmlDeviceGetPciInfo_v3");
		CHECK(strcasecmp(pi.busId + 4, pci) == 0, "PCI NVML %s vs CUDA %s", pi.busId, pci);
		EQ(p_nvmlDeviceGetHandleByPciBusId_v2(pi.busId, &h2), 0, "handle by PCI"); CHECK(h2 == h, "handle by PCI differs");
		int ma, mi, nma, nmi;
		p_cuDeviceGetAttribute(&ma, 75, d); p_cuDeviceGetAttribute(&mi, 76, d);
		p_nvmlDeviceGetCudaComputeCapability(h, &nma, &nmi);
		EQ(ma, nma, "CC major driver vs NVML"); EQ(mi, nmi, "CC minor driver vs NVML");
		int sms; p_cudaDeviceGetAttribute(&sms, 16, i); EQ(sms, atoi(env("EXPECT_SMS", "132")), "SM count");
		size_t tot; p_cuDeviceTotalMem_v2(&tot, d); EQ(tot, strtoull(env("EXPECT_TOTAL", "85017493504"), 0, 10), "cuDeviceTotalMem");
		/* memory: runtime vs driver vs NVML on this device */
		EQ(p_cudaSetDevice(i), 0, "cudaSetDevice");
		size_t rf, rt, cf, ct; nvmlMemory_t nm; nvmlMemory_v2_t nm2 = {.version = 40 | 2 << 24};
		p_cudaMemGetInfo(&rf, &rt); p_cuMemGetInfo_v2(&cf, &ct);
		p_nvmlDeviceGetMemoryInfo(h, &nm); EQ(p_nvmlDeviceGetMemoryInfo_v2(h, &nm2), 0, "nvmlDeviceGetMemoryInfo_v2");
		EQ(rt, tot, "cudaMemGetInfo total"); EQ(ct, tot, "cuMemGetInfo total"); EQ(rf, cf, "free runtime vs driver");
		EQ(nm.free, rf, "NVML free vs CUDA free"); EQ(nm2.free, rf, "NVML v2 free");
		EQ(nm.total, strtoull(env("EXPECT_NVML_TOTAL", "85520809984"), 0, 10), "NVML total");
		EQ(nm2.total - nm2.reserved, tot, "NVML total - reserved = CUDA total");
		if (i == 0 && getenv("EXPECT_FIRST_UUID"))
			CHECK(strcmp(us, getenv("EXPECT_FIRST_UUID")) == 0, "CUDA_VISIBLE_DEVICES: device 0 is %s, want %s", us, getenv("EXPECT_FIRST_UUID"));
		strcpy(uuids[i], us); strcpy(pcis[i], pci);
		for (int j = 0; j < i; j++) {
			CHECK(strcmp(uuids[i], uuids[j]) != 0, "devices %d and %d share a UUID", i, j);
			CHECK(strcmp(pcis[i], pcis[j]) != 0, "devices %d and %d share a PCI id", i, j);
		}
	}
	p_cudaSetDevice(0);
}

/* --- memory accounting and the last-error rules -------------------------------------------- */
static void free3(size_t *rf, size_t *cf, unsigned long long *nf) {
	size_t t; nvmlDevice_t h; nvmlMemory_t m;
	p_cudaMemGetInfo(rf, &t); p_cuMemGetInfo_v2(cf, &t);
	p_nvmlDeviceGetHandleByIndex_v2(0, &h); p_nvmlDeviceGetMemoryInfo(h, &m); *nf = m.free;
}

static void test_accounting(void) {
	size_t rf0, cf0, rf1, cf1, rf2, cf2, tot; unsigned long long nf0, nf1, nf2;
	p_cudaSetDevice(0);
	free3(&rf0, &cf0, &nf0);
	void *p = NULL;
	EQ(p_cudaMalloc(&p, 1ull << 30), 0, "cudaMalloc 1 GiB");
	CUdeviceptr dp; CUcontext ctx;
	p_cuDevicePrimaryCtxRetain(&ctx, 0); p_cuCtxSetCurrent(ctx);
	EQ(p_cuMemAlloc_v2(&dp, 256 << 20), 0, "cuMemAlloc 256 MiB");
	free3(&rf1, &cf1, &nf1);
	EQ(rf0 - rf1, (1ull << 30) + (256 << 20), "runtime free dropped by both allocations");
	EQ(cf1, rf1, "driver sees the runtime's allocation"); EQ(nf1, rf1, "NVML sees both allocations");
	EQ(p_cudaFree(p), 0, "cudaFree"); EQ(p_cuMemFree_v2(dp), 0, "cuMemFree");
	free3(&rf2, &cf2, &nf2);
	EQ(rf2, rf0, "memory returned"); EQ(nf2, nf0, "NVML memory returned");
	/* Out of memory, then the runtime's last-error rules. */
	p_cudaMemGetInfo(&rf0, &tot);
	EQ(p_cudaMalloc(&p, tot + 1), 2, "cudaMalloc beyond total = cudaErrorMemoryAllocation");
	EQ(p_cudaPeekAtLastError(), 2, "peek sees it"); EQ(p_cudaPeekAtLastError(), 2, "peek does not clear");
	EQ(p_cudaGetLastError(), 2, "get returns it"); EQ(p_cudaGetLastError(), 0, "get cleared it");
	CHECK(strcmp(p_cudaGetErrorName(2), "cudaErrorMemoryAllocation") == 0, "error name %s", p_cudaGetErrorName(2));
	CHECK(strlen(p_cudaGetErrorString(2)) > 0, "error string");
	/* Fill the device exactly: the last byte fits, one more does not. */
	void *big = NULL, *more = NULL;
	p_cudaMemGetInfo(&rf0, &tot);
	EQ(p_cudaMalloc(&big, rf0 - 4096), 0, "allocate all but 4 KiB");
	EQ(p_cudaMalloc(&more, 1 << 20), 2, "1 MiB more fails");
	EQ(p_cudaFree(big), 0, "free the big one");
	p_cudaGetLastError();
}

/* --- copies really move bytes ---------------------------------------------------------------- */
static void test_copies(void) {
	enum { N = 1 << 20 };
	unsigned char *h = malloc(N), *back = malloc(N), *pinned = NULL;
	for (int i = 0; i < N; i++) h[i] = (unsigned char)(i * 7 + 3);
	void *a = NULL, *b = NULL;
	EQ(p_cudaMalloc(&a, N), 0, "malloc a"); EQ(p_cudaMalloc(&b, N), 0, "malloc b");
	EQ(p_cudaMemcpy(a, h, N, 1), 0, "H2D"); EQ(p_cudaMemcpy(b, a, N, 3), 0, "D2D");
	memset(back, 0, N); EQ(p_cudaMemcpy(back, b, N, 2), 0, "D2H");
	CHECK(memcmp(h, back, N) == 0, "round trip H2D/D2D/D2H differs");
	EQ(p_cudaMemcpy(back, b, N, 4), 0, "cudaMemcpyDefault infers D2H");
	EQ(p_cudaMemset(a, 0x5c, N / 2), 0, "memset");
	EQ(p_cudaMemcpy(back, a, N, 2), 0, "D2H after memset");
	CHECK(back[0] == 0x5c && back[N / 2 - 1] == 0x5c && back[N / 2] == h[N / 2], "memset wrote the wrong bytes");
	/* 2D: 16 rows of 100 bytes from a 128-pitch host buffer into a 256-pitch device buffer. */
	EQ(p_cudaMemcpy2D(a, 256, h, 128, 100, 16, 1), 0, "2D H2D");
	EQ(p_cudaMemcpy(back, a, 256 * 16, 2), 0, "read 2D back");
	CHECK(memcmp(back + 256 * 15, h + 128 * 15, 100) == 0, "2D row 15 differs");
	/* Driver API copies on the same memory, and pinned staging. */
	EQ(p_cudaMallocHost((void **)&pinned, N), 0, "cudaMallocHost");
	EQ(p_cuMemcpyDtoH_v2(pinned, (CUdeviceptr)(uintptr_t)b, N), 0, "cuMemcpyDtoH into pinned");
	CHECK(memcmp(pinned, h, N) == 0, "driver copy differs");
	EQ(p_cudaFreeHost(pinned), 0, "cudaFreeHost");
	/* A stream copy on cudaStreamPerThread, as ggml uploads weights. */
	EQ(p_cudaMemcpyAsync(a, h, N, 1, (cudaStream_t)2), 0, "H2D on cudaStreamPerThread");
	EQ(p_cudaStreamSynchronize((cudaStream_t)2), 0, "sync cudaStreamPerThread");
	EQ(p_cudaFree(a), 0, "free a"); EQ(p_cudaFree(b), 0, "free b");
	free(h); free(back);
}

/* --- streams, events, capture and graphs ----------------------------------------------------- */
static void host_stub(void) {}
static struct { unsigned magic, version; const unsigned long long *data; void *unused; } wrapper;
static unsigned long long fatbin[4] = {0x0010000100000000ull | 0xba55ed50u, 0};

static void test_streams_graphs(void) {
	cudaStream_t s, s2; cudaEvent_t e; cudaGraph_t g; cudaGraphExec_t x; int status = -1;
	void *d = NULL; unsigned char h[4096], back[4096];
	memset(h, 0x42, sizeof h);
	EQ(p_cudaMalloc(&d, sizeof h), 0, "malloc");
	EQ(p_cudaMemset(d, 0, sizeof h), 0, "clear");
	EQ(p_cudaStreamCreateWithFlags(&s, 1), 0, "stream create");
	EQ(p_cudaStreamCreateWithFlags(&s2, 1), 0, "stream 2 create");
	EQ(p_cudaEventCreateWithFlags(&e, 2), 0, "event create");
	EQ(p_cudaStreamBeginCapture(s, 2), 0, "begin capture (relaxed)");
	EQ(p_cudaStreamIsCapturing(s, &status), 0, "is capturing"); EQ(status, 1, "capture active");
	EQ(p_cudaMemcpyAsync(d, h, sizeof h, 1, s), 0, "captured H2D");
	EQ(p_cudaMemcpy(back, d, sizeof h, 2), 0, "D2H outside the capture");
	CHECK(back[0] == 0, "a captured copy ran at capture time");
	EQ(p_cudaStreamSynchronize(s), 900, "sync on a capturing stream = cudaErrorStreamCaptureUnsupported");
	EQ(p_cudaStreamEndCapture(s, &g), 901, "end capture after an illegal sync = invalidated");
	p_cudaGetLastError();
	/* Again, legally, with a cross-stream fork/join through an event. */
	EQ(p_cudaStreamBeginCapture(s, 2), 0, "begin capture");
	EQ(p_cudaEventRecord(e, s), 0, "record in capture");
	EQ(p_cudaStreamWaitEvent(s2, e, 0), 0, "second stream joins");
	EQ(p_cudaStreamIsCapturing(s2, &status), 0, "joined stream"); EQ(status, 1, "joined stream captures");
	EQ(p_cudaMemcpyAsync(d, h, sizeof h, 1, s2), 0, "captured on the joined stream");
	/* The fork must join back, or the capture ends with cudaErrorStreamCaptureUnjoined. */
	EQ(p_cudaEventRecord(e, s2), 0, "record on the joined stream");
	EQ(p_cudaStreamWaitEvent(s, e, 0), 0, "the origin waits for it: joined");
	EQ(p_cudaStreamEndCapture(s, &g), 0, "end capture");
	EQ(p_cudaMemcpy(back, d, sizeof h, 2), 0, "read before launch"); CHECK(back[0] == 0, "captured copy ran early");
	EQ(p_cudaGraphInstantiate(&x, g, 0), 0, "instantiate");
	EQ(p_cudaGraphLaunch(x, s), 0, "launch graph");
	EQ(p_cudaStreamSynchronize(s), 0, "sync");
	EQ(p_cudaMemcpy(back, d, sizeof h, 2), 0, "read after launch"); CHECK(back[100] == 0x42, "graph replay did not copy");
	EQ(p_cudaGraphExecDestroy(x), 0, "exec destroy"); EQ(p_cudaGraphDestroy(g), 0, "graph destroy");
	EQ(p_cudaGraphDestroy(g), 1, "graph double destroy = invalid value");
	EQ(p_cudaGetLastError(), 1, "double destroy is the last error");
	/* Kernels: registered as nvcc's constructors do, launched through cudaLaunchKernel. */
	wrapper.magic = 0x466243b1; wrapper.version = 1; wrapper.data = fatbin;
	void **mod = p___cudaRegisterFatBinary(&wrapper);
	p___cudaRegisterFunction(mod, (const char *)host_stub, "_Z4testv", "_Z4testv", -1, 0, 0, 0, 0, 0);
	p___cudaRegisterFatBinaryEnd(mod);
	dim3 grid = {4, 1, 1}, block = {128, 1, 1};
	int want = getenv("VGPU_SIM_LAUNCH") && !strcmp(getenv("VGPU_SIM_LAUNCH"), "noop") ? 0 : 801;
	EQ(p_cudaLaunchKernel((void *)host_stub, grid, block, NULL, 0, s), want, "sim launch (801 unless VGPU_SIM_LAUNCH=noop)");
	EQ(p_cudaGetLastError(), want, "launch error is the last error"); EQ(p_cudaGetLastError(), 0, "and is not sticky");
	EQ(p_cudaLaunchKernel((void *)test_copies, grid, block, NULL, 0, s), 98, "unregistered function = cudaErrorInvalidDeviceFunction");
	/* CUDA 13's path: nvcc's stubs look the kernel up once, then launch by handle. */
	void *kh = NULL;
	EQ(p___cudaGetKernel(&kh, (void *)host_stub), 0, "__cudaGetKernel"); CHECK(kh != NULL, "a kernel handle");
	EQ(p___cudaLaunchKernel(kh, grid, block, NULL, 0, s), want, "__cudaLaunchKernel (801 unless VGPU_SIM_LAUNCH=noop)");
	p_cudaGetLastError();
	EQ(p___cudaGetKernel(&kh, (void *)test_copies), 98, "__cudaGetKernel of an unregistered stub");
	EQ(p___cudaLaunchKernel((void *)0x1234, grid, block, NULL, 0, s), 98, "__cudaLaunchKernel of a wild handle");
	p_cudaGetLastError();
	dim3 huge = {2048, 1, 1};
	EQ(p_cudaLaunchKernel((void *)host_stub, grid, huge, NULL, 0, s), 9, "2048-thread block = cudaErrorInvalidConfiguration");
	EQ(p_cudaStreamBeginCapture(s, 2), 0, "capture a launch");
	EQ(p_cudaLaunchKernel((void *)host_stub, grid, block, NULL, 0, s), 0, "launch in capture is recorded");
	EQ(p_cudaStreamEndCapture(s, &g), 0, "end"); p_cudaGraphDestroy(g);
	/* <<<>>> lowering: push, then the stub pops. */
	EQ(p___cudaPushCallConfiguration(grid, block, 64, s), 0, "push");
	dim3 g2, b2; size_t sh; cudaStream_t st;
	EQ(p___cudaPopCallConfiguration(&g2, &b2, &sh, &st), 0, "pop");
	CHECK(g2.x == 4 && b2.x == 128 && sh == 64 && st == s, "popped configuration differs");
	unsigned char fa[144];
	EQ(p_cudaFuncGetAttributes(fa, (void *)host_stub), 0, "cudaFuncGetAttributes");
	EQ(*(int *)(fa + 32), 10 * atoi(env("EXPECT_CC", "9.0")) + atoi(strchr(env("EXPECT_CC", "9.0"), '.') + 1), "ptxVersion");
	p___cudaUnregisterFatBinary(mod);
	EQ(p_cudaLaunchKernel((void *)host_stub, grid, block, NULL, 0, s), 98, "unregistered after __cudaUnregisterFatBinary");
	p_cudaGetLastError();
	EQ(p_cudaEventDestroy(e), 0, "event destroy"); EQ(p_cudaStreamDestroy(s), 0, "stream destroy");
	EQ(p_cudaStreamDestroy(s2), 0, "stream 2 destroy");
	EQ(p_cudaStreamDestroy(s), 400, "stream double destroy = invalid resource handle");
	p_cudaGetLastError();
	p_cudaFree(d);
}

/* --- the VMM path ggml's pool takes --------------------------------------------------------- */
static void test_vmm(void) {
	CUmemAllocationProp prop = {0};
	prop.type = 1; prop.location.type = 1; prop.location.id = 0;
	size_t gran = 0, f0, f1, t;
	EQ(p_cuMemGetAllocationGranularity(&gran, &prop, 1), 0, "granularity"); CHECK(gran > 0, "granularity is 0");
	p_cudaMemGetInfo(&f0, &t);
	CUdeviceptr va; CUmemGenericAllocationHandle hs[2];
	EQ(p_cuMemAddressReserve(&va, 1ull << 35, 0, 0, 0), 0, "reserve 32 GiB of VA");
	for (int i = 0; i < 2; i++) {
		EQ(p_cuMemCreate(&hs[i], gran * 4, &prop, 0), 0, "cuMemCreate");
		EQ(p_cuMemMap(va + i * gran * 4, gran * 4, 0, hs[i], 0), 0, "cuMemMap");
		EQ(p_cuMemRelease(hs[i]), 0, "cuMemRelease while mapped");
		CUmemAccessDesc acc = {{1, 0}, 3};
		EQ(p_cuMemSetAccess(va + i * gran * 4, gran * 4, &acc, 1), 0, "cuMemSetAccess");
	}
	p_cudaMemGetInfo(&f1, &t);
	EQ(f0 - f1, 8 * gran, "physical memory is accounted");
	/* A copy spanning both mapped pieces, as a growing pool produces. */
	size_t n = gran * 2;
	unsigned char *h = malloc(n), *back = malloc(n);
	for (size_t i = 0; i < n; i++) h[i] = (unsigned char)(i >> 12);
	void *at = (void *)(uintptr_t)(va + gran * 3);
	EQ(p_cudaMemcpy(at, h, n, 1), 0, "copy across two mappings");
	EQ(p_cudaMemcpy(back, at, n, 2), 0, "copy back");
	CHECK(memcmp(h, back, n) == 0, "VMM bytes differ");
	EQ(p_cudaMemcpy((void *)(uintptr_t)(va + gran * 8), h, 16, 1), 1, "copy into unmapped VA = invalid value");
	p_cudaGetLastError();
	EQ(p_cuMemAddressFree(va, 1ull << 35), 1, "free with mappings left = invalid value");
	EQ(p_cuMemUnmap(va, gran * 8), 0, "unmap both");
	EQ(p_cuMemAddressFree(va, 1ull << 35), 0, "free VA");
	p_cudaMemGetInfo(&f1, &t);
	EQ(f1, f0, "VMM memory returned");
	free(h); free(back);
}

/* --- cuBLAS computes on the host over device memory ----------------------------------------- */
static void test_blas(void) {
	cublasHandle_t hb;
	EQ(p_cublasCreate_v2(&hb), 0, "cublasCreate");
	float A[6] = {1, 2, 3, 4, 5, 6}, B[6] = {1, 0, 1, 0, 1, 1}, C[4] = {0}; /* column-major 2x3 * 3x2 */
	void *dA, *dB, *dC;
	p_cudaMalloc(&dA, sizeof A); p_cudaMalloc(&dB, sizeof B); p_cudaMalloc(&dC, sizeof C);
	p_cudaMemcpy(dA, A, sizeof A, 1); p_cudaMemcpy(dB, B, sizeof B, 1);
	float one = 1, zero = 0;
	EQ(p_cublasSgemm_v2(hb, 0, 0, 2, 2, 3, &one, dA, 2, dB, 3, &zero, dC, 2), 0, "sgemm");
	p_cudaMemcpy(C, dC, sizeof C, 2);
	/* A = [1 3 5; 2 4 6], B = [1 0; 0 1; 1 1] -> C = [6 8; 8 10] */
	CHECK(C[0] == 6 && C[1] == 8 && C[2] == 8 && C[3] == 10, "sgemm result %g %g %g %g", C[0], C[1], C[2], C[3]);
	EQ(p_cublasSgemm_v2(hb, 0, 0, 2, 2, 3, &one, dA, 1, dB, 3, &zero, dC, 2), 7, "lda < m = invalid value");
	EQ(p_cublasSgemm_v2(hb, 0, 0, 2, 2, 3, &one, A, 2, dB, 3, &zero, dC, 2), 7, "host matrix = invalid value");
	cudaStream_t cs; cudaGraph_t g; cudaGraphExec_t x;
	p_cudaStreamCreateWithFlags(&cs, 1);
	EQ(p_cublasSetStream_v2(hb, cs), 0, "cublasSetStream");
	EQ(p_cudaStreamBeginCapture(cs, 2), 0, "capture");
	void *fake = (void *)0x80; /* ggml's no-alloc placeholder */
	EQ(p_cublasSgemm_v2(hb, 0, 0, 64, 64, 64, &one, fake, 64, fake, 64, &zero, fake, 64), 0, "sgemm on placeholder pointers is recorded");
	EQ(p_cudaStreamEndCapture(cs, &g), 0, "end capture");
	EQ(p_cudaGraphInstantiate(&x, g, 0), 0, "instantiate");
	EQ(p_cudaGraphLaunch(x, cs), 1, "replaying it checks the pointers then");
	p_cudaGetLastError(); p_cudaGraphExecDestroy(x); p_cudaGraphDestroy(g);
	EQ(p_cublasSetStream_v2(hb, 0), 0, "back to the default stream");
	p_cudaStreamDestroy(cs);
	EQ(p_cublasDestroy_v2(hb), 0, "destroy"); EQ(p_cublasDestroy_v2(hb), 1, "double destroy = not initialized");
	p_cudaFree(dA); p_cudaFree(dB); p_cudaFree(dC);
}

/* --- the context stack: create pushes, pop returns the top, destroying the current one pops it - */
static void test_contexts(void) {
	CUcontext primary, a, b, cur = NULL, popped = NULL; CUdevice dev = -1;
	EQ(p_cuDevicePrimaryCtxRetain(&primary, 0), 0, "retain the primary context");
	EQ(p_cuCtxSetCurrent(primary), 0, "make it current");
	EQ(p_cuCtxCreate_v2(&a, 0, 0), 0, "cuCtxCreate");
	p_cuCtxGetCurrent(&cur); CHECK(cur == a && a != primary, "a created context is pushed and current");
	EQ(p_cuCtxCreate_v2(&b, 0, 0), 0, "a second cuCtxCreate");
	p_cuCtxGetCurrent(&cur); CHECK(cur == b && b != a, "the newest is current");
	EQ(p_cuCtxPopCurrent_v2(&popped), 0, "cuCtxPopCurrent"); CHECK(popped == b, "pop returns the top");
	p_cuCtxGetCurrent(&cur); CHECK(cur == a, "the context below is current again");
	EQ(p_cuCtxGetDevice(&dev), 0, "cuCtxGetDevice"); EQ(dev, 0, "the current context's device");
	EQ(p_cuCtxDestroy_v2(b), 0, "destroy a popped context");
	EQ(p_cuCtxDestroy_v2(b), 201, "destroy it again = invalid context");
	EQ(p_cuCtxDestroy_v2(a), 0, "destroy the current context");
	p_cuCtxGetCurrent(&cur); CHECK(cur == primary, "destroying the current context pops it");
	EQ(p_cuDevicePrimaryCtxRelease_v2(0), 0, "release the primary context");
}

/* --- bad input never crashes ------------------------------------------------------------------ */
static void test_bad_input(void) {
	int n; size_t f; void *p; const char *s; CUdevice d; char buf[8]; nvmlDevice_t nh;
	struct { long long got, want; const char *what; } t[] = {
		{p_cudaGetDeviceCount(NULL), 1, "cudaGetDeviceCount(NULL)"},
		{p_cudaSetDevice(-1), 101, "cudaSetDevice(-1)"},
		{p_cudaSetDevice(64), 101, "cudaSetDevice(64)"},
		{p_cudaMalloc(NULL, 16), 1, "cudaMalloc(NULL)"},
		{p_cudaMalloc(&p, ~0ull), 2, "cudaMalloc(2^64-1)"},
		{p_cudaFree((void *)0x1234), 1, "cudaFree(wild)"},
		{p_cudaMemcpy(NULL, NULL, 16, 1), 1, "cudaMemcpy(NULL)"},
		{p_cudaMemcpy(buf, buf, 4, 7), 21, "cudaMemcpy bad kind"},
		{p_cudaMemcpy((void *)0x1000, buf, 8, 1), 1, "H2D to a non-device pointer"},
		{p_cudaMemset((void *)0x1000, 0, 8), 1, "memset of a non-device pointer"},
		{p_cudaMallocPitch(&p, &f, 1ull << 40, 1ull << 24), 2, "cudaMallocPitch whose size wraps 64 bits"},
		{p_cudaMemGetInfo(NULL, &f), 1, "cudaMemGetInfo(NULL)"},
		{p_cudaDeviceGetAttribute(&n, 0, 0), 1, "attribute 0"},
		{p_cudaDeviceGetAttribute(&n, 9999, 0), 1, "attribute 9999"},
		{p_cudaDeviceGetAttribute(&n, 1, 99), 101, "attribute of device 99"},
		{p_cudaStreamSynchronize((cudaStream_t)0x1234), 400, "sync of a wild stream"},
		{p_cudaEventRecord((cudaEvent_t)0x1234, 0), 400, "record of a wild event"},
		{p_cudaGraphLaunch((cudaGraphExec_t)0x1234, 0), 1, "launch of a wild graph"},
		{p_cudaStreamEndCapture(0, NULL), 1, "end capture with NULL graph"},
		{p_cudaStreamBeginCapture(0, 2), 900, "capture of the legacy stream"},
		{p_cuDeviceGet(&d, 99), 101, "cuDeviceGet(99)"},
		{p_cuDeviceGet(NULL, 0), 1, "cuDeviceGet(NULL)"},
		{p_cuDeviceGetName(NULL, 10, 0), 1, "cuDeviceGetName(NULL)"},
		{p_cuMemFree_v2(0x1234), 1, "cuMemFree(wild)"},
		{p_cuMemAlloc_v2(NULL, 16), 1, "cuMemAlloc(NULL)"},
		{p_cuCtxDestroy_v2((CUcontext)0x1234), 201, "cuCtxDestroy(wild)"},
		{p_cuGetErrorString(123456, &s), 1, "cuGetErrorString(unknown)"},
		{p_cuGetErrorName(2, NULL), 1, "cuGetErrorName(NULL)"},
		{p_cuInit(5), 1, "cuInit(5)"},
		{p_nvmlDeviceGetHandleByIndex_v2(99, &nh), 2, "nvml handle 99"},
		{p_nvmlDeviceGetHandleByUUID("GPU-nope", &nh), 6, "nvml unknown UUID"},
		{p_nvmlDeviceGetName((nvmlDevice_t)0x1234, buf, 8), 2, "nvml wild handle"},
		{p_nvmlDeviceGetCount_v2(NULL), 2, "nvmlDeviceGetCount(NULL)"},
		{p_cublasCreate_v2(NULL), 7, "cublasCreate(NULL)"},
		{p_cublasDestroy_v2((cublasHandle_t)0x1234), 1, "cublasDestroy(wild)"},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) EQ(t[i].got, t[i].want, t[i].what);
	nvmlDevice_t h0; p_nvmlDeviceGetHandleByIndex_v2(0, &h0);
	EQ(p_nvmlDeviceGetName(h0, buf, 4), 7, "nvml name into 4 bytes = insufficient size");
	CHECK(strcmp(p_nvmlErrorString(7), "") != 0, "nvmlErrorString");
	/* A pitch times a row count that wraps 64 bits must not pass the range check. */
	void *small; p_cudaMalloc(&small, 4096);
	EQ(p_cudaMemcpy2D(small, 1ull << 40, buf, 16, 8, (1ull << 24) + 1, 1), 1, "cudaMemcpy2D whose span wraps 64 bits");
	p_cudaFree(small);
	void *a; p_cudaMalloc(&a, 64);
	EQ(p_cudaFree(a), 0, "free"); EQ(p_cudaFree(a), 1, "double free = invalid value");
	EQ(p_cudaMemcpy(a, buf, 8, 1), 1, "use after free = invalid value");
	p_cudaGetLastError();
}

/* --- cuGetProcAddress returns the library's own entry points ------------------------------------ */
static void test_proc_address(void) {
	void *fn = NULL; int st = -1;
	EQ(p_cuGetProcAddress_v2("cuMemAlloc", &fn, 12000, 0, &st), 0, "cuGetProcAddress(cuMemAlloc)");
	CHECK(fn == (void *)p_cuMemAlloc_v2, "cuMemAlloc at 12000 must be cuMemAlloc_v2");
	EQ(p_cuGetProcAddress_v2("cuNoSuchThing", &fn, 12000, 0, &st), 500, "unknown symbol = not found"); EQ(st, 1, "status");
}

/* --- 16 threads at once ------------------------------------------------------------------------ */
static int thread_errors;
static void *worker(void *arg) {
	long id = (long)arg;
	int count; p_cudaGetDeviceCount(&count);
	int dev = (int)(id % count), got = -1;
	unsigned char h[4096], back[4096];
	if (p_cudaSetDevice(dev) || p_cudaGetDevice(&got) || got != dev) __atomic_add_fetch(&thread_errors, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < 200; i++) {
		void *d = NULL; int v; size_t f, t;
		memset(h, (int)(id + i), sizeof h);
		if (p_cudaMalloc(&d, sizeof h) || p_cudaMemcpy(d, h, sizeof h, 1) || p_cudaMemcpy(back, d, sizeof h, 2) ||
		    memcmp(h, back, sizeof h) || p_cudaFree(d) || p_cudaDeviceGetAttribute(&v, 16, dev) || p_cudaMemGetInfo(&f, &t))
			__atomic_add_fetch(&thread_errors, 1, __ATOMIC_RELAXED);
		if (p_cudaGetLastError() != 0) __atomic_add_fetch(&thread_errors, 1, __ATOMIC_RELAXED);
	}
	/* Last errors are per thread: this thread's failure is not another's. */
	void *x; p_cudaMalloc(&x, ~0ull);
	if (p_cudaGetLastError() != 2) __atomic_add_fetch(&thread_errors, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void test_threads(void) {
	pthread_t th[16];
	size_t f0, f1, t;
	p_cudaSetDevice(0);
	p_cudaMemGetInfo(&f0, &t);
	for (long i = 0; i < 16; i++) pthread_create(&th[i], NULL, worker, (void *)i);
	for (int i = 0; i < 16; i++) pthread_join(th[i], NULL);
	EQ(thread_errors, 0, "errors across 16 threads");
	p_cudaSetDevice(0);
	p_cudaMemGetInfo(&f1, &t);
	EQ(f1, f0, "threads leaked no memory");
}

int main(int argc, char **argv) {
	int preload = argc > 1 && !strcmp(argv[1], "--preload");
	if (bind_all(preload)) { printf("FAIL could not bind the API\n"); return 1; }
#ifndef LINKED
	test_symbol_versions();
#endif
	test_agreement();
#ifndef LINKED
	test_prop_layouts();
#endif
	test_accounting();
	test_copies();
	test_streams_graphs();
	test_vmm();
	test_blas();
	test_contexts();
	test_bad_input();
	test_proc_address();
	test_threads();
	EQ(p_nvmlShutdown(), 0, "nvmlShutdown");
	printf("%s: %d checks, %d failures\n", failures ? "FAIL" : "PASS", checks, failures);
	return failures != 0;
}
