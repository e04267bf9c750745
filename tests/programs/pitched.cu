// Pitched memory and 2D/3D copies: cudaMallocPitch, cudaMemcpy2D(+Async) between host,
// pitched and linear memory, cudaMemset2D(+Async) of a sub-rectangle, cudaMalloc3D,
// cudaMemset3D, cudaMemcpy3D(+Async) with positions, a kernel walking rows by pitch, and the
// runtime's checks on bad pitches. Every result is checked against a host model.
#include "common.h"
#include <vector>

static unsigned long long fnv(const unsigned char *p, size_t n)
{
	unsigned long long h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) { h ^= p[i]; h *= 1099511628211ull; }
	return h;
}

__global__ void rowsum(const unsigned char *base, size_t pitch, int width, int height, unsigned *out)
{
	int y = blockIdx.x * blockDim.x + threadIdx.x;
	if (y >= height) return;
	const unsigned char *row = base + y * pitch;
	unsigned s = 0;
	for (int x = 0; x < width; x++) s += row[x];
	out[y] = s;
}

int main()
{
	g_name = "pitched";
	const int W = 300, H = 7; // bytes per row, rows
	std::vector<unsigned char> h(W * H), model(W * H), back(320 * H);
	unsigned seed = 1;
	for (auto &b : h) b = (unsigned char)lcg(seed);
	unsigned char *d;
	size_t pitch = 0;
	OK(cudaMallocPitch((void **)&d, &pitch, W, H));
	CHECK(pitch >= W, "pitch >= row width");
	CHECK(pitch % 32 == 0, "pitch a multiple of 32");
	OK(cudaMemcpy2D(d, pitch, h.data(), W, W, H, cudaMemcpyHostToDevice));
	// A 50 x 3 rectangle at (10, 2).
	OK(cudaMemset2D(d + 2 * pitch + 10, pitch, 0xab, 50, 3));
	model = h;
	for (int y = 2; y < 5; y++) memset(&model[y * W + 10], 0xab, 50);
	// Out to a host buffer with a pitch of its own (320); the padding keeps its bytes.
	memset(back.data(), 0xee, back.size());
	OK(cudaMemcpy2D(back.data(), 320, d, pitch, W, H, cudaMemcpyDeviceToHost));
	bool same = true, pad = true;
	for (int y = 0; y < H; y++) {
		same = same && memcmp(&back[y * 320], &model[y * W], W) == 0;
		for (int x = W; x < 320; x++) pad = pad && back[y * 320 + x] == 0xee;
	}
	CHECK(same, "2D round trip with a memset rectangle matches the model");
	CHECK(pad, "destination padding untouched");
	printf("2D hash: %016llx\n", fnv(model.data(), model.size()));

	// Device to device: a column band of the pitched allocation into a linear one, async.
	cudaStream_t s;
	OK(cudaStreamCreate(&s));
	unsigned char *lin;
	OK(cudaMalloc(&lin, 64 * H));
	OK(cudaMemset2DAsync(lin, 64, 0, 64, H, s));
	OK(cudaMemcpy2DAsync(lin, 64, d + 100, pitch, 64, H, cudaMemcpyDeviceToDevice, s));
	std::vector<unsigned char> band(64 * H);
	OK(cudaMemcpyAsync(band.data(), lin, band.size(), cudaMemcpyDeviceToHost, s));
	OK(cudaStreamSynchronize(s));
	same = true;
	for (int y = 0; y < H; y++) same = same && memcmp(&band[y * 64], &model[y * W + 100], 64) == 0;
	CHECK(same, "2D async device-to-device band");

	// A kernel walks the rows by pitch.
	unsigned *dsum, hs[H];
	OK(cudaMalloc(&dsum, sizeof hs));
	rowsum<<<1, 32>>>(d, pitch, W, H, dsum);
	LAUNCHED("rowsum");
	OK(cudaMemcpy(hs, dsum, sizeof hs, cudaMemcpyDeviceToHost));
	bool rows = true;
	printf("k row sums:");
	for (int y = 0; y < H; y++) {
		unsigned want = 0;
		for (int x = 0; x < W; x++) want += model[y * W + x];
		rows = rows && hs[y] == want;
		printf(" %u", hs[y]);
	}
	printf("\n");
	KCHECK(rows, "kernel row sums match the model");

	// Bad pitches and widths.
	STATUS("2D copy width > destination pitch", cudaMemcpy2D(back.data(), 100, d, pitch, W, H, cudaMemcpyDeviceToHost));
	STATUS("2D copy width > source pitch", cudaMemcpy2D(d, pitch, h.data(), 100, W, H, cudaMemcpyHostToDevice));
	STATUS("2D memset width > pitch", cudaMemset2D(d, pitch, 0, pitch + 1, 1));
	STATUS("2D copy of zero rows", cudaMemcpy2D(d, pitch, h.data(), W, W, 0, cudaMemcpyHostToDevice));

	// 3D: 40 bytes x 5 rows x 4 slices.
	const int X = 40, Y = 5, Z = 4;
	cudaExtent ext = make_cudaExtent(X, Y, Z);
	cudaPitchedPtr pp;
	OK(cudaMalloc3D(&pp, ext));
	CHECK(pp.pitch >= X && pp.xsize == X && pp.ysize == Y, "3D pitched pointer describes the extent");
	OK(cudaMemset3D(pp, 0x07, ext));
	std::vector<unsigned char> h3(X * Y * Z), m3(X * Y * Z, 0x07), b3(X * Y * Z);
	for (auto &b : h3) b = (unsigned char)lcg(seed);
	// Copy a 16 x 3 x 2 box from host (at 4,1,1) to device (at 8,2,2).
	cudaMemcpy3DParms p;
	memset(&p, 0, sizeof p);
	p.srcPtr = make_cudaPitchedPtr(h3.data(), X, X, Y);
	p.srcPos = make_cudaPos(4, 1, 1);
	p.dstPtr = pp;
	p.dstPos = make_cudaPos(8, 2, 2);
	p.extent = make_cudaExtent(16, 3, 2);
	p.kind = cudaMemcpyHostToDevice;
	OK(cudaMemcpy3D(&p));
	for (int z = 0; z < 2; z++) for (int y = 0; y < 3; y++) for (int x = 0; x < 16; x++)
		m3[((2 + z) * Y + 2 + y) * X + 8 + x] = h3[((1 + z) * Y + 1 + y) * X + 4 + x];
	// A memset of the last slice's first row through an offset pitched pointer.
	cudaPitchedPtr last = pp;
	last.ptr = (char *)pp.ptr + (size_t)3 * Y * pp.pitch;
	OK(cudaMemset3D(last, 0x3c, make_cudaExtent(X, 1, 1)));
	memset(&m3[(3 * Y) * X], 0x3c, X);
	memset(&p, 0, sizeof p);
	p.srcPtr = pp;
	p.dstPtr = make_cudaPitchedPtr(b3.data(), X, X, Y);
	p.extent = ext;
	p.kind = cudaMemcpyDeviceToHost;
	OK(cudaMemcpy3DAsync(&p, s));
	OK(cudaStreamSynchronize(s));
	CHECK(b3 == m3, "3D box copy and slice memset match the model");
	printf("3D hash: %016llx\n", fnv(b3.data(), b3.size()));
	p.extent = ext;
	p.kind = (cudaMemcpyKind)9;
	STATUS("3D copy of unknown kind", cudaMemcpy3D(&p));

	cudaFree(d); cudaFree(lin); cudaFree(dsum); cudaFree(pp.ptr);
	cudaStreamDestroy(s);
	return done();
}
