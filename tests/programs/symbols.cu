// __constant__ and __device__ symbols: their sizes and addresses, and copies to and from them
// (cudaMemcpyToSymbol/FromSymbol, with offsets, the Async forms, device-to-device), the
// runtime's checks on out-of-range copies and unknown symbols, then a kernel that reads the
// constants and updates the globals.
#include "common.h"

struct Pair { int a; double b; };

__constant__ float coef[4];
__constant__ int cshift;
__device__ int dcounter;
__device__ float dtable[64];
__device__ Pair dpair;
static int not_a_symbol;

__global__ void apply(const float *in, float *out, int n)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= n) return;
	float x = in[i];
	out[i] = coef[0] + coef[1] * x + coef[2] * x * x + coef[3] * cshift;
	atomicAdd(&dcounter, 1);
	atomicAdd(&dtable[i % 64], 1.0f);
	if (i == 0) { dpair.a += 1; dpair.b *= 2; }
}

int main()
{
	g_name = "symbols";
	size_t sz = 0;
	OK(cudaGetSymbolSize(&sz, coef)); printf("size coef: %zu\n", sz);
	OK(cudaGetSymbolSize(&sz, cshift)); printf("size cshift: %zu\n", sz);
	OK(cudaGetSymbolSize(&sz, dtable)); printf("size dtable: %zu\n", sz);
	OK(cudaGetSymbolSize(&sz, dpair)); printf("size dpair: %zu\n", sz);
	void *a_coef = nullptr, *a_table = nullptr;
	OK(cudaGetSymbolAddress(&a_coef, coef));
	OK(cudaGetSymbolAddress(&a_table, dtable));
	CHECK(a_coef != nullptr && a_table != nullptr && a_coef != a_table, "symbol addresses distinct and set");
	cudaPointerAttributes pa;
	if (OK(cudaPointerGetAttributes(&pa, a_table))) CHECK(pa.type == cudaMemoryTypeDevice, "dtable's address is device memory");
	STATUS("size of a host variable", cudaGetSymbolSize(&sz, not_a_symbol));
	STATUS("address of a host variable", cudaGetSymbolAddress(&a_coef, not_a_symbol));

	// Copies in and out, whole and at an offset.
	float hc[4] = {0.5f, 2.0f, 0.25f, 1.0f}, back[4] = {0};
	OK(cudaMemcpyToSymbol(coef, hc, sizeof hc));
	float third = 0.125f;
	OK(cudaMemcpyToSymbol(coef, &third, sizeof third, 2 * sizeof(float)));
	OK(cudaMemcpyFromSymbol(back, coef, sizeof back));
	printf("coef: %.4f %.4f %.4f %.4f\n", back[0], back[1], back[2], back[3]);
	float tail[2] = {0};
	OK(cudaMemcpyFromSymbol(tail, coef, sizeof tail, 2 * sizeof(float)));
	printf("coef[2..3]: %.4f %.4f\n", tail[0], tail[1]);
	// The symbol's address is ordinary device memory: a plain copy from it reads the same bytes.
	float viaaddr[4] = {0};
	OK(cudaMemcpy(viaaddr, a_coef, sizeof viaaddr, cudaMemcpyDeviceToHost));
	CHECK(memcmp(viaaddr, back, sizeof back) == 0, "cudaMemcpy from cudaGetSymbolAddress reads the symbol");

	// Out of range: past the end, and an offset at the end.
	float five[5] = {0};
	STATUS("to symbol past its end", cudaMemcpyToSymbol(coef, five, sizeof five));
	STATUS("to symbol at offset = size", cudaMemcpyToSymbol(coef, five, 4, 16));
	STATUS("from symbol past its end", cudaMemcpyFromSymbol(five, coef, 4, 14));
	STATUS("to symbol with kind DeviceToHost", cudaMemcpyToSymbol(coef, hc, 4, 0, cudaMemcpyDeviceToHost));

	// Async forms in stream order.
	cudaStream_t s;
	OK(cudaStreamCreate(&s));
	int *pinned;
	OK(cudaMallocHost(&pinned, 2 * sizeof(int)));
	pinned[0] = 3; pinned[1] = -1;
	OK(cudaMemcpyToSymbolAsync(cshift, &pinned[0], sizeof(int), 0, cudaMemcpyHostToDevice, s));
	OK(cudaMemcpyFromSymbolAsync(&pinned[1], cshift, sizeof(int), 0, cudaMemcpyDeviceToHost, s));
	OK(cudaStreamSynchronize(s));
	printf("cshift via async: %d\n", pinned[1]);
	Pair hp = {7, 1.5}, hp2 = {0, 0};
	OK(cudaMemcpyToSymbolAsync(dpair, &hp, sizeof hp, 0, cudaMemcpyDefault, s));
	OK(cudaMemcpyFromSymbolAsync(&hp2, dpair, sizeof hp2, 0, cudaMemcpyDefault, s));
	OK(cudaStreamSynchronize(s));
	printf("dpair: %d %.4f\n", hp2.a, hp2.b);

	// Device to device: a buffer into the table, the table out into another buffer.
	float htab[64], *dbuf, *dbuf2;
	for (int i = 0; i < 64; i++) htab[i] = (float)(i % 7);
	OK(cudaMalloc(&dbuf, sizeof htab));
	OK(cudaMalloc(&dbuf2, sizeof htab));
	OK(cudaMemcpy(dbuf, htab, sizeof htab, cudaMemcpyHostToDevice));
	OK(cudaMemcpyToSymbol(dtable, dbuf, sizeof htab, 0, cudaMemcpyDeviceToDevice));
	OK(cudaMemcpyFromSymbol(dbuf2, dtable, sizeof htab, 0, cudaMemcpyDeviceToDevice));
	float htab2[64];
	OK(cudaMemcpy(htab2, dbuf2, sizeof htab2, cudaMemcpyDeviceToHost));
	CHECK(memcmp(htab, htab2, sizeof htab) == 0, "table device-to-device round trip");
	int zero = 0;
	OK(cudaMemcpyToSymbol(dcounter, &zero, sizeof zero));

	// A kernel reads the constants and updates the globals.
	const int n = 1000;
	float *hin = (float *)malloc(n * sizeof(float)), *hout = (float *)malloc(n * sizeof(float));
	for (int i = 0; i < n; i++) hin[i] = (float)(i % 10) * 0.5f;
	float *din, *dout;
	OK(cudaMalloc(&din, n * sizeof(float)));
	OK(cudaMalloc(&dout, n * sizeof(float)));
	OK(cudaMemcpy(din, hin, n * sizeof(float), cudaMemcpyHostToDevice));
	OK(cudaMemset(dout, 0, n * sizeof(float)));
	apply<<<(n + 127) / 128, 128, 0, s>>>(din, dout, n);
	LAUNCHED("apply");
	OK(cudaStreamSynchronize(s));
	OK(cudaMemcpy(hout, dout, n * sizeof(float), cudaMemcpyDeviceToHost));
	int counter = -1;
	OK(cudaMemcpyFromSymbol(&counter, dcounter, sizeof counter));
	OK(cudaMemcpyFromSymbol(htab2, dtable, sizeof htab2));
	OK(cudaMemcpyFromSymbol(&hp2, dpair, sizeof hp2));
	double sum = 0, tsum = 0;
	int bad = 0;
	for (int i = 0; i < n; i++) {
		float x = hin[i], want = 0.5f + 2.0f * x + 0.125f * x * x + 1.0f * 3;
		if (hout[i] != want) bad++;
		sum += hout[i];
	}
	for (int i = 0; i < 64; i++) tsum += htab2[i];
	printf("k counter: %d\n", counter);
	printf("k out sum: %.3f\n", sum);
	printf("k table sum: %.1f\n", tsum);
	printf("k dpair: %d %.4f\n", hp2.a, hp2.b);
	KCHECK(bad == 0 && counter == n, "kernel used the constants and counted every thread");

	cudaFree(din); cudaFree(dout); cudaFree(dbuf); cudaFree(dbuf2); cudaFreeHost(pinned);
	cudaStreamDestroy(s);
	free(hin); free(hout);
	return done();
}
