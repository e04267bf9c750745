// Host work in stream order: cudaLaunchHostFunc and cudaStreamAddCallback run after the
// work enqueued before them and before the work after them, see the bytes an earlier copy
// brought, and order across streams through events.
#include "common.h"
#include <atomic>
#include <unistd.h>

struct Log { int order[16]; std::atomic<int> n{0}; };
static Log g_log;
static void note(int v) { int i = g_log.n.fetch_add(1); if (i < 16) g_log.order[i] = v; }

struct Seen { const unsigned *src; unsigned value; };
static void CUDART_CB host_read(void *p) { Seen *s = (Seen *)p; s->value = *s->src; note(1); }
static void CUDART_CB host_note(void *p) { note((int)(long)p); }

struct CbArgs { cudaStream_t want; int stream_ok; int status; };
static void CUDART_CB callback(cudaStream_t st, cudaError_t status, void *p)
{
	CbArgs *a = (CbArgs *)p;
	a->stream_ok = st == a->want;
	a->status = (int)status;
	note(2);
}

static std::atomic<int> g_flag{0};
static void CUDART_CB slow_set(void *) { usleep(50 * 1000); g_flag.store(1); }
static int g_seen_flag = -1;
static void CUDART_CB read_flag(void *) { g_seen_flag = g_flag.load(); }

__global__ void fill(unsigned *p, unsigned v) { p[threadIdx.x] = v + threadIdx.x; }

int main()
{
	g_name = "callbacks";
	cudaStream_t s, s2;
	OK(cudaStreamCreate(&s));
	OK(cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking));
	unsigned *d, *h;
	OK(cudaMalloc(&d, 64 * sizeof(unsigned)));
	OK(cudaMallocHost(&h, 64 * sizeof(unsigned)));
	memset(h, 0, 64 * sizeof(unsigned));

	// memset -> copy -> host func (reads the copied bytes) -> callback -> host func.
	Seen seen = {h, 0};
	CbArgs cb = {s, 0, -1};
	OK(cudaMemsetAsync(d, 0x5a, 64 * sizeof(unsigned), s));
	OK(cudaMemcpyAsync(h, d, 64 * sizeof(unsigned), cudaMemcpyDeviceToHost, s));
	OK(cudaLaunchHostFunc(s, host_read, &seen));
	OK(cudaStreamAddCallback(s, callback, &cb, 0));
	OK(cudaLaunchHostFunc(s, host_note, (void *)3L));
	OK(cudaStreamSynchronize(s));
	printf("host func saw: %08x\n", seen.value);
	printf("callback: stream matches %s, status %s\n", cb.stream_ok ? "yes" : "no", cudaGetErrorName((cudaError_t)cb.status));
	printf("order:");
	for (int i = 0; i < g_log.n.load() && i < 16; i++) printf(" %d", g_log.order[i]);
	printf("\n");

	// A kernel's result is there for the host function after it.
	Seen seen2 = {h + 5, 0};
	fill<<<1, 64, 0, s>>>(d, 1000);
	LAUNCHED("fill");
	OK(cudaMemcpyAsync(h, d, 64 * sizeof(unsigned), cudaMemcpyDeviceToHost, s));
	OK(cudaLaunchHostFunc(s, host_read, &seen2));
	OK(cudaStreamSynchronize(s));
	printf("k host func after kernel saw: %u\n", seen2.value);

	// Across streams: s2 waits on an event recorded after a slow host function in s.
	cudaEvent_t ev;
	OK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
	OK(cudaLaunchHostFunc(s, slow_set, nullptr));
	OK(cudaEventRecord(ev, s));
	OK(cudaStreamWaitEvent(s2, ev, 0));
	OK(cudaLaunchHostFunc(s2, read_flag, nullptr));
	OK(cudaStreamSynchronize(s2));
	printf("second stream's host func ran after the first's: %s\n", g_seen_flag == 1 ? "yes" : "no");

	// The legacy default stream, and host functions queued behind each other many times.
	g_log.n.store(0);
	for (long i = 0; i < 10; i++) OK(cudaLaunchHostFunc(0, host_note, (void *)(10 + i)));
	OK(cudaDeviceSynchronize());
	int inorder = g_log.n.load() == 10;
	for (int i = 0; i < 10 && inorder; i++) inorder = g_log.order[i] == 10 + i;
	CHECK(inorder, "ten host functions on the default stream ran in order");

	// Bad input.
	STATUS("callback with flags 1", cudaStreamAddCallback(s, callback, &cb, 1));
	OK(cudaStreamSynchronize(s));

	cudaEventDestroy(ev);
	cudaFree(d); cudaFreeHost(h);
	cudaStreamDestroy(s); cudaStreamDestroy(s2);
	return done();
}
