package cudart

import (
	"unsafe"

	"vgpu/shim"
)

// External memory (shim/extmem.go holds the rules; the driver's forms are cuda/extmem.go).

// ImportExternalMemory is cudaImportExternalMemory: an opaque fd vgpu exported becomes a
// CUexternalMemory of the caller's; the fd is the import's (closed) on success.
func ImportExternalMemory(out, desc unsafe.Pointer) Error {
	if _, r := begin(); r != Success {
		return r
	}
	if out == nil {
		return ErrorInvalidValue
	}
	m, st := shim.ImportExternalDesc(desc)
	if st != shim.OK {
		return From(st)
	}
	shim.PutPtr(out, m.Handle)
	return Success
}

// ExternalMemoryGetMappedBuffer is cudaExternalMemoryGetMappedBuffer: a device address of the
// range the descriptor names, freed with cudaFree.
func ExternalMemoryGetMappedBuffer(out unsafe.Pointer, h uintptr, desc unsafe.Pointer) Error {
	if _, r := begin(); r != Success {
		return r
	}
	m, ok := shim.LookupExternal(h)
	if !ok {
		return ErrorInvalidResourceHandle
	}
	if out == nil || desc == nil {
		return ErrorInvalidValue
	}
	p, st := m.MappedBufferDesc(desc)
	if st != shim.OK {
		return From(st)
	}
	shim.PutU64(out, uint64(p))
	return Success
}

// ExternalMemoryGetMappedMipmappedArray is cudaExternalMemoryGetMappedMipmappedArray: the
// model's VMM memory backs no array layout (not supported).
func ExternalMemoryGetMappedMipmappedArray(out unsafe.Pointer, h uintptr, desc unsafe.Pointer) Error {
	if _, r := begin(); r != Success {
		return r
	}
	if _, ok := shim.LookupExternal(h); !ok {
		return ErrorInvalidResourceHandle
	}
	if out == nil || desc == nil {
		return ErrorInvalidValue
	}
	return From(shim.ErrNotSupported)
}

// DestroyExternalMemory is cudaDestroyExternalMemory.
func DestroyExternalMemory(h uintptr) Error {
	if _, r := begin(); r != Success {
		return r
	}
	m, ok := shim.LookupExternal(h)
	if !ok {
		return ErrorInvalidResourceHandle
	}
	return From(m.Destroy())
}
