package cuda

import (
	"unsafe"

	"vgpu/shim"
)

// Stream-ordered allocation and the devices' default pools (shim/mempool.go, the runtime's
// too): the model allocates at once, in stream order trivially, and counts the allocation
// in the pool's figures until it is freed.

// MemAllocAsync is cuMemAllocAsync.
func MemAllocAsync(dptr unsafe.Pointer, size uint64, h uintptr) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	if dptr == nil || size == 0 {
		return ErrorInvalidValue
	}
	if s.Capturing() != nil {
		return captureAlloc(dptr, size, s)
	}
	a, st := shim.AllocFromPool(shim.CurrentPool(s.Dev), size)
	if st != shim.OK {
		return From(st)
	}
	shim.PutU64(dptr, uint64(a.Base))
	return Success
}

// MemFreeAsync is cuMemFreeAsync.
func MemFreeAsync(dptr uint64, h uintptr) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	if dptr == 0 {
		return ErrorInvalidValue
	}
	if s.Capturing() != nil { // a memory free node of the capture's graph
		return From(s.CaptureFree(uintptr(dptr)))
	}
	return MemFree(dptr)
}

// captureAlloc is a stream-ordered allocation on capturing stream s: a memory allocation
// node whose address is fixed now (shim.Stream.CaptureAlloc).
func captureAlloc(dptr unsafe.Pointer, size uint64, s *shim.Stream) Result {
	p, st := s.CaptureAlloc(size)
	if st != shim.OK {
		return From(st)
	}
	shim.PutU64(dptr, uint64(p))
	return Success
}

// DeviceGetDefaultMemPool is cuDeviceGetDefaultMemPool.
func DeviceGetDefaultMemPool(out unsafe.Pointer, dev int32) Result {
	d, r := device(dev)
	if r != Success {
		return r
	}
	if out == nil {
		return ErrorInvalidValue
	}
	shim.PutPtr(out, shim.PoolOf(d).Handle)
	return Success
}

// DeviceGetMemPool is cuDeviceGetMemPool: the pool cuDeviceSetMemPool made current, else
// the default one.
func DeviceGetMemPool(out unsafe.Pointer, dev int32) Result {
	d, r := device(dev)
	if r != Success {
		return r
	}
	if out == nil {
		return ErrorInvalidValue
	}
	shim.PutPtr(out, shim.CurrentPool(d).Handle)
	return Success
}

func pool(h uintptr) (*shim.MemPool, Result) {
	if _, r := ready(); r != Success {
		return nil, r
	}
	p, ok := shim.LookupPool(h)
	if !ok {
		return nil, ErrorInvalidValue
	}
	return p, Success
}

// MemPoolAttr reads or writes a pool attribute's value (shim.PoolAttrSize bytes at value).
func MemPoolAttr(h uintptr, attr int32, value uintptr, set bool) Result {
	p, r := pool(h)
	if r != Success {
		return r
	}
	n := shim.PoolAttrSize(attr)
	if n == 0 || value == 0 {
		return ErrorInvalidValue
	}
	return From(p.Attr(attr, shim.Bytes(value, uint64(n)), set))
}

// MemPoolGetAttributeCU is cuMemPoolGetAttribute.
func MemPoolGetAttributeCU(h uintptr, attr int32, value uintptr) Result {
	return MemPoolAttr(h, attr, value, false)
}

// MemPoolSetAttributeCU is cuMemPoolSetAttribute.
func MemPoolSetAttributeCU(h uintptr, attr int32, value uintptr) Result {
	return MemPoolAttr(h, attr, value, true)
}

// MemPoolTrimTo is cuMemPoolTrimTo.
func MemPoolTrimTo(h uintptr, minBytes uint64) Result {
	p, r := pool(h)
	if r != Success {
		return r
	}
	p.TrimTo(minBytes)
	return Success
}
