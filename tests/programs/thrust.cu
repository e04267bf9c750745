// Thrust and CUB: sort (keys, by key, descending), inclusive and exclusive scans, reductions,
// transform-reduce and a count, then CUB's device-wide radix sort, scan and reduce with their
// two-pass temporary storage, on a stream. Integer data, so every result is exact.
#include "common.h"
#include <thrust/device_vector.h>
#include <thrust/host_vector.h>
#include <thrust/sort.h>
#include <thrust/scan.h>
#include <thrust/reduce.h>
#include <thrust/transform_reduce.h>
#include <thrust/count.h>
#include <thrust/functional.h>
#include <thrust/sequence.h>
#include <cub/cub.cuh>
#include <algorithm>
#include <vector>

struct square { __host__ __device__ long long operator()(int x) const { return (long long)x * x; } };
struct is_odd { __host__ __device__ bool operator()(int x) const { return x & 1; } };

static unsigned long long hash_ints(const int *p, size_t n)
{
	unsigned long long h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) { h ^= (unsigned)p[i]; h *= 1099511628211ull; }
	return h;
}

int main()
{
	g_name = "thrust";
	const int n = 1 << 20;
	std::vector<int> h(n);
	unsigned seed = 12345;
	for (auto &v : h) v = (int)(lcg(seed) % 100000) - 50000;
	std::vector<int> want(h);
	std::sort(want.begin(), want.end());
	try {
		thrust::device_vector<int> d(h.begin(), h.end());
		thrust::sort(d.begin(), d.end());
		thrust::host_vector<int> got = d;
		printf("k thrust sort: %d %d hash %016llx\n", got[0], got[n - 1], hash_ints(got.data(), n));
		KCHECK(std::equal(got.begin(), got.end(), want.begin()), "thrust sort matches std::sort");
		thrust::sort(d.begin(), d.end(), thrust::greater<int>());
		got = d;
		printf("k thrust sort descending: %d %d\n", got[0], got[n - 1]);

		thrust::device_vector<int> keys(h.begin(), h.begin() + 1000), vals(1000);
		thrust::sequence(vals.begin(), vals.end());
		thrust::stable_sort_by_key(keys.begin(), keys.end(), vals.begin());
		thrust::host_vector<int> hv = vals;
		printf("k sort by key, first values: %d %d %d\n", hv[0], hv[1], hv[2]);

		thrust::device_vector<int> s(h.begin(), h.end()), out(n);
		thrust::inclusive_scan(s.begin(), s.end(), out.begin());
		long long acc = 0;
		for (int i = 0; i < n; i++) acc += h[i];
		int last = out[n - 1];
		printf("k inclusive scan last: %d (want %d)\n", last, (int)acc);
		thrust::exclusive_scan(s.begin(), s.end(), out.begin(), 10);
		printf("k exclusive scan: %d %d\n", (int)out[0], (int)out[1]);
		long long sum = thrust::reduce(s.begin(), s.end(), 0LL);
		int mx = thrust::reduce(s.begin(), s.end(), -1 << 30, thrust::maximum<int>());
		printf("k reduce: sum %lld (want %lld), max %d (want %d)\n", sum, acc, mx, want[n - 1]);
		long long sq = thrust::transform_reduce(s.begin(), s.end(), square(), 0LL, thrust::plus<long long>());
		long long wsq = 0;
		for (int v : h) wsq += (long long)v * v;
		printf("k transform-reduce of squares: %lld (want %lld)\n", sq, wsq);
		printf("k odd count: %ld\n", (long)thrust::count_if(s.begin(), s.end(), is_odd()));
	} catch (std::exception &e) {
		printf("FAIL thrust threw: %s\n", e.what());
	}

	// CUB, device-wide, on a stream.
	cudaStream_t st;
	OK(cudaStreamCreate(&st));
	int *din, *dout, *dsum;
	OK(cudaMalloc(&din, n * sizeof(int)));
	OK(cudaMalloc(&dout, n * sizeof(int)));
	OK(cudaMalloc(&dsum, sizeof(int)));
	OK(cudaMemcpy(din, h.data(), n * sizeof(int), cudaMemcpyHostToDevice));
	void *tmp = nullptr;
	size_t tmpb = 0;
	OK(cub::DeviceRadixSort::SortKeys(tmp, tmpb, din, dout, n, 0, 32, st));
	CHECK(tmpb > 0, "radix sort asks for temporary storage");
	OK(cudaMalloc(&tmp, tmpb));
	OK(cub::DeviceRadixSort::SortKeys(tmp, tmpb, din, dout, n, 0, 32, st));
	std::vector<int> got(n);
	OK(cudaMemcpyAsync(got.data(), dout, n * sizeof(int), cudaMemcpyDeviceToHost, st));
	OK(cudaStreamSynchronize(st));
	KCHECK(got == want, "CUB radix sort matches std::sort");
	cudaFree(tmp); tmp = nullptr; tmpb = 0;
	OK(cub::DeviceScan::ExclusiveSum(tmp, tmpb, din, dout, n, st));
	OK(cudaMalloc(&tmp, tmpb));
	OK(cub::DeviceScan::ExclusiveSum(tmp, tmpb, din, dout, n, st));
	OK(cudaMemcpyAsync(got.data(), dout, n * sizeof(int), cudaMemcpyDeviceToHost, st));
	OK(cudaStreamSynchronize(st));
	printf("k CUB exclusive sum: %d %d %d\n", got[0], got[1], got[n - 1]);
	cudaFree(tmp); tmp = nullptr; tmpb = 0;
	OK(cub::DeviceReduce::Sum(tmp, tmpb, din, dsum, n, st));
	OK(cudaMalloc(&tmp, tmpb));
	OK(cub::DeviceReduce::Sum(tmp, tmpb, din, dsum, n, st));
	int hs = 0;
	OK(cudaMemcpyAsync(&hs, dsum, sizeof hs, cudaMemcpyDeviceToHost, st));
	OK(cudaStreamSynchronize(st));
	printf("k CUB sum: %d\n", hs);
	cudaFree(tmp);
	cudaFree(din); cudaFree(dout); cudaFree(dsum);
	cudaStreamDestroy(st);
	return done();
}
