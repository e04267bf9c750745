// Occupancy helpers and cooperative launches: cudaFuncGetAttributes, cudaOccupancy* (printed
// only as relations that hold on every GPU), cudaFuncSetAttribute, and a kernel launched with
// cudaLaunchCooperativeKernel that synchronises its whole grid (cooperative_groups) between
// phases; a cooperative grid too large to be co-resident is refused.
#include "common.h"
#include <cooperative_groups.h>
namespace cg = cooperative_groups;

// Phase 1: each thread writes its value; grid sync; phase 2: each thread reads its mirror's.
__global__ void mirror(int *a, int *b, int n)
{
	cg::grid_group grid = cg::this_grid();
	int i = grid.thread_rank();
	for (int k = i; k < n; k += grid.size()) a[k] = k * 2 + 1;
	grid.sync();
	for (int k = i; k < n; k += grid.size()) b[k] = a[n - 1 - k];
	grid.sync();
	if (i == 0) { long long s = 0; for (int k = 0; k < n; k++) s += b[k]; b[n] = (int)(s % 1000003); }
}

__global__ void shared_user(float *out)
{
	extern __shared__ float sm[];
	sm[threadIdx.x] = threadIdx.x;
	__syncthreads();
	out[threadIdx.x] = sm[blockDim.x - 1 - threadIdx.x];
}

int main()
{
	g_name = "coop";
	int coop = 0, sms = 0, maxthr = 0;
	OK(cudaDeviceGetAttribute(&coop, cudaDevAttrCooperativeLaunch, 0));
	OK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
	OK(cudaDeviceGetAttribute(&maxthr, cudaDevAttrMaxThreadsPerBlock, 0));
	printf("cooperative launch: %d\n", coop);

	cudaFuncAttributes fa;
	memset(&fa, 0, sizeof fa);
	OK(cudaFuncGetAttributes(&fa, mirror));
	CHECK(fa.maxThreadsPerBlock > 0 && fa.maxThreadsPerBlock <= maxthr, "mirror's max threads per block in (0, device max]");
	CHECK(fa.numRegs > 0, "mirror uses registers");
	printf("mirror static shared bytes: %zu\n", fa.sharedSizeBytes);
	OK(cudaFuncGetAttributes(&fa, shared_user));
	printf("shared_user static shared bytes: %zu, binary version >= 90: %s\n", fa.sharedSizeBytes, fa.binaryVersion >= 90 ? "yes" : "no");

	int blocks = 0;
	OK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, mirror, 256, 0));
	CHECK(blocks >= 1 && blocks * 256 <= 2048, "active blocks of 256 per SM in [1, 8]");
	int blocks_big = 0;
	OK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks_big, shared_user, 128, 48 * 1024));
	int blocks_small = 0;
	OK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks_small, shared_user, 128, 0));
	CHECK(blocks_big >= 1 && blocks_big <= blocks_small, "more dynamic shared memory, no more blocks");
	int flagged = 0;
	OK(cudaOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(&flagged, mirror, 256, 0, cudaOccupancyDisableCachingOverride));
	CHECK(flagged == blocks, "the flags variant agrees");
	int minGrid = 0, bs = 0;
	OK(cudaOccupancyMaxPotentialBlockSize(&minGrid, &bs, mirror, 0, 0));
	CHECK(bs >= 32 && bs <= maxthr && bs % 32 == 0, "suggested block size a multiple of 32 up to the device max");
	CHECK(minGrid >= sms, "suggested minimum grid fills every SM");
	int bs_cap = 0;
	OK(cudaOccupancyMaxPotentialBlockSize(&minGrid, &bs_cap, mirror, 0, 64));
	CHECK(bs_cap >= 32 && bs_cap <= 64, "a block size limit of 64 is honoured");
	size_t dyn = 0;
	OK(cudaOccupancyAvailableDynamicSMemPerBlock(&dyn, shared_user, 1, 128));
	CHECK(dyn >= 48 * 1024, "one block of 128 can have >= 48 KiB dynamic shared memory");
	STATUS("occupancy with block size 0", cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks_small, mirror, 0, 0));
	STATUS("occupancy with block size 4096", cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks_small, mirror, 4096, 0));

	// More dynamic shared memory than the default 48 KiB needs the attribute first.
	float *out;
	OK(cudaMalloc(&out, 128 * sizeof(float)));
	shared_user<<<1, 128, 64 * 1024>>>(out);
	STATUS("launch with 64 KiB dynamic shared memory, attribute unset", cudaGetLastError());
	OK(cudaFuncSetAttribute(shared_user, cudaFuncAttributeMaxDynamicSharedMemorySize, 64 * 1024));
	OK(cudaFuncGetAttributes(&fa, shared_user));
	printf("max dynamic shared after set: %d\n", fa.maxDynamicSharedSizeBytes);
	shared_user<<<1, 128, 64 * 1024>>>(out);
	STATUS("launch with 64 KiB dynamic shared memory, attribute set", cudaGetLastError());
	float hout[128];
	OK(cudaMemcpy(hout, out, sizeof hout, cudaMemcpyDeviceToHost));
	printf("k shared reversal: %.0f %.0f\n", hout[0], hout[127]);

	// A cooperative launch of as many blocks as can be co-resident.
	const int n = 1 << 20;
	int *a, *b;
	OK(cudaMalloc(&a, n * sizeof(int)));
	OK(cudaMalloc(&b, (n + 1) * sizeof(int)));
	OK(cudaMemset(b, 0, (n + 1) * sizeof(int)));
	int nn = n;
	void *args[] = {&a, &b, &nn};
	dim3 grid(blocks * sms), block(256);
	OK(cudaLaunchCooperativeKernel((void *)mirror, grid, block, args, 0, 0));
	OK(cudaDeviceSynchronize());
	int hb[3];
	OK(cudaMemcpy(hb, b, 2 * sizeof(int), cudaMemcpyDeviceToHost));
	OK(cudaMemcpy(hb + 2, b + n, sizeof(int), cudaMemcpyDeviceToHost));
	long long want = 0;
	for (long long k = 0; k < n; k++) want += 2 * (n - 1 - k) + 1;
	printf("k cooperative result: %d %d sum %d (want %lld)\n", hb[0], hb[1], hb[2], want % 1000003);
	// One block more than fits at once.
	dim3 toobig(blocks * sms + 1);
	STATUS("cooperative grid larger than co-resident", cudaLaunchCooperativeKernel((void *)mirror, toobig, block, args, 0, 0));
	cudaStream_t s;
	OK(cudaStreamCreate(&s));
	OK(cudaLaunchCooperativeKernel((void *)mirror, dim3(sms), block, args, 0, s));
	OK(cudaStreamSynchronize(s));
	OK(cudaMemcpy(hb + 2, b + n, sizeof(int), cudaMemcpyDeviceToHost));
	printf("k cooperative on a stream, one block per SM: sum %d\n", hb[2]);

	cudaStreamDestroy(s);
	cudaFree(a); cudaFree(b); cudaFree(out);
	return done();
}
