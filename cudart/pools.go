package cudart

import (
	"unsafe"

	"vgpu/shim"
)

// The runtime's forms of created pools (shim/pools.go; the driver's are cuda/pools.go):
// cudaMemPoolProps, cudaMemAccessDesc and cudaMemLocation share the driver's layouts.

// MemPoolCreate is cudaMemPoolCreate.
func MemPoolCreate(out, props unsafe.Pointer) Error {
	if _, e := begin(); e != Success {
		return e
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

// MemPoolDestroy is cudaMemPoolDestroy.
func MemPoolDestroy(h uintptr) Error {
	p, e := poolAt(h)
	if e != Success {
		return e
	}
	return From(p.Destroy())
}

// MemPoolSetAccess is cudaMemPoolSetAccess.
func MemPoolSetAccess(h uintptr, descs unsafe.Pointer, count uint64) Error {
	p, e := poolAt(h)
	if e != Success {
		return e
	}
	if descs == nil || count == 0 || count > uint64(len(shim.S().Devices())) {
		return ErrorInvalidValue
	}
	return From(p.SetAccess(shim.View(descs, int(count)*shim.AccessDescSize), count))
}

// MemPoolGetAccess is cudaMemPoolGetAccess.
func MemPoolGetAccess(flags unsafe.Pointer, h uintptr, loc unsafe.Pointer) Error {
	p, e := poolAt(h)
	if e != Success {
		return e
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
