package cudart

import (
	"unsafe"

	"vgpu/cuda"
)

// The runtime's forms of created pools are the driver's (cuda/pools.go, on shim/pools.go):
// cudaMemPoolProps, cudaMemAccessDesc and cudaMemLocation share the driver's layouts, and the
// codes these calls answer (invalid value, out of memory, not supported) have the same
// numbers in both APIs. The runtime initialises itself first, as every runtime call does.

// MemPoolCreate is cudaMemPoolCreate.
func MemPoolCreate(out, props unsafe.Pointer) Error {
	if _, e := begin(); e != Success {
		return e
	}
	return fromDriver(cuda.MemPoolCreate(out, props))
}

// MemPoolDestroy is cudaMemPoolDestroy.
func MemPoolDestroy(h uintptr) Error {
	if _, e := begin(); e != Success {
		return e
	}
	return fromDriver(cuda.MemPoolDestroy(h))
}

// MemPoolSetAccess is cudaMemPoolSetAccess.
func MemPoolSetAccess(h uintptr, descs unsafe.Pointer, count uint64) Error {
	if _, e := begin(); e != Success {
		return e
	}
	return fromDriver(cuda.MemPoolSetAccess(h, descs, count))
}

// MemPoolGetAccess is cudaMemPoolGetAccess.
func MemPoolGetAccess(flags unsafe.Pointer, h uintptr, loc unsafe.Pointer) Error {
	if _, e := begin(); e != Success {
		return e
	}
	return fromDriver(cuda.MemPoolGetAccess(flags, h, loc))
}
