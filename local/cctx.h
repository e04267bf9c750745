// One CUDA context the local backend runs a server client's work in, and what lives in it.
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#define CCTX_SHARED_SLOTS 1024
struct cctx {
	void *ctx;        // the client's own context (cuCtxCreate), or a primary context
	void *stream;     // while a graph is recorded, cap: all work goes there; else 0 (stream.go picks the stream)
	void *cap;        // the capturing stream, made at the first graph recording
	void *blas;       // the cuBLAS handle made in this context, at the first GEMM
	void *ring[3][2]; // events timing graph launches (VGPU_STATS=1), made at the first one
	int ring_made;
	unsigned long long launched;
	pthread_mutex_t mu;
	struct { void *f; unsigned n; } shared[CCTX_SHARED_SLOTS]; // dynamic shared memory limits set per function
};
struct cctx *cc_new(void);
void cc_free(struct cctx *c);
int cu_bind(struct cctx *c);
int cu_ctx_create(struct cctx *c, int dev);
int cu_ctx_end(struct cctx *c, int destroy);
