package cudart

import (
	"unsafe"

	"vgpu/cuda"
	"vgpu/shim"
)

// The per-thread default stream variants (_ptsz for stream-ordered calls, _ptds for
// synchronous ones) are what a program built with `--default-stream per-thread` calls: the
// same functions, except that the stream handle 0 names the calling thread's own default
// stream (cudaStreamPerThread) instead of the legacy one. Explicit handles, including
// cudaStreamLegacy, keep their meaning.

// ptsz maps the handle 0 to cudaStreamPerThread.
func ptsz(h uintptr) uintptr {
	if h == 0 {
		return shim.StreamPerThread
	}
	return h
}

// ptds runs a synchronous call on the calling thread's per-thread stream. A synchronous call
// cannot join a capture: on a capturing per-thread stream it fails and invalidates the
// capture, as a synchronisation does.
func ptds(op func(stream uintptr) Error) Error {
	s, e := resolveStream(shim.StreamPerThread)
	if e != Success {
		return e
	}
	if s.Capturing() != nil {
		return From(s.Synchronize())
	}
	return op(shim.StreamPerThread)
}

// MemcpyPtds is cudaMemcpy_ptds.
func MemcpyPtds(dst, src uintptr, n uint64, kind int32) Error {
	return ptds(func(s uintptr) Error { return MemcpyAsync(dst, src, n, kind, s) })
}

// MemcpyAsyncPtsz is cudaMemcpyAsync_ptsz.
func MemcpyAsyncPtsz(dst, src uintptr, n uint64, kind int32, stream uintptr) Error {
	return MemcpyAsync(dst, src, n, kind, ptsz(stream))
}

// Memcpy2DPtds is cudaMemcpy2D_ptds.
func Memcpy2DPtds(dst uintptr, dpitch uint64, src uintptr, spitch, width, height uint64, kind int32) Error {
	return ptds(func(s uintptr) Error { return Memcpy2DAsync(dst, dpitch, src, spitch, width, height, kind, s) })
}

// Memcpy2DAsyncPtsz is cudaMemcpy2DAsync_ptsz.
func Memcpy2DAsyncPtsz(dst uintptr, dpitch uint64, src uintptr, spitch, width, height uint64, kind int32, stream uintptr) Error {
	return Memcpy2DAsync(dst, dpitch, src, spitch, width, height, kind, ptsz(stream))
}

// Memcpy3DPtds is cudaMemcpy3D_ptds.
func Memcpy3DPtds(p unsafe.Pointer) Error {
	return ptds(func(s uintptr) Error { return memcpy3D(p, layout3D, 160, s) })
}

// Memcpy3DAsyncPtsz is cudaMemcpy3DAsync_ptsz.
func Memcpy3DAsyncPtsz(p unsafe.Pointer, stream uintptr) Error { return Memcpy3DAsync(p, ptsz(stream)) }

// Memcpy3DPeerPtds is cudaMemcpy3DPeer_ptds.
func Memcpy3DPeerPtds(p unsafe.Pointer) Error {
	return ptds(func(s uintptr) Error { return memcpy3D(p, layout3DPeer, 168, s) })
}

// Memcpy3DPeerAsyncPtsz is cudaMemcpy3DPeerAsync_ptsz.
func Memcpy3DPeerAsyncPtsz(p unsafe.Pointer, stream uintptr) Error {
	return Memcpy3DPeerAsync(p, ptsz(stream))
}

// MemsetPtds is cudaMemset_ptds.
func MemsetPtds(p uintptr, value int32, n uint64) Error {
	return ptds(func(s uintptr) Error { return MemsetAsync(p, value, n, s) })
}

// MemsetAsyncPtsz is cudaMemsetAsync_ptsz.
func MemsetAsyncPtsz(p uintptr, value int32, n uint64, stream uintptr) Error {
	return MemsetAsync(p, value, n, ptsz(stream))
}

// Memset2DPtds is cudaMemset2D_ptds.
func Memset2DPtds(p uintptr, pitch uint64, value int32, width, height uint64) Error {
	return ptds(func(s uintptr) Error { return Memset2DAsync(p, pitch, value, width, height, s) })
}

// Memset2DAsyncPtsz is cudaMemset2DAsync_ptsz.
func Memset2DAsyncPtsz(p uintptr, pitch uint64, value int32, width, height uint64, stream uintptr) Error {
	return Memset2DAsync(p, pitch, value, width, height, ptsz(stream))
}

// MemcpyToSymbolPtds is cudaMemcpyToSymbol_ptds.
func MemcpyToSymbolPtds(host, src uintptr, count, offset uint64, kind int32) Error {
	return ptds(func(s uintptr) Error { return MemcpyToSymbolAsync(host, src, count, offset, kind, s) })
}

// MemcpyFromSymbolPtds is cudaMemcpyFromSymbol_ptds.
func MemcpyFromSymbolPtds(dst, host uintptr, count, offset uint64, kind int32) Error {
	return ptds(func(s uintptr) Error { return MemcpyFromSymbolAsync(dst, host, count, offset, kind, s) })
}

// MemcpyToSymbolAsyncPtsz is cudaMemcpyToSymbolAsync_ptsz.
func MemcpyToSymbolAsyncPtsz(host, src uintptr, count, offset uint64, kind int32, stream uintptr) Error {
	return MemcpyToSymbolAsync(host, src, count, offset, kind, ptsz(stream))
}

// MemcpyFromSymbolAsyncPtsz is cudaMemcpyFromSymbolAsync_ptsz.
func MemcpyFromSymbolAsyncPtsz(dst, host uintptr, count, offset uint64, kind int32, stream uintptr) Error {
	return MemcpyFromSymbolAsync(dst, host, count, offset, kind, ptsz(stream))
}

// StreamSynchronizePtsz is cudaStreamSynchronize_ptsz.
func StreamSynchronizePtsz(h uintptr) Error { return StreamSynchronize(ptsz(h)) }

// StreamQueryPtsz is cudaStreamQuery_ptsz.
func StreamQueryPtsz(h uintptr) Error { return StreamQuery(ptsz(h)) }

// StreamGetFlagsPtsz is cudaStreamGetFlags_ptsz.
func StreamGetFlagsPtsz(h uintptr, flags unsafe.Pointer) Error { return StreamGetFlags(ptsz(h), flags) }

// StreamGetPriorityPtsz is cudaStreamGetPriority_ptsz.
func StreamGetPriorityPtsz(h uintptr, p unsafe.Pointer) Error { return StreamGetPriority(ptsz(h), p) }

// StreamWaitEventPtsz is cudaStreamWaitEvent_ptsz.
func StreamWaitEventPtsz(h, ev uintptr, flags uint32) Error {
	return StreamWaitEvent(ptsz(h), ev, flags)
}

// StreamIsCapturingPtsz is cudaStreamIsCapturing_ptsz.
func StreamIsCapturingPtsz(h uintptr, status unsafe.Pointer) Error {
	return StreamIsCapturing(ptsz(h), status)
}

// StreamBeginCapturePtsz is cudaStreamBeginCapture_ptsz: unlike the legacy stream, a
// thread's per-thread stream may be captured.
func StreamBeginCapturePtsz(h uintptr, mode int32) Error { return StreamBeginCapture(ptsz(h), mode) }

// StreamEndCapturePtsz is cudaStreamEndCapture_ptsz.
func StreamEndCapturePtsz(h uintptr, graph unsafe.Pointer) Error {
	return StreamEndCapture(ptsz(h), graph)
}

// LaunchHostFuncPtsz is cudaLaunchHostFunc_ptsz.
func LaunchHostFuncPtsz(stream, fn, data uintptr) Error {
	return LaunchHostFunc(ptsz(stream), fn, data)
}

// StreamAddCallbackPtsz is cudaStreamAddCallback_ptsz; the callback is handed the stream as
// the caller named it.
func StreamAddCallbackPtsz(stream, fn, data uintptr, flags uint32) Error {
	return addCallback(ptsz(stream), stream, fn, data, flags)
}

// EventRecordPtsz is cudaEventRecord_ptsz.
func EventRecordPtsz(ev, stream uintptr) Error { return EventRecord(ev, ptsz(stream)) }

// EventRecordWithFlags is cudaEventRecordWithFlags: cudaEventRecordDefault (0) or
// cudaEventRecordExternal (1), which only changes what a capture records (an event record
// node, where a default record is only an edge).
func EventRecordWithFlags(ev, stream uintptr, flags uint32) Error {
	return onDriver(func() cuda.Result { return cuda.EventRecordWithFlags(ev, stream, flags) })
}

// EventRecordWithFlagsPtsz is cudaEventRecordWithFlags_ptsz.
func EventRecordWithFlagsPtsz(ev, stream uintptr, flags uint32) Error {
	return EventRecordWithFlags(ev, ptsz(stream), flags)
}

// LaunchCooperativePtsz is cudaLaunchCooperativeKernel_ptsz.
func LaunchCooperativePtsz(fn uintptr, grid, block shim.Dim3, args uintptr, shared uint64, stream uintptr) Error {
	return LaunchCooperative(fn, grid, block, args, shared, ptsz(stream))
}

// LaunchKernelPtsz is cudaLaunchKernel_ptsz.
func LaunchKernelPtsz(fn uintptr, grid, block shim.Dim3, args uintptr, shared uint64, stream uintptr) Error {
	return LaunchKernel(fn, grid, block, args, shared, ptsz(stream))
}

// LaunchKernelHandlePtsz is __cudaLaunchKernel_ptsz (CUDA 13 stubs built for per-thread
// default streams).
func LaunchKernelHandlePtsz(h uintptr, grid, block shim.Dim3, args uintptr, shared uint64, stream uintptr) Error {
	return LaunchKernelHandle(h, grid, block, args, shared, ptsz(stream))
}

// PtszLaunchConfig copies a cudaLaunchConfig_t with its stream (at byte 32) 0 replaced by
// cudaStreamPerThread; the caller's struct is left as it was.
func PtszLaunchConfig(cfg unsafe.Pointer) *[56]byte {
	var c [56]byte
	copy(c[:], shim.View(cfg, 56))
	if shim.Le.Uint64(c[32:]) == 0 {
		shim.Le.PutUint64(c[32:], uint64(shim.StreamPerThread))
	}
	return &c
}

// LaunchKernelExCPtsz is cudaLaunchKernelExC_ptsz.
func LaunchKernelExCPtsz(cfg unsafe.Pointer, fn uintptr, args uintptr) Error {
	if cfg == nil {
		return ErrorInvalidValue
	}
	return LaunchKernelExC(unsafe.Pointer(PtszLaunchConfig(cfg)), fn, args)
}

// MallocAsyncPtsz is cudaMallocAsync_ptsz.
func MallocAsyncPtsz(out unsafe.Pointer, size uint64, stream uintptr) Error {
	return MallocAsync(out, size, ptsz(stream))
}

// FreeAsyncPtsz is cudaFreeAsync_ptsz.
func FreeAsyncPtsz(p uintptr, stream uintptr) Error { return FreeAsync(p, ptsz(stream)) }

// GraphLaunchPtsz is cudaGraphLaunch_ptsz.
func GraphLaunchPtsz(exec, stream uintptr) Error { return GraphLaunch(exec, ptsz(stream)) }

// StreamGetId is cudaStreamGetId: a number unique to the stream in this process. Each
// thread's per-thread stream has its own; the legacy stream one of its own.
func StreamGetId(h uintptr, id unsafe.Pointer) Error {
	s, e := resolveStream(h)
	if e != Success {
		return e
	}
	if !shim.PutU64(id, s.ID) {
		return ErrorInvalidValue
	}
	return Success
}

// StreamGetIdPtsz is cudaStreamGetId_ptsz.
func StreamGetIdPtsz(h uintptr, id unsafe.Pointer) Error { return StreamGetId(ptsz(h), id) }

// StreamGetDevice is cudaStreamGetDevice: the ordinal of the device the stream belongs to.
func StreamGetDevice(h uintptr, dev unsafe.Pointer) Error {
	s, e := resolveStream(h)
	if e != Success {
		return e
	}
	if !shim.PutI32(dev, int32(shim.S().Ordinal(s.Dev))) {
		return ErrorInvalidValue
	}
	return Success
}

// StreamGetDevicePtsz is cudaStreamGetDevice_ptsz.
func StreamGetDevicePtsz(h uintptr, dev unsafe.Pointer) Error { return StreamGetDevice(ptsz(h), dev) }
