/* Issue 13's runtime, third slice: CUDA arrays and pitched volumes, texture and surface
 * objects, IPC handles, graph event and host nodes. Run in-process (sim) and as a remote client of a sim server: the same rules.
 *   runtime13c LIBDIR [label]
 * Status values are NVIDIA's documented cudaError_t numbers: 0 success, 1 invalid value,
 * 12 invalid pitch value, 20 invalid channel descriptor, 21 invalid memcpy direction,
 * 201 device uninitialized ("invalid device context"), 400 invalid resource handle. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef int err_t;
static int failures, checks;
#define CHECK(c, ...) do { checks++; if (!(c)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)
#define EQ(got, want, what) do { long long g_ = (long long)(got), w_ = (long long)(want); CHECK(g_ == w_, "%s: got %lld, want %lld", what, g_, w_); } while (0)

/* NVIDIA's ABI, from the documented field lists. */
struct chdesc { int x, y, z, w, f; };
struct extent { size_t width, height, depth; };
struct pos { size_t x, y, z; };
struct pitched { void *ptr; size_t pitch, xsize, ysize; };
struct copy3d {
	void *srcArray; struct pos srcPos; struct pitched srcPtr;
	void *dstArray; struct pos dstPos; struct pitched dstPtr;
	struct extent extent; int kind;
};
struct resdesc {
	int resType;
	union {
		struct { void *array; } array;
		struct { void *devPtr; struct chdesc desc; size_t sizeInBytes; } linear;
		struct { void *devPtr; struct chdesc desc; size_t width, height, pitchInBytes; } pitch2D;
	} res;
};
struct texdesc {
	int addressMode[3], filterMode, readMode, sRGB; float borderColor[4];
	int normalizedCoords; unsigned maxAnisotropy; int mipmapFilterMode;
	float mipmapLevelBias, minMipmapLevelClamp, maxMipmapLevelClamp;
	int disableTrilinearOptimization, seamlessCubemap;
};
struct ipch { char reserved[64]; }; /* cudaIpcMemHandle_t, cudaIpcEventHandle_t: passed by value */
struct viewdesc { int format; size_t width, height, depth; unsigned firstMip, lastMip, firstLayer, lastLayer; };

#define FNS(X) \
	X(err_t, cudaMalloc, (void **, size_t)) X(err_t, cudaFree, (void *)) \
	X(err_t, cudaMemcpy, (void *, const void *, size_t, int)) X(err_t, cudaMemset, (void *, int, size_t)) \
	X(err_t, cudaDeviceSynchronize, (void)) X(err_t, cudaGetLastError, (void)) \
	X(err_t, cudaStreamCreateWithFlags, (void **, unsigned)) X(err_t, cudaStreamDestroy, (void *)) \
	X(err_t, cudaStreamSynchronize, (void *)) \
	X(err_t, cudaMallocArray, (void **, const struct chdesc *, size_t, size_t, unsigned)) \
	X(err_t, cudaMalloc3DArray, (void **, const struct chdesc *, struct extent, unsigned)) \
	X(err_t, cudaFreeArray, (void *)) \
	X(err_t, cudaArrayGetInfo, (struct chdesc *, struct extent *, unsigned *, void *)) \
	X(err_t, cudaGetChannelDesc, (struct chdesc *, const void *)) \
	X(struct chdesc, cudaCreateChannelDesc, (int, int, int, int, int)) \
	X(err_t, cudaMemcpy2DToArray, (void *, size_t, size_t, const void *, size_t, size_t, size_t, int)) \
	X(err_t, cudaMemcpy2DToArrayAsync, (void *, size_t, size_t, const void *, size_t, size_t, size_t, int, void *)) \
	X(err_t, cudaMemcpy2DFromArray, (void *, size_t, const void *, size_t, size_t, size_t, size_t, int)) \
	X(err_t, cudaMemcpy2DFromArrayAsync, (void *, size_t, const void *, size_t, size_t, size_t, size_t, int, void *)) \
	X(err_t, cudaMemcpyToArray, (void *, size_t, size_t, const void *, size_t, int)) \
	X(err_t, cudaMemcpyFromArray, (void *, const void *, size_t, size_t, size_t, int)) \
	X(err_t, cudaMemcpy2DArrayToArray, (void *, size_t, size_t, const void *, size_t, size_t, size_t, size_t, int)) \
	X(err_t, cudaMemcpyArrayToArray, (void *, size_t, size_t, const void *, size_t, size_t, size_t, int)) \
	X(err_t, cudaMalloc3D, (struct pitched *, struct extent)) \
	X(err_t, cudaMemcpy3D, (const struct copy3d *)) \
	X(err_t, cudaCreateTextureObject, (unsigned long long *, const struct resdesc *, const struct texdesc *, const struct viewdesc *)) \
	X(err_t, cudaDestroyTextureObject, (unsigned long long)) \
	X(err_t, cudaGetTextureObjectResourceDesc, (struct resdesc *, unsigned long long)) \
	X(err_t, cudaGetTextureObjectTextureDesc, (struct texdesc *, unsigned long long)) \
	X(err_t, cudaGetTextureObjectResourceViewDesc, (struct viewdesc *, unsigned long long)) \
	X(err_t, cudaCreateSurfaceObject, (unsigned long long *, const struct resdesc *)) \
	X(err_t, cudaDestroySurfaceObject, (unsigned long long)) \
	X(err_t, cudaGetSurfaceObjectResourceDesc, (struct resdesc *, unsigned long long)) \
	X(err_t, cudaIpcGetMemHandle, (struct ipch *, void *)) X(err_t, cudaIpcOpenMemHandle, (void **, struct ipch, unsigned)) \
	X(err_t, cudaIpcCloseMemHandle, (void *)) X(err_t, cudaIpcGetEventHandle, (struct ipch *, void *)) \
	X(err_t, cudaIpcOpenEventHandle, (void **, struct ipch)) \
	X(err_t, cudaEventCreateWithFlags, (void **, unsigned)) X(err_t, cudaEventDestroy, (void *)) \
	X(err_t, cudaEventRecord, (void *, void *)) X(err_t, cudaEventSynchronize, (void *)) \
	X(err_t, cudaEventElapsedTime, (float *, void *, void *)) \
	X(err_t, cudaGraphCreate, (void **, unsigned)) X(err_t, cudaGraphDestroy, (void *)) \
	X(err_t, cudaGraphInstantiate, (void **, void *, unsigned long long)) X(err_t, cudaGraphExecDestroy, (void *)) \
	X(err_t, cudaGraphLaunch, (void *, void *)) X(err_t, cudaGraphNodeGetType, (void *, int *)) \
	X(err_t, cudaGraphAddEventRecordNode, (void **, void *, void **, size_t, void *)) \
	X(err_t, cudaGraphAddEventWaitNode, (void **, void *, void **, size_t, void *)) \
	X(err_t, cudaGraphEventRecordNodeGetEvent, (void *, void **)) X(err_t, cudaGraphEventWaitNodeGetEvent, (void *, void **)) \
	X(err_t, cudaGraphExecGetFlags, (void *, unsigned long long *)) \
	X(err_t, cudaGraphInstantiateWithParams, (void **, void *, void *)) \
	X(err_t, cudaGraphAddHostNode, (void **, void *, void **, size_t, const void *)) \
	X(err_t, cudaGraphHostNodeGetParams, (void *, void *)) \
	X(err_t, cudaGraphDebugDotPrint, (void *, const char *, unsigned)) \
	X(err_t, cudaStreamGetCaptureInfo, (void *, int *, unsigned long long *)) \
	X(err_t, cudaStreamBeginCapture, (void *, int)) X(err_t, cudaStreamEndCapture, (void *, void **))
#define DECL(r, n, a) static r(*p_##n) a;
FNS(DECL)

enum { H2H = 0, H2D = 1, D2H = 2, D2D = 3, DEFAULT = 4 };
enum { SIGNED = 0, UNSIGNED = 1, FLOAT = 2 };

static void test_channel_descs(void) {
	struct chdesc d = p_cudaCreateChannelDesc(32, 32, 0, 0, FLOAT);
	EQ(d.x, 32, "cudaCreateChannelDesc x"); EQ(d.y, 32, "y"); EQ(d.z, 0, "z"); EQ(d.w, 0, "w"); EQ(d.f, FLOAT, "kind");
	void *a = NULL;
	/* Three channels, mixed sizes, a gap, 64-bit channels and 8-bit floats are not formats. */
	struct chdesc bad[] = {{8, 8, 8, 0, UNSIGNED}, {8, 16, 0, 0, UNSIGNED}, {8, 0, 8, 0, SIGNED},
			       {64, 0, 0, 0, SIGNED}, {8, 0, 0, 0, FLOAT}, {0, 0, 0, 0, FLOAT}, {32, 0, 0, 0, 3}};
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++)
		EQ(p_cudaMallocArray(&a, &bad[i], 16, 16, 0), 20, "an impossible channel format is an invalid channel descriptor");
	struct chdesc f1 = {32, 0, 0, 0, FLOAT};
	EQ(p_cudaMallocArray(&a, &f1, 0, 16, 0), 1, "a zero width is an invalid value");
	EQ(p_cudaMallocArray(NULL, &f1, 16, 16, 0), 1, "a NULL output is an invalid value");
	EQ(p_cudaMallocArray(&a, NULL, 16, 16, 0), 1, "a NULL format is an invalid value");
	EQ(p_cudaMallocArray(&a, &f1, 1 << 20, 1, 0), 1, "wider than the device's 2D texture limit is an invalid value");
	EQ(p_cudaMallocArray(&a, &f1, 16, 16, 0x100), 1, "unknown flags are an invalid value");
	p_cudaGetLastError();
}

static void test_arrays_2d(void) {
	struct chdesc f2 = {32, 32, 0, 0, FLOAT}; /* float2: 8-byte elements */
	void *a = NULL, *b = NULL;
	EQ(p_cudaMallocArray(&a, &f2, 10, 4, 0), 0, "cudaMallocArray float2 10x4");
	struct chdesc got; struct extent ext; unsigned flags = 99;
	EQ(p_cudaArrayGetInfo(&got, &ext, &flags, a), 0, "cudaArrayGetInfo");
	CHECK(!memcmp(&got, &f2, sizeof got), "cudaArrayGetInfo returns the format it was made with");
	EQ(ext.width, 10, "extent width"); EQ(ext.height, 4, "extent height"); EQ(ext.depth, 0, "a 2D array has depth 0"); EQ(flags, 0, "flags");
	memset(&got, 0, sizeof got);
	EQ(p_cudaGetChannelDesc(&got, a), 0, "cudaGetChannelDesc");
	CHECK(!memcmp(&got, &f2, sizeof got), "cudaGetChannelDesc returns the format");
	EQ(p_cudaGetChannelDesc(NULL, a), 1, "cudaGetChannelDesc with a NULL output");

	/* Rows in and out at an offset: 3 rows of 4 elements (32 bytes) from element 2 of row 1. */
	unsigned char host[3 * 40], back[3 * 48];
	for (int i = 0; i < (int)sizeof host; i++) host[i] = (unsigned char)(i * 7 + 1);
	EQ(p_cudaMemcpy2DToArray(a, 16, 1, host, 40, 32, 3, H2D), 0, "cudaMemcpy2DToArray at byte 16, row 1");
	memset(back, 0, sizeof back);
	EQ(p_cudaMemcpy2DFromArray(back, 48, a, 16, 1, 32, 3, D2H), 0, "cudaMemcpy2DFromArray");
	int same = 1;
	for (int r = 0; r < 3; r++) same &= !memcmp(back + r * 48, host + r * 40, 32);
	CHECK(same, "the rows read back are the rows written, each at its own pitch");
	EQ(p_cudaMemcpy2DToArray(a, 16, 1, host, 40, 72, 3, H2D), 12, "a row wider than the source pitch: invalid pitch value");
	EQ(p_cudaMemcpy2DToArray(a, 16, 1, host, 80, 72, 3, H2D), 1, "a block past the array's row: invalid value");
	EQ(p_cudaMemcpy2DToArray(a, 0, 2, host, 80, 80, 3, H2D), 1, "a block past the array's last row: invalid value");
	EQ(p_cudaMemcpy2DToArray(a, 0, 0, host, 80, 80, 1, D2H), 21, "a copy into an array from device to host: invalid direction");
	EQ(p_cudaMemcpy2DFromArray(back, 80, a, 0, 0, 80, 1, H2D), 21, "a copy out of an array from host to device: invalid direction");
	EQ(p_cudaMemcpy2DToArray((void *)0x7ead0000dea0, 0, 0, host, 80, 8, 1, H2D), 400, "a wild array: invalid resource handle");

	/* Asynchronous forms on a stream, then the array-to-array copies. */
	void *s = NULL;
	EQ(p_cudaStreamCreateWithFlags(&s, 1), 0, "stream");
	unsigned char row[80];
	for (int i = 0; i < 80; i++) row[i] = (unsigned char)(200 - i);
	EQ(p_cudaMemcpy2DToArrayAsync(a, 0, 0, row, 80, 80, 1, DEFAULT, s), 0, "cudaMemcpy2DToArrayAsync, kind inferred");
	EQ(p_cudaStreamSynchronize(s), 0, "sync");
	EQ(p_cudaMallocArray(&b, &f2, 10, 4, 0), 0, "a second array");
	EQ(p_cudaMemcpy2DArrayToArray(b, 0, 2, a, 0, 0, 80, 2, D2D), 0, "cudaMemcpy2DArrayToArray rows 0-1 to rows 2-3");
	unsigned char out[80];
	EQ(p_cudaMemcpy2DFromArrayAsync(out, 80, b, 0, 2, 80, 1, D2H, s), 0, "cudaMemcpy2DFromArrayAsync");
	EQ(p_cudaStreamSynchronize(s), 0, "sync");
	CHECK(!memcmp(out, row, 80), "the row copied array to array arrives");
	EQ(p_cudaMemcpy2DArrayToArray(b, 8, 3, a, 0, 0, 80, 1, D2D), 1, "array to array past the destination's row: invalid value");
	EQ(p_cudaMemcpy2DArrayToArray(b, 0, 0, a, 0, 0, 8, 1, H2D), 21, "array to array is device to device only");

	/* The linear forms run row after row through the array. */
	unsigned char lin[100];
	for (int i = 0; i < 100; i++) lin[i] = (unsigned char)(i ^ 0x5a);
	EQ(p_cudaMemcpyToArray(a, 40, 1, lin, 100, H2D), 0, "cudaMemcpyToArray across a row boundary");
	unsigned char lb[100];
	EQ(p_cudaMemcpyFromArray(lb, a, 40, 1, 100, D2H), 0, "cudaMemcpyFromArray");
	CHECK(!memcmp(lb, lin, 100), "cudaMemcpyFromArray reads what cudaMemcpyToArray wrote");
	EQ(p_cudaMemcpyToArray(a, 0, 3, lin, 100, H2D), 1, "a linear copy past the array's end: invalid value");
	EQ(p_cudaMemcpyArrayToArray(b, 0, 0, a, 40, 1, 100, D2D), 0, "cudaMemcpyArrayToArray");
	EQ(p_cudaMemcpyFromArray(lb, b, 0, 0, 100, D2H), 0, "read it back");
	CHECK(!memcmp(lb, lin, 100), "cudaMemcpyArrayToArray moved the bytes");

	/* An array's storage is not cudaFree's to release, and a freed array is gone. */
	EQ(p_cudaFree(a), 1, "cudaFree of an array handle: invalid value");
	EQ(p_cudaFreeArray(a), 0, "cudaFreeArray");
	EQ(p_cudaFreeArray(a), 400, "freeing an array twice: invalid resource handle");
	EQ(p_cudaArrayGetInfo(&got, &ext, &flags, a), 400, "a freed array has no info");
	EQ(p_cudaFreeArray(NULL), 0, "cudaFreeArray(NULL) does nothing");
	EQ(p_cudaFreeArray(b), 0, "cudaFreeArray");
	EQ(p_cudaStreamDestroy(s), 0, "stream destroy");
	p_cudaGetLastError();
}

static void test_volumes(void) {
	/* cudaMalloc3D pads rows as cudaMallocPitch does. */
	struct pitched pp; struct extent e = {100, 6, 3};
	EQ(p_cudaMalloc3D(&pp, e), 0, "cudaMalloc3D 100x6x3");
	CHECK(pp.ptr != NULL && pp.pitch >= 100 && pp.pitch % 512 == 0, "pitch %zu is padded", pp.pitch);
	EQ(pp.xsize, 100, "xsize"); EQ(pp.ysize, 6, "ysize");
	EQ(p_cudaMalloc3D(NULL, e), 1, "cudaMalloc3D with a NULL output");

	/* A 3D array of uchar4, filled from a packed host volume with cudaMemcpy3D and read back
	 * into the pitched volume, then to the host. */
	struct chdesc u4 = {8, 8, 8, 8, UNSIGNED};
	void *arr = NULL;
	struct extent ae = {5, 6, 3};
	EQ(p_cudaMalloc3DArray(&arr, &u4, ae, 0), 0, "cudaMalloc3DArray uchar4 5x6x3");
	struct extent got; unsigned flags;
	EQ(p_cudaArrayGetInfo(NULL, &got, &flags, arr), 0, "cudaArrayGetInfo with only some outputs");
	EQ(got.depth, 3, "depth");
	unsigned char vol[3 * 6 * 20], back[3 * 6 * 20];
	for (int i = 0; i < (int)sizeof vol; i++) vol[i] = (unsigned char)(i * 13 + 5);
	struct copy3d c; memset(&c, 0, sizeof c);
	c.srcPtr = (struct pitched){vol, 20, 20, 6}; c.dstArray = arr; c.extent = (struct extent){5, 6, 3}; c.kind = H2D;
	EQ(p_cudaMemcpy3D(&c), 0, "cudaMemcpy3D host volume -> 3D array (extent in elements)");
	memset(&c, 0, sizeof c);
	c.srcArray = arr; c.dstPtr = pp; c.extent = (struct extent){5, 6, 3}; c.kind = D2D;
	EQ(p_cudaMemcpy3D(&c), 0, "cudaMemcpy3D 3D array -> pitched device volume");
	memset(&c, 0, sizeof c);
	c.srcPtr = pp; c.dstPtr = (struct pitched){back, 20, 20, 6}; c.extent = (struct extent){20, 6, 3}; c.kind = D2H;
	memset(back, 0, sizeof back);
	EQ(p_cudaMemcpy3D(&c), 0, "cudaMemcpy3D pitched device volume -> host (extent in bytes)");
	CHECK(!memcmp(back, vol, sizeof vol), "the volume comes back through the array");
	memset(&c, 0, sizeof c);
	c.srcPtr = (struct pitched){vol, 20, 20, 6}; c.dstArray = arr; c.dstPos = (struct pos){1, 0, 0};
	c.extent = (struct extent){5, 6, 3}; c.kind = H2D;
	EQ(p_cudaMemcpy3D(&c), 1, "a 3D block past the array's width: invalid value");
	c.dstPos = (struct pos){0, 0, 1}; c.extent = (struct extent){5, 6, 3};
	EQ(p_cudaMemcpy3D(&c), 1, "a 3D block past the array's depth: invalid value");
	c.dstPos = (struct pos){0, 0, 0}; c.dstPtr = pp;
	EQ(p_cudaMemcpy3D(&c), 1, "an array and a pointer on one side: invalid value");
	EQ(p_cudaFreeArray(arr), 0, "free the 3D array");
	memset(&c, 0, sizeof c);
	c.srcPtr = (struct pitched){vol, 20, 20, 6}; c.dstArray = arr; c.extent = (struct extent){5, 6, 3}; c.kind = H2D;
	EQ(p_cudaMemcpy3D(&c), 400, "cudaMemcpy3D into a freed array: invalid resource handle");

	/* Layered and cubemap arrays: shapes CUDA defines. */
	struct chdesc f1 = {32, 0, 0, 0, FLOAT};
	EQ(p_cudaMalloc3DArray(&arr, &f1, (struct extent){8, 8, 6}, 4), 0, "a cubemap is 6 square faces");
	EQ(p_cudaFreeArray(arr), 0, "free");
	EQ(p_cudaMalloc3DArray(&arr, &f1, (struct extent){8, 4, 6}, 4), 1, "a cubemap of oblong faces: invalid value");
	EQ(p_cudaMalloc3DArray(&arr, &f1, (struct extent){8, 4, 0}, 1), 1, "a layered array needs layers");
	EQ(p_cudaFree(pp.ptr), 0, "cudaFree of cudaMalloc3D's memory");
	p_cudaGetLastError();
}

static void test_textures(void) {
	struct chdesc f1 = {32, 0, 0, 0, FLOAT}, u1 = {8, 0, 0, 0, UNSIGNED}, i32 = {32, 0, 0, 0, SIGNED};
	void *arr = NULL, *plain = NULL;
	EQ(p_cudaMallocArray(&arr, &f1, 64, 32, 2), 0, "an array for surface load/store");
	EQ(p_cudaMallocArray(&plain, &u1, 64, 32, 0), 0, "a plain array");
	struct resdesc rd; memset(&rd, 0, sizeof rd);
	rd.resType = 0; rd.res.array.array = arr;
	struct texdesc td; memset(&td, 0, sizeof td);
	td.addressMode[0] = td.addressMode[1] = 1; td.filterMode = 1; td.normalizedCoords = 1; td.borderColor[2] = 0.5f;
	unsigned long long tex = 0;
	EQ(p_cudaCreateTextureObject(&tex, &rd, &td, NULL), 0, "a linear-filtered float texture over an array");
	CHECK(tex != 0, "the texture object is not 0");
	struct resdesc rback; struct texdesc tback; struct viewdesc vback;
	EQ(p_cudaGetTextureObjectResourceDesc(&rback, tex), 0, "cudaGetTextureObjectResourceDesc");
	CHECK(!memcmp(&rback, &rd, sizeof rd), "the resource descriptor returned is the one given");
	EQ(p_cudaGetTextureObjectTextureDesc(&tback, tex), 0, "cudaGetTextureObjectTextureDesc");
	CHECK(!memcmp(&tback, &td, sizeof td), "the texture descriptor returned is the one given");
	EQ(p_cudaGetTextureObjectResourceViewDesc(&vback, tex), 1, "a texture made without a view has none");
	EQ(p_cudaDestroyTextureObject(tex), 0, "cudaDestroyTextureObject");
	EQ(p_cudaDestroyTextureObject(tex), 1, "destroying a texture twice: invalid value");
	EQ(p_cudaGetTextureObjectResourceDesc(&rback, tex), 1, "a destroyed texture has no descriptor");

	/* With a view: within the array. */
	struct viewdesc vd; memset(&vd, 0, sizeof vd);
	vd.format = 0x13; vd.width = 64; vd.height = 32;
	EQ(p_cudaCreateTextureObject(&tex, &rd, &td, &vd), 0, "a texture with a resource view");
	EQ(p_cudaGetTextureObjectResourceViewDesc(&vback, tex), 0, "cudaGetTextureObjectResourceViewDesc");
	CHECK(!memcmp(&vback, &vd, sizeof vd), "the view returned is the one given");
	EQ(p_cudaDestroyTextureObject(tex), 0, "destroy");
	vd.width = 65;
	EQ(p_cudaCreateTextureObject(&tex, &rd, &td, &vd), 1, "a view wider than its array: invalid value");

	/* Descriptor rules. */
	struct texdesc bad = td; bad.addressMode[2] = 7;
	EQ(p_cudaCreateTextureObject(&tex, &rd, &bad, NULL), 1, "an unknown address mode: invalid value");
	bad = td; bad.filterMode = 2;
	EQ(p_cudaCreateTextureObject(&tex, &rd, &bad, NULL), 1, "an unknown filter mode: invalid value");
	rd.res.array.array = plain;
	EQ(p_cudaCreateTextureObject(&tex, &rd, &td, NULL), 1, "linear filtering of 8-bit integers read as integers: invalid value");
	struct texdesc norm = td; norm.readMode = 1;
	EQ(p_cudaCreateTextureObject(&tex, &rd, &norm, NULL), 0, "... read as normalized floats it is allowed");
	EQ(p_cudaDestroyTextureObject(tex), 0, "destroy");
	EQ(p_cudaCreateTextureObject(&tex, &rd, NULL, NULL), 1, "no texture descriptor: invalid value");
	EQ(p_cudaCreateTextureObject(&tex, NULL, &td, NULL), 1, "no resource descriptor: invalid value");
	rd.res.array.array = (void *)0x7ead0000dea0;
	EQ(p_cudaCreateTextureObject(&tex, &rd, &td, NULL), 1, "a wild array: invalid value");
	rd.resType = 9;
	EQ(p_cudaCreateTextureObject(&tex, &rd, &td, NULL), 1, "an unknown resource type: invalid value");

	/* Linear and pitch2D resources over device memory. */
	void *mem = NULL;
	EQ(p_cudaMalloc(&mem, 1 << 16), 0, "cudaMalloc");
	memset(&rd, 0, sizeof rd);
	rd.resType = 2; rd.res.linear.devPtr = mem; rd.res.linear.desc = f1; rd.res.linear.sizeInBytes = 1 << 16;
	struct texdesc pt; memset(&pt, 0, sizeof pt);
	EQ(p_cudaCreateTextureObject(&tex, &rd, &pt, NULL), 0, "a linear texture over cudaMalloc memory");
	EQ(p_cudaDestroyTextureObject(tex), 0, "destroy");
	rd.res.linear.sizeInBytes = (1 << 16) + 4;
	EQ(p_cudaCreateTextureObject(&tex, &rd, &pt, NULL), 1, "a linear texture past its allocation: invalid value");
	rd.res.linear.sizeInBytes = 256; rd.res.linear.devPtr = (char *)mem + 4;
	EQ(p_cudaCreateTextureObject(&tex, &rd, &pt, NULL), 1, "a linear texture off the texture alignment: invalid value");
	rd.res.linear.devPtr = mem; rd.res.linear.desc = (struct chdesc){8, 8, 8, 0, UNSIGNED};
	EQ(p_cudaCreateTextureObject(&tex, &rd, &pt, NULL), 20, "a three-channel format: invalid channel descriptor");
	rd.res.linear.desc = i32;
	struct texdesc nrm = pt; nrm.readMode = 1;
	EQ(p_cudaCreateTextureObject(&tex, &rd, &nrm, NULL), 1, "32-bit integers read as normalized floats: invalid value");
	memset(&rd, 0, sizeof rd);
	rd.resType = 3; rd.res.pitch2D.devPtr = mem; rd.res.pitch2D.desc = f1;
	rd.res.pitch2D.width = 64; rd.res.pitch2D.height = 64; rd.res.pitch2D.pitchInBytes = 256;
	EQ(p_cudaCreateTextureObject(&tex, &rd, &pt, NULL), 0, "a pitch2D texture");
	unsigned long long tex2 = tex;
	rd.res.pitch2D.pitchInBytes = 250;
	EQ(p_cudaCreateTextureObject(&tex, &rd, &pt, NULL), 1, "a pitch off the pitch alignment: invalid value");
	rd.res.pitch2D.pitchInBytes = 128;
	EQ(p_cudaCreateTextureObject(&tex, &rd, &pt, NULL), 1, "a row wider than the pitch: invalid value");
	rd.res.pitch2D.pitchInBytes = 2048; /* 63 rows of 2048 bytes and one of 256: past 64 KiB */
	EQ(p_cudaCreateTextureObject(&tex, &rd, &pt, NULL), 1, "rows past the allocation: invalid value");
	EQ(p_cudaDestroyTextureObject(tex2), 0, "destroy the pitch2D texture");

	/* Surfaces: arrays made for load/store only. */
	memset(&rd, 0, sizeof rd);
	rd.resType = 0; rd.res.array.array = arr;
	unsigned long long surf = 0;
	EQ(p_cudaCreateSurfaceObject(&surf, &rd), 0, "a surface over a load/store array");
	EQ(p_cudaGetSurfaceObjectResourceDesc(&rback, surf), 0, "cudaGetSurfaceObjectResourceDesc");
	CHECK(!memcmp(&rback, &rd, sizeof rd), "the surface's resource descriptor is the one given");
	EQ(p_cudaDestroyTextureObject(surf), 1, "a surface is not a texture");
	EQ(p_cudaDestroySurfaceObject(surf), 0, "cudaDestroySurfaceObject");
	EQ(p_cudaDestroySurfaceObject(surf), 1, "destroying a surface twice: invalid value");
	rd.res.array.array = plain;
	EQ(p_cudaCreateSurfaceObject(&surf, &rd), 0, "a surface over an array without load/store: created, as NVIDIA's runtime does");
	EQ(p_cudaDestroySurfaceObject(surf), 0, "cudaDestroySurfaceObject");
	rd.resType = 2;
	EQ(p_cudaCreateSurfaceObject(&surf, &rd), 1, "a surface over linear memory: invalid value");
	EQ(p_cudaFreeArray(arr), 0, "free"); EQ(p_cudaFreeArray(plain), 0, "free"); EQ(p_cudaFree(mem), 0, "free");
	p_cudaGetLastError();
}

/* IPC: another process opens what this one exported. In one process (sim) there is no other
 * process: opening one's own handle is refused as NVIDIA's runtime refuses it (201). Over
 * remote, a second client process of the same server opens it for real (ipc_child). */
static const char *self_path, *libdir;

static void hex(const struct ipch *h, char *out) { for (int i = 0; i < 64; i++) sprintf(out + 2 * i, "%02x", (unsigned char)h->reserved[i]); }
static void unhex(const char *s, struct ipch *h) { for (int i = 0; i < 64; i++) { unsigned v; sscanf(s + 2 * i, "%2x", &v); h->reserved[i] = (char)v; } }

static int run_child(const char *mode, const struct ipch *h, const struct ipch *ev) {
	char hs[129], es[129];
	hex(h, hs); hex(ev, es);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		execl(self_path, self_path, libdir, mode, hs, es, (char *)NULL);
		_exit(127);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The second process: open the handles, use the memory, and try what it must not do. */
static int ipc_child(const char *mode, const char *hs, const char *es) {
	struct ipch h, ev;
	unhex(hs, &h); unhex(es, &ev);
	void *p = NULL;
	if (!strcmp(mode, "ipc-revoked")) {
		EQ(p_cudaIpcOpenMemHandle(&p, h, 1), 400, "a handle whose memory its owner freed opens nothing");
		return failures;
	}
	EQ(p_cudaIpcOpenMemHandle(&p, h, 1), 0, "the other process opens the handle");
	unsigned char b[64];
	EQ(p_cudaMemcpy(b, (char *)p + 64, 64, D2H), 0, "and reads through it");
	int all = 1;
	for (int i = 0; i < 64; i++) all &= b[i] == 0x5a;
	CHECK(all, "the exporter's bytes");
	EQ(p_cudaMemset(p, 0x11, 64), 0, "and writes through it");
	EQ(p_cudaDeviceSynchronize(), 0, "sync");
	EQ(p_cudaFree(p), 1, "an opener cannot free the exporter's memory");
	struct ipch guess = h;
	guess.reserved[20] ^= 0x40;
	void *q = NULL;
	EQ(p_cudaIpcOpenMemHandle(&q, guess, 1), 400, "a handle one bit off opens nothing");
	EQ(p_cudaIpcCloseMemHandle(p), 0, "cudaIpcCloseMemHandle");
	EQ(p_cudaIpcCloseMemHandle(p), 1, "closing twice: invalid value");
	EQ(p_cudaMemset(p, 0x22, 64), 1, "the closed mapping is gone");
	void *e = NULL;
	EQ(p_cudaIpcOpenEventHandle(&e, ev), 0, "the other process opens the event");
	EQ(p_cudaEventRecord(e, NULL), 0, "and records it");
	EQ(p_cudaEventSynchronize(e), 0, "sync");
	EQ(p_cudaEventDestroy(e), 0, "and destroys its handle");
	p_cudaGetLastError();
	return failures;
}

static void test_ipc(int remote) {
	void *mem = NULL, *ev = NULL, *timed = NULL;
	EQ(p_cudaMalloc(&mem, 4096), 0, "cudaMalloc");
	EQ(p_cudaMemset(mem, 0x5a, 4096), 0, "fill");
	struct ipch h, eh, zero;
	memset(&zero, 0, sizeof zero);
	EQ(p_cudaIpcGetMemHandle(&h, mem), 0, "cudaIpcGetMemHandle");
	EQ(p_cudaIpcGetMemHandle(NULL, mem), 1, "a NULL handle: invalid value");
	EQ(p_cudaIpcGetMemHandle(&h, (void *)0x1000), 1, "host memory has no handle");
	EQ(p_cudaIpcGetMemHandle(&h, mem), 0, "again: the same allocation");
	void *self = NULL;
	EQ(p_cudaIpcOpenMemHandle(&self, h, 1), 201, "a process cannot open its own handle");
	EQ(p_cudaIpcOpenMemHandle(&self, zero, 1), 1, "a zero handle: invalid value, as NVIDIA's runtime answers");
	EQ(p_cudaIpcCloseMemHandle(mem), 1, "closing memory that was never opened: invalid value");
	EQ(p_cudaEventCreateWithFlags(&ev, 0x6), 0, "an interprocess event without timing");
	EQ(p_cudaEventCreateWithFlags(&timed, 0x4), 1, "an interprocess event must disable timing");
	EQ(p_cudaEventCreateWithFlags(&timed, 0), 0, "an event that times");
	EQ(p_cudaIpcGetEventHandle(&eh, timed), 400, "an event that times cannot be shared");
	EQ(p_cudaIpcGetEventHandle(&eh, ev), 0, "cudaIpcGetEventHandle");
	void *evself = NULL;
	EQ(p_cudaIpcOpenEventHandle(&evself, eh), 201, "a process cannot open its own event handle");
	if (remote) {
		EQ(run_child("ipc-child", &h, &eh), 0, "the second client process passed its checks");
		unsigned char b[128];
		EQ(p_cudaMemcpy(b, mem, 128, D2H), 0, "read back");
		CHECK(b[0] == 0x11 && b[63] == 0x11 && b[64] == 0x5a, "the other process's write arrived, and only where it wrote");
	}
	EQ(p_cudaFree(mem), 0, "the exporter frees its memory");
	if (remote) EQ(run_child("ipc-revoked", &h, &eh), 0, "after the free, the handle opens nothing in another process");
	EQ(p_cudaEventDestroy(ev), 0, "destroy"); EQ(p_cudaEventDestroy(timed), 0, "destroy");
	p_cudaGetLastError();
}

/* Graph event nodes: a launch records the event (ElapsedTime fails before, works after);
 * instantiation with parameters and the flags an executable graph keeps; host nodes. */
struct instparams { unsigned long long flags; void *uploadStream; void *errNode; int result; };
struct hostparams { void (*fn)(void *); void *data; };
static void count_run(void *p) { (*(int *)p)++; }

static void test_graph_nodes(int remote) {
	void *g = NULL, *start = NULL, *ev = NULL, *s = NULL, *rec = NULL, *wait = NULL, *x = NULL, *got = NULL;
	EQ(p_cudaGraphCreate(&g, 0), 0, "cudaGraphCreate");
	EQ(p_cudaEventCreateWithFlags(&start, 0), 0, "event");
	EQ(p_cudaEventCreateWithFlags(&ev, 0), 0, "event");
	EQ(p_cudaStreamCreateWithFlags(&s, 1), 0, "stream");
	EQ(p_cudaGraphAddEventRecordNode(&rec, g, NULL, 0, ev), 0, "cudaGraphAddEventRecordNode");
	EQ(p_cudaGraphAddEventWaitNode(&wait, g, &rec, 1, ev), 0, "cudaGraphAddEventWaitNode after it");
	int type = -1;
	EQ(p_cudaGraphNodeGetType(rec, &type), 0, "type"); EQ(type, 7, "an event record node");
	EQ(p_cudaGraphNodeGetType(wait, &type), 0, "type"); EQ(type, 6, "an event wait node");
	EQ(p_cudaGraphEventRecordNodeGetEvent(rec, &got), 0, "cudaGraphEventRecordNodeGetEvent");
	CHECK(got == ev, "the record node's event is the one given");
	EQ(p_cudaGraphEventWaitNodeGetEvent(rec, &got), 1, "a record node is not a wait node");
	void *bad = NULL;
	EQ(p_cudaGraphAddEventRecordNode(&bad, g, NULL, 0, (void *)0x7ead0000dea0), 1, "a wild event: invalid value");

	/* The DOT file is written by this process, under remote too (the server opens no path). */
	char dot[] = "/tmp/vgpu-rt13c-dot-XXXXXX";
	int fd = mkstemp(dot);
	CHECK(fd >= 0, "mkstemp");
	close(fd);
	EQ(p_cudaGraphDebugDotPrint(g, dot, 0), 0, "cudaGraphDebugDotPrint");
	FILE *df = fopen(dot, "r");
	char text[4096] = {0};
	if (df) { fread(text, 1, sizeof text - 1, df); fclose(df); }
	unlink(dot);
	CHECK(strstr(text, "digraph") && strstr(text, "EVENT_RECORD") && strstr(text, "WAIT_EVENT") && strstr(text, "->"),
	      "the DOT file names both nodes and their edge: %s", text);
	EQ(p_cudaGraphDebugDotPrint(g, NULL, 0), 1, "no path: invalid value");
	EQ(p_cudaGraphDebugDotPrint((void *)0x7ead0000dea0, "/tmp/vgpu-never-written", 0), 1, "a wild graph: invalid value");
	CHECK(access("/tmp/vgpu-never-written", F_OK) != 0, "a refused call writes no file");

	struct instparams ip = {2, s, (void *)1, 7};
	EQ(p_cudaGraphInstantiateWithParams(&x, g, &ip), 0, "cudaGraphInstantiateWithParams, uploading to a stream");
	EQ(ip.result, 0, "result_out: cudaGraphInstantiateSuccess"); CHECK(ip.errNode == NULL, "no error node");
	unsigned long long flags = 99;
	EQ(p_cudaGraphExecGetFlags(x, &flags), 0, "cudaGraphExecGetFlags"); EQ(flags, 2, "the flags it was made with");
	EQ(p_cudaGraphExecGetFlags(x, NULL), 1, "a NULL output: invalid value");
	float ms = -1;
	EQ(p_cudaEventRecord(start, s), 0, "record start");
	EQ(p_cudaStreamSynchronize(s), 0, "sync");
	CHECK(p_cudaEventElapsedTime(&ms, start, ev) != 0, "before any launch the graph's event was never recorded");
	p_cudaGetLastError();
	EQ(p_cudaGraphLaunch(x, s), 0, "launch");
	EQ(p_cudaStreamSynchronize(s), 0, "sync");
	EQ(p_cudaEventElapsedTime(&ms, start, ev), 0, "the launch recorded the event");
	CHECK(ms >= 0, "after start: %f ms", ms);
	struct instparams badp = {0x100, NULL, NULL, 0};
	void *x2 = NULL;
	EQ(p_cudaGraphInstantiateWithParams(&x2, g, &badp), 1, "unknown instantiate flags: invalid value");
	EQ(badp.result, 1, "result_out: cudaGraphInstantiateError");
	EQ(p_cudaGraphInstantiate(&x2, g, 1), 0, "cudaGraphInstantiate with auto-free");
	EQ(p_cudaGraphExecGetFlags(x2, &flags), 0, "flags"); EQ(flags, 1, "cudaGraphInstantiate keeps its flags too");
	EQ(p_cudaGraphExecDestroy(x2), 0, "destroy");

	/* CUDA 12's cudaStreamGetCaptureInfo: status, and an id of each capture's own. */
	int cst = -1;
	unsigned long long id1 = 0, id2 = 0;
	void *cg = NULL;
	EQ(p_cudaStreamGetCaptureInfo(s, &cst, &id1), 0, "cudaStreamGetCaptureInfo, not capturing"); EQ(cst, 0, "cudaStreamCaptureStatusNone");
	EQ(p_cudaStreamBeginCapture(s, 0), 0, "begin capture");
	EQ(p_cudaStreamGetCaptureInfo(s, &cst, &id1), 0, "cudaStreamGetCaptureInfo"); EQ(cst, 1, "cudaStreamCaptureStatusActive");
	EQ(p_cudaStreamEndCapture(s, &cg), 0, "end capture"); EQ(p_cudaGraphDestroy(cg), 0, "destroy");
	EQ(p_cudaStreamBeginCapture(s, 0), 0, "begin another capture");
	EQ(p_cudaStreamGetCaptureInfo(s, &cst, &id2), 0, "cudaStreamGetCaptureInfo");
	CHECK(id1 != 0 && id2 != 0 && id1 != id2, "each capture has an id of its own (%llu, %llu)", id1, id2);
	EQ(p_cudaStreamGetCaptureInfo(s, NULL, &id2), 1, "a NULL status: invalid value");
	EQ(p_cudaStreamEndCapture(s, &cg), 0, "end capture"); EQ(p_cudaGraphDestroy(cg), 0, "destroy");

	/* Host nodes call the program's function at each launch, in this process. */
	int runs = 0;
	struct hostparams hp = {count_run, &runs}, hb;
	void *hn = NULL, *g2 = NULL, *x3 = NULL;
	EQ(p_cudaGraphCreate(&g2, 0), 0, "graph");
	err_t r = p_cudaGraphAddHostNode(&hn, g2, NULL, 0, &hp);
	{ /* a remote client runs the host function itself */
		EQ(r, 0, "cudaGraphAddHostNode");
		EQ(p_cudaGraphHostNodeGetParams(hn, &hb), 0, "cudaGraphHostNodeGetParams");
		CHECK(hb.fn == count_run && hb.data == &runs, "the host node's parameters are the ones given");
		struct hostparams nofn = {NULL, &runs};
		EQ(p_cudaGraphAddHostNode(&hn, g2, NULL, 0, &nofn), 1, "a host node without a function: invalid value");
		EQ(p_cudaGraphInstantiate(&x3, g2, 0), 0, "instantiate");
		EQ(p_cudaGraphLaunch(x3, s), 0, "launch"); EQ(p_cudaGraphLaunch(x3, s), 0, "launch");
		EQ(p_cudaStreamSynchronize(s), 0, "sync");
		EQ(runs, 2, "each launch called the host function once");
		EQ(p_cudaGraphExecDestroy(x3), 0, "destroy");
	}
	EQ(p_cudaGraphExecDestroy(x), 0, "destroy"); EQ(p_cudaGraphDestroy(g), 0, "destroy"); EQ(p_cudaGraphDestroy(g2), 0, "destroy");
	EQ(p_cudaEventDestroy(ev), 0, "destroy"); EQ(p_cudaEventDestroy(start), 0, "destroy"); EQ(p_cudaStreamDestroy(s), 0, "destroy");
	p_cudaGetLastError();
}

int main(int argc, char **argv) {
	char path[4096];
	snprintf(path, sizeof path, "%s/libcudart.so.13", argc > 1 ? argv[1] : ".");
	void *h = dlopen(path, RTLD_NOW);
	if (!h) { printf("FAIL %s\n", dlerror()); return 1; }
#define BIND(r, n, a) if (!(p_##n = (r(*) a)dlsym(h, #n))) { printf("FAIL missing %s\n", #n); return 1; }
	FNS(BIND)
	/* The 3-argument form is CUDA 12's; libcudart.so.13's default is CUDA 13's 7-argument one. */
	p_cudaStreamGetCaptureInfo = (err_t(*)(void *, int *, unsigned long long *))dlvsym(h, "cudaStreamGetCaptureInfo", "libcudart.so.12");
	self_path = "/proc/self/exe"; libdir = argc > 1 ? argv[1] : ".";
	if (argc > 4 && !strncmp(argv[2], "ipc-", 4)) return ipc_child(argv[2], argv[3], argv[4]);
	int remote = getenv("VGPU_BACKEND") && !strcmp(getenv("VGPU_BACKEND"), "remote");
	test_channel_descs();
	test_arrays_2d();
	test_volumes();
	test_textures();
	test_ipc(remote);
	test_graph_nodes(remote);
	printf("%s: runtime13c %s: %d checks, %d failures\n", failures ? "FAIL" : "PASS", argc > 2 ? argv[2] : "", checks, failures);
	return failures != 0;
}
