package shim

import (
	"math/bits"
	"sort"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// MemKind says what a range of addresses is.
type MemKind uint8

const (
	MemDevice     MemKind = iota + 1 // cudaMalloc / cuMemAlloc
	MemHost                          // pinned host memory: cudaMallocHost, cudaHostAlloc
	MemManaged                       // cudaMallocManaged
	MemRegistered                    // cudaHostRegister'ed user memory
	MemReserved                      // cuMemAddressReserve'd range (no access until mapped)
	MemMapped                        // a cuMemMap'ped piece of a reserved range
	MemArray                         // a CUDA array's storage: device memory only its array frees
	MemIPC                           // another client's exported allocation, opened by IPC handle (shim/ipc.go)
	MemGlobal                        // a loaded module's variable in a real driver's memory: only its module's unload ends it
)

// Alloc is one range the model knows about.
type Alloc struct {
	Base, Size uintptr
	Kind       MemKind
	Dev        *Device // owning device; nil for host kinds
	Charged    uint64  // bytes charged to Dev
	Flags      uint32
	Phys       *Physical // the VMM physical memory behind a MemMapped piece
	Owner      uint64    // the server's client whose call added it (0 in a program's own process); set by MemTable.Add
	Shared     bool      // pinned host memory a remote server maps too (SetSharedHost)
	DevAddr    uintptr   // where the server's driver maps Shared host memory for kernels (0: the host address)
	SyncMemops bool      // CU_POINTER_ATTRIBUTE_SYNC_MEMOPS, set by cuPointerSetAttribute
}

// InRange reports whether [p, p+n) lies within [base, base+size), with no sum that can wrap.
func InRange(base uintptr, size uint64, p uintptr, n uint64) bool {
	return p >= base && uint64(p-base) <= size && n <= size-uint64(p-base)
}

// MulAdd is a*b+c, and whether it fits in 64 bits: pitched sizes and offsets are products of
// caller-supplied values, and a wrapped one would pass a range check for the wrong bytes.
func MulAdd(a, b, c uint64) (uint64, bool) {
	hi, lo := bits.Mul64(a, b)
	sum, carry := bits.Add64(lo, c, 0)
	return sum, hi == 0 && carry == 0
}

// End is one past the last byte.
func (a *Alloc) End() uintptr { return a.Base + a.Size }

// OnDevice reports whether the range is device memory (device, managed or mapped VMM).
func (a *Alloc) OnDevice() bool {
	return a.Kind == MemDevice || a.Kind == MemManaged || a.Kind == MemMapped || a.Kind == MemArray || a.Kind == MemIPC || a.Kind == MemGlobal
}

// MemTable holds every live range, sorted by base, for pointer validation. Each range
// belongs to the server client whose call made it (0: a program's own process), and every
// lookup answers from the caller's ranges only: another client's address is as unknown as
// a wild one. Ranges of different owners never overlap (each is its own mmap or driver VA),
// except an IPC mapping, which is exactly the range it maps, so a lookup searches all ranges
// alike and filters the hit, looking past same-based ranges of other owners.
type MemTable struct {
	mu     sync.RWMutex
	sorted []*Alloc
}

// NewMemTable returns an empty table.
func NewMemTable() *MemTable { return &MemTable{} }

// Add records a as the caller's; ranges of one layer never overlap (reserved ranges hold
// mapped pieces, which are looked up first).
func (t *MemTable) Add(a *Alloc) {
	a.Owner = CallerOwner()
	t.mu.Lock()
	// After equal bases: a VMM piece mapped at its reservation's base must sort after it.
	i := sort.Search(len(t.sorted), func(i int) bool { return t.sorted[i].Base > a.Base })
	t.sorted = append(t.sorted, nil)
	copy(t.sorted[i+1:], t.sorted[i:])
	t.sorted[i] = a
	t.mu.Unlock()
}

// Remove forgets a.
func (t *MemTable) Remove(a *Alloc) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, x := range t.sorted {
		if x == a {
			t.sorted = append(t.sorted[:i], t.sorted[i+1:]...)
			return true
		}
	}
	return false
}

// Exact returns the caller's range starting at base with one of the kinds, or nil.
func (t *MemTable) Exact(base uintptr, kinds ...MemKind) *Alloc {
	return t.exact(base, CallerOwner(), kinds)
}

func (t *MemTable) exact(base uintptr, owner uint64, kinds []MemKind) *Alloc {
	t.mu.RLock()
	defer t.mu.RUnlock()
	i := sort.Search(len(t.sorted), func(i int) bool { return t.sorted[i].Base >= base })
	for ; i < len(t.sorted) && t.sorted[i].Base == base; i++ {
		for _, k := range kinds {
			if t.sorted[i].Kind == k {
				if a := owned(t.sorted[i], owner); a != nil {
					return a
				}
			}
		}
	}
	return nil
}

// owned is a when owner holds it, else nil: the one place a range's owner is compared.
func owned(a *Alloc, owner uint64) *Alloc {
	if a == nil || a.Owner != owner {
		return nil
	}
	return a
}

// Find returns the caller's innermost range containing addr, or nil. A mapped VMM piece wins
// over the reservation around it; callers check that their length fits with End.
func (t *MemTable) Find(addr uintptr) *Alloc { return t.find(addr, CallerOwner()) }

func (t *MemTable) find(addr uintptr, owner uint64) *Alloc {
	t.mu.RLock()
	defer t.mu.RUnlock()
	i := sort.Search(len(t.sorted), func(i int) bool { return t.sorted[i].Base > addr })
	for j := i - 1; j >= 0; j-- {
		a := t.sorted[j]
		if addr < a.End() {
			if a.Owner == owner {
				return a // pieces sit after their reservation's base, so the first hit is innermost
			}
			// IPC mappings (MemIPC) share the base of the range they map, which another client
			// owns: the caller's own may sit just before. Nothing else shares a base across owners.
			if j > 0 && t.sorted[j-1].Base == a.Base {
				continue
			}
			return nil
		}
		if a.Kind != MemMapped {
			return nil // top-level ranges do not overlap: nothing earlier reaches addr
		}
	}
	return nil
}

// All returns a snapshot of the caller's live ranges.
func (t *MemTable) All() []*Alloc {
	owner := CallerOwner()
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []*Alloc
	for _, a := range t.sorted {
		if a.Owner == owner {
			out = append(out, a)
		}
	}
	return out
}

// EveryOwner returns a snapshot of every client's live ranges. Only the server's own
// bookkeeping may use it (freeing what a departed client held, metrics): no client's
// call may see another's ranges.
func (t *MemTable) EveryOwner() []*Alloc {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return append([]*Alloc(nil), t.sorted...)
}

const hugePage = 2 << 20

// MapAnon reserves size bytes of lazily backed, never-overcommitted address space:
// pages cost nothing until written, so an 80 GB device fits in a small machine.
func MapAnon(size uint64, prot int) (uintptr, error) {
	b, err := unix.Mmap(-1, 0, int(size), prot, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return 0, err
	}
	if size >= hugePage {
		// Large buffers are written whole (a model's weights, a memset of the pool): 2 MiB
		// pages fault 512 times less often. Advice only; ignored where THP is off.
		_ = unix.Madvise(b, unix.MADV_HUGEPAGE)
	}
	return uintptr(unsafe.Pointer(&b[0])), nil
}

// Unmap releases a range from MapAnon.
func Unmap(base uintptr, size uint64) error {
	_, _, e := unix.Syscall(unix.SYS_MUNMAP, base, uintptr(size), 0)
	if e != 0 {
		return e
	}
	return nil
}

// Bytes views n bytes at addr. The caller has validated the range.
func Bytes(addr uintptr, n uint64) []byte {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(addr)), n)
}
