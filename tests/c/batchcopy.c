/* Batched copies and capture into an existing graph (issue 13): cuMemcpyBatchAsync,
 * cuMemcpy3DBatchAsync (CUDA 12.8's forms with failIdx, CUDA 13's _v2 forms without),
 * the runtime's cudaMemcpyBatchAsync / cudaMemcpy3DBatchAsync (libcudart.so.12 with failIdx,
 * libcudart.so.13 without), and cuStreamBeginCaptureToGraph / cudaStreamBeginCaptureToGraph.
 * Run in-process (sim) and as a remote client of a sim server: the same rules.
 *   batchcopy LIBDIR [label]
 * Status values are NVIDIA's documented numbers: 0 success, 1 invalid value. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef unsigned long long CUdeviceptr;
typedef void *H;
static int failures, checks;
#define CHECK(c, ...) do { checks++; if (!(c)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)
#define EQ(got, want, what) do { long long g_ = (long long)(got), w_ = (long long)(want); CHECK(g_ == w_, "%s: got %lld, want %lld", what, g_, w_); } while (0)
#define NOIDX ((size_t)-1)

/* CUmemcpyAttributes / cudaMemcpyAttributes: source access order, source and destination
 * location hints (CUmemLocation: type, id), flags. */
struct memloc { int type, id; };
struct cpattr { int order; struct memloc src, dst; unsigned flags; };
enum { ORDER_INVALID = 0, ORDER_STREAM = 1, ORDER_DURING_API_CALL = 2, ORDER_ANY = 3 };
/* CUmemcpy3DOperand: type (1 pointer, 2 array), then a pointer (ptr, rowLength, layerHeight,
 * locHint) or an array (handle, offset x, y, z). CUDA_MEMCPY3D_BATCH_OP: src, dst, extent
 * (width, height, depth, in elements), source access order, flags. */
struct operand { int type; union { struct { CUdeviceptr ptr; size_t rowLength, layerHeight; struct memloc hint; } p; struct { H array; size_t x, y, z; } a; } u; };
struct op3d { struct operand src, dst; size_t w, h, d; int order; unsigned flags; };
/* CUDA_ARRAY3D_DESCRIPTOR. */
struct arr3d { size_t w, h, d; int format; unsigned channels, flags; };

#define FNS(X) \
	X(cuInit, (unsigned)) X(cuCtxCreate_v2, (H *, unsigned, int)) X(cuCtxDestroy_v2, (H)) \
	X(cuMemAlloc_v2, (CUdeviceptr *, size_t)) X(cuMemFree_v2, (CUdeviceptr)) \
	X(cuMemcpyHtoD_v2, (CUdeviceptr, const void *, size_t)) X(cuMemcpyDtoH_v2, (void *, CUdeviceptr, size_t)) \
	X(cuCtxSynchronize, (void)) X(cuStreamCreate, (H *, unsigned)) X(cuStreamDestroy_v2, (H)) X(cuStreamSynchronize, (H)) \
	X(cuMemcpyBatchAsync, (CUdeviceptr *, CUdeviceptr *, size_t *, size_t, struct cpattr *, size_t *, size_t, size_t *, H)) \
	X(cuMemcpyBatchAsync_ptsz, (CUdeviceptr *, CUdeviceptr *, size_t *, size_t, struct cpattr *, size_t *, size_t, size_t *, H)) \
	X(cuMemcpyBatchAsync_v2, (CUdeviceptr *, CUdeviceptr *, size_t *, size_t, struct cpattr *, size_t *, size_t, H)) \
	X(cuMemcpyBatchAsync_v2_ptsz, (CUdeviceptr *, CUdeviceptr *, size_t *, size_t, struct cpattr *, size_t *, size_t, H)) \
	X(cuMemcpy3DBatchAsync, (size_t, struct op3d *, size_t *, unsigned long long, H)) \
	X(cuMemcpy3DBatchAsync_ptsz, (size_t, struct op3d *, size_t *, unsigned long long, H)) \
	X(cuMemcpy3DBatchAsync_v2, (size_t, struct op3d *, unsigned long long, H)) \
	X(cuMemcpy3DBatchAsync_v2_ptsz, (size_t, struct op3d *, unsigned long long, H)) \
	X(cuArray3DCreate_v2, (H *, const struct arr3d *)) X(cuArrayDestroy, (H)) \
	X(cuGraphCreate, (H *, unsigned)) X(cuGraphDestroy, (H)) \
	X(cuGraphAddEmptyNode, (H *, H, const H *, size_t)) \
	X(cuGraphGetNodes, (H, H *, size_t *)) X(cuGraphNodeGetDependencies, (H, H *, size_t *)) \
	X(cuGraphInstantiateWithFlags, (H *, H, unsigned long long)) X(cuGraphExecDestroy, (H)) \
	X(cuGraphLaunch, (H, H)) \
	X(cuStreamBeginCaptureToGraph, (H, H, const H *, const void *, size_t, int)) \
	X(cuStreamBeginCaptureToGraph_ptsz, (H, H, const H *, const void *, size_t, int)) \
	X(cuStreamEndCapture, (H, H *))
#define DECL(name, args) static CUresult(*name) args;
FNS(DECL)

static int (*rtBatch12)(void **, void **, size_t *, size_t, struct cpattr *, size_t *, size_t, size_t *, H);
static int (*rtBatch13)(void **, void **, size_t *, size_t, struct cpattr *, size_t *, size_t, H);
static int (*rtBatch13Ptsz)(void **, void **, size_t *, size_t, struct cpattr *, size_t *, size_t, H);
static int (*rt3D12)(size_t, struct op3d *, size_t *, unsigned long long, H);
static int (*rt3D13)(size_t, struct op3d *, unsigned long long, H);
static int (*rtCaptureToGraph)(H, H, const H *, const void *, size_t, int);
static int (*rtCaptureToGraphPtsz)(H, H, const H *, const void *, size_t, int);
static int (*rtEndCapture)(H, H *);
static int (*rtGraphCreate)(H *, unsigned);
static int (*rtGraphGetNodes)(H, H *, size_t *);
static int (*rtStreamCreate)(H *);
static int (*rtStreamSynchronize)(H);
static int (*rtMalloc)(void **, size_t);
static int (*rtMemcpy)(void *, const void *, size_t, int);

static struct cpattr stream_order(void) { struct cpattr a = {ORDER_STREAM, {0, 0}, {0, 0}, 0}; return a; }

/* Three copies in one batch (host to device, device to device, device to host), each
 * entry's bytes where the entry says. */
static void test_batch_copies(H s) {
	CUdeviceptr a = 0, b = 0;
	EQ(cuMemAlloc_v2(&a, 256), 0, "cuMemAlloc a");
	EQ(cuMemAlloc_v2(&b, 256), 0, "cuMemAlloc b");
	unsigned char up[64], down[64], zero[256] = {0};
	for (int i = 0; i < 64; i++) up[i] = (unsigned char)(i * 7 + 1);
	memset(down, 0, sizeof down);
	EQ(cuMemcpyHtoD_v2(b, zero, 256), 0, "clear b");
	CUdeviceptr dsts[3] = {a, b + 16, (CUdeviceptr)(uintptr_t)down};
	CUdeviceptr srcs[3] = {(CUdeviceptr)(uintptr_t)up, a, b + 16};
	size_t sizes[3] = {64, 64, 64}, idxs[1] = {0}, fail = 12345;
	struct cpattr at[1] = {stream_order()};
	/* The copies are in stream order within the batch only as NVIDIA promises none: here each
	 * later entry reads what an earlier one wrote, which vgpu's in-order model allows; the
	 * checked bytes come from separate batches below. */
	EQ(cuMemcpyBatchAsync(dsts, srcs, sizes, 1, at, idxs, 1, &fail, s), 0, "one host-to-device copy");
	EQ(cuMemcpyBatchAsync(dsts + 1, srcs + 1, sizes + 1, 1, at, idxs, 1, &fail, s), 0, "one device-to-device copy");
	EQ(cuMemcpyBatchAsync(dsts + 2, srcs + 2, sizes + 2, 1, at, idxs, 1, &fail, s), 0, "one device-to-host copy");
	EQ(cuStreamSynchronize(s), 0, "sync");
	CHECK(!memcmp(down, up, 64), "the bytes went host -> a -> b+16 -> host");

	/* Two attribute sets over four copies (attrsIdxs {0, 2}), in one batch, through _v2. */
	unsigned char h4[4][32], back[4][32];
	CUdeviceptr d4[4], s4[4];
	size_t z4[4] = {32, 32, 32, 32}, idx2[2] = {0, 2};
	struct cpattr at2[2] = {stream_order(), {ORDER_ANY, {2, 0}, {1, 0}, 1}};
	for (int i = 0; i < 4; i++) {
		memset(h4[i], 0x40 + i, 32);
		d4[i] = b + 32 * i;
		s4[i] = (CUdeviceptr)(uintptr_t)h4[i];
	}
	EQ(cuMemcpyBatchAsync_v2(d4, s4, z4, 4, at2, idx2, 2, s), 0, "four uploads, two attribute sets (_v2)");
	for (int i = 0; i < 4; i++) { s4[i] = b + 32 * i; d4[i] = (CUdeviceptr)(uintptr_t)back[i]; }
	EQ(cuMemcpyBatchAsync_v2_ptsz(d4, s4, z4, 4, at2, idx2, 2, NULL), 0, "four downloads on the per-thread stream (_v2_ptsz)");
	EQ(cuStreamSynchronize(s), 0, "sync");
	CHECK(!memcmp(back, h4, sizeof back), "each of the four entries moved its own bytes");

	/* Errors: failIdx names the entry to blame, SIZE_MAX when none is. */
	fail = 0;
	EQ(cuMemcpyBatchAsync(dsts, srcs, sizes, 1, at, idxs, 1, &fail, NULL), 1, "the legacy stream is refused");
	EQ(fail, NOIDX, "failIdx: no entry to blame for the stream");
	fail = 0;
	EQ(cuMemcpyBatchAsync(dsts, srcs, sizes, 0, at, idxs, 1, &fail, s), 1, "an empty batch");
	EQ(fail, NOIDX, "failIdx of an empty batch");
	size_t bad_first[1] = {1};
	fail = 0;
	EQ(cuMemcpyBatchAsync(d4, s4, z4, 4, at, bad_first, 1, &fail, s), 1, "attrsIdxs must start at 0");
	EQ(fail, NOIDX, "failIdx for malformed attrsIdxs");
	size_t not_increasing[2] = {0, 0};
	EQ(cuMemcpyBatchAsync(d4, s4, z4, 4, at2, not_increasing, 2, &fail, s), 1, "attrsIdxs must increase");
	EQ(cuMemcpyBatchAsync(d4, s4, z4, 4, at2, idx2, 5, &fail, s), 1, "more attribute sets than copies");
	struct cpattr invalid_order[2] = {stream_order(), {ORDER_INVALID, {0, 0}, {0, 0}, 0}};
	fail = 0;
	EQ(cuMemcpyBatchAsync(d4, s4, z4, 4, invalid_order, idx2, 2, &fail, s), 1, "a set without a source access order");
	EQ(fail, 2, "failIdx: the first copy the bad set applies to");
	struct cpattr bad_flags[1] = {{ORDER_STREAM, {0, 0}, {0, 0}, 0x100}};
	EQ(cuMemcpyBatchAsync(d4, s4, z4, 4, bad_flags, idxs, 1, &fail, s), 1, "unknown copy flags");

	/* A bad entry leaves the whole batch unrun: entry 2 reaches past its allocation. */
	unsigned char marker[32], got[32];
	memset(marker, 0x5a, sizeof marker);
	EQ(cuMemcpyHtoD_v2(a, zero, 256), 0, "clear a");
	CUdeviceptr bd[3] = {a, a + 32, b + 250};
	CUdeviceptr bs[3] = {(CUdeviceptr)(uintptr_t)marker, (CUdeviceptr)(uintptr_t)marker, (CUdeviceptr)(uintptr_t)marker};
	size_t bz[3] = {32, 32, 32};
	fail = 0;
	EQ(cuMemcpyBatchAsync(bd, bs, bz, 3, at, idxs, 1, &fail, s), 1, "an entry past its allocation");
	EQ(fail, 2, "failIdx names that entry");
	EQ(cuStreamSynchronize(s), 0, "sync");
	EQ(cuMemcpyDtoH_v2(got, a, 32), 0, "read a back");
	CHECK(!memcmp(got, zero, 32), "the entries before the bad one did not run either");
	bd[2] = 0;
	EQ(cuMemcpyBatchAsync(bd, bs, bz, 3, at, idxs, 1, &fail, s), 1, "a NULL destination");
	EQ(fail, 2, "failIdx of the NULL destination");
	bd[2] = b; bs[1] = 0;
	EQ(cuMemcpyBatchAsync_ptsz(bd, bs, bz, 3, at, idxs, 1, &fail, s), 1, "a NULL source (_ptsz)");
	EQ(fail, 1, "failIdx of the NULL source");
	/* A destroyed stream: refused at once in process; a remote client's pipelined batch
	 * reports it at the next synchronisation instead. */
	H gone = NULL;
	EQ(cuStreamCreate(&gone, 0), 0, "cuStreamCreate");
	EQ(cuStreamDestroy_v2(gone), 0, "cuStreamDestroy");
	CUdeviceptr gd[1] = {(CUdeviceptr)(uintptr_t)got}, gs[1] = {a};
	int r = cuMemcpyBatchAsync(gd, gs, bz, 1, at, idxs, 1, &fail, gone);
	if (r == 0) r = cuCtxSynchronize();
	CHECK(r != 0, "a batch on a destroyed stream fails, at once or at the next sync");
	EQ(cuCtxSynchronize(), 0, "the error was reported once");
	EQ(cuMemFree_v2(a), 0, "cuMemFree a");
	EQ(cuMemFree_v2(b), 0, "cuMemFree b");
}

/* 3D batches: pitched pointers on both ends, and a CUDA array end (extent in elements). */
static void test_batch_3d(H s) {
	enum { W = 8, HT = 4, D = 2, PITCH = 16 };
	unsigned char host[D][HT][W], back[D][HT][W];
	for (int z = 0; z < D; z++) for (int y = 0; y < HT; y++) for (int x = 0; x < W; x++) host[z][y][x] = (unsigned char)(z * 64 + y * 8 + x + 1);
	CUdeviceptr dev = 0;
	EQ(cuMemAlloc_v2(&dev, PITCH * HT * D), 0, "cuMemAlloc pitched volume");
	struct op3d op;
	memset(&op, 0, sizeof op);
	op.src.type = 1; op.src.u.p.ptr = (CUdeviceptr)(uintptr_t)host;          /* tight: rowLength 0 */
	op.dst.type = 1; op.dst.u.p.ptr = dev; op.dst.u.p.rowLength = PITCH; op.dst.u.p.layerHeight = HT;
	op.w = W; op.h = HT; op.d = D; op.order = ORDER_STREAM;
	size_t fail = 77;
	EQ(cuMemcpy3DBatchAsync(1, &op, &fail, 0, s), 0, "a volume up into a pitched buffer");
	struct op3d down = op;
	down.src = op.dst; down.dst = op.src; down.dst.u.p.ptr = (CUdeviceptr)(uintptr_t)back;
	memset(back, 0, sizeof back);
	EQ(cuMemcpy3DBatchAsync_v2(1, &down, 0, s), 0, "and back down (_v2)");
	EQ(cuStreamSynchronize(s), 0, "sync");
	CHECK(!memcmp(back, host, sizeof back), "the volume came back through the pitched buffer");

	/* An array of 4-byte elements: the extent and offsets count elements. */
	struct arr3d desc = {4, 2, 0, 0x03 /* CU_AD_FORMAT_UNSIGNED_INT32 */, 1, 0};
	H arr = NULL;
	EQ(cuArray3DCreate_v2(&arr, &desc), 0, "cuArray3DCreate");
	unsigned words[2][4] = {{1, 2, 3, 4}, {5, 6, 7, 8}}, wback[2][4] = {{0}};
	struct op3d toArr, fromArr;
	memset(&toArr, 0, sizeof toArr);
	toArr.src.type = 1; toArr.src.u.p.ptr = (CUdeviceptr)(uintptr_t)words;
	toArr.dst.type = 2; toArr.dst.u.a.array = arr;
	toArr.w = 4; toArr.h = 2; toArr.d = 1; toArr.order = ORDER_STREAM;
	fromArr = toArr;
	fromArr.src = toArr.dst; fromArr.dst = toArr.src; fromArr.dst.u.p.ptr = (CUdeviceptr)(uintptr_t)wback;
	struct op3d both[2] = {toArr, fromArr};
	EQ(cuMemcpy3DBatchAsync_ptsz(1, &both[0], &fail, 0, s), 0, "host words into the array (_ptsz)");
	EQ(cuMemcpy3DBatchAsync_v2_ptsz(1, &both[1], 0, s), 0, "and out again (_v2_ptsz)");
	EQ(cuStreamSynchronize(s), 0, "sync");
	CHECK(!memcmp(wback, words, sizeof words), "elements, not bytes: all 32 bytes made the round trip");

	/* Errors. */
	fail = 0;
	EQ(cuMemcpy3DBatchAsync(1, &op, &fail, 1, s), 1, "flags must be 0");
	EQ(fail, NOIDX, "failIdx for the flags");
	struct op3d bad[2] = {op, op};
	bad[1].order = ORDER_INVALID;
	fail = 0;
	EQ(cuMemcpy3DBatchAsync(2, bad, &fail, 0, s), 1, "an op without a source access order");
	EQ(fail, 1, "failIdx names it");
	bad[1] = toArr; bad[1].dst.u.a.x = 1;   /* 4 elements from x = 1 leave a 4-wide array */
	EQ(cuMemcpy3DBatchAsync(2, bad, &fail, 0, s), 1, "a block outside the array");
	EQ(fail, 1, "failIdx names it");
	bad[1] = op; bad[1].dst.u.p.rowLength = W - 1;
	EQ(cuMemcpy3DBatchAsync(2, bad, &fail, 0, s), 1, "a row length shorter than the extent");
	bad[1] = op; bad[1].src.type = 7;
	EQ(cuMemcpy3DBatchAsync(2, bad, &fail, 0, s), 1, "an unknown operand type");
	EQ(fail, 1, "failIdx names it");
	bad[1] = op; bad[1].d = D + 1;
	EQ(cuMemcpy3DBatchAsync(2, bad, &fail, 0, s), 1, "a volume deeper than its buffer");
	EQ(fail, 1, "failIdx names it");
	EQ(cuMemcpy3DBatchAsync(1, &op, &fail, 0, NULL), 1, "the legacy stream");
	EQ(cuArrayDestroy(arr), 0, "cuArrayDestroy");
	EQ(cuMemcpy3DBatchAsync(1, &both[0], &fail, 0, s), 400, "a destroyed array is no handle (CUDA_ERROR_INVALID_HANDLE)");
	EQ(cuMemFree_v2(dev), 0, "cuMemFree");
}

/* The runtime's forms: CUDA 12.8's take failIdx, CUDA 13's do not. */
static void test_runtime(void) {
	H s = NULL;
	EQ(rtStreamCreate(&s), 0, "cudaStreamCreate");
	void *d = NULL;
	EQ(rtMalloc(&d, 128), 0, "cudaMalloc");
	unsigned char up[128], down[128];
	for (int i = 0; i < 128; i++) up[i] = (unsigned char)(255 - i);
	memset(down, 0, sizeof down);
	void *dsts[2] = {d, (char *)d + 64}, *srcs[2] = {up, up + 64};
	size_t sizes[2] = {64, 64}, idxs[1] = {0}, fail = 9;
	struct cpattr at[1] = {{ORDER_DURING_API_CALL, {0, 0}, {0, 0}, 0}};
	EQ(rtBatch12(dsts, srcs, sizes, 2, at, idxs, 1, &fail, s), 0, "cudaMemcpyBatchAsync@12");
	void *ddst[1] = {down}, *dsrc[1] = {d};
	size_t dsz[1] = {128};
	EQ(rtBatch13(ddst, dsrc, dsz, 1, at, idxs, 1, s), 0, "cudaMemcpyBatchAsync@13");
	EQ(rtStreamSynchronize(s), 0, "cudaStreamSynchronize");
	CHECK(!memcmp(down, up, 128), "two uploads and one download");
	fail = 0;
	dsts[1] = (char *)d + 100;
	EQ(rtBatch12(dsts, srcs, sizes, 2, at, idxs, 1, &fail, s), 1, "cudaErrorInvalidValue past the allocation");
	EQ(fail, 1, "failIdx@12 names the entry");
	EQ(rtBatch13(dsts, srcs, sizes, 2, at, idxs, 1, NULL), 1, "the legacy stream@13");
	memset(down, 0, sizeof down);
	EQ(rtBatch13Ptsz(ddst, dsrc, dsz, 1, at, idxs, 1, NULL), 0, "_ptsz: NULL is the per-thread stream");
	EQ(rtMemcpy(down + 127, (char *)d + 127, 1, 2), 0, "cudaMemcpy after it");
	CHECK(!memcmp(down, up, 128), "the per-thread batch ran");

	struct op3d op;
	memset(&op, 0, sizeof op);
	op.src.type = 1; op.src.u.p.ptr = (CUdeviceptr)(uintptr_t)up;
	op.dst.type = 1; op.dst.u.p.ptr = (CUdeviceptr)(uintptr_t)d;
	op.w = 16; op.h = 8; op.d = 1; op.order = ORDER_STREAM;
	memset(up, 0x11, 128);
	EQ(rt3D12(1, &op, &fail, 0, s), 0, "cudaMemcpy3DBatchAsync@12");
	op.src.u.p.ptr = (CUdeviceptr)(uintptr_t)d; op.dst.u.p.ptr = (CUdeviceptr)(uintptr_t)down;
	EQ(rt3D13(1, &op, 0, s), 0, "cudaMemcpy3DBatchAsync@13");
	EQ(rtStreamSynchronize(s), 0, "sync");
	CHECK(!memcmp(down, up, 128), "a 16x8 block up and down");
	op.h = 9;
	fail = 0;
	EQ(rt3D12(1, &op, &fail, 0, s), 1, "one row more than the allocation holds");
	EQ(fail, 0, "failIdx@12");
}

/* Capture into an existing graph: the captured work becomes nodes of that graph after the
 * given dependencies; cuStreamEndCapture hands back the same graph. */
static void test_capture_to_graph(H s) {
	H g = NULL, root = NULL, out = NULL;
	EQ(cuGraphCreate(&g, 0), 0, "cuGraphCreate");
	EQ(cuGraphAddEmptyNode(&root, g, NULL, 0), 0, "an empty root node");
	CUdeviceptr d = 0;
	EQ(cuMemAlloc_v2(&d, 64), 0, "cuMemAlloc");
	unsigned char up[64], down[64];
	memset(up, 0x3c, sizeof up);
	memset(down, 0, sizeof down);
	EQ(cuStreamBeginCaptureToGraph(s, g, &root, NULL, 1, 0), 0, "cuStreamBeginCaptureToGraph after the root");
	CUdeviceptr dsts[1] = {d}, srcs[1] = {(CUdeviceptr)(uintptr_t)up};
	size_t sizes[1] = {64}, idxs[1] = {0}, fail = 0;
	struct cpattr at[1] = {stream_order()};
	/* A device-to-device copy is recorded as it is: the node replays it. */
	CUdeviceptr d2 = 0;
	EQ(cuMemAlloc_v2(&d2, 64), 0, "cuMemAlloc d2");
	EQ(cuMemcpyHtoD_v2(d2, up, 64), 0, "fill d2 (outside the capture: a synchronous copy)");
	(void)dsts; (void)srcs;
	CUdeviceptr cd[1] = {d}, cs[1] = {d2};
	EQ(cuMemcpyBatchAsync(cd, cs, sizes, 1, at, idxs, 1, &fail, s), 0, "a batch captured as a copy node");
	EQ(cuStreamEndCapture(s, &out), 0, "cuStreamEndCapture");
	EQ((uintptr_t)out, (uintptr_t)g, "the graph given, not a new one");
	size_t n = 0;
	EQ(cuGraphGetNodes(g, NULL, &n), 0, "cuGraphGetNodes");
	EQ(n, 2, "the root and the captured copy");
	H nodes[2] = {0}, dep = NULL;
	n = 2;
	EQ(cuGraphGetNodes(g, nodes, &n), 0, "cuGraphGetNodes");
	size_t nd = 1;
	EQ(cuGraphNodeGetDependencies(nodes[1], &dep, &nd), 0, "the copy's dependencies");
	EQ(nd, 1, "one dependency");
	EQ((uintptr_t)dep, (uintptr_t)root, "the root it was captured after");
	H x = NULL;
	EQ(cuGraphInstantiateWithFlags(&x, g, 0), 0, "instantiate");
	EQ(cuGraphLaunch(x, s), 0, "launch");
	EQ(cuStreamSynchronize(s), 0, "sync");
	EQ(cuMemcpyDtoH_v2(down, d, 64), 0, "read back");
	CHECK(!memcmp(down, up, 64), "the captured copy ran at the launch");
	EQ(cuGraphExecDestroy(x), 0, "cuGraphExecDestroy");

	/* Errors: dependencies of another graph, non-default edge data, a bad mode. */
	H other = NULL, foreign = NULL;
	EQ(cuGraphCreate(&other, 0), 0, "another graph");
	EQ(cuGraphAddEmptyNode(&foreign, other, NULL, 0), 0, "its node");
	EQ(cuStreamBeginCaptureToGraph(s, g, &foreign, NULL, 1, 0), 1, "a dependency of another graph");
	unsigned char edge[8] = {0, 0, 1};
	EQ(cuStreamBeginCaptureToGraph(s, g, &root, edge, 1, 0), 1, "a programmatic edge");
	EQ(cuStreamBeginCaptureToGraph(s, g, &root, NULL, 1, 9), 1, "an unknown capture mode");
	EQ(cuStreamBeginCaptureToGraph(s, (H)(uintptr_t)0xdead0, NULL, NULL, 0, 0), 1, "no such graph");
	EQ(cuStreamBeginCaptureToGraph(s, g, NULL, NULL, 5, 0), 1, "dependencies missing");
	/* _ptsz, no dependencies: a second root. */
	EQ(cuStreamBeginCaptureToGraph_ptsz(NULL, other, NULL, NULL, 0, 2), 0, "the per-thread stream, no dependencies");
	EQ(cuMemcpyBatchAsync_ptsz(cd, cs, sizes, 1, at, idxs, 1, &fail, NULL), 0, "captured on the per-thread stream");
	EQ(cuStreamEndCapture((H)2, &out), 0, "end it");
	EQ((uintptr_t)out, (uintptr_t)other, "the other graph");
	n = 0;
	EQ(cuGraphGetNodes(other, NULL, &n), 0, "cuGraphGetNodes");
	EQ(n, 2, "two roots");
	EQ(cuGraphDestroy(other), 0, "cuGraphDestroy other");
	EQ(cuGraphDestroy(g), 0, "cuGraphDestroy");

	/* The runtime's form. */
	H rg = NULL, rout = NULL;
	EQ(rtGraphCreate(&rg, 0), 0, "cudaGraphCreate");
	EQ(rtCaptureToGraph(s, rg, NULL, NULL, 0, 0), 0, "cudaStreamBeginCaptureToGraph");
	EQ(cuMemcpyBatchAsync(cd, cs, sizes, 1, at, idxs, 1, &fail, s), 0, "captured");
	EQ(cuMemcpyBatchAsync(cs, cd, sizes, 1, at, idxs, 1, &fail, s), 0, "captured");
	EQ(rtEndCapture(s, &rout), 0, "cudaStreamEndCapture");
	EQ((uintptr_t)rout, (uintptr_t)rg, "the graph given");
	n = 0;
	EQ(rtGraphGetNodes(rg, NULL, &n), 0, "cudaGraphGetNodes");
	EQ(n, 2, "two captured copies");
	EQ(rtCaptureToGraphPtsz(NULL, rg, NULL, NULL, 0, 7), 1, "cudaStreamBeginCaptureToGraph_ptsz: a bad mode");
	EQ(cuMemFree_v2(d), 0, "cuMemFree");
	EQ(cuMemFree_v2(d2), 0, "cuMemFree d2");
}

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) { fprintf(stderr, "usage: batchcopy LIBDIR [label]\n"); return 2; }
	char path[4096];
	snprintf(path, sizeof path, "%s/libcuda.so.1", argv[1]);
	void *lib = dlopen(path, RTLD_NOW);
	if (!lib) { printf("batchcopy: FAIL: %s\n", dlerror()); return 1; }
#define LOAD(name, args) if (!(name = (CUresult(*) args)dlsym(lib, #name))) { printf("batchcopy: FAIL: %s not exported\n", #name); return 1; }
	FNS(LOAD)
	snprintf(path, sizeof path, "%s/libcudart.so.13", argv[1]);
	void *rt = dlopen(path, RTLD_NOW);
	if (!rt) { printf("batchcopy: FAIL: %s\n", dlerror()); return 1; }
#define RTV(v, name, ver) v = (__typeof__(v))dlvsym(rt, name, ver); if (!v) { printf("batchcopy: FAIL: %s@%s not exported\n", name, ver); return 1; }
	RTV(rtBatch12, "cudaMemcpyBatchAsync", "libcudart.so.12") RTV(rt3D12, "cudaMemcpy3DBatchAsync", "libcudart.so.12")
	RTV(rtBatch13, "cudaMemcpyBatchAsync", "libcudart.so.13") RTV(rt3D13, "cudaMemcpy3DBatchAsync", "libcudart.so.13")
	RTV(rtBatch13Ptsz, "cudaMemcpyBatchAsync_ptsz", "libcudart.so.13")
	RTV(rtCaptureToGraph, "cudaStreamBeginCaptureToGraph", "libcudart.so.13")
	RTV(rtCaptureToGraphPtsz, "cudaStreamBeginCaptureToGraph_ptsz", "libcudart.so.13")
	RTV(rtEndCapture, "cudaStreamEndCapture", "libcudart.so.13") RTV(rtGraphCreate, "cudaGraphCreate", "libcudart.so.13")
	RTV(rtGraphGetNodes, "cudaGraphGetNodes", "libcudart.so.13") RTV(rtStreamCreate, "cudaStreamCreate", "libcudart.so.13")
	RTV(rtStreamSynchronize, "cudaStreamSynchronize", "libcudart.so.13") RTV(rtMalloc, "cudaMalloc", "libcudart.so.13")
	RTV(rtMemcpy, "cudaMemcpy", "libcudart.so.13")
	H ctx = NULL, s = NULL;
	EQ(cuInit(0), 0, "cuInit");
	EQ(cuCtxCreate_v2(&ctx, 0, 0), 0, "cuCtxCreate");
	EQ(cuStreamCreate(&s, 0), 0, "cuStreamCreate");
	test_batch_copies(s);
	test_batch_3d(s);
	test_capture_to_graph(s);
	EQ(cuStreamDestroy_v2(s), 0, "cuStreamDestroy");
	EQ(cuCtxDestroy_v2(ctx), 0, "cuCtxDestroy");
	test_runtime();
	printf("%s: batchcopy %s: %d checks, %d failures\n", failures ? "FAIL" : "PASS", argc > 2 ? argv[2] : "", checks, failures);
	return failures != 0;
}
