/* NVIDIA's cuBLAS 12 (Debian trixie's libcublas12) on NVIDIA's CUDA 12.4 runtime over vgpu's
 * libcuda.so.1 alone: device memory first (what ggml's discovery and buffers need), then a
 * cuBLAS handle and one SGEMM through it (cuBLAS picks and launches its own kernel from the
 * modules it loaded; under VGPU_SIM_LAUNCH=noop the sim accepts the launch without running
 * it, so only the statuses mean anything), then the same GEMM in double and half precision
 * and through cublasGemmEx (half inputs, float output and compute, as ggml calls it).
 * Prints one status line per step; the caller decides which must succeed.
 * Prototypes declared here (no NVIDIA header). */
#include <stdio.h>
#include <stdlib.h>

typedef void *cublasHandle_t;
int cublasCreate_v2(cublasHandle_t *);
int cublasDestroy_v2(cublasHandle_t);
int cublasGetVersion_v2(cublasHandle_t, int *);
int cublasSgemm_v2(cublasHandle_t, int, int, int, int, int, const float *, const float *, int,
	const float *, int, const float *, float *, int);
int cublasDgemm_v2(cublasHandle_t, int, int, int, int, int, const double *, const double *, int,
	const double *, int, const double *, double *, int);
int cublasHgemm(cublasHandle_t, int, int, int, int, int, const unsigned short *, const unsigned short *, int,
	const unsigned short *, int, const unsigned short *, unsigned short *, int);
int cublasGemmEx(cublasHandle_t, int, int, int, int, int, const void *, const void *, int, int,
	const void *, int, int, const void *, void *, int, int, int, int);
int cudaDeviceSynchronize(void);
int cudaGetLastError(void);
int cudaMalloc(void **, size_t);
int cudaFree(void *);
int cudaMemset(void *, int, size_t);
int cudaMemcpy(void *, const void *, size_t, int);

int main(void) {
	void *d = NULL;
	unsigned char host[4096];
	int r = cudaMalloc(&d, sizeof host);
	printf("cudaMalloc %d\n", r);
	if (r) return 1;
	printf("cudaMemset %d\n", cudaMemset(d, 0x5a, sizeof host));
	r = cudaMemcpy(host, d, sizeof host, 2 /* device to host */);
	int same = 1;
	for (size_t i = 0; i < sizeof host; i++) same &= host[i] == 0x5a;
	printf("cudaMemcpy %d %s\n", r, same ? "bytes-match" : "bytes-differ");
	printf("cudaFree %d\n", cudaFree(d));
	cublasHandle_t h = NULL;
	r = cublasCreate_v2(&h);
	printf("cublasCreate %d\n", r);
	if (r == 0) {
		int v = 0;
		cublasGetVersion_v2(h, &v);
		printf("cublasVersion %d\n", v);
		enum { N = 64 };
		/* Room for the widest type (double); each GEMM reads its own type from it. */
		float *a = NULL, *b = NULL, *c = NULL, alpha = 1, beta = 0;
		double dalpha = 1, dbeta = 0;
		unsigned short halpha = 0x3c00, hbeta = 0; /* 1.0 and 0.0 in IEEE half */
		int ra = cudaMalloc((void **)&a, N * N * sizeof(double)), rb = cudaMalloc((void **)&b, N * N * sizeof(double)),
			rc = cudaMalloc((void **)&c, N * N * sizeof(double));
		if (ra == 0 && rb == 0 && rc == 0) {
			/* C = A * B, column-major, no transposes (CUBLAS_OP_N is 0). */
			printf("cublasSgemm %d\n", cublasSgemm_v2(h, 0, 0, N, N, N, &alpha, a, N, b, N, &beta, c, N));
			printf("cudaDeviceSynchronize %d\n", cudaDeviceSynchronize());
			printf("cudaGetLastError %d\n", cudaGetLastError());
			printf("cublasDgemm %d\n", cublasDgemm_v2(h, 0, 0, N, N, N, &dalpha, (double *)a, N, (double *)b, N, &dbeta, (double *)c, N));
			printf("cublasHgemm %d\n", cublasHgemm(h, 0, 0, N, N, N, &halpha, (unsigned short *)a, N, (unsigned short *)b, N, &hbeta, (unsigned short *)c, N));
			/* CUDA_R_16F is 2, CUDA_R_32F 0, CUBLAS_COMPUTE_32F 68, CUBLAS_GEMM_DEFAULT -1. */
			printf("cublasGemmEx %d\n", cublasGemmEx(h, 0, 0, N, N, N, &alpha, a, 2, N, b, 2, N, &beta, c, 0, N, 68, -1));
			printf("cudaDeviceSynchronize %d\n", cudaDeviceSynchronize());
			printf("cudaGetLastError %d\n", cudaGetLastError());
		} else {
			printf("cudaMalloc for the GEMM %d %d %d\n", ra, rb, rc);
		}
		cudaFree(a); cudaFree(b); cudaFree(c);
		printf("cublasDestroy %d\n", cublasDestroy_v2(h));
	}
	return 0;
}
