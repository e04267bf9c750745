package cuda

import (
	"unsafe"

	"vgpu/shim"
)

// External memory (shim/extmem.go holds the rules; the runtime's forms are cudart/extmem.go).

// ImportExternalMemory is cuImportExternalMemory: an opaque fd vgpu exported becomes a
// CUexternalMemory of the caller's; the fd is the import's (closed) on success.
func ImportExternalMemory(out, desc unsafe.Pointer) Result {
	if _, r := ready(); r != Success {
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

// ExternalMemoryGetMappedBuffer is cuExternalMemoryGetMappedBuffer: a device address of the
// range the descriptor names, freed with cuMemFree.
func ExternalMemoryGetMappedBuffer(out unsafe.Pointer, h uintptr, desc unsafe.Pointer) Result {
	if _, r := ready(); r != Success {
		return r
	}
	m, ok := shim.LookupExternal(h)
	if !ok {
		return ErrorInvalidHandle
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

// ExternalMemoryGetMappedMipmappedArray is cuExternalMemoryGetMappedMipmappedArray: the
// model's VMM memory backs no array layout (not supported).
func ExternalMemoryGetMappedMipmappedArray(out unsafe.Pointer, h uintptr, desc unsafe.Pointer) Result {
	if _, r := ready(); r != Success {
		return r
	}
	if _, ok := shim.LookupExternal(h); !ok {
		return ErrorInvalidHandle
	}
	if out == nil || desc == nil {
		return ErrorInvalidValue
	}
	return From(shim.ErrNotSupported)
}

// DestroyExternalMemory is cuDestroyExternalMemory.
func DestroyExternalMemory(h uintptr) Result {
	if _, r := ready(); r != Success {
		return r
	}
	m, ok := shim.LookupExternal(h)
	if !ok {
		return ErrorInvalidHandle
	}
	return From(m.Destroy())
}
