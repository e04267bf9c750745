package cudart

import (
	"sync"
	"unsafe"

	"vgpu/shim"
)

// memPool is a device's default memory pool as one client sees it: cudaMallocAsync draws
// from it. Each server client has its own, so one tenant's figures never show another's.
type memPool struct {
	handle   uintptr
	mu       sync.Mutex
	live     map[uintptr]uint64 // allocation -> bytes used
	used     uint64
	usedHigh uint64
	reserved uint64 // mapped for the pool: live allocations in 2 MiB pages, plus what is kept
	resHigh  uint64
	thresh   uint64 // cudaMemPoolAttrReleaseThreshold
	reuse    [3]int32
}

type poolKey struct {
	dev   *shim.Device
	owner uint64
}

var (
	poolsMu sync.Mutex
	pools   = map[poolKey]*memPool{}
)

const poolPage = 2 << 20

func poolOf(d *shim.Device) *memPool {
	k := poolKey{d, shim.CallerOwner()}
	poolsMu.Lock()
	defer poolsMu.Unlock()
	p := pools[k]
	if p == nil {
		p = &memPool{live: map[uintptr]uint64{}, reuse: [3]int32{1, 1, 1}}
		// KindMemHandle's other objects are of another type: a pool handle passed where
		// one of them belongs (or the reverse) does not resolve.
		p.handle = shim.NewHandle(shim.KindMemHandle, p)
		pools[k] = p
	}
	return p
}

func (p *memPool) pages() uint64 {
	var n uint64
	for _, b := range p.live {
		n += (b + poolPage - 1) / poolPage * poolPage
	}
	return n
}

func (p *memPool) added(a uintptr, bytes uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.live[a] = bytes
	p.used += bytes
	p.usedHigh = max(p.usedHigh, p.used)
	p.reserved = max(p.reserved, p.pages())
	p.resHigh = max(p.resHigh, p.reserved)
}

// removed returns memory to the pool: it keeps up to the release threshold mapped.
func (p *memPool) removed(a uintptr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	bytes, ok := p.live[a]
	if !ok {
		return
	}
	delete(p.live, a)
	p.used -= bytes
	p.reserved = max(p.pages(), min(p.reserved, p.thresh))
}

// DeviceGetDefaultMemPool is cudaDeviceGetDefaultMemPool.
func DeviceGetDefaultMemPool(out unsafe.Pointer, device int32) Error {
	d, e := deviceAt(device)
	if e != Success {
		return e
	}
	if out == nil {
		return ErrorInvalidValue
	}
	shim.PutPtr(out, poolOf(d).handle)
	return Success
}

// DeviceGetMemPool is cudaDeviceGetMemPool: the default pool (vgpu sets no other current).
func DeviceGetMemPool(out unsafe.Pointer, device int32) Error {
	return DeviceGetDefaultMemPool(out, device)
}

// cudaMemPoolAttr values.
const (
	poolReuseFollowEvents  = 1
	poolReuseOpportunistic = 2
	poolReuseInternalDeps  = 3
	poolReleaseThreshold   = 4
	poolReservedCurrent    = 5
	poolReservedHigh       = 6
	poolUsedCurrent        = 7
	poolUsedHigh           = 8
)

// PoolAttrSize is the size of an attribute's value: int for the reuse flags, 64 bits else;
// 0 for an attribute that does not exist.
func PoolAttrSize(attr int32) int {
	switch {
	case attr >= poolReuseFollowEvents && attr <= poolReuseInternalDeps:
		return 4
	case attr >= poolReleaseThreshold && attr <= poolUsedHigh:
		return 8
	}
	return 0
}

func poolAt(h uintptr) (*memPool, Error) {
	if _, e := begin(); e != Success {
		return nil, e
	}
	p, ok := shim.Lookup[*memPool](shim.KindMemHandle, h)
	if !ok {
		return nil, ErrorInvalidValue
	}
	return p, Success
}

// MemPoolGetAttribute is cudaMemPoolGetAttribute.
func MemPoolGetAttribute(h uintptr, attr int32, value uintptr) Error {
	n := PoolAttrSize(attr)
	if n == 0 || value == 0 {
		return ErrorInvalidValue
	}
	return MemPoolAttr(h, attr, shim.Bytes(value, uint64(n)), false)
}

// MemPoolSetAttribute is cudaMemPoolSetAttribute.
func MemPoolSetAttribute(h uintptr, attr int32, value uintptr) Error {
	n := PoolAttrSize(attr)
	if n == 0 || value == 0 {
		return ErrorInvalidValue
	}
	return MemPoolAttr(h, attr, shim.Bytes(value, uint64(n)), true)
}

// MemPoolAttr reads (or with set, writes) attribute attr of pool h from b, which holds
// PoolAttrSize(attr) bytes.
func MemPoolAttr(h uintptr, attr int32, b []byte, set bool) Error {
	p, e := poolAt(h)
	if e != Success {
		return e
	}
	n := PoolAttrSize(attr)
	if n == 0 || len(b) < n {
		return ErrorInvalidValue
	}
	if set {
		return p.set(attr, b)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if n == 4 {
		shim.Le.PutUint32(b, uint32(p.reuse[attr-poolReuseFollowEvents]))
		return Success
	}
	v := map[int32]uint64{poolReleaseThreshold: p.thresh, poolReservedCurrent: p.reserved,
		poolReservedHigh: p.resHigh, poolUsedCurrent: p.used, poolUsedHigh: p.usedHigh}[attr]
	shim.Le.PutUint64(b, v)
	return Success
}

// set writes an attribute: the current figures are read-only, the high-water marks may
// only be reset (to 0, which sets them to the current figure).
func (p *memPool) set(attr int32, b []byte) Error {
	n := PoolAttrSize(attr)
	p.mu.Lock()
	defer p.mu.Unlock()
	if n == 4 {
		p.reuse[attr-poolReuseFollowEvents] = 0
		if shim.Le.Uint32(b) != 0 {
			p.reuse[attr-poolReuseFollowEvents] = 1
		}
		return Success
	}
	v := shim.Le.Uint64(b)
	switch attr {
	case poolReleaseThreshold:
		p.thresh = v
		p.reserved = max(p.pages(), min(p.reserved, p.thresh))
	case poolReservedHigh, poolUsedHigh:
		if v != 0 {
			return ErrorInvalidValue
		}
		if attr == poolReservedHigh {
			p.resHigh = p.reserved
		} else {
			p.usedHigh = p.used
		}
	default:
		return ErrorInvalidValue
	}
	return Success
}

// MemPoolTrimTo is cudaMemPoolTrimTo: the pool keeps at most minBytes it does not use.
func MemPoolTrimTo(h uintptr, minBytes uint64) Error {
	p, e := poolAt(h)
	if e != Success {
		return e
	}
	p.mu.Lock()
	p.reserved = max(p.pages(), min(p.reserved, minBytes))
	p.mu.Unlock()
	return Success
}
