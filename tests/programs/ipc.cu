// IPC between two processes: the parent allocates and fills device memory and an
// interprocess event, passes their handles (cudaIpcGetMemHandle / cudaIpcGetEventHandle) to
// a child it fork+execs; the child opens them (cudaIpcOpenMemHandle / cudaIpcOpenEventHandle),
// reads, writes with a copy and a kernel, records the event and closes; the parent sees the
// child's writes. Also the runtime's answers to handles of the wrong kind of memory or event.
#include "common.h"
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

__global__ void bump(int *p, int n, int v) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) p[i] += v; }

static void to_hex(const void *p, size_t n, char *out)
{
	const unsigned char *b = (const unsigned char *)p;
	for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", b[i]);
}
static bool from_hex(const char *s, void *p, size_t n)
{
	if (strlen(s) != 2 * n) return false;
	unsigned char *b = (unsigned char *)p;
	for (size_t i = 0; i < n; i++) { unsigned v; if (sscanf(s + 2 * i, "%2x", &v) != 1) return false; b[i] = (unsigned char)v; }
	return true;
}

const int N = 1 << 16;

static int child(const char *memhex, const char *evhex)
{
	cudaIpcMemHandle_t mh;
	cudaIpcEventHandle_t eh;
	if (!from_hex(memhex, &mh, sizeof mh) || !from_hex(evhex, &eh, sizeof eh)) { printf("FAIL child: bad handle text\n"); return 0; }
	int *p = nullptr;
	if (!OK(cudaIpcOpenMemHandle((void **)&p, mh, cudaIpcMemLazyEnablePeerAccess))) { fflush(stdout); return 0; }
	int h[4];
	OK(cudaMemcpy(h, p, sizeof h, cudaMemcpyDeviceToHost));
	printf("child read: %d %d %d %d\n", h[0], h[1], h[2], h[3]);
	OK(cudaMemcpy(h, p + N - 1, sizeof(int), cudaMemcpyDeviceToHost));
	printf("child read last: %d\n", h[0]);
	int mark[2] = {-11, -22};
	OK(cudaMemcpy(p + 8, mark, sizeof mark, cudaMemcpyHostToDevice));
	cudaEvent_t ev;
	OK(cudaIpcOpenEventHandle(&ev, eh));
	cudaStream_t s;
	OK(cudaStreamCreate(&s));
	bump<<<N / 256, 256, 0, s>>>(p + 16, N - 16, 1000);
	LAUNCHED("bump");
	OK(cudaEventRecord(ev, s));
	OK(cudaStreamSynchronize(s));
	void *again = nullptr;
	if (STATUS("child: open the same memory handle again", cudaIpcOpenMemHandle(&again, mh, cudaIpcMemLazyEnablePeerAccess)) == cudaSuccess)
		printf("child: the same pointer: %s\n", again == (void *)p ? "yes" : "no");
	OK(cudaIpcCloseMemHandle(p));
	STATUS("child: close it twice", cudaIpcCloseMemHandle(p));
	OK(cudaEventDestroy(ev));
	OK(cudaStreamDestroy(s));
	printf("child: done\n");
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	g_name = "ipc";
	if (argc == 4 && strcmp(argv[1], "child") == 0) return child(argv[2], argv[3]);

	int *d;
	OK(cudaMalloc(&d, N * sizeof(int)));
	int *h = (int *)malloc(N * sizeof(int));
	for (int i = 0; i < N; i++) h[i] = i;
	OK(cudaMemcpy(d, h, N * sizeof(int), cudaMemcpyHostToDevice));
	cudaIpcMemHandle_t mh;
	OK(cudaIpcGetMemHandle(&mh, d));
	cudaIpcMemHandle_t mh2;
	OK(cudaIpcGetMemHandle(&mh2, d + 100));
	CHECK(memcmp(&mh, &mh2, sizeof mh) == 0, "an inner pointer gives the allocation's handle");
	cudaEvent_t ev, plain;
	OK(cudaEventCreateWithFlags(&ev, cudaEventInterprocess | cudaEventDisableTiming));
	OK(cudaEventCreate(&plain));
	cudaIpcEventHandle_t eh, ehbad;
	OK(cudaIpcGetEventHandle(&eh, ev));
	STATUS("event handle of an event without the interprocess flag", cudaIpcGetEventHandle(&ehbad, plain));
	int *pinned;
	OK(cudaMallocHost(&pinned, 4096));
	cudaIpcMemHandle_t hbad;
	STATUS("memory handle of pinned host memory", cudaIpcGetMemHandle(&hbad, pinned));
	int *opened = nullptr;
	STATUS("open own handle in the same process", cudaIpcOpenMemHandle((void **)&opened, mh, cudaIpcMemLazyEnablePeerAccess));
	cudaIpcMemHandle_t zero;
	memset(&zero, 0, sizeof zero);
	STATUS("open a zero handle", cudaIpcOpenMemHandle((void **)&opened, zero, cudaIpcMemLazyEnablePeerAccess));

	char memhex[2 * sizeof mh + 1], evhex[2 * sizeof eh + 1];
	to_hex(&mh, sizeof mh, memhex);
	to_hex(&eh, sizeof eh, evhex);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		execl("/proc/self/exe", argv[0], "child", memhex, evhex, (char *)nullptr);
		_exit(127);
	}
	int st = 0;
	// The child gets 60 s; a hang must not stall the comparison.
	for (int i = 0; i < 600; i++) { if (waitpid(pid, &st, WNOHANG) == pid) break; usleep(100 * 1000); if (i == 599) { kill(pid, SIGKILL); waitpid(pid, &st, 0); printf("FAIL child timed out\n"); } }
	printf("child exit: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	cudaStream_t s;
	OK(cudaStreamCreate(&s));
	OK(cudaStreamWaitEvent(s, ev, 0));
	OK(cudaStreamSynchronize(s));
	STATUS("query of the event the child recorded", cudaEventQuery(ev));
	OK(cudaMemcpy(h, d, N * sizeof(int), cudaMemcpyDeviceToHost));
	printf("parent sees the child's copy: %d %d\n", h[8], h[9]);
	bool ok = true;
	for (int i = 16; i < N; i++) ok = ok && h[i] == i + 1000;
	printf("k parent sees the child's kernel: %d %d\n", h[16], h[N - 1]);
	KCHECK(ok, "every element the child's kernel bumped");

	cudaEventDestroy(ev); cudaEventDestroy(plain);
	cudaStreamDestroy(s);
	cudaFree(d); cudaFreeHost(pinned);
	free(h);
	return done();
}
