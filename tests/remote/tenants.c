/* Two tenants of one `vgpu serve`, through the public CUDA, cuBLAS and NVML APIs: it links
 * nothing and finds the libraries by name.
 *   tenants owner FILE      tenant A: allocates, writes a secret, creates a stream, an event and
 *                           a cuBLAS handle, publishes their values in FILE, waits for FILE.done,
 *                           then checks that its data is intact and its handles still work
 *   tenants intruder FILE   tenant B: reads A's values from FILE and calls the APIs with them;
 *                           every call must answer exactly as it answers for a wild value
 *                           (a pointer and handles of B's own, freed or destroyed before), and
 *                           NVML must show B its own process only. Writes FILE.done at the end.
 * Exit status 0 when every rule held. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIZE (1u << 20)

static void *lib(const char *name) {
	void *h = dlopen(name, RTLD_NOW);
	if (!h) { fprintf(stderr, "dlopen %s: %s\n", name, dlerror()); exit(2); }
	return h;
}
static void *sym(void *h, const char *name) {
	void *f = dlsym(h, name);
	if (!f) { fprintf(stderr, "dlsym %s: %s\n", name, dlerror()); exit(2); }
	return f;
}

static int (*cudaMalloc_)(void **, size_t);
static int (*cudaFree_)(void *);
static int (*cudaMemcpy_)(void *, const void *, size_t, int);
static int (*cudaMemset_)(void *, int, size_t);
static int (*cudaDeviceSynchronize_)(void);
static int (*cudaStreamCreate_)(void **);
static int (*cudaStreamDestroy_)(void *);
static int (*cudaStreamSynchronize_)(void *);
static int (*cudaStreamWaitEvent_)(void *, void *, unsigned);
static int (*cudaEventCreate_)(void **);
static int (*cudaEventDestroy_)(void *);
static int (*cudaEventRecord_)(void *, void *);
static int (*cudaEventSynchronize_)(void *);
static int (*cudaPointerGetAttributes_)(void *, const void *);
static int (*cuInit_)(unsigned);
static int (*cuMemGetAddressRange_)(unsigned long long *, size_t *, unsigned long long);
static int (*cuStreamDestroy_)(void *);
static int (*cublasCreate_)(void **);
static int (*cublasDestroy_)(void *);
static int (*cublasSetStream_)(void *, void *);
static int (*nvmlInit_)(void);
static int (*nvmlDeviceGetHandleByIndex_)(unsigned, void **);
static int (*nvmlDeviceGetComputeRunningProcesses_)(void *, unsigned *, void *);

static void load(void) {
	void *rt = lib("libcudart.so.13"), *cu = lib("libcuda.so.1"), *blas = lib("libcublas.so.13"), *ml = lib("libnvidia-ml.so.1");
	cudaMalloc_ = sym(rt, "cudaMalloc");
	cudaFree_ = sym(rt, "cudaFree");
	cudaMemcpy_ = sym(rt, "cudaMemcpy");
	cudaMemset_ = sym(rt, "cudaMemset");
	cudaDeviceSynchronize_ = sym(rt, "cudaDeviceSynchronize");
	cudaStreamCreate_ = sym(rt, "cudaStreamCreate");
	cudaStreamDestroy_ = sym(rt, "cudaStreamDestroy");
	cudaStreamSynchronize_ = sym(rt, "cudaStreamSynchronize");
	cudaStreamWaitEvent_ = sym(rt, "cudaStreamWaitEvent");
	cudaEventCreate_ = sym(rt, "cudaEventCreate");
	cudaEventDestroy_ = sym(rt, "cudaEventDestroy");
	cudaEventRecord_ = sym(rt, "cudaEventRecord");
	cudaEventSynchronize_ = sym(rt, "cudaEventSynchronize");
	cudaPointerGetAttributes_ = sym(rt, "cudaPointerGetAttributes");
	cuInit_ = sym(cu, "cuInit");
	cuMemGetAddressRange_ = sym(cu, "cuMemGetAddressRange_v2");
	cuStreamDestroy_ = sym(cu, "cuStreamDestroy_v2");
	cublasCreate_ = sym(blas, "cublasCreate_v2");
	cublasDestroy_ = sym(blas, "cublasDestroy_v2");
	cublasSetStream_ = sym(blas, "cublasSetStream_v2");
	nvmlInit_ = sym(ml, "nvmlInit_v2");
	nvmlDeviceGetHandleByIndex_ = sym(ml, "nvmlDeviceGetHandleByIndex_v2");
	nvmlDeviceGetComputeRunningProcesses_ = sym(ml, "nvmlDeviceGetComputeRunningProcesses_v3");
}

static unsigned char secret(size_t i) { return (unsigned char)(i * 2654435761u >> 11) | 1; }

/* The values one tenant shows another: a device pointer and three handles. */
struct values { void *ptr, *stream, *event, *blas; };

static int failures;
static void check(int ok, const char *what) {
	if (!ok) { printf("FAIL: %s\n", what); failures++; }
}

static int owner(const char *file) {
	struct values v;
	int r;
	unsigned char *h = malloc(SIZE), *back = malloc(SIZE);
	for (size_t i = 0; i < SIZE; i++) h[i] = secret(i);
	if ((r = cudaMalloc_(&v.ptr, SIZE)) || (r = cudaMemcpy_(v.ptr, h, SIZE, 1)) || (r = cudaStreamCreate_(&v.stream)) ||
	    (r = cudaEventCreate_(&v.event)) || (r = cublasCreate_(&v.blas))) {
		printf("owner: setup failed: %d\n", r);
		return 1;
	}
	char tmp[4096], done[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", file);
	snprintf(done, sizeof done, "%s.done", file);
	FILE *f = fopen(tmp, "w");
	fprintf(f, "%p %p %p %p\n", v.ptr, v.stream, v.event, v.blas);
	fclose(f);
	rename(tmp, file); /* the intruder sees the whole line or nothing */
	for (int i = 0; access(done, F_OK) != 0; i++) {
		if (i > 600) { printf("owner: no intruder within 60 s\n"); return 1; }
		usleep(100000);
	}
	check(cudaMemcpy_(back, v.ptr, SIZE, 2) == 0 && memcmp(h, back, SIZE) == 0, "owner: data intact after the intruder");
	check(cudaStreamSynchronize_(v.stream) == 0, "owner: stream works");
	check(cudaEventRecord_(v.event, v.stream) == 0 && cudaEventSynchronize_(v.event) == 0, "owner: event works");
	check(cublasSetStream_(v.blas, v.stream) == 0, "owner: cuBLAS handle works");
	check(cublasDestroy_(v.blas) == 0 && cudaEventDestroy_(v.event) == 0 && cudaStreamDestroy_(v.stream) == 0,
	      "owner: destroys its own handles");
	check(cudaFree_(v.ptr) == 0, "owner: frees its own memory");
	if (!failures) printf("owner: data intact; stream, event and cuBLAS handle still work\n");
	return failures != 0;
}

/* One API call on a value of A's and on a wild value: both must answer alike, and fail. A
 * posted (asynchronous) call's error comes with the next synchronising call, so each call is
 * followed by cudaDeviceSynchronize and the pair is compared. */
typedef int (*probe)(void *value, void *arg);
static int calls;
static void same(const char *name, probe p, void *foreign, void *wild, void *arg, int may_succeed) {
	int rf = p(foreign, arg), sf = cudaDeviceSynchronize_();
	int rw = p(wild, arg), sw = cudaDeviceSynchronize_();
	calls++;
	printf("  %-40s %3d/%d   wild %3d/%d\n", name, rf, sf, rw, sw);
	if (rf != rw || sf != sw) { printf("FAIL: %s answers another tenant's value differently from a wild one\n", name); failures++; }
	if (!may_succeed && rf == 0 && sf == 0) { printf("FAIL: %s succeeded on another tenant's value\n", name); failures++; }
}

static unsigned char *buf; /* B's host buffer: none of A's bytes may land in it */
static void *mine;         /* B's own device memory */
static int p_d2h(void *p, void *a) { (void)a; return cudaMemcpy_(buf, p, SIZE, 2); }
static int p_h2d(void *p, void *a) { (void)a; return cudaMemcpy_(p, buf, SIZE, 1); }
static int p_d2d_from(void *p, void *a) { (void)a; return cudaMemcpy_(mine, p, SIZE, 3); }
static int p_d2d_onto(void *p, void *a) { (void)a; return cudaMemcpy_(p, mine, SIZE, 3); }
static int p_memset(void *p, void *a) { (void)a; return cudaMemset_(p, 0, SIZE); }
static int p_free(void *p, void *a) { return cudaFree_((char *)p + (size_t)a); }
static int p_range(void *p, void *a) {
	unsigned long long base = 0;
	size_t size = 0;
	int r = cuMemGetAddressRange_(&base, &size, (unsigned long long)(size_t)p + (size_t)a);
	return r ? r : (base || size) ? -1 : 0; /* -1: it told B where an allocation lies */
}
static int p_attrs(void *p, void *a) {
	(void)a;
	unsigned attr[8] = {0};
	int r = cudaPointerGetAttributes_(attr, p);
	return r ? r : 1000 + (int)attr[0]; /* the memory type is the answer too */
}
static int p_stream_sync(void *s, void *a) { (void)a; return cudaStreamSynchronize_(s); }
static int p_stream_wait(void *e, void *a) { (void)a; return cudaStreamWaitEvent_(0, e, 0); }
static int p_stream_destroy(void *s, void *a) { (void)a; return cudaStreamDestroy_(s); }
static int p_custream_destroy(void *s, void *a) { (void)a; return cuStreamDestroy_(s); }
static int p_event_record(void *e, void *a) { (void)a; return cudaEventRecord_(e, 0); }
static int p_event_sync(void *e, void *a) { (void)a; return cudaEventSynchronize_(e); }
static int p_event_destroy(void *e, void *a) { (void)a; return cudaEventDestroy_(e); }
static int p_blas_stream(void *h, void *a) { (void)a; return cublasSetStream_(h, 0); }
static int p_blas_destroy(void *h, void *a) { (void)a; return cublasDestroy_(h); }

static int intruder(const char *file) {
	struct values a, w;
	FILE *f = NULL;
	for (int i = 0; !(f = fopen(file, "r")); i++) {
		if (i > 600) { printf("intruder: no owner within 60 s\n"); return 1; }
		usleep(100000);
	}
	if (fscanf(f, "%p %p %p %p", &a.ptr, &a.stream, &a.event, &a.blas) != 4) { printf("intruder: bad %s\n", file); return 1; }
	fclose(f);
	/* Wild values: B's own, gone before they are used (its own memory first: the model may
	 * hand a freed range out again). */
	buf = malloc(SIZE);
	memset(buf, 0xee, SIZE);
	int r;
	if ((r = cuInit_(0)) || (r = cudaMalloc_(&mine, SIZE)) || (r = cudaMalloc_(&w.ptr, SIZE)) || (r = cudaFree_(w.ptr)) ||
	    (r = cudaStreamCreate_(&w.stream)) || (r = cudaStreamDestroy_(w.stream)) || (r = cudaEventCreate_(&w.event)) ||
	    (r = cudaEventDestroy_(w.event)) || (r = cublasCreate_(&w.blas)) || (r = cublasDestroy_(w.blas))) {
		printf("intruder: setup failed: %d\n", r);
		return 1;
	}
	printf("tenant B calls with tenant A's values (result/next sync), beside a wild value's:\n");
	same("cudaMemcpy device->host (read)", p_d2h, a.ptr, w.ptr, 0, 0);
	same("cudaMemcpy host->device (write)", p_h2d, a.ptr, w.ptr, 0, 0);
	same("cudaMemcpy device->device from A", p_d2d_from, a.ptr, w.ptr, 0, 0);
	same("cudaMemcpy device->device onto A", p_d2d_onto, a.ptr, w.ptr, 0, 0);
	same("cudaMemset", p_memset, a.ptr, w.ptr, 0, 0);
	for (size_t off = 0; off < SIZE; off += SIZE / 4) { /* probing the whole allocation finds nothing */
		char name[64];
		snprintf(name, sizeof name, "cuMemGetAddressRange at +%zu", off);
		same(name, p_range, a.ptr, w.ptr, (void *)off, 0);
	}
	same("cudaPointerGetAttributes (result, type)", p_attrs, a.ptr, w.ptr, 0, 1);
	same("cudaStreamSynchronize", p_stream_sync, a.stream, w.stream, 0, 0);
	same("cudaStreamWaitEvent", p_stream_wait, a.event, w.event, 0, 0);
	same("cudaEventRecord", p_event_record, a.event, w.event, 0, 0);
	same("cudaEventSynchronize", p_event_sync, a.event, w.event, 0, 0);
	same("cublasSetStream_v2", p_blas_stream, a.blas, w.blas, 0, 0);
	/* Destructive calls last: were one to succeed, the owner's check would show it too. */
	same("cudaFree inside", p_free, a.ptr, w.ptr, (void *)16, 0);
	same("cudaFree", p_free, a.ptr, w.ptr, 0, 0);
	same("cudaStreamDestroy", p_stream_destroy, a.stream, w.stream, 0, 0);
	same("cuStreamDestroy_v2", p_custream_destroy, a.stream, w.stream, 0, 0);
	same("cudaEventDestroy", p_event_destroy, a.event, w.event, 0, 0);
	same("cublasDestroy_v2", p_blas_destroy, a.blas, w.blas, 0, 0);
	for (size_t i = 0; i < SIZE; i++)
		if (buf[i] != 0xee) { printf("FAIL: A's bytes reached B's buffer at %zu\n", i); failures++; break; }
	/* NVML: B sees one process, itself, holding exactly its own memory. */
	void *dev;
	unsigned count = 8;
	struct { unsigned pid; unsigned long long used; unsigned gi, ci; } procs[8];
	memset(procs, 0, sizeof procs);
	check(nvmlInit_() == 0 && nvmlDeviceGetHandleByIndex_(0, &dev) == 0 &&
	      nvmlDeviceGetComputeRunningProcesses_(dev, &count, procs) == 0, "intruder: NVML process list");
	printf("  NVML processes B sees: %u", count);
	for (unsigned i = 0; i < count && i < 8; i++) printf(" (pid %u, %llu bytes)", procs[i].pid, procs[i].used);
	printf("; B is pid %d and holds %u bytes\n", (int)getpid(), SIZE);
	check(count == 1 && procs[0].pid == (unsigned)getpid() && procs[0].used == SIZE, "intruder: NVML shows B only itself");
	cudaFree_(mine);
	char done[4096];
	snprintf(done, sizeof done, "%s.done", file);
	fclose(fopen(done, "w"));
	if (!failures) printf("intruder: %d calls on tenant A's values, each answered as for a wild value\n", calls);
	return failures != 0;
}

int main(int argc, char **argv) {
	if (argc != 3) { fprintf(stderr, "usage: tenants owner|intruder FILE\n"); return 2; }
	load();
	if (!strcmp(argv[1], "owner")) return owner(argv[2]);
	if (!strcmp(argv[1], "intruder")) return intruder(argv[2]);
	fprintf(stderr, "usage: tenants owner|intruder FILE\n");
	return 2;
}
