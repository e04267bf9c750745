// Peer queries with however many devices there are: cudaDeviceCanAccessPeer and
// cudaDeviceGetP2PAttribute for every ordered pair, enabling and disabling access where it
// exists, cudaMemcpyPeer(+Async) (also within one device), and the runtime's answers for a
// device to itself, for a device that does not exist and for access never enabled.
#include "common.h"

__global__ void readpeer(const int *src, int *dst, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) dst[i] = src[i] + 1; }

int main()
{
	g_name = "peer";
	int n = 0;
	OK(cudaGetDeviceCount(&n));
	printf("devices: %d\n", n);
	const cudaDeviceP2PAttr attrs[] = {cudaDevP2PAttrPerformanceRank, cudaDevP2PAttrAccessSupported, cudaDevP2PAttrNativeAtomicSupported, cudaDevP2PAttrCudaArrayAccessSupported};
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < n; j++) {
			int can = -1;
			OK(cudaDeviceCanAccessPeer(&can, i, j));
			printf("can %d access %d: %d", i, j, can);
			if (i != j) {
				for (auto a : attrs) { int v = -1; OK(cudaDeviceGetP2PAttribute(&v, a, i, j)); printf(" attr%d=%d", (int)a, v); }
			}
			printf("\n");
		}
		int v = -1;
		STATUS("p2p attribute of a device to itself", cudaDeviceGetP2PAttribute(&v, cudaDevP2PAttrAccessSupported, i, i));
	}
	int can = -1;
	STATUS("can access a device that does not exist", cudaDeviceCanAccessPeer(&can, 0, n));
	int v = -1;
	STATUS("p2p attribute with a device that does not exist", cudaDeviceGetP2PAttribute(&v, cudaDevP2PAttrAccessSupported, 0, n));
	STATUS("enable access to itself", cudaDeviceEnablePeerAccess(0, 0));
	STATUS("enable access to a device that does not exist", cudaDeviceEnablePeerAccess(n, 0));
	STATUS("disable access never enabled (itself)", cudaDeviceDisablePeerAccess(0));
	STATUS("set a device that does not exist", cudaSetDevice(n));
	int cur = -1;
	OK(cudaGetDevice(&cur));
	printf("current device: %d\n", cur);
	char bus[32];
	OK(cudaDeviceGetPCIBusId(bus, sizeof bus, 0));
	int back = -1;
	OK(cudaDeviceGetByPCIBusId(&back, bus));
	CHECK(back == 0, "device 0's PCI bus id names device 0");

	// Peer copies within device 0 are ordinary copies.
	const int N = 1 << 16;
	int *a, *b, *h = (int *)malloc(N * sizeof(int));
	for (int i = 0; i < N; i++) h[i] = i ^ 0x5555;
	OK(cudaMalloc(&a, N * sizeof(int)));
	OK(cudaMalloc(&b, N * sizeof(int)));
	OK(cudaMemcpy(a, h, N * sizeof(int), cudaMemcpyHostToDevice));
	OK(cudaMemcpyPeer(b, 0, a, 0, N * sizeof(int)));
	cudaStream_t s;
	OK(cudaStreamCreate(&s));
	OK(cudaMemcpyPeerAsync(a, 0, b, 0, N / 2 * sizeof(int), s));
	OK(cudaStreamSynchronize(s));
	memset(h, 0, N * sizeof(int));
	OK(cudaMemcpy(h, b, N * sizeof(int), cudaMemcpyDeviceToHost));
	printf("peer copy within device 0: %d %d\n", h[1], h[N - 1]);
	STATUS("peer copy to a device that does not exist", cudaMemcpyPeer(b, n, a, 0, 16));

	// Between devices where access exists: enable, copy, a kernel on j reading i's memory.
	for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) {
		if (i == j) continue;
		int c = 0;
		OK(cudaDeviceCanAccessPeer(&c, j, i));
		if (!c) continue;
		int *src, *dst;
		OK(cudaSetDevice(i));
		OK(cudaMalloc(&src, N * sizeof(int)));
		OK(cudaMemcpy(src, a, N * sizeof(int), cudaMemcpyDefault));
		OK(cudaSetDevice(j));
		OK(cudaMalloc(&dst, N * sizeof(int)));
		OK(cudaDeviceEnablePeerAccess(i, 0));
		STATUS("enable twice", cudaDeviceEnablePeerAccess(i, 0));
		readpeer<<<N / 256, 256>>>(src, dst, N);
		OK(cudaDeviceSynchronize());
		OK(cudaMemcpy(h, dst, N * sizeof(int), cudaMemcpyDeviceToHost));
		printf("k device %d read device %d: %d %d\n", j, i, h[0], h[N - 1]);
		OK(cudaMemcpyPeer(dst, j, src, i, N * sizeof(int)));
		OK(cudaMemcpy(h, dst, N * sizeof(int), cudaMemcpyDeviceToHost));
		printf("peer copy %d -> %d: %d %d\n", i, j, h[0], h[N - 1]);
		OK(cudaDeviceDisablePeerAccess(i));
		STATUS("disable twice", cudaDeviceDisablePeerAccess(i));
		cudaFree(dst);
		OK(cudaSetDevice(i));
		cudaFree(src);
	}
	OK(cudaSetDevice(0));
	cudaStreamDestroy(s);
	cudaFree(a); cudaFree(b);
	free(h);
	return done();
}
