package cuda

import (
	"unsafe"

	"vgpu/shim"
)

// ctxDevice is the device of the current context: driver memory calls need one.
func ctxDevice() (*shim.Device, Result) {
	c, r := current()
	if r != Success {
		return nil, r
	}
	return c.Dev, Success
}

// MemGetInfo is cuMemGetInfo(_v2): the same free and total the runtime and NVML report.
func MemGetInfo(free, total unsafe.Pointer) Result {
	d, r := ctxDevice()
	if r != Success {
		return r
	}
	if free == nil || total == nil {
		return ErrorInvalidValue
	}
	shim.PutU64(free, d.Free())
	shim.PutU64(total, d.Total())
	return Success
}

// MemAlloc is cuMemAlloc_v2. Zero bytes is INVALID_VALUE in the driver API.
func MemAlloc(dptr unsafe.Pointer, size uint64) Result {
	d, r := ctxDevice()
	if r != Success {
		return r
	}
	if dptr == nil {
		return ErrorInvalidValue
	}
	a, st := shim.AllocDevice(d, size, shim.MemDevice)
	if st != shim.OK {
		return From(st)
	}
	shim.PutU64(dptr, uint64(a.Base))
	return Success
}

// MemFree is cuMemFree_v2.
func MemFree(dptr uint64) Result {
	if _, r := ready(); r != Success {
		return r
	}
	if dptr == 0 {
		return Success
	}
	shim.PoolForget(uintptr(dptr)) // a stream-ordered allocation leaves its pool's figures
	return From(shim.FreeDevice(uintptr(dptr)))
}

// HostGate is the first check of the host-memory rows, which run in the calling process
// whatever the backend ({local} in the table): with needCtx, that a context is current, else
// that the driver was initialised. In-process that is this process's own state; the remote
// client replaces it to ask its server, where cuInit and the contexts live.
var HostGate = func(needCtx bool) Result {
	if needCtx {
		_, r := ctxDevice()
		return r
	}
	_, r := ready()
	return r
}

// MemAllocHost is cuMemAllocHost_v2.
func MemAllocHost(pp unsafe.Pointer, size uint64) Result { return MemHostAlloc(pp, size, 0) }

// MemHostAlloc is cuMemHostAlloc.
func MemHostAlloc(pp unsafe.Pointer, size uint64, flags uint32) Result {
	if r := HostGate(true); r != Success {
		return r
	}
	if pp == nil || size == 0 || flags&^0xf != 0 {
		return ErrorInvalidValue
	}
	a, st := shim.AllocHost(size, flags)
	if st != shim.OK {
		return From(st)
	}
	shim.PutPtr(pp, a.Base)
	return Success
}

// MemFreeHost is cuMemFreeHost.
func MemFreeHost(p uintptr) Result {
	if r := HostGate(false); r != Success {
		return r
	}
	return From(shim.FreeHost(p))
}

// MemHostRegister is cuMemHostRegister_v2: portable, device-map, I/O memory and read-only
// (0xf) are the flags it knows; any other is an invalid value.
func MemHostRegister(p uintptr, size uint64, flags uint32) Result {
	if r := HostGate(true); r != Success {
		return r
	}
	if flags&^0xf != 0 {
		return ErrorInvalidValue
	}
	return From(shim.RegisterHost(p, size, flags))
}

// MemHostUnregister is cuMemHostUnregister.
func MemHostUnregister(p uintptr) Result {
	if r := HostGate(false); r != Success {
		return r
	}
	return From(shim.UnregisterHost(p))
}

// stream resolves a CUstream for the current context.
func stream(h uintptr) (*shim.Stream, Result) {
	d, r := ctxDevice()
	if r != Success {
		return nil, r
	}
	s, st := shim.ResolveStream(h, d)
	return s, From(st)
}

func memcpy(dst, src uintptr, n uint64, kind int32, h uintptr) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	return From(shim.Memcpy(s, dst, src, n, kind))
}

// MemcpyHtoD is cuMemcpyHtoD_v2.
func MemcpyHtoD(dst uint64, src uintptr, n uint64) Result {
	return memcpy(uintptr(dst), src, n, shim.HostToDevice, 0)
}

// MemcpyDtoH is cuMemcpyDtoH_v2.
func MemcpyDtoH(dst uintptr, src uint64, n uint64) Result {
	return memcpy(dst, uintptr(src), n, shim.DeviceToHost, 0)
}

// MemcpyDtoD is cuMemcpyDtoD_v2.
func MemcpyDtoD(dst, src uint64, n uint64) Result {
	return memcpy(uintptr(dst), uintptr(src), n, shim.DeviceToDevice, 0)
}

// Memcpy is cuMemcpy: direction inferred from the addresses (unified addressing).
func Memcpy(dst, src uint64, n uint64) Result {
	return memcpy(uintptr(dst), uintptr(src), n, shim.CopyDefault, 0)
}

// MemcpyAsync is cuMemcpyAsync.
func MemcpyAsync(dst, src uint64, n uint64, h uintptr) Result {
	return memcpy(uintptr(dst), uintptr(src), n, shim.CopyDefault, h)
}

// MemcpyHtoDAsync is cuMemcpyHtoDAsync_v2.
func MemcpyHtoDAsync(dst uint64, src uintptr, n uint64, h uintptr) Result {
	return memcpy(uintptr(dst), src, n, shim.HostToDevice, h)
}

// MemcpyDtoHAsync is cuMemcpyDtoHAsync_v2.
func MemcpyDtoHAsync(dst uintptr, src uint64, n uint64, h uintptr) Result {
	return memcpy(dst, uintptr(src), n, shim.DeviceToHost, h)
}

// MemsetD8 is cuMemsetD8_v2.
func MemsetD8(dst uint64, v uint8, n uint64) Result { return MemsetD8Async(dst, v, n, 0) }

// MemsetD8Async is cuMemsetD8Async.
func MemsetD8Async(dst uint64, v uint8, n uint64, h uintptr) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	return From(shim.Memset(s, uintptr(dst), v, n))
}

// MemsetD32 is cuMemsetD32_v2: n 32-bit words.
func MemsetD32(dst uint64, v uint32, n uint64) Result {
	s, r := stream(0)
	if r != Success {
		return r
	}
	return From(shim.MemsetWords(s, uintptr(dst), v, 4, n))
}

// MemGetAddressRange is cuMemGetAddressRange_v2.
func MemGetAddressRange(base, size unsafe.Pointer, p uint64) Result {
	if _, r := ready(); r != Success {
		return r
	}
	a := shim.S().Mem.Find(uintptr(p))
	if a == nil || !a.OnDevice() {
		return ErrorNotFound
	}
	if base != nil {
		shim.PutU64(base, uint64(a.Base))
	}
	if size != nil {
		shim.PutU64(size, uint64(a.Size))
	}
	return Success
}

// Pointer attributes (CUpointer_attribute) the model answers.
const (
	ptrAttrContext    = 1
	ptrAttrMemoryType = 2
	ptrAttrDevicePtr  = 3
	ptrAttrHostPtr    = 4
	ptrAttrSyncMemops = 6
	ptrAttrIsManaged  = 8
	ptrAttrOrdinal    = 9
	ptrAttrRangeStart = 11
	ptrAttrRangeSize  = 12
	ptrAttrMapped     = 13
	memTypeHost       = 1
	memTypeDevice     = 2
)

// PointerGetAttribute is cuPointerGetAttribute.
func PointerGetAttribute(data unsafe.Pointer, attr int32, p uint64) Result {
	if r := hostReady(); r != Success {
		return r
	}
	if data == nil {
		return ErrorInvalidValue
	}
	a := shim.S().Mem.Find(uintptr(p))
	if a == nil || a.Kind == shim.MemReserved {
		return ErrorInvalidValue
	}
	switch attr {
	case ptrAttrContext:
		var h uintptr
		if a.Dev != nil {
			h = shim.PrimaryContext(a.Dev).Handle
		}
		shim.PutPtr(data, h)
	case ptrAttrMemoryType:
		t := uint32(memTypeHost)
		if a.OnDevice() {
			t = memTypeDevice
		}
		shim.PutU32(data, t)
	case ptrAttrDevicePtr:
		d := uintptr(p)
		if a.Kind == shim.MemHost || a.Kind == shim.MemRegistered {
			d = shim.HostDevicePointer(a, d) // where the server's driver maps it
		}
		shim.PutU64(data, uint64(d))
	case ptrAttrHostPtr:
		shim.PutU64(data, p)
	case ptrAttrSyncMemops:
		shim.PutU32(data, uint32(b2i(a.SyncMemops)))
	case ptrAttrIsManaged:
		shim.PutU32(data, uint32(b2i(a.Kind == shim.MemManaged)))
	case ptrAttrOrdinal:
		ord := -1
		if a.Dev != nil {
			ord = shim.S().Ordinal(a.Dev)
		}
		shim.PutI32(data, int32(ord))
	case ptrAttrRangeStart:
		shim.PutU64(data, uint64(a.Base))
	case ptrAttrRangeSize:
		shim.PutU64(data, uint64(a.Size))
	case ptrAttrMapped:
		shim.PutU32(data, 1)
	default:
		return ErrorInvalidValue
	}
	return Success
}
