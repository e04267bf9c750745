// Stream-ordered allocation and memory pools: cudaMallocAsync/cudaFreeAsync on the device's
// default pool, the pool's attributes (release threshold, reserved/used current and high
// marks, reuse policies), cudaMemPoolTrimTo, a pool of our own with cudaMallocFromPoolAsync
// and cudaDeviceSetMemPool, and the runtime's checks on bad input. Sizes of this particular
// GPU are never printed: only relations between the pool's counters.
#include "common.h"
#include <cstdint>

__global__ void iota(int *p, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) p[i] = i * 3; }

static unsigned long long attr64(cudaMemPool_t pool, cudaMemPoolAttr a)
{
	unsigned long long v = 0;
	OK(cudaMemPoolGetAttribute(pool, a, &v));
	return v;
}

int main()
{
	g_name = "mempool";
	int supported = 0;
	OK(cudaDeviceGetAttribute(&supported, cudaDevAttrMemoryPoolsSupported, 0));
	printf("memory pools supported: %d\n", supported);
	cudaMemPool_t def, cur;
	OK(cudaDeviceGetDefaultMemPool(&def, 0));
	OK(cudaDeviceGetMemPool(&cur, 0));
	CHECK(def == cur, "the current pool is the default pool");
	printf("default release threshold: %llu\n", attr64(def, cudaMemPoolAttrReleaseThreshold));
	int iv = -1;
	const cudaMemPoolAttr intattrs[] = {cudaMemPoolReuseFollowEventDependencies, cudaMemPoolReuseAllowOpportunistic, cudaMemPoolReuseAllowInternalDependencies};
	const char *intnames[] = {"follow event dependencies", "allow opportunistic", "allow internal dependencies"};
	for (int i = 0; i < 3; i++) {
		iv = -1;
		OK(cudaMemPoolGetAttribute(def, intattrs[i], &iv));
		printf("reuse %s: %d\n", intnames[i], iv);
	}

	cudaStream_t s;
	OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
	const size_t MiB = 1 << 20;
	int *p = nullptr, *q = nullptr;
	OK(cudaMallocAsync(&p, 4 * MiB, s));
	OK(cudaMallocAsync((void **)&q, MiB, s));
	OK(cudaMemsetAsync(p, 0x11, 4 * MiB, s));
	OK(cudaMemcpyAsync(q, p, MiB, cudaMemcpyDeviceToDevice, s));
	OK(cudaStreamSynchronize(s));
	unsigned long long used = attr64(def, cudaMemPoolAttrUsedMemCurrent);
	unsigned long long reserved = attr64(def, cudaMemPoolAttrReservedMemCurrent);
	CHECK(used >= 5 * MiB, "used >= the 5 MiB allocated");
	CHECK(reserved >= used, "reserved >= used");
	CHECK(attr64(def, cudaMemPoolAttrUsedMemHigh) >= used, "used high mark >= used");
	unsigned hq[4] = {0};
	OK(cudaMemcpy(hq, q, sizeof hq, cudaMemcpyDeviceToHost));
	printf("copied from a stream-ordered allocation: %08x %08x\n", hq[0], hq[3]);
	cudaPointerAttributes pa;
	if (OK(cudaPointerGetAttributes(&pa, p))) printf("pointer type: %d\n", (int)pa.type);

	// Freed in stream order; with the default threshold 0 the pool gives memory back at the sync.
	OK(cudaFreeAsync(p, s));
	OK(cudaFreeAsync(q, s));
	OK(cudaStreamSynchronize(s));
	CHECK(attr64(def, cudaMemPoolAttrUsedMemCurrent) == 0, "used is 0 after the frees");
	// Keep what is freed: raise the threshold, allocate and free, then trim.
	unsigned long long big = UINT64_MAX;
	OK(cudaMemPoolSetAttribute(def, cudaMemPoolAttrReleaseThreshold, &big));
	printf("release threshold set: %s\n", attr64(def, cudaMemPoolAttrReleaseThreshold) == UINT64_MAX ? "max" : "other");
	OK(cudaMallocAsync(&p, 8 * MiB, s));
	OK(cudaFreeAsync(p, s));
	OK(cudaStreamSynchronize(s));
	CHECK(attr64(def, cudaMemPoolAttrReservedMemCurrent) >= 8 * MiB, "reserved kept above the threshold 0 after the free");
	OK(cudaMemPoolTrimTo(def, 0));
	CHECK(attr64(def, cudaMemPoolAttrReservedMemCurrent) == 0, "trim to 0 gives everything back");
	unsigned long long zero = 0;
	OK(cudaMemPoolSetAttribute(def, cudaMemPoolAttrReleaseThreshold, &zero));
	OK(cudaMemPoolSetAttribute(def, cudaMemPoolAttrUsedMemHigh, &zero));
	OK(cudaMemPoolSetAttribute(def, cudaMemPoolAttrReservedMemHigh, &zero));
	CHECK(attr64(def, cudaMemPoolAttrUsedMemHigh) == 0, "used high mark reset to 0");
	STATUS("set used-high to a non-zero value", cudaMemPoolSetAttribute(def, cudaMemPoolAttrUsedMemHigh, &big));
	STATUS("set reserved-current", cudaMemPoolSetAttribute(def, cudaMemPoolAttrReservedMemCurrent, &zero));

	// A pool of our own.
	cudaMemPoolProps props;
	memset(&props, 0, sizeof props);
	props.allocType = cudaMemAllocationTypePinned;
	props.handleTypes = cudaMemHandleTypeNone;
	props.location.type = cudaMemLocationTypeDevice;
	props.location.id = 0;
	cudaMemPool_t mine;
	OK(cudaMemPoolCreate(&mine, &props));
	cudaMemLocation loc;
	memset(&loc, 0, sizeof loc);
	loc.type = cudaMemLocationTypeDevice;
	loc.id = 0;
	cudaMemAccessFlags fl = cudaMemAccessFlagsProtNone;
	OK(cudaMemPoolGetAccess(&fl, mine, &loc));
	printf("own pool access from device 0: %d\n", (int)fl);
	printf("own pool release threshold: %llu\n", attr64(mine, cudaMemPoolAttrReleaseThreshold));
	const int n = 1 << 16;
	int *r = nullptr;
	OK(cudaMallocFromPoolAsync((void **)&r, n * sizeof(int), mine, s));
	iota<<<n / 256, 256, 0, s>>>(r, n);
	LAUNCHED("iota");
	int *hr;
	OK(cudaMallocHost(&hr, n * sizeof(int)));
	OK(cudaMemcpyAsync(hr, r, n * sizeof(int), cudaMemcpyDeviceToHost, s));
	OK(cudaStreamSynchronize(s));
	CHECK(attr64(mine, cudaMemPoolAttrUsedMemCurrent) >= n * sizeof(int), "own pool counts its allocation");
	CHECK(attr64(def, cudaMemPoolAttrUsedMemCurrent) == 0, "default pool does not");
	long long sum = 0;
	for (int i = 0; i < n; i++) sum += hr[i];
	printf("k sum from own pool: %lld\n", sum);
	OK(cudaFreeAsync(r, s));

	// The device's current pool serves cudaMallocAsync.
	OK(cudaDeviceSetMemPool(0, mine));
	OK(cudaDeviceGetMemPool(&cur, 0));
	CHECK(cur == mine, "current pool is ours after cudaDeviceSetMemPool");
	OK(cudaMallocAsync(&p, MiB, s));
	OK(cudaStreamSynchronize(s));
	CHECK(attr64(mine, cudaMemPoolAttrUsedMemCurrent) >= MiB, "cudaMallocAsync now draws from our pool");
	OK(cudaFreeAsync(p, s));
	OK(cudaStreamSynchronize(s));
	OK(cudaDeviceSetMemPool(0, def));
	OK(cudaMemPoolTrimTo(mine, 0));
	CHECK(attr64(mine, cudaMemPoolAttrReservedMemCurrent) == 0, "own pool trimmed to 0");

	// Bad input.
	cudaMemPool_t badpool;
	props.location.id = 4096;
	STATUS("pool on device 4096", cudaMemPoolCreate(&badpool, &props));
	props.location.id = 0;
	props.allocType = cudaMemAllocationTypeInvalid;
	STATUS("pool of invalid allocation type", cudaMemPoolCreate(&badpool, &props));
	STATUS("malloc async null out", cudaMallocAsync(nullptr, MiB, s));
	STATUS("set default pool of device 4096", cudaDeviceSetMemPool(4096, mine));
	STATUS("unknown attribute", cudaMemPoolGetAttribute(def, (cudaMemPoolAttr)0x7777, &zero));

	OK(cudaMemPoolDestroy(mine));
	cudaFreeHost(hr);
	cudaStreamDestroy(s);
	return done();
}
