/* The driver API's CUDA arrays (issue 13): creation and descriptors in the current and the
 * pre-3.2 (32-bit) forms, copies to, from and between arrays, arrays as sides of
 * CUDA_MEMCPY2D / CUDA_MEMCPY3D copies, the per-thread default stream forms, and texture and
 * surface objects and references. Run in-process (sim) and as a remote client of a sim server:
 *   driverarrays LIBDIR [label]
 * Status values are NVIDIA's documented CUresult numbers: 0 success, 1 invalid value,
 * 201 invalid context, 400 invalid handle, 500 not found. Structs are laid out as NVIDIA
 * documents them for LP64. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef unsigned long long CUdeviceptr;
typedef void *H; /* every opaque handle */
static int failures, checks;
#define CHECK(c, ...) do { checks++; if (!(c)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)
#define EQ(got, want, what) do { long long g_ = (long long)(got), w_ = (long long)(want); CHECK(g_ == w_, "%s: got %lld, want %lld", what, g_, w_); } while (0)

/* CUDA_ARRAY_DESCRIPTOR and CUDA_ARRAY3D_DESCRIPTOR, and their pre-3.2 forms. */
typedef struct { size_t w, h; int format; unsigned channels; } desc2;
typedef struct { unsigned w, h; int format; unsigned channels; } desc2v1;
typedef struct { size_t w, h, d; int format; unsigned channels, flags; } desc3;
typedef struct { unsigned w, h, d; int format; unsigned channels, flags; } desc3v1;
/* CUDA_MEMCPY2D and CUDA_MEMCPY3D (CUDA_MEMCPY3D_PEER: contexts in the reserved slots). */
typedef struct {
	size_t sx, sy; int smt; const void *shost; CUdeviceptr sdev; H sarr; size_t spitch;
	size_t dx, dy; int dmt; void *dhost; CUdeviceptr ddev; H darr; size_t dpitch;
	size_t w, h;
} m2d;
typedef struct {
	unsigned sx, sy; int smt; const void *shost; unsigned sdev; H sarr; unsigned spitch;
	unsigned dx, dy; int dmt; void *dhost; unsigned ddev; H darr; unsigned dpitch;
	unsigned w, h;
} m2dv1;
typedef struct {
	size_t sx, sy, sz, slod; int smt; const void *shost; CUdeviceptr sdev; H sarr; H sctx; size_t spitch, sheight;
	size_t dx, dy, dz, dlod; int dmt; void *dhost; CUdeviceptr ddev; H darr; H dctx; size_t dpitch, dheight;
	size_t w, h, d;
} m3d;
enum { HOST = 1, DEVICE = 2, ARRAY = 3 };
enum { U8 = 0x01, U32 = 0x03, S16 = 0x09, F32 = 0x20 };

#define FNS(X) \
	X(cuInit, (unsigned)) X(cuDevicePrimaryCtxRetain, (H *, int)) X(cuCtxSetCurrent, (H)) X(cuCtxSynchronize, (void)) \
	X(cuMemAlloc_v2, (CUdeviceptr *, size_t)) X(cuMemFree_v2, (CUdeviceptr)) \
	X(cuMemcpyHtoD_v2, (CUdeviceptr, const void *, size_t)) X(cuMemcpyDtoH_v2, (void *, CUdeviceptr, size_t)) \
	X(cuStreamCreate, (H *, unsigned)) X(cuStreamSynchronize, (H)) X(cuStreamDestroy_v2, (H)) \
	X(cuGetProcAddress_v2, (const char *, void **, int, unsigned long long, int *)) \
	X(cuArrayCreate_v2, (H *, const desc2 *)) X(cuArrayCreate, (H *, const desc2v1 *)) \
	X(cuArray3DCreate_v2, (H *, const desc3 *)) X(cuArray3DCreate, (H *, const desc3v1 *)) \
	X(cuArrayGetDescriptor_v2, (desc2 *, H)) X(cuArrayGetDescriptor, (desc2v1 *, H)) \
	X(cuArray3DGetDescriptor_v2, (desc3 *, H)) X(cuArray3DGetDescriptor, (desc3v1 *, H)) \
	X(cuArrayDestroy, (H)) X(cuArrayGetPlane, (H *, H, unsigned)) \
	X(cuArrayGetMemoryRequirements, (void *, H, int)) X(cuArrayGetSparseProperties, (void *, H)) \
	X(cuMemcpyHtoA_v2, (H, size_t, const void *, size_t)) X(cuMemcpyAtoH_v2, (void *, H, size_t, size_t)) \
	X(cuMemcpyHtoAAsync_v2, (H, size_t, const void *, size_t, H)) X(cuMemcpyAtoHAsync_v2, (void *, H, size_t, size_t, H)) \
	X(cuMemcpyDtoA_v2, (H, size_t, CUdeviceptr, size_t)) X(cuMemcpyAtoD_v2, (CUdeviceptr, H, size_t, size_t)) \
	X(cuMemcpyAtoA_v2, (H, size_t, H, size_t, size_t)) \
	X(cuMemcpyHtoA, (H, unsigned, const void *, unsigned)) X(cuMemcpyAtoH, (void *, H, unsigned, unsigned)) \
	X(cuMemcpyAtoA, (H, unsigned, H, unsigned, unsigned)) \
	X(cuMemcpyHtoA_v2_ptds, (H, size_t, const void *, size_t)) X(cuMemcpyAtoH_v2_ptds, (void *, H, size_t, size_t)) \
	X(cuMemcpyAtoA_v2_ptds, (H, size_t, H, size_t, size_t)) \
	X(cuMemcpyHtoAAsync_v2_ptsz, (H, size_t, const void *, size_t, H)) X(cuMemcpyAtoHAsync_v2_ptsz, (void *, H, size_t, size_t, H)) \
	X(cuMemcpy2D_v2, (const m2d *)) X(cuMemcpy2D, (const m2dv1 *)) X(cuMemcpy3D_v2, (const m3d *)) \
	X(cuMemcpy3DPeer, (const m3d *)) X(cuMemcpy3DPeerAsync, (const m3d *, H)) \
	X(cuMipmappedArrayCreate, (H *, const desc3 *, unsigned)) X(cuMipmappedArrayDestroy, (H)) \
	X(cuMipmappedArrayGetLevel, (H *, H, unsigned)) X(cuMipmappedArrayGetMemoryRequirements, (void *, H, int)) \
	X(cuMipmappedArrayGetSparseProperties, (void *, H)) \
	X(cuTexObjectCreate, (unsigned long long *, const void *, const void *, const void *)) \
	X(cuTexObjectDestroy, (unsigned long long)) X(cuTexObjectGetResourceDesc, (void *, unsigned long long)) \
	X(cuTexObjectGetTextureDesc, (void *, unsigned long long)) X(cuTexObjectGetResourceViewDesc, (void *, unsigned long long)) \
	X(cuSurfObjectCreate, (unsigned long long *, const void *)) X(cuSurfObjectDestroy, (unsigned long long)) \
	X(cuSurfObjectGetResourceDesc, (void *, unsigned long long)) \
	X(cuTexRefCreate, (H *)) X(cuTexRefDestroy, (H)) X(cuTexRefSetArray, (H, H, unsigned)) X(cuTexRefGetArray, (H *, H)) \
	X(cuTexRefSetAddress_v2, (size_t *, H, CUdeviceptr, size_t)) X(cuTexRefGetAddress_v2, (CUdeviceptr *, H)) \
	X(cuTexRefSetAddress2D_v3, (H, const desc2 *, CUdeviceptr, size_t)) \
	X(cuTexRefSetFormat, (H, int, int)) X(cuTexRefGetFormat, (int *, int *, H)) \
	X(cuTexRefSetMipmapLevelClamp, (H, float, float)) X(cuTexRefGetMipmapLevelClamp, (float *, float *, H)) \
	X(cuTexRefSetBorderColor, (H, float *)) X(cuTexRefGetBorderColor, (float *, H)) \
	X(cuTexRefSetAddressMode, (H, int, int)) X(cuTexRefGetAddressMode, (int *, H, int)) \
	X(cuModuleGetTexRef, (H *, H, const char *)) X(cuSurfRefGetArray, (H *, H))

#define DECL(name, args) static CUresult (*name) args;
FNS(DECL)

static void creation(void) {
	H a = NULL, b = NULL;
	desc2 d = {8, 4, F32, 1}, got;
	EQ(cuArrayCreate_v2(&a, &d), 0, "cuArrayCreate_v2 8x4 float");
	memset(&got, 0xff, sizeof got);
	EQ(cuArrayGetDescriptor_v2(&got, a), 0, "cuArrayGetDescriptor_v2");
	CHECK(got.w == 8 && got.h == 4 && got.format == F32 && got.channels == 1, "descriptor as created: %zu %zu %#x %u", got.w, got.h, got.format, got.channels);
	desc3 g3;
	memset(&g3, 0xff, sizeof g3);
	EQ(cuArray3DGetDescriptor_v2(&g3, a), 0, "cuArray3DGetDescriptor_v2 of a 2D array");
	CHECK(g3.w == 8 && g3.h == 4 && g3.d == 0 && g3.flags == 0 && g3.channels == 1, "2D array: depth 0, no flags");
	desc2v1 g1;
	memset(&g1, 0xff, sizeof g1);
	EQ(cuArrayGetDescriptor(&g1, a), 0, "the pre-3.2 cuArrayGetDescriptor");
	CHECK(g1.w == 8 && g1.h == 4 && g1.format == F32 && g1.channels == 1, "32-bit descriptor fields");

	desc2v1 old = {16, 0, U8, 4};
	EQ(cuArrayCreate(&b, &old), 0, "the pre-3.2 cuArrayCreate reads 32-bit dimensions");
	EQ(cuArrayGetDescriptor_v2(&got, b), 0, "its descriptor");
	CHECK(got.w == 16 && got.h == 0 && got.format == U8 && got.channels == 4, "1D uchar4 array");
	EQ(cuArrayDestroy(b), 0, "cuArrayDestroy");
	EQ(cuArrayDestroy(b), 400, "a destroyed array is an invalid handle");
	EQ(cuArrayGetDescriptor_v2(&got, b), 400, "and unknown to the getters");
	EQ(cuArrayDestroy(NULL), 400, "cuArrayDestroy(NULL) is an invalid handle (unlike cudaFreeArray)");
	EQ(cuArrayDestroy((H)0x7e5a09000001ull), 400, "a wild handle");

	desc3 v = {4, 4, 3, S16, 2, 0}, v3;
	EQ(cuArray3DCreate_v2(&b, &v), 0, "cuArray3DCreate_v2 4x4x3 short2");
	EQ(cuArray3DGetDescriptor_v2(&v3, b), 0, "cuArray3DGetDescriptor_v2");
	CHECK(v3.w == 4 && v3.h == 4 && v3.d == 3 && v3.format == S16 && v3.channels == 2, "3D descriptor as created");
	desc3v1 v31;
	EQ(cuArray3DGetDescriptor(&v31, b), 0, "pre-3.2 cuArray3DGetDescriptor");
	CHECK(v31.w == 4 && v31.d == 3 && v31.channels == 2, "32-bit 3D fields");
	EQ(cuArrayDestroy(b), 0, "destroy the 3D array");
	desc3v1 o3 = {8, 8, 6, U32, 1, 4 /* cubemap */};
	EQ(cuArray3DCreate(&b, &o3), 0, "pre-3.2 cuArray3DCreate: a cubemap");
	EQ(cuArrayDestroy(b), 0, "destroy it");

	/* What the driver refuses. */
	desc2 bad = {8, 4, 0x77, 1};
	EQ(cuArrayCreate_v2(&b, &bad), 1, "an unknown format");
	bad.format = F32; bad.channels = 3;
	EQ(cuArrayCreate_v2(&b, &bad), 1, "three channels");
	bad.channels = 1; bad.w = 0;
	EQ(cuArrayCreate_v2(&b, &bad), 1, "width 0");
	bad.w = 1ull << 40;
	EQ(cuArrayCreate_v2(&b, &bad), 1, "a width past the device's limit");
	EQ(cuArrayCreate_v2(NULL, &d), 1, "no handle pointer");
	EQ(cuArrayCreate_v2(&b, NULL), 1, "no descriptor");
	desc3 cube = {8, 4, 6, F32, 1, 4};
	EQ(cuArray3DCreate_v2(&b, &cube), 1, "a cubemap that is not square");
	desc3 badflags = {8, 4, 2, F32, 1, 0x100};
	EQ(cuArray3DCreate_v2(&b, &badflags), 1, "unknown flags");
	EQ(cuArrayGetDescriptor_v2(NULL, a), 1, "no descriptor to fill");

	/* vgpu's arrays are neither planar, deferred-mapping nor sparse. */
	char buf[64];
	EQ(cuArrayGetPlane(&b, a, 0), 1, "cuArrayGetPlane of a single-planar array");
	EQ(cuArrayGetMemoryRequirements(buf, a, 0), 1, "cuArrayGetMemoryRequirements without deferred mapping");
	EQ(cuArrayGetSparseProperties(buf, a), 1, "cuArrayGetSparseProperties of a dense array");
	EQ(cuArrayGetPlane(&b, (H)0x1234, 0), 400, "cuArrayGetPlane of a wild handle");
	EQ(cuArrayDestroy(a), 0, "destroy");

	void *fn = NULL;
	int st = 9;
	EQ(cuGetProcAddress_v2("cuArrayCreate", &fn, 12000, 0, &st), 0, "cuGetProcAddress(cuArrayCreate, 12000)");
	CHECK(fn == (void *)cuArrayCreate_v2, "CUDA 12 gets the v2 form");
	EQ(cuGetProcAddress_v2("cuMemcpy2D", &fn, 3000, 0, &st), 0, "cuGetProcAddress(cuMemcpy2D, 3000)");
	CHECK(fn == (void *)cuMemcpy2D, "CUDA 3.0 gets the pre-3.2 form");
}

static void linear_copies(void) {
	H a = NULL, b = NULL;
	desc2 d = {8, 4, U32, 1}; /* 32 bytes a row, 128 in all */
	EQ(cuArrayCreate_v2(&a, &d), 0, "array a");
	EQ(cuArrayCreate_v2(&b, &d), 0, "array b");
	unsigned in[32], out[32];
	for (int i = 0; i < 32; i++) in[i] = 1000 + i;
	EQ(cuMemcpyHtoA_v2(a, 0, in, sizeof in), 0, "cuMemcpyHtoA_v2, the whole array");
	memset(out, 0, sizeof out);
	EQ(cuMemcpyAtoH_v2(out, a, 0, sizeof out), 0, "cuMemcpyAtoH_v2");
	CHECK(!memcmp(in, out, sizeof in), "array round trip");
	EQ(cuMemcpyAtoH_v2(out, a, 64, 8), 0, "8 bytes from byte 64 (row 2)");
	EQ(out[0], 1016, "row 2's first element");
	EQ(cuMemcpyHtoA_v2(a, 120, in, 16), 1, "a copy past the end");
	EQ(cuMemcpyAtoH_v2(out, a, 129, 0), 1, "an offset past the end");
	EQ(cuMemcpyAtoH_v2(out, a, ~0ull, 2), 1, "an offset that wraps");
	EQ(cuMemcpyHtoA_v2((H)0x5555, 0, in, 4), 400, "a wild array");

	EQ(cuMemcpyAtoA_v2(b, 4, a, 0, 124), 0, "cuMemcpyAtoA_v2, shifted by one element");
	EQ(cuMemcpyAtoH_v2(out, b, 4, 8), 0, "read b");
	CHECK(out[0] == 1000 && out[1] == 1001, "b holds a shifted: %u %u", out[0], out[1]);
	EQ(cuMemcpyAtoA_v2(b, 8, a, 0, 124), 1, "AtoA past the destination's end");

	CUdeviceptr dp = 0;
	EQ(cuMemAlloc_v2(&dp, 128), 0, "cuMemAlloc");
	EQ(cuMemcpyAtoD_v2(dp, a, 0, 128), 0, "cuMemcpyAtoD_v2");
	memset(out, 0, sizeof out);
	EQ(cuMemcpyDtoH_v2(out, dp, 128), 0, "read the device copy");
	CHECK(!memcmp(in, out, sizeof in), "AtoD moved the array's bytes");
	unsigned seven[4] = {7, 7, 7, 7};
	EQ(cuMemcpyHtoD_v2(dp, seven, 16), 0, "sevens to device memory");
	EQ(cuMemcpyDtoA_v2(b, 16, dp, 16), 0, "cuMemcpyDtoA_v2");
	EQ(cuMemcpyAtoH_v2(out, b, 16, 16), 0, "read back");
	CHECK(out[0] == 7 && out[3] == 7, "DtoA landed at byte 16");
	EQ(cuMemcpyDtoA_v2(b, 0, dp + 120, 16), 1, "DtoA from past the allocation's end");

	/* The pre-3.2 names take 32-bit offsets and counts. */
	EQ(cuMemcpyHtoA(a, 4, seven, 8), 0, "pre-3.2 cuMemcpyHtoA");
	EQ(cuMemcpyAtoH(out, a, 0, 12), 0, "pre-3.2 cuMemcpyAtoH");
	CHECK(out[0] == 1000 && out[1] == 7 && out[2] == 7, "32-bit offsets: %u %u %u", out[0], out[1], out[2]);
	EQ(cuMemcpyAtoA(b, 0, a, 0, 128), 0, "pre-3.2 cuMemcpyAtoA");

	/* Stream-ordered and per-thread forms. */
	H s = NULL;
	EQ(cuStreamCreate(&s, 0), 0, "a stream");
	EQ(cuMemcpyHtoAAsync_v2(a, 0, in, 128, s), 0, "cuMemcpyHtoAAsync_v2");
	memset(out, 0, sizeof out);
	EQ(cuMemcpyAtoHAsync_v2(out, a, 0, 128, s), 0, "cuMemcpyAtoHAsync_v2");
	EQ(cuStreamSynchronize(s), 0, "sync");
	CHECK(!memcmp(in, out, sizeof in), "async round trip");
	EQ(cuMemcpyHtoAAsync_v2(a, 0, in, 4, (H)0x999), 400, "an unknown stream");
	EQ(cuMemcpyHtoA_v2_ptds(a, 0, seven, 16), 0, "cuMemcpyHtoA_v2_ptds");
	EQ(cuMemcpyAtoA_v2_ptds(b, 0, a, 0, 16), 0, "cuMemcpyAtoA_v2_ptds");
	memset(out, 0, sizeof out);
	EQ(cuMemcpyAtoH_v2_ptds(out, b, 0, 16), 0, "cuMemcpyAtoH_v2_ptds");
	CHECK(out[0] == 7 && out[3] == 7, "per-thread copies");
	EQ(cuMemcpyHtoAAsync_v2_ptsz(a, 0, in, 16, NULL), 0, "cuMemcpyHtoAAsync_v2_ptsz on the per-thread stream");
	EQ(cuMemcpyAtoHAsync_v2_ptsz(out, a, 0, 16, NULL), 0, "cuMemcpyAtoHAsync_v2_ptsz");
	EQ(cuCtxSynchronize(), 0, "sync");
	EQ(out[0], 1000, "per-thread async copies");
	EQ(cuStreamDestroy_v2(s), 0, "destroy the stream");
	EQ(cuMemFree_v2(dp), 0, "free");
	EQ(cuArrayDestroy(a), 0, "destroy a");
	EQ(cuArrayDestroy(b), 0, "destroy b");
}

static void pitched_copies(H ctx) {
	H a = NULL;
	desc2 d = {8, 4, U8, 1}; /* 8 bytes a row */
	EQ(cuArrayCreate_v2(&a, &d), 0, "an 8x4 byte array");
	unsigned char zero[32] = {0}, src[6] = {1, 2, 3, 4, 5, 6}, out[32];
	EQ(cuMemcpyHtoA_v2(a, 0, zero, 32), 0, "clear it");
	m2d c = {0};
	c.smt = HOST; c.shost = src; c.spitch = 3;
	c.dmt = ARRAY; c.darr = a; c.dx = 2; c.dy = 1;
	c.w = 3; c.h = 2;
	EQ(cuMemcpy2D_v2(&c), 0, "cuMemcpy2D_v2: a 3x2 host block to byte 2, row 1 of the array");
	EQ(cuMemcpyAtoH_v2(out, a, 0, 32), 0, "read the array");
	CHECK(out[10] == 1 && out[11] == 2 && out[12] == 3 && out[18] == 4 && out[20] == 6 && out[9] == 0 && out[13] == 0,
	      "the block lies at the array's own pitch: %d %d %d %d", out[10], out[12], out[18], out[20]);
	c.dx = 6;
	EQ(cuMemcpy2D_v2(&c), 1, "a block past the row's end");
	c.dx = 0; c.dy = 3;
	EQ(cuMemcpy2D_v2(&c), 1, "a block past the last row");
	c.dy = 0; c.darr = (H)0x4321;
	EQ(cuMemcpy2D_v2(&c), 400, "a wild array side");

	/* Array to host, through the pre-3.2 descriptor. */
	unsigned char back[8] = {0};
	m2dv1 o = {0};
	o.smt = ARRAY; o.sarr = a; o.sx = 2; o.sy = 1;
	o.dmt = HOST; o.dhost = back; o.dpitch = 4;
	o.w = 3; o.h = 2;
	EQ(cuMemcpy2D(&o), 0, "pre-3.2 cuMemcpy2D: array to host");
	CHECK(back[0] == 1 && back[2] == 3 && back[4] == 4 && back[6] == 6 && back[3] == 0, "the pre-3.2 layout was read: %d %d %d %d", back[0], back[2], back[4], back[6]);

	/* 3D: a 4x2x3 array of bytes, slice by slice. */
	H v = NULL;
	desc3 vd = {4, 2, 3, U8, 1, 0};
	EQ(cuArray3DCreate_v2(&v, &vd), 0, "a 4x2x3 byte array");
	unsigned char vol[24], vout[24];
	for (int i = 0; i < 24; i++) vol[i] = (unsigned char)(i + 1);
	m3d t = {0};
	t.smt = HOST; t.shost = vol; t.spitch = 4; t.sheight = 2;
	t.dmt = ARRAY; t.darr = v;
	t.w = 4; t.h = 2; t.d = 3;
	EQ(cuMemcpy3D_v2(&t), 0, "cuMemcpy3D_v2: host volume to the 3D array");
	EQ(cuMemcpyAtoH_v2(vout, v, 0, 24), 0, "read it whole");
	CHECK(!memcmp(vol, vout, 24), "the volume round trip");
	t.dz = 1;
	EQ(cuMemcpy3D_v2(&t), 1, "three slices from slice 1 leave the array");
	t.dz = 0;
	/* The peer form: the same layout, contexts in the reserved slots. */
	m3d p = t;
	p.smt = ARRAY; p.sarr = v; p.sctx = ctx;
	p.dmt = HOST; p.dhost = vout; p.darr = NULL; p.dctx = ctx; p.dpitch = 4; p.dheight = 2;
	memset(vout, 0, sizeof vout);
	EQ(cuMemcpy3DPeer(&p), 0, "cuMemcpy3DPeer within one context");
	CHECK(!memcmp(vol, vout, 24), "the peer copy");
	p.sctx = NULL;
	EQ(cuMemcpy3DPeer(&p), 201, "cuMemcpy3DPeer without a source context");
	p.sctx = (H)0x7e5a01000042ull;
	EQ(cuMemcpy3DPeerAsync(&p, NULL), 201, "cuMemcpy3DPeerAsync with a wild context");
	EQ(cuArrayDestroy(v), 0, "destroy the volume");
	EQ(cuArrayDestroy(a), 0, "destroy the array");
}

/* CUDA_RESOURCE_DESC (144 bytes), CUDA_TEXTURE_DESC (104), CUDA_RESOURCE_VIEW_DESC (112). */
typedef struct {
	int type; int pad;
	union {
		H array;
		struct { CUdeviceptr dev; int format; unsigned channels; size_t size; } linear;
		struct { CUdeviceptr dev; int format; unsigned channels; size_t w, h, pitch; } pitch2d;
		int reserved[32];
	} u;
	unsigned flags; int pad2;
} resdesc;
typedef struct {
	int address[3]; int filter; unsigned flags; unsigned aniso; int mipfilter;
	float bias, minclamp, maxclamp; float border[4]; int reserved[12];
} texdesc;
typedef struct {
	int format; int pad; size_t w, h, d; unsigned firstmip, lastmip, firstlayer, lastlayer; unsigned reserved[16];
} viewdesc;

static void mipmaps(void) {
	H m = NULL, lvl = NULL, lvl2 = NULL;
	desc3 d = {16, 8, 0, F32, 1, 0};
	EQ(cuMipmappedArrayCreate(&m, &d, 5), 0, "cuMipmappedArrayCreate 16x8, 5 levels");
	EQ(cuMipmappedArrayGetLevel(&lvl, m, 3), 0, "level 3");
	desc3 g;
	EQ(cuArray3DGetDescriptor_v2(&g, lvl), 0, "a level is an array");
	CHECK(g.w == 2 && g.h == 1 && g.format == F32, "level 3 of 16x8 is 2x1: %zu x %zu", g.w, g.h);
	float v[2] = {1.5f, 2.5f}, back[2] = {0};
	EQ(cuMemcpyHtoA_v2(lvl, 0, v, sizeof v), 0, "write level 3");
	EQ(cuMemcpyAtoH_v2(back, lvl, 0, sizeof back), 0, "read level 3");
	CHECK(back[0] == 1.5f && back[1] == 2.5f, "a level holds its own bytes");
	EQ(cuMipmappedArrayGetLevel(&lvl2, m, 5), 1, "past the last level");
	EQ(cuArrayDestroy(lvl), 400, "a level is the mipmapped array's to free");
	char buf[64];
	EQ(cuMipmappedArrayGetMemoryRequirements(buf, m, 0), 1, "no deferred mapping");
	EQ(cuMipmappedArrayGetSparseProperties(buf, m), 1, "not sparse");
	EQ(cuMipmappedArrayCreate(&lvl2, &d, 6), 1, "more levels than 16 halves into");
	EQ(cuMipmappedArrayCreate(&lvl2, &d, 0), 1, "no levels");

	/* A texture over the mipmapped array, then over one array with a view. */
	resdesc r;
	memset(&r, 0, sizeof r);
	r.type = 1; r.u.array = m;
	texdesc t;
	memset(&t, 0, sizeof t);
	t.filter = 1; t.flags = 2; t.maxclamp = 4.0f; t.border[2] = 0.25f;
	unsigned long long tex = 0;
	EQ(cuTexObjectCreate(&tex, &r, &t, NULL), 0, "cuTexObjectCreate over a mipmapped array");
	texdesc tg;
	memset(&tg, 0x55, sizeof tg);
	EQ(cuTexObjectGetTextureDesc(&tg, tex), 0, "cuTexObjectGetTextureDesc");
	CHECK(tg.filter == 1 && tg.flags == 2 && tg.maxclamp == 4.0f && tg.border[2] == 0.25f, "the texture description as passed");
	resdesc rg;
	EQ(cuTexObjectGetResourceDesc(&rg, tex), 0, "cuTexObjectGetResourceDesc");
	CHECK(rg.type == 1 && rg.u.array == m, "the resource as passed");
	viewdesc vg;
	EQ(cuTexObjectGetResourceViewDesc(&vg, tex), 1, "no view was given");
	EQ(cuTexObjectDestroy(tex), 0, "cuTexObjectDestroy");
	EQ(cuTexObjectDestroy(tex), 1, "destroying it twice");
	EQ(cuTexObjectGetTextureDesc(&tg, tex), 1, "a destroyed texture object");
	EQ(cuMipmappedArrayDestroy(m), 0, "cuMipmappedArrayDestroy");
	EQ(cuMipmappedArrayDestroy(m), 400, "twice");
	EQ(cuMipmappedArrayGetLevel(&lvl2, m, 0), 400, "levels of a destroyed mipmapped array");

	H a = NULL;
	desc3 ad = {8, 8, 0, U8, 4, 2 /* surface load/store */};
	EQ(cuArray3DCreate_v2(&a, &ad), 0, "an 8x8 uchar4 array for surfaces");
	r.type = 0; r.u.array = a;
	memset(&t, 0, sizeof t);
	t.flags = 1; /* read as integer */
	viewdesc vw;
	memset(&vw, 0, sizeof vw);
	vw.format = 0x0a; vw.w = 8; vw.h = 8;
	EQ(cuTexObjectCreate(&tex, &r, &t, &vw), 0, "a texture with a view");
	memset(&vg, 0, sizeof vg);
	EQ(cuTexObjectGetResourceViewDesc(&vg, tex), 0, "its view");
	CHECK(vg.format == 0x0a && vg.w == 8 && vg.h == 8, "the view as passed");
	EQ(cuTexObjectDestroy(tex), 0, "destroy");
	t.filter = 1;
	EQ(cuTexObjectCreate(&tex, &r, &t, NULL), 1, "linear filtering of integers read as integers");
	t.filter = 0; t.address[1] = 9;
	EQ(cuTexObjectCreate(&tex, &r, &t, NULL), 1, "an unknown address mode");
	t.address[1] = 0; r.flags = 1;
	EQ(cuTexObjectCreate(&tex, &r, &t, NULL), 1, "resource flags must be 0");
	r.flags = 0; vw.w = 9;
	EQ(cuTexObjectCreate(&tex, &r, &t, &vw), 1, "a view wider than the array");
	r.u.array = (H)0x7e5a0f000001ull;
	EQ(cuTexObjectCreate(&tex, &r, &t, NULL), 1, "a wild array");

	/* Linear memory: a format the driver names, converted for the shared rules. */
	CUdeviceptr dp = 0;
	EQ(cuMemAlloc_v2(&dp, 4096), 0, "device memory");
	memset(&r, 0, sizeof r);
	r.type = 2; r.u.linear.dev = dp; r.u.linear.format = F32; r.u.linear.channels = 1; r.u.linear.size = 4096;
	memset(&t, 0, sizeof t);
	EQ(cuTexObjectCreate(&tex, &r, &t, NULL), 0, "a texture over linear memory");
	memset(&rg, 0, sizeof rg);
	EQ(cuTexObjectGetResourceDesc(&rg, tex), 0, "its resource");
	CHECK(rg.type == 2 && rg.u.linear.dev == dp && rg.u.linear.format == F32 && rg.u.linear.size == 4096, "linear fields as passed");
	EQ(cuTexObjectDestroy(tex), 0, "destroy");
	r.u.linear.size = 8192;
	EQ(cuTexObjectCreate(&tex, &r, &t, NULL), 1, "linear memory past the allocation");
	r.u.linear.size = 4096; r.u.linear.channels = 3;
	EQ(cuTexObjectCreate(&tex, &r, &t, NULL), 1, "three channels");

	/* Surfaces: over arrays made for surface load/store only. */
	memset(&r, 0, sizeof r);
	r.type = 0; r.u.array = a;
	unsigned long long surf = 0;
	EQ(cuSurfObjectCreate(&surf, &r), 0, "cuSurfObjectCreate");
	memset(&rg, 0, sizeof rg);
	EQ(cuSurfObjectGetResourceDesc(&rg, surf), 0, "cuSurfObjectGetResourceDesc");
	CHECK(rg.type == 0 && rg.u.array == a, "the surface's array");
	EQ(cuSurfObjectDestroy(surf), 0, "cuSurfObjectDestroy");
	EQ(cuSurfObjectDestroy(surf), 1, "twice");
	H plain = NULL;
	desc2 pd = {8, 8, U8, 4};
	EQ(cuArrayCreate_v2(&plain, &pd), 0, "an array without surface load/store");
	r.u.array = plain;
	/* NVIDIA's runtime 13 on driver 580 creates a surface over any array (a kernel's surface
	 * writes need the flag): tests/programs/arrays.cu. */
	EQ(cuSurfObjectCreate(&surf, &r), 0, "a surface over it too");
	EQ(cuSurfObjectDestroy(surf), 0, "destroyed");
	r.type = 2;
	EQ(cuSurfObjectCreate(&surf, &r), 1, "no surface over linear memory");
	EQ(cuArrayDestroy(plain), 0, "destroy");
	EQ(cuArrayDestroy(a), 0, "destroy");
	EQ(cuMemFree_v2(dp), 0, "free");
}

static void texrefs(void) {
	H ref = NULL, a = NULL, got = NULL;
	EQ(cuTexRefCreate(&ref), 0, "cuTexRefCreate");
	desc2 d = {8, 8, S16, 2};
	EQ(cuArrayCreate_v2(&a, &d), 0, "an array");
	EQ(cuTexRefSetArray(ref, a, 0), 1, "flags must be CU_TRSA_OVERRIDE_FORMAT");
	EQ(cuTexRefSetArray(ref, a, 1), 0, "cuTexRefSetArray");
	EQ(cuTexRefGetArray(&got, ref), 0, "cuTexRefGetArray");
	CHECK(got == a, "the bound array");
	int fmt = 0, n = 0;
	EQ(cuTexRefGetFormat(&fmt, &n, ref), 0, "cuTexRefGetFormat");
	CHECK(fmt == S16 && n == 2, "the array's format: %#x x%d", fmt, n);
	EQ(cuTexRefSetFormat(ref, F32, 3), 1, "three components");
	EQ(cuTexRefSetMipmapLevelClamp(ref, 0.5f, 7.25f), 0, "float arguments");
	float lo = 0, hi = 0;
	EQ(cuTexRefGetMipmapLevelClamp(&lo, &hi, ref), 0, "cuTexRefGetMipmapLevelClamp");
	CHECK(lo == 0.5f && hi == 7.25f, "clamps as set: %g %g", lo, hi);
	EQ(cuTexRefSetMipmapLevelClamp(ref, 2.0f, 1.0f), 1, "min above max");
	float border[4] = {1, 0.5f, 0.25f, 0.125f}, bg[4] = {0};
	EQ(cuTexRefSetBorderColor(ref, border), 0, "cuTexRefSetBorderColor");
	EQ(cuTexRefGetBorderColor(bg, ref), 0, "cuTexRefGetBorderColor");
	CHECK(!memcmp(border, bg, sizeof bg), "the border color");
	int am = 0;
	EQ(cuTexRefSetAddressMode(ref, 1, 2), 0, "mirror in y");
	EQ(cuTexRefGetAddressMode(&am, ref, 1), 0, "get it");
	EQ(am, 2, "address mode as set");
	EQ(cuTexRefSetAddressMode(ref, 3, 0), 1, "no fourth dimension");
	CUdeviceptr dp = 0, ga = 0;
	size_t off = 99;
	EQ(cuMemAlloc_v2(&dp, 65536), 0, "device memory");
	EQ(cuTexRefSetAddress_v2(&off, ref, dp + 8, 256), 0, "cuTexRefSetAddress_v2");
	EQ(off, 8, "the offset from the aligned base");
	EQ(cuTexRefGetAddress_v2(&ga, ref), 0, "cuTexRefGetAddress_v2");
	CHECK(ga == dp + 8, "the bound address");
	EQ(cuTexRefGetArray(&got, ref), 1, "no longer bound to the array");
	EQ(cuTexRefSetAddress_v2(&off, ref, dp, 1 << 20), 1, "more than the allocation");
	desc2 pd = {64, 16, U8, 4};
	EQ(cuTexRefSetAddress2D_v3(ref, &pd, dp, 256), 0, "pitched memory");
	EQ(cuTexRefSetAddress2D_v3(ref, &pd, dp, 255), 1, "a pitch off the 32-byte alignment");
	EQ(cuTexRefGetFormat(&fmt, &n, ref), 0, "its format");
	CHECK(fmt == U8 && n == 4, "the descriptor's format");
	EQ(cuModuleGetTexRef(&got, (H)0x4242, "t"), 400, "a wild module");
	EQ(cuSurfRefGetArray(&got, (H)0x4242), 400, "no surface reference exists");
	EQ(cuTexRefDestroy(ref), 0, "cuTexRefDestroy");
	EQ(cuTexRefDestroy(ref), 400, "twice");
	EQ(cuMemFree_v2(dp), 0, "free");
	EQ(cuArrayDestroy(a), 0, "destroy");
}

int main(int argc, char **argv) {
	if (argc < 2) { fprintf(stderr, "usage: driverarrays LIBDIR [label]\n"); return 2; }
	const char *label = argc > 2 ? argv[2] : "sim";
	char path[4096];
	snprintf(path, sizeof path, "%s/libcuda.so.1", argv[1]);
	void *lib = dlopen(path, RTLD_NOW);
	if (!lib) { printf("driverarrays: FAIL: %s\n", dlerror()); return 1; }
#define LOAD(name, args) if (!(name = (CUresult(*) args)dlsym(lib, #name))) { printf("driverarrays: FAIL: %s not exported\n", #name); return 1; }
	FNS(LOAD)
	H ctx = NULL;
	EQ(cuInit(0), 0, "cuInit");
	EQ(cuDevicePrimaryCtxRetain(&ctx, 0), 0, "cuDevicePrimaryCtxRetain");
	EQ(cuCtxSetCurrent(ctx), 0, "cuCtxSetCurrent");
	creation();
	linear_copies();
	pitched_copies(ctx);
	mipmaps();
	texrefs();
	printf("driverarrays (%s): %d checks, %d failures\n", label, checks, failures);
	return failures != 0;
}
