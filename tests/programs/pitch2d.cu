// nvcc-flags: -std=c++17
// Bring-up program: __device__ symbols reached by address and size, pitched memory and 2D
// copies, memset, kernel attributes and the occupancy calculator. Lines starting "k " depend
// on kernels really running.
#include <cstdio>

#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { \
	printf("FAIL line %d: %s: %s\n", __LINE__, #x, cudaGetErrorName(e_)); return 1; } } while (0)

__device__ int table[64];

__global__ void square(int *t) { t[threadIdx.x] *= t[threadIdx.x]; }

__global__ void rows(char *p, size_t pitch, int w) {
	char *row = p + blockIdx.x * pitch;
	for (int i = threadIdx.x; i < w; i += blockDim.x) row[i] += (char)blockIdx.x;
}

int main() {
	size_t size = 0;
	CK(cudaGetSymbolSize(&size, table));
	printf("symbol size %zu\n", size);
	int *addr = nullptr;
	CK(cudaGetSymbolAddress((void **)&addr, table));
	int h[64];
	for (int i = 0; i < 64; i++) h[i] = i;
	// The address is device memory like any other: a plain copy reaches the symbol.
	CK(cudaMemcpy(addr, h, sizeof h, cudaMemcpyHostToDevice));
	int back[64] = {0};
	CK(cudaMemcpyFromSymbol(back, table, 8 * sizeof(int), 56 * sizeof(int)));
	printf("symbol through its address: %d %d .. %d\n", back[0], back[1], back[7]);
	square<<<1, 64>>>(addr);
	CK(cudaGetLastError());
	CK(cudaDeviceSynchronize());
	CK(cudaMemcpyFromSymbol(back, table, sizeof back));
	printf("k squares %d %d %d\n", back[2], back[10], back[63]);

	// Pitched memory: rows are at least as wide as asked, and 2D copies skip the padding.
	const int w = 100, hgt = 8;
	char *p = nullptr;
	size_t pitch = 0;
	CK(cudaMallocPitch((void **)&p, &pitch, w, hgt));
	printf("pitch covers the width: %s\n", pitch >= (size_t)w ? "yes" : "no");
	CK(cudaMemset2D(p, pitch, 7, w, hgt));
	char host[hgt][w + 4];
	for (int r = 0; r < hgt; r++) for (int c = 0; c < w + 4; c++) host[r][c] = 'x';
	CK(cudaMemcpy2D(host, w + 4, p, pitch, w, hgt, cudaMemcpyDeviceToHost));
	int sevens = 0, kept = 0;
	for (int r = 0; r < hgt; r++) {
		for (int c = 0; c < w; c++) sevens += host[r][c] == 7;
		for (int c = w; c < w + 4; c++) kept += host[r][c] == 'x';
	}
	printf("memset2D: %d of %d bytes set, %d padding bytes of the host untouched\n", sevens, w * hgt, kept);
	rows<<<hgt, 32>>>(p, pitch, w);
	CK(cudaMemcpy2D(host, w + 4, p, pitch, w, hgt, cudaMemcpyDeviceToHost));
	printf("k row 5 starts with %d\n", host[5][0]);
	// A width past the source's pitch, over one row and over two.
	static char wide[2][4096];
	for (int rowsn = 1; rowsn <= 2; rowsn++) {
		printf("2D copy of %d row(s) wider than the pitch: %s\n", rowsn, cudaGetErrorName(cudaMemcpy2D(
			wide, sizeof wide[0], p, pitch, pitch + 1, rowsn, cudaMemcpyDeviceToHost)));
		cudaGetLastError();
	}
	CK(cudaMemset(p, 0, pitch * hgt));

	cudaFuncAttributes a;
	CK(cudaFuncGetAttributes(&a, square));
	printf("square: maxThreadsPerBlock %d, static shared %zu, local %zu\n", a.maxThreadsPerBlock,
	       a.sharedSizeBytes, a.localSizeBytes);
	int blocks = 0;
	CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, square, 256, 0));
	printf("occupancy of square at 256 threads: %d blocks per SM\n", blocks);

	size_t freeb = 0, total = 0;
	CK(cudaMemGetInfo(&freeb, &total));
	printf("free memory within total: %s\n", freeb > 0 && freeb <= total ? "yes" : "no");
	CK(cudaFree(p));
	printf("done\n");
	return 0;
}
