/* NVIDIA's cuBLAS 12 (Debian trixie's libcublas12) on NVIDIA's CUDA 12.4 runtime over vgpu's
 * libcuda.so.1 alone: device memory first (what ggml's discovery and buffers need), then a
 * cuBLAS handle. Prints one status line per step; the caller decides which must succeed.
 * Prototypes declared here (no NVIDIA header). */
#include <stdio.h>
#include <stdlib.h>

typedef void *cublasHandle_t;
int cublasCreate_v2(cublasHandle_t *);
int cublasDestroy_v2(cublasHandle_t);
int cublasGetVersion_v2(cublasHandle_t, int *);
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
		printf("cublasDestroy %d\n", cublasDestroy_v2(h));
	}
	return 0;
}
