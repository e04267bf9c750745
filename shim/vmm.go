package shim

import (
	"sync"

	"golang.org/x/sys/unix"
)

// VMMGranularity is the allocation granularity the model reports (2 MiB, as on Hopper).
const VMMGranularity = 2 << 20

// Physical is a cuMemCreate'd piece of device memory, backed by a memfd so it can be
// mapped into reserved ranges like the real thing.
type Physical struct {
	Handle   uintptr
	Dev      *Device
	Size     uint64
	fd       int
	mu       sync.Mutex
	maps     int
	released bool
	refs     int       // references beyond the first: cuMemRetainAllocationHandle's
	Handles  uint32    // CUmemAllocationHandleType bits it may be exported as (shim/shareable.go)
	imports  int       // other clients' handles to this memory (ImportPhysical)
	source   *Physical // the exporter's memory this handle imports, or nil
}

// CreatePhysical charges size bytes to d and backs them.
func CreatePhysical(d *Device, size uint64) (*Physical, Status) {
	if size == 0 || size%VMMGranularity != 0 || size > maxSize {
		return nil, ErrInvalidValue
	}
	if !d.Charge(size) {
		return nil, ErrOutOfMemory
	}
	fd, err := unix.MemfdCreate("vgpu-vmm", unix.MFD_CLOEXEC)
	if err == nil {
		err = unix.Ftruncate(fd, int64(size))
	}
	if err != nil {
		d.Refund(size)
		Log().Warnw("cuMemCreate backing failed", "err", err)
		return nil, ErrOutOfMemory
	}
	p := &Physical{Dev: d, Size: size, fd: fd}
	p.Handle = NewHandle(KindMemHandle, p)
	return p, OK
}

// ReleasePhysical drops the handle; memory goes back once no mapping uses it.
func (p *Physical) ReleasePhysical() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.released {
		return ErrInvalidValue
	}
	if p.refs > 0 {
		p.refs--
		return OK
	}
	p.released = true
	Release(KindMemHandle, p.Handle)
	revokePhysExport(p)
	p.maybeFreeLocked()
	return OK
}

// Close releases the handle of a client that went (ReleaseOwned has forgotten it already).
func (p *Physical) Close() {
	p.mu.Lock()
	p.released = true
	revokePhysExport(p)
	p.maybeFreeLocked()
	p.mu.Unlock()
}

func (p *Physical) maybeFreeLocked() {
	if p.released && p.maps == 0 && p.imports == 0 && p.fd >= 0 {
		unix.Close(p.fd)
		p.fd = -1
		if s := p.source; s != nil { // an import: the exporter's memory loses one holder
			s.mu.Lock()
			s.imports--
			s.maybeFreeLocked()
			s.mu.Unlock()
		} else {
			p.Dev.Refund(p.Size)
		}
	}
}

// Reserve reserves size bytes of device virtual address space aligned to align.
func Reserve(size, align uint64) (*Alloc, Status) {
	if size == 0 || size%VMMGranularity != 0 || size > maxSize {
		return nil, ErrInvalidValue
	}
	if align == 0 {
		align = VMMGranularity
	}
	if align&(align-1) != 0 || align > 1<<40 {
		return nil, ErrInvalidValue
	}
	base, err := MapAnon(size+align, unix.PROT_NONE)
	if err != nil {
		return nil, ErrOutOfMemory
	}
	start := (base + uintptr(align) - 1) &^ (uintptr(align) - 1)
	if head := start - base; head > 0 {
		Unmap(base, uint64(head))
	}
	if tail := base + uintptr(size+align) - (start + uintptr(size)); tail > 0 {
		Unmap(start+uintptr(size), uint64(tail))
	}
	a := &Alloc{Base: start, Size: uintptr(size), Kind: MemReserved}
	S().Mem.Add(a)
	return a, OK
}

// FreeReservation releases a whole reservation with nothing mapped in it.
func FreeReservation(base uintptr, size uint64) Status {
	a := S().Mem.Exact(base, MemReserved)
	if a == nil || uint64(a.Size) != size {
		return ErrInvalidValue
	}
	for _, x := range S().Mem.All() {
		if x.Kind == MemMapped && x.Base >= a.Base && x.Base < a.End() {
			return ErrInvalidValue // unmap first
		}
	}
	S().Mem.Remove(a)
	Unmap(a.Base, size)
	return OK
}

// MapPhysical maps [offset, offset+size) of p at addr inside a reservation.
func MapPhysical(addr uintptr, size, offset uint64, p *Physical) Status {
	if size == 0 || size%VMMGranularity != 0 || offset%VMMGranularity != 0 || addr%VMMGranularity != 0 {
		return ErrInvalidValue
	}
	if offset > p.Size || size > p.Size-offset {
		return ErrInvalidValue
	}
	res := S().Mem.Find(addr)
	for res != nil && res.Kind == MemMapped {
		return ErrAlreadyMapped
	}
	if res == nil || res.Kind != MemReserved || uint64(res.End()-addr) < size {
		return ErrInvalidValue
	}
	for _, x := range S().Mem.All() {
		if x.Kind == MemMapped && x.Base < addr+uintptr(size) && addr < x.End() {
			return ErrAlreadyMapped
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fd < 0 {
		return ErrInvalidValue
	}
	_, _, e := unix.Syscall6(unix.SYS_MMAP, addr, uintptr(size), unix.PROT_NONE,
		unix.MAP_SHARED|unix.MAP_FIXED, uintptr(p.fd), uintptr(offset))
	if e != 0 {
		return ErrOutOfMemory
	}
	p.maps++
	S().Mem.Add(&Alloc{Base: addr, Size: uintptr(size), Kind: MemMapped, Dev: p.Dev, Phys: p, Flags: 0})
	return OK
}

// pieces returns the mapped pieces covering exactly [addr, addr+size), or nil.
func pieces(addr uintptr, size uint64) []*Alloc {
	var out []*Alloc
	for at, end := addr, addr+uintptr(size); at < end; {
		a := S().Mem.Find(at)
		if a == nil || a.Kind != MemMapped || a.Base != at || a.End() > end {
			return nil
		}
		out = append(out, a)
		at = a.End()
	}
	return out
}

// Unmap removes the mappings covering exactly [addr, addr+size).
func UnmapPhysical(addr uintptr, size uint64) Status {
	ps := pieces(addr, size)
	if ps == nil {
		return ErrInvalidValue
	}
	for _, a := range ps {
		unmapPiece(a)
	}
	return OK
}

// unmapPiece returns a mapped piece's addresses to its reservation and drops its hold on
// the physical memory behind it.
func unmapPiece(a *Alloc) {
	unix.Syscall6(unix.SYS_MMAP, a.Base, a.Size, unix.PROT_NONE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE|unix.MAP_FIXED, ^uintptr(0), 0)
	if !S().Mem.Remove(a) {
		return
	}
	if p := a.Phys; p != nil { // the piece holds its memory, whatever became of the handle
		p.mu.Lock()
		p.maps--
		p.maybeFreeLocked()
		p.mu.Unlock()
	}
}

// LookupPhysical resolves a live CUmemGenericAllocationHandle.
func LookupPhysical(h uint64) (*Physical, bool) {
	return Lookup[*Physical](KindMemHandle, uintptr(h))
}

// SetAccess sets the protection of the pieces covering [addr, addr+size).
func SetAccess(addr uintptr, size uint64, flags uint32) Status {
	ps := piecesCovering(addr, size)
	if ps == nil {
		return ErrInvalidValue
	}
	prot := unix.PROT_NONE
	switch flags {
	case 0:
	case 1:
		prot = unix.PROT_READ
	case AccessReadWrite:
		prot = unix.PROT_READ | unix.PROT_WRITE
	default:
		return ErrInvalidValue
	}
	if err := unix.Mprotect(Bytes(addr, size), prot); err != nil {
		return ErrInvalidValue
	}
	for _, a := range ps {
		a.Flags = flags
	}
	return OK
}

// piecesCovering is like pieces but lets the range start and end inside pieces.
func piecesCovering(addr uintptr, size uint64) []*Alloc {
	var out []*Alloc
	for at, end := addr, addr+uintptr(size); at < end; {
		a := S().Mem.Find(at)
		if a == nil || a.Kind != MemMapped {
			return nil
		}
		out = append(out, a)
		at = a.End()
	}
	return out
}

// RetainPhysical is the physical memory mapped at addr (the caller's), with one more
// reference for the caller to release: its handle again, or a new one if every earlier
// reference was released while the mapping kept the memory.
func RetainPhysical(addr uintptr) (*Physical, Status) {
	a := S().Mem.Find(addr)
	if a == nil || a.Kind != MemMapped || a.Phys == nil {
		return nil, ErrInvalidValue
	}
	p := a.Phys
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fd < 0 {
		return nil, ErrInvalidValue
	}
	if p.released {
		p.released = false
		p.Handle = NewHandle(KindMemHandle, p)
	} else {
		p.refs++
	}
	return p, OK
}
