/* cuBLAS GEMMs as ggml makes them, through whatever libcublas and libcudart the loader finds:
 * NVIDIA's, vgpu's in-process sim, or vgpu's remote client. One line per case: its status,
 * an FNV-1a hash of the output bytes and the first values. Runs that must agree (native and
 * remote on one GPU; in-process sim and a remote sim server) print the same lines.
 *   gemm [exact|random] [trsm]   exact: small integers, the same on every implementation;
 *                                 random: values whose rounding depends on the implementation;
 *                                 trsm: also a batched triangular solve (ggml's solve_tri). */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { R32F = 0, R16F = 2, R16BF = 14, C16F = 64, C32F = 68, OPN = 0, OPT = 1 };

static void *lib(const char *a, const char *b) {
	void *h = dlopen(a, RTLD_NOW);
	return h ? h : dlopen(b, RTLD_NOW);
}
#define SYM(h, name) void *name##_p = dlsym(h, #name); if (!name##_p) { printf("missing %s\n", #name); return 2; }

static uint16_t to_half(float f) {
	uint32_t x; memcpy(&x, &f, 4);
	uint32_t sign = (x >> 16) & 0x8000, e = (x >> 23) & 0xff, m = x & 0x7fffff;
	int ex = (int)e - 127 + 15;
	if (e == 0xff) return sign | 0x7c00 | (m ? 0x200 : 0);
	if (ex >= 31) return sign | 0x7c00;
	if (ex <= 0) {
		if (ex < -10) return sign;
		m |= 0x800000;
		uint32_t shift = 14 - ex, half = m >> shift, rem = m & ((1u << shift) - 1), mid = 1u << (shift - 1);
		if (rem > mid || (rem == mid && (half & 1))) half++;
		return sign | half;
	}
	uint32_t h = sign | (ex << 10) | (m >> 13), rem = m & 0x1fff;
	if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
	return h;
}
static uint16_t to_bf16(float f) {
	uint32_t x; memcpy(&x, &f, 4);
	x += 0x7fff + ((x >> 16) & 1);
	return x >> 16;
}
static uint64_t fnv(const void *p, size_t n) {
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) h = (h ^ ((const unsigned char *)p)[i]) * 1099511628211ull;
	return h;
}

static int exact;
static uint64_t rng = 88172645463325252ull;
static float value(void) {
	rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
	if (exact) return (float)((int)(rng % 7) - 3);
	return (float)((double)(rng % 2000001) / 1000000.0 - 1.0);
}

/* fill n elements of type t on the host */
static void *host(int t, size_t n) {
	size_t es = t == R32F ? 4 : 2;
	unsigned char *p = malloc(n * es);
	for (size_t i = 0; i < n; i++) {
		float v = value();
		if (t == R32F) memcpy(p + 4 * i, &v, 4);
		else { uint16_t h = t == R16F ? to_half(v) : to_bf16(v); memcpy(p + 2 * i, &h, 2); }
	}
	return p;
}

int main(int argc, char **argv) {
	exact = argc > 1 && !strcmp(argv[1], "exact");
	void *rt = lib("libcudart.so.13", "libcudart.so.12"), *bl = lib("libcublas.so.13", "libcublas.so.12");
	if (!rt || !bl) { printf("dlopen: %s\n", dlerror()); return 2; }
	SYM(rt, cudaMalloc) SYM(rt, cudaMemcpy) SYM(rt, cudaDeviceSynchronize) SYM(rt, cudaStreamCreate) SYM(rt, cudaStreamSynchronize)
	SYM(bl, cublasCreate_v2) SYM(bl, cublasSetStream_v2) SYM(bl, cublasSetMathMode) SYM(bl, cublasSetPointerMode_v2)
	SYM(bl, cublasSgemm_v2) SYM(bl, cublasGemmEx) SYM(bl, cublasGemmStridedBatchedEx) SYM(bl, cublasGemmBatchedEx)
	SYM(bl, cublasSgemmStridedBatched) SYM(bl, cublasSgemmBatched) SYM(bl, cublasDestroy_v2) SYM(bl, cublasStrsmBatched)
	int (*dmalloc)(void **, size_t) = cudaMalloc_p;
	int (*memcpy_)(void *, const void *, size_t, int) = cudaMemcpy_p;
	int (*dsync)(void) = cudaDeviceSynchronize_p;
	int (*screate)(void **) = cudaStreamCreate_p;
	int (*ssync)(void *) = cudaStreamSynchronize_p;
	int (*create)(void **) = cublasCreate_v2_p;
	int (*setstream)(void *, void *) = cublasSetStream_v2_p;
	int (*setmath)(void *, int) = cublasSetMathMode_p;
	int (*setptr)(void *, int) = cublasSetPointerMode_v2_p;
	int (*destroy)(void *) = cublasDestroy_v2_p;
	int (*sgemm)(void *, int, int, int, int, int, const float *, const void *, int, const void *, int, const float *, void *, int) = cublasSgemm_v2_p;
	int (*gemmex)(void *, int, int, int, int, int, const void *, const void *, int, int, const void *, int, int, const void *, void *, int, int, int, int) = cublasGemmEx_p;
	int (*strided)(void *, int, int, int, int, int, const void *, const void *, int, int, long long, const void *, int, int, long long,
		const void *, void *, int, int, long long, int, int, int) = cublasGemmStridedBatchedEx_p;
	int (*batched)(void *, int, int, int, int, int, const void *, const void *const *, int, int, const void *const *, int, int,
		const void *, void *const *, int, int, int, int, int) = cublasGemmBatchedEx_p;
	int (*sstrided)(void *, int, int, int, int, int, const float *, const float *, int, long long, const float *, int, long long,
		const float *, float *, int, long long, int) = cublasSgemmStridedBatched_p;
	int (*sbatched)(void *, int, int, int, int, int, const float *, const float *const *, int, const float *const *, int,
		const float *, float *const *, int, int) = cublasSgemmBatched_p;

	void *h = NULL, *st = NULL;
	int r = create(&h);
	if (r) { printf("cublasCreate %d\n", r); return 1; }
	screate(&st);
	setstream(h, st);
	const int M = 96, N = 40, K = 72, B = 3; /* shapes as ggml's small matmuls have them */
	float one = 1, zero = 0, two = 2, half_ = 0.5f;
	uint16_t h1 = to_half(1), h0 = to_half(0);
	int fails = 0;
	/* each case: inputs uploaded, the call, a sync, the output back and printed */
#define UP(t, n) ({ void *hp = host(t, n), *dp = NULL; dmalloc(&dp, (n) * ((t) == R32F ? 4 : 2)); memcpy_(dp, hp, (n) * ((t) == R32F ? 4 : 2), 1); free(hp); dp; })
#define REPORT(name, call, dp, t, n) do { \
		int res_ = (call), s_ = ssync(st); size_t bytes_ = (n) * ((t) == R32F ? 4 : 2); unsigned char *o_ = malloc(bytes_); \
		int c_ = memcpy_(o_, dp, bytes_, 2); float f0_; \
		if ((t) == R32F) memcpy(&f0_, o_, 4); else { uint16_t u_; memcpy(&u_, o_, 2); uint32_t w_ = (uint32_t)u_ << 16; \
			if ((t) == R16F) { f0_ = 0; int e_ = (u_ >> 10) & 31, m_ = u_ & 1023; f0_ = e_ ? (1 + m_ / 1024.0f) * (float)(1 << e_) / 32768.0f : m_ / 16777216.0f; if (u_ & 0x8000) f0_ = -f0_; } \
			else memcpy(&f0_, &w_, 4); } \
		printf("%-28s status %d sync %d copy %d fnv %016llx first %.6g\n", name, res_, s_, c_, (unsigned long long)fnv(o_, bytes_), f0_); \
		fails += res_ != 0 || s_ != 0 || c_ != 0; free(o_); } while (0)

	{ /* f32, as ggml's f32 x f32 path */
		void *a = UP(R32F, M * K), *b = UP(R32F, K * N), *c = UP(R32F, M * N);
		REPORT("sgemm NN", sgemm(h, OPN, OPN, M, N, K, &one, a, M, b, K, &zero, c, M), c, R32F, M * N);
		REPORT("sgemm TN alpha2 beta.5", sgemm(h, OPT, OPN, M, N, K, &two, a, K, b, K, &half_, c, M), c, R32F, M * N);
	}
	{ /* ggml's f16 path: f16 operands, f16 output, 16F compute with half scalars */
		void *a = UP(R16F, M * K), *b = UP(R16F, K * N), *c = UP(R16F, M * N);
		REPORT("gemmex f16 compute16F", gemmex(h, OPT, OPN, M, N, K, &h1, a, R16F, K, b, R16F, K, &h0, c, R16F, M, C16F, -1), c, R16F, M * N);
		void *c32 = UP(R32F, M * N);
		REPORT("gemmex f16->f32 compute32F", gemmex(h, OPT, OPN, M, N, K, &one, a, R16F, K, b, R16F, K, &zero, c32, R32F, M, C32F, -1), c32, R32F, M * N);
	}
	{ /* bf16 */
		void *a = UP(R16BF, M * K), *b = UP(R16BF, K * N), *c = UP(R16BF, M * N);
		REPORT("gemmex bf16 compute32F", gemmex(h, OPT, OPN, M, N, K, &one, a, R16BF, K, b, R16BF, K, &zero, c, R16BF, M, C32F, -1), c, R16BF, M * N);
	}
	{ /* batched forms: strided, and device-resident pointer arrays */
		void *a = UP(R16F, B * M * K), *b = UP(R16F, B * K * N), *c = UP(R32F, B * M * N);
		REPORT("strided f16 x3", strided(h, OPT, OPN, M, N, K, &one, a, R16F, K, (long long)M * K, b, R16F, K, (long long)K * N, &zero, c, R32F, M, (long long)M * N, B, C32F, -1), c, R32F, B * M * N);
		void *ha[3 * B], *arrays = NULL;
		for (int i = 0; i < B; i++) {
			ha[i] = (char *)a + 2 * (size_t)i * M * K;
			ha[B + i] = (char *)b + 2 * (size_t)i * K * N;
			ha[2 * B + i] = (char *)c + 4 * (size_t)i * M * N;
		}
		dmalloc(&arrays, sizeof ha);
		memcpy_(arrays, ha, sizeof ha, 1);
		void **da = arrays;
		REPORT("batched f16 x3 arrays", batched(h, OPT, OPN, M, N, K, &two, (const void *const *)da, R16F, K, (const void *const *)(da + B), R16F, K, &zero, (void *const *)(da + 2 * B), R32F, M, B, C32F, -1), c, R32F, B * M * N);
		void *fa = UP(R32F, B * M * K), *fb = UP(R32F, B * K * N), *fc = UP(R32F, B * M * N);
		REPORT("sgemm strided x3", sstrided(h, OPN, OPT, M, N, K, &one, fa, M, (long long)M * K, fb, N, (long long)K * N, &zero, fc, M, (long long)M * N, B), fc, R32F, B * M * N);
		for (int i = 0; i < B; i++) {
			ha[i] = (char *)fa + 4 * (size_t)i * M * K;
			ha[B + i] = (char *)fb + 4 * (size_t)i * K * N;
			ha[2 * B + i] = (char *)fc + 4 * (size_t)i * M * N;
		}
		memcpy_(arrays, ha, sizeof ha, 1);
		REPORT("sgemm batched x3", sbatched(h, OPN, OPT, M, N, K, &half_, (const float *const *)da, M, (const float *const *)(da + B), N, &zero, (float *const *)(da + 2 * B), M, B), fc, R32F, B * M * N);
	}
	{ /* alpha and beta in device memory */
		void *a = UP(R32F, M * K), *b = UP(R32F, K * N), *c = UP(R32F, M * N), *s = NULL;
		float sc[2] = {2, 0};
		dmalloc(&s, 8);
		memcpy_(s, sc, 8, 1);
		setptr(h, 1);
		REPORT("sgemm device scalars", sgemm(h, OPN, OPN, M, N, K, (float *)s, a, M, b, K, (float *)s + 1, c, M), c, R32F, M * N);
		setptr(h, 0);
	}
	{ /* TF32 tensor-op math, as ggml sets it for f32 on Ampere and later */
		void *a = UP(R32F, M * K), *b = UP(R32F, K * N), *c = UP(R32F, M * N);
		setmath(h, 3);
		REPORT("sgemm tf32 math", sgemm(h, OPN, OPN, M, N, K, &one, a, M, b, K, &zero, c, M), c, R32F, M * N);
		setmath(h, 0);
	}
	if (argc > 2 && !strcmp(argv[2], "trsm")) { /* X·A = 2·B for two upper-triangular A, as ggml's solve_tri */
		int (*trsm)(void *, int, int, int, int, int, int, const float *, const void *const *, int, void *const *, int, int) = cublasStrsmBatched_p;
		const int TM = 32, TN = 16;
		float ha[2][TN * TN];
		for (int k = 0; k < 2; k++)
			for (int j = 0; j < TN; j++)
				for (int i = 0; i < TN; i++) ha[k][j * TN + i] = i > j ? 0 : i == j ? 2 + k : value() / 8;
		void *da = NULL, *db = UP(R32F, 2 * TM * TN), *arr = NULL;
		dmalloc(&da, sizeof ha);
		memcpy_(da, ha, sizeof ha, 1);
		void *hp[4] = {da, (char *)da + sizeof ha[0], db, (char *)db + 4 * TM * TN};
		dmalloc(&arr, sizeof hp);
		memcpy_(arr, hp, sizeof hp, 1);
		void **ap = arr;
		REPORT("strsm batched x2", trsm(h, 1, 1, 0, 0, TM, TN, &two, (const void *const *)ap, TN, (void *const *)(ap + 2), TM, 2), db, R32F, 2 * TM * TN);
	}
	/* Bad arguments are reported by the call itself, even where calls are pipelined. */
	void *a = UP(R32F, 16);
	printf("bad m: %d, bad lda: %d, bad transpose: %d, NULL handle: %d\n",
		sgemm(h, OPN, OPN, -1, 4, 4, &one, a, 4, a, 4, &zero, a, 4), sgemm(h, OPN, OPN, 4, 4, 4, &one, a, 1, a, 4, &zero, a, 4),
		sgemm(h, 7, OPN, 4, 4, 4, &one, a, 4, a, 4, &zero, a, 4), sgemm(NULL, OPN, OPN, 4, 4, 4, &one, a, 4, a, 4, &zero, a, 4));
	destroy(h);
	printf("sync %d; %s\n", dsync(), fails ? "FAIL" : "ok");
	return fails != 0;
}
