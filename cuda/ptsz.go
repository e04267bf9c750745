package cuda

import (
	"runtime"
	"unsafe"

	"vgpu/shim"
)

// The per-thread default stream forms of the driver calls (_ptsz for stream-ordered calls,
// _ptds for synchronous ones): what a program compiled with CU_API_PER_THREAD_DEFAULT_STREAM
// calls, and what cuGetProcAddress hands out under CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM.
// They are the plain calls except that the stream handle 0 names the calling thread's
// CU_STREAM_PER_THREAD instead of the legacy stream; explicit handles, CU_STREAM_LEGACY
// included, keep their meaning.

// ptsz maps the handle 0 to CU_STREAM_PER_THREAD.
func ptsz(h uintptr) uintptr {
	if h == 0 {
		return shim.StreamPerThread
	}
	return h
}

// ptds runs a synchronous call on the calling thread's per-thread stream. A synchronous
// call cannot join a capture: on a capturing per-thread stream it fails and invalidates the
// capture, as a synchronisation of that stream does (the runtime's _ptds forms do the same).
func ptds(op func(h uintptr) Result) Result {
	s, r := stream(shim.StreamPerThread)
	if r != Success {
		return r
	}
	if s.Capturing() != nil {
		return From(s.Synchronize())
	}
	return op(shim.StreamPerThread)
}

// MemcpyHtoDPtds is cuMemcpyHtoD_v2_ptds.
func MemcpyHtoDPtds(dst uint64, src uintptr, n uint64) Result {
	return ptds(func(h uintptr) Result { return memcpy(uintptr(dst), src, n, shim.HostToDevice, h) })
}

// MemcpyDtoHPtds is cuMemcpyDtoH_v2_ptds.
func MemcpyDtoHPtds(dst uintptr, src uint64, n uint64) Result {
	return ptds(func(h uintptr) Result { return memcpy(dst, uintptr(src), n, shim.DeviceToHost, h) })
}

// MemcpyDtoDPtds is cuMemcpyDtoD_v2_ptds.
func MemcpyDtoDPtds(dst, src uint64, n uint64) Result {
	return ptds(func(h uintptr) Result { return memcpy(uintptr(dst), uintptr(src), n, shim.DeviceToDevice, h) })
}

// MemcpyPtdsCU is cuMemcpy_ptds.
func MemcpyPtdsCU(dst, src uint64, n uint64) Result {
	return ptds(func(h uintptr) Result { return memcpy(uintptr(dst), uintptr(src), n, shim.CopyDefault, h) })
}

// MemcpyAsyncPtszCU is cuMemcpyAsync_ptsz.
func MemcpyAsyncPtszCU(dst, src uint64, n uint64, h uintptr) Result {
	return MemcpyAsync(dst, src, n, ptsz(h))
}

// MemcpyHtoDAsyncPtsz is cuMemcpyHtoDAsync_v2_ptsz.
func MemcpyHtoDAsyncPtsz(dst uint64, src uintptr, n uint64, h uintptr) Result {
	return MemcpyHtoDAsync(dst, src, n, ptsz(h))
}

// MemcpyDtoHAsyncPtsz is cuMemcpyDtoHAsync_v2_ptsz.
func MemcpyDtoHAsyncPtsz(dst uintptr, src uint64, n uint64, h uintptr) Result {
	return MemcpyDtoHAsync(dst, src, n, ptsz(h))
}

// MemcpyDtoDAsyncPtsz is cuMemcpyDtoDAsync_v2_ptsz.
func MemcpyDtoDAsyncPtsz(dst, src uint64, n uint64, h uintptr) Result {
	return MemcpyDtoDAsync(dst, src, n, ptsz(h))
}

// MemcpyPeerPtds is cuMemcpyPeer_ptds.
func MemcpyPeerPtds(dst uint64, dstCtx uintptr, src uint64, srcCtx uintptr, n uint64) Result {
	return ptds(func(h uintptr) Result { return MemcpyPeerAsync(dst, dstCtx, src, srcCtx, n, h) })
}

// MemcpyPeerAsyncPtsz is cuMemcpyPeerAsync_ptsz.
func MemcpyPeerAsyncPtsz(dst uint64, dstCtx uintptr, src uint64, srcCtx uintptr, n uint64, h uintptr) Result {
	return MemcpyPeerAsync(dst, dstCtx, src, srcCtx, n, ptsz(h))
}

// Memcpy2DPtdsCU is cuMemcpy2D_v2_ptds and cuMemcpy2DUnaligned_v2_ptds.
func Memcpy2DPtdsCU(p unsafe.Pointer) Result {
	return ptds(func(h uintptr) Result { return Memcpy2DAsyncCU(p, h) })
}

// Memcpy2DAsyncPtszCU is cuMemcpy2DAsync_v2_ptsz.
func Memcpy2DAsyncPtszCU(p unsafe.Pointer, h uintptr) Result { return Memcpy2DAsyncCU(p, ptsz(h)) }

// Memcpy3DPtdsCU is cuMemcpy3D_v2_ptds.
func Memcpy3DPtdsCU(p unsafe.Pointer) Result {
	return ptds(func(h uintptr) Result { return Memcpy3DAsyncCU(p, h) })
}

// Memcpy3DAsyncPtszCU is cuMemcpy3DAsync_v2_ptsz.
func Memcpy3DAsyncPtszCU(p unsafe.Pointer, h uintptr) Result { return Memcpy3DAsyncCU(p, ptsz(h)) }

// MemsetD8Ptds is cuMemsetD8_v2_ptds.
func MemsetD8Ptds(dst uint64, v uint8, n uint64) Result {
	return ptds(func(h uintptr) Result { return MemsetD8Async(dst, v, n, h) })
}

// MemsetD16Ptds is cuMemsetD16_v2_ptds.
func MemsetD16Ptds(dst uint64, v uint16, n uint64) Result {
	return ptds(func(h uintptr) Result { return MemsetD16Async(dst, v, n, h) })
}

// MemsetD32Ptds is cuMemsetD32_v2_ptds.
func MemsetD32Ptds(dst uint64, v uint32, n uint64) Result {
	return ptds(func(h uintptr) Result { return MemsetD32Async(dst, v, n, h) })
}

// MemsetD8AsyncPtsz is cuMemsetD8Async_ptsz.
func MemsetD8AsyncPtsz(dst uint64, v uint8, n uint64, h uintptr) Result {
	return MemsetD8Async(dst, v, n, ptsz(h))
}

// MemsetD16AsyncPtsz is cuMemsetD16Async_ptsz.
func MemsetD16AsyncPtsz(dst uint64, v uint16, n uint64, h uintptr) Result {
	return MemsetD16Async(dst, v, n, ptsz(h))
}

// MemsetD32AsyncPtsz is cuMemsetD32Async_ptsz.
func MemsetD32AsyncPtsz(dst uint64, v uint32, n uint64, h uintptr) Result {
	return MemsetD32Async(dst, v, n, ptsz(h))
}

// MemsetD2D8Ptds is cuMemsetD2D8_v2_ptds.
func MemsetD2D8Ptds(dst, pitch uint64, v uint8, width, height uint64) Result {
	return ptds(func(h uintptr) Result { return MemsetD2D8Async(dst, pitch, v, width, height, h) })
}

// MemsetD2D16Ptds is cuMemsetD2D16_v2_ptds.
func MemsetD2D16Ptds(dst, pitch uint64, v uint16, width, height uint64) Result {
	return ptds(func(h uintptr) Result { return MemsetD2D16Async(dst, pitch, v, width, height, h) })
}

// MemsetD2D32Ptds is cuMemsetD2D32_v2_ptds.
func MemsetD2D32Ptds(dst, pitch uint64, v uint32, width, height uint64) Result {
	return ptds(func(h uintptr) Result { return MemsetD2D32Async(dst, pitch, v, width, height, h) })
}

// MemsetD2D8AsyncPtsz is cuMemsetD2D8Async_ptsz.
func MemsetD2D8AsyncPtsz(dst, pitch uint64, v uint8, width, height uint64, h uintptr) Result {
	return MemsetD2D8Async(dst, pitch, v, width, height, ptsz(h))
}

// MemsetD2D16AsyncPtsz is cuMemsetD2D16Async_ptsz.
func MemsetD2D16AsyncPtsz(dst, pitch uint64, v uint16, width, height uint64, h uintptr) Result {
	return MemsetD2D16Async(dst, pitch, v, width, height, ptsz(h))
}

// MemsetD2D32AsyncPtsz is cuMemsetD2D32Async_ptsz.
func MemsetD2D32AsyncPtsz(dst, pitch uint64, v uint32, width, height uint64, h uintptr) Result {
	return MemsetD2D32Async(dst, pitch, v, width, height, ptsz(h))
}

// LaunchFunctionPtsz is cuLaunchKernel_ptsz.
func LaunchFunctionPtsz(f uintptr, gx, gy, gz, bx, by, bz, shared uint32, h uintptr, params, extra uintptr) Result {
	return LaunchFunction(f, gx, gy, gz, bx, by, bz, shared, ptsz(h), params, extra)
}

// LaunchCooperativeKernelPtsz is cuLaunchCooperativeKernel_ptsz.
func LaunchCooperativeKernelPtsz(f uintptr, gx, gy, gz, bx, by, bz, shared uint32, h uintptr, params uintptr) Result {
	return LaunchCooperativeKernel(f, gx, gy, gz, bx, by, bz, shared, ptsz(h), params)
}

// PtszLaunchConfig copies a CUlaunchConfig with its stream 0 made CU_STREAM_PER_THREAD (the
// stream sits at byte 32, as in the runtime's cudaLaunchConfig_t).
func PtszLaunchConfig(cfg uintptr) *[56]byte {
	var c [56]byte
	copy(c[:], shim.View(unsafe.Pointer(cfg), 56))
	if shim.Le.Uint64(c[32:]) == 0 {
		shim.Le.PutUint64(c[32:], uint64(shim.StreamPerThread))
	}
	return &c
}

// LaunchKernelExPtsz is cuLaunchKernelEx_ptsz.
func LaunchKernelExPtsz(cfg uintptr, f uintptr, params, extra uintptr) Result {
	if cfg == 0 {
		return ErrorInvalidValue
	}
	c := PtszLaunchConfig(cfg)
	r := LaunchKernelEx(uintptr(unsafe.Pointer(c)), f, params, extra)
	runtime.KeepAlive(c)
	return r
}

// LaunchHostFuncPtszCU is cuLaunchHostFunc_ptsz.
func LaunchHostFuncPtszCU(h, fn, data uintptr) Result { return LaunchHostFuncCU(ptsz(h), fn, data) }

// StreamAddCallbackPtszCU is cuStreamAddCallback_ptsz: the callback is handed the stream as
// the caller named it.
func StreamAddCallbackPtszCU(h, fn, data uintptr, flags uint32) Result {
	s, r := stream(ptsz(h))
	if r != Success {
		return r
	}
	if fn == 0 || flags != 0 {
		return ErrorInvalidValue
	}
	return From(s.AddCallback(h, fn, data))
}

// EventRecordPtsz is cuEventRecord_ptsz.
func EventRecordPtsz(ev, h uintptr) Result { return EventRecord(ev, ptsz(h)) }

// EventRecordWithFlagsPtsz is cuEventRecordWithFlags_ptsz.
func EventRecordWithFlagsPtsz(ev, h uintptr, flags uint32) Result {
	return EventRecordWithFlags(ev, ptsz(h), flags)
}

// StreamSynchronizePtsz is cuStreamSynchronize_ptsz.
func StreamSynchronizePtsz(h uintptr) Result { return StreamSynchronize(ptsz(h)) }

// StreamQueryPtsz is cuStreamQuery_ptsz.
func StreamQueryPtsz(h uintptr) Result { return StreamQuery(ptsz(h)) }

// StreamWaitEventPtsz is cuStreamWaitEvent_ptsz.
func StreamWaitEventPtsz(h, ev uintptr, flags uint32) Result {
	return StreamWaitEvent(ptsz(h), ev, flags)
}

// StreamGetPriorityPtsz is cuStreamGetPriority_ptsz.
func StreamGetPriorityPtsz(h uintptr, p unsafe.Pointer) Result { return StreamGetPriority(ptsz(h), p) }

// StreamGetFlagsPtsz is cuStreamGetFlags_ptsz.
func StreamGetFlagsPtsz(h uintptr, p unsafe.Pointer) Result { return StreamGetFlags(ptsz(h), p) }

// StreamGetCtxPtsz is cuStreamGetCtx_ptsz.
func StreamGetCtxPtsz(h uintptr, p unsafe.Pointer) Result { return StreamGetCtx(ptsz(h), p) }

// StreamGetIdPtsz is cuStreamGetId_ptsz.
func StreamGetIdPtsz(h uintptr, p unsafe.Pointer) Result { return StreamGetId(ptsz(h), p) }

// StreamBeginCapturePtsz is cuStreamBeginCapture_v2_ptsz.
func StreamBeginCapturePtsz(h uintptr, mode int32) Result { return StreamBeginCapture(ptsz(h), mode) }

// StreamBeginCapture1Ptsz is cuStreamBeginCapture_ptsz.
func StreamBeginCapture1Ptsz(h uintptr) Result { return StreamBeginCapture(ptsz(h), 0) }

// StreamEndCapturePtsz is cuStreamEndCapture_ptsz.
func StreamEndCapturePtsz(h uintptr, graph unsafe.Pointer) Result {
	return StreamEndCapture(ptsz(h), graph)
}

// StreamIsCapturingPtsz is cuStreamIsCapturing_ptsz.
func StreamIsCapturingPtsz(h uintptr, status unsafe.Pointer) Result {
	return StreamIsCapturing(ptsz(h), status)
}

// StreamGetCaptureInfo1Ptsz is cuStreamGetCaptureInfo_ptsz.
func StreamGetCaptureInfo1Ptsz(h uintptr, status, id unsafe.Pointer) Result {
	return StreamGetCaptureInfo1(ptsz(h), status, id)
}

// StreamGetCaptureInfoPtsz is cuStreamGetCaptureInfo_v2_ptsz.
func StreamGetCaptureInfoPtsz(h uintptr, status, id, graph, deps, numDeps unsafe.Pointer) Result {
	return StreamGetCaptureInfo(ptsz(h), status, id, graph, deps, numDeps)
}

// GraphLaunchPtsz is cuGraphLaunch_ptsz.
func GraphLaunchPtsz(exec, h uintptr) Result { return GraphLaunch(exec, ptsz(h)) }

// GraphUploadPtsz is cuGraphUpload_ptsz.
func GraphUploadPtsz(exec, h uintptr) Result { return GraphUpload(exec, ptsz(h)) }

// MemAllocAsyncPtsz is cuMemAllocAsync_ptsz.
func MemAllocAsyncPtsz(dptr unsafe.Pointer, size uint64, h uintptr) Result {
	return MemAllocAsync(dptr, size, ptsz(h))
}

// MemFreeAsyncPtsz is cuMemFreeAsync_ptsz.
func MemFreeAsyncPtsz(dptr uint64, h uintptr) Result { return MemFreeAsync(dptr, ptsz(h)) }
