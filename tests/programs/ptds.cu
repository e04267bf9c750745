// nvcc-flags: --default-stream per-thread
// Per-thread default streams (built with --default-stream per-thread, so every call on
// stream 0 goes to the _ptsz/_ptds entry points): threads work on their own default streams
// at once, a long kernel on one thread's default stream does not hold up another's,
// cudaStreamPerThread and cudaStreamLegacy used explicitly, and synchronous copies.
#include "common.h"
#include <thread>

__global__ void fillk(int *p, int n, int v) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) p[i] = v * 1000 + i; }

__global__ void spin(long long cycles, int *out)
{
	long long start = clock64();
	while (clock64() - start < cycles) { }
	*out = 1;
}

const int N = 1 << 14;
struct Result { int memset_val; int first, last; int ok; };

static void worker(int t, Result *r)
{
	int *d = nullptr, *h = nullptr;
	r->ok = OK(cudaMalloc(&d, N * sizeof(int))) && OK(cudaMallocHost(&h, N * sizeof(int)));
	if (!r->ok) return;
	OK(cudaMemsetAsync(d, t + 1, N * sizeof(int), 0));
	OK(cudaMemcpyAsync(h, d, N * sizeof(int), cudaMemcpyDeviceToHost, 0));
	OK(cudaStreamSynchronize(0));
	r->memset_val = h[N - 1];
	fillk<<<N / 256, 256>>>(d, N, t);
	OK(cudaMemcpyAsync(h, d, N * sizeof(int), cudaMemcpyDeviceToHost, cudaStreamPerThread));
	OK(cudaStreamSynchronize(cudaStreamPerThread));
	r->first = h[0];
	r->last = h[N - 1];
	cudaFree(d);
	cudaFreeHost(h);
}

int main()
{
	g_name = "ptds";
#ifdef CUDA_API_PER_THREAD_DEFAULT_STREAM
	printf("compiled with per-thread default streams: yes\n");
#else
	printf("compiled with per-thread default streams: no\n");
#endif
	// Four threads, each on its own default stream.
	const int T = 4;
	Result res[T];
	memset(res, 0, sizeof res);
	std::thread th[T];
	for (int t = 0; t < T; t++) th[t] = std::thread(worker, t, &res[t]);
	for (int t = 0; t < T; t++) th[t].join();
	for (int t = 0; t < T; t++) {
		printf("thread %d memset: %08x\n", t, (unsigned)res[t].memset_val);
		printf("k thread %d kernel: %d %d\n", t, res[t].first, res[t].last);
	}

	// A long kernel on this thread's default stream; another thread's default stream does its
	// own copies meanwhile, and finds this thread's event still pending. (Not host functions:
	// the driver runs those of every stream on one thread, one at a time.)
	cudaEvent_t ev;
	OK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
	int *flag, *d2;
	OK(cudaMalloc(&flag, sizeof(int)));
	OK(cudaMalloc(&d2, sizeof(int)));
	spin<<<1, 1>>>(200LL * 1000 * 1000, flag);
	LAUNCHED("spin");
	OK(cudaEventRecord(ev, 0));
	cudaError_t seen = cudaSuccess;
	int other_ok = 0;
	std::thread other([&] {
		int h2 = 0;
		other_ok = OK(cudaMemsetAsync(d2, 0x44, sizeof(int), 0)) &&
			OK(cudaMemcpyAsync(&h2, d2, sizeof(int), cudaMemcpyDeviceToHost, 0)) && OK(cudaStreamSynchronize(0)) && h2 == 0x44444444;
		seen = cudaEventQuery(ev);
	});
	other.join();
	CHECK(other_ok, "the other thread's default stream did its work");
	printf("k this thread's kernel still running when the other finished: %s\n", seen == cudaErrorNotReady ? "yes" : "no");
	printf("k query this thread's busy default stream: %s\n", cudaGetErrorName(cudaStreamQuery(0)));
	cudaGetLastError();
	OK(cudaStreamSynchronize(cudaStreamPerThread));
	STATUS("query after its sync", cudaStreamQuery(cudaStreamPerThread));
	STATUS("the event after it", cudaEventQuery(ev));
	cudaEventDestroy(ev);
	cudaFree(flag);
	cudaFree(d2);

	// The legacy stream is still reachable by name and synchronises with blocking streams.
	int *d, h[4] = {0};
	OK(cudaMalloc(&d, 16));
	OK(cudaMemsetAsync(d, 0x22, 16, cudaStreamLegacy));
	OK(cudaMemcpyAsync(h, d, 16, cudaMemcpyDeviceToHost, cudaStreamLegacy));
	OK(cudaStreamSynchronize(cudaStreamLegacy));
	printf("legacy stream: %08x\n", (unsigned)h[3]);
	unsigned fl = 99;
	OK(cudaStreamGetFlags(cudaStreamPerThread, &fl));
	printf("per-thread stream flags: %u\n", fl);
	// Synchronous calls (the _ptds forms) and a memset through stream 0.
	OK(cudaMemset(d, 0x33, 16));
	OK(cudaMemcpy(h, d, 16, cudaMemcpyDeviceToHost));
	printf("synchronous memset and copy: %08x\n", (unsigned)h[0]);
	fillk<<<1, 4>>>(d, 4, 9);
	OK(cudaMemcpy(h, d, 16, cudaMemcpyDeviceToHost));
	printf("k kernel then synchronous copy: %d %d\n", h[0], h[3]);
	cudaFree(d);
	return done();
}
