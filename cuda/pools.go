package cuda

import (
	"unsafe"

	"vgpu/shim"
)

// Created memory pools, access to them and the current pool (shim/pools.go holds the
// semantics; the runtime's cudaMemPool* forms are the same calls, cudart/pools.go).

// MemPoolCreate is cuMemPoolCreate.
func MemPoolCreate(out, props unsafe.Pointer) Result {
	if _, r := ready(); r != Success {
		return r
	}
	if out == nil || props == nil {
		return ErrorInvalidValue
	}
	p, st := shim.CreatePool(shim.View(props, shim.PoolPropsSize))
	if st != shim.OK {
		return From(st)
	}
	shim.PutPtr(out, p.Handle)
	return Success
}

// MemPoolDestroy is cuMemPoolDestroy.
func MemPoolDestroy(h uintptr) Result {
	p, r := pool(h)
	if r != Success {
		return r
	}
	return From(p.Destroy())
}

// MemPoolSetAccess is cuMemPoolSetAccess.
func MemPoolSetAccess(h uintptr, descs unsafe.Pointer, count uint64) Result {
	p, r := pool(h)
	if r != Success {
		return r
	}
	if descs == nil || count == 0 || count > uint64(len(shim.S().Devices())) {
		return ErrorInvalidValue
	}
	return From(p.SetAccess(shim.View(descs, int(count)*shim.AccessDescSize), count))
}

// MemPoolGetAccess is cuMemPoolGetAccess.
func MemPoolGetAccess(flags unsafe.Pointer, h uintptr, loc unsafe.Pointer) Result {
	p, r := pool(h)
	if r != Success {
		return r
	}
	if flags == nil || loc == nil {
		return ErrorInvalidValue
	}
	d, st := shim.LocationDevice(shim.View(loc, 8))
	if st != shim.OK {
		return From(st)
	}
	shim.PutU32(flags, uint32(p.Access(d)))
	return Success
}

// MemAllocFromPoolAsync is cuMemAllocFromPoolAsync.
func MemAllocFromPoolAsync(dptr unsafe.Pointer, size uint64, h, s uintptr) Result {
	cs, r := stream(s)
	if r != Success {
		return r
	}
	p, r := pool(h)
	if r != Success {
		return r
	}
	if dptr == nil {
		return ErrorInvalidValue
	}
	if cs.Capturing() != nil {
		if size == 0 {
			return ErrorInvalidValue
		}
		return captureAlloc(dptr, size, cs)
	}
	a, st := shim.AllocFromPool(p, size)
	if st != shim.OK {
		return From(st)
	}
	shim.PutU64(dptr, uint64(a.Base))
	return Success
}

// MemAllocFromPoolAsyncPtsz is cuMemAllocFromPoolAsync_ptsz.
func MemAllocFromPoolAsyncPtsz(dptr unsafe.Pointer, size uint64, h, s uintptr) Result {
	return MemAllocFromPoolAsync(dptr, size, h, ptsz(s))
}

// DeviceSetMemPool is cuDeviceSetMemPool: pool (of dev's memory) becomes dev's current pool,
// which cuMemAllocAsync draws from. A device that does not exist is an invalid value (the
// pool is not one of its), as NVIDIA's driver answers.
func DeviceSetMemPool(dev int32, h uintptr) Result {
	d, r := device(dev)
	if r == ErrorInvalidDevice {
		return ErrorInvalidValue
	}
	if r != Success {
		return r
	}
	p, r := pool(h)
	if r != Success {
		return r
	}
	return From(shim.SetCurrentPool(d, p))
}
