// What one ggml prompt batch asks of the CUDA runtime, N times over, so that the calls (and
// round trips) one step costs can be counted by a remote client's and server's statistics:
// run it with N=0 and N=K and divide the difference by K.
//   launch N  N iterations of: cudaGetDevice, cudaSetDevice, a kernel launch (cudaLaunchKernel
//             through <<<>>>) on a stream, cudaGetLastError
//   step N    N iterations of a decode/prompt step as ggml does it: an upload
//             (cudaMemcpyAsync), 8 launches with the checks above, a cublasGemmEx on the same
//             stream, cudaEventRecord, a download and cudaStreamSynchronize
//   gemm N    N cublasGemmEx calls on a stream
// Prototypes of cuBLAS declared here (no NVIDIA cuBLAS header). usage: drvlaunch MODE N
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cuda_runtime.h>

typedef void *cublasHandle_t;
extern "C" {
int cublasCreate_v2(cublasHandle_t *);
int cublasDestroy_v2(cublasHandle_t);
int cublasSetStream_v2(cublasHandle_t, cudaStream_t);
int cublasGemmEx(cublasHandle_t, int, int, int, int, int, const void *, const void *, int, int,
	const void *, int, int, const void *, void *, int, int, int, int);
}

__global__ void scale(float *p, float s, int n) {
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n) p[i] *= s;
}

#define CHECK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { printf("FAIL %s: %d\n", #x, (int)e_); return 1; } } while (0)

int main(int argc, char **argv) {
	if (argc != 3) { fprintf(stderr, "usage: %s launch|step|gemm N\n", argv[0]); return 2; }
	const char *mode = argv[1];
	int n = atoi(argv[2]);
	enum { M = 64, E = M * M };
	float *d = nullptr, *a = nullptr, *b = nullptr, *c = nullptr;
	static float host[E];
	cudaStream_t s;
	cudaEvent_t ev;
	CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
	CHECK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
	CHECK(cudaMalloc(&d, E * sizeof(float)));
	CHECK(cudaMalloc(&a, E * sizeof(float)));
	CHECK(cudaMalloc(&b, E * sizeof(float)));
	CHECK(cudaMalloc(&c, E * sizeof(float)));
	cublasHandle_t h = nullptr;
	if (cublasCreate_v2(&h) != 0) { printf("FAIL cublasCreate\n"); return 1; }
	if (cublasSetStream_v2(h, s) != 0) { printf("FAIL cublasSetStream\n"); return 1; }
	float alpha = 1, beta = 0;
	// Warm-up: one of each, so first-use costs (module loads, function lookups, cuBLAS's
	// kernel choice) fall outside the counted iterations.
	scale<<<E / 256, 256, 0, s>>>(d, 1.0f, E);
	// CUDA_R_16F 2, CUDA_R_32F 0, CUBLAS_COMPUTE_32F 68, CUBLAS_GEMM_DEFAULT -1: as ggml calls it.
	if (cublasGemmEx(h, 0, 0, M, M, M, &alpha, a, 2, M, b, 2, M, &beta, c, 0, M, 68, -1) != 0) { printf("FAIL warm-up gemm\n"); return 1; }
	CHECK(cudaStreamSynchronize(s));
	printf("begin %s %d\n", mode, n);
	fflush(stdout);
	for (int i = 0; i < n; i++) {
		if (!strcmp(mode, "launch")) {
			int dev = -1;
			CHECK(cudaGetDevice(&dev));
			CHECK(cudaSetDevice(dev));
			scale<<<E / 256, 256, 0, s>>>(d, 1.0f, E);
			CHECK(cudaGetLastError());
		} else if (!strcmp(mode, "gemm")) {
			int r = cublasGemmEx(h, 0, 0, M, M, M, &alpha, a, 2, M, b, 2, M, &beta, c, 0, M, 68, -1);
			if (r != 0) { printf("FAIL cublasGemmEx %d\n", r); return 1; }
		} else if (!strcmp(mode, "step")) {
			CHECK(cudaMemcpyAsync(d, host, sizeof host, cudaMemcpyHostToDevice, s));
			for (int k = 0; k < 8; k++) {
				int dev = -1;
				CHECK(cudaGetDevice(&dev));
				CHECK(cudaSetDevice(dev));
				scale<<<E / 256, 256, 0, s>>>(d, 1.0f, E);
				CHECK(cudaGetLastError());
			}
			int r = cublasGemmEx(h, 0, 0, M, M, M, &alpha, a, 2, M, b, 2, M, &beta, c, 0, M, 68, -1);
			if (r != 0) { printf("FAIL cublasGemmEx %d\n", r); return 1; }
			CHECK(cudaEventRecord(ev, s));
			CHECK(cudaMemcpyAsync(host, d, sizeof host, cudaMemcpyDeviceToHost, s));
			CHECK(cudaStreamSynchronize(s));
		} else {
			fprintf(stderr, "unknown mode %s\n", mode);
			return 2;
		}
	}
	CHECK(cudaStreamSynchronize(s));
	CHECK(cudaGetLastError());
	printf("end %s %d\n", mode, n);
	cublasDestroy_v2(h);
	cudaFree(d); cudaFree(a); cudaFree(b); cudaFree(c);
	cudaEventDestroy(ev);
	cudaStreamDestroy(s);
	return 0;
}
