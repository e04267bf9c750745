// Events: creation flags, query before and after the work they follow, elapsed time between
// two timed events (only whether it is positive is printed), the errors for events without
// timing or never recorded, cudaEventRecordWithFlags, and cross-stream waits.
#include "common.h"

// Spins for about ms milliseconds of GPU time, so an event after it is not complete at once.
__global__ void spin(long long cycles, int *out)
{
	long long start = clock64();
	while (clock64() - start < cycles) { }
	*out = 1;
}

__global__ void add(int *p, int v) { *p += v; }

int main()
{
	g_name = "events";
	cudaEvent_t timed, timed2, notiming, blocking, both;
	OK(cudaEventCreate(&timed));
	OK(cudaEventCreateWithFlags(&timed2, cudaEventDefault));
	OK(cudaEventCreateWithFlags(&notiming, cudaEventDisableTiming));
	OK(cudaEventCreateWithFlags(&blocking, cudaEventBlockingSync));
	OK(cudaEventCreateWithFlags(&both, cudaEventBlockingSync | cudaEventDisableTiming));
	cudaEvent_t bad;
	STATUS("interprocess without disable-timing", cudaEventCreateWithFlags(&bad, cudaEventInterprocess));
	STATUS("unknown flag 0x100", cudaEventCreateWithFlags(&bad, 0x100));
	STATUS("query never recorded", cudaEventQuery(timed));
	STATUS("synchronize never recorded", cudaEventSynchronize(timed));
	float ms = -1;
	STATUS("elapsed, neither recorded", cudaEventElapsedTime(&ms, timed, timed2));

	cudaStream_t s, s2;
	OK(cudaStreamCreate(&s));
	OK(cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking));
	int *d;
	OK(cudaMalloc(&d, 2 * sizeof(int)));
	OK(cudaMemset(d, 0, 2 * sizeof(int)));

	// About 50 ms of spinning at any clock this program meets (cycles >= 1 GHz * 50 ms).
	OK(cudaEventRecord(timed, s));
	spin<<<1, 1, 0, s>>>(100LL * 1000 * 1000, d);
	LAUNCHED("spin");
	OK(cudaEventRecord(timed2, s));
	OK(cudaEventRecord(blocking, s));
	OK(cudaEventRecordWithFlags(notiming, s, cudaEventRecordDefault));
	cudaError_t q = cudaEventQuery(timed2);
	printf("k query while the kernel spins: %s\n", cudaGetErrorName(q));
	printf("k elapsed while the second is pending: %s\n", cudaGetErrorName(cudaEventElapsedTime(&ms, timed, timed2)));
	cudaGetLastError();
	OK(cudaEventSynchronize(blocking));
	STATUS("query after synchronize", cudaEventQuery(timed2));
	ms = -1;
	OK(cudaEventElapsedTime(&ms, timed, timed2));
	printf("k elapsed > 0: %s\n", ms > 0 ? "yes" : "no");
	CHECK(ms >= 0, "elapsed >= 0");
	float back = 1;
	OK(cudaEventElapsedTime(&back, timed2, timed));
	CHECK(back <= 0, "elapsed backwards <= 0");
	STATUS("elapsed with a disable-timing event", cudaEventElapsedTime(&ms, timed, notiming));
	STATUS("elapsed null out", cudaEventElapsedTime(nullptr, timed, timed2));
	STATUS("record with an unknown flag", cudaEventRecordWithFlags(both, s, 0x80));

	// Cross-stream: s2 waits for an event of s before its own kernel.
	add<<<1, 1, 0, s>>>(d + 1, 5);
	OK(cudaEventRecord(both, s));
	OK(cudaStreamWaitEvent(s2, both, 0));
	add<<<1, 1, 0, s2>>>(d + 1, 10);
	LAUNCHED("add");
	OK(cudaStreamSynchronize(s2));
	STATUS("query of the waited event", cudaEventQuery(both));
	int h[2] = {0, 0};
	OK(cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost));
	printf("k spin flag %d, sum %d\n", h[0], h[1]);

	// An event re-recorded takes its new place in the stream.
	OK(cudaEventRecord(timed, s));
	OK(cudaEventSynchronize(timed));
	OK(cudaEventElapsedTime(&ms, timed2, timed));
	CHECK(ms >= 0, "re-recorded event is later");

	OK(cudaEventDestroy(timed));
	cudaEventDestroy(timed2); cudaEventDestroy(notiming); cudaEventDestroy(blocking); cudaEventDestroy(both);
	cudaFree(d);
	cudaStreamDestroy(s); cudaStreamDestroy(s2);
	return done();
}
