// The machine's real CUDA driver, loaded at run time: nothing NVIDIA is needed to build vgpu.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static void *lib;
static int (*p_init)(unsigned);
static int (*p_count)(int *);
static int (*p_get)(int *, int);
static int (*p_name)(char *, int, int);
static int (*p_total)(size_t *, int);
static int (*p_attr)(int *, int, int);
static int (*p_uuid)(unsigned char *, int);
static int (*p_retain)(void **, int);
static int (*p_setcur)(void *);
static int (*p_alloc)(unsigned long long *, size_t);
static int (*p_free)(unsigned long long);
static int (*p_htod)(unsigned long long, const void *, size_t);
static int (*p_dtoh)(void *, unsigned long long, size_t);
static int (*p_dtod)(unsigned long long, unsigned long long, size_t);
static int (*p_memset)(unsigned long long, unsigned char, size_t);
static int (*p_sync)(void);
static int (*p_modload)(void **, const void *);
static int (*p_getfn)(void **, void *, const char *);
static int (*p_getglobal)(unsigned long long *, size_t *, void *, const char *);
static int (*p_modunload)(void *);
static int (*p_setattr)(void *, int, int);
static int (*p_paraminfo)(void *, size_t, size_t *, size_t *);
static int (*p_launch)(void *, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, void *, void **, void **);
// cuLaunchKernelEx (CUDA 12.0 on) takes the launch as a config with an attribute array; its
// layouts, from NVIDIA's driver API documentation: an attribute is a 32-bit id, padding to 8
// bytes and a 64-byte value union; the config is grid and block dimensions and dynamic shared
// memory (7 unsigned), the stream, the attribute array and its count.
struct vg_launch_attr { unsigned id; unsigned pad; unsigned char value[64]; } __attribute__((aligned(8)));
struct vg_launch_config {
	unsigned grid[3], block[3], shared;
	void *stream;
	struct vg_launch_attr *attrs;
	unsigned nattrs;
};
static int (*p_launchex)(const struct vg_launch_config *, void *, void **, void **);
static int (*p_ctxcreate)(void **, unsigned, int);
static int (*p_ctxcreate4)(void **, void *, unsigned, int);
static int (*p_ctxpop)(void **);
static int (*p_ctxdestroy)(void *);

// cu_open loads NVIDIA's libcuda.so.1; 1: not found, 2: that name is vgpu itself, 3: symbols missing.
int cu_open(const char *name, char *err, int n) {
	lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (!lib) { const char *e = dlerror(); strncpy(err, e ? e : "?", n - 1); err[n - 1] = 0; return 1; }
	if (dlsym(lib, "vgpu_build_info")) return 2;
#define S(v, name) if (!(*(void **)&v = dlsym(lib, name))) { strncpy(err, name, n - 1); err[n - 1] = 0; return 3; }
	S(p_init, "cuInit") S(p_count, "cuDeviceGetCount") S(p_get, "cuDeviceGet") S(p_name, "cuDeviceGetName")
	S(p_total, "cuDeviceTotalMem_v2") S(p_attr, "cuDeviceGetAttribute") S(p_uuid, "cuDeviceGetUuid")
	S(p_retain, "cuDevicePrimaryCtxRetain") S(p_setcur, "cuCtxSetCurrent") S(p_alloc, "cuMemAlloc_v2")
	S(p_free, "cuMemFree_v2") S(p_htod, "cuMemcpyHtoD_v2") S(p_dtoh, "cuMemcpyDtoH_v2") S(p_dtod, "cuMemcpyDtoD_v2")
	S(p_memset, "cuMemsetD8_v2") S(p_sync, "cuCtxSynchronize")
	S(p_modload, "cuModuleLoadData") S(p_getfn, "cuModuleGetFunction") S(p_getglobal, "cuModuleGetGlobal_v2") S(p_launch, "cuLaunchKernel") S(p_setattr, "cuFuncSetAttribute") S(p_modunload, "cuModuleUnload")
	S(p_ctxpop, "cuCtxPopCurrent_v2") S(p_ctxdestroy, "cuCtxDestroy_v2")
	// cuCtxCreate_v2, or where a driver has dropped it, cuCtxCreate_v4 (CUDA 12.5 on) without
	// creation parameters, which is the same call.
	*(void **)&p_ctxcreate = dlsym(lib, "cuCtxCreate_v2");
	if (!p_ctxcreate) S(p_ctxcreate4, "cuCtxCreate_v4")
	// cuFuncGetParamInfo came with CUDA 12.4; without it kernels with parameters cannot be carried.
	*(void **)&p_paraminfo = dlsym(lib, "cuFuncGetParamInfo");
	// cuLaunchKernelEx came with CUDA 12.0; without it launches with attributes are refused.
	*(void **)&p_launchex = dlsym(lib, "cuLaunchKernelEx");
	return 0;
}

int cu_init(void) { return p_init(0); }
void *cu_lib(void) { return lib; } // the loaded driver, for entry points looked up elsewhere (ipc.c)
int cu_count(int *n) { return p_count(n); }
int cu_name(char *b, int n, int d) { return p_name(b, n, d); }
int cu_total(size_t *t, int d) { return p_total(t, d); }
int cu_attr(int *v, int a, int d) { return p_attr(v, a, d); }
int cu_uuid(unsigned char *u, int d) { return p_uuid(u, d); }
int cu_retain(void **ctx, int d) { return p_retain(ctx, d); }
// The context current on this thread. Every server client runs on a thread of its own, and
// making a context current again on each call costs as much as a small launch's bookkeeping,
// so the last one set is remembered. A destroyed context's address can come back for a new
// one: every destruction bumps ctx_gen, and a thread whose remembered generation is older
// sets its context again.
#include <stdatomic.h>
#include <stdlib.h>
#include "cctx.h"
static __thread void *cur_ctx;
static __thread unsigned long cur_gen;
static atomic_ulong ctx_gen;
int cu_setcur(void *ctx) {
	unsigned long g = atomic_load_explicit(&ctx_gen, memory_order_acquire);
	if (ctx == cur_ctx && g == cur_gen) return 0;
	int r = p_setcur(ctx);
	if (r == 0) cur_ctx = ctx, cur_gen = g;
	return r;
}
int cu_bind(struct cctx *c) { return cu_setcur(c->ctx); }

struct cctx *cc_new(void) {
	struct cctx *c = calloc(1, sizeof *c);
	if (c) pthread_mutex_init(&c->mu, 0);
	return c;
}
void cc_free(struct cctx *c) {
	pthread_mutex_destroy(&c->mu);
	free(c);
}

// cu_ctx_create gives c a context of its own on device dev. The driver pushes a new context
// on the thread's stack; it is popped again so that the stack stays one deep (cu_setcur
// replaces its top), however many clients this thread serves in turn.
int cu_ctx_create(struct cctx *c, int dev) {
	int r = p_ctxcreate ? p_ctxcreate(&c->ctx, 0 /* CU_CTX_SCHED_AUTO, as primary contexts are */, dev)
		: p_ctxcreate4(&c->ctx, 0, 0, dev);
	if (r) return r;
	void *popped;
	p_ctxpop(&popped);
	cur_ctx = 0;
	return 0;
}
int cu_alloc(unsigned long long *p, size_t n) { return p_alloc(p, n); }
int cu_free(unsigned long long p) { return p_free(p); }
int cu_htod(unsigned long long d, uintptr_t s, size_t n) { return p_htod(d, (const void *)s, n); }

int cu_dtoh(uintptr_t d, unsigned long long s, size_t n) { return p_dtoh((void *)d, s, n); }
int cu_dtod(unsigned long long d, unsigned long long s, size_t n) { return p_dtod(d, s, n); }
int cu_memset(unsigned long long d, unsigned char v, size_t n) { return p_memset(d, v, n); }
int cu_sync(void) { return p_sync(); }
int cu_modload(void **m, const void *img) { return p_modload(m, img); }
int cu_getfn(void **f, void *m, const char *name) { return p_getfn(f, m, name); }
int cu_getglobal(unsigned long long *p, size_t *n, void *m, const char *name) { return p_getglobal(p, n, m, name); }
int cu_paraminfo(void *f, size_t i, size_t *off, size_t *size) { return p_paraminfo ? p_paraminfo(f, i, off, size) : 801; }

// raise_shared reports whether f's dynamic shared memory limit must be raised to n: a small
// table per context of the largest limit set per function (collisions just set the attribute
// again; a function's address is only ever compared within its own context).
static unsigned shared_slot(void *f) { return (unsigned)(((uintptr_t)f >> 4) * 2654435761u) % CCTX_SHARED_SLOTS; }
// With force, n is recorded as f's limit whatever the table held (the caller sets it).
static int note_shared(struct cctx *c, void *f, unsigned n, int force) {
	unsigned i = shared_slot(f);
	pthread_mutex_lock(&c->mu);
	int need = force || c->shared[i].f != f || c->shared[i].n < n;
	if (need) { c->shared[i].f = f; c->shared[i].n = n; }
	pthread_mutex_unlock(&c->mu);
	return need;
}
static int raise_shared(struct cctx *c, void *f, unsigned n) { return note_shared(c, f, n, 0); }

// cu_launch points one parameter slot at each packed value (layout: offset, size pairs).
// With launch attributes (nattr records of 72 bytes, as the program laid them out) it goes
// through cuLaunchKernelEx, and without them through cuLaunchKernel as before.
// The dimensions come by value: a Go array passed by address would be moved to the heap, one
// allocation per launch.
int cu_launch(uintptr_t cp, uintptr_t stp, uintptr_t fp, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned shared,
	uintptr_t argp, uintptr_t layoutp, int n, uintptr_t attrp, int nattr) {
	struct cctx *c = (struct cctx *)cp;
	void *st = (void *)stp, *f = (void *)fp;
	unsigned char *args = (unsigned char *)argp;
	const unsigned *layout = (const unsigned *)layoutp;
	const unsigned char *attrs = (const unsigned char *)attrp;
	const unsigned dims[6] = {gx, gy, gz, bx, by, bz};
	int r = cu_setcur(c->ctx); // the function's own context (one call instead of two per launch)
	if (r) return r;
	void *slots[n > 0 ? n : 1];
	for (int i = 0; i < n; i++) slots[i] = args + layout[2 * i];
	// Past 48 KiB, dynamic shared memory must be opted into per function, as the program did;
	// once per function and size, not per launch.
	if (shared > 48 * 1024 && raise_shared(c, f, shared)) p_setattr(f, 8, (int)shared);
	if (nattr > 0) {
		if (!p_launchex || nattr > 16) return 801; // CUDA_ERROR_NOT_SUPPORTED
		struct vg_launch_attr a[16];
		memcpy(a, attrs, (size_t)nattr * sizeof a[0]); // aligned as the driver reads it
		struct vg_launch_config cfg = {{dims[0], dims[1], dims[2]}, {dims[3], dims[4], dims[5]}, shared, st, a, (unsigned)nattr};
		return p_launchex(&cfg, f, slots, 0);
	}
	return p_launch(f, dims[0], dims[1], dims[2], dims[3], dims[4], dims[5], shared, st, slots, 0);
}
_Static_assert(sizeof(struct vg_launch_attr) == 72, "a launch attribute is 72 bytes");
_Static_assert(sizeof(struct vg_launch_config) == 56, "a launch config is 56 bytes");
int cu_modunload(void *m) { return p_modunload(m); }

// NVIDIA's cuBLAS, loaded on first use: GEMMs a client makes run through it, on the driver
// stream of the stream they were issued on (set per call), with a handle made in the client's
// context (a cuBLAS handle belongs to the context current at its creation).
#include "gemm.h"
static void *blas;
static int (*b_create)(void **);
static int (*b_destroy)(void *);
static int (*b_setstream)(void *, void *);
static int (*b_setmath)(void *, int);
static int (*b_setptr)(void *, int);
static int (*b_sgemm)(void *, int, int, int, int, int, const void *, const void *, int, const void *, int, const void *, void *, int);
static int (*b_gemmex)(void *, int, int, int, int, int, const void *, const void *, int, int, const void *, int, int, const void *, void *, int, int, int, int);
static int (*b_strided)(void *, int, int, int, int, int, const void *, const void *, int, int, long long, const void *, int, int, long long,
	const void *, void *, int, int, long long, int, int, int);
static int (*b_batched)(void *, int, int, int, int, int, const void *, const void *, int, int, const void *, int, int, const void *, void *, int, int, int, int, int);
static int (*b_sstrided)(void *, int, int, int, int, int, const void *, const void *, int, long long, const void *, int, long long, const void *, void *, int, long long, int);
static int (*b_strsm)(void *, int, int, int, int, int, int, const void *, const void *, int, const void *, int, int);
static int (*b_sbatched)(void *, int, int, int, int, int, const void *, const void *, int, const void *, int, const void *, void *, int, int);

// blas_open: 0 loaded; 1 not found; 2 the name is vgpu itself; 3 a symbol is missing.
int blas_open(const char *name, char *err, int n) {
	void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (!h) { const char *e = dlerror(); strncpy(err, e ? e : "?", n - 1); err[n - 1] = 0; return 1; }
	if (dlsym(h, "vgpu_build_info")) { dlclose(h); return 2; }
#define B(v, sym) if (!(*(void **)&v = dlsym(h, sym))) { strncpy(err, sym, n - 1); err[n - 1] = 0; return 3; }
	B(b_create, "cublasCreate_v2") B(b_destroy, "cublasDestroy_v2") B(b_setstream, "cublasSetStream_v2") B(b_setmath, "cublasSetMathMode") B(b_setptr, "cublasSetPointerMode_v2")
	B(b_sgemm, "cublasSgemm_v2") B(b_gemmex, "cublasGemmEx") B(b_strided, "cublasGemmStridedBatchedEx")
	B(b_batched, "cublasGemmBatchedEx") B(b_sstrided, "cublasSgemmStridedBatched") B(b_sbatched, "cublasSgemmBatched") B(b_strsm, "cublasStrsmBatched")
	blas = h;
	return 0;
}

// blas_handle is c's cuBLAS handle, made at its first call; c's context is current.
static int blas_handle(struct cctx *c, void **h) {
	int r = 0;
	if (!c->blas) r = b_create(&c->blas);
	*h = c->blas;
	return r;
}

// blas_modes puts a call's stream, math mode and pointer mode on c's handle before it.
static int blas_modes(struct cctx *c, void *st, void **h, int math, int device_scalars) {
	int r = blas_handle(c, h);
	if (r) return r;
	r = b_setstream(*h, st);
	if (r == 0) r = b_setmath(*h, math);
	if (r == 0) r = b_setptr(*h, device_scalars ? 1 : 0);
	return r;
}

int blas_gemm(struct cctx *c, void *st, const struct gemm_args *g) {
	void *h;
	int r = blas_modes(c, st, &h, g->math, g->alpha_dev != 0);
	if (r) return r;
	const void *al = g->alpha_dev ? (const void *)g->alpha_dev : g->alpha, *be = g->beta_dev ? (const void *)g->beta_dev : g->beta;
	const void *A = (const void *)g->a, *Bm = (const void *)g->b;
	void *C = (void *)g->c;
	switch (g->fn) {
	case GEMM_SGEMM:
		return b_sgemm(h, g->ta, g->tb, g->m, g->n, g->k, al, A, g->lda, Bm, g->ldb, be, C, g->ldc);
	case GEMM_EX:
		return b_gemmex(h, g->ta, g->tb, g->m, g->n, g->k, al, A, g->at, g->lda, Bm, g->bt, g->ldb, be, C, g->ct, g->ldc, g->compute, g->algo);
	case GEMM_STRIDED_EX:
		return b_strided(h, g->ta, g->tb, g->m, g->n, g->k, al, A, g->at, g->lda, g->sa, Bm, g->bt, g->ldb, g->sb, be, C, g->ct, g->ldc, g->sc,
			g->count, g->compute, g->algo);
	case GEMM_BATCHED_EX:
		return b_batched(h, g->ta, g->tb, g->m, g->n, g->k, al, A, g->at, g->lda, Bm, g->bt, g->ldb, be, C, g->ct, g->ldc, g->count, g->compute, g->algo);
	case GEMM_SSTRIDED:
		return b_sstrided(h, g->ta, g->tb, g->m, g->n, g->k, al, A, g->lda, g->sa, Bm, g->ldb, g->sb, be, C, g->ldc, g->sc, g->count);
	case GEMM_SBATCHED:
		return b_sbatched(h, g->ta, g->tb, g->m, g->n, g->k, al, A, g->lda, Bm, g->ldb, be, C, g->ldc, g->count);
	}
	return 7; // CUBLAS_STATUS_INVALID_VALUE
}

// What the driver says of a loaded kernel: its attributes and its occupancy.
static int (*p_funcattr)(int *, int, void *);
static int (*p_occupancy)(int *, void *, int, size_t, unsigned);
int cu_funcattr(int *v, int attr, void *f) {
	if (!p_funcattr && !(*(void **)&p_funcattr = dlsym(lib, "cuFuncGetAttribute"))) return 801;
	return p_funcattr(v, attr, f);
}
int cu_occupancy(struct cctx *c, int *n, void *f, int block, size_t shared, unsigned flags, int max_dyn) {
	if (!p_occupancy && !(*(void **)&p_occupancy = dlsym(lib, "cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags"))) return 801;
	if (max_dyn > 48 * 1024) { // as the program raised it before asking
		p_setattr(f, 8, max_dyn);
		note_shared(c, f, (unsigned)max_dyn, 1);
	}
	return p_occupancy(n, f, block, shared, flags);
}

// Graphs: an instantiated client graph is recorded once by stream capture into a graph of
// the driver's own, then each launch of it is one cuGraphLaunch, as in the client's program.
static int (*p_streamcreate)(void **, unsigned);
static int (*p_begincap)(void *, int);
static int (*p_endcap)(void *, void **);
static int (*p_instantiate)(void **, void *, unsigned long long);
static int (*p_graphdestroy)(void *);
static int (*p_graphlaunch)(void *, void *);
static int (*p_execdestroy)(void *);
static int (*p_memsetasync)(unsigned long long, unsigned char, size_t, void *);
static int (*p_dtodasync)(unsigned long long, unsigned long long, size_t, void *);

static int graph_syms(void) {
	if (p_graphlaunch) return 0;
#define G(v, name) if (!(*(void **)&v = dlsym(lib, name))) return 801;
	G(p_streamcreate, "cuStreamCreate") G(p_begincap, "cuStreamBeginCapture_v2") G(p_endcap, "cuStreamEndCapture")
	G(p_instantiate, "cuGraphInstantiateWithFlags") G(p_graphdestroy, "cuGraphDestroy") G(p_execdestroy, "cuGraphExecDestroy")
	G(p_memsetasync, "cuMemsetD8Async") G(p_dtodasync, "cuMemcpyDtoDAsync_v2") G(p_graphlaunch, "cuGraphLaunch")
	return 0;
}

// cu_capture_begin starts recording c's work (relaxed mode: other threads go on using their
// legacy streams meanwhile).
int cu_capture_begin(struct cctx *c) {
	int r = graph_syms();
	if (r) return r;
	if (!c->cap && (r = p_streamcreate(&c->cap, 1 /* CU_STREAM_NON_BLOCKING */))) return r;
	if ((r = p_begincap(c->cap, 2 /* CU_STREAM_CAPTURE_MODE_RELAXED */))) return r;
	c->stream = c->cap;
	return 0;
}

// cu_capture_end stops recording; with ok, the graph is instantiated into *exec.
int cu_capture_end(struct cctx *c, int ok, void **exec) {
	void *g = 0;
	c->stream = 0;
	int r = p_endcap(c->cap, &g);
	if (r == 0 && ok) r = p_instantiate(exec, g, 0);
	if (r == 0 && ok) { // the graph's first launch then costs what the others do
		static int (*upload)(void *, void *);
		if (upload || (*(void **)&upload = dlsym(lib, "cuGraphUpload"))) upload(*exec, 0);
	}
	if (g) p_graphdestroy(g);
	return ok ? r : 0;
}

// cu_capture_update stops recording and updates exec from the graph recorded
// (cuGraphExecUpdate), where cu_capture_end would instantiate a new one: a client graph
// updated in place keeps its topology, and the update costs the driver far less than a new
// instantiation. Non-zero when the driver refused (the caller then drops exec).
static int (*p_execupdate)(void *, void *, void *);
int cu_capture_update(struct cctx *c, int ok, void *exec) {
	void *g = 0;
	c->stream = 0;
	int r = p_endcap(c->cap, &g);
	if (r == 0 && ok) {
		if (!p_execupdate && !(*(void **)&p_execupdate = dlsym(lib, "cuGraphExecUpdate_v2"))) r = 801;
		else {
			unsigned long long info[4]; // CUgraphExecUpdateResultInfo: result, error node, error-from node
			r = p_execupdate(exec, g, info);
		}
	}
	if (g) p_graphdestroy(g);
	return ok ? r : 1;
}

// On stream st (the capturing stream while a graph is recorded).
int cu_memset_on(void *st, unsigned long long d, unsigned char v, size_t n) {
	int r = graph_syms();
	return r ? r : p_memsetasync(d, v, n, st);
}
int cu_dtod_on(void *st, unsigned long long d, unsigned long long s, size_t n) {
	int r = graph_syms();
	return r ? r : p_dtodasync(d, s, n, st);
}
int cu_graph_launch(void *exec, void *st) { return p_graphlaunch(exec, st); }
// Fills of 2- and 4-byte elements (cuMemsetD16/D32), looked up at first use; 801
// (CUDA_ERROR_NOT_SUPPORTED) where the driver lacks them. size is 2 or 4; count elements.
static int (*p_memset16)(unsigned long long, unsigned short, size_t), (*p_memset32)(unsigned long long, unsigned, size_t);
static int (*p_memset16async)(unsigned long long, unsigned short, size_t, void *), (*p_memset32async)(unsigned long long, unsigned, size_t, void *);
static int words_syms(void) {
	if (p_memset32async) return 0;
	if (!(*(void **)&p_memset16 = dlsym(lib, "cuMemsetD16_v2")) || !(*(void **)&p_memset32 = dlsym(lib, "cuMemsetD32_v2")) ||
		!(*(void **)&p_memset16async = dlsym(lib, "cuMemsetD16Async")) || !(*(void **)&p_memset32async = dlsym(lib, "cuMemsetD32Async")))
		return 801;
	return 0;
}
int cu_memset_words(unsigned long long d, unsigned v, unsigned size, size_t count) {
	int r = words_syms();
	if (r) return r;
	return size == 2 ? p_memset16(d, (unsigned short)v, count) : p_memset32(d, v, count);
}
// On stream st, as cu_memset_on.
int cu_memset_words_on(void *st, unsigned long long d, unsigned v, unsigned size, size_t count) {
	int r = words_syms();
	if (r) return r;
	return size == 2 ? p_memset16async(d, (unsigned short)v, count, st) : p_memset32async(d, v, count, st);
}

// A graph launch timed on the GPU (the server's VGPU_STATS=1): events around each launch in
// a ring of three, so that when launch k is made, launch k-2 has its run time (start to
// end) and the GPU's idle gap after it (its end to launch k-1's start).
static int (*p_evcreate)(void **, unsigned), (*p_evrecord)(void *, void *), (*p_evquery)(void *);
static int (*p_evelapsed)(float *, void *, void *), (*p_evdestroy)(void *);
int cu_graph_launch_timed(struct cctx *c, void *exec, void *st, float *run, float *gap) {
	*run = *gap = -1;
	if (!p_evelapsed) {
		if (!(*(void **)&p_evcreate = dlsym(lib, "cuEventCreate")) || !(*(void **)&p_evrecord = dlsym(lib, "cuEventRecord")) ||
			!(*(void **)&p_evquery = dlsym(lib, "cuEventQuery")) || !(*(void **)&p_evdestroy = dlsym(lib, "cuEventDestroy_v2")) ||
			!(*(void **)&p_evelapsed = dlsym(lib, "cuEventElapsedTime")))
			return cu_graph_launch(exec, st);
	}
	void *(*ring)[2] = c->ring; // the events are the context's: one ring per client context
	if (!c->ring_made) {
		for (int i = 0; i < 3; i++)
			for (int j = 0; j < 2; j++)
				if (p_evcreate(&ring[i][j], 0)) return cu_graph_launch(exec, st);
		c->ring_made = 1;
	}
	unsigned long long k = c->launched++;
	if (k >= 2) {
		void **old = ring[(k - 2) % 3], **next = ring[(k - 1) % 3];
		if (p_evquery(old[1]) == 0 && p_evquery(next[0]) == 0) {
			p_evelapsed(run, old[0], old[1]);
			p_evelapsed(gap, old[1], next[0]);
		}
	}
	void **now = ring[k % 3];
	p_evrecord(now[0], st);
	int r = p_graphlaunch(exec, st);
	p_evrecord(now[1], st);
	return r;
}
int cu_graph_destroy(void *exec) { return p_execdestroy(exec); }

// Pinning a client's shared memory: copies through it then run at DMA speed; with
// CU_MEMHOSTREGISTER_DEVICEMAP a kernel reaches it at the address cu_hostdevptr gives.
static int (*h_reg)(void *, size_t, unsigned), (*h_unreg)(void *), (*h_devptr)(unsigned long long *, void *, unsigned);
int cu_hostreg(uintptr_t p, size_t n, unsigned flags) {
	if (!h_reg && !(*(void **)&h_reg = dlsym(lib, "cuMemHostRegister_v2"))) return 801;
	return h_reg((void *)p, n, flags);
}
int cu_hostunreg(uintptr_t p) {
	if (!h_unreg && !(*(void **)&h_unreg = dlsym(lib, "cuMemHostUnregister"))) return 801;
	return h_unreg((void *)p);
}
int cu_hostdevptr(unsigned long long *d, uintptr_t p) {
	if (!h_devptr && !(*(void **)&h_devptr = dlsym(lib, "cuMemHostGetDevicePointer_v2"))) return 801;
	return h_devptr(d, (void *)p, 0);
}

// cu_htod_staged uploads from pageable memory without waiting for the GPU: the driver copies
// the bytes into its staging memory before returning, and the DMA follows in stream order.
// (cuMemcpyHtoD would first wait for every kernel before it on the stream: a client's next
// inputs would stall the server until the GPU drained.)
static int (*p_htodasync)(unsigned long long, const void *, size_t, void *);
static int (*p_dtohasync)(void *, unsigned long long, size_t, void *);
int cu_htod_staged(void *st, unsigned long long d, uintptr_t s, size_t n) {
	if (!p_htodasync && !(*(void **)&p_htodasync = dlsym(lib, "cuMemcpyHtoDAsync_v2"))) return p_htod(d, (const void *)s, n);
	return p_htodasync(d, (const void *)s, n, st);
}

// cu_dtoh_async downloads into registered memory in stream order, without waiting.
int cu_dtoh_async(void *st, uintptr_t d, unsigned long long s, size_t n) {
	if (!p_dtohasync && !(*(void **)&p_dtohasync = dlsym(lib, "cuMemcpyDtoHAsync_v2"))) return p_dtoh((void *)d, s, n);
	return p_dtohasync((void *)d, s, n, st);
}

// Streams of the client's own: each of the model's streams (other than the legacy stream,
// which is the context's NULL stream) runs on one, made at its first work. Flags 0: the
// legacy stream's implicit synchronisation orders it with the legacy stream's work both
// ways, as a blocking stream is.
static int (*s_create)(void **, unsigned, int), (*s_destroy)(void *), (*s_sync)(void *), (*s_wait)(void *, void *, unsigned);
static int stream_syms(void) {
	if (s_wait) return 0;
	if (!(*(void **)&s_create = dlsym(lib, "cuStreamCreateWithPriority")) || !(*(void **)&s_destroy = dlsym(lib, "cuStreamDestroy_v2")) ||
		!(*(void **)&s_sync = dlsym(lib, "cuStreamSynchronize")) || !(*(void **)&s_wait = dlsym(lib, "cuStreamWaitEvent")))
		return 801;
	return 0;
}
int cu_stream_new(struct cctx *c, void **st, unsigned flags, int prio) {
	int r = stream_syms();
	if (r || (r = cu_setcur(c->ctx))) return r;
	return s_create(st, flags, prio);
}
int cu_stream_free(struct cctx *c, void *st) {
	int r = cu_setcur(c->ctx);
	return r ? r : s_destroy(st);
}
// cu_stream_sync waits for st's work; a real stream's, not the context's.
int cu_stream_sync(struct cctx *c, void *st) {
	int r = stream_syms();
	if (r || (r = cu_setcur(c->ctx))) return r;
	return s_sync(st);
}
// cu_stream_wait makes st's later work wait for the work before ev (a mark).
int cu_stream_wait(struct cctx *c, void *st, void *ev) {
	int r = stream_syms();
	if (r || (r = cu_setcur(c->ctx))) return r;
	return s_wait(st, ev, 0);
}
// Host-synchronous copies on stream st: in st's order, returning when done.
int cu_htod_on(void *st, unsigned long long d, uintptr_t s, size_t n) {
	int r = stream_syms();
	if (r || (r = cu_htod_staged(st, d, s, n))) return r;
	return s_sync(st);
}
int cu_dtoh_on(void *st, uintptr_t d, unsigned long long s, size_t n) {
	int r = stream_syms();
	if (r || (r = cu_dtoh_async(st, d, s, n))) return r;
	return s_sync(st);
}

int blas_trsm(struct cctx *c, void *st, const struct trsm_args *t) {
	void *h;
	int r = blas_modes(c, st, &h, t->math, t->alpha_dev != 0);
	if (r) return r;
	const void *al = t->alpha_dev ? (const void *)t->alpha_dev : t->alpha;
	return b_strsm(h, t->side, t->uplo, t->trans, t->diag, t->m, t->n, al, (const void *)t->a, t->lda, (const void *)t->b, t->ldb, t->count);
}

// cu_ctx_end releases what c made in its context (cuBLAS handle, capturing stream, timing
// events), then with destroy the context itself, which frees whatever of the client's memory
// and modules is left, even when a fault has left the context unusable. It returns what
// cuCtxDestroy said.
int cu_ctx_end(struct cctx *c, int destroy) {
	if (cu_setcur(c->ctx) == 0) {
		if (c->blas && b_destroy) b_destroy(c->blas);
		if (c->ring_made)
			for (int i = 0; i < 3; i++)
				for (int j = 0; j < 2; j++) p_evdestroy(c->ring[i][j]);
		if (c->cap) {
			static int (*sdestroy)(void *);
			if (sdestroy || (*(void **)&sdestroy = dlsym(lib, "cuStreamDestroy_v2"))) sdestroy(c->cap);
		}
	}
	c->blas = c->cap = 0, c->ring_made = 0;
	if (!destroy) return 0;
	int r = p_ctxdestroy(c->ctx);
	// Every thread sets its context again before its next call: the address may come back.
	atomic_fetch_add_explicit(&ctx_gen, 1, memory_order_release);
	cur_ctx = 0;
	return r;
}

// Marks: a driver event recorded after a client's work so far (cudaEventRecord), which an
// event query asks about, and the query of the stream all of a context's work runs on. The
// entry points are looked up at first use; 1 when the driver lacks one (CUDA_ERROR_INVALID_VALUE).
static int (*m_create)(void **, unsigned), (*m_record)(void *, void *), (*m_query)(void *), (*m_destroy)(void *), (*m_squery)(void *);
static int mark_syms(void) {
	if (m_squery) return 0;
	if (!(*(void **)&m_create = dlsym(lib, "cuEventCreate")) || !(*(void **)&m_record = dlsym(lib, "cuEventRecord")) ||
		!(*(void **)&m_query = dlsym(lib, "cuEventQuery")) || !(*(void **)&m_destroy = dlsym(lib, "cuEventDestroy_v2")))
		return 1;
	*(void **)&m_squery = dlsym(lib, "cuStreamQuery");
	return m_squery ? 0 : 1;
}
int cu_mark(struct cctx *c, void *st, void **ev) {
	int r = mark_syms();
	if (r || (r = cu_setcur(c->ctx))) return r;
	if ((r = m_create(ev, 2))) return r; // CU_EVENT_DISABLE_TIMING: a mark is only a position
	if ((r = m_record(*ev, st))) m_destroy(*ev);
	return r;
}
int cu_mark_query(struct cctx *c, void *ev) {
	int r = cu_setcur(c->ctx);
	return r ? r : m_query(ev); // 0 reached, 600 CUDA_ERROR_NOT_READY, or what the work ran into
}
int cu_mark_free(struct cctx *c, void *ev) {
	int r = cu_setcur(c->ctx);
	return r ? r : m_destroy(ev);
}
int cu_busy(struct cctx *c, void *st) {
	int r = mark_syms();
	if (r || (r = cu_setcur(c->ctx))) return r;
	return m_squery(st);
}

// A stand-in for the three driver entry points a launch calls, for tests on machines without
// NVIDIA's driver: it records whether cuLaunchKernel or cuLaunchKernelEx was called and, for
// the latter, the attributes and the config as the driver would read them.
static struct { int kind, nattr; unsigned grid, ids[16]; int vals[16]; void *stream; } fake_last;
static void fake_note(const char *op, void *st, void *ev);
static int fake_setcur(void *ctx) { (void)ctx; return 0; }
// fake_cost: each fake launch spins this many iterations, standing in for the driver's CPU
// work (benchmarks of the launch path; 0 in tests).
static volatile long fake_cost;
static int fake_launch(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned sh, void *st, void **p, void **e) {
	(void)f, (void)gy, (void)gz, (void)bx, (void)by, (void)bz, (void)sh, (void)p, (void)e;
	for (volatile long i = 0; i < fake_cost; i++) {
	}
	fake_last.kind = 1, fake_last.nattr = 0, fake_last.grid = gx, fake_last.stream = st;
	fake_note("launch", st, 0);
	return 0;
}
void cu_fake_cost(long iters) { fake_cost = iters; }
static int fake_launchex(const struct vg_launch_config *cfg, void *f, void **p, void **e) {
	(void)f, (void)p, (void)e;
	fake_last.kind = 2, fake_last.nattr = (int)cfg->nattrs, fake_last.grid = cfg->grid[0], fake_last.stream = cfg->stream;
	fake_note("launch", cfg->stream, 0);
	for (unsigned i = 0; i < cfg->nattrs && i < 16; i++) {
		fake_last.ids[i] = cfg->attrs[i].id;
		memcpy(&fake_last.vals[i], cfg->attrs[i].value, sizeof(int));
	}
	return 0;
}
// Marks: fake_pending is what every fake event and stream query answers (0 or 600); the
// counts say how many fake events were made and destroyed.
static int fake_pending, fake_made, fake_freed;
static int fake_evcreate(void **ev, unsigned f) { (void)f; *ev = (void *)(uintptr_t)(0x1000 + ++fake_made); return 0; }
static int fake_evrecord(void *ev, void *st) { fake_note("record", st, ev); return 0; }
static int fake_evquery(void *ev) { (void)ev; return fake_pending; }
static int fake_evdestroy(void *ev) { (void)ev; fake_freed++; return 0; }
static int fake_squery(void *st) { fake_note("query", st, 0); return fake_pending; }
// The fake's log: each driver call that issues or waits for work, with the stream it named
// (what the tests read to see that work went to the right stream).
#define FAKE_LOG 512
static struct { const char *op; void *st; void *ev; } fake_log[FAKE_LOG];
static int fake_n;
static void fake_note(const char *op, void *st, void *ev) {
	if (fake_n < FAKE_LOG) fake_log[fake_n].op = op, fake_log[fake_n].st = st, fake_log[fake_n].ev = ev, fake_n++;
}
static int fake_streams_made, fake_streams_freed;
static int fake_screate(void **st, unsigned f, int prio) { (void)f, (void)prio; *st = (void *)(uintptr_t)(0x5000 + ++fake_streams_made); fake_note("create", *st, 0); return 0; }
static int fake_sdestroy(void *st) { fake_streams_freed++; fake_note("destroy", st, 0); return 0; }
static int fake_ssync(void *st) { fake_note("sync", st, 0); return 0; }
static int fake_swait(void *st, void *ev, unsigned f) { (void)f; fake_note("wait", st, ev); return 0; }
static int fake_ctxsync(void) { fake_note("ctxsync", 0, 0); return 0; }
static int fake_htodasync(unsigned long long d, const void *s, size_t n, void *st) { (void)d, (void)s, (void)n; fake_note("htod", st, 0); return 0; }
static int fake_htod(unsigned long long d, const void *s, size_t n) { (void)d, (void)s, (void)n; fake_note("htod", 0, 0); return 0; }
static int fake_dtohasync(void *d, unsigned long long s, size_t n, void *st) { (void)d, (void)s, (void)n; fake_note("dtoh", st, 0); return 0; }
static int fake_dtoh(void *d, unsigned long long s, size_t n) { (void)d, (void)s, (void)n; fake_note("dtoh", 0, 0); return 0; }
static int fake_blas_create(void **h) { *h = (void *)0x7000; return 0; }
static void *fake_blas_stream;
static int fake_blas_setstream(void *h, void *st) { (void)h; fake_blas_stream = st; return 0; }
static int fake_blas_mode(void *h, int m) { (void)h, (void)m; return 0; }
static int fake_sgemm(void *h, int ta, int tb, int m, int n, int k, const void *al, const void *a, int lda, const void *b, int ldb, const void *be, void *c, int ldc) {
	(void)h, (void)ta, (void)tb, (void)m, (void)n, (void)k, (void)al, (void)a, (void)lda, (void)b, (void)ldb, (void)be, (void)c, (void)ldc;
	fake_note("gemm", fake_blas_stream, 0);
	return 0;
}
// Host registration: the fake keeps the registered ranges (up to 16) and maps each for the
// device at its host address plus FAKE_DEVMAP, so that a test tells the driver's device
// address from the host one; cuMemHostGetDevicePointer fails on an unregistered address (or
// one registered without DEVICEMAP), as the driver's does, and unregistering counts.
#define FAKE_DEVMAP 0x100000000000ull
static struct { uintptr_t p; size_t n; unsigned flags; } fake_regs[16];
static int fake_unregs;
static int fake_hostreg(void *p, size_t n, unsigned flags) {
	for (int i = 0; i < 16; i++)
		if (fake_regs[i].n && (uintptr_t)p < fake_regs[i].p + fake_regs[i].n && fake_regs[i].p < (uintptr_t)p + n) return 712; // already registered
	for (int i = 0; i < 16; i++)
		if (!fake_regs[i].n) { fake_regs[i].p = (uintptr_t)p, fake_regs[i].n = n, fake_regs[i].flags = flags; return 0; }
	return 2;
}
static int fake_hostunreg(void *p) {
	for (int i = 0; i < 16; i++)
		if (fake_regs[i].n && fake_regs[i].p == (uintptr_t)p) { fake_regs[i].n = 0, fake_unregs++; return 0; }
	return 713; // not registered
}
static int fake_hostdevptr(unsigned long long *d, void *p, unsigned flags) {
	for (int i = 0; i < 16; i++)
		if (fake_regs[i].n && (uintptr_t)p >= fake_regs[i].p && (uintptr_t)p - fake_regs[i].p < fake_regs[i].n) {
			if (flags || !(fake_regs[i].flags & 2)) return 1;
			*d = (unsigned long long)(uintptr_t)p + FAKE_DEVMAP;
			return 0;
		}
	return 1;
}
// cu_fake_hostreg: the flags [p, ...) was registered with (-1: not registered) and how many
// unregistrations the fake has seen.
int cu_fake_hostreg(uintptr_t p, int *unregs) {
	*unregs = fake_unregs;
	for (int i = 0; i < 16; i++)
		if (fake_regs[i].n && fake_regs[i].p == p) return (int)fake_regs[i].flags;
	return -1;
}
// Fills, device copies and graphs: the fake's device memory is the test's own memory (the sim
// model's), so a fill or copy is done for real, at once on a stream, or recorded while the
// capture stream captures; an instantiated fake graph is that list, run again at each launch.
// fake_graphs counts instantiations and launches of graphs.
enum { FAKE_OPS = 64 };
struct fake_op { int kind; unsigned long long d, s; unsigned v, size; size_t n; }; // kind 1 fill, 2 copy
struct fake_graph { int n; struct fake_op ops[FAKE_OPS]; };
static struct fake_graph fake_cap;
static int fake_capturing, fake_built, fake_launched;
static char fake_capstream;
static void fake_run(const struct fake_op *o) {
	if (o->kind == 2) { memmove((void *)(uintptr_t)o->d, (const void *)(uintptr_t)o->s, o->n); return; }
	unsigned char *p = (unsigned char *)(uintptr_t)o->d;
	for (size_t i = 0; i < o->n; i++)
		for (unsigned j = 0; j < o->size; j++) p[i * o->size + j] = (unsigned char)(o->v >> (8 * j));
}
static int fake_op(void *st, struct fake_op o) {
	if (st == &fake_capstream && fake_capturing) {
		if (fake_cap.n == FAKE_OPS) return 1;
		fake_cap.ops[fake_cap.n++] = o;
		return 0;
	}
	fake_run(&o);
	return 0;
}
static int fake_retain(void **ctx, int d) { *ctx = (void *)(uintptr_t)(0x2000 + d); return 0; }
static int fake_memset8(unsigned long long d, unsigned char v, size_t n) { fake_note("memset", 0, 0); return fake_op(0, (struct fake_op){1, d, 0, v, 1, n}); }
static int fake_memset8async(unsigned long long d, unsigned char v, size_t n, void *st) { fake_note("memset", st, 0); return fake_op(st, (struct fake_op){1, d, 0, v, 1, n}); }
static int fake_memset16(unsigned long long d, unsigned short v, size_t n) { fake_note("memset", 0, 0); return fake_op(0, (struct fake_op){1, d, 0, v, 2, n}); }
static int fake_memset32(unsigned long long d, unsigned v, size_t n) { fake_note("memset", 0, 0); return fake_op(0, (struct fake_op){1, d, 0, v, 4, n}); }
static int fake_memset16async(unsigned long long d, unsigned short v, size_t n, void *st) { fake_note("memset", st, 0); return fake_op(st, (struct fake_op){1, d, 0, v, 2, n}); }
static int fake_memset32async(unsigned long long d, unsigned v, size_t n, void *st) { fake_note("memset", st, 0); return fake_op(st, (struct fake_op){1, d, 0, v, 4, n}); }
static int fake_dtodasync(unsigned long long d, unsigned long long s, size_t n, void *st) { fake_note("dtod", st, 0); return fake_op(st, (struct fake_op){2, d, s, 0, 0, n}); }
static int fake_dtod(unsigned long long d, unsigned long long s, size_t n) { fake_note("dtod", 0, 0); return fake_op(0, (struct fake_op){2, d, s, 0, 0, n}); }
static int fake_streamcreate(void **st, unsigned f) { (void)f; *st = &fake_capstream; return 0; }
static int fake_begincap(void *st, int mode) { (void)st, (void)mode; fake_capturing = 1, fake_cap.n = 0; return 0; }
static int fake_endcap(void *st, void **g) {
	(void)st;
	fake_capturing = 0;
	struct fake_graph *c = malloc(sizeof *c);
	if (!c) return 2;
	*c = fake_cap, *g = c;
	return 0;
}
static int fake_instantiate(void **exec, void *g, unsigned long long f) {
	(void)f;
	struct fake_graph *c = malloc(sizeof *c);
	if (!c) return 2;
	*c = *(struct fake_graph *)g, *exec = c;
	fake_built++;
	return 0;
}
static int fake_graphfree(void *g) { free(g); return 0; }
static int fake_updated;
static int fake_execupdate(void *exec, void *g, void *info) {
	(void)info;
	*(struct fake_graph *)exec = *(struct fake_graph *)g;
	fake_updated++;
	return 0;
}
int cu_fake_updates(void) { return fake_updated; }
static int fake_graphlaunch(void *exec, void *st) {
	fake_note("graph", st, 0);
	struct fake_graph *x = exec;
	for (int i = 0; i < x->n; i++) fake_run(&x->ops[i]);
	fake_launched++;
	return 0;
}
void cu_fake_graphs(int *built, int *launched) { *built = fake_built, *launched = fake_launched; }

void cu_fake_arrays_on(void);
// cu_fake_driver installs the whole stand-in: launches, events, driver streams (logged),
// fills, copies and graphs (done for real on the test's memory), host registration, arrays.
void cu_fake_driver(void) {
	p_setcur = fake_setcur, p_launch = fake_launch, p_launchex = fake_launchex, cur_ctx = 0;
	p_retain = fake_retain, p_memset = fake_memset8, p_memsetasync = fake_memset8async, p_dtodasync = fake_dtodasync;
	p_memset16 = fake_memset16, p_memset32 = fake_memset32, p_memset16async = fake_memset16async, p_memset32async = fake_memset32async;
	p_streamcreate = fake_streamcreate, p_begincap = fake_begincap, p_endcap = fake_endcap, p_instantiate = fake_instantiate;
	p_graphdestroy = fake_graphfree, p_execdestroy = fake_graphfree, p_graphlaunch = fake_graphlaunch, p_execupdate = fake_execupdate;
	h_reg = fake_hostreg, h_unreg = fake_hostunreg, h_devptr = fake_hostdevptr;
	m_create = fake_evcreate, m_record = fake_evrecord, m_query = fake_evquery, m_destroy = fake_evdestroy, m_squery = fake_squery;
	s_create = fake_screate, s_destroy = fake_sdestroy, s_sync = fake_ssync, s_wait = fake_swait, p_sync = fake_ctxsync;
	p_dtod = fake_dtod, p_htodasync = fake_htodasync, p_htod = fake_htod, p_dtohasync = fake_dtohasync, p_dtoh = fake_dtoh;
	b_create = fake_blas_create, b_setstream = fake_blas_setstream, b_setmath = fake_blas_mode, b_setptr = fake_blas_mode, b_sgemm = fake_sgemm;
	cu_fake_arrays_on();
	fake_n = 0;
}
// cu_fake_log copies the log out (up to max entries) and returns its length.
int cu_fake_log(const char **ops, void **sts, void **evs, int max) {
	for (int i = 0; i < fake_n && i < max; i++) ops[i] = fake_log[i].op, sts[i] = fake_log[i].st, evs[i] = fake_log[i].ev;
	return fake_n;
}
void cu_fake_log_reset(void) { fake_n = 0; }
void cu_fake_streams(int *made, int *freed) { *made = fake_streams_made, *freed = fake_streams_freed; }
void cu_fake_pending(int r) { fake_pending = r; }
void cu_fake_events(int *made, int *freed) { *made = fake_made, *freed = fake_freed; }
// cu_fake_last: 1 cuLaunchKernel, 2 cuLaunchKernelEx (0 none); the attributes' ids and first ints.
int cu_fake_last(unsigned *grid, int *nattr, unsigned *ids, int *vals) {
	*grid = fake_last.grid, *nattr = fake_last.nattr;
	memcpy(ids, fake_last.ids, sizeof fake_last.ids), memcpy(vals, fake_last.vals, sizeof fake_last.vals);
	return fake_last.kind;
}

// CUDA arrays, texture and surface objects (local/array.go); the descriptors are in array.h.
#include "array.h"

static int (*a_create)(void **, const struct vg_array3d *), (*a_destroy)(void *), (*a_copy)(const struct vg_memcpy3d *);
static int (*t_create)(unsigned long long *, const void *, const void *, const void *), (*t_destroy)(unsigned long long);
static int (*sf_create)(unsigned long long *, const void *), (*sf_destroy)(unsigned long long);
static int array_syms(void) {
	if (sf_destroy) return 0;
#define A(v, name) if (!(*(void **)&v = dlsym(lib, name))) return 801;
	A(a_create, "cuArray3DCreate_v2") A(a_destroy, "cuArrayDestroy") A(a_copy, "cuMemcpy3D_v2")
	A(t_create, "cuTexObjectCreate") A(t_destroy, "cuTexObjectDestroy") A(sf_create, "cuSurfObjectCreate") A(sf_destroy, "cuSurfObjectDestroy")
	return 0;
}
int cu_array_create(void **a, const struct vg_array3d *d) { int r = array_syms(); return r ? r : a_create(a, d); }
int cu_array_destroy(void *a) { int r = array_syms(); return r ? r : a_destroy(a); }
int cu_memcpy3d(const struct vg_memcpy3d *p) { int r = array_syms(); return r ? r : a_copy(p); }
int cu_tex_create(unsigned long long *o, const void *res, const void *tex, const void *view) { int r = array_syms(); return r ? r : t_create(o, res, tex, view); }
int cu_tex_destroy(unsigned long long o) { int r = array_syms(); return r ? r : t_destroy(o); }
int cu_surf_create(unsigned long long *o, const void *res) { int r = array_syms(); return r ? r : sf_create(o, res); }
int cu_surf_destroy(unsigned long long o) { int r = array_syms(); return r ? r : sf_destroy(o); }
static int (*m_mcreate)(void **, const struct vg_array3d *, unsigned), (*m_mlevel)(void **, void *, unsigned), (*m_mdestroy)(void *);
static int mipmap_syms(void) {
	if (m_mdestroy) return 0;
	A(m_mcreate, "cuMipmappedArrayCreate") A(m_mlevel, "cuMipmappedArrayGetLevel") A(m_mdestroy, "cuMipmappedArrayDestroy")
	return 0;
}
int cu_mipmap_create(void **m, const struct vg_array3d *d, unsigned levels) { int r = mipmap_syms(); return r ? r : m_mcreate(m, d, levels); }
int cu_mipmap_level(void **a, void *m, unsigned level) { int r = mipmap_syms(); return r ? r : m_mlevel(a, m, level); }
int cu_mipmap_destroy(void *m) { int r = mipmap_syms(); return r ? r : m_mdestroy(m); }

// The fake driver's arrays and objects: what it was last given, and how many it made and
// destroyed (cu_fake_arrays). Object values are the fake driver's own small numbers, as the
// real driver's are.
static struct vg_array3d fake_adesc;
static struct vg_memcpy3d fake_copy;
static unsigned char fake_tres[144], fake_ttex[104];
static int fake_copies, fake_amade, fake_afreed, fake_tmade, fake_tfreed, fake_smade, fake_sfreed;
static unsigned long long fake_tlast_freed;
static int fake_acreate(void **a, const struct vg_array3d *d) { fake_adesc = *d; *a = (void *)(uintptr_t)(0xa000 + ++fake_amade); return 0; }
static int fake_adestroy(void *a) { (void)a; fake_afreed++; return 0; }
static int fake_acopy(const struct vg_memcpy3d *p) { fake_copy = *p; fake_copies++; return 0; }
static int fake_tcreate(unsigned long long *o, const void *res, const void *tex, const void *view) {
	(void)view;
	memcpy(fake_tres, res, sizeof fake_tres), memcpy(fake_ttex, tex, sizeof fake_ttex);
	*o = 0x40 + (unsigned long long)++fake_tmade;
	return 0;
}
static int fake_tdestroy(unsigned long long o) { fake_tlast_freed = o; fake_tfreed++; return 0; }
static int fake_sfcreate(unsigned long long *o, const void *res) { memcpy(fake_tres, res, sizeof fake_tres); *o = 0x400 + (unsigned long long)++fake_smade; return 0; }
static int fake_sfdestroy(unsigned long long o) { fake_tlast_freed = o; fake_sfreed++; return 0; }
static int fake_mmade, fake_mfreed;
static unsigned fake_mlevels;
static int fake_mcreate(void **m, const struct vg_array3d *d, unsigned levels) { fake_adesc = *d, fake_mlevels = levels; *m = (void *)(uintptr_t)(0xb0000 + 0x100 * ++fake_mmade); return 0; }
static int fake_mlevel(void **a, void *m, unsigned level) { *a = (void *)((uintptr_t)m + 1 + level); return 0; }
static int fake_mdestroy(void *m) { (void)m; fake_mfreed++; return 0; }
// cu_fake_mipmaps: mipmapped arrays made and destroyed, and the last one's level count.
void cu_fake_mipmaps(int *made, int *freed, unsigned *levels) { *made = fake_mmade, *freed = fake_mfreed, *levels = fake_mlevels; }
void cu_fake_arrays_on(void) {
	a_create = fake_acreate, a_destroy = fake_adestroy, a_copy = fake_acopy;
	t_create = fake_tcreate, t_destroy = fake_tdestroy, sf_create = fake_sfcreate, sf_destroy = fake_sfdestroy;
	m_mcreate = fake_mcreate, m_mlevel = fake_mlevel, m_mdestroy = fake_mdestroy;
}
// cu_fake_arrays reads the recorder: counts (copies, arrays made and freed, textures made and
// freed, surfaces made and freed), the last array descriptor, copy, resource and texture
// descriptions, and the last object destroyed.
void cu_fake_arrays(int *counts, struct vg_array3d *ad, struct vg_memcpy3d *cp, unsigned char *res, unsigned char *tex, unsigned long long *freed) {
	counts[0] = fake_copies, counts[1] = fake_amade, counts[2] = fake_afreed, counts[3] = fake_tmade, counts[4] = fake_tfreed;
	counts[5] = fake_smade, counts[6] = fake_sfreed;
	*ad = fake_adesc, *cp = fake_copy, *freed = fake_tlast_freed;
	memcpy(res, fake_tres, sizeof fake_tres), memcpy(tex, fake_ttex, sizeof fake_ttex);
}
