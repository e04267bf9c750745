// Kernels with parameters of every shape a launch must carry (pointers, scalars of each
// width, a struct by value, dynamic shared memory past 48 KiB, a non-default stream). Built
// with `nvcc -cudart shared`, it runs unchanged on NVIDIA's runtime and on vgpu's; the
// outputs must agree byte for byte. It prints a checksum per kernel.
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <chrono>
#include <cuda_runtime.h>

struct Affine { float scale; double shift; int8_t sign; };

__global__ void axpb(float *out, const float *in, Affine a, int n) {
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n) out[i] = a.sign * (in[i] * a.scale + (float)a.shift);
}

__global__ void mix(uint64_t *out, char c, short s, long long ll, double d, unsigned u) {
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	out[i] = (uint64_t)c * 1000003u + (uint64_t)s * 7919u + (uint64_t)ll + (uint64_t)(d * 1e3) + u + i;
}

// Reverses a block's slice through dynamic shared memory.
__global__ void reverse(int *data, int per) {
	extern __shared__ int tile[];
	int base = blockIdx.x * per;
	for (int i = threadIdx.x; i < per; i += blockDim.x) tile[i] = data[base + i];
	__syncthreads();
	for (int i = threadIdx.x; i < per; i += blockDim.x) data[base + i] = tile[per - 1 - i];
}

__global__ void halve_add(float *p, float v, int n) {
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n) p[i] = p[i] * 0.5f + v;
}

static uint64_t fnv(const void *p, size_t n) {
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) h = (h ^ ((const unsigned char *)p)[i]) * 1099511628211ull;
	return h;
}

#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { printf("%s: %d %s\n", #x, e_, cudaGetErrorName(e_)); return 1; } } while (0)

int main() {
	const int n = 1 << 20;
	float *hin = new float[n], *hout = new float[n];
	for (int i = 0; i < n; i++) hin[i] = (float)(i % 977) * 0.25f;
	float *din, *dout;
	CK(cudaMalloc(&din, n * sizeof(float)));
	CK(cudaMalloc(&dout, n * sizeof(float)));
	CK(cudaMemcpy(din, hin, n * sizeof(float), cudaMemcpyHostToDevice));
	Affine a = {1.5f, -3.25, -1};
	axpb<<<(n + 255) / 256, 256>>>(dout, din, a, n);
	CK(cudaGetLastError());
	CK(cudaMemcpy(hout, dout, n * sizeof(float), cudaMemcpyDeviceToHost));
	int wrong = 0;
	for (int i = 0; i < n; i++) wrong += hout[i] != -(hin[i] * 1.5f - 3.25f);
	printf("axpb: %d wrong, checksum %016llx\n", wrong, (unsigned long long)fnv(hout, n * sizeof(float)));

	uint64_t *dmix, hmix[256];
	cudaStream_t s;
	CK(cudaStreamCreate(&s));
	CK(cudaMalloc(&dmix, sizeof hmix));
	mix<<<2, 128, 0, s>>>(dmix, 'x', -12345, 1ll << 40, 2.718281828, 0xdeadbeefu);
	CK(cudaStreamSynchronize(s));
	CK(cudaMemcpy(hmix, dmix, sizeof hmix, cudaMemcpyDeviceToHost));
	printf("mix: checksum %016llx first %llu\n", (unsigned long long)fnv(hmix, sizeof hmix), (unsigned long long)hmix[0]);

	const int per = 24 * 1024, blocks = 64; // 96 KiB of shared memory per block
	int *hdata = new int[per * blocks], *ddata;
	for (int i = 0; i < per * blocks; i++) hdata[i] = i * 2654435761u;
	CK(cudaMalloc(&ddata, per * blocks * sizeof(int)));
	CK(cudaMemcpy(ddata, hdata, per * blocks * sizeof(int), cudaMemcpyHostToDevice));
	CK(cudaFuncSetAttribute(reverse, cudaFuncAttributeMaxDynamicSharedMemorySize, per * sizeof(int)));
	reverse<<<blocks, 512, per * sizeof(int)>>>(ddata, per);
	CK(cudaGetLastError());
	int *back = new int[per * blocks];
	CK(cudaMemcpy(back, ddata, per * blocks * sizeof(int), cudaMemcpyDeviceToHost));
	wrong = 0;
	for (int b = 0; b < blocks; b++)
		for (int i = 0; i < per; i++) wrong += back[b * per + i] != hdata[b * per + per - 1 - i];
	printf("reverse (96 KiB shared): %d wrong, checksum %016llx\n", wrong, (unsigned long long)fnv(back, per * blocks * sizeof(int)));

	// 10000 back-to-back small launches, then one sync: the pipelined path.
	auto t0 = std::chrono::steady_clock::now();
	for (int i = 0; i < 10000; i++) mix<<<1, 32, 0, s>>>(dmix, 'a', (short)i, i, 0.5, i);
	auto t1 = std::chrono::steady_clock::now();
	CK(cudaStreamSynchronize(s));
	auto t2 = std::chrono::steady_clock::now();
	// Timings go to stderr: stdout must be identical across runs.
	fprintf(stderr, "10000 launches: %.2f us per launch issued, %.2f us per launch to completion\n",
		std::chrono::duration<double, std::micro>(t1 - t0).count() / 1e4,
		std::chrono::duration<double, std::micro>(t2 - t0).count() / 1e4);
	CK(cudaMemcpy(hmix, dmix, 32 * sizeof(uint64_t), cudaMemcpyDeviceToHost));
	printf("10000 launches: last checksum %016llx\n", (unsigned long long)fnv(hmix, 32 * sizeof(uint64_t)));
	// A captured graph: recorded once, replayed three times.
	cudaGraph_t g;
	cudaGraphExec_t x;
	CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
	halve_add<<<(n + 255) / 256, 256, 0, s>>>(dout, 1.0f, n);
	halve_add<<<(n + 255) / 256, 256, 0, s>>>(dout, 2.0f, n);
	CK(cudaStreamEndCapture(s, &g));
	CK(cudaGraphInstantiate(&x, g, 0));
	for (int i = 0; i < 3; i++) CK(cudaGraphLaunch(x, s));
	CK(cudaStreamSynchronize(s));
	CK(cudaMemcpy(hout, dout, n * sizeof(float), cudaMemcpyDeviceToHost));
	printf("graph (2 kernels, 3 replays): checksum %016llx\n", (unsigned long long)fnv(hout, n * sizeof(float)));
	// What the driver says of a kernel; programs size launches from it (ggml's flash attention).
	cudaFuncAttributes fa;
	CK(cudaFuncGetAttributes(&fa, reverse));
	printf("reverse attributes: %d regs, %d max threads, %zu static shared, %d max dynamic shared, ptx %d, binary %d\n",
		fa.numRegs, fa.maxThreadsPerBlock, fa.sharedSizeBytes, fa.maxDynamicSharedSizeBytes, fa.ptxVersion, fa.binaryVersion);
	int occ[4];
	CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&occ[0], mix, 128, 0));
	CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&occ[1], axpb, 1024, 0));
	CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&occ[2], reverse, 512, per * sizeof(int)));
	CK(cudaOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(&occ[3], halve_add, 256, 1024, cudaOccupancyDisableCachingOverride));
	printf("occupancy: mix/128 %d, axpb/1024 %d, reverse/512+96K %d, halve_add/256+1K %d\n", occ[0], occ[1], occ[2], occ[3]);
	// A device-to-device copy captured between two kernels runs at each replay, in order.
	float *dcopy;
	CK(cudaMalloc(&dcopy, n * sizeof(float)));
	CK(cudaMemsetAsync(dcopy, 0, n * sizeof(float), s));
	cudaGraph_t g2;
	cudaGraphExec_t x2;
	CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
	halve_add<<<(n + 255) / 256, 256, 0, s>>>(dout, 0.5f, n);
	CK(cudaMemcpyAsync(dcopy, dout, n * sizeof(float), cudaMemcpyDeviceToDevice, s));
	halve_add<<<(n + 255) / 256, 256, 0, s>>>(dcopy, 4.0f, n);
	CK(cudaStreamEndCapture(s, &g2));
	CK(cudaGraphInstantiate(&x2, g2, 0));
	for (int i = 0; i < 2; i++) CK(cudaGraphLaunch(x2, s));
	CK(cudaStreamSynchronize(s));
	CK(cudaMemcpy(hout, dcopy, n * sizeof(float), cudaMemcpyDeviceToHost));
	printf("graph with a D2D copy (2 replays): checksum %016llx first %g\n", (unsigned long long)fnv(hout, n * sizeof(float)), hout[1]);
	// Launch attributes travel with the launch: programmatic stream serialization (which ggml
	// uses) and a priority, through cudaLaunchKernelEx (cudaLaunchKernelExC underneath).
	{
		cudaLaunchAttribute at[2];
		at[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
		at[0].val.programmaticStreamSerializationAllowed = 1;
		at[1].id = cudaLaunchAttributePriority;
		at[1].val.priority = 0;
		cudaLaunchConfig_t cfg = {};
		cfg.gridDim = dim3((n + 255) / 256);
		cfg.blockDim = dim3(256);
		cfg.stream = s;
		cfg.attrs = at;
		cfg.numAttrs = 2;
		CK(cudaLaunchKernelEx(&cfg, halve_add, dout, 3.0f, n));
		CK(cudaLaunchKernelEx(&cfg, halve_add, dout, 1.0f, n));
		CK(cudaStreamSynchronize(s));
		CK(cudaMemcpy(hout, dout, n * sizeof(float), cudaMemcpyDeviceToHost));
		printf("launch attributes (PDL, priority): checksum %016llx first %g\n", (unsigned long long)fnv(hout, n * sizeof(float)), hout[1]);
	}
	printf("bad block: %s\n", cudaGetErrorName((mix<<<1, 4096>>>(dmix, 0, 0, 0, 0, 0), cudaGetLastError())));
	return 0;
}
