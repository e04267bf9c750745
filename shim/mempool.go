package shim

import "sync"

// MemPool is a device's default memory pool as one client sees it: stream-ordered
// allocation (cudaMallocAsync, cuMemAllocAsync) draws from it. Each server client has its
// own, so one tenant's figures never show another's.
type MemPool struct {
	Handle   uintptr
	mu       sync.Mutex
	live     map[uintptr]uint64 // allocation -> bytes used
	used     uint64
	usedHigh uint64
	reserved uint64 // mapped for the pool: live allocations in 2 MiB pages, plus what is kept
	resHigh  uint64
	thresh   uint64 // the release threshold
	reuse    [3]int32
	Dev      *Device           // the device whose memory the pool hands out
	Created  bool              // made by cuMemPoolCreate / cudaMemPoolCreate (else a device's default)
	MaxSize  uint64            // the most the pool may hold at once (0: the device's memory)
	Handles  uint32            // CUmemAllocationHandleType bits it may be exported as (shim/pools.go)
	access   map[*Device]int32 // other devices' CUmemAccess_flags
	Imported *MemPool          // the exporter's pool this one imports (shim/shareable.go); it hands out no memory
	owner    uint64
}

type poolKey struct {
	dev   *Device
	owner uint64
}

var (
	poolsMu sync.Mutex
	pools   = map[poolKey]*MemPool{}
)

const poolPage = 2 << 20

// PoolOf is d's default pool for the caller.
func PoolOf(d *Device) *MemPool {
	k := poolKey{d, CallerOwner()}
	poolsMu.Lock()
	defer poolsMu.Unlock()
	p := pools[k]
	if p == nil {
		p = &MemPool{live: map[uintptr]uint64{}, reuse: [3]int32{1, 1, 1}, Dev: d, owner: k.owner}
		// KindMemHandle's other objects are of another type: a pool handle passed where
		// one of them belongs (or the reverse) does not resolve.
		p.Handle = NewHandle(KindMemHandle, p)
		pools[k] = p
	}
	return p
}

// LookupPool resolves a pool handle.
func LookupPool(h uintptr) (*MemPool, bool) { return Lookup[*MemPool](KindMemHandle, h) }

func (p *MemPool) pages() uint64 {
	var n uint64
	for _, b := range p.live {
		n += (b + poolPage - 1) / poolPage * poolPage
	}
	return n
}

// Added counts a stream-ordered allocation of bytes at a in the pool's figures.
func (p *MemPool) Added(a uintptr, bytes uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.live[a] = bytes
	allocPools.Store(a, p)
	p.used += bytes
	p.usedHigh = max(p.usedHigh, p.used)
	p.reserved = max(p.reserved, p.pages())
	p.resHigh = max(p.resHigh, p.reserved)
}

// removed returns memory to the pool: it keeps up to the release threshold mapped.
func (p *MemPool) removed(a uintptr) {
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

// PoolForget takes an allocation a stream-ordered allocation made out of its pool's
// figures; call it before the address can be reused by another allocation.
func PoolForget(a uintptr) {
	x := S().Mem.Exact(a, MemDevice)
	if x == nil {
		return
	}
	if pool, ok := allocPools.LoadAndDelete(a); ok {
		pool.(*MemPool).removed(a)
	}
}

// Pool attributes (cudaMemPoolAttr and CUmemPool_attribute share their values).
const (
	poolReuseFollowEvents = 1
	poolReuseInternalDeps = 3
	poolReleaseThreshold  = 4
	poolReservedCurrent   = 5
	poolReservedHigh      = 6
	poolUsedCurrent       = 7
	poolUsedHigh          = 8
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

// Attr reads (or with set, writes) attribute attr from b, which holds PoolAttrSize(attr)
// bytes. The current figures are read-only; the high-water marks may only be reset (to 0,
// which sets them to the current figure).
func (p *MemPool) Attr(attr int32, b []byte, set bool) Status {
	n := PoolAttrSize(attr)
	if n == 0 || len(b) < n {
		return ErrInvalidValue
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !set {
		if n == 4 {
			Le.PutUint32(b, uint32(p.reuse[attr-poolReuseFollowEvents]))
			return OK
		}
		v := map[int32]uint64{poolReleaseThreshold: p.thresh, poolReservedCurrent: p.reserved,
			poolReservedHigh: p.resHigh, poolUsedCurrent: p.used, poolUsedHigh: p.usedHigh}[attr]
		Le.PutUint64(b, v)
		return OK
	}
	if n == 4 {
		p.reuse[attr-poolReuseFollowEvents] = 0
		if Le.Uint32(b) != 0 {
			p.reuse[attr-poolReuseFollowEvents] = 1
		}
		return OK
	}
	v := Le.Uint64(b)
	switch attr {
	case poolReleaseThreshold:
		p.thresh = v
		p.reserved = max(p.pages(), min(p.reserved, p.thresh))
	case poolReservedHigh, poolUsedHigh:
		if v != 0 {
			return ErrInvalidValue
		}
		if attr == poolReservedHigh {
			p.resHigh = p.reserved
		} else {
			p.usedHigh = p.used
		}
	default:
		return ErrInvalidValue
	}
	return OK
}

// TrimTo keeps at most minBytes the pool does not use.
func (p *MemPool) TrimTo(minBytes uint64) {
	p.mu.Lock()
	p.reserved = max(p.pages(), min(p.reserved, minBytes))
	p.mu.Unlock()
}
