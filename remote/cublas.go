package remote

import (
	"sync"
	"unsafe"

	"vgpu/cublas"
	"vgpu/shim/api"
	"vgpu/wire"
)

// cuBLAS's alpha and beta are host pointers unless the handle is in device pointer mode.
// The client must know which to carry the value or the address, so it follows each
// handle's mode as the program sets it (the server's handle follows the same calls).
var devicePointerMode sync.Map // handle -> struct{}

// hostScalars reports whether a handle's alpha and beta live in host memory.
func hostScalars(handle uint64) bool {
	_, dev := devicePointerMode.Load(handle)
	return !dev
}

// afterCall keeps client-side state in step with calls the server accepted.
var afterCall = map[int]func(vals []wire.Value){}

// beforeCall may answer a call here (handled), or let it go to the server.
var beforeCall = map[int]func(f *api.Func, vals []wire.Value) (result uint64, handled bool){}

// beforePost answers, before it is pipelined, what a call would fail with at once: cuBLAS
// reports a bad argument from the call itself, not at the next synchronisation.
var beforePost = map[int]func(f *api.Func, vals []wire.Value) uint64{}

// handles are the cuBLAS handles the server created for this client.
var handles sync.Map // handle -> struct{}

// checkGemm validates a GEMM's arguments, by name, with the checks the server will run.
func checkGemm(f *api.Func, vals []wire.Value) uint64 {
	if _, ok := handles.Load(vals[0].U); !ok {
		return uint64(cublas.NotInitialized)
	}
	arg := func(name string, def uint64) uint64 {
		if i := f.ArgIndex(name); i >= 0 {
			return vals[i].U
		}
		return def // the S forms: float operands, 32F compute, one matrix
	}
	i := func(name string, def uint64) int32 { return int32(arg(name, def)) }
	return uint64(cublas.CheckGemm(i("transa", 0), i("transb", 0), i("m", 0), i("n", 0), i("k", 0),
		i("lda", 0), i("ldb", 0), i("ldc", 0), i("batchCount", 1), i("Atype", cublas.TypeF32), i("Btype", cublas.TypeF32), i("Ctype", cublas.TypeF32),
		i("computeType", cublas.Compute32F), uintptr(arg("alpha", 0)), uintptr(arg("beta", 0))))
}

func init() {
	byName := api.ByName()
	afterCall[byName["cublasSetPointerMode_v2"].Op] = func(v []wire.Value) {
		if v[1].U == cublas.PointerModeDevice {
			devicePointerMode.Store(v[0].U, struct{}{})
		} else {
			devicePointerMode.Delete(v[0].U)
		}
	}
	afterCall[byName["cublasDestroy_v2"].Op] = func(v []wire.Value) {
		devicePointerMode.Delete(v[0].U)
		handles.Delete(v[0].U)
	}
	afterCall[byName["cublasCreate_v2"].Op] = func(v []wire.Value) {
		handles.Store(*(*uint64)(unsafe.Pointer(uintptr(v[0].U))), struct{}{})
	}
	for _, name := range []string{"cublasSgemm_v2", "cublasGemmEx", "cublasGemmStridedBatchedEx", "cublasGemmBatchedEx",
		"cublasSgemmStridedBatched", "cublasSgemmBatched"} {
		beforePost[byName[name].Op] = checkGemm
	}
	beforePost[byName["cublasStrsmBatched"].Op] = func(f *api.Func, v []wire.Value) uint64 {
		if _, ok := handles.Load(v[0].U); !ok {
			return uint64(cublas.NotInitialized)
		}
		i := func(k int) int32 { return int32(v[k].U) }
		// handle, side, uplo, trans, diag, m, n, alpha, A, lda, B, ldb, batchCount
		return uint64(cublas.CheckTrsm(i(1), i(2), i(3), i(4), i(5), i(6), i(9), i(11), i(12), uintptr(v[7].U)))
	}
}
