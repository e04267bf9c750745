/* A program as nvcc 11.8 builds it, on NVIDIA's CUDA 11.8 runtime (libcudart_static.a or
 * libcudart.so.11.0), or on CUDA 12.4's libcudart.so.12 (which loads modules through
 * cuLibrary*), over vgpu's libcuda.so.1: initialisation, allocation, copies both ways,
 * memset, streams, events, and a kernel registered the way nvcc's constructors register it.
 * The prototypes are declared here (no NVIDIA header). Exit status 0 only if every check holds.
 * argv[1], if given, is the error cudaLaunchKernel must return (the sim answers 801 unless
 * VGPU_SIM_LAUNCH=noop); argv[2] the one cudaFuncGetAttributes must return (0); argv[3]
 * "novar" leaves the __device__
 * variable out (the remote backend does not carry cuModuleGetGlobal yet). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { unsigned x, y, z; } dim3;
typedef void *cudaStream_t;
typedef void *cudaEvent_t;
int cudaGetDeviceCount(int *);
int cudaGetDeviceProperties(void *, int);
int cudaDriverGetVersion(int *);
int cudaRuntimeGetVersion(int *);
int cudaSetDevice(int);
int cudaMalloc(void **, size_t);
int cudaFree(void *);
int cudaMemcpy(void *, const void *, size_t, int);
int cudaMemset(void *, int, size_t);
int cudaMemGetInfo(size_t *, size_t *);
int cudaStreamCreate(cudaStream_t *);
int cudaStreamSynchronize(cudaStream_t);
int cudaStreamDestroy(cudaStream_t);
int cudaMemcpyAsync(void *, const void *, size_t, int, cudaStream_t);
int cudaEventCreate(cudaEvent_t *);
int cudaEventRecord(cudaEvent_t, cudaStream_t);
int cudaEventSynchronize(cudaEvent_t);
int cudaEventElapsedTime(float *, cudaEvent_t, cudaEvent_t);
int cudaEventDestroy(cudaEvent_t);
int cudaDeviceSynchronize(void);
int cudaDeviceReset(void);
int cudaGetLastError(void);
const char *cudaGetErrorString(int);
int cudaFuncGetAttributes(void *, const void *);
int cudaLaunchKernel(const void *, dim3, dim3, void **, size_t, cudaStream_t);
void **__cudaRegisterFatBinary(void *);
void __cudaRegisterFatBinaryEnd(void **);
void __cudaUnregisterFatBinary(void **);
void __cudaRegisterFunction(void **, const char *, char *, const char *, int, void *, void *, void *, void *, int *);
void __cudaRegisterVar(void **, char *, char *, const char *, int, size_t, int, int);
int cudaMemcpyToSymbol(const void *, const void *, size_t, size_t, int);
int cudaMemcpyFromSymbol(void *, const void *, size_t, size_t, int);
int cudaGetSymbolAddress(void **, const void *);

static int failures;
static void check(int ok, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	printf(ok ? "ok   " : "FAIL ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	failures += !ok;
}
#define EQ(got, want, what) do { int g_ = (got), w_ = (want); \
	check(g_ == w_, "%s: %d (%s), want %d", what, g_, cudaGetErrorString(g_), w_); } while (0)

/* A fat binary as nvcc embeds it: the header (magic, version 1, header size 16, body size),
 * then one ELF entry for sm_90 (kind 2, version 0x0101, header size 64, payload size, arch
 * 90 at byte 28) whose payload stands in for the cubin and names the kernel and a __device__
 * variable, as a cubin's string table does. Filled in by make_fatbin. */
static const char kname[] = "_Z6kernelv", vname[] = "table";
static int table_shadow[64]; /* the variable's host shadow, the runtime's key for it */
static _Alignas(16) unsigned char fatbin[16 + 64 + 32];
static struct { unsigned magic, version; const void *data; void *filename; } wrapper = {0x466243b1, 1, fatbin, 0};

static void put32(unsigned char *p, unsigned v) { memcpy(p, &v, 4); }
static void put64(unsigned char *p, unsigned long long v) { memcpy(p, &v, 8); }
static void make_fatbin(void) {
	put32(fatbin, 0xba55ed50u); put32(fatbin + 4, 0x00100001u); put64(fatbin + 8, 64 + 32);
	unsigned char *e = fatbin + 16;
	put32(e, 0x01010002u); put32(e + 4, 64); put64(e + 8, 32); put32(e + 28, 90);
	memcpy(e + 64, kname, sizeof kname);
	memcpy(e + 64 + 16, vname, sizeof vname);
}

static void kernel_stub(void) {}

int main(int argc, char **argv) {
	int want_launch = argc > 1 ? atoi(argv[1]) : 801, want_attr = argc > 2 ? atoi(argv[2]) : 0;
	int var = !(argc > 3 && !strcmp(argv[3], "novar"));
	/* What nvcc's module constructor does before main. */
	make_fatbin();
	void **mod = __cudaRegisterFatBinary(&wrapper);
	__cudaRegisterFunction(mod, (const char *)kernel_stub, (char *)kname, kname, -1, 0, 0, 0, 0, 0);
	/* A __device__ variable: the runtime resolves it (cuModuleGetGlobal) when it loads the module. */
	if (var) __cudaRegisterVar(mod, (char *)table_shadow, (char *)vname, vname, 0, sizeof table_shadow, 0, 0);
	__cudaRegisterFatBinaryEnd(mod);

	int n = -1, v = 0, rv = 0;
	EQ(cudaGetDeviceCount(&n), 0, "cudaGetDeviceCount");
	check(n >= 1, "at least one device (%d)", n);
	EQ(cudaDriverGetVersion(&v), 0, "cudaDriverGetVersion");
	EQ(cudaRuntimeGetVersion(&rv), 0, "cudaRuntimeGetVersion");
	/* EXPECT_RUNTIME names another runtime this program runs on (run.sh: Debian's 12.4). */
	int want_rv = getenv("EXPECT_RUNTIME") ? atoi(getenv("EXPECT_RUNTIME")) : 11080;
	check(rv == want_rv, "runtime is CUDA %d (%d)", want_rv, rv);
	check(v >= rv, "driver %d serves runtime %d", v, rv);
	/* cudaDeviceProp is 1008 bytes in 11.x; name at 0, totalGlobalMem at 288, major/minor at 360. */
	static unsigned char prop[4096];
	EQ(cudaGetDeviceProperties(prop, 0), 0, "cudaGetDeviceProperties");
	size_t total = *(size_t *)(prop + 288);
	int major = *(int *)(prop + 360), minor = *(int *)(prop + 364);
	check(prop[0] != 0 && total > (1ull << 30), "device 0 is \"%s\", %zu MiB, cc %d.%d", (char *)prop, total >> 20, major, minor);
	EQ(cudaSetDevice(0), 0, "cudaSetDevice");

	enum { N = 1 << 20 };
	unsigned char *h = malloc(N), *back = malloc(N);
	for (int i = 0; i < N; i++) h[i] = (unsigned char)(i * 2654435761u >> 13);
	void *d = NULL, *d2 = NULL;
	size_t f0 = 0, f1 = 0, t = 0;
	EQ(cudaMemGetInfo(&f0, &t), 0, "cudaMemGetInfo");
	EQ(cudaMalloc(&d, N), 0, "cudaMalloc");
	EQ(cudaMalloc(&d2, N), 0, "cudaMalloc 2");
	EQ(cudaMemGetInfo(&f1, &t), 0, "cudaMemGetInfo after");
	check(f0 - f1 >= 2 * N, "2 MiB allocated are accounted (%zu bytes)", f0 - f1);
	EQ(cudaMemcpy(d, h, N, 1), 0, "cudaMemcpy H2D");
	EQ(cudaMemcpy(d2, d, N, 3), 0, "cudaMemcpy D2D");
	memset(back, 0, N);
	EQ(cudaMemcpy(back, d2, N, 2), 0, "cudaMemcpy D2H");
	check(memcmp(h, back, N) == 0, "bytes survive H2D, D2D, D2H");
	EQ(cudaMemset(d, 0x5a, 4096), 0, "cudaMemset");
	EQ(cudaMemcpy(back, d, 8192, 2), 0, "cudaMemcpy D2H after memset");
	int ok = 1;
	for (int i = 0; i < 8192; i++) ok &= back[i] == (i < 4096 ? 0x5a : h[i]);
	check(ok, "memset wrote 4096 bytes of 0x5a and nothing beyond");

	cudaStream_t s = NULL;
	cudaEvent_t e0 = NULL, e1 = NULL;
	float ms = -1;
	EQ(cudaStreamCreate(&s), 0, "cudaStreamCreate");
	EQ(cudaEventCreate(&e0), 0, "cudaEventCreate");
	EQ(cudaEventCreate(&e1), 0, "cudaEventCreate 2");
	EQ(cudaEventRecord(e0, s), 0, "cudaEventRecord");
	EQ(cudaMemcpyAsync(d2, h + 7, 4096, 1, s), 0, "cudaMemcpyAsync");
	EQ(cudaEventRecord(e1, s), 0, "cudaEventRecord 2");
	EQ(cudaStreamSynchronize(s), 0, "cudaStreamSynchronize");
	EQ(cudaEventSynchronize(e1), 0, "cudaEventSynchronize");
	EQ(cudaEventElapsedTime(&ms, e0, e1), 0, "cudaEventElapsedTime");
	check(ms >= 0, "elapsed %g ms", ms);
	EQ(cudaMemcpy(back, d2, 4096, 2), 0, "read the stream's copy");
	check(memcmp(back, h + 7, 4096) == 0, "the stream's copy landed");

	/* The variable, through the driver's address for it. */
	int vals[64], got[64];
	if (var) {
	for (int i = 0; i < 64; i++) vals[i] = i * 7 + 1;
	void *va = NULL;
	EQ(cudaMemcpyToSymbol(table_shadow, vals, sizeof vals, 0, 1), 0, "cudaMemcpyToSymbol");
	EQ(cudaGetSymbolAddress(&va, table_shadow), 0, "cudaGetSymbolAddress");
	memset(got, 0, sizeof got);
	EQ(cudaMemcpy(got, va, sizeof got, 2), 0, "cudaMemcpy from the symbol's address");
	check(memcmp(vals, got, sizeof got) == 0, "the variable holds what was copied to it");
	EQ(cudaMemcpyFromSymbol(got, table_shadow, 8, 4, 2), 0, "cudaMemcpyFromSymbol at an offset");
	check(got[0] == vals[1] && got[1] == vals[2], "and reads it back");
	}

	/* The kernel: the runtime loads the module through the driver and resolves it by name. */
	unsigned char attr[256];
	memset(attr, 0, sizeof attr);
	EQ(cudaFuncGetAttributes(attr, (const void *)kernel_stub), want_attr, "cudaFuncGetAttributes");
	if (want_attr == 0) /* cudaFuncAttributes.maxThreadsPerBlock, after three size_t */
		check(*(int *)(attr + 24) >= 64, "the kernel takes blocks of %d threads", *(int *)(attr + 24));
	cudaGetLastError();
	dim3 grid = {2, 1, 1}, block = {64, 1, 1};
	EQ(cudaLaunchKernel((const void *)kernel_stub, grid, block, NULL, 0, s), want_launch, "cudaLaunchKernel");
	cudaGetLastError();
	dim3 huge = {1, 1, 1}, big = {4096, 1, 1};
	/* CUDA 11 and 12's runtimes check these themselves (9, 98); CUDA 13's hands them to the
	 * driver and passes its answer on: cuLaunchKernel's CUDA_ERROR_INVALID_VALUE (1) for the
	 * block, and for a pointer that is no registered function cuKernelGetFunction's
	 * CUDA_ERROR_INVALID_HANDLE (400), which the real driver 580 answers too (probed on the
	 * GPU machine, where the same build gets 400 natively). */
	int cuda13 = rv >= 13000;
	EQ(cudaLaunchKernel((const void *)kernel_stub, huge, big, NULL, 0, s), cuda13 ? 1 : 9,
	   cuda13 ? "a 4096-thread block = the driver's invalid value" : "a 4096-thread block = cudaErrorInvalidConfiguration");
	cudaGetLastError();
	EQ(cudaFuncGetAttributes(attr, (const void *)main), cuda13 ? 400 : 98,
	   cuda13 ? "an unregistered function = the driver's invalid handle" : "an unregistered function = cudaErrorInvalidDeviceFunction");
	cudaGetLastError();

	EQ(cudaEventDestroy(e0), 0, "cudaEventDestroy");
	EQ(cudaEventDestroy(e1), 0, "cudaEventDestroy 2");
	EQ(cudaStreamDestroy(s), 0, "cudaStreamDestroy");
	EQ(cudaFree(d), 0, "cudaFree");
	EQ(cudaFree(d2), 0, "cudaFree 2");
	EQ(cudaDeviceSynchronize(), 0, "cudaDeviceSynchronize");
	/* A reset drops the primary context; the runtime makes a fresh one on the next call. */
	EQ(cudaDeviceReset(), 0, "cudaDeviceReset");
	EQ(cudaMalloc(&d, 4096), 0, "cudaMalloc after the reset");
	EQ(cudaMemcpy(d, h, 4096, 1), 0, "cudaMemcpy after the reset");
	EQ(cudaFree(d), 0, "cudaFree after the reset");
	EQ(cudaLaunchKernel((const void *)kernel_stub, grid, block, NULL, 0, NULL), want_launch, "cudaLaunchKernel after the reset");
	cudaGetLastError();
	if (var) {
		EQ(cudaMemcpyToSymbol(table_shadow, vals, 8, 0, 1), 0, "cudaMemcpyToSymbol after the reset");
		EQ(cudaMemcpyFromSymbol(got, table_shadow, 8, 0, 2), 0, "cudaMemcpyFromSymbol after the reset");
		check(got[0] == vals[0] && got[1] == vals[1], "the variable works after the reset");
	}
	__cudaUnregisterFatBinary(mod);
	printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
