/* Issue 14's driver-only mode, issue 12's speed: NVIDIA's runtime wraps each cudaLaunchKernel
 * in driver queries (the current context, twice; its id; its device; the multiprocessor
 * count) and cudaSetDevice sets the context already current. Over remote each was a round
 * trip, four or more per launch around a launch that is itself posted. The client now
 * answers them from what it knows of the server's current context; these checks say the
 * answers stay the driver's (in-process sim and remote give the same), including after the
 * context changes or goes, and that a launch done NVIDIA's way costs no round trip.
 *   drvlaunch LIBDIR [sim|remote]       the rules, and for remote the round-trip count
 *   drvlaunch LIBDIR step N             N launches as NVIDIA's runtime makes them (a child)
 *   drvlaunch LIBDIR lookups N          a module of N kernels, each looked up, one launched (a child)
 * Status values are NVIDIA's: 0 success, 1 invalid value, 101 invalid device, 201 invalid
 * context. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int res_t;
static int failures, checks;
#define CHECK(c, ...) do { checks++; if (!(c)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)
#define EQ(got, want, what) do { long long g_ = (long long)(got), w_ = (long long)(want); CHECK(g_ == w_, "%s: got %lld, want %lld", what, g_, w_); } while (0)

#define FNS(X) \
	X(cuInit, (unsigned)) X(cuDeviceGetAttribute, (int *, int, int)) \
	X(cuDevicePrimaryCtxRetain, (void **, int)) X(cuDevicePrimaryCtxRelease_v2, (int)) \
	X(cuCtxCreate_v2, (void **, unsigned, int)) X(cuCtxDestroy_v2, (void *)) \
	X(cuCtxSetCurrent, (void *)) X(cuCtxGetCurrent, (void **)) X(cuCtxGetDevice, (int *)) \
	X(cuCtxPushCurrent_v2, (void *)) X(cuCtxPopCurrent_v2, (void **)) \
	X(cuCtxGetId, (void *, unsigned long long *)) X(cuCtxSynchronize, (void)) \
	X(cuModuleLoadData, (void **, const void *)) X(cuModuleGetFunction, (void **, void *, const char *)) \
	X(cuLaunchKernel, (void *, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, void *, void **, void **)) \
	X(cuMemAlloc_v2, (unsigned long long *, size_t)) X(cuMemFree_v2, (unsigned long long))
#define DECL(n, a) static res_t(*p_##n) a;
FNS(DECL)

static const char ptx[] =
	".version 8.0\n.target sm_90\n.address_size 64\n"
	".visible .entry scale(.param .u64 x)\n{\n\tret;\n}\n";

static void *load(const char *libdir) {
	char path[4096];
	snprintf(path, sizeof path, "%s/libcuda.so.1", libdir);
	void *h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	if (!h) { printf("FAIL dlopen %s: %s\n", path, dlerror()); exit(1); }
#define LOAD(n, a) p_##n = (res_t(*) a)dlsym(h, #n); if (!p_##n) { printf("FAIL missing %s\n", #n); exit(1); }
	FNS(LOAD)
	return h;
}

/* One launch as NVIDIA's CUDA 12.4 runtime makes it over the driver (its calls as vgpu's
 * trace shows them), with the cudaSetDevice ggml makes before it. */
static res_t runtime_launch(void *f, unsigned long long *arg) {
	void *c = NULL, *c2 = NULL;
	unsigned long long id = 0;
	int dev = -1, sms = 0;
	res_t r;
	if ((r = p_cuCtxGetCurrent(&c)) || (r = p_cuCtxSetCurrent(c)) || (r = p_cuCtxGetCurrent(&c2)) ||
		(r = p_cuCtxGetId(c2, &id)) || (r = p_cuCtxGetCurrent(&c2)) || (r = p_cuCtxGetDevice(&dev)) ||
		(r = p_cuDeviceGetAttribute(&sms, 16, dev)))
		return r;
	void *params[] = {arg};
	return p_cuLaunchKernel(f, 4, 1, 1, 128, 1, 1, 0, NULL, params, NULL);
}

/* The child: N launches, then exit; a remote client with VGPU_STATS=1 logs what its
 * connection carried at exit. */
static int step(int n) {
	void *prim = NULL, *m = NULL, *f = NULL;
	unsigned long long d = 0;
	if (p_cuInit(0) || p_cuDevicePrimaryCtxRetain(&prim, 0) || p_cuCtxSetCurrent(prim) || p_cuModuleLoadData(&m, ptx) ||
		p_cuModuleGetFunction(&f, m, "scale") || p_cuMemAlloc_v2(&d, 4096)) {
		printf("FAIL setup\n");
		return 1;
	}
	EQ(runtime_launch(f, &d), 0, "warm-up launch"); /* ships the module: not per launch */
	EQ(p_cuCtxSynchronize(), 0, "synchronise");
	for (int i = 0; i < n; i++) {
		res_t r = runtime_launch(f, &d);
		if (r) { printf("FAIL launch %d: %d\n", i, r); return 1; }
	}
	EQ(p_cuCtxSynchronize(), 0, "synchronise");
	return failures != 0;
}

/* The child: a module of n kernels k0..k(n-1), each looked up as NVIDIA's runtime looks up
 * every kernel of a library at its start-up; then k0 launched. Over remote a lookup of a
 * kernel the image names costs no round trip: the server resolves it at its first use. */
static int lookups(int n) {
	size_t cap = 128 + (size_t)n * 64;
	char *text = malloc(cap);
	size_t len = snprintf(text, cap, ".version 8.0\n.target sm_90\n.address_size 64\n");
	for (int i = 0; i < n; i++)
		len += snprintf(text + len, cap - len, ".visible .entry k%d(.param .u64 x)\n{\n\tret;\n}\n", i);
	void *prim = NULL, *m = NULL, *f = NULL, *f0 = NULL;
	unsigned long long d = 0;
	if (p_cuInit(0) || p_cuDevicePrimaryCtxRetain(&prim, 0) || p_cuCtxSetCurrent(prim) || p_cuModuleLoadData(&m, text) ||
		p_cuMemAlloc_v2(&d, 4096)) {
		printf("FAIL setup\n");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof name, "k%d", i);
		EQ(p_cuModuleGetFunction(&f, m, name), 0, "a kernel the image names");
		if (i == 0) f0 = f;
	}
	EQ(p_cuModuleGetFunction(&f, m, "nope"), 500, "a name the image does not define");
	void *params[] = {&d};
	EQ(p_cuLaunchKernel(f0, 1, 1, 1, 32, 1, 1, 0, NULL, params, NULL), 0, "launching a kernel looked up without the server");
	EQ(p_cuCtxSynchronize(), 0, "synchronise");
	free(text);
	return failures != 0;
}

/* wire runs the child (what: step or lookups) with n and reads the round trips and posts it
 * logged. */
static int wire(const char *self, const char *libdir, const char *what, int n, long *trips, long *posts) {
	char cmd[8192];
	snprintf(cmd, sizeof cmd, "VGPU_STATS=1 '%s' '%s' %s %d 2>&1 >/dev/null", self, libdir, what, n);
	FILE *p = popen(cmd, "r");
	if (!p) return -1;
	char line[8192];
	int found = 0;
	while (fgets(line, sizeof line, p)) {
		char *s = strstr(line, "round_trips=");
		if (s && sscanf(s, "round_trips=%ld posts=%ld", trips, posts) == 2) found = 1;
	}
	int rc = pclose(p);
	return found && rc == 0 ? 0 : -1;
}

/* few_more_trips checks that the child `what` run with n1 costs fewer than (n1 - n0) / 10 more
 * round trips than with n0: the calls it repeats are answered without the server. */
static void few_more_trips(const char *self, const char *libdir, const char *what, int n0, int n1, const char *calls) {
	long t0 = -1, t1 = -1, q = 0;
	CHECK(wire(self, libdir, what, n0, &t0, &q) == 0, "the %s child (%d) failed or logged no wire counts", what, n0);
	CHECK(wire(self, libdir, what, n1, &t1, &q) == 0, "the %s child (%d) failed or logged no wire counts", what, n1);
	if (t0 < 0 || t1 < 0) return;
	printf("round trips for %d more %s: %ld\n", n1 - n0, calls, t1 - t0);
	CHECK(t1 - t0 < (n1 - n0) / 10, "%s cost round trips: %ld for %d", calls, t1 - t0, n1 - n0);
}

/* current_is checks that cuCtxGetCurrent answers want (and writes it: the output starts as
 * something else). */
static void current_is(void *want, const char *what) {
	void *c = (void *)1;
	EQ(p_cuCtxGetCurrent(&c), 0, "cuCtxGetCurrent");
	CHECK(c == want, "%s", what);
}

static void rules(void) {
	void *prim = NULL, *c = NULL, *c2 = NULL;
	unsigned long long id1 = 0, id2 = 0, id3 = 0;
	int dev = -1, v1 = -1, v2 = -2;
	EQ(p_cuInit(0), 0, "cuInit");
	EQ(p_cuDevicePrimaryCtxRetain(&prim, 0), 0, "retain the primary context");
	EQ(p_cuCtxSetCurrent(prim), 0, "make it current");
	current_is(prim, "the primary context is current");
	EQ(p_cuCtxSetCurrent(prim), 0, "setting the current context again");
	current_is(prim, "still the primary context");
	EQ(p_cuCtxGetDevice(&dev), 0, "cuCtxGetDevice");
	EQ(dev, 0, "its device");
	EQ(p_cuCtxGetId(prim, &id1), 0, "cuCtxGetId");
	EQ(p_cuCtxGetId(NULL, &id2), 0, "cuCtxGetId of the current context");
	CHECK(id1 == id2 && id1 != 0, "one id (%llu, %llu)", id1, id2);
	/* Bad input keeps NVIDIA's codes, asked once or many times. */
	for (int i = 0; i < 2; i++) {
		EQ(p_cuCtxGetCurrent(NULL), 1, "cuCtxGetCurrent(NULL)");
		EQ(p_cuCtxGetDevice(NULL), 1, "cuCtxGetDevice(NULL)");
		EQ(p_cuCtxGetId(prim, NULL), 1, "cuCtxGetId without an output");
		EQ(p_cuCtxSetCurrent((void *)0x1234), 201, "a context that never was");
		EQ(p_cuDeviceGetAttribute(&v1, 16, 0), 0, "the multiprocessor count");
		EQ(p_cuDeviceGetAttribute(&v2, 16, 0), 0, "asked again");
		CHECK(v1 > 0 && v1 == v2, "one count (%d, %d)", v1, v2);
		EQ(p_cuDeviceGetAttribute(&v1, 0, 0), 1, "attribute 0");
		EQ(p_cuDeviceGetAttribute(&v1, 100000, 0), 1, "an attribute past the last");
		EQ(p_cuDeviceGetAttribute(&v1, 16, 99), 101, "a device that is not there");
		EQ(p_cuDeviceGetAttribute(NULL, 16, 0), 1, "no output");
	}
	current_is(prim, "a failed cuCtxSetCurrent changed nothing");

	/* A new context is pushed current; popping it brings the primary back. */
	EQ(p_cuCtxCreate_v2(&c2, 0, 0), 0, "cuCtxCreate");
	CHECK(c2 != prim, "a context of its own");
	current_is(c2, "the created context is current");
	EQ(p_cuCtxGetId(NULL, &id3), 0, "its id");
	CHECK(id3 != id1, "another id");
	EQ(p_cuCtxPopCurrent_v2(&c), 0, "pop");
	CHECK(c == c2, "popped the created context");
	current_is(prim, "the primary context is current again");
	EQ(p_cuCtxGetId(NULL, &id2), 0, "cuCtxGetId");
	EQ(id2, id1, "the primary context's id");
	EQ(p_cuCtxPushCurrent_v2(c2), 0, "push it back");
	current_is(c2, "pushed context current");
	EQ(p_cuCtxSetCurrent(c2), 0, "set the current context again");
	/* Destroying the current context: the one below is current, and the destroyed one is gone
	 * for every call, whatever was known of it. */
	EQ(p_cuCtxDestroy_v2(c2), 0, "destroy it");
	current_is(prim, "the primary context is current after the destroy");
	EQ(p_cuCtxSetCurrent(c2), 201, "a destroyed context cannot be made current");
	EQ(p_cuCtxGetId(c2, &id2), 201, "nor has an id");
	current_is(prim, "still the primary context");
	/* None current: NULL, and the device query has no context. */
	EQ(p_cuCtxSetCurrent(NULL), 0, "no context current");
	current_is(NULL, "NULL when none is current");
	EQ(p_cuCtxGetDevice(&dev), 201, "cuCtxGetDevice with none current");
	EQ(p_cuCtxSetCurrent(prim), 0, "the primary again");
	EQ(p_cuCtxGetDevice(&dev), 0, "cuCtxGetDevice");
	EQ(dev, 0, "its device");

	/* Pushing the current context and popping it (NVIDIA's runtime brackets its module loads
	 * so): each pop gives the pushed context back, and it stays current. */
	EQ(p_cuCtxPushCurrent_v2(prim), 0, "push the current context");
	EQ(p_cuCtxPushCurrent_v2(prim), 0, "and again");
	c = NULL;
	EQ(p_cuCtxPopCurrent_v2(&c), 0, "pop");
	CHECK(c == prim, "popped the pushed context");
	current_is(prim, "it is still current");
	EQ(p_cuCtxPopCurrent_v2(&c), 0, "pop the other");
	CHECK(c == prim, "popped the pushed context again");
	current_is(prim, "the primary context stays current");
	/* A context made between the push and the pops lands on the pushed one: popping it makes
	 * the pushed context current, and popping that leaves the primary current. */
	void *c3 = NULL;
	EQ(p_cuCtxPushCurrent_v2(prim), 0, "push the current context");
	EQ(p_cuCtxCreate_v2(&c3, 0, 0), 0, "cuCtxCreate on top of it");
	current_is(c3, "the new context is current");
	EQ(p_cuCtxPopCurrent_v2(&c), 0, "pop the new context");
	CHECK(c == c3, "popped the new context");
	current_is(prim, "the pushed context is current");
	EQ(p_cuCtxPopCurrent_v2(&c), 0, "pop the pushed context");
	CHECK(c == prim, "popped the pushed context");
	current_is(prim, "the primary context is current at the bottom");
	EQ(p_cuCtxDestroy_v2(c3), 0, "destroy the made context");
	current_is(prim, "destroying a context that is not current changes nothing");
}

/* The child: n pushes and pops of the current context. Over remote they cost no round trip. */
static int pushpop(int n) {
	void *prim = NULL, *c = NULL;
	if (p_cuInit(0) || p_cuDevicePrimaryCtxRetain(&prim, 0) || p_cuCtxSetCurrent(prim)) {
		printf("FAIL setup\n");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		if (p_cuCtxPushCurrent_v2(prim) || p_cuCtxPopCurrent_v2(&c) || c != prim) {
			printf("FAIL push/pop %d\n", i);
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv) {
	const char *libdir = argc > 1 ? argv[1] : "build/lib";
	const char *label = argc > 2 ? argv[2] : "sim";
	if (!strcmp(label, "step")) {
		load(libdir);
		return step(argc > 3 ? atoi(argv[3]) : 0);
	}
	if (!strcmp(label, "lookups")) {
		load(libdir);
		return lookups(argc > 3 ? atoi(argv[3]) : 1);
	}
	if (!strcmp(label, "pushpop")) {
		load(libdir);
		return pushpop(argc > 3 ? atoi(argv[3]) : 1);
	}
	if (!strcmp(label, "remote")) {
		/* Counted in children, before this process connects: a launch made NVIDIA's way costs
		 * no round trip (its queries are answered by the client, the launch is posted). */
		enum { N = 200 };
		long t0 = -1, p0 = -1, t1 = -1, p1 = -1;
		CHECK(wire(argv[0], libdir, "step", 0, &t0, &p0) == 0, "the child with no launch logged no wire counts");
		CHECK(wire(argv[0], libdir, "step", N, &t1, &p1) == 0, "the child with %d launches logged no wire counts", N);
		if (t0 >= 0 && t1 >= 0) {
			printf("round trips per launch: %.3f, posts per launch: %.3f\n", (double)(t1 - t0) / N, (double)(p1 - p0) / N);
			CHECK(t1 - t0 < N / 10, "a launch made as NVIDIA's runtime makes it costs round trips: %ld for %d launches", t1 - t0, N);
			CHECK(p1 - p0 >= N, "the launches were not carried (%ld posts for %d)", p1 - p0, N);
		}
		/* A module of K kernels, each looked up, costs what a module of one does; pushing and
		 * popping the current context K times (NVIDIA's runtime brackets a module load so)
		 * costs what none does. */
		enum { K = 64 };
		few_more_trips(argv[0], libdir, "lookups", 1, K, "kernel lookups");
		few_more_trips(argv[0], libdir, "pushpop", 0, K, "pushes and pops of the current context");
	}
	load(libdir);
	rules();
	printf("%s drvlaunch: %d checks, %d failures\n", failures ? "FAIL" : "PASS", checks, failures);
	return failures != 0;
}
