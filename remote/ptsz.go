package remote

import (
	"unsafe"

	"vgpu/cudart"
	"vgpu/shim"
)

// The per-thread default stream variants of the calls this package carries by hand: the
// stream handle 0 becomes cudaStreamPerThread, which perThread then turns into this thread's
// own server stream. Synchronous copies (_ptds) go as their plain forms once ptdsCheck has
// found the thread's per-thread stream not capturing: the server completes them before
// answering, whichever default stream they name.

func ptsz(h uintptr) uintptr {
	if h == 0 {
		return shim.StreamPerThread
	}
	return h
}

// MemcpyPtds is cudaMemcpy_ptds over the connection.
func MemcpyPtds(dst, src uintptr, n uint64, kind int32) cudart.Error {
	if e := ptdsCheck(); e != cudart.Success {
		return e
	}
	return Memcpy(dst, src, n, kind)
}

// MemcpyAsyncPtsz is cudaMemcpyAsync_ptsz over the connection.
func MemcpyAsyncPtsz(dst, src uintptr, n uint64, kind int32, stream uintptr) cudart.Error {
	return MemcpyAsync(dst, src, n, kind, ptsz(stream))
}

// Memcpy2DPtds is cudaMemcpy2D_ptds over the connection.
func Memcpy2DPtds(dst uintptr, dpitch uint64, src uintptr, spitch, width, height uint64, kind int32) cudart.Error {
	if e := ptdsCheck(); e != cudart.Success {
		return e
	}
	return Memcpy2D(dst, dpitch, src, spitch, width, height, kind)
}

// Memcpy2DAsyncPtsz is cudaMemcpy2DAsync_ptsz over the connection.
func Memcpy2DAsyncPtsz(dst uintptr, dpitch uint64, src uintptr, spitch, width, height uint64, kind int32, stream uintptr) cudart.Error {
	return Memcpy2DAsync(dst, dpitch, src, spitch, width, height, kind, ptsz(stream))
}

// Memcpy3DPtds is cudaMemcpy3D_ptds over the connection.
func Memcpy3DPtds(p unsafe.Pointer) cudart.Error {
	if e := ptdsCheck(); e != cudart.Success {
		return e
	}
	return Memcpy3D(p)
}

// Memcpy3DAsyncPtsz is cudaMemcpy3DAsync_ptsz over the connection.
func Memcpy3DAsyncPtsz(p unsafe.Pointer, stream uintptr) cudart.Error {
	return Memcpy3DAsync(p, ptsz(stream))
}

// Memcpy3DPeerPtds is cudaMemcpy3DPeer_ptds over the connection.
func Memcpy3DPeerPtds(p unsafe.Pointer) cudart.Error {
	if e := ptdsCheck(); e != cudart.Success {
		return e
	}
	return Memcpy3DPeer(p)
}

// Memcpy3DPeerAsyncPtsz is cudaMemcpy3DPeerAsync_ptsz over the connection.
func Memcpy3DPeerAsyncPtsz(p unsafe.Pointer, stream uintptr) cudart.Error {
	return Memcpy3DPeerAsync(p, ptsz(stream))
}

// MemcpyToSymbolPtds is cudaMemcpyToSymbol_ptds over the connection.
func MemcpyToSymbolPtds(host, src uintptr, count, offset uint64, kind int32) cudart.Error {
	if e := ptdsCheck(); e != cudart.Success {
		return e
	}
	return MemcpyToSymbol(host, src, count, offset, kind)
}

// MemcpyFromSymbolPtds is cudaMemcpyFromSymbol_ptds over the connection.
func MemcpyFromSymbolPtds(dst, host uintptr, count, offset uint64, kind int32) cudart.Error {
	if e := ptdsCheck(); e != cudart.Success {
		return e
	}
	return MemcpyFromSymbol(dst, host, count, offset, kind)
}

// MemcpyToSymbolAsyncPtsz is cudaMemcpyToSymbolAsync_ptsz over the connection.
func MemcpyToSymbolAsyncPtsz(host, src uintptr, count, offset uint64, kind int32, stream uintptr) cudart.Error {
	return MemcpyToSymbolAsync(host, src, count, offset, kind, ptsz(stream))
}

// MemcpyFromSymbolAsyncPtsz is cudaMemcpyFromSymbolAsync_ptsz over the connection.
func MemcpyFromSymbolAsyncPtsz(dst, host uintptr, count, offset uint64, kind int32, stream uintptr) cudart.Error {
	return MemcpyFromSymbolAsync(dst, host, count, offset, kind, ptsz(stream))
}

// LaunchHostFuncPtsz is cudaLaunchHostFunc_ptsz over the connection.
func LaunchHostFuncPtsz(stream, fn, data uintptr) cudart.Error {
	return LaunchHostFunc(ptsz(stream), fn, data)
}

// StreamAddCallbackPtsz is cudaStreamAddCallback_ptsz over the connection; the callback is
// handed the stream as the caller named it.
func StreamAddCallbackPtsz(stream, fn, data uintptr, flags uint32) cudart.Error {
	if fn == 0 || flags != 0 {
		return cudart.ErrorInvalidValue
	}
	if captures.Load() > 0 {
		return cudart.ErrorCaptureUnsupported
	}
	if e := streamSync(ptsz(stream)); e != cudart.Success {
		return e
	}
	cudart.RunStreamCallback(fn, stream, data)
	return cudart.Success
}

// LaunchCooperativePtsz is cudaLaunchCooperativeKernel_ptsz over the connection.
func LaunchCooperativePtsz(fn uintptr, grid, block shim.Dim3, args uintptr, shared uint64, stream uintptr) int32 {
	return LaunchCooperative(fn, grid, block, args, shared, ptsz(stream))
}

// LaunchKernelPtsz is cudaLaunchKernel_ptsz over the connection.
func LaunchKernelPtsz(fn uintptr, grid, block shim.Dim3, args uintptr, shared uint64, stream uintptr) int32 {
	return LaunchKernel(fn, grid, block, args, shared, ptsz(stream))
}

// LaunchKernelHandlePtsz is __cudaLaunchKernel_ptsz over the connection.
func LaunchKernelHandlePtsz(h uintptr, grid, block shim.Dim3, args uintptr, shared uint64, stream uintptr) int32 {
	return LaunchKernelHandle(h, grid, block, args, shared, ptsz(stream))
}

// LaunchKernelExCPtsz is cudaLaunchKernelExC_ptsz over the connection.
func LaunchKernelExCPtsz(cfg unsafe.Pointer, fn uintptr, args uintptr) int32 {
	if cfg == nil {
		return int32(cudart.ErrorInvalidValue)
	}
	return LaunchKernelExC(unsafe.Pointer(cudart.PtszLaunchConfig(cfg)), fn, args)
}
