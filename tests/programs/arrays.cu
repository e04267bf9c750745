// CUDA arrays, texture and surface objects: cudaMallocArray / cudaMalloc3DArray with their
// info and channel descriptors, 2D and 3D copies into and out of arrays (and array to array),
// texture objects over an array (point and linear filtering, clamp addressing), over linear
// and pitched memory, their descriptors read back, and a surface object written by a kernel.
#include "common.h"
#include <vector>

__global__ void tex_point(cudaTextureObject_t t, float *out, int w, int h)
{
	int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y;
	if (x < w && y < h) out[y * w + x] = tex2D<float>(t, x + 0.5f, y + 0.5f);
}
// Between texel centres (x+1.0 lies halfway between x and x+1) and outside the edge (clamped).
__global__ void tex_probe(cudaTextureObject_t t, float *out)
{
	out[0] = tex2D<float>(t, 1.0f, 0.5f);
	out[1] = tex2D<float>(t, -5.0f, 0.5f);
	out[2] = tex2D<float>(t, 1000.0f, 1000.0f);
}
__global__ void surf_double(cudaSurfaceObject_t s, int w, int h)
{
	int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y;
	if (x >= w || y >= h) return;
	float v;
	surf2Dread(&v, s, x * (int)sizeof(float), y);
	surf2Dwrite(v * 2.0f + 1.0f, s, x * (int)sizeof(float), y);
}
__global__ void fetch1d(cudaTextureObject_t t, int *out, int n) { int i = threadIdx.x; if (i < n) out[i] = tex1Dfetch<int>(t, i) * 10; }
__global__ void fetch_pitch(cudaTextureObject_t t, float *out) { out[threadIdx.x] = tex2D<float>(t, threadIdx.x + 0.5f, 2.5f); }

int main()
{
	g_name = "arrays";
	const int W = 64, H = 16;
	std::vector<float> h(W * H), back(W * H);
	for (int i = 0; i < W * H; i++) h[i] = (float)(i % 97) * 0.5f;
	cudaChannelFormatDesc cd = cudaCreateChannelDesc<float>();
	printf("float channel: %d %d %d %d kind %d\n", cd.x, cd.y, cd.z, cd.w, (int)cd.f);
	cudaArray_t arr;
	OK(cudaMallocArray(&arr, &cd, W, H, cudaArraySurfaceLoadStore));
	cudaChannelFormatDesc got;
	cudaExtent ext;
	unsigned flags = 0;
	OK(cudaArrayGetInfo(&got, &ext, &flags, arr));
	printf("array info: %d bits kind %d, extent %zu x %zu x %zu, flags %u\n", got.x, (int)got.f, ext.width, ext.height, ext.depth, flags);
	OK(cudaGetChannelDesc(&got, arr));
	CHECK(got.x == 32 && got.f == cudaChannelFormatKindFloat, "cudaGetChannelDesc agrees");
	OK(cudaMemcpy2DToArray(arr, 0, 0, h.data(), W * sizeof(float), W * sizeof(float), H, cudaMemcpyHostToDevice));
	OK(cudaMemcpy2DFromArray(back.data(), W * sizeof(float), arr, 0, 0, W * sizeof(float), H, cudaMemcpyDeviceToHost));
	CHECK(back == h, "2D round trip through the array");
	// A sub-rectangle out at an offset: 8 columns from column 4, rows 3..5.
	float sub[3][8];
	OK(cudaMemcpy2DFromArray(sub, sizeof sub[0], arr, 4 * sizeof(float), 3, sizeof sub[0], 3, cudaMemcpyDeviceToHost));
	CHECK(sub[0][0] == h[3 * W + 4] && sub[2][7] == h[5 * W + 11], "sub-rectangle from the array");
	STATUS("copy past the array's width", cudaMemcpy2DToArray(arr, 8, 0, h.data(), W * sizeof(float), W * sizeof(float), 1, cudaMemcpyHostToDevice));
	STATUS("copy past the array's height", cudaMemcpy2DToArray(arr, 0, 1, h.data(), W * sizeof(float), W * sizeof(float), H, cudaMemcpyHostToDevice));
	cudaArray_t arr2;
	OK(cudaMallocArray(&arr2, &cd, W, H, 0));
	OK(cudaMemcpy2DArrayToArray(arr2, 0, 0, arr, 0, 0, W * sizeof(float), H, cudaMemcpyDeviceToDevice));
	std::fill(back.begin(), back.end(), 0.0f);
	OK(cudaMemcpy2DFromArray(back.data(), W * sizeof(float), arr2, 0, 0, W * sizeof(float), H, cudaMemcpyDeviceToHost));
	CHECK(back == h, "array to array copy");

	// Texture object over the array.
	cudaResourceDesc rd;
	memset(&rd, 0, sizeof rd);
	rd.resType = cudaResourceTypeArray;
	rd.res.array.array = arr2;
	cudaTextureDesc td;
	memset(&td, 0, sizeof td);
	td.addressMode[0] = td.addressMode[1] = cudaAddressModeClamp;
	td.filterMode = cudaFilterModePoint;
	td.readMode = cudaReadModeElementType;
	td.normalizedCoords = 0;
	cudaTextureObject_t tex = 0, texl = 0;
	OK(cudaCreateTextureObject(&tex, &rd, &td, nullptr));
	td.filterMode = cudaFilterModeLinear;
	OK(cudaCreateTextureObject(&texl, &rd, &td, nullptr));
	cudaResourceDesc rd2;
	OK(cudaGetTextureObjectResourceDesc(&rd2, texl));
	CHECK(rd2.resType == cudaResourceTypeArray && rd2.res.array.array == arr2, "texture's resource read back");
	cudaTextureDesc td2;
	OK(cudaGetTextureObjectTextureDesc(&td2, texl));
	printf("texture desc: filter %d, address %d, read %d\n", (int)td2.filterMode, (int)td2.addressMode[0], (int)td2.readMode);
	float *dout;
	OK(cudaMalloc(&dout, W * H * sizeof(float)));
	tex_point<<<dim3(W / 32, H), 32>>>(tex, dout, W, H);
	LAUNCHED("tex_point");
	std::fill(back.begin(), back.end(), -1.0f);
	OK(cudaMemcpy(back.data(), dout, W * H * sizeof(float), cudaMemcpyDeviceToHost));
	KCHECK(back == h, "point-sampled texture reads every texel");
	tex_probe<<<1, 1>>>(texl, dout);
	float pr[3];
	OK(cudaMemcpy(pr, dout, sizeof pr, cudaMemcpyDeviceToHost));
	printf("k linear halfway %.3f (texels %.1f %.1f), clamped left %.3f, clamped corner %.3f\n", pr[0], h[0], h[1], pr[1], pr[2]);

	// Surface: read, double plus one, write back; then the array holds it.
	cudaResourceDesc rs;
	memset(&rs, 0, sizeof rs);
	rs.resType = cudaResourceTypeArray;
	rs.res.array.array = arr;
	cudaSurfaceObject_t surf = 0;
	OK(cudaCreateSurfaceObject(&surf, &rs));
	OK(cudaGetSurfaceObjectResourceDesc(&rd2, surf));
	CHECK(rd2.res.array.array == arr, "surface's resource read back");
	surf_double<<<dim3(W / 32, H), 32>>>(surf, W, H);
	LAUNCHED("surf_double");
	OK(cudaMemcpy2DFromArray(back.data(), W * sizeof(float), arr, 0, 0, W * sizeof(float), H, cudaMemcpyDeviceToHost));
	bool sok = true;
	for (int i = 0; i < W * H; i++) sok = sok && back[i] == h[i] * 2 + 1;
	printf("k surface wrote: %.1f %.1f\n", back[0], back[W * H - 1]);
	KCHECK(sok, "surface writes every texel");
	cudaSurfaceObject_t sbad = 0;
	if (STATUS("surface over an array without the load-store flag", cudaCreateSurfaceObject(&sbad, &rd)) == cudaSuccess) cudaDestroySurfaceObject(sbad);

	// Texture over linear memory (1D, int) and over pitched memory (2D).
	int hl[32], *dl, *dlo;
	for (int i = 0; i < 32; i++) hl[i] = i * i;
	OK(cudaMalloc(&dl, sizeof hl));
	OK(cudaMalloc(&dlo, sizeof hl));
	OK(cudaMemcpy(dl, hl, sizeof hl, cudaMemcpyHostToDevice));
	cudaResourceDesc rl;
	memset(&rl, 0, sizeof rl);
	rl.resType = cudaResourceTypeLinear;
	rl.res.linear.devPtr = dl;
	rl.res.linear.desc = cudaCreateChannelDesc<int>();
	rl.res.linear.sizeInBytes = sizeof hl;
	cudaTextureDesc tl;
	memset(&tl, 0, sizeof tl);
	tl.readMode = cudaReadModeElementType;
	cudaTextureObject_t tlin = 0;
	OK(cudaCreateTextureObject(&tlin, &rl, &tl, nullptr));
	fetch1d<<<1, 32>>>(tlin, dlo, 32);
	int hlo[32];
	OK(cudaMemcpy(hlo, dlo, sizeof hlo, cudaMemcpyDeviceToHost));
	printf("k linear texture: %d %d %d\n", hlo[0], hlo[5], hlo[31]);
	float *dp;
	size_t pitch;
	OK(cudaMallocPitch((void **)&dp, &pitch, W * sizeof(float), 4));
	OK(cudaMemcpy2D(dp, pitch, h.data(), W * sizeof(float), W * sizeof(float), 4, cudaMemcpyHostToDevice));
	cudaResourceDesc rp;
	memset(&rp, 0, sizeof rp);
	rp.resType = cudaResourceTypePitch2D;
	rp.res.pitch2D.devPtr = dp;
	rp.res.pitch2D.desc = cd;
	rp.res.pitch2D.width = W;
	rp.res.pitch2D.height = 4;
	rp.res.pitch2D.pitchInBytes = pitch;
	cudaTextureObject_t tpitch = 0;
	td.filterMode = cudaFilterModePoint;
	OK(cudaCreateTextureObject(&tpitch, &rp, &td, nullptr));
	fetch_pitch<<<1, 32>>>(tpitch, dout);
	float fp[32];
	OK(cudaMemcpy(fp, dout, sizeof fp, cudaMemcpyDeviceToHost));
	printf("k pitched texture row 2: %.1f %.1f (want %.1f %.1f)\n", fp[0], fp[31], h[2 * W], h[2 * W + 31]);
	rp.res.pitch2D.pitchInBytes = pitch + 4;
	cudaTextureObject_t tbad = 0;
	STATUS("texture over a misaligned pitch", cudaCreateTextureObject(&tbad, &rp, &td, nullptr));
	STATUS("texture without a resource", cudaCreateTextureObject(&tbad, nullptr, &td, nullptr));

	// A 3D array of int2: in and out with cudaMemcpy3D.
	const int X = 8, Y = 4, Z = 3;
	cudaChannelFormatDesc c2 = cudaCreateChannelDesc<int2>();
	cudaArray_t a3;
	OK(cudaMalloc3DArray(&a3, &c2, make_cudaExtent(X, Y, Z), 0));
	OK(cudaArrayGetInfo(&got, &ext, &flags, a3));
	printf("3D array info: %d,%d bits kind %d, extent %zu x %zu x %zu\n", got.x, got.y, (int)got.f, ext.width, ext.height, ext.depth);
	std::vector<int2> h3(X * Y * Z), b3(X * Y * Z);
	for (int i = 0; i < X * Y * Z; i++) h3[i] = make_int2(i, -i);
	cudaMemcpy3DParms p;
	memset(&p, 0, sizeof p);
	p.srcPtr = make_cudaPitchedPtr(h3.data(), X * sizeof(int2), X, Y);
	p.dstArray = a3;
	p.extent = make_cudaExtent(X, Y, Z);
	p.kind = cudaMemcpyHostToDevice;
	OK(cudaMemcpy3D(&p));
	memset(&p, 0, sizeof p);
	p.srcArray = a3;
	p.srcPos = make_cudaPos(2, 1, 1);
	p.dstPtr = make_cudaPitchedPtr(b3.data(), X * sizeof(int2), X, Y);
	p.extent = make_cudaExtent(4, 2, 2);
	p.kind = cudaMemcpyDeviceToHost;
	OK(cudaMemcpy3D(&p));
	bool ok3 = true;
	for (int z = 0; z < 2; z++) for (int y = 0; y < 2; y++) for (int x = 0; x < 4; x++) {
		int2 v = b3[(z * Y + y) * X + x], w = h3[((1 + z) * Y + 1 + y) * X + 2 + x];
		ok3 = ok3 && v.x == w.x && v.y == w.y;
	}
	CHECK(ok3, "3D array box copy");

	cudaDestroyTextureObject(tex); cudaDestroyTextureObject(texl); cudaDestroyTextureObject(tlin); cudaDestroyTextureObject(tpitch);
	cudaDestroySurfaceObject(surf);
	cudaFreeArray(arr); cudaFreeArray(arr2); cudaFreeArray(a3);
	cudaFree(dout); cudaFree(dl); cudaFree(dlo); cudaFree(dp);
	return done();
}
