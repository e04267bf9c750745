/* Libraries and their kernels (tests/programs/library.cu's rules, for CI's nvcc 12.4 which
 * lacks CUDA 12.5's cudaLibrary* declarations): a kernel name is found only when the image
 * defines that __global__ function, whatever other strings it holds (a device string "nope",
 * a device function's name); the count and the enumeration are the image's kernels; a
 * cudaKernel_t is taken wherever the runtime takes a kernel's host function. Each image kind
 * the driver reads: a cubin, a fat binary holding it plain, LZ4- or Zstandard-compressed (as
 * nvcc -compress-all and nvcc 13 write them), and PTX. Run in-process (sim) and as a remote
 * client of a sim server: the same rules.
 *   library LIBDIR [label]
 * Status values are NVIDIA's documented numbers: 0 success, 1 invalid value, 98 invalid
 * device function, 400 invalid handle, 500 not found (cudaErrorSymbolNotFound). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cubin.h"

static int failures, checks;
#define CHECK(c, ...) do { checks++; if (!(c)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)
#define EQ(got, want, what) do { long long g_ = (long long)(got), w_ = (long long)(want); CHECK(g_ == w_, "%s: %s: got %lld, want %lld", img_name, what, g_, w_); } while (0)
static const char *img_name = "";

typedef void *H;
struct dim3 { unsigned x, y, z; };
struct launch_cfg { struct dim3 grid, block; size_t shared; H stream; void *attrs; unsigned nattrs; };

#define FNS(X) \
	X(int, cuInit, (unsigned)) X(int, cuDevicePrimaryCtxRetain, (H *, int)) X(int, cuCtxSetCurrent, (H)) \
	X(int, cuLibraryLoadData, (H *, const void *, void *, void *, unsigned, void *, void *, unsigned)) \
	X(int, cuLibraryUnload, (H)) X(int, cuLibraryGetKernel, (H *, H, const char *)) \
	X(int, cuLibraryGetKernelCount, (unsigned *, H)) X(int, cuLibraryEnumerateKernels, (H *, unsigned, H)) \
	X(int, cuKernelGetName, (const char **, H)) X(int, cuLibraryGetModule, (H *, H)) \
	X(int, cuModuleGetFunction, (H *, H, const char *)) X(int, cuModuleGetFunctionCount, (unsigned *, H)) \
	X(int, cudaLibraryLoadData, (H *, const void *, void *, void *, unsigned, void *, void *, unsigned)) \
	X(int, cudaLibraryUnload, (H)) X(int, cudaLibraryGetKernel, (H *, H, const char *)) \
	X(int, cudaLibraryGetKernelCount, (unsigned *, H)) X(int, cudaLibraryEnumerateKernels, (H *, unsigned, H)) \
	X(int, cudaLaunchKernel, (const void *, struct dim3, struct dim3, void **, size_t, H)) \
	X(int, cudaLaunchKernelExC, (const struct launch_cfg *, const void *, void **)) \
	X(int, cudaFuncGetAttributes, (void *, const void *)) X(int, cudaFuncSetAttribute, (const void *, int, int)) \
	X(int, cudaDeviceSynchronize, (void)) X(int, cudaGetLastError, (void)) X(int, cudaMalloc, (void **, size_t)) \
	X(int, cudaFree, (void *))
#define DECL(ret, name, args) static ret (*name) args;
FNS(DECL)

/* ---- images, laid out as nvcc writes them (facts of the ELF, fat binary and PTX formats) ---- */

static unsigned char cubin[4096];
static size_t cubin_size;


/* Two kernels (scale, count: STT_FUNC symbols marked STO_CUDA_ENTRY 0x10), a device function
 * _Z6helperf with a .text section of its own (an STT_FUNC without the entry mark), and the
 * device string "nope" in the initialised globals. */
static void make_cubin(void) {
	static const char strtab[] = "\0scale\0count\0_Z6helperf\0msg\0";
	unsigned name_scale = 1, name_count = 7, name_helper = 13, name_msg = 24;
	static unsigned char symtab[5 * 24];
	unsigned char *s1 = symtab + 24, *s2 = symtab + 48, *s3 = symtab + 72, *s4 = symtab + 96;
	/* st_name, st_info (STB_GLOBAL<<4 | STT_FUNC = 0x12, OBJECT 0x11), st_other, st_shndx, value, size */
	put32(s1, name_scale); s1[4] = 0x12; s1[5] = 0x10; put16(s1 + 6, 4); put64(s1 + 16, 16);
	put32(s2, name_count); s2[4] = 0x12; s2[5] = 0x10; put16(s2 + 6, 5); put64(s2 + 16, 16);
	put32(s3, name_helper); s3[4] = 0x12; s3[5] = 0; put16(s3 + 6, 6); put64(s3 + 16, 16);
	put32(s4, name_msg); s4[4] = 0x11; put16(s4 + 6, 7); put64(s4 + 16, 16);
	static unsigned char code[16];
	static const unsigned char init[16] = "\0\0\0\0\0\0\0\0nope\0\0\0";
	struct sec s[] = {
		{"", 0, 0, NULL, 0}, {".shstrtab", 3, 0, NULL, 0}, {".strtab", 3, 0, (const unsigned char *)strtab, sizeof strtab},
		{".symtab", 2, 2, symtab, sizeof symtab}, {".text.scale", 1, 0, code, 16}, {".text.count", 1, 0, code, 16},
		{".text._Z6helperf", 1, 0, code, 16}, {".nv.global.init", 1, 0, init, 16},
	};
	/* e_version holds the CUDA version in nvcc's cubins, as here (not EV_CURRENT). */
	cubin_size = cubin_write(cubin, s, sizeof s / sizeof s[0], 0x7c, 0x33, 1);
}

/* A fat binary of one entry: kind 2 (cubin) or 1 (PTX), the payload as given (compressed or
 * not, flags saying which), its inflated size at 0x38 and its stored length at 0x10. */
static unsigned char *fatbin(int kind, const unsigned char *p, size_t n, unsigned long long flags, size_t inflated) {
	size_t padded = (n + 7) & ~7UL;
	unsigned char *f = calloc(1, 16 + 64 + padded + 8);
	put32(f, 0xba55ed50); put16(f + 4, 1); put16(f + 6, 16); put64(f + 8, 64 + padded);
	unsigned char *e = f + 16;
	put16(e, kind); put16(e + 2, 0x101); put32(e + 4, 64); put64(e + 8, padded); put32(e + 0x10, n);
	put32(e + 0x1c, 90); put64(e + 0x28, 0x11 | flags); put64(e + 0x38, inflated);
	memcpy(e + 64, p, n);
	return f;
}

/* LZ4: one block of literals only (a valid block: its last sequence has no match). */
static size_t lz4_literals(unsigned char *out, const unsigned char *in, size_t n) {
	size_t o = 0;
	out[o++] = 15 << 4;
	size_t rest = n - 15;
	for (; rest >= 255; rest -= 255) out[o++] = 255;
	out[o++] = rest;
	memcpy(out + o, in, n);
	return o + n;
}

/* Zstandard: a frame of two raw (stored) blocks, no checksum. */
static size_t zstd_raw(unsigned char *out, const unsigned char *in, size_t n) {
	size_t o = 0, half = n / 2;
	put32(out, 0xfd2fb528); o += 4;
	out[o++] = 0x00; /* frame header: no content size, a window descriptor follows */
	out[o++] = 0x30; /* a 64 KiB window */
	size_t sizes[2] = {half, n - half};
	for (int b = 0; b < 2; b++) {
		unsigned h = (unsigned)(sizes[b] << 3) | (b == 1); /* raw block; the last one */
		out[o++] = h; out[o++] = h >> 8; out[o++] = h >> 16;
		memcpy(out + o, in + (b ? half : 0), sizes[b]); o += sizes[b];
	}
	return o;
}

static const char ptx[] =
	"//\n// a device string: nope\n//\n.version 8.4\n.target sm_90\n.address_size 64\n"
	".global .align 1 .b8 msg[5] = {110, 111, 112, 101, 0};\n"
	".func (.param .b32 r) _Z6helperf(.param .b32 x)\n{\n\tret;\n}\n"
	".visible .entry scale(\n\t.param .u64 scale_param_0,\n\t.param .u32 scale_param_1\n)\n{\n\tret;\n}\n"
	".visible .entry count(\n\t.param .u32 count_param_0\n)\n{\n\tret;\n}\n";

static int name_order(const void *a, const void *b) { return strcmp(*(const char **)a, *(const char **)b); }

/* The driver's and the runtime's rules on one image. */
static void check_image(const char *what, const void *img) {
	img_name = what;
	H lib = NULL, k = NULL, none = NULL;
	EQ(cuLibraryLoadData(&lib, img, NULL, NULL, 0, NULL, NULL, 0), 0, "cuLibraryLoadData");
	EQ(cuLibraryGetKernel(&k, lib, "scale"), 0, "cuLibraryGetKernel of a kernel");
	EQ(cuLibraryGetKernel(&none, lib, "nope"), 500, "a name the image holds only as a string is no kernel");
	EQ(cuLibraryGetKernel(&none, lib, "_Z6helperf"), 500, "a device function is no kernel");
	EQ(cuLibraryGetKernel(&none, lib, "scal"), 500, "a prefix of a kernel's name");
	unsigned count = 0;
	EQ(cuLibraryGetKernelCount(&count, lib), 0, "cuLibraryGetKernelCount");
	EQ(count, 2, "kernels in the library, after looking up names that are none");
	H ks[2] = {0};
	const char *names[2] = {"", ""};
	EQ(cuLibraryEnumerateKernels(ks, 3, lib), 1, "more kernels asked for than the library has");
	EQ(cuLibraryEnumerateKernels(ks, 2, lib), 0, "cuLibraryEnumerateKernels");
	for (int i = 0; i < 2; i++) EQ(cuKernelGetName(&names[i], ks[i]), 0, "cuKernelGetName");
	qsort(names, 2, sizeof names[0], name_order);
	CHECK(names[0] && names[1] && !strcmp(names[0], "count") && !strcmp(names[1], "scale"),
		"%s: kernel names: %s %s, want count scale", what, names[0], names[1]);
	H mod = NULL, fn = NULL;
	EQ(cuLibraryGetModule(&mod, lib), 0, "cuLibraryGetModule");
	EQ(cuModuleGetFunction(&fn, mod, "nope"), 500, "cuModuleGetFunction of a string");
	EQ(cuModuleGetFunctionCount(&count, mod), 0, "cuModuleGetFunctionCount");
	EQ(count, 2, "the library's module's functions");
	EQ(cuLibraryUnload(lib), 0, "cuLibraryUnload");

	/* The runtime: the same lookups with its codes; a cudaKernel_t stands for a kernel's
	 * host function (CUDA 12: cudaLaunchKernel, cudaLaunchKernelEx, cudaFuncGetAttributes...). */
	H rlib = NULL, rk = NULL, rnone = NULL;
	EQ(cudaLibraryLoadData(&rlib, img, NULL, NULL, 0, NULL, NULL, 0), 0, "cudaLibraryLoadData");
	EQ(cudaLibraryGetKernel(&rk, rlib, "scale"), 0, "cudaLibraryGetKernel");
	EQ(cudaLibraryGetKernel(&rnone, rlib, "nope"), 500, "cudaLibraryGetKernel of a string: cudaErrorSymbolNotFound");
	EQ(cudaLibraryGetKernelCount(&count, rlib), 0, "cudaLibraryGetKernelCount");
	EQ(count, 2, "the runtime's count");
	H rks[2] = {0};
	EQ(cudaLibraryEnumerateKernels(rks, 2, rlib), 0, "cudaLibraryEnumerateKernels");
	float *x = NULL;
	int n = 4;
	EQ(cudaMalloc((void **)&x, 64), 0, "cudaMalloc");
	void *args[] = {&x, &n};
	struct dim3 one = {1, 1, 1}, block = {128, 1, 1};
	EQ(cudaLaunchKernel(rk, one, block, args, 0, NULL), 0, "cudaLaunchKernel of a cudaKernel_t");
	EQ(cudaDeviceSynchronize(), 0, "the launch ran");
	struct launch_cfg cfg = {one, block, 0, NULL, NULL, 0};
	EQ(cudaLaunchKernelExC(&cfg, rk, args), 0, "cudaLaunchKernelExC of a cudaKernel_t");
	EQ(cudaDeviceSynchronize(), 0, "the launch ran");
	unsigned char attr[144];
	memset(attr, 0xff, sizeof attr);
	EQ(cudaFuncGetAttributes(attr, rk), 0, "cudaFuncGetAttributes of a cudaKernel_t");
	unsigned maxthr = attr[24] | attr[25] << 8 | attr[26] << 16 | (unsigned)attr[27] << 24;
	CHECK(maxthr > 0 && maxthr <= 1024, "%s: maxThreadsPerBlock %u", what, maxthr);
	EQ(cudaFuncSetAttribute(rk, 8, 1024), 0, "cudaFuncSetAttribute (max dynamic shared) of a cudaKernel_t");
	static char not_a_kernel[16];
	EQ(cudaLaunchKernel(not_a_kernel, one, block, args, 0, NULL), 98, "a host address that is no kernel");
	EQ(cudaGetLastError(), 98, "and the runtime's last error says so");
	EQ(cudaLibraryUnload(rlib), 0, "cudaLibraryUnload");
	EQ(cudaLaunchKernel(rk, one, block, args, 0, NULL), 98, "a kernel of an unloaded library");
	cudaGetLastError();
	cudaFree(x);
}

int main(int argc, char **argv) {
	if (argc < 2) { fprintf(stderr, "usage: library LIBDIR [label]\n"); return 2; }
	const char *label = argc > 2 ? argv[2] : "sim";
	char path[4096];
	snprintf(path, sizeof path, "%s/libcuda.so.1", argv[1]);
	void *drv = dlopen(path, RTLD_NOW);
	snprintf(path, sizeof path, "%s/libcudart.so.12", argv[1]);
	void *rt = dlopen(path, RTLD_NOW);
	if (!drv || !rt) { printf("library: FAIL: %s\n", dlerror()); return 1; }
#define LOAD(ret, name, args) if (!(name = (ret(*) args)dlsym(*#name == 'c' && #name[2] == 'd' ? rt : drv, #name))) { printf("library: FAIL: %s not exported\n", #name); return 1; }
	FNS(LOAD)
	H ctx = NULL;
	EQ(cuInit(0), 0, "cuInit");
	EQ(cuDevicePrimaryCtxRetain(&ctx, 0), 0, "cuDevicePrimaryCtxRetain");
	EQ(cuCtxSetCurrent(ctx), 0, "cuCtxSetCurrent");

	make_cubin();
	static unsigned char packed[8192];
	check_image("cubin", cubin);
	check_image("fat binary", fatbin(2, cubin, cubin_size, 0, cubin_size));
	size_t n = lz4_literals(packed, cubin, cubin_size);
	check_image("fat binary, LZ4", fatbin(2, packed, n, 0x2000, cubin_size));
	n = zstd_raw(packed, cubin, cubin_size);
	check_image("fat binary, Zstandard", fatbin(2, packed, n, 0x8000, cubin_size));
	check_image("PTX", ptx);
	check_image("fat binary of PTX", fatbin(1, (const unsigned char *)ptx, sizeof ptx, 0, sizeof ptx));

	printf("library (%s): %d checks, %d failures\n", label, checks, failures);
	return failures != 0;
}
