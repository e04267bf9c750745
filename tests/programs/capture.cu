// Stream capture: a fork/join across two streams captured into a graph (memset, kernels,
// copies, a host function, stream-ordered allocation), the capture status as it goes, the
// graph replayed; the errors of illegal calls during capture (a synchronize invalidates it),
// of ending a capture never begun, of an unjoined fork; relaxed mode and
// cudaThreadExchangeStreamCaptureMode.
#include "common.h"
#include <map>

__global__ void addv(int *p, int v, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) p[i] += v; }
__global__ void mulv(int *p, int v, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) p[i] *= v; }

static int g_calls = 0;
static void CUDART_CB count(void *) { g_calls++; }

static void print_types(cudaGraph_t g)
{
	size_t n = 0;
	OK(cudaGraphGetNodes(g, nullptr, &n));
	cudaGraphNode_t *nodes = new cudaGraphNode_t[n ? n : 1];
	OK(cudaGraphGetNodes(g, nodes, &n));
	std::map<int, int> by;
	for (size_t i = 0; i < n; i++) { cudaGraphNodeType t; if (OK(cudaGraphNodeGetType(nodes[i], &t))) by[(int)t]++; }
	printf("captured nodes %zu by type:", n);
	for (auto &kv : by) printf(" %d:%d", kv.first, kv.second);
	printf("\n");
	delete[] nodes;
}

static const char *cap(cudaStream_t s)
{
	cudaStreamCaptureStatus st;
	cudaError_t e = cudaStreamIsCapturing(s, &st);
	if (e != cudaSuccess) return cudaGetErrorName(e);
	return st == cudaStreamCaptureStatusNone ? "none" : st == cudaStreamCaptureStatusActive ? "active" : "invalidated";
}

int main()
{
	g_name = "capture";
	const int n = 1024;
	int *d, *h;
	OK(cudaMalloc(&d, n * sizeof(int)));
	OK(cudaMallocHost(&h, n * sizeof(int)));
	cudaStream_t s, s2;
	OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
	OK(cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking));
	cudaEvent_t fork, join;
	OK(cudaEventCreateWithFlags(&fork, cudaEventDisableTiming));
	OK(cudaEventCreateWithFlags(&join, cudaEventDisableTiming));

	printf("before: %s\n", cap(s));
	OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
	printf("capturing: %s, other stream %s\n", cap(s), cap(s2));
	OK(cudaMemsetAsync(d, 0, n * sizeof(int), s));
	addv<<<n / 128, 128, 0, s>>>(d, 3, n);
	OK(cudaEventRecord(fork, s));
	OK(cudaStreamWaitEvent(s2, fork, 0));
	printf("forked stream joins the capture: %s\n", cap(s2));
	int *tmp = nullptr;
	OK(cudaMallocAsync(&tmp, n * sizeof(int), s2));
	OK(cudaMemcpyAsync(tmp, d, n * sizeof(int), cudaMemcpyDeviceToDevice, s2));
	mulv<<<n / 128, 128, 0, s2>>>(tmp, 5, n);
	OK(cudaMemcpyAsync(d, tmp, n * sizeof(int), cudaMemcpyDeviceToDevice, s2));
	OK(cudaFreeAsync(tmp, s2));
	OK(cudaEventRecord(join, s2));
	OK(cudaStreamWaitEvent(s, join, 0));
	addv<<<n / 128, 128, 0, s>>>(d, 1, n);
	OK(cudaMemcpyAsync(h, d, n * sizeof(int), cudaMemcpyDeviceToHost, s));
	OK(cudaLaunchHostFunc(s, count, nullptr));
	cudaGraph_t g = nullptr;
	OK(cudaStreamEndCapture(s, &g));
	printf("after: %s, other stream %s\n", cap(s), cap(s2));
	printf("host function ran during capture: %s\n", g_calls ? "yes" : "no");
	print_types(g);

	cudaGraphExec_t exec;
	OK(cudaGraphInstantiate(&exec, g, 0));
	for (int i = 0; i < 3; i++) OK(cudaGraphLaunch(exec, s));
	OK(cudaStreamSynchronize(s));
	printf("host function calls after 3 replays: %d\n", g_calls);
	printf("k result: %d %d\n", h[0], h[n - 1]);

	// Illegal during a global capture: a synchronize of the capturing stream.
	OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
	addv<<<1, 1, 0, s>>>(d, 1, 1);
	STATUS("synchronize during capture", cudaStreamSynchronize(s));
	printf("status after it: %s\n", cap(s));
	cudaGraph_t g2 = nullptr;
	STATUS("end of an invalidated capture", cudaStreamEndCapture(s, &g2));
	printf("graph returned: %s\n", g2 ? "yes" : "no");
	STATUS("end capture never begun", cudaStreamEndCapture(s, &g2));
	STATUS("capture the legacy stream", cudaStreamBeginCapture(0, cudaStreamCaptureModeGlobal));

	// A fork never joined back.
	OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
	OK(cudaEventRecord(fork, s));
	OK(cudaStreamWaitEvent(s2, fork, 0));
	addv<<<1, 1, 0, s2>>>(d, 1, 1);
	g2 = nullptr;
	STATUS("end with an unjoined fork", cudaStreamEndCapture(s, &g2));
	printf("other stream after: %s\n", cap(s2));

	// Relaxed mode allows what global mode forbids elsewhere; the thread's mode exchanges.
	OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed));
	void *scratch = nullptr;
	STATUS("cudaMalloc during a relaxed capture", cudaMalloc(&scratch, 256));
	addv<<<1, 1, 0, s>>>(d, 1, 1);
	g2 = nullptr;
	OK(cudaStreamEndCapture(s, &g2));
	print_types(g2);
	if (scratch) cudaFree(scratch);
	cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
	OK(cudaThreadExchangeStreamCaptureMode(&mode));
	printf("previous thread mode: %d\n", (int)mode);
	OK(cudaThreadExchangeStreamCaptureMode(&mode));
	printf("exchanged back: %d\n", (int)mode);

	cudaGraphExecDestroy(exec);
	cudaGraphDestroy(g);
	if (g2) cudaGraphDestroy(g2);
	cudaEventDestroy(fork); cudaEventDestroy(join);
	cudaStreamDestroy(s); cudaStreamDestroy(s2);
	cudaFree(d); cudaFreeHost(h);
	return done();
}
