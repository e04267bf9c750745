/* Runtime functions programs built with nvcc 13 need to load (issue 13): device symbols and
 * their copies, host functions in stream order, cudaMemset2D, the default memory pool's
 * attributes. Run in-process (sim) and as a remote client of a sim server: the same rules.
 *   runtime13 LIBDIR
 */
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
#define CHECK(c, ...) do { checks++; if (!(c)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)
#define EQ(got, want, what) do { long long g_ = (long long)(got), w_ = (long long)(want); CHECK(g_ == w_, "%s: got %lld, want %lld", what, g_, w_); } while (0)

#define FNS(X) \
	X(err_t, cudaMalloc, (void **, size_t)) X(err_t, cudaFree, (void *)) \
	X(err_t, cudaMemcpy, (void *, const void *, size_t, int)) \
	X(err_t, cudaMemcpyAsync, (void *, const void *, size_t, int, void *)) \
	X(err_t, cudaMemset, (void *, int, size_t)) \
	X(err_t, cudaStreamCreateWithFlags, (void **, unsigned)) X(err_t, cudaStreamDestroy, (void *)) \
	X(err_t, cudaStreamSynchronize, (void *)) X(err_t, cudaGetLastError, (void)) \
	X(void **, __cudaRegisterFatBinary, (void *)) X(void, __cudaRegisterFatBinaryEnd, (void **)) \
	X(void, __cudaUnregisterFatBinary, (void **)) \
	X(void, __cudaRegisterVar, (void **, char *, char *, const char *, int, size_t, int, int)) \
	X(err_t, cudaGetSymbolAddress, (void **, const void *)) X(err_t, cudaGetSymbolSize, (size_t *, const void *)) \
	X(err_t, cudaMemcpyToSymbol, (const void *, const void *, size_t, size_t, int)) \
	X(err_t, cudaMemcpyFromSymbol, (void *, const void *, size_t, size_t, int)) \
	X(err_t, cudaMemcpyToSymbolAsync, (const void *, const void *, size_t, size_t, int, void *)) \
	X(err_t, cudaMemcpyFromSymbolAsync, (void *, const void *, size_t, size_t, int, void *)) \
	X(err_t, cudaLaunchHostFunc, (void *, void (*)(void *), void *)) \
	X(err_t, cudaStreamAddCallback, (void *, void (*)(void *, int, void *), void *, unsigned)) \
	X(err_t, cudaMemset2D, (void *, size_t, int, size_t, size_t)) \
	X(err_t, cudaMemset2DAsync, (void *, size_t, int, size_t, size_t, void *)) \
	X(err_t, cudaMallocAsync, (void **, size_t, void *)) X(err_t, cudaFreeAsync, (void *, void *)) \
	X(err_t, cudaDeviceGetDefaultMemPool, (void **, int)) X(err_t, cudaDeviceGetMemPool, (void **, int)) \
	X(err_t, cudaMemPoolGetAttribute, (void *, int, void *)) X(err_t, cudaMemPoolSetAttribute, (void *, int, void *)) \
	X(err_t, cudaMemPoolTrimTo, (void *, size_t))
#define DECL(r, n, a) static r(*p_##n) a;
FNS(DECL)

/* cudaMemcpyKind, cudaMemPoolAttr: values from NVIDIA's runtime API documentation. */
enum { H2D = 1, D2H = 2, D2D = 3 };
enum { ReuseFollow = 1, ReleaseThreshold = 4, ReservedCurrent = 5, ReservedHigh = 6, UsedCurrent = 7, UsedHigh = 8 };

/* The host shadows of a __device__ int[4] (initialised as nvcc initialises both) and a
 * __constant__ float. */
static int dev_table[4] = {1, 2, 3, 4};
static float dev_scale;
static struct { unsigned magic, version; const unsigned long long *data; void *unused; } wrapper;
static unsigned long long fatbin[4] = {0x0010000100000000ull | 0xba55ed50u, 0};

static void test_symbols(void) {
	wrapper.magic = 0x466243b1; wrapper.version = 1; wrapper.data = fatbin;
	void **mod = p___cudaRegisterFatBinary(&wrapper);
	p___cudaRegisterVar(mod, (char *)dev_table, "dev_table", "dev_table", 0, sizeof dev_table, 0, 0);
	p___cudaRegisterVar(mod, (char *)&dev_scale, "dev_scale", "dev_scale", 0, sizeof dev_scale, 1, 0);
	p___cudaRegisterFatBinaryEnd(mod);
	size_t n = 0; void *addr = NULL, *addr2 = NULL;
	EQ(p_cudaGetSymbolSize(&n, dev_table), 0, "cudaGetSymbolSize"); EQ(n, sizeof dev_table, "symbol size");
	EQ(p_cudaGetSymbolSize(&n, &dev_scale), 0, "constant size"); EQ(n, sizeof(float), "constant symbol size");
	EQ(p_cudaGetSymbolAddress(&addr, dev_table), 0, "cudaGetSymbolAddress"); CHECK(addr != NULL, "a device address");
	EQ(p_cudaGetSymbolAddress(&addr2, dev_table), 0, "again"); CHECK(addr == addr2, "the address is stable");
	int got[4] = {0};
	EQ(p_cudaMemcpyFromSymbol(got, dev_table, sizeof got, 0, D2H), 0, "read the initial value");
	CHECK(got[0] == 1 && got[3] == 4, "device storage starts as the initialiser: %d %d", got[0], got[3]);
	int put[2] = {70, 80};
	EQ(p_cudaMemcpyToSymbol(dev_table, put, sizeof put, sizeof(int), H2D), 0, "write at an offset");
	EQ(p_cudaMemcpyFromSymbol(got, dev_table, sizeof got, 0, D2H), 0, "read back");
	CHECK(got[0] == 1 && got[1] == 70 && got[2] == 80 && got[3] == 4, "round trip: %d %d %d %d", got[0], got[1], got[2], got[3]);
	/* The symbol's address is ordinary device memory: a plain copy sees the same bytes. */
	int via = 0;
	EQ(p_cudaMemcpy(&via, (char *)addr + 2 * sizeof(int), sizeof via, D2H), 0, "cudaMemcpy from the symbol's address");
	EQ(via, 80, "the symbol's address holds what cudaMemcpyToSymbol wrote");
	/* Device to device, and the async forms on a stream. */
	void *d = NULL, *s = NULL; float f = 2.5f, g = 0;
	EQ(p_cudaMalloc(&d, 64), 0, "malloc");
	EQ(p_cudaMemcpy(d, &f, sizeof f, H2D), 0, "stage");
	EQ(p_cudaStreamCreateWithFlags(&s, 1), 0, "stream");
	EQ(p_cudaMemcpyToSymbolAsync(&dev_scale, d, sizeof f, 0, D2D, s), 0, "D2D to a constant, async");
	EQ(p_cudaMemcpyFromSymbolAsync(&g, &dev_scale, sizeof g, 0, D2H, s), 0, "async read");
	EQ(p_cudaStreamSynchronize(s), 0, "sync"); CHECK(g == 2.5f, "async round trip: %g", g);
	CHECK(dev_scale == 0, "the host shadow is not the device's storage");
	/* Bad input, as NVIDIA documents it. */
	int local = 0;
	EQ(p_cudaGetSymbolSize(&n, &local), 13, "an unregistered address = cudaErrorInvalidSymbol");
	EQ(p_cudaMemcpyToSymbol(&local, put, 4, 0, H2D), 13, "copy to an unregistered symbol");
	EQ(p_cudaMemcpyToSymbol(dev_table, put, 8, 12, H2D), 1, "past the variable's end = invalid value");
	EQ(p_cudaMemcpyToSymbol(dev_table, put, 4, 0, D2H), 21, "to a symbol device-to-host = invalid direction");
	EQ(p_cudaMemcpyFromSymbol(got, dev_table, 4, 0, H2D), 21, "from a symbol host-to-device = invalid direction");
	EQ(p_cudaGetSymbolAddress(NULL, dev_table), 1, "NULL out = invalid value");
	p_cudaGetLastError();
	p_cudaStreamDestroy(s); p_cudaFree(d);
	p___cudaUnregisterFatBinary(mod);
	EQ(p_cudaGetSymbolSize(&n, dev_table), 13, "unregistered with its module");
	p_cudaGetLastError();
}

struct hostcall { void *dev; int seen, runs; pthread_t thread; };
static void host_fn(void *p) {
	struct hostcall *h = p;
	int v = 0;
	/* Reading device memory here is a CUDA call, which host functions must not make; the
	 * check instead reads the host buffer the earlier async copy filled. */
	memcpy(&v, h->dev, sizeof v);
	h->seen = v;
	h->runs++;
	h->thread = pthread_self();
	((int *)h->dev)[0] = 99; /* a later copy on the stream must see this */
}
static void stream_cb(void *stream, int status, void *p) {
	struct hostcall *h = p;
	h->runs++; h->seen = status; h->thread = pthread_self();
}

static void test_host_funcs(void) {
	void *s = NULL, *d = NULL;
	int *pinned = malloc(2 * sizeof(int)), back = 0;
	EQ(p_cudaStreamCreateWithFlags(&s, 1), 0, "stream");
	EQ(p_cudaMalloc(&d, 64), 0, "malloc");
	int val = 1234;
	EQ(p_cudaMemcpy(d, &val, sizeof val, H2D), 0, "seed");
	pinned[0] = 0;
	struct hostcall h = {pinned, 0, 0, 0};
	EQ(p_cudaMemcpyAsync(pinned, d, sizeof(int), D2H, s), 0, "an earlier async copy");
	EQ(p_cudaLaunchHostFunc(s, host_fn, &h), 0, "cudaLaunchHostFunc");
	EQ(p_cudaMemcpyAsync(d, pinned, sizeof(int), H2D, s), 0, "a later async copy");
	EQ(p_cudaStreamSynchronize(s), 0, "sync");
	EQ(h.runs, 1, "the host function ran exactly once");
	EQ(h.seen, 1234, "it saw the earlier copy's result");
	EQ(p_cudaMemcpy(&back, d, sizeof back, D2H), 0, "read");
	EQ(back, 99, "the later copy ran after it (it carried what the function wrote)");
	CHECK(!pthread_equal(h.thread, pthread_self()), "the host function ran on the caller's thread");
	struct hostcall c = {0};
	c.seen = -1;
	EQ(p_cudaStreamAddCallback(s, stream_cb, &c, 0), 0, "cudaStreamAddCallback");
	EQ(p_cudaStreamSynchronize(s), 0, "sync");
	EQ(c.runs, 1, "the callback ran once"); EQ(c.seen, 0, "with cudaSuccess");
	CHECK(!pthread_equal(c.thread, pthread_self()), "the callback ran on the caller's thread");
	EQ(p_cudaLaunchHostFunc(s, NULL, &h), 1, "a NULL function = invalid value");
	EQ(p_cudaStreamAddCallback(s, stream_cb, &c, 1), 1, "flags other than 0 = invalid value");
	EQ(p_cudaLaunchHostFunc((void *)0x7ead0000dea0, host_fn, &h), 400, "a wild stream = invalid resource handle");
	EQ(h.runs, 1, "refused calls ran nothing"); EQ(c.runs, 1, "refused callbacks ran nothing");
	p_cudaGetLastError();
	p_cudaStreamDestroy(s); p_cudaFree(d); free(pinned);
}

static void test_memset2d(void) {
	enum { P = 64, W = 10, H = 5 };
	unsigned char *d = NULL, back[P * 6];
	EQ(p_cudaMalloc((void **)&d, sizeof back), 0, "malloc");
	EQ(p_cudaMemset(d, 0x11, sizeof back), 0, "background");
	EQ(p_cudaMemset2D(d + 3, P, 0xab, W, H), 0, "cudaMemset2D");
	EQ(p_cudaMemcpy(back, d, sizeof back, D2H), 0, "read");
	int bad = 0;
	for (int i = 0; i < (int)sizeof back; i++) {
		int r = i / P, c = i % P, in = r < H && c >= 3 && c < 3 + W;
		if (back[i] != (in ? 0xab : 0x11)) bad++;
	}
	EQ(bad, 0, "bytes outside the rectangle changed or inside it did not");
	void *s = NULL;
	EQ(p_cudaStreamCreateWithFlags(&s, 1), 0, "stream");
	EQ(p_cudaMemset2DAsync(d, P, 0x22, P, 6, s), 0, "cudaMemset2DAsync, whole pitch");
	EQ(p_cudaStreamSynchronize(s), 0, "sync");
	EQ(p_cudaMemcpy(back, d, sizeof back, D2H), 0, "read");
	CHECK(back[0] == 0x22 && back[sizeof back - 1] == 0x22, "async memset2D did not fill");
	EQ(p_cudaMemset2D(d, 8, 0, 9, 2), 1, "width beyond pitch = invalid value");
	EQ(p_cudaMemset2D(d, P, 0, W, 7), 1, "rows past the allocation = invalid value");
	EQ(p_cudaMemcpy(back, d, sizeof back, D2H), 0, "read");
	CHECK(back[0] == 0x22, "a refused memset2D wrote");
	EQ(p_cudaMemset2D(d, P, 0, 0, 3), 0, "an empty rectangle succeeds");
	p_cudaGetLastError();
	p_cudaStreamDestroy(s); p_cudaFree(d);
}

static unsigned long long attr64(void *pool, int a) {
	unsigned long long v = ~0ull;
	EQ(p_cudaMemPoolGetAttribute(pool, a, &v), 0, "cudaMemPoolGetAttribute");
	return v;
}

static void test_mempool(void) {
	void *pool = NULL, *pool2 = NULL, *s = NULL, *a = NULL, *b = NULL;
	EQ(p_cudaDeviceGetDefaultMemPool(&pool, 0), 0, "cudaDeviceGetDefaultMemPool"); CHECK(pool != NULL, "a pool");
	EQ(p_cudaDeviceGetMemPool(&pool2, 0), 0, "cudaDeviceGetMemPool"); CHECK(pool == pool2, "the current pool is the default");
	EQ(p_cudaStreamCreateWithFlags(&s, 1), 0, "stream");
	unsigned long long used0 = attr64(pool, UsedCurrent);
	EQ(p_cudaMallocAsync(&a, 1 << 20, s), 0, "cudaMallocAsync 1 MiB");
	EQ(p_cudaMallocAsync(&b, 3 << 20, s), 0, "cudaMallocAsync 3 MiB");
	unsigned long long used = attr64(pool, UsedCurrent);
	EQ(used - used0, 4 << 20, "used memory grows by what was allocated");
	CHECK(attr64(pool, ReservedCurrent) >= used, "reserved is at least used");
	CHECK(attr64(pool, UsedHigh) >= used, "the high-water mark follows");
	EQ(p_cudaFreeAsync(b, s), 0, "cudaFreeAsync"); EQ(p_cudaStreamSynchronize(s), 0, "sync");
	EQ(attr64(pool, UsedCurrent) - used0, 1 << 20, "used memory shrinks on free");
	CHECK(attr64(pool, UsedHigh) >= used, "the high-water mark stays");
	unsigned long long zero = 0, big = 1ull << 30;
	EQ(p_cudaMemPoolSetAttribute(pool, UsedHigh, &zero), 0, "reset the used high-water mark");
	EQ(attr64(pool, UsedHigh), attr64(pool, UsedCurrent), "reset to the current figure");
	EQ(p_cudaMemPoolSetAttribute(pool, ReleaseThreshold, &big), 0, "set the release threshold");
	EQ(attr64(pool, ReleaseThreshold), big, "the threshold reads back");
	int reuse = -1, off = 0;
	EQ(p_cudaMemPoolGetAttribute(pool, ReuseFollow, &reuse), 0, "reuse flag"); EQ(reuse, 1, "reuse is on by default");
	EQ(p_cudaMemPoolSetAttribute(pool, ReuseFollow, &off), 0, "turn reuse off");
	EQ(p_cudaMemPoolGetAttribute(pool, ReuseFollow, &reuse), 0, "reuse flag"); EQ(reuse, 0, "reuse reads back off");
	EQ(p_cudaMemPoolSetAttribute(pool, UsedCurrent, &zero), 1, "the current figure is read-only");
	EQ(p_cudaMemPoolSetAttribute(pool, ReservedHigh, &big), 1, "a high-water mark is only reset to 0");
	EQ(p_cudaMemPoolGetAttribute(pool, 99, &big), 1, "an unknown attribute = invalid value");
	EQ(p_cudaMemPoolGetAttribute(pool, UsedCurrent, NULL), 1, "NULL value = invalid value");
	EQ(p_cudaMemPoolGetAttribute((void *)0x7ead0000dea0, UsedCurrent, &big), 1, "a wild pool = invalid value");
	EQ(p_cudaFreeAsync(a, s), 0, "free"); EQ(p_cudaStreamSynchronize(s), 0, "sync");
	EQ(attr64(pool, UsedCurrent), used0, "all returned");
	EQ(p_cudaMemPoolTrimTo(pool, 0), 0, "trim");
	EQ(attr64(pool, ReservedCurrent), 0, "nothing reserved after a trim with nothing in use");
	p_cudaGetLastError();
	p_cudaStreamDestroy(s);
}

int main(int argc, char **argv) {
	char path[4096];
	snprintf(path, sizeof path, "%s/libcudart.so.13", argc > 1 ? argv[1] : ".");
	void *h = dlopen(path, RTLD_NOW);
	if (!h) { printf("FAIL %s\n", dlerror()); return 1; }
#define BIND(r, n, a) if (!(p_##n = (r(*) a)dlsym(h, #n))) { printf("FAIL missing %s\n", #n); return 1; }
	FNS(BIND)
	test_symbols();
	test_host_funcs();
	test_memset2d();
	test_mempool();
	printf("%s: runtime13 %s: %d checks, %d failures\n", failures ? "FAIL" : "PASS", argc > 2 ? argv[2] : "", checks, failures);
	return failures != 0;
}
