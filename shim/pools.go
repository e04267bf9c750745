package shim

import (
	"sync"
	"unsafe"
)

// Pools a program creates (cuMemPoolCreate, cudaMemPoolCreate), each device's current pool
// (cuDeviceSetMemPool), and which pool each stream-ordered allocation came from. Like the
// default pools, every pool belongs to the client that made it: its handle resolves for that
// client only, and another client's current pool is never consulted.

var (
	allocPools sync.Map // allocation base -> *MemPool it was drawn from
	currentMu  sync.Mutex
	current    = map[poolKey]*MemPool{}
)

// Pool property and access layouts, shared by the driver and the runtime (CUmemPoolProps and
// cudaMemPoolProps; CUmemAccessDesc and cudaMemAccessDesc; CUmemLocation and cudaMemLocation).
const (
	PoolPropsSize  = 88 // allocType, handleTypes, location{type, id}, win32 attributes, maxSize, usage, reserved
	AccessDescSize = 12 // location{type, id}, flags
	locationDevice = 1  // CU_MEM_LOCATION_TYPE_DEVICE
	allocPinned    = 1  // CU_MEM_ALLOCATION_TYPE_PINNED
	AccessNone     = 0  // CU_MEM_ACCESS_FLAGS_PROT_NONE
	HandlePosixFD  = 1  // CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR
	maxAccessDescs = 64
)

// LocationDevice resolves an 8-byte CUmemLocation naming a device.
func LocationDevice(loc []byte) (*Device, Status) {
	if len(loc) < 8 {
		return nil, ErrInvalidValue
	}
	if int32(Le.Uint32(loc)) != locationDevice {
		return nil, ErrInvalidValue
	}
	d := S().Device(int(int32(Le.Uint32(loc[4:]))))
	if d == nil {
		return nil, ErrInvalidValue
	}
	return d, OK
}

// CreatePool makes a pool from props (PoolPropsSize bytes): pinned device memory of one
// device, exportable as a POSIX file descriptor or not at all. Host locations, fabric and
// Win32 handles are not modelled.
func CreatePool(props []byte) (*MemPool, Status) {
	if len(props) < PoolPropsSize {
		return nil, ErrInvalidValue
	}
	if Le.Uint32(props) != allocPinned {
		return nil, ErrInvalidValue
	}
	handles := Le.Uint32(props[4:])
	switch {
	case handles&^0xf != 0:
		return nil, ErrInvalidValue
	case handles&^HandlePosixFD != 0: // Win32 (2, 4) on Linux, fabric (8)
		return nil, ErrNotSupported
	}
	if t := int32(Le.Uint32(props[8:])); t != locationDevice {
		if t >= 2 && t <= 4 { // host, host NUMA node, the current host NUMA node
			return nil, ErrNotSupported
		}
		return nil, ErrInvalidValue
	}
	d, st := LocationDevice(props[8:16])
	if st != OK {
		return nil, ErrInvalidValue // as NVIDIA's driver answers a location of no device
	}
	maxSize := Le.Uint64(props[24:])
	if maxSize > d.Total() {
		return nil, ErrInvalidValue
	}
	p := &MemPool{live: map[uintptr]uint64{}, reuse: [3]int32{1, 1, 1}, Dev: d, Created: true,
		MaxSize: maxSize, Handles: handles, owner: CallerOwner()}
	p.Handle = NewHandle(KindMemHandle, p)
	return p, OK
}

// Destroy releases a created pool: its handle stops resolving at once; allocations still
// drawn from it stay valid until freed (CUDA frees the pool's memory then). A device's
// default pool cannot be destroyed.
func (p *MemPool) Destroy() Status {
	if !p.Created {
		return ErrInvalidValue
	}
	if !Release(KindMemHandle, p.Handle) {
		return ErrInvalidValue
	}
	p.Close()
	return OK
}

// Close forgets p as its device's current pool (a destroyed pool, or its client leaving).
func (p *MemPool) Close() {
	revokePoolExport(p)
	currentMu.Lock()
	k := poolKey{p.Dev, p.owner}
	if current[k] == p {
		delete(current, k)
	}
	currentMu.Unlock()
	if !p.Created {
		poolsMu.Lock()
		if pools[k] == p {
			delete(pools, k)
		}
		poolsMu.Unlock()
	}
}

// CurrentPool is d's current pool for the caller: the one cuDeviceSetMemPool chose, else
// the default.
func CurrentPool(d *Device) *MemPool {
	currentMu.Lock()
	p := current[poolKey{d, CallerOwner()}]
	currentMu.Unlock()
	if p != nil {
		return p
	}
	return PoolOf(d)
}

// SetCurrentPool makes p (a pool of d's) d's current pool for the caller.
func SetCurrentPool(d *Device, p *MemPool) Status {
	if p.Imported != nil { // an imported pool hands out no memory (CUDA's rule)
		return ErrInvalidValue
	}
	if p.Dev != d {
		return ErrInvalidDevice
	}
	currentMu.Lock()
	current[poolKey{d, CallerOwner()}] = p
	currentMu.Unlock()
	return OK
}

// Fits reports whether size more bytes stay within the pool's maximum size.
func (p *MemPool) Fits(size uint64) bool {
	if p.MaxSize == 0 {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.used <= p.MaxSize && size <= p.MaxSize-p.used
}

// SetAccess applies count access descriptors (AccessDescSize bytes each), all checked before
// any applies: each names a device, with no access or read-write; the pool's own device
// always has read-write access and cannot be given less.
func (p *MemPool) SetAccess(descs []byte, count uint64) Status {
	if count == 0 || count > maxAccessDescs || uint64(len(descs)) < count*AccessDescSize {
		return ErrInvalidValue
	}
	type entry struct {
		d     *Device
		flags int32
	}
	var es []entry
	for i := uint64(0); i < count; i++ {
		b := descs[i*AccessDescSize:]
		d, st := LocationDevice(b[:8])
		if st != OK {
			return st
		}
		flags := int32(Le.Uint32(b[8:]))
		if flags != AccessNone && flags != AccessReadWrite {
			return ErrInvalidValue
		}
		if d == p.Dev && flags != AccessReadWrite {
			return ErrInvalidValue
		}
		es = append(es, entry{d, flags})
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.access == nil {
		p.access = map[*Device]int32{}
	}
	for _, e := range es {
		if e.d != p.Dev {
			p.access[e.d] = e.flags
		}
	}
	return OK
}

// Access is the access d has to the pool's memory.
func (p *MemPool) Access(d *Device) int32 {
	if d == p.Dev {
		return AccessReadWrite
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.access[d]
}

// AllocFromPool is a stream-ordered allocation of size bytes drawn from p: on p's device,
// within its maximum size, counted in its figures until freed.
func AllocFromPool(p *MemPool, size uint64) (*Alloc, Status) {
	if size == 0 || p.Imported != nil { // an imported pool hands out no memory (CUDA's rule)
		return nil, ErrInvalidValue
	}
	if !p.Fits(size) {
		return nil, ErrOutOfMemory
	}
	a, st := AllocDevice(p.Dev, size, MemDevice)
	if st != OK {
		return nil, st
	}
	p.Added(a.Base, a.Charged)
	return a, OK
}

// ---- CUDA 13's pools by location (cuMemGetDefaultMemPool, cuMemGetMemPool, cuMemSetMemPool
// and the runtime's cudaMem*MemPool) ----

// PoolLocationDevice is the device whose pools a CUmemLocation (cudaMemLocation) and an
// allocation type name: the type must be pinned, the only one pools hold; host locations
// are not modelled (no host pools): not supported.
func PoolLocationDevice(loc unsafe.Pointer, typ int32) (*Device, Status) {
	if loc == nil || typ != allocPinned {
		return nil, ErrInvalidValue
	}
	switch lt, id := *(*int32)(loc), *(*int32)(unsafe.Add(loc, 4)); lt {
	case LocDevice:
		d := S().Device(int(id))
		if d == nil {
			return nil, ErrInvalidDevice
		}
		return d, OK
	case LocHost, LocHostNuma, LocHostNumaCurrent:
		return nil, ErrNotSupported
	}
	return nil, ErrInvalidValue
}

// LocationPool writes the default (current false) or current pool of the location's device.
func LocationPool(out, loc unsafe.Pointer, typ int32, cur bool) Status {
	d, st := PoolLocationDevice(loc, typ)
	if st != OK {
		return st
	}
	if out == nil {
		return ErrInvalidValue
	}
	p := PoolOf(d)
	if cur {
		p = CurrentPool(d)
	}
	PutPtr(out, p.Handle)
	return OK
}

// SetLocationPool makes pool h (the caller's, of the location's device) the location's
// current pool.
func SetLocationPool(loc unsafe.Pointer, typ int32, h uintptr) Status {
	d, st := PoolLocationDevice(loc, typ)
	if st != OK {
		return st
	}
	p, ok := LookupPool(h)
	if !ok || p.Dev != d {
		return ErrInvalidValue
	}
	return SetCurrentPool(d, p)
}
