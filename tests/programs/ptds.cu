// nvcc-flags: --default-stream per-thread
// Per-thread default streams (built with --default-stream per-thread, so every call on
// stream 0 goes to the _ptsz/_ptds entry points): threads work on their own default streams
// at once, a slow host function on one thread's default stream does not hold up another's,
// cudaStreamPerThread and cudaStreamLegacy used explicitly, and synchronous copies.
#include "common.h"
#include <atomic>
#include <thread>
#include <unistd.h>

__global__ void fillk(int *p, int n, int v) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) p[i] = v * 1000 + i; }

static std::atomic<int> g_slow_done{0};
static void CUDART_CB slow(void *) { usleep(300 * 1000); g_slow_done.store(1); }
static void CUDART_CB fast(void *p) { *(int *)p = 1; }

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

	// A slow host function on this thread's default stream; another thread's default stream
	// finishes its own work meanwhile.
	int fast_done = 0;
	OK(cudaLaunchHostFunc(0, slow, nullptr));
	int other_saw_slow = -1;
	std::thread other([&] {
		OK(cudaLaunchHostFunc(0, fast, &fast_done));
		OK(cudaStreamSynchronize(0));
		other_saw_slow = g_slow_done.load();
	});
	other.join();
	printf("other thread's default stream finished first: %s\n", fast_done == 1 && other_saw_slow == 0 ? "yes" : "no");
	STATUS("query this thread's busy default stream", cudaStreamQuery(0));
	OK(cudaStreamSynchronize(cudaStreamPerThread));
	printf("slow host function done after this thread's sync: %s\n", g_slow_done.load() ? "yes" : "no");
	STATUS("query after", cudaStreamQuery(cudaStreamPerThread));

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
