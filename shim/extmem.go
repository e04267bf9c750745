package shim

import (
	"encoding/binary"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// External memory (cuImportExternalMemory and the runtime's form). The one kind of external
// memory vgpu can honour is its own: an opaque fd that cuMemExportToShareableHandle made (a
// sealed memfd holding a token, shim/shareable.go). Importing it is cuMemImportFromShareableHandle
// under another name: the importer gets a handle of its own on the same VMM memory. A mapped
// buffer is a reservation with [offset, offset+size) of that memory mapped read-write in it,
// freed with cuMemFree as NVIDIA documents; destroying the object releases the handle, and
// memory a buffer still maps stays until the buffer is freed.
//
// Rules:
//   - handle type 1 (opaque fd) only; Win32, D3D, NvSci and dma-buf types (2..9) are not
//     supported; any other type, a zero size, a size past the memory, unknown flags or a
//     nonzero reserved word is an invalid value; an fd that is not one of vgpu's tokens (a
//     pipe, a file, a stale token) is an invalid value (as cuMemImportFromShareableHandle);
//   - a buffer's range must lie inside the imported size; mipmapped arrays cannot be backed by
//     VMM memory in the model (not supported).

// External memory handle types vgpu knows the names of (CUexternalMemoryHandleType).
const (
	ExtMemOpaqueFD  = 1
	extMemLastType  = 9 // CU_EXTERNAL_MEMORY_HANDLE_TYPE_DMABUF_FD
	ExtMemDedicated = 1 // CUDA_EXTERNAL_MEMORY_DEDICATED
)

// ExternalMemory is an imported external memory object.
type ExternalMemory struct {
	Handle uintptr
	Size   uint64
	phys   *Physical
	mu     sync.Mutex
	gone   bool
}

// extBuffer is a buffer mapped from external memory: the reservation holding it.
type extBuffer struct {
	owner uint64
	base  uintptr // the reservation
	size  uint64
}

var extBuffers = struct {
	sync.Mutex
	m map[uintptr]*extBuffer // by the address handed out
}{m: map[uintptr]*extBuffer{}}

// ExtMemTypeStatus checks a CUexternalMemoryHandleType.
func ExtMemTypeStatus(t int32) Status {
	switch {
	case t == ExtMemOpaqueFD:
		return OK
	case t > ExtMemOpaqueFD && t <= extMemLastType:
		return ErrNotSupported
	}
	return ErrInvalidValue
}

// ImportExternal resolves the 64 bytes an opaque fd carried into external memory of size
// bytes for the caller.
func ImportExternal(b []byte, typ int32, size uint64, flags uint32) (*ExternalMemory, Status) {
	if st := ExtMemTypeStatus(typ); st != OK {
		return nil, st
	}
	if size == 0 || flags&^ExtMemDedicated != 0 {
		return nil, ErrInvalidValue
	}
	p, st := ImportPhysical(b, HandlePosixFD)
	if st != OK {
		return nil, st
	}
	if size > p.Size {
		p.ReleasePhysical()
		return nil, ErrInvalidValue
	}
	m := &ExternalMemory{Size: size, phys: p}
	m.Handle = NewHandle(KindExtMem, m)
	return m, OK
}

// LookupExternal resolves the caller's live external memory handle.
func LookupExternal(h uintptr) (*ExternalMemory, bool) {
	return Lookup[*ExternalMemory](KindExtMem, h)
}

// MappedBuffer maps [offset, offset+size) of m for the caller and returns its address.
func (m *ExternalMemory) MappedBuffer(offset, size uint64, flags uint32) (uintptr, Status) {
	if size == 0 || flags != 0 || offset >= m.Size || size > m.Size-offset {
		return 0, ErrInvalidValue
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gone {
		return 0, ErrInvalidHandle
	}
	// VMM maps whole granules: map the granules covering the range, hand out the address of
	// offset inside them.
	lo := offset &^ (VMMGranularity - 1)
	hi := (offset + size + VMMGranularity - 1) &^ (VMMGranularity - 1)
	span := hi - lo
	res, st := Reserve(span, 0)
	if st != OK {
		return 0, st
	}
	if st := MapPhysical(res.Base, span, lo, m.phys); st != OK {
		FreeReservation(res.Base, span)
		return 0, st
	}
	if st := SetAccess(res.Base, span, AccessReadWrite); st != OK {
		UnmapPhysical(res.Base, span)
		FreeReservation(res.Base, span)
		return 0, st
	}
	addr := res.Base + uintptr(offset-lo)
	extBuffers.Lock()
	extBuffers.m[addr] = &extBuffer{owner: CallerOwner(), base: res.Base, size: span}
	extBuffers.Unlock()
	return addr, OK
}

// Destroy releases m's handle on the memory; buffers still mapped keep theirs.
func (m *ExternalMemory) Destroy() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gone {
		return ErrInvalidHandle
	}
	m.gone = true
	Release(KindExtMem, m.Handle)
	return m.phys.ReleasePhysical()
}

// Close is the client's leaving: its import goes with it (the imported Physical is its own
// handle and is closed by ReleaseOwned too).
func (m *ExternalMemory) Close() {
	m.mu.Lock()
	m.gone = true
	m.mu.Unlock()
}

// freeExternal is cuMemFree of a buffer mapped from external memory; it reports whether p
// was one of the caller's.
func freeExternal(p uintptr) bool {
	me := CallerOwner()
	extBuffers.Lock()
	b := extBuffers.m[p]
	if b == nil || b.owner != me {
		extBuffers.Unlock()
		return false
	}
	delete(extBuffers.m, p)
	extBuffers.Unlock()
	if S().Mem.Exact(b.base, MemMapped) == nil { // the client's memory went another way
		return false
	}
	UnmapPhysical(b.base, b.size)
	FreeReservation(b.base, b.size)
	return true
}

// ExtMemDescSize is the part of CUDA_EXTERNAL_MEMORY_HANDLE_DESC (and of the runtime's
// cudaExternalMemoryHandleDesc, the same layout) vgpu reads: type at 0, the handle union at 8
// (an int fd), size at 24, flags at 32. Over remote the client sends these bytes followed by
// the ShareableSize bytes its fd held (remote/extmem.go).
const ExtMemDescSize = 40

// ImportExternalDesc is cuImportExternalMemory's work on a descriptor: in a program's own
// process the fd is read here and, on success, closed (the import owns it, as NVIDIA
// documents); on a server the bytes follow the descriptor.
func ImportExternalDesc(desc unsafe.Pointer) (*ExternalMemory, Status) {
	if desc == nil {
		return nil, ErrInvalidValue
	}
	d := View(desc, ExtMemDescSize)
	typ := int32(binary.LittleEndian.Uint32(d[0:]))
	fd := int32(binary.LittleEndian.Uint32(d[8:]))
	size := binary.LittleEndian.Uint64(d[24:])
	flags := binary.LittleEndian.Uint32(d[32:])
	if st := ExtMemTypeStatus(typ); st != OK {
		return nil, st
	}
	var b []byte
	if Serving() {
		b = append([]byte(nil), View(unsafe.Add(desc, ExtMemDescSize), ShareableSize)...)
	} else {
		var st Status
		if b, st = ReadShareableFD(int(fd)); st != OK {
			return nil, st
		}
	}
	m, st := ImportExternal(b, typ, size, flags)
	if st == OK && !Serving() {
		unix.Close(int(fd))
	}
	return m, st
}

// BufferDescSize is the part of CUDA_EXTERNAL_MEMORY_BUFFER_DESC (cudaExternalMemoryBufferDesc)
// vgpu reads: offset at 0, size at 8, flags at 16.
const BufferDescSize = 24

// MappedBufferDesc maps the buffer a descriptor names.
func (m *ExternalMemory) MappedBufferDesc(desc unsafe.Pointer) (uintptr, Status) {
	if desc == nil {
		return 0, ErrInvalidValue
	}
	d := View(desc, 20)
	return m.MappedBuffer(binary.LittleEndian.Uint64(d[0:]), binary.LittleEndian.Uint64(d[8:]),
		binary.LittleEndian.Uint32(d[16:]))
}
