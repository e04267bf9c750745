/* The tools slots of the driver's private export tables that NVIDIA's cuBLAS 12 and 13 call
 * before each GEMM (issue 14), checked against the public calls whose answers they must
 * match (as the real driver 580's do, probed on the GPU machine): tools TLS slot 2 answers
 * the current context (cuCtxGetCurrent); the tools context table's slot 4 a context's id
 * (cuCtxGetId), slot 51 resolves a stream (0, CU_STREAM_LEGACY, CU_STREAM_PER_THREAD or a
 * handle) and slot 39 answers its id (cuStreamGetId). In-process and remote:
 *   exporttools LIBDIR [label]
 * Status values are NVIDIA's CUresult numbers: 0 success, 1 invalid value, 201 invalid
 * context, 400 invalid handle, 500 not found. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef int CUresult;
typedef void *H;
static int failures, checks;
#define CHECK(c, ...) do { checks++; if (!(c)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)
#define EQ(got, want, what) do { long long g_ = (long long)(got), w_ = (long long)(want); CHECK(g_ == w_, "%s: got %lld, want %lld", what, g_, w_); } while (0)

#define FNS(X) \
	X(cuInit, (unsigned)) X(cuDevicePrimaryCtxRetain, (H *, int)) X(cuCtxSetCurrent, (H)) \
	X(cuCtxGetCurrent, (H *)) X(cuCtxCreate_v2, (H *, unsigned, int)) X(cuCtxDestroy_v2, (H)) \
	X(cuCtxGetId, (H, unsigned long long *)) X(cuStreamCreate, (H *, unsigned)) \
	X(cuStreamDestroy_v2, (H)) X(cuStreamGetId, (H, unsigned long long *)) \
	X(cuGetExportTable, (const void **, const void *))
#define DECL(n, a) static CUresult(*n) a;
FNS(DECL)

static const unsigned char TLS[16] = {0x42, 0xd8, 0x5a, 0x81, 0x23, 0xf6, 0xcb, 0x47, 0x82, 0x98, 0xf6, 0xe7, 0x8a, 0x3a, 0xec, 0xdc};
static const unsigned char TOOLS_CTX[16] = {0x21, 0x31, 0x8c, 0x60, 0x97, 0x14, 0x32, 0x48, 0x8c, 0xa6, 0x41, 0xff, 0x73, 0x24, 0xc8, 0xf2};
static const unsigned char CUDA13[16] = {0xf8, 0xcf, 0xf9, 0x51, 0x21, 0x46, 0x8b, 0x4e, 0xb9, 0xe2, 0xfb, 0x46, 0x9e, 0x7c, 0x0d, 0xd9};

int main(int argc, char **argv) {
	char path[4096];
	snprintf(path, sizeof path, "%s/libcuda.so.1", argc > 1 ? argv[1] : ".");
	void *h = dlopen(path, RTLD_NOW);
	if (!h) { printf("dlopen %s: %s\n", path, dlerror()); return 1; }
#define LOAD(n, a) if (!(n = (CUresult(*) a)dlsym(h, #n))) { printf("no %s\n", #n); return 1; }
	FNS(LOAD)
	EQ(cuInit(0), 0, "cuInit");
	const uintptr_t *tls = NULL, *tcx = NULL, *none = (const uintptr_t *)1;
	EQ(cuGetExportTable((const void **)&tls, TLS), 0, "tools TLS");
	EQ(cuGetExportTable((const void **)&tcx, TOOLS_CTX), 0, "tools context");
	EQ(cuGetExportTable((const void **)&none, CUDA13), 500, "CUDA 13's f8cff951 is declined (not found)");
	CHECK(none == NULL, "a declined table's pointer is null");
	if (!tls || !tcx) { printf("FAIL: %d failure(s)\n", failures); return 1; }
	EQ(tcx[0], 744, "the tools context table's size word (the real driver's)");
	CUresult (*current)(H *) = (CUresult(*)(H *))tls[2];
	CUresult (*ctx_id)(H, unsigned long long *) = (CUresult(*)(H, unsigned long long *))tcx[4];
	CUresult (*stream_obj)(H, H, H *, int) = (CUresult(*)(H, H, H *, int))tcx[51];
	CUresult (*stream_id)(H, H, unsigned long long *) = (CUresult(*)(H, H, unsigned long long *))tcx[39];

	H primary = NULL, made = NULL, got = (H)1, cur = NULL;
	EQ(cuDevicePrimaryCtxRetain(&primary, 0), 0, "cuDevicePrimaryCtxRetain");
	EQ(cuCtxSetCurrent(primary), 0, "cuCtxSetCurrent");
	EQ(current(&got), 0, "TLS slot 2");
	CHECK(got == primary, "TLS slot 2 answers the current context %p, got %p", primary, got);
	EQ(current(NULL), 1, "TLS slot 2 without an output");
	unsigned long long id = 0, want = 0;
	EQ(ctx_id(primary, &id), 0, "context id slot");
	EQ(cuCtxGetId(primary, &want), 0, "cuCtxGetId");
	EQ(id, want, "the context id slot answers cuCtxGetId's id");
	EQ(ctx_id(primary, NULL), 1, "context id slot without an output");
	EQ(cuCtxCreate_v2(&made, 0, 0), 0, "cuCtxCreate");
	EQ(current(&got), 0, "TLS slot 2 after cuCtxCreate");
	CHECK(got == made, "TLS slot 2 follows the current context");
	unsigned long long made_id = 0;
	EQ(ctx_id(made, &made_id), 0, "context id slot, created context");
	CHECK(made_id != id, "two contexts have two ids (%llu, %llu)", made_id, id);
	EQ(cuCtxGetId(made, &want), 0, "cuCtxGetId, created context");
	EQ(made_id, want, "the created context's id");
	EQ(cuCtxDestroy_v2(made), 0, "cuCtxDestroy");
	EQ(ctx_id(made, &id), cuCtxGetId(made, &want), "a destroyed context's id: cuCtxGetId's error");
	EQ(cuCtxGetId(made, &want), 201, "cuCtxGetId of a destroyed context: invalid context");
	EQ(cuCtxSetCurrent(primary), 0, "back to the primary context");
	EQ(cuCtxGetCurrent(&cur), 0, "cuCtxGetCurrent");

	/* Streams: each form cuBLAS hands over resolves, and its id is cuStreamGetId's. */
	H s = NULL;
	EQ(cuStreamCreate(&s, 0), 0, "cuStreamCreate");
	H streams[] = {NULL, (H)1, (H)2, s};
	const char *names[] = {"the NULL stream", "CU_STREAM_LEGACY", "CU_STREAM_PER_THREAD", "a created stream"};
	unsigned long long ids[4];
	for (int i = 0; i < 4; i++) {
		H obj = (H)0xdead;
		unsigned long long sid = 0, gid = 1;
		char what[128];
		snprintf(what, sizeof what, "stream slot 51, %s", names[i]);
		EQ(stream_obj(cur, streams[i], &obj, streams[i] == (H)2), 0, what);
		snprintf(what, sizeof what, "stream id slot 39, %s", names[i]);
		EQ(stream_id(cur, obj, &sid), 0, what);
		EQ(cuStreamGetId(streams[i], &gid), 0, "cuStreamGetId");
		snprintf(what, sizeof what, "%s's id as cuStreamGetId answers it", names[i]);
		EQ(sid, gid, what);
		ids[i] = sid;
	}
	CHECK(ids[3] != ids[0] && ids[2] != ids[0], "the created and per-thread streams' ids differ from the NULL stream's");
	H obj = NULL;
	EQ(stream_obj(cur, s, NULL, 0), 1, "stream slot 51 without an output");
	EQ(stream_id(cur, s, NULL), 1, "stream id slot 39 without an output");
	EQ(cuStreamDestroy_v2(s), 0, "cuStreamDestroy");
	EQ(stream_obj(cur, s, &obj, 0), 400, "a destroyed stream: invalid handle");
	printf("%s: %d checks, %d failure(s) (%s)\n", failures ? "FAIL" : "PASS", checks, failures, argc > 2 ? argv[2] : "");
	return failures ? 1 : 0;
}
