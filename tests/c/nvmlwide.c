/* The wide NVML surface (issue 13): every entry point refuses NULL outputs with a valid
 * handle, list calls say how much room they need, and the values agree with each other and
 * with the modelled board (an H100 SXM or a T4, picked by PROFILE=h100|t4). Runs in-process
 * and as a remote client of a sim server (MODE=remote): settings are never a client's to
 * change. usage: nvmlwide LIBDIR */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zz_sweep.h"

typedef void *dev_t_;
typedef long (*anyfn)(); /* unprototyped: each call passes its own arguments */

static void *ml, *cu;
static int failures, checks;
static const char *profile;
static int remote;

static void *sym(void *lib, const char *name) {
	void *f = dlsym(lib, name);
	if (!f) { printf("nvmlwide: FAIL: %s not exported\n", name); exit(1); }
	return f;
}
#define NV(name) ((anyfn)sym(ml, name))
#define CHECK(cond, ...) do { checks++; if (!(cond)) { failures++; printf("nvmlwide: FAIL: %s:%d: ", profile, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)
#define EQ(got, want, what) do { long g_ = (long)(got), w_ = (long)(want); CHECK(g_ == w_, "%s: got %ld, want %ld", what, g_, w_); } while (0)

enum { OK = 0, INVALID = 2, NOT_SUPPORTED = 3, NO_PERMISSION = 4, NOT_FOUND = 6, INSUFFICIENT = 7, VERSION = 25 };

/* Calls that may answer otherwise with every pointer NULL, and why (none so far). */
static const char *null_ok[] = {
	NULL,
};

static int listed(const char *name) {
	for (const char **p = null_ok; *p; p++)
		if (!strcmp(*p, name)) return 1;
	return 0;
}

/* Every NVML entry point that takes a device handle and a pointer: with a valid handle and
 * every pointer NULL (every other argument 0) the answer is INVALID_ARGUMENT. */
static void null_pointers_with_a_valid_handle(dev_t_ h) {
	int n = 0;
	for (size_t i = 0; i < sizeof sweep_fns / sizeof sweep_fns[0]; i++) {
		const char *name = sweep_fns[i].name, *s = sweep_fns[i].slots;
		if (strncmp(name, "nvml", 4) || s[0] != 'h' || !strpbrk(s, "oi") || strlen(s) > 8) continue;
		if (strstr(name, "EventSet")) continue; /* their handle is a set, not a device */
		long a[8] = {0};
		for (int k = 0; s[k]; k++) a[k] = s[k] == 'h' ? (long)h : 0;
		long r = ((anyfn)sym(ml, name))(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
		n++;
		if (listed(name)) continue;
		CHECK((int)r == INVALID, "%s(valid handle, NULL...) = %d, want INVALID_ARGUMENT", name, (int)r);
	}
	CHECK(n > 180, "only %d calls took a device handle and a pointer", n);
}

static void clocks(dev_t_ h) {
	unsigned cur, max, app, def, byid;
	for (int t = 0; t < 4; t++) {
		EQ(NV("nvmlDeviceGetClockInfo")((long)h, t, (long)&cur), OK, "clock");
		EQ(NV("nvmlDeviceGetMaxClockInfo")((long)h, t, (long)&max), OK, "max clock");
		EQ(NV("nvmlDeviceGetApplicationsClock")((long)h, t, (long)&app), OK, "applications clock");
		EQ(NV("nvmlDeviceGetDefaultApplicationsClock")((long)h, t, (long)&def), OK, "default applications clock");
		CHECK(cur <= max && app <= max && def <= max && max > 0, "type %d: %u, %u, %u <= %u", t, cur, app, def, max);
		EQ(NV("nvmlDeviceGetClock")((long)h, t, 0, (long)&byid), OK, "clock by id");
		EQ(byid, cur, "current clock by id agrees");
	}
	EQ(NV("nvmlDeviceGetClockInfo")((long)h, 9, (long)&cur), INVALID, "unknown clock type");
	unsigned mem, gfx, n = 0, list[512];
	NV("nvmlDeviceGetMaxClockInfo")((long)h, 2, (long)&mem);
	NV("nvmlDeviceGetMaxClockInfo")((long)h, 0, (long)&gfx);
	EQ(NV("nvmlDeviceGetSupportedGraphicsClocks")((long)h, mem, (long)&n, 0), INSUFFICIENT, "no room for clocks");
	CHECK(n > 1 && n <= 512, "needs %u entries", n);
	EQ(NV("nvmlDeviceGetSupportedGraphicsClocks")((long)h, mem, (long)&n, (long)list), OK, "graphics clocks");
	EQ(list[0], gfx, "the fastest supported clock is the maximum");
	CHECK(list[n - 1] < list[0], "the list descends");
	EQ(NV("nvmlDeviceGetSupportedGraphicsClocks")((long)h, mem + 1, (long)&n, (long)list), NOT_FOUND, "unknown memory clock");
	unsigned states[16];
	EQ(NV("nvmlDeviceGetSupportedPerformanceStates")((long)h, (long)states, 8), INSUFFICIENT, "p-states in 8 bytes");
	EQ(NV("nvmlDeviceGetSupportedPerformanceStates")((long)h, (long)states, sizeof states), OK, "p-states");
	EQ(states[0], 0, "P0 first");
	EQ(states[1], 32, "then unknown");
}

static void power_and_settings(dev_t_ h) {
	unsigned lo, hi, limit, def, use;
	EQ(NV("nvmlDeviceGetPowerManagementLimitConstraints")((long)h, (long)&lo, (long)&hi), OK, "constraints");
	EQ(NV("nvmlDeviceGetPowerManagementLimit")((long)h, (long)&limit), OK, "limit");
	EQ(NV("nvmlDeviceGetPowerManagementDefaultLimit")((long)h, (long)&def), OK, "default limit");
	EQ(NV("nvmlDeviceGetPowerUsage")((long)h, (long)&use), OK, "usage");
	CHECK(lo <= limit && limit <= hi && use <= limit, "%u <= %u <= %u, usage %u", lo, limit, hi, use);
	EQ(NV("nvmlDeviceSetPowerManagementLimit")((long)h, hi + 1), INVALID, "a limit above the maximum");
	/* Only root in its own process may change settings; never a server's client. */
	int want = remote || geteuid() != 0 ? NO_PERMISSION : OK;
	EQ(NV("nvmlDeviceSetPowerManagementLimit")((long)h, lo), want, "setting the power limit");
	if (want == OK) {
		NV("nvmlDeviceGetPowerManagementLimit")((long)h, (long)&limit);
		EQ(limit, lo, "the new limit is read back");
		EQ(NV("nvmlDeviceSetPowerManagementLimit")((long)h, def), OK, "restoring it");
	}
	EQ(NV("nvmlDeviceSetComputeMode")((long)h, 3), want, "setting the compute mode");
	EQ(NV("nvmlDeviceSetComputeMode")((long)h, 0), want, "and back");
	unsigned t, thr[4];
	EQ(NV("nvmlDeviceGetTemperature")((long)h, 0, (long)&t), OK, "temperature");
	for (int i = 0; i < 4; i++) EQ(NV("nvmlDeviceGetTemperatureThreshold")((long)h, i, (long)&thr[i]), OK, "threshold");
	CHECK(t < thr[3] && thr[3] < thr[1] && thr[1] < thr[0], "%u < max %u < slowdown %u < shutdown %u", t, thr[3], thr[1], thr[0]);
}

static void board(dev_t_ h, int h100) {
	unsigned n = 0, v, period, a, b, c, d;
	EQ(NV("nvmlDeviceGetNumFans")((long)h, (long)&n), OK, "fans");
	EQ(n, 0, "passively cooled");
	EQ(NV("nvmlDeviceGetEncoderUtilization")((long)h, (long)&v, (long)&period), h100 ? NOT_SUPPORTED : OK, "NVENC (none on an H100)");
	EQ(NV("nvmlDeviceGetDecoderUtilization")((long)h, (long)&v, (long)&period), OK, "NVDEC");
	n = 0;
	EQ(NV("nvmlDeviceGetRetiredPages")((long)h, 0, (long)&n, 0), h100 ? NOT_SUPPORTED : OK, "page retirement (pre-Ampere)");
	EQ(NV("nvmlDeviceGetRemappedRows")((long)h, (long)&a, (long)&b, (long)&c, (long)&d), h100 ? OK : NOT_SUPPORTED, "row remapping (HBM)");
	EQ(NV("nvmlDeviceGetNvLinkState")((long)h, 0, (long)&v), h100 ? OK : NOT_SUPPORTED, "NVLink 0");
	if (h100) {
		EQ(NV("nvmlDeviceGetNvLinkState")((long)h, 17, (long)&v), OK, "NVLink 17");
		EQ(v, 1, "active");
		EQ(NV("nvmlDeviceGetNvLinkState")((long)h, 18, (long)&v), INVALID, "no link 18");
	}
	unsigned cur = 9, pend = 9;
	EQ(NV("nvmlDeviceGetMigMode")((long)h, (long)&cur, (long)&pend), h100 ? OK : NOT_SUPPORTED, "MIG mode");
	if (h100) {
		CHECK(cur == 0 && pend == 0, "MIG disabled: %u %u", cur, pend);
		void *gi;
		EQ(NV("nvmlDeviceCreateGpuInstance")((long)h, 0, (long)&gi), NOT_SUPPORTED, "no GPU instances with MIG off");
	}
	char serial[64], part[64], img[64];
	void *byserial = 0;
	EQ(NV("nvmlDeviceGetSerial")((long)h, (long)serial, sizeof serial), OK, "serial");
	EQ(NV("nvmlDeviceGetHandleBySerial")((long)serial, (long)&byserial), OK, "by serial");
	CHECK(byserial == h, "the serial names the same device");
	EQ(NV("nvmlDeviceGetBoardPartNumber")((long)h, (long)part, 4), INSUFFICIENT, "part number in 4 bytes");
	EQ(NV("nvmlDeviceGetBoardPartNumber")((long)h, (long)part, sizeof part), OK, "part number");
	EQ(NV("nvmlDeviceGetInforomImageVersion")((long)h, (long)img, sizeof img), OK, "InfoROM image");
	CHECK(!strncmp(img, part + 5, 3), "image %s follows board %s", img, part);
	/* Field values agree with the dedicated calls. */
	struct { unsigned id, scope; long long ts, lat; unsigned type, ret; unsigned long long v; } f[2] = {{.id = 1}, {.id = 91}};
	EQ(NV("nvmlDeviceGetFieldValues")((long)h, 2, (long)f), OK, "field values");
	NV("nvmlDeviceGetEccMode")((long)h, (long)&cur, (long)&pend);
	EQ(f[0].ret, OK, "ECC current field");
	EQ(f[0].v, cur, "ECC field agrees");
	EQ(f[1].v, h100 ? 18 : 0, "NVLink count field");
	unsigned level = 99;
	EQ(NV("nvmlDeviceGetTopologyCommonAncestor")((long)h, (long)h, (long)&level), OK, "topology");
	EQ(level, 0, "a device is internal to itself");
	EQ(NV("nvmlUnitGetCount")((long)&n), OK, "units");
	EQ(n, 0, "no S-class unit");
	EQ(NV("nvmlUnitGetHandleByIndex")(0, (long)&byserial), INVALID, "unit 0");
	EQ(NV("nvmlDeviceGetAccountingPids")((long)h, (long)&n, 0), NOT_SUPPORTED, "accounting is off");
	char name[256];
	EQ(NV("nvmlSystemGetProcessName")(getpid(), (long)name, sizeof name), OK, "own process name");
	CHECK(strstr(name, "nvmlwide") != NULL, "name %s", name);
}

static void processes(dev_t_ h) {
	/* Memory allocated through CUDA shows the caller as a compute process in every version. */
	int (*cuInit)(unsigned) = sym(cu, "cuInit");
	int (*cuDevicePrimaryCtxRetain)(void **, int) = sym(cu, "cuDevicePrimaryCtxRetain");
	int (*cuCtxSetCurrent)(void *) = sym(cu, "cuCtxSetCurrent");
	int (*cuMemAlloc)(unsigned long long *, size_t) = sym(cu, "cuMemAlloc_v2");
	int (*cuMemFree)(unsigned long long) = sym(cu, "cuMemFree_v2");
	void *ctx; unsigned long long p;
	EQ(cuInit(0), 0, "cuInit");
	EQ(cuDevicePrimaryCtxRetain(&ctx, 0), 0, "context");
	EQ(cuCtxSetCurrent(ctx), 0, "current");
	EQ(cuMemAlloc(&p, 64 << 20), 0, "64 MiB");
	unsigned n = 0;
	struct { unsigned pid; unsigned long long used; unsigned gi, ci; } v3[4];
	struct { unsigned pid; unsigned long long used; } v1[4];
	EQ(NV("nvmlDeviceGetComputeRunningProcesses_v3")((long)h, (long)&n, 0), INSUFFICIENT, "no room");
	EQ(n, 1, "one process needs room");
	EQ(NV("nvmlDeviceGetComputeRunningProcesses_v2")((long)h, (long)&n, (long)v3), OK, "v2");
	EQ(v3[0].pid, getpid(), "the caller (v2)");
	CHECK(v3[0].used >= 64 << 20, "it holds its memory: %llu", v3[0].used);
	n = 4;
	EQ(NV("nvmlDeviceGetComputeRunningProcesses")((long)h, (long)&n, (long)v1), OK, "v1");
	EQ(v1[0].used, v3[0].used, "v1 and v2 agree");
	n = 4;
	EQ(NV("nvmlDeviceGetMPSComputeRunningProcesses_v3")((long)h, (long)&n, (long)v3), OK, "MPS");
	EQ(n, 0, "no MPS server");
	cuMemFree(p);
}

static void gpm(dev_t_ h, int h100) {
	unsigned sup[2] = {1, 0};
	EQ(NV("nvmlGpmQueryDeviceSupport")((long)h, (long)sup), OK, "GPM support");
	EQ(sup[1], h100, "GPM on Hopper only");
	sup[0] = 7;
	EQ(NV("nvmlGpmQueryDeviceSupport")((long)h, (long)sup), VERSION, "a wrong struct version");
	if (!h100) return;
	unsigned long long s1 = 0, s2 = 0;
	EQ(NV("nvmlGpmSampleAlloc")((long)&s1), OK, "sample 1");
	EQ(NV("nvmlGpmSampleAlloc")((long)&s2), OK, "sample 2");
	EQ(NV("nvmlGpmSampleGet")((long)h, s1), OK, "take 1");
	usleep(2000);
	EQ(NV("nvmlGpmSampleGet")((long)h, s2), OK, "take 2");
	static struct { unsigned version, n; unsigned long long s1, s2; struct { unsigned id, ret; double v; void *names[3]; } m[98]; } mg;
	mg.version = 1; mg.n = 2; mg.s1 = s1; mg.s2 = s2; mg.m[0].id = 2; mg.m[1].id = 999;
	EQ(NV("nvmlGpmMetricsGet")((long)&mg), OK, "metrics");
	EQ(mg.m[0].ret, OK, "SM utilisation");
	CHECK(mg.m[0].v == 0.0, "idle: %f", mg.m[0].v);
	EQ(mg.m[1].ret, INVALID, "an unknown metric");
	EQ(NV("nvmlGpmSampleFree")(s1), OK, "free 1");
	EQ(NV("nvmlGpmSampleFree")(s1), INVALID, "free 1 twice");
	NV("nvmlGpmSampleFree")(s2);
}

/* Calls from drivers after 535: versioned structs, values that agree with the older calls. */
static void newer(dev_t_ h) {
	unsigned m[2] = {8 | 1 << 24, 0}, t, thr;
	EQ(NV("nvmlDeviceGetMarginTemperature")((long)h, (long)m), OK, "margin temperature");
	NV("nvmlDeviceGetTemperature")((long)h, 0, (long)&t);
	NV("nvmlDeviceGetTemperatureThreshold")((long)h, 3, (long)&thr);
	EQ(m[1], thr - t, "margin = maximum operating - current");
	m[0] = 8;
	EQ(NV("nvmlDeviceGetMarginTemperature")((long)h, (long)m), VERSION, "an unversioned struct");
	struct { unsigned version, type; char str[44]; } u = {52 | 1 << 24, 1, ""};
	void *byuuid = 0;
	EQ(NV("nvmlDeviceGetUUID")((long)h, (long)u.str, 41), OK, "uuid");
	EQ(NV("nvmlDeviceGetHandleByUUIDV")((long)&u, (long)&byuuid), OK, "by nvmlUUID_t");
	CHECK(byuuid == h, "the UUID names the same device");
	u.str[5] ^= 1;
	EQ(NV("nvmlDeviceGetHandleByUUIDV")((long)&u, (long)&byuuid), NOT_FOUND, "another UUID");
	struct { unsigned version; char branch[80]; } br = {84 | 1 << 24, ""};
	char drv[96];
	NV("nvmlSystemGetDriverVersion")((long)drv, sizeof drv);
	EQ(NV("nvmlSystemGetDriverBranch")((long)&br, 80), OK, "driver branch");
	CHECK(br.branch[0] == 'r' && !strncmp(br.branch + 1, drv, 3), "branch %s of driver %s", br.branch, drv);
	EQ(NV("nvmlSystemGetDriverBranch")((long)&br, 2), INSUFFICIENT, "branch in 2 bytes");
	static struct { unsigned version; char str[2048]; } f = {2052 | 1 << 24, ""};
	unsigned g;
	EQ(NV("nvmlDeviceGetCurrentClockFreqs")((long)h, (long)&f), OK, "clock string");
	NV("nvmlDeviceGetClockInfo")((long)h, 0, (long)&g);
	char want[64];
	snprintf(want, sizeof want, "nvclock=%u,", g);
	CHECK(!strncmp(f.str, want, strlen(want)), "%s starts %s", f.str, want);
}

int main(int argc, char **argv) {
	if (argc < 2) { fprintf(stderr, "usage: nvmlwide LIBDIR\n"); return 2; }
	char path[4096];
	snprintf(path, sizeof path, "%s/libnvidia-ml.so.1", argv[1]);
	if (!(ml = dlopen(path, RTLD_NOW))) { printf("nvmlwide: FAIL: %s\n", dlerror()); return 1; }
	snprintf(path, sizeof path, "%s/libcuda.so.1", argv[1]);
	if (!(cu = dlopen(path, RTLD_NOW))) { printf("nvmlwide: FAIL: %s\n", dlerror()); return 1; }
	profile = getenv("PROFILE") ? getenv("PROFILE") : "h100";
	remote = getenv("MODE") && !strcmp(getenv("MODE"), "remote");
	int h100 = !strcmp(profile, "h100");
	unsigned v;
	EQ(NV("nvmlDeviceGetNumFans")(0, (long)&v), 1, "before nvmlInit: UNINITIALIZED");
	EQ(NV("nvmlInit_v2")(), OK, "nvmlInit_v2");
	dev_t_ h;
	EQ(NV("nvmlDeviceGetHandleByIndex_v2")(0, (long)&h), OK, "device 0");
	EQ(NV("nvmlDeviceGetNumFans")(0x7ead0000dea0L, (long)&v), INVALID, "a wild handle");
	null_pointers_with_a_valid_handle(h);
	clocks(h);
	power_and_settings(h);
	board(h, h100);
	processes(h);
	gpm(h, h100);
	newer(h);
	EQ(NV("nvmlShutdown")(), OK, "nvmlShutdown");
	printf("nvmlwide: %s%s: %d checks, %d failure(s)\n", profile, remote ? " (remote)" : "", checks, failures);
	return failures != 0;
}
