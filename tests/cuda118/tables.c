/* cuGetExportTable on vgpu's libcuda.so.1 alone, as NVIDIA's runtime calls it: the tables it
 * knows, what an unknown identifier and an unknown slot answer (errors, never a crash), and
 * the context-local storage's put/get/delete. Prototypes declared here (no NVIDIA header). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int cuInit(unsigned);
int cuDevicePrimaryCtxRetain(void **, int);
int cuCtxSetCurrent(void *);
int cuGetExportTable(const void **, const unsigned char *);
int cuDevicePrimaryCtxReset(int);

/* A storage destructor: records what the driver called it with. */
static void *dtor_args[3];
static int dtor_calls;
static void dtor(void *ctx, void *key, void *value) {
	dtor_args[0] = ctx, dtor_args[1] = key, dtor_args[2] = value;
	dtor_calls++;
}

static int failures;
#define EQ(got, want, what) do { long long g_ = (long long)(got), w_ = (long long)(want); \
	printf("%s %s: %lld, want %lld\n", g_ == w_ ? "ok  " : "FAIL", what, g_, w_); failures += g_ != w_; } while (0)

static const unsigned char RT[16] = {0x6b, 0xd5, 0xfb, 0x6c, 0x5b, 0xf4, 0xe7, 0x4a, 0x89, 0x87, 0xd9, 0x39, 0x12, 0xfd, 0x9d, 0xf9};
static const unsigned char CLS[16] = {0xc6, 0x93, 0x33, 0x6e, 0x11, 0x21, 0xdf, 0x11, 0xa8, 0xc3, 0x68, 0xf3, 0x55, 0xd8, 0x95, 0x93};
static const unsigned char INTEGRITY[16] = {0xd4, 0x08, 0x20, 0x55, 0xbd, 0xe6, 0x70, 0x4b, 0x8d, 0x34, 0xba, 0x12, 0x3c, 0x66, 0xe1, 0xf2};
static const unsigned char HEAP[16] = {0x19, 0x5b, 0xcb, 0xf4, 0xd6, 0x7d, 0x02, 0x4a, 0xac, 0xc5, 0x1d, 0x29, 0xce, 0xa6, 0x31, 0xae};
static const unsigned char MADE_UP[16] = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

typedef int (*fn)();

int main(void) {
	const void *t = (const void *)1;
	EQ(cuGetExportTable(&t, MADE_UP), 500, "an unknown identifier = CUDA_ERROR_NOT_FOUND");
	EQ(t == NULL, 1, "and a null table");
	EQ(cuGetExportTable(NULL, RT), 1, "a null output = CUDA_ERROR_INVALID_VALUE");
	EQ(cuGetExportTable(&t, NULL), 1, "a null identifier = CUDA_ERROR_INVALID_VALUE");
	EQ(cuInit(0), 0, "cuInit");
	void *ctx = NULL;
	EQ(cuDevicePrimaryCtxRetain(&ctx, 0), 0, "retain the primary context");

	void *const *rt = NULL;
	EQ(cuGetExportTable((const void **)&rt, RT), 0, "the runtime interface");
	EQ((uintptr_t)rt[0], 13 * sizeof(void *), "leads with its size");
	void *mod = NULL;
	EQ(((fn)rt[1])(&mod, NULL), 1, "loading a null wrapper = CUDA_ERROR_INVALID_VALUE");
	unsigned junk[8] = {1, 2, 3, 4};
	EQ(((fn)rt[1])(&mod, junk), 1, "loading something that is no fat binary = CUDA_ERROR_INVALID_VALUE");
	EQ(((fn)rt[3])(), 801, "an unknown slot answers CUDA_ERROR_NOT_SUPPORTED");
	void *pctx = NULL;
	EQ(((fn)rt[2])(&pctx, 0), 0, "slot 2: the primary context");
	EQ(pctx == ctx, 1, "is the one cuDevicePrimaryCtxRetain gives");
	EQ(((fn)rt[2])(&pctx, 7), 101, "of a device that does not exist = CUDA_ERROR_INVALID_DEVICE");

	void *const *cls = NULL;
	EQ(cuGetExportTable((const void **)&cls, CLS), 0, "context-local storage");
	int key1, key2;
	void *v = NULL;
	EQ(((fn)cls[2])(&v, ctx, &key1), 400, "get before put = CUDA_ERROR_INVALID_HANDLE");
	EQ(((fn)cls[2])(&v, NULL, &key1), 201, "with no current context = CUDA_ERROR_INVALID_CONTEXT");
	EQ(((fn)cls[0])(ctx, &key1, (void *)0x1234, NULL), 0, "put");
	EQ(((fn)cls[0])(ctx, &key2, (void *)0x5678, NULL), 0, "put another key");
	EQ(cuCtxSetCurrent(ctx), 0, "make it current");
	EQ(((fn)cls[2])(&v, NULL, &key1), 0, "get through the current context");
	EQ((uintptr_t)v, 0x1234, "the value put");
	EQ(((fn)cls[1])(ctx, &key1), 0, "delete");
	EQ(((fn)cls[2])(&v, ctx, &key1), 400, "get after delete = CUDA_ERROR_INVALID_HANDLE");
	EQ(((fn)cls[2])(&v, ctx, &key2), 0, "the other key is still there");
	EQ((uintptr_t)v, 0x5678, "with its value");
	EQ(((fn)cls[0])(ctx, &key1, (void *)0x9abc, (void *)dtor), 0, "put with a destructor");
	EQ(dtor_calls, 0, "which is not called yet");
	EQ(cuDevicePrimaryCtxReset(0), 0, "reset the primary context");
	EQ(dtor_calls, 1, "the destructor ran once");
	EQ(dtor_args[0] == ctx && dtor_args[1] == (void *)&key1 && dtor_args[2] == (void *)0x9abc, 1, "with (context, key, value)");
	EQ(((fn)cls[2])(&v, ctx, &key2), 400, "the reset context's storage is gone");
	EQ(cuDevicePrimaryCtxRetain(&ctx, 0), 0, "retain the primary context again");

	void *const *ic = NULL;
	EQ(cuGetExportTable((const void **)&ic, INTEGRITY), 0, "the integrity check");
	unsigned long long a[2] = {0}, b[2] = {0};
	EQ(((fn)ic[1])(11082u, 1700000000ull, a), 0, "a digest");
	EQ(((fn)ic[1])(11082u, 1700000001ull, b), 0, "a digest a second later");
	EQ(a[0] != b[0] || a[1] != b[1], 1, "depends on the time");
	EQ(((fn)ic[1])(11082u, 1700000000ull, b), 0, "the first again");
	EQ(a[0] == b[0] && a[1] == b[1], 1, "is the same digest");
	EQ(((fn)ic[1])(11082u, 1700000000ull, NULL), 1, "a null output = CUDA_ERROR_INVALID_VALUE");

	void *const *heap = NULL;
	EQ(cuGetExportTable((const void **)&heap, HEAP), 0, "the heap table");
	EQ(((fn)heap[1])(NULL, 0, 0), 801, "unimplemented slots answer CUDA_ERROR_NOT_SUPPORTED");
	printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
