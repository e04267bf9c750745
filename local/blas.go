package local

/*
#include <stdlib.h>
#include "gemm.h"
#include "cctx.h"
int blas_open(const char *name, char *err, int n);
int blas_gemm(struct cctx *c, void *st, const struct gemm_args *g);
int blas_trsm(struct cctx *c, void *st, const struct trsm_args *t);
*/
import "C"

import (
	"os"
	"sync"
	"unsafe"

	"vgpu/shim"
)

// cuBLAS is loaded when the first GEMM arrives: most clients never make one, and the
// library is large. Each client context makes its own handle at its first GEMM (cctx.h).
var blas struct {
	once   sync.Once
	err    string
	loaded bool
}

// blasNames are tried in order: VGPU_CUBLAS, the loader's path, then the CUDA toolkit's
// usual home, where NVIDIA's Debian and runfile installs put the library.
func blasNames() []string {
	var names []string
	if p := os.Getenv("VGPU_CUBLAS"); p != "" {
		names = append(names, p)
	}
	return append(names, "libcublas.so.13", "libcublas.so.12", "/usr/local/cuda/lib64/libcublas.so.13",
		"/usr/local/cuda/lib64/libcublas.so.12")
}

func openBlas() {
	var errb [512]C.char
	for _, n := range blasNames() {
		cn := C.CString(n)
		r := C.blas_open(cn, &errb[0], 512)
		C.free(unsafe.Pointer(cn))
		switch r {
		case 0:
			shim.Log().Infow("local backend: cuBLAS loaded", "library", n)
			blas.loaded = true
			blas.err = ""
			return
		case 2:
			blas.err = n + " is vgpu itself; the local backend needs NVIDIA's cuBLAS (set VGPU_CUBLAS)"
		case 3:
			blas.err = "NVIDIA's cuBLAS lacks " + C.GoString(&errb[0])
		default:
			if blas.err == "" {
				blas.err = "NVIDIA's cuBLAS not found (set VGPU_CUBLAS): " + C.GoString(&errb[0])
			}
		}
	}
}

// loaded reports whether NVIDIA's cuBLAS could be loaded.
func loaded() bool {
	blas.once.Do(openBlas)
	if !blas.loaded {
		shim.WarnOnce("local-cublas", "cuBLAS calls fail: "+blas.err)
		return false
	}
	return true
}

// withHandle runs one cuBLAS call with the handle of the caller's context on device dev,
// under the lock that keeps the handle's modes with the call.
func (b *Backend) withHandle(dev int, what string, call func(cc *C.struct_cctx, rs unsafe.Pointer) C.int) shim.Status {
	if !loaded() {
		return shim.ErrNotSupported
	}
	c := b.caller()
	c.blasMu.Lock()
	defer c.blasMu.Unlock()
	cc, st := b.ctxFor(c, dev)
	if st != shim.OK {
		return st
	}
	rs, st := c.streamIn(cc) // cublasSetStream per call: the issuing stream's driver stream
	if st != shim.OK {
		return st
	}
	if r := call(cc, rs); r != 0 {
		shim.Log().Warnw(what+" failed", "status", int(r))
		return shim.ErrLaunchFailure
	}
	return shim.OK
}

// Trsm runs one cublasStrsmBatched with NVIDIA's cuBLAS.
func (b *Backend) Trsm(t *shim.TrsmCall) shim.Status {
	a := C.struct_trsm_args{side: C.int(t.Side), uplo: C.int(t.Uplo), trans: C.int(t.Trans), diag: C.int(t.Diag), m: C.int(t.M),
		n: C.int(t.N), lda: C.int(t.LDA), ldb: C.int(t.LDB), count: C.int(t.Count), math: C.int(t.Math),
		a: C.uint64_t(t.A), b: C.uint64_t(t.B), alpha_dev: C.uint64_t(t.AlphaDev)}
	for i := range t.Alpha {
		a.alpha[i] = C.uchar(t.Alpha[i])
	}
	return b.withHandle(t.Dev, "cublasStrsmBatched", func(cc *C.struct_cctx, rs unsafe.Pointer) C.int { return C.blas_trsm(cc, rs, &a) })
}

// Gemm runs one GEMM with NVIDIA's cuBLAS, on the issuing stream's driver stream.
func (b *Backend) Gemm(g *shim.GemmCall) shim.Status {
	a := C.struct_gemm_args{fn: C.int(g.Fn), ta: C.int(g.TA), tb: C.int(g.TB), m: C.int(g.M), n: C.int(g.N), k: C.int(g.K),
		at: C.int(g.AType), bt: C.int(g.BType), ct: C.int(g.CType), lda: C.int(g.LDA), ldb: C.int(g.LDB), ldc: C.int(g.LDC),
		count: C.int(g.Count), compute: C.int(g.Compute), algo: C.int(g.Algo), math: C.int(g.Math),
		sa: C.longlong(g.StrideA), sb: C.longlong(g.StrideB), sc: C.longlong(g.StrideC),
		a: C.uint64_t(g.A), b: C.uint64_t(g.B), c: C.uint64_t(g.C), alpha_dev: C.uint64_t(g.AlphaDev), beta_dev: C.uint64_t(g.BetaDev)}
	for i := range g.Alpha {
		a.alpha[i], a.beta[i] = C.uchar(g.Alpha[i]), C.uchar(g.Beta[i])
	}
	return b.withHandle(g.Dev, "cuBLAS GEMM", func(cc *C.struct_cctx, rs unsafe.Pointer) C.int { return C.blas_gemm(cc, rs, &a) })
}
