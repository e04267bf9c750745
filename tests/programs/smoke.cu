// nvcc-flags:
// Bring-up program: a kernel reading a __constant__ table and bumping a __device__ counter,
// launched on a stream between two events, with its copies in stream order. Lines starting
// "k " depend on the kernel really running (the sim's no-op launches leave them different).
#include <cstdio>

#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { \
	printf("FAIL line %d: %s: %s\n", __LINE__, #x, cudaGetErrorName(e_)); return 1; } } while (0)

__constant__ float scale[4];
__device__ int counter;

__global__ void axpy(const float *x, float *y, int n) {
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n) {
		y[i] = scale[i % 4] * x[i] + y[i];
		atomicAdd(&counter, 1);
	}
}

int main() {
	const int n = 1000;
	float hs[4] = {1, 2, 3, 4}, back[4] = {0};
	CK(cudaMemcpyToSymbol(scale, hs, sizeof hs));
	CK(cudaMemcpyFromSymbol(back, scale, sizeof back));
	printf("constant %g %g %g %g\n", back[0], back[1], back[2], back[3]);
	// Past the end of the symbol: NVIDIA documents cudaErrorInvalidValue.
	printf("copy past the symbol: %s\n", cudaGetErrorName(cudaMemcpyToSymbol(scale, hs, sizeof hs, 4)));
	// The failed call is also the runtime's last error, until read once.
	printf("last error: %s\n", cudaGetErrorName(cudaGetLastError()));
	printf("last error, read again: %s\n", cudaGetErrorName(cudaGetLastError()));
	int zero = 0;
	CK(cudaMemcpyToSymbol(counter, &zero, sizeof zero));

	float *hx, *hy, *hr, *dx, *dy;
	CK(cudaMallocHost(&hx, n * sizeof(float)));
	CK(cudaMallocHost(&hy, n * sizeof(float)));
	CK(cudaMallocHost(&hr, n * sizeof(float)));
	for (int i = 0; i < n; i++) { hx[i] = i; hy[i] = 1; }
	CK(cudaMalloc(&dx, n * sizeof(float)));
	CK(cudaMalloc(&dy, n * sizeof(float)));

	cudaStream_t s;
	cudaEvent_t start, stop;
	CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
	CK(cudaEventCreate(&start));
	CK(cudaEventCreate(&stop));
	CK(cudaMemcpyAsync(dx, hx, n * sizeof(float), cudaMemcpyHostToDevice, s));
	CK(cudaMemcpyAsync(dy, hy, n * sizeof(float), cudaMemcpyHostToDevice, s));
	CK(cudaEventRecord(start, s));
	axpy<<<(n + 255) / 256, 256, 0, s>>>(dx, dy, n);
	CK(cudaGetLastError());
	CK(cudaEventRecord(stop, s));
	// The result lands in its own pinned buffer: hy may still be read by the upload's DMA
	// until the stream has run it, so writing to hy here would race with it.
	for (int i = 0; i < n; i++) hr[i] = -1;
	CK(cudaMemcpyAsync(hr, dy, n * sizeof(float), cudaMemcpyDeviceToHost, s));
	CK(cudaStreamSynchronize(s));
	printf("stream query after sync: %s\n", cudaGetErrorName(cudaStreamQuery(s)));
	printf("event query after sync: %s\n", cudaGetErrorName(cudaEventQuery(stop)));
	float ms = -1;
	CK(cudaEventElapsedTime(&ms, start, stop));
	printf("elapsed time %s\n", ms >= 0 ? "measured" : "negative");
	// An event without timing cannot be measured.
	cudaEvent_t notime;
	CK(cudaEventCreateWithFlags(&notime, cudaEventDisableTiming));
	CK(cudaEventRecord(notime, s));
	CK(cudaEventSynchronize(notime));
	printf("elapsed time of a timing-disabled event: %s\n", cudaGetErrorName(cudaEventElapsedTime(&ms, start, notime)));

	double sum = 0;
	int untouched = 0;
	for (int i = 0; i < n; i++) { sum += hr[i]; untouched += hr[i] == 1; }
	printf("copied back %s\n", hr[0] == -1 ? "nothing" : "the buffer");
	int count = -1;
	CK(cudaMemcpyFromSymbol(&count, counter, sizeof count));
	printf("k sum %.1f, %d elements untouched, counter %d\n", sum, untouched, count);

	CK(cudaEventDestroy(notime));
	CK(cudaEventDestroy(start));
	CK(cudaEventDestroy(stop));
	CK(cudaStreamDestroy(s));
	CK(cudaFree(dx));
	CK(cudaFree(dy));
	CK(cudaFreeHost(hx));
	CK(cudaFreeHost(hy));
	CK(cudaFreeHost(hr));
	printf("done\n");
	return 0;
}
