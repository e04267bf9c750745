/* NVIDIA's cuBLAS 11 (Debian's libcublas11) on NVIDIA's CUDA 11.8 runtime over vgpu's
 * libcuda.so.1: a handle is created (cuBLAS loads its fat binaries and allocates its
 * workspace), set on a stream, and destroyed. The sim cannot run NVIDIA's kernels, so a GEMM
 * must fail cleanly with an error, not crash; with the argument "noop" (the caller sets
 * VGPU_SIM_LAUNCH=noop: launches accepted, not run) it must succeed, its stream too.
 * Prototypes declared here (no NVIDIA header). */
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

typedef void *cublasHandle_t;
int cublasCreate_v2(cublasHandle_t *);
int cublasDestroy_v2(cublasHandle_t);
int cublasGetVersion_v2(cublasHandle_t, int *);
int cublasSetStream_v2(cublasHandle_t, void *);
int cublasSgemm_v2(cublasHandle_t, int, int, int, int, int, const float *, const float *, int,
		   const float *, int, const float *, float *, int);
int cudaMalloc(void **, size_t);
int cudaFree(void *);
int cudaStreamCreate(void **);
int cudaStreamSynchronize(void *);
int cudaStreamDestroy(void *);
int cudaGetLastError(void);

static int failures;
#define EQ(got, want, what) do { int g_ = (got), w_ = (want); \
	printf("%s %s: %d, want %d\n", g_ == w_ ? "ok  " : "FAIL", what, g_, w_); failures += g_ != w_; } while (0)

int main(int argc, char **argv) {
	int noop = argc > 1 && strcmp(argv[1], "noop") == 0;
	cublasHandle_t h = NULL;
	void *s = NULL, *a = NULL;
	int v = 0;
	EQ(cublasCreate_v2(&h), 0, "cublasCreate");
	EQ(cublasGetVersion_v2(h, &v), 0, "cublasGetVersion");
	EQ(v / 10000, 11, "cuBLAS 11");
	EQ(cudaStreamCreate(&s), 0, "cudaStreamCreate");
	EQ(cublasSetStream_v2(h, s), 0, "cublasSetStream");
	EQ(cudaMalloc(&a, 64 * 64 * 3 * sizeof(float)), 0, "cudaMalloc");
	float one = 1, zero = 0, *A = a, *B = A + 64 * 64, *C = B + 64 * 64;
	int r = cublasSgemm_v2(h, 0, 0, 64, 64, 64, &one, A, 64, B, 64, &zero, C, 64);
	if (noop) {
		EQ(r, 0, "cublasSgemm with no-op kernels");
		EQ(cudaStreamSynchronize(s), 0, "cudaStreamSynchronize after it");
		EQ(cudaGetLastError(), 0, "cudaGetLastError");
	} else {
		if (r == 0) r = cudaStreamSynchronize(s) ? 13 : 0;
		printf("%s cublasSgemm fails cleanly on the sim: status %d\n", r != 0 ? "ok  " : "FAIL", r);
		failures += r == 0;
		cudaGetLastError();
	}
	EQ(cudaFree(a), 0, "cudaFree");
	EQ(cudaStreamDestroy(s), 0, "cudaStreamDestroy");
	EQ(cublasDestroy_v2(h), 0, "cublasDestroy");
	printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
