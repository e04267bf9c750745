// Host memory the device reaches: cudaHostRegister (mapped) of ordinary memory, its device
// pointer, flags and attributes, copies from it, a kernel writing through the mapped pointer;
// cudaHostAlloc (mapped, portable, write-combined); the runtime's checks on double
// registration, unregistering what was never registered and unknown flags.
#include "common.h"
#include <cstdint>

__global__ void stamp(int *p, int n, int v) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) p[i] = v + i; }

int main()
{
	g_name = "hostreg";
	int canmap = 0, hostptr = 0;
	OK(cudaDeviceGetAttribute(&canmap, cudaDevAttrCanMapHostMemory, 0));
	OK(cudaDeviceGetAttribute(&hostptr, cudaDevAttrCanUseHostPointerForRegisteredMem, 0));
	printf("can map host memory: %d, host pointer usable: %d\n", canmap, hostptr);

	const size_t N = 1 << 18, bytes = N * sizeof(int);
	int *buf = nullptr;
	if (posix_memalign((void **)&buf, 4096, bytes) != 0) { printf("FAIL posix_memalign\n"); return done(); }
	for (size_t i = 0; i < N; i++) buf[i] = (int)(i * 7);
	cudaPointerAttributes pa;
	if (OK(cudaPointerGetAttributes(&pa, buf))) printf("before register: type %d\n", (int)pa.type);
	OK(cudaHostRegister(buf, bytes, cudaHostRegisterMapped | cudaHostRegisterPortable));
	unsigned flags = 0;
	OK(cudaHostGetFlags(&flags, buf));
	printf("registered flags: %u\n", flags);
	if (OK(cudaPointerGetAttributes(&pa, buf))) printf("after register: type %d, same host pointer %s\n", (int)pa.type, pa.hostPointer == buf ? "yes" : "no");
	int *dp = nullptr;
	OK(cudaHostGetDevicePointer((void **)&dp, buf, 0));
	CHECK(dp != nullptr, "registered memory has a device pointer");
	printf("device pointer equals host pointer: %s\n", dp == buf ? "yes" : "no");
	int *inner = nullptr;
	OK(cudaHostGetDevicePointer((void **)&inner, buf + 1000, 0));
	CHECK(inner == dp + 1000, "an inner address maps to the same offset");

	// Copies from and to registered memory.
	int *d;
	OK(cudaMalloc(&d, bytes));
	OK(cudaMemcpy(d, buf, bytes, cudaMemcpyHostToDevice));
	int probe[4];
	OK(cudaMemcpy(probe, d + N - 4, sizeof probe, cudaMemcpyDeviceToHost));
	printf("copied from registered memory: %d %d %d %d\n", probe[0], probe[1], probe[2], probe[3]);

	// A kernel writes through the mapped pointer; the host sees it after a sync.
	stamp<<<(N + 255) / 256, 256>>>(dp, (int)N, 1000);
	LAUNCHED("stamp");
	OK(cudaDeviceSynchronize());
	bool ok = true;
	for (size_t i = 0; i < N; i++) ok = ok && buf[i] == (int)(1000 + i);
	printf("k host sees kernel's writes: %d %d\n", buf[0], buf[N - 1]);
	KCHECK(ok, "every element written through the mapped pointer");
	// Async copy from registered memory behind the kernel, in one stream.
	cudaStream_t s;
	OK(cudaStreamCreate(&s));
	stamp<<<(N + 255) / 256, 256, 0, s>>>(d, (int)N, 5);
	OK(cudaMemcpyAsync(buf, d, bytes, cudaMemcpyDeviceToHost, s));
	OK(cudaStreamSynchronize(s));
	printf("k async copy into registered memory: %d %d\n", buf[1], buf[N - 2]);

	STATUS("register twice", cudaHostRegister(buf, bytes, cudaHostRegisterDefault));
	STATUS("register an overlapping range", cudaHostRegister(buf + 1024, 4096, cudaHostRegisterDefault));
	OK(cudaHostUnregister(buf));
	STATUS("unregister again", cudaHostUnregister(buf));
	STATUS("flags of unregistered memory", cudaHostGetFlags(&flags, buf));
	STATUS("device pointer of unregistered memory", cudaHostGetDevicePointer((void **)&dp, buf, 0));
	STATUS("register with unknown flag 0x80", cudaHostRegister(buf, bytes, 0x80));
	STATUS("register null", cudaHostRegister(nullptr, bytes, 0));
	STATUS("register zero bytes", cudaHostRegister(buf, 0, 0));

	// cudaHostAlloc: mapped + portable, and write-combined.
	int *ha = nullptr, *hwc = nullptr;
	OK(cudaHostAlloc((void **)&ha, bytes, cudaHostAllocMapped | cudaHostAllocPortable));
	OK(cudaHostGetFlags(&flags, ha));
	printf("host alloc flags: %u\n", flags);
	int *dha = nullptr;
	OK(cudaHostGetDevicePointer((void **)&dha, ha, 0));
	memset(ha, 0, bytes);
	stamp<<<(N + 255) / 256, 256, 0, s>>>(dha, (int)N, -7);
	OK(cudaStreamSynchronize(s));
	printf("k host alloc written by kernel: %d %d\n", ha[0], ha[N - 1]);
	OK(cudaHostAlloc((void **)&hwc, 4096, cudaHostAllocWriteCombined));
	OK(cudaHostGetFlags(&flags, hwc));
	printf("write-combined flags: %u\n", flags);
	for (int i = 0; i < 1024; i++) hwc[i] = i;
	OK(cudaMemcpy(d, hwc, 4096, cudaMemcpyHostToDevice));
	OK(cudaMemcpy(probe, d + 1020, sizeof probe, cudaMemcpyDeviceToHost));
	printf("from write-combined memory: %d %d %d %d\n", probe[0], probe[1], probe[2], probe[3]);
	int *hbad = nullptr;
	STATUS("host alloc unknown flag 0x40", cudaHostAlloc((void **)&hbad, 4096, 0x40));

	cudaFreeHost(ha); cudaFreeHost(hwc);
	cudaFree(d);
	cudaStreamDestroy(s);
	free(buf);
	return done();
}
