package shim

import (
	"sync"
	"sync/atomic"
)

// Memory operations shared by the driver and runtime APIs. Each validates against the
// MemTable, then executes through the backend or records into a capture.

// Copy directions (cudaMemcpyKind).
const (
	HostToHost     = 0
	HostToDevice   = 1
	DeviceToHost   = 2
	DeviceToDevice = 3
	CopyDefault    = 4
)

// maxSize bounds any single request: more than any device has, less than overflow.
const maxSize = uint64(1) << 48

// AllocDevice charges and maps size bytes of device memory on d.
func AllocDevice(d *Device, size uint64, kind MemKind) (*Alloc, Status) {
	return allocWith(d, size, kind, func() (uintptr, Status) {
		p, err := S().Backend.DeviceAlloc(d, size)
		if err != nil {
			Log().Warnw("device allocation failed in the backend", "bytes", size, "err", err)
			return 0, ErrOutOfMemory
		}
		return p, OK
	})
}

// allocWith charges size bytes on d and the caller's quota, then has alloc place them; what
// alloc refuses is refunded.
func allocWith(d *Device, size uint64, kind MemKind, alloc func() (uintptr, Status)) (*Alloc, Status) {
	if size == 0 {
		return nil, ErrInvalidValue
	}
	if size > d.Memory {
		return nil, ErrOutOfMemory
	}
	charge := roundUp(size, 512) // CUDA hands memory out in 512-byte-aligned blocks at least
	if !d.Charge(charge) {
		return nil, ErrOutOfMemory
	}
	q := callerQuota()
	if q != nil && !q.charge(charge) {
		d.Refund(charge)
		return nil, ErrOutOfMemory
	}
	p, st := alloc()
	if st != OK {
		d.Refund(charge)
		if q != nil {
			q.refund(charge)
		}
		return nil, st
	}
	a := &Alloc{Base: p, Size: uintptr(size), Kind: kind, Dev: d, Charged: charge}
	S().Mem.Add(a)
	return a, OK
}

// FreeOwned releases everything a disconnected client left behind: device allocations,
// VMM mappings and reservations. Only the server calls it, so it sees every owner's ranges.
func FreeOwned(owner uint64) (n int, bytes uint64) {
	ipcRevokeOwned(owner)
	all := S().Mem.EveryOwner()
	for _, a := range all { // mappings first: a reservation is freed once empty
		if a.Owner == owner && a.Kind == MemMapped {
			unmapPiece(a)
		}
	}
	for _, a := range all {
		if a.Owner != owner {
			continue
		}
		switch a.Kind {
		case MemDevice, MemManaged, MemArray:
			if freeAlloc(a) == OK {
				n++
				bytes += a.Charged
			}
		case MemIPC: // a mapping of another client's memory: that client frees it
			ipcRevokeAlloc(a)
			S().Mem.Remove(a)
		case MemGlobal: // the driver frees it with the module
			S().Mem.Remove(a)
		case MemReserved:
			if S().Mem.Remove(a) {
				Unmap(a.Base, uint64(a.Size))
			}
		}
	}
	return n, bytes
}

// RecordGlobal makes a module variable the backend's driver resolved (addr, size bytes on d)
// reachable by its owner's copies and launches, as device memory no free releases; an
// existing record of the caller's at addr is returned as it is. The record goes with the
// client (FreeOwned), a reset of d, or ForgetGlobal when the module is unloaded.
func RecordGlobal(d *Device, addr uintptr, size uint64) *Alloc {
	if a := S().Mem.Exact(addr, MemGlobal); a != nil {
		return a
	}
	a := &Alloc{Base: addr, Size: uintptr(size), Kind: MemGlobal, Dev: d}
	S().Mem.Add(a)
	return a
}

// ForgetGlobal drops a record RecordGlobal made (its module is gone).
func ForgetGlobal(a *Alloc) { S().Mem.Remove(a) }

// FreeDevice releases the caller's device memory that starts exactly at p.
func FreeDevice(p uintptr) Status {
	a := S().Mem.Exact(p, MemDevice, MemManaged)
	if a == nil {
		if freeImported(p) { // a pool pointer it imported: only its mapping goes (shim/shareable.go)
			return OK
		}
		if freeExternal(p) { // a buffer mapped from external memory (shim/extmem.go)
			return OK
		}
		return ErrInvalidDevicePointer
	}
	return freeAlloc(a)
}

// FreeArrayStorage releases a CUDA array's storage (cudaFreeArray); cudaFree cannot.
func FreeArrayStorage(a *Alloc) Status {
	if a == nil || a.Kind != MemArray || owned(a, CallerOwner()) == nil {
		return ErrInvalidHandle
	}
	return freeAlloc(a)
}

// freeAlloc releases a device allocation found through an owner-aware lookup.
func freeAlloc(a *Alloc) Status {
	mapped := ipcRevokeAlloc(a) // first: no other client reaches it from here on
	st := S()
	if !st.Mem.Remove(a) {
		return ErrInvalidDevicePointer
	}
	a.Dev.Refund(a.Charged)
	if q := quotaFor(a.Owner); q != nil {
		q.refund(a.Charged)
	}
	free := func() { // on the backend a came from, also when it runs later (afterCallsInFlight)
		if err := st.Backend.DeviceFree(a); err != nil {
			Log().Warnw("device free failed in the backend", "err", err)
		}
	}
	if mapped {
		afterCallsInFlight(free) // the freeing call itself is one of them: never run inline
	} else {
		free()
	}
	return OK
}

// AllocHost returns pinned host memory.
func AllocHost(size uint64, flags uint32) (*Alloc, Status) {
	if size > maxSize {
		return nil, ErrOutOfMemory
	}
	var p, dev uintptr
	shared := false
	if h := sharedHost.Load(); h != nil {
		p, dev, shared = (*h).Alloc(size)
	}
	if !shared {
		var err error
		if p, err = S().Backend.HostAlloc(size); err != nil {
			return nil, ErrOutOfMemory
		}
	}
	a := &Alloc{Base: p, Size: uintptr(size), Kind: MemHost, Flags: flags, Shared: shared, DevAddr: dev}
	S().Mem.Add(a)
	return a, OK
}

// HostSharer allocates pinned host memory that a remote server maps too (remote/pinned.go).
// dev is where the server's driver maps it for kernels (0 where it does not say).
type HostSharer interface {
	Alloc(size uint64) (p, dev uintptr, ok bool)
	Free(p uintptr) bool
	// Register shares memory the program already has (cudaHostRegister) with the server;
	// false leaves it the client's alone.
	Register(p uintptr, size uint64, flags uint32) (dev uintptr, ok bool)
	// Unregister undoes Register, after the server's work before it.
	Unregister(p uintptr, size uint64)
}

var sharedHost atomic.Pointer[HostSharer]

// SetSharedHost makes later pinned allocations try h first.
func SetSharedHost(h HostSharer) { sharedHost.Store(&h) }

// FreeHost releases pinned host memory that starts exactly at p.
func FreeHost(p uintptr) Status {
	a := S().Mem.Exact(p, MemHost)
	if a == nil || !S().Mem.Remove(a) {
		return ErrInvalidValue
	}
	if a.Shared {
		if h := sharedHost.Load(); h != nil && (*h).Free(a.Base) {
			return OK
		}
	}
	if err := S().Backend.HostFree(a); err != nil {
		Log().Warnw("host free failed in the backend", "err", err)
	}
	return OK
}

// RegisterHost pins user memory [p, p+size).
func RegisterHost(p uintptr, size uint64, flags uint32) Status {
	if p == 0 || size == 0 || size > maxSize {
		return ErrInvalidValue
	}
	if a := S().Mem.Find(p); a != nil {
		return ErrHostMemoryAlreadyRegistered
	}
	a := &Alloc{Base: p, Size: uintptr(size), Kind: MemRegistered, Flags: flags}
	if h := sharedHost.Load(); h != nil {
		a.DevAddr, a.Shared = (*h).Register(p, size, flags)
	}
	S().Mem.Add(a)
	return OK
}

// HostDevicePointer is the device address of host address p in pinned allocation a: where
// the server's driver mapped a shared allocation, else p itself (unified addressing).
func HostDevicePointer(a *Alloc, p uintptr) uintptr {
	if a.DevAddr == 0 {
		return p
	}
	return a.DevAddr + (p - a.Base)
}

// HostMapped is cudaHostAllocMapped (CU_MEMHOSTALLOC_DEVICEMAP, cudaHostRegisterMapped).
const HostMapped = 0x2

// HostFlags is what cudaHostGetFlags reports for pinned memory a: the flags it was allocated
// or registered with, and mapped, as on a device with unified addressing all pinned memory is
// (NVIDIA's runtime reads write-combined memory back as write-combined|mapped).
func HostFlags(a *Alloc) uint32 { return a.Flags | HostMapped }

// UnregisterHost unpins memory registered at p.
func UnregisterHost(p uintptr) Status {
	a := S().Mem.Exact(p, MemRegistered)
	if a == nil || !S().Mem.Remove(a) {
		return ErrHostMemoryNotRegistered
	}
	if h := sharedHost.Load(); h != nil && a.Shared {
		(*h).Unregister(a.Base, uint64(a.Size))
	}
	return OK
}

// DeviceRange checks that [p, p+n) lies in the caller's device memory and returns its
// allocation; another client's memory fails as a wild address does. A
// range may run across VMM pieces mapped back to back, as a growing pool maps them.
func DeviceRange(p uintptr, n uint64) (*Alloc, Status) {
	mem, owner := S().Mem, CallerOwner()
	first := mem.find(p, owner)
	for a, at := first, p; ; {
		if a == nil || !a.OnDevice() || (a.Kind == MemMapped && a.Flags&AccessReadWrite != AccessReadWrite) {
			return nil, ErrInvalidValue
		}
		if n <= uint64(a.End()-at) {
			return first, OK
		}
		if a.Kind != MemMapped {
			return nil, ErrInvalidValue
		}
		n -= uint64(a.End() - at)
		at = a.End()
		a = mem.find(at, owner)
		if a != nil && a.Kind != MemMapped {
			return nil, ErrInvalidValue
		}
	}
}

// AccessReadWrite is CU_MEM_ACCESS_FLAGS_PROT_READWRITE.
const AccessReadWrite = 3

// hostRange accepts any non-NULL host address; device memory is host-addressable in this
// model, as under UVA.
func hostRange(p uintptr, n uint64) Status {
	if p == 0 {
		return ErrInvalidValue
	}
	if a := S().Mem.Find(p); a != nil && a.Kind == MemReserved {
		return ErrInvalidValue // reserved but unmapped VA faults on a real GPU too
	}
	return OK
}

// IsDevice reports whether p is device memory.
func IsDevice(p uintptr) bool {
	a := S().Mem.Find(p)
	return a != nil && a.OnDevice()
}

// Memcpy copies n bytes in direction kind on stream s (nil: synchronous on the legacy stream).
func Memcpy(s *Stream, dst, src uintptr, n uint64, kind int32) Status {
	if kind == CopyDefault {
		kind = inferKind(dst, src)
	}
	if kind < HostToHost || kind > DeviceToDevice {
		return ErrInvalidMemcpyDirection
	}
	if n == 0 {
		return OK
	}
	if n > maxSize {
		return ErrInvalidValue
	}
	check := func(p uintptr, dev bool) Status {
		if dev {
			_, st := DeviceRange(p, n)
			return st
		}
		return hostRange(p, n)
	}
	if st := check(dst, kind == HostToDevice || kind == DeviceToDevice); st != OK {
		return st
	}
	if st := check(src, kind == DeviceToHost || kind == DeviceToDevice); st != OK {
		return st
	}
	return s.Enqueue(Node{Kind: NodeMemcpy, Dst: dst, Src: src, N: n, Copy: kind})
}

func inferKind(dst, src uintptr) int32 {
	switch d, s := IsDevice(dst), IsDevice(src); {
	case d && s:
		return DeviceToDevice
	case d:
		return HostToDevice
	case s:
		return DeviceToHost
	}
	return HostToHost
}

// Memcpy2D copies height rows of width bytes between pitched buffers.
func Memcpy2D(s *Stream, dst uintptr, dpitch uint64, src uintptr, spitch uint64, width, height uint64, kind int32) Status {
	if width > dpitch || width > spitch || height > maxSize || dpitch > maxSize || spitch > maxSize {
		return ErrInvalidValue
	}
	if width == 0 || height == 0 {
		return OK
	}
	if kind == CopyDefault {
		kind = inferKind(dst, src)
	}
	if kind < HostToHost || kind > DeviceToDevice {
		return ErrInvalidMemcpyDirection
	}
	// Check the whole footprint once, then issue one copy per row.
	dspan, dok := MulAdd(dpitch, height-1, width)
	sspan, sok := MulAdd(spitch, height-1, width)
	if !dok || !sok {
		return ErrInvalidValue
	}
	if kind == HostToDevice || kind == DeviceToDevice {
		if _, st := DeviceRange(dst, dspan); st != OK {
			return st
		}
	} else if st := hostRange(dst, dspan); st != OK {
		return st
	}
	if kind == DeviceToHost || kind == DeviceToDevice {
		if _, st := DeviceRange(src, sspan); st != OK {
			return st
		}
	} else if st := hostRange(src, sspan); st != OK {
		return st
	}
	for r := uint64(0); r < height; r++ {
		n := Node{Kind: NodeMemcpy, Dst: dst + uintptr(r*dpitch), Src: src + uintptr(r*spitch), N: width, Copy: kind}
		if st := s.Enqueue(n); st != OK {
			return st
		}
	}
	return OK
}

// Memset fills n bytes at device address dst with value.
func Memset(s *Stream, dst uintptr, value byte, n uint64) Status {
	if n == 0 {
		return OK
	}
	if _, st := DeviceRange(dst, n); st != OK {
		return st
	}
	return s.Enqueue(Node{Kind: NodeMemset, Dst: dst, Value: value, N: n})
}

// MemsetWords fills count elements of size bytes (2 or 4) with value, as cuMemsetD16/D32 do.
func MemsetWords(s *Stream, dst uintptr, value uint32, size, count uint64) Status {
	n := size * count
	if count > maxSize/4 {
		return ErrInvalidValue
	}
	if n == 0 {
		return OK
	}
	if dst%uintptr(size) != 0 {
		return ErrInvalidValue
	}
	if _, st := DeviceRange(dst, n); st != OK {
		return st
	}
	if size == 1 || (value&0xff)*0x01010101 == value {
		return s.Enqueue(Node{Kind: NodeMemset, Dst: dst, Value: byte(value), N: n})
	}
	if _, ok := S().Backend.(WordSetter); ok { // the device fills it (cuMemsetD16/D32)
		return s.Enqueue(Node{Kind: NodeMemset, Dst: dst, N: n, Elem: uint8(size), Pattern: value})
	}
	if S().Backend.Name() != "sim" {
		return ErrNotSupported // multi-byte patterns are written from the host, which only the sim backend can address
	}
	return s.Enqueue(Node{Kind: NodeHost, Run: func() Status {
		// Checked again when run: a captured fill replays later, when the memory may have
		// been freed and its addresses handed to another client.
		if _, st := DeviceRange(dst, n); st != OK {
			return ErrInvalidValue
		}
		buf := Bytes(dst, n)
		for i := uint64(0); i < n; i += size {
			for j := uint64(0); j < size; j++ {
				buf[i+j] = byte(value >> (8 * j))
			}
		}
		return OK
	}})
}

// UsedByCaller is the device memory on d that the caller holds: what NVML's process list
// shows a server's client, which must not see other clients' use. VMM memory counts while
// its handle lives.
func UsedByCaller(d *Device) uint64 {
	var n uint64
	for _, a := range S().Mem.All() {
		if a.Dev == d {
			n += a.Charged
		}
	}
	Each(KindMemHandle, func(_ uintptr, p *Physical) {
		if p.Dev == d {
			n += p.Size
		}
	})
	return n
}

// clientPIDs are the process ids server clients gave in their hello, for NVML's process list.
var clientPIDs sync.Map // owner -> int

// SetClientPID records the process id client owner reported (0 forgets it).
func SetClientPID(owner uint64, pid int) {
	if pid == 0 {
		clientPIDs.Delete(owner)
		return
	}
	clientPIDs.Store(owner, pid)
}

// CallerPID is the calling client's process id as it reported it, or 0 when unknown.
func CallerPID() int {
	v, _ := clientPIDs.Load(CallerOwner())
	pid, _ := v.(int)
	return pid
}
