package cuda

import (
	"unsafe"

	"vgpu/shim"
)

// Shareable handles of pools and of cuMemCreate'd memory, and pool pointer exports
// (shim/shareable.go holds the rules; the runtime's forms are cudart/shareable.go). The
// handle is a file descriptor made in the program's own process; over remote the client's
// hook (remote/shareable.go) makes and reads it, and these functions see the 64 bytes.

// MemPoolExportToShareableHandle is cuMemPoolExportToShareableHandle: for a pool created
// with CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR, an fd (an int written at out).
func MemPoolExportToShareableHandle(out unsafe.Pointer, h uintptr, typ int32, flags uint64) Result {
	p, r := pool(h)
	if r != Success {
		return r
	}
	if out == nil {
		return ErrorInvalidValue
	}
	b := make([]byte, shim.ShareableSize)
	if st := shim.ExportPool(b, p, typ, flags); st != shim.OK {
		return From(st)
	}
	return From(shim.PutShareable(out, b))
}

// MemPoolImportFromShareableHandle is cuMemPoolImportFromShareableHandle: handle is the fd
// (cast to a pointer, as CUDA passes it); the new pool handle names the exporter's pool.
func MemPoolImportFromShareableHandle(out, handle unsafe.Pointer, typ int32, flags uint64) Result {
	if _, r := ready(); r != Success {
		return r
	}
	if out == nil {
		return ErrorInvalidValue
	}
	b, st := shim.GetShareable(handle)
	if st != shim.OK {
		return From(st)
	}
	p, st := shim.ImportPool(b, typ, flags)
	if st != shim.OK {
		return From(st)
	}
	shim.PutPtr(out, p.Handle)
	return Success
}

// MemPoolExportPointer is cuMemPoolExportPointer: the 64 bytes that name the allocation at
// ptr (drawn from an exportable pool) to an importer of the pool.
func MemPoolExportPointer(out unsafe.Pointer, ptr uint64) Result {
	if _, r := ready(); r != Success {
		return r
	}
	if out == nil {
		return ErrorInvalidValue
	}
	return From(shim.ExportPoolPointer(shim.View(out, shim.ShareableSize), uintptr(ptr)))
}

// MemPoolImportPointer is cuMemPoolImportPointer: through an imported pool, the address of
// the exporter's allocation; cuMemFree(Async) of it drops the mapping only.
func MemPoolImportPointer(out unsafe.Pointer, h uintptr, data unsafe.Pointer) Result {
	p, r := pool(h)
	if r != Success {
		return r
	}
	if out == nil || data == nil {
		return ErrorInvalidValue
	}
	a, st := shim.ImportPoolPointer(p, shim.View(data, shim.ShareableSize))
	if st != shim.OK {
		return From(st)
	}
	shim.PutU64(out, uint64(a))
	return Success
}

// MemExportToShareableHandle is cuMemExportToShareableHandle: for memory cuMemCreate made
// with CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR requested, an fd (an int written at out).
func MemExportToShareableHandle(out unsafe.Pointer, h uint64, typ int32, flags uint64) Result {
	if _, r := ready(); r != Success {
		return r
	}
	p, ok := shim.LookupPhysical(h)
	if !ok || out == nil {
		return ErrorInvalidValue
	}
	b := make([]byte, shim.ShareableSize)
	if st := shim.ExportPhysical(b, p, typ, flags); st != shim.OK {
		return From(st)
	}
	return From(shim.PutShareable(out, b))
}

// MemImportFromShareableHandle is cuMemImportFromShareableHandle: a handle of the caller's
// to the exporter's memory, mapped and released like its own.
func MemImportFromShareableHandle(out unsafe.Pointer, handle unsafe.Pointer, typ int32) Result {
	if _, r := ready(); r != Success {
		return r
	}
	if out == nil {
		return ErrorInvalidValue
	}
	b, st := shim.GetShareable(handle)
	if st != shim.OK {
		return From(st)
	}
	p, st := shim.ImportPhysical(b, typ)
	if st != shim.OK {
		return From(st)
	}
	shim.PutU64(out, uint64(p.Handle))
	return Success
}
