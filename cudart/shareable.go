package cudart

import (
	"unsafe"

	"vgpu/shim"
)

// The runtime's forms of pool shareable handles and pool pointer exports (shim/shareable.go;
// the driver's are cuda/shareable.go). cudaMemAllocationHandleType and
// cudaMemPoolPtrExportData share the driver's values and layout.

// MemPoolExportToShareableHandle is cudaMemPoolExportToShareableHandle.
func MemPoolExportToShareableHandle(out unsafe.Pointer, h uintptr, typ int32, flags uint32) Error {
	p, e := poolAt(h)
	if e != Success {
		return e
	}
	if out == nil {
		return ErrorInvalidValue
	}
	b := make([]byte, shim.ShareableSize)
	if st := shim.ExportPool(b, p, typ, uint64(flags)); st != shim.OK {
		return From(st)
	}
	return From(shim.PutShareable(out, b))
}

// MemPoolImportFromShareableHandle is cudaMemPoolImportFromShareableHandle.
func MemPoolImportFromShareableHandle(out, handle unsafe.Pointer, typ int32, flags uint32) Error {
	if _, e := begin(); e != Success {
		return e
	}
	if out == nil {
		return ErrorInvalidValue
	}
	b, st := shim.GetShareable(handle)
	if st != shim.OK {
		return From(st)
	}
	p, st := shim.ImportPool(b, typ, uint64(flags))
	if st != shim.OK {
		return From(st)
	}
	shim.PutPtr(out, p.Handle)
	return Success
}

// MemPoolExportPointer is cudaMemPoolExportPointer.
func MemPoolExportPointer(out unsafe.Pointer, ptr uintptr) Error {
	if _, e := begin(); e != Success {
		return e
	}
	if out == nil {
		return ErrorInvalidValue
	}
	return From(shim.ExportPoolPointer(shim.View(out, shim.ShareableSize), ptr))
}

// MemPoolImportPointer is cudaMemPoolImportPointer; cudaFree(Async) of the address drops
// the importer's mapping only.
func MemPoolImportPointer(out unsafe.Pointer, h uintptr, data unsafe.Pointer) Error {
	p, e := poolAt(h)
	if e != Success {
		return e
	}
	if out == nil || data == nil {
		return ErrorInvalidValue
	}
	a, st := shim.ImportPoolPointer(p, shim.View(data, shim.ShareableSize))
	if st != shim.OK {
		return From(st)
	}
	shim.PutPtr(out, a)
	return Success
}
