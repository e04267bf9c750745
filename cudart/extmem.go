package cudart

import (
	"unsafe"

	"vgpu/cuda"
)

// External memory: the runtime's forms are the driver's (cuda/extmem.go, on shim/extmem.go)
// after the runtime's own initialisation; the codes they answer (invalid value, invalid
// handle 400, out of memory, not supported) have the same numbers in both APIs.

// ImportExternalMemory is cudaImportExternalMemory: an opaque fd vgpu exported becomes an
// external memory of the caller's; the fd is the import's (closed) on success.
func ImportExternalMemory(out, desc unsafe.Pointer) Error {
	if _, r := begin(); r != Success {
		return r
	}
	return fromDriver(cuda.ImportExternalMemory(out, desc))
}

// ExternalMemoryGetMappedBuffer is cudaExternalMemoryGetMappedBuffer: a device address of the
// range the descriptor names, freed with cudaFree.
func ExternalMemoryGetMappedBuffer(out unsafe.Pointer, h uintptr, desc unsafe.Pointer) Error {
	if _, r := begin(); r != Success {
		return r
	}
	return fromDriver(cuda.ExternalMemoryGetMappedBuffer(out, h, desc))
}

// ExternalMemoryGetMappedMipmappedArray is cudaExternalMemoryGetMappedMipmappedArray (not
// supported: the model's VMM memory backs no array layout).
func ExternalMemoryGetMappedMipmappedArray(out unsafe.Pointer, h uintptr, desc unsafe.Pointer) Error {
	if _, r := begin(); r != Success {
		return r
	}
	return fromDriver(cuda.ExternalMemoryGetMappedMipmappedArray(out, h, desc))
}

// DestroyExternalMemory is cudaDestroyExternalMemory.
func DestroyExternalMemory(h uintptr) Error {
	if _, r := begin(); r != Success {
		return r
	}
	return fromDriver(cuda.DestroyExternalMemory(h))
}
