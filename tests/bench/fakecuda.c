/* A stand-in for NVIDIA's libcuda.so.1 on machines without a GPU, for measuring vgpu's own
 * launch path (tests/bench/launchrate.sh): the entry points the local backend (local/cu.c)
 * loads, answering at once, except cuLaunchKernel, which spends VGPU_FAKE_LAUNCH_NS
 * nanoseconds of CPU work (default 2500, about what the real driver's call costs the CPU on an H200)
 * to stand in for the driver's own work. It reports one device, compute capability 9.0.
 * Build: gcc -O2 -shared -fPIC -o libcuda.so.1 fakecuda.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long launch_ns = 2500;
static long launches;
#include <stdio.h>
/* With VGPU_FAKE_REPORT set, each cuCtxSynchronize prints how many launches reached this
 * driver so far (to check that a benchmark's launches all did). */
static int report;
static unsigned long long next_addr = 0x700000000000ull;

static inline long long ns_now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000000000ll + t.tv_nsec;
}
/* The driver's work is CPU work: a loop of a calibrated length, not a wait on the clock (on a
 * loaded machine, reading the clock costs more than the loop, and a preempted wait would count
 * time the CPU spent elsewhere). */
static double iters_per_ns;
static void spin(long long n) {
	for (volatile long long i = 0; i < n; i++) {
	}
}
static void calibrate(void) {
	const long long n = 2000000;
	double best = 0;
	for (int k = 0; k < 7; k++) { /* the fastest run is the one nothing interrupted */
		long long t = ns_now();
		spin(n);
		double r = (double)n / (double)(ns_now() - t);
		if (r > best) best = r;
	}
	iters_per_ns = best;
}
static void busy(long ns) {
	if (ns > 0) spin((long long)(ns * iters_per_ns));
}

int cuInit(unsigned f) {
	(void)f;
	const char *e = getenv("VGPU_FAKE_LAUNCH_NS");
	if (e) launch_ns = atol(e);
	report = getenv("VGPU_FAKE_REPORT") != 0;
	/* Processes compared should do the same work per launch: the calibration (noisy on a
	 * shared machine) is done once and handed to the others as VGPU_FAKE_LAUNCH_ITERS. */
	const char *it = getenv("VGPU_FAKE_LAUNCH_ITERS");
	if (it && atol(it) > 0 && launch_ns > 0) iters_per_ns = (double)atol(it) / (double)launch_ns;
	if (launch_ns > 0 && iters_per_ns == 0) calibrate();
	return 0;
}
int cuDriverGetVersion(int *v) { *v = 12080; return 0; }
int cuDeviceGetCount(int *n) { *n = 1; return 0; }
int cuDeviceGet(int *d, int i) { *d = i; return i == 0 ? 0 : 101; }
int cuDeviceGetName(char *b, int n, int d) {
	(void)d;
	strncpy(b, "vgpu fake driver", (size_t)n - 1);
	b[n - 1] = 0;
	return 0;
}
int cuDeviceTotalMem_v2(size_t *t, int d) { (void)d; *t = 80ull << 30; return 0; }
/* Attribute numbers as NVIDIA's driver API documents them (CUdevice_attribute). */
int cuDeviceGetAttribute(int *v, int a, int d) {
	(void)d;
	switch (a) {
	case 1: *v = 1024; break;                        /* max threads per block */
	case 2: case 3: *v = 1024; break;                /* max block dim x, y */
	case 4: *v = 64; break;                          /* max block dim z */
	case 5: *v = 2147483647; break;                  /* max grid dim x */
	case 6: case 7: *v = 65535; break;               /* max grid dim y, z */
	case 8: *v = 49152; break;                       /* shared memory per block */
	case 9: *v = 65536; break;                       /* constant memory */
	case 10: *v = 32; break;                         /* warp size */
	case 11: *v = 2147483647; break;                 /* max pitch */
	case 12: case 82: *v = 65536; break;             /* registers per block, per SM */
	case 13: *v = 1980000; break;                    /* clock rate, kHz */
	case 14: *v = 512; break;                        /* texture alignment */
	case 15: case 19: case 41: case 83: *v = 1; break; /* overlap, map host, unified, managed */
	case 16: *v = 132; break;                        /* SMs */
	case 36: *v = 2619000; break;                    /* memory clock, kHz */
	case 37: *v = 5120; break;                       /* bus width */
	case 38: *v = 50 << 20; break;                   /* L2 */
	case 39: *v = 2048; break;                       /* threads per SM */
	case 75: *v = 9; break;                          /* compute capability */
	case 76: *v = 0; break;
	case 81: *v = 233472; break;                     /* shared memory per SM */
	case 97: *v = 232448; break;                     /* shared memory per block, opt-in */
	case 106: *v = 32; break;                        /* blocks per SM */
	default: *v = 0;
	}
	return 0;
}
int cuDeviceGetUuid(unsigned char *u, int d) { memset(u, 0x5a, 16); u[15] = (unsigned char)d; return 0; }
int cuDevicePrimaryCtxRetain(void **c, int d) { *c = (void *)(uintptr_t)(0x1000 + d); return 0; }
int cuCtxSetCurrent(void *c) { (void)c; return 0; }
int cuCtxCreate_v2(void **c, unsigned f, int d) { (void)f; static int n; *c = (void *)(uintptr_t)(0x2000 + 16 * ++n + d); return 0; }
int cuCtxPopCurrent_v2(void **c) { *c = 0; return 0; }
int cuCtxDestroy_v2(void *c) { (void)c; return 0; }
int cuCtxSynchronize(void) {
	if (report) fprintf(stderr, "fake driver: %ld launches\n", launches);
	return 0;
}
int cuMemAlloc_v2(unsigned long long *p, size_t n) {
	*p = __atomic_fetch_add(&next_addr, (n + 511) & ~511ull, __ATOMIC_RELAXED);
	return 0;
}
int cuMemFree_v2(unsigned long long p) { (void)p; return 0; }
int cuMemcpyHtoD_v2(unsigned long long d, const void *s, size_t n) { (void)d, (void)s, (void)n; return 0; }
int cuMemcpyDtoH_v2(void *d, unsigned long long s, size_t n) { memset(d, 0, n); (void)s; return 0; }
int cuMemcpyDtoD_v2(unsigned long long d, unsigned long long s, size_t n) { (void)d, (void)s, (void)n; return 0; }
int cuMemcpyHtoDAsync_v2(unsigned long long d, const void *s, size_t n, void *st) { (void)d, (void)s, (void)n, (void)st; return 0; }
int cuMemcpyDtoHAsync_v2(void *d, unsigned long long s, size_t n, void *st) { memset(d, 0, n); (void)s, (void)st; return 0; }
int cuMemsetD8_v2(unsigned long long d, unsigned char v, size_t n) { (void)d, (void)v, (void)n; return 0; }
int cuModuleLoadData(void **m, const void *img) { (void)img; static int n; *m = (void *)(uintptr_t)(0x10000 + 16 * ++n); return 0; }
int cuModuleUnload(void *m) { (void)m; return 0; }
int cuModuleGetFunction(void **f, void *m, const char *name) { (void)name; *f = (char *)m + 8; return 0; }
int cuModuleGetGlobal_v2(unsigned long long *p, size_t *n, void *m, const char *name) { (void)p, (void)n, (void)m, (void)name; return 500; }
int cuFuncGetParamInfo(void *f, size_t i, size_t *off, size_t *size) { (void)f, (void)i, (void)off, (void)size; return 1; } /* no parameters */
int cuFuncSetAttribute(void *f, int a, int v) { (void)f, (void)a, (void)v; return 0; }
int cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned sh, void *st, void **p, void **e) {
	(void)f, (void)gx, (void)gy, (void)gz, (void)bx, (void)by, (void)bz, (void)sh, (void)st, (void)p, (void)e;
	busy(launch_ns);
	__atomic_fetch_add(&launches, 1, __ATOMIC_RELAXED);
	return 0;
}
int cuEventCreate(void **ev, unsigned f) { (void)f; static int n; *ev = (void *)(uintptr_t)(0x30000 + ++n); return 0; }
int cuEventRecord(void *ev, void *st) { (void)ev, (void)st; return 0; }
int cuEventQuery(void *ev) { (void)ev; return 0; }
int cuEventDestroy_v2(void *ev) { (void)ev; return 0; }
int cuStreamQuery(void *st) { (void)st; return 0; }
/* The loop's length per launch (benchmarks report and reuse it). */
long vgpu_fake_launch_iters(void) { return (long)(launch_ns * iters_per_ns); }
