package cudart

import (
	"sync"
	"unsafe"

	"vgpu/cuda"
	"vgpu/shim"
)

// More of CUDA 13's runtime: copies with arrays on the per-thread default stream, 3D fills,
// device/function preferences, graph-memory figures, array queries that no vgpu array
// answers (planes, sparse, deferred mapping), and managed-memory hints.

// MemcpyToArrayPtds is cudaMemcpyToArray_ptds.
func MemcpyToArrayPtds(dst uintptr, wOff, hOff uint64, src uintptr, count uint64, kind int32) Error {
	return ptds(func(s uintptr) Error { return MemcpyToArrayAsync(dst, wOff, hOff, src, count, kind, s) })
}

// MemcpyFromArrayPtds is cudaMemcpyFromArray_ptds.
func MemcpyFromArrayPtds(dst uintptr, src uintptr, wOff, hOff, count uint64, kind int32) Error {
	return ptds(func(s uintptr) Error { return MemcpyFromArrayAsync(dst, src, wOff, hOff, count, kind, s) })
}

// Memcpy2DToArrayPtds is cudaMemcpy2DToArray_ptds.
func Memcpy2DToArrayPtds(dst uintptr, wOff, hOff uint64, src uintptr, spitch, width, height uint64, kind int32) Error {
	return ptds(func(s uintptr) Error {
		return Memcpy2DToArrayAsync(dst, wOff, hOff, src, spitch, width, height, kind, s)
	})
}

// Memcpy2DFromArrayPtds is cudaMemcpy2DFromArray_ptds.
func Memcpy2DFromArrayPtds(dst uintptr, dpitch uint64, src uintptr, wOff, hOff, width, height uint64, kind int32) Error {
	return ptds(func(s uintptr) Error {
		return Memcpy2DFromArrayAsync(dst, dpitch, src, wOff, hOff, width, height, kind, s)
	})
}

// MemcpyToArrayAsyncPtsz is cudaMemcpyToArrayAsync_ptsz.
func MemcpyToArrayAsyncPtsz(dst uintptr, wOff, hOff uint64, src uintptr, count uint64, kind int32, stream uintptr) Error {
	return MemcpyToArrayAsync(dst, wOff, hOff, src, count, kind, ptsz(stream))
}

// MemcpyFromArrayAsyncPtsz is cudaMemcpyFromArrayAsync_ptsz.
func MemcpyFromArrayAsyncPtsz(dst uintptr, src uintptr, wOff, hOff, count uint64, kind int32, stream uintptr) Error {
	return MemcpyFromArrayAsync(dst, src, wOff, hOff, count, kind, ptsz(stream))
}

// Memcpy2DToArrayAsyncPtsz is cudaMemcpy2DToArrayAsync_ptsz.
func Memcpy2DToArrayAsyncPtsz(dst uintptr, wOff, hOff uint64, src uintptr, spitch, width, height uint64, kind int32, stream uintptr) Error {
	return Memcpy2DToArrayAsync(dst, wOff, hOff, src, spitch, width, height, kind, ptsz(stream))
}

// Memcpy2DFromArrayAsyncPtsz is cudaMemcpy2DFromArrayAsync_ptsz.
func Memcpy2DFromArrayAsyncPtsz(dst uintptr, dpitch uint64, src uintptr, wOff, hOff, width, height uint64, kind int32, stream uintptr) Error {
	return Memcpy2DFromArrayAsync(dst, dpitch, src, wOff, hOff, width, height, kind, ptsz(stream))
}

// MemcpyArrayToArrayPtds is cudaMemcpyArrayToArray_ptds: device memory on both sides, so
// the copy completes before the call returns, ordered after the per-thread stream's work.
func MemcpyArrayToArrayPtds(dst uintptr, wOffDst, hOffDst uint64, src uintptr, wOffSrc, hOffSrc, count uint64, kind int32) Error {
	return ptds(func(s uintptr) Error {
		if e := StreamSynchronize(s); e != Success {
			return e
		}
		return MemcpyArrayToArray(dst, wOffDst, hOffDst, src, wOffSrc, hOffSrc, count, kind)
	})
}

// Memcpy2DArrayToArrayPtds is cudaMemcpy2DArrayToArray_ptds.
func Memcpy2DArrayToArrayPtds(dst uintptr, wOffDst, hOffDst uint64, src uintptr, wOffSrc, hOffSrc, width, height uint64, kind int32) Error {
	return ptds(func(s uintptr) Error {
		if e := StreamSynchronize(s); e != Success {
			return e
		}
		return Memcpy2DArrayToArray(dst, wOffDst, hOffDst, src, wOffSrc, hOffSrc, width, height, kind)
	})
}

// Memset3D is cudaMemset3D.
func Memset3D(pp unsafe.Pointer, value int32, ext unsafe.Pointer) Error {
	return Memset3DAsync(pp, value, ext, 0)
}

// Memset3DPtds is cudaMemset3D_ptds.
func Memset3DPtds(pp unsafe.Pointer, value int32, ext unsafe.Pointer) Error {
	return ptds(func(s uintptr) Error { return Memset3DAsync(pp, value, ext, s) })
}

// Memset3DAsyncPtsz is cudaMemset3DAsync_ptsz.
func Memset3DAsyncPtsz(pp unsafe.Pointer, value int32, ext unsafe.Pointer, stream uintptr) Error {
	return Memset3DAsync(pp, value, ext, ptsz(stream))
}

// Memset3DAsync is cudaMemset3DAsync: extent.depth slices of extent.height rows of
// extent.width bytes, rows pitch bytes apart and slices pitch*ysize apart (a cudaPitchedPtr).
// Every slice is checked to lie in one device allocation before any is written.
func Memset3DAsync(pp unsafe.Pointer, value int32, ext unsafe.Pointer, stream uintptr) Error {
	if pp == nil || ext == nil {
		return ErrorInvalidValue
	}
	s, e := resolveStream(stream)
	if e != Success {
		return e
	}
	p := *(*uintptr)(pp)
	pitch := *(*uint64)(unsafe.Add(pp, 8))
	ysize := *(*uint64)(unsafe.Add(pp, 24))
	w, h, d := extent(ext)
	if w == 0 || h == 0 || d == 0 {
		return Success
	}
	if w > pitch || (d > 1 && h > ysize) || pitch > 1<<40 || ysize > 1<<40 || d > 1<<20 {
		return ErrorInvalidValue
	}
	slice := pitch * max(ysize, h)
	span := (d-1)*slice + (h-1)*pitch + w
	a := shim.S().Mem.Find(p)
	if a == nil || !a.OnDevice() || !shim.InRange(a.Base, uint64(a.Size), p, span) {
		return ErrorInvalidValue
	}
	for z := uint64(0); z < d; z++ {
		if st := shim.Memset2D(s, p+uintptr(z*slice), pitch, uint32(byte(value)), 1, w, h); st != shim.OK {
			return From(st)
		}
	}
	return Success
}

// ChooseDevice13 is CUDA 13's cudaChooseDevice (a 1008-byte cudaDeviceProp).
func ChooseDevice13(out, prop unsafe.Pointer) Error { return chooseDevice(out, prop) }

// ChooseDevice12 is CUDA 12's (1032 bytes; major and minor lie at the same offsets).
func ChooseDevice12(out, prop unsafe.Pointer) Error { return chooseDevice(out, prop) }

// chooseDevice picks the device whose compute capability matches prop's major and minor,
// else the newest one: the fields cudaChooseDevice is used for.
func chooseDevice(out, prop unsafe.Pointer) Error {
	s, e := begin()
	if e != Success {
		return e
	}
	if out == nil || prop == nil {
		return ErrorInvalidValue
	}
	major, minor := *(*int32)(unsafe.Add(prop, 360)), *(*int32)(unsafe.Add(prop, 364))
	best, bestCC := -1, int32(-1)
	for i, d := range s.Devices() {
		cc := d.Attrs[shim.AttrComputeCapabilityMajor]*10 + d.Attrs[shim.AttrComputeCapabilityMinor]
		if d.Attrs[shim.AttrComputeCapabilityMajor] == major && d.Attrs[shim.AttrComputeCapabilityMinor] == minor {
			best = i
			break
		}
		if cc > bestCC {
			best, bestCC = i, cc
		}
	}
	if best < 0 {
		return ErrorNoDevice
	}
	shim.PutI32(out, int32(best))
	return Success
}

// Preferences the runtime keeps per caller and device: cudaFuncCache, graph-memory
// high-water marks. Keyed by the server's client too, so no tenant sees another's.
type prefKey struct {
	owner uint64
	dev   int
}

var (
	prefMu      sync.Mutex
	cacheConfig = map[prefKey]int32{}
)

const funcCacheLast = 3 // cudaFuncCachePreferEqual

// DeviceGetCacheConfig is cudaDeviceGetCacheConfig.
func DeviceGetCacheConfig(out unsafe.Pointer) Error {
	d, e := currentDevice()
	if e != Success {
		return e
	}
	if out == nil {
		return ErrorInvalidValue
	}
	prefMu.Lock()
	v := cacheConfig[prefKey{shim.CallerOwner(), d.Index}]
	prefMu.Unlock()
	shim.PutI32(out, v)
	return Success
}

// DeviceSetCacheConfig is cudaDeviceSetCacheConfig: a preference kept and reported back.
func DeviceSetCacheConfig(config int32) Error {
	d, e := currentDevice()
	if e != Success {
		return e
	}
	if config < 0 || config > funcCacheLast {
		return ErrorInvalidValue
	}
	prefMu.Lock()
	cacheConfig[prefKey{shim.CallerOwner(), d.Index}] = config
	prefMu.Unlock()
	return Success
}

// Shared memory bank sizes (cudaSharedMemConfig). Devices since Volta have four-byte banks
// that cannot be changed: the setting is accepted and the bank size stays four bytes.
const (
	bankSizeDefault   = 0
	bankSizeFourByte  = 1
	bankSizeEightByte = 2
)

// DeviceGetSharedMemConfig is cudaDeviceGetSharedMemConfig.
func DeviceGetSharedMemConfig(out unsafe.Pointer) Error {
	if _, e := currentDevice(); e != Success {
		return e
	}
	if out == nil {
		return ErrorInvalidValue
	}
	shim.PutI32(out, bankSizeFourByte)
	return Success
}

// DeviceSetSharedMemConfig is cudaDeviceSetSharedMemConfig.
func DeviceSetSharedMemConfig(config int32) Error {
	if _, e := currentDevice(); e != Success {
		return e
	}
	if config < bankSizeDefault || config > bankSizeEightByte {
		return ErrorInvalidValue
	}
	return Success
}

// FuncSetCacheConfig is cudaFuncSetCacheConfig: a hint for a registered kernel.
func FuncSetCacheConfig(fn uintptr, config int32) Error {
	if _, e := kernelAt(fn); e != Success {
		return e
	}
	if config < 0 || config > funcCacheLast {
		return ErrorInvalidValue
	}
	return Success
}

// FuncSetSharedMemConfig is cudaFuncSetSharedMemConfig.
func FuncSetSharedMemConfig(fn uintptr, config int32) Error {
	if _, e := kernelAt(fn); e != Success {
		return e
	}
	if config < bankSizeDefault || config > bankSizeEightByte {
		return ErrorInvalidValue
	}
	return Success
}

// FuncGetParamInfo is cudaFuncGetParamInfo: a kernel parameter's offset and size, read
// from the kernel's parameter table.
func FuncGetParamInfo(fn uintptr, i uint64, offset, size unsafe.Pointer) Error {
	k, e := kernelAt(fn)
	if e != Success {
		return e
	}
	if offset == nil || size == nil {
		return ErrorInvalidValue
	}
	switch cuda.KernelGetParamInfo(k.Handle, i, offset, size) {
	case cuda.Success:
		return Success
	case cuda.ErrorInvalidHandle:
		return ErrorInvalidDeviceFunction
	}
	return ErrorInvalidValue
}

// DeviceSetMemPool is cudaDeviceSetMemPool: the pool must be one of device's; a device that
// does not exist is an invalid value (the pool is not one of its), as NVIDIA's runtime answers.
func DeviceSetMemPool(device int32, pool uintptr) Error {
	d, e := deviceAt(device)
	if e == ErrorInvalidDevice {
		return ErrorInvalidValue
	}
	if e != Success {
		return e
	}
	p, e := poolAt(pool)
	if e != Success {
		return e
	}
	return From(shim.SetCurrentPool(d, p))
}

// maxTexture1DLinear is the elements a 1D texture bound to linear memory may span
// (cudaDeviceProp.maxTexture1DLinear on the modelled parts).
const maxTexture1DLinear = 1 << 28

// DeviceGetTexture1DLinearMaxWidth is cudaDeviceGetTexture1DLinearMaxWidth.
func DeviceGetTexture1DLinearMaxWidth(out, desc unsafe.Pointer, device int32) Error {
	if _, e := deviceAt(device); e != Success {
		return e
	}
	if out == nil || desc == nil {
		return ErrorInvalidValue
	}
	if _, e := ChannelElem(readDesc(desc)); e != Success {
		return e
	}
	shim.PutU64(out, maxTexture1DLinear)
	return Success
}

// CtxResetPersistingL2Cache is cudaCtxResetPersistingL2Cache: the model keeps no L2 lines
// to demote, so resetting them is done once the device is initialised.
func CtxResetPersistingL2Cache() Error {
	_, e := currentDevice()
	return e
}

// DeviceFlushGPUDirectRDMAWrites is cudaDeviceFlushGPUDirectRDMAWrites: the only target is
// the current device (0); scopes are to the owner (100) or to all devices (200). Writes
// from peers land when they are made in the model, so there is nothing to wait for.
func DeviceFlushGPUDirectRDMAWrites(target, scope int32) Error {
	if _, e := currentDevice(); e != Success {
		return e
	}
	if target != 0 || (scope != 100 && scope != 200) {
		return ErrorInvalidValue
	}
	return Success
}

// DeviceGetGraphMemAttribute is cudaDeviceGetGraphMemAttribute: the driver's figures
// (cuda/graphnodes.go: what allocation nodes hold).
func DeviceGetGraphMemAttribute(device, attr int32, value unsafe.Pointer) Error {
	if _, e := deviceAt(device); e != Success {
		return e
	}
	return fromDriver(cuda.DeviceGetGraphMemAttribute(device, attr, value))
}

// DeviceSetGraphMemAttribute is cudaDeviceSetGraphMemAttribute: only the high-water marks
// may be set, and only to 0.
func DeviceSetGraphMemAttribute(device, attr int32, value unsafe.Pointer) Error {
	if _, e := deviceAt(device); e != Success {
		return e
	}
	return fromDriver(cuda.DeviceSetGraphMemAttribute(device, attr, value))
}

// DeviceGraphMemTrim is cudaDeviceGraphMemTrim: no graph memory is reserved beyond what
// graphs hold.
func DeviceGraphMemTrim(device int32) Error {
	_, e := deviceAt(device)
	return e
}

// getProcPerThread is CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM (cudaEnablePerThreadDefaultStream).
const getProcPerThread = 2

// GetDriverEntryPointPtsz is cudaGetDriverEntryPoint_ptsz: built with per-thread default
// streams, cudaEnableDefault means the per-thread forms.
func GetDriverEntryPointPtsz(symbol, fn unsafe.Pointer, flags uint64, status unsafe.Pointer) Error {
	if flags == 0 {
		flags = getProcPerThread
	}
	return GetDriverEntryPoint(symbol, fn, flags, status)
}

// GetDriverEntryPointByVersionPtsz is cudaGetDriverEntryPointByVersion_ptsz.
func GetDriverEntryPointByVersionPtsz(symbol, fn unsafe.Pointer, version uint32, flags uint64, status unsafe.Pointer) Error {
	if flags == 0 {
		flags = getProcPerThread
	}
	return GetDriverEntryPointByVersion(symbol, fn, version, flags, status)
}

func arrayAt(h uintptr) (*Array, Error) {
	if _, e := begin(); e != Success {
		return nil, e
	}
	a, ok := shim.Lookup[*Array](shim.KindArray, h)
	if !ok {
		return nil, ErrorInvalidResourceHandle
	}
	return a, Success
}

// ArrayGetPlane is cudaArrayGetPlane: only multi-planar formats (NV12) have planes, and
// vgpu creates none, so any plane of a valid array is an invalid value.
func ArrayGetPlane(out unsafe.Pointer, h uintptr, plane uint32) Error {
	if _, e := arrayAt(h); e != Success {
		return e
	}
	return ErrorInvalidValue
}

// ArrayGetMemoryRequirements is cudaArrayGetMemoryRequirements: only arrays created with
// cudaArrayDeferredMapping have requirements to report; vgpu's arrays are backed at creation.
func ArrayGetMemoryRequirements(out unsafe.Pointer, h uintptr, device int32) Error {
	if _, e := arrayAt(h); e != Success {
		return e
	}
	if _, e := deviceAt(device); e != Success {
		return e
	}
	return ErrorInvalidValue
}

// ArrayGetSparseProperties is cudaArrayGetSparseProperties: an array not created with
// cudaArraySparse (vgpu creates none) is an invalid value.
func ArrayGetSparseProperties(out unsafe.Pointer, h uintptr) Error {
	if _, e := arrayAt(h); e != Success {
		return e
	}
	return ErrorInvalidValue
}

// ProfilerStart is cudaProfilerStart: with no profiler attached it succeeds and does nothing.
func ProfilerStart() Error {
	_, e := begin()
	return e
}

// ProfilerStop is cudaProfilerStop.
func ProfilerStop() Error {
	_, e := begin()
	return e
}

// StreamCopyAttributes is cudaStreamCopyAttributes: every stream attribute src has, set on dst.
func StreamCopyAttributes(dst, src uintptr) Error {
	if _, e := resolveStream(dst); e != Success {
		return e
	}
	if _, e := resolveStream(src); e != Success {
		return e
	}
	var v [shim.LaunchAttrValueSize]byte
	for a := int32(0); a < 32; a++ {
		if !shim.StreamAttrKnown(a) {
			continue
		}
		if e := StreamGetAttribute(src, a, unsafe.Pointer(&v[0])); e != Success {
			return e
		}
		if e := StreamSetAttribute(dst, a, unsafe.Pointer(&v[0])); e != Success {
			return e
		}
	}
	return Success
}

// StreamCopyAttributesPtsz is cudaStreamCopyAttributes_ptsz.
func StreamCopyAttributesPtsz(dst, src uintptr) Error {
	return StreamCopyAttributes(ptsz(dst), ptsz(src))
}
