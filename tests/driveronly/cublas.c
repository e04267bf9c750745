/* NVIDIA's cuBLAS 12 (Debian trixie's libcublas12) on NVIDIA's CUDA 12.4 runtime over vgpu's
 * libcuda.so.1 alone: device memory first (what ggml's discovery and buffers need), then a
 * cuBLAS handle and one SGEMM through it (cuBLAS picks and launches its own kernel from the
 * modules it loaded; under VGPU_SIM_LAUNCH=noop the sim accepts the launch without running
 * it, so only the statuses mean anything). Prints one status line per step; the caller
 * decides which must succeed.
 * Prototypes declared here (no NVIDIA header). */
#include <stdio.h>
#include <stdlib.h>

typedef void *cublasHandle_t;
int cublasCreate_v2(cublasHandle_t *);
int cublasDestroy_v2(cublasHandle_t);
int cublasGetVersion_v2(cublasHandle_t, int *);
int cublasSgemm_v2(cublasHandle_t, int, int, int, int, int, const float *, const float *, int,
	const float *, int, const float *, float *, int);
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
		float *a = NULL, *b = NULL, *c = NULL, alpha = 1, beta = 0;
		int ra = cudaMalloc((void **)&a, N * N * sizeof(float)), rb = cudaMalloc((void **)&b, N * N * sizeof(float)),
			rc = cudaMalloc((void **)&c, N * N * sizeof(float));
		if (ra == 0 && rb == 0 && rc == 0) {
			/* C = A * B, column-major, no transposes (CUBLAS_OP_N is 0). */
			printf("cublasSgemm %d\n", cublasSgemm_v2(h, 0, 0, N, N, N, &alpha, a, N, b, N, &beta, c, N));
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
