// One cuBLAS GEMM as vgpu's model describes it (shim.GemmCall), for the C side of the local backend.
#include <stdint.h>
enum { GEMM_SGEMM, GEMM_EX, GEMM_STRIDED_EX, GEMM_BATCHED_EX, GEMM_SSTRIDED, GEMM_SBATCHED };
struct gemm_args {
	int fn, ta, tb, m, n, k, at, bt, ct, lda, ldb, ldc, count, compute, algo, math;
	long long sa, sb, sc;
	uint64_t a, b, c, alpha_dev, beta_dev;
	unsigned char alpha[8], beta[8];
};
struct trsm_args {
	int side, uplo, trans, diag, m, n, lda, ldb, count, math;
	uint64_t a, b, alpha_dev;
	unsigned char alpha[4];
};
