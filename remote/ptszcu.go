package remote

import (
	"runtime"
	"strings"
	"unsafe"

	"vgpu/cuda"
	"vgpu/cudart"
	"vgpu/shim"
	"vgpu/shim/api"
	"vgpu/wire"
)

// The driver's per-thread default stream forms of the calls this package carries by hand
// (cuda/ptsz.go has their in-process forms): the handle 0 becomes CU_STREAM_PER_THREAD,
// which perThread turns into this thread's own server stream; synchronous forms first
// check, as the runtime's do, that the thread's per-thread stream is not capturing.

// ptdsCheckCU is ptdsCheck with the driver's codes (the capture codes are shared).
func ptdsCheckCU() int32 {
	e := ptdsCheck()
	if e == cudart.Success {
		return 0
	}
	if e >= 900 && e <= 910 {
		return int32(e)
	}
	return driverResult(e)
}

// MemcpyHtoDPtds is cuMemcpyHtoD_v2_ptds over the connection.
func MemcpyHtoDPtds(dst uint64, src uintptr, n uint64) int32 {
	if r := ptdsCheckCU(); r != 0 {
		return r
	}
	return int32(MemcpyHtoD(dst, src, n))
}

// MemcpyDtoHPtds is cuMemcpyDtoH_v2_ptds over the connection.
func MemcpyDtoHPtds(dst uintptr, src uint64, n uint64) int32 {
	if r := ptdsCheckCU(); r != 0 {
		return r
	}
	return int32(MemcpyDtoH(dst, src, n))
}

// MemcpyPtdsCU is cuMemcpy_ptds over the connection.
func MemcpyPtdsCU(dst, src uint64, n uint64) int32 {
	if r := ptdsCheckCU(); r != 0 {
		return r
	}
	return MemcpyCU(dst, src, n)
}

// MemcpyAsyncPtszCU is cuMemcpyAsync_ptsz over the connection.
func MemcpyAsyncPtszCU(dst, src uint64, n uint64, stream uintptr) int32 {
	return MemcpyAsyncCU(dst, src, n, ptsz(stream))
}

// MemcpyHtoDAsyncPtsz is cuMemcpyHtoDAsync_v2_ptsz over the connection.
func MemcpyHtoDAsyncPtsz(dst uint64, src uintptr, n uint64, stream uintptr) int32 {
	return int32(MemcpyHtoDAsync(dst, src, n, ptsz(stream)))
}

// MemcpyDtoHAsyncPtsz is cuMemcpyDtoHAsync_v2_ptsz over the connection.
func MemcpyDtoHAsyncPtsz(dst uintptr, src uint64, n uint64, stream uintptr) int32 {
	return int32(MemcpyDtoHAsync(dst, src, n, ptsz(stream)))
}

// Memcpy2DPtdsCU is cuMemcpy2D_v2_ptds (and Unaligned) over the connection.
func Memcpy2DPtdsCU(p unsafe.Pointer) int32 {
	if r := ptdsCheckCU(); r != 0 {
		return r
	}
	return Memcpy2DCU(p)
}

// Memcpy2DAsyncPtszCU is cuMemcpy2DAsync_v2_ptsz over the connection.
func Memcpy2DAsyncPtszCU(p unsafe.Pointer, stream uintptr) int32 {
	return Memcpy2DAsyncCU(p, ptsz(stream))
}

// Memcpy3DPtdsCU is cuMemcpy3D_v2_ptds over the connection.
func Memcpy3DPtdsCU(p unsafe.Pointer) int32 {
	if r := ptdsCheckCU(); r != 0 {
		return r
	}
	return Memcpy3DCU(p)
}

// Memcpy3DAsyncPtszCU is cuMemcpy3DAsync_v2_ptsz over the connection.
func Memcpy3DAsyncPtszCU(p unsafe.Pointer, stream uintptr) int32 {
	return Memcpy3DAsyncCU(p, ptsz(stream))
}

// LaunchFunctionPtsz is cuLaunchKernel_ptsz over the connection.
func LaunchFunctionPtsz(f uintptr, gx, gy, gz, bx, by, bz, shared uint32, stream uintptr, params, extra uintptr) int32 {
	return LaunchFunction(f, gx, gy, gz, bx, by, bz, shared, ptsz(stream), params, extra)
}

// LaunchCooperativeKernelPtsz is cuLaunchCooperativeKernel_ptsz over the connection.
func LaunchCooperativeKernelPtsz(f uintptr, gx, gy, gz, bx, by, bz, shared uint32, stream uintptr, params uintptr) int32 {
	return LaunchCooperativeKernel(f, gx, gy, gz, bx, by, bz, shared, ptsz(stream), params)
}

// LaunchKernelExPtsz is cuLaunchKernelEx_ptsz over the connection.
func LaunchKernelExPtsz(cfg uintptr, f uintptr, params, extra uintptr) int32 {
	if cfg == 0 {
		return int32(cuda.ErrorInvalidValue)
	}
	c := cuda.PtszLaunchConfig(cfg)
	r := LaunchKernelEx(uintptr(unsafe.Pointer(c)), f, params, extra)
	runtime.KeepAlive(c)
	return r
}

// LaunchHostFuncPtszCU is cuLaunchHostFunc_ptsz over the connection.
func LaunchHostFuncPtszCU(stream, fn, data uintptr) int32 {
	return LaunchHostFuncCU(ptsz(stream), fn, data)
}

// StreamAddCallbackPtszCU is cuStreamAddCallback_ptsz over the connection; the callback is
// handed the stream as the caller named it.
func StreamAddCallbackPtszCU(stream, fn, data uintptr, flags uint32) int32 {
	if fn == 0 || flags != 0 {
		return int32(cuda.ErrorInvalidValue)
	}
	if captures.Load() > 0 {
		return int32(cuda.ErrorCaptureUnsupported)
	}
	if r := cuStreamSync(ptsz(stream)); r != cuda.Success {
		return int32(r)
	}
	shim.RunStreamCallback(fn, stream, data)
	return int32(cuda.Success)
}

// Stream-ordered writes of a value are pipelined; their alignment and flags are checked
// here, so a bad one fails at once as it does in process instead of at the next sync.
func init() {
	for i := range api.Functions {
		f := &api.Functions[i]
		var align uint64
		switch {
		case strings.HasPrefix(f.Name, "cuStreamWriteValue32"):
			align = 4
		case strings.HasPrefix(f.Name, "cuStreamWriteValue64"):
			align = 8
		default:
			continue
		}
		beforePost[f.Op] = func(_ *api.Func, v []wire.Value) uint64 {
			if v[3].U&^1 != 0 || v[1].U%align != 0 || v[1].U == 0 {
				return uint64(cuda.ErrorInvalidValue)
			}
			return 0
		}
	}
}
