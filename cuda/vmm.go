package cuda

import (
	"unsafe"

	"vgpu/shim"
)

// CUmemAllocationProp as ggml fills it: type at 0, location {type, id} at 8.
const (
	memAllocTypePinned   = 1
	memLocationDevice    = 1
	granularityMinimum   = 0
	granularityRecommend = 1
)

// propDevice validates a CUmemAllocationProp and returns the device it names.
func propDevice(prop unsafe.Pointer) (*shim.Device, Result) {
	if _, r := ready(); r != Success {
		return nil, r
	}
	if prop == nil {
		return nil, ErrorInvalidValue
	}
	b := shim.View(prop, 32)
	if shim.Le.Uint32(b[0:]) != memAllocTypePinned || shim.Le.Uint32(b[8:]) != memLocationDevice {
		return nil, ErrorInvalidValue
	}
	d := shim.S().Device(int(int32(shim.Le.Uint32(b[12:]))))
	if d == nil {
		return nil, ErrorInvalidDevice
	}
	if d.Attrs[shim.AttrVirtualMemoryManagement] == 0 {
		return nil, ErrorNotSupported
	}
	return d, Success
}

// MemGetAllocationGranularity is cuMemGetAllocationGranularity: 2 MiB for both options.
func MemGetAllocationGranularity(g unsafe.Pointer, prop unsafe.Pointer, option int32) Result {
	if _, r := propDevice(prop); r != Success {
		return r
	}
	if g == nil || (option != granularityMinimum && option != granularityRecommend) {
		return ErrorInvalidValue
	}
	shim.PutU64(g, shim.VMMGranularity)
	return Success
}

// MemCreate is cuMemCreate: physical memory, charged to the device now.
func MemCreate(handle unsafe.Pointer, size uint64, prop unsafe.Pointer, flags uint64) Result {
	d, r := propDevice(prop)
	if r != Success {
		return r
	}
	if handle == nil || flags != 0 {
		return ErrorInvalidValue
	}
	// requestedHandleTypes: what the memory may be exported as (shim/shareable.go).
	types := shim.Le.Uint32(shim.View(prop, 32)[4:])
	switch {
	case types&^0xf != 0:
		return ErrorInvalidValue
	case types&^shim.HandlePosixFD != 0: // Win32 on Linux, fabric on a GPU without a fabric
		return ErrorNotSupported
	}
	p, st := shim.CreatePhysical(d, size)
	if st != shim.OK {
		return From(st)
	}
	p.Handles = types
	shim.PutU64(handle, uint64(p.Handle))
	return Success
}

// MemRelease is cuMemRelease.
func MemRelease(h uint64) Result {
	if _, r := ready(); r != Success {
		return r
	}
	p, ok := shim.LookupPhysical(h)
	if !ok {
		return ErrorInvalidValue
	}
	return From(p.ReleasePhysical())
}

// MemAddressReserve is cuMemAddressReserve; a requested address is a hint, as in CUDA.
func MemAddressReserve(ptr unsafe.Pointer, size, align uint64, addr uint64, flags uint64) Result {
	if _, r := ready(); r != Success {
		return r
	}
	if ptr == nil || flags != 0 {
		return ErrorInvalidValue
	}
	a, st := shim.Reserve(size, align)
	if st != shim.OK {
		return From(st)
	}
	shim.PutU64(ptr, uint64(a.Base))
	return Success
}

// MemAddressFree is cuMemAddressFree.
func MemAddressFree(ptr uint64, size uint64) Result {
	if _, r := ready(); r != Success {
		return r
	}
	return From(shim.FreeReservation(uintptr(ptr), size))
}

// MemMap is cuMemMap.
func MemMap(ptr uint64, size, offset uint64, h uint64, flags uint64) Result {
	if _, r := ready(); r != Success {
		return r
	}
	p, ok := shim.LookupPhysical(h)
	if !ok || flags != 0 {
		return ErrorInvalidValue
	}
	return From(shim.MapPhysical(uintptr(ptr), size, offset, p))
}

// MemUnmap is cuMemUnmap.
func MemUnmap(ptr uint64, size uint64) Result {
	if _, r := ready(); r != Success {
		return r
	}
	return From(shim.UnmapPhysical(uintptr(ptr), size))
}

// MemSetAccess is cuMemSetAccess: each CUmemAccessDesc is {location{type,id}, flags}, 12 bytes.
func MemSetAccess(ptr uint64, size uint64, desc unsafe.Pointer, count uint64) Result {
	if _, r := ready(); r != Success {
		return r
	}
	if desc == nil || count == 0 || count > 64 {
		return ErrorInvalidValue
	}
	b := shim.View(desc, int(12*count))
	var flags uint32
	for i := uint64(0); i < count; i++ {
		e := b[12*i:]
		if shim.Le.Uint32(e) != memLocationDevice || shim.S().Device(int(int32(shim.Le.Uint32(e[4:])))) == nil {
			return ErrorInvalidDevice
		}
		flags |= shim.Le.Uint32(e[8:])
	}
	return From(shim.SetAccess(uintptr(ptr), size, flags))
}

// MemGetAccess is cuMemGetAccess.
func MemGetAccess(flags unsafe.Pointer, loc unsafe.Pointer, ptr uint64) Result {
	if _, r := ready(); r != Success {
		return r
	}
	if flags == nil || loc == nil {
		return ErrorInvalidValue
	}
	a := shim.S().Mem.Find(uintptr(ptr))
	if a == nil || a.Kind != shim.MemMapped {
		return ErrorInvalidValue
	}
	shim.PutU64(flags, uint64(a.Flags))
	return Success
}

// MemGetAllocationPropertiesFromHandle is cuMemGetAllocationPropertiesFromHandle: the
// CUmemAllocationProp (32 bytes) the memory was created with, as the model keeps it: pinned
// device memory of its device, no shareable handle types, no flags.
func MemGetAllocationPropertiesFromHandle(prop unsafe.Pointer, h uint64) Result {
	if _, r := ready(); r != Success {
		return r
	}
	p, ok := shim.LookupPhysical(h)
	if !ok || prop == nil {
		return ErrorInvalidValue
	}
	b := shim.View(prop, 32)
	clear(b)
	shim.Le.PutUint32(b[0:], memAllocTypePinned)
	shim.Le.PutUint32(b[8:], memLocationDevice)
	shim.Le.PutUint32(b[12:], uint32(shim.S().Ordinal(p.Dev)))
	return Success
}

// MemRetainAllocationHandle is cuMemRetainAllocationHandle: the handle of the memory mapped
// at addr, one more reference to release with cuMemRelease.
func MemRetainAllocationHandle(out unsafe.Pointer, addr uintptr) Result {
	if _, r := ready(); r != Success {
		return r
	}
	if out == nil {
		return ErrorInvalidValue
	}
	p, st := shim.RetainPhysical(addr)
	if st != shim.OK {
		return From(st)
	}
	shim.PutU64(out, uint64(p.Handle))
	return Success
}
