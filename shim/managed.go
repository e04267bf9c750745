package shim

import (
	"sort"
	"sync"
	"unsafe"
)

// Managed memory hints: advice, prefetches, range attributes and stream attachment, one
// semantics for the runtime (cudart/managed.go) and the driver (cuda/managed.go), whose
// enumerations agree (cudaMemoryAdvise and CUmem_advise, cudaMemRangeAttribute and
// CUmem_range_attribute, cudaMemLocationType and CUmemLocationType, cudaCpuDeviceId and
// CU_DEVICE_CPU). The model's managed memory is where every processor reads it, so advice and
// prefetches change nothing but what the range attributes report.

// Advice values.
const (
	adviseSetReadMostly          = 1
	adviseUnsetReadMostly        = 2
	adviseSetPreferredLocation   = 3
	adviseUnsetPreferredLocation = 4
	adviseSetAccessedBy          = 5
	adviseUnsetAccessedBy        = 6
)

// Location types, and the device ids the device-numbered forms use for them.
const (
	locInvalid         = 0
	LocDevice          = 1
	LocHost            = 2
	LocHostNuma        = 3
	LocHostNumaCurrent = 4
	CPUDeviceID        = -1
	invalidDeviceID    = -2
)

// paint is one attribute over an allocation's bytes: ranges painted with values, unpainted
// bytes at the attribute's default.
type paint struct{ segs []seg }

type seg struct {
	lo, hi uint64
	v      int64
}

func (p *paint) set(lo, hi uint64, v int64, clear bool) {
	var out []seg
	for _, s := range p.segs {
		if s.hi <= lo || s.lo >= hi {
			out = append(out, s)
			continue
		}
		if s.lo < lo {
			out = append(out, seg{s.lo, lo, s.v})
		}
		if s.hi > hi {
			out = append(out, seg{hi, s.hi, s.v})
		}
	}
	if !clear {
		out = append(out, seg{lo, hi, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].lo < out[j].lo })
	p.segs = out
}

// uniform returns the value every byte of [lo, hi) has, or ok false when they differ.
func (p *paint) uniform(lo, hi uint64, def int64) (int64, bool) {
	cur, have, v := lo, false, int64(0)
	take := func(x int64) bool {
		if have && x != v {
			return false
		}
		have, v = true, x
		return true
	}
	for _, s := range p.segs {
		if s.hi <= cur || s.lo >= hi {
			continue
		}
		if s.lo > cur && !take(def) {
			return 0, false
		}
		if !take(s.v) {
			return 0, false
		}
		cur = s.hi
	}
	if cur < hi && !take(def) {
		return 0, false
	}
	return v, true
}

// hints is what a managed allocation has been advised and where it was last prefetched.
type hints struct {
	readMostly, preferred, prefetched paint
	accessedBy                        map[int]*paint
}

var (
	hintMu sync.Mutex
	hintOf = map[*Alloc]*hints{}
)

func loc(typ, id int32) int64 { return int64(typ)<<32 | int64(uint32(id)) }

// managedRange resolves [p, p+n) within one of the caller's managed allocations; the
// returned offsets are within it, widened to whole pages, as the driver's hints apply.
func managedRange(p uintptr, n uint64) (*Alloc, uint64, uint64, Status) {
	a := S().Mem.Find(p)
	if n == 0 || a == nil || a.Kind != MemManaged || !InRange(a.Base, uint64(a.Size), p, n) {
		return nil, 0, 0, ErrInvalidValue
	}
	lo := uint64(p - a.Base)
	const page = 4096
	return a, lo &^ (page - 1), min((lo+n+page-1)&^(page-1), uint64(a.Size)), OK
}

// CheckLocation accepts a device ordinal or host memory.
func CheckLocation(typ, id int32) Status {
	switch typ {
	case LocDevice:
		if S().Device(int(id)) == nil {
			return ErrInvalidDevice
		}
	case LocHost, LocHostNumaCurrent:
	case LocHostNuma:
		if id != 0 {
			return ErrInvalidValue // one NUMA node in the model
		}
	default:
		return ErrInvalidValue
	}
	return OK
}

// FromDeviceID turns a device-numbered argument (CPUDeviceID: the host) into a location.
func FromDeviceID(id int32) (int32, int32) {
	if id == CPUDeviceID {
		return LocHost, 0
	}
	return LocDevice, id
}

func hintsOf(a *Alloc) *hints {
	h := hintOf[a]
	if h == nil {
		h = &hints{accessedBy: map[int]*paint{}}
		hintOf[a] = h
	}
	return h
}

// Advise records advice for [p, p+n) of the caller's managed memory.
func Advise(p uintptr, n uint64, advice, typ, id int32) Status {
	a, lo, hi, st := managedRange(p, n)
	if st != OK {
		return st
	}
	if advice < adviseSetReadMostly || advice > adviseUnsetAccessedBy {
		return ErrInvalidValue
	}
	if advice == adviseSetPreferredLocation || advice == adviseSetAccessedBy || advice == adviseUnsetAccessedBy {
		if st := CheckLocation(typ, id); st != OK {
			return st
		}
	}
	hintMu.Lock()
	defer hintMu.Unlock()
	h := hintsOf(a)
	switch advice {
	case adviseSetReadMostly, adviseUnsetReadMostly:
		h.readMostly.set(lo, hi, 1, advice == adviseUnsetReadMostly)
	case adviseSetPreferredLocation, adviseUnsetPreferredLocation:
		h.preferred.set(lo, hi, loc(typ, id), advice == adviseUnsetPreferredLocation)
	case adviseSetAccessedBy, adviseUnsetAccessedBy:
		if typ != LocDevice {
			return OK // the host always has access
		}
		pt := h.accessedBy[int(id)]
		if pt == nil {
			pt = &paint{}
			h.accessedBy[int(id)] = pt
		}
		pt.set(lo, hi, 1, advice == adviseUnsetAccessedBy)
	}
	return OK
}

// Prefetch records where [p, p+n) was last prefetched to (the caller has checked the stream).
func Prefetch(p uintptr, n uint64, typ, id int32, flags uint32) Status {
	a, lo, hi, st := managedRange(p, n)
	if st != OK {
		return st
	}
	if flags != 0 {
		return ErrInvalidValue
	}
	if st := CheckLocation(typ, id); st != OK {
		return st
	}
	hintMu.Lock()
	defer hintMu.Unlock()
	if typ == LocHostNumaCurrent {
		typ = LocHostNuma
	}
	hintsOf(a).prefetched.set(lo, hi, loc(typ, id), false)
	return OK
}

// Range attribute values.
const (
	rangeReadMostly               = 1
	rangePreferredLocation        = 2
	rangeAccessedBy               = 3
	rangeLastPrefetchLocation     = 4
	rangePreferredLocationType    = 5
	rangePreferredLocationID      = 6
	rangeLastPrefetchLocationType = 7
	rangeLastPrefetchLocationID   = 8
)

// RangeAttribute writes attribute attr of [p, p+n) into size bytes at data: what the range
// was advised, where all of it was last prefetched (the invalid device id where its pages
// disagree).
func RangeAttribute(data unsafe.Pointer, size uint64, attr int32, p uintptr, n uint64) Status {
	a, lo, hi, st := managedRange(p, n)
	if st != OK {
		return st
	}
	if data == nil || attr < rangeReadMostly || attr > rangeLastPrefetchLocationID {
		return ErrInvalidValue
	}
	if (attr == rangeAccessedBy && (size == 0 || size%4 != 0 || size > 1<<20)) || (attr != rangeAccessedBy && size != 4) {
		return ErrInvalidValue
	}
	hintMu.Lock()
	defer hintMu.Unlock()
	h := hintOf[a]
	if h == nil {
		h = &hints{accessedBy: map[int]*paint{}}
	}
	asDevice := func(v int64, ok bool) int32 {
		switch t, id := int32(v>>32), int32(uint32(v)); {
		case !ok:
			return invalidDeviceID
		case t == LocDevice:
			return id
		case t == LocHost || t == LocHostNuma:
			return CPUDeviceID
		}
		return invalidDeviceID
	}
	var out int32
	switch attr {
	case rangeReadMostly:
		v, ok := h.readMostly.uniform(lo, hi, 0)
		if ok && v == 1 {
			out = 1
		}
	case rangePreferredLocation:
		out = asDevice(h.preferred.uniform(lo, hi, loc(locInvalid, 0)))
	case rangeLastPrefetchLocation:
		out = asDevice(h.prefetched.uniform(lo, hi, loc(locInvalid, 0)))
	case rangePreferredLocationType, rangeLastPrefetchLocationType:
		pt := &h.preferred
		if attr == rangeLastPrefetchLocationType {
			pt = &h.prefetched
		}
		if v, ok := pt.uniform(lo, hi, loc(locInvalid, 0)); ok {
			out = int32(v >> 32)
		}
	case rangePreferredLocationID, rangeLastPrefetchLocationID:
		pt := &h.preferred
		if attr == rangeLastPrefetchLocationID {
			pt = &h.prefetched
		}
		out = invalidDeviceID
		if v, ok := pt.uniform(lo, hi, loc(locInvalid, 0)); ok && int32(v>>32) != locInvalid {
			out = int32(uint32(v))
		}
	case rangeAccessedBy:
		// The devices every page of the range is advised to be accessed by, in ordinal
		// order; the rest of the array cudaInvalidDeviceId.
		slots := int(size / 4)
		var devs []int
		for d := range h.accessedBy {
			devs = append(devs, d)
		}
		sort.Ints(devs)
		k := 0
		for _, d := range devs {
			if v, ok := h.accessedBy[d].uniform(lo, hi, 0); ok && v == 1 && k < slots {
				*(*int32)(unsafe.Add(data, 4*k)) = int32(d)
				k++
			}
		}
		for ; k < slots; k++ {
			*(*int32)(unsafe.Add(data, 4*k)) = invalidDeviceID
		}
		return OK
	}
	PutI32(data, out)
	return OK
}

// Attach checks a stream attachment of managed memory (flags: global 1, host 2, single 4;
// single not on a default stream): every stream of the model sees managed memory, so the
// association changes nothing it could observe.
func Attach(s *Stream, p uintptr, length uint64, flags uint32) Status {
	if flags != 1 && flags != 2 && flags != 4 {
		return ErrInvalidValue
	}
	if flags == 4 && s.Default {
		return ErrInvalidValue
	}
	a := S().Mem.Find(p)
	if a == nil || a.Kind != MemManaged || a.Base != p || (length != 0 && length != uint64(a.Size)) {
		return ErrInvalidValue
	}
	return OK
}

// CheckManaged reports whether [p, p+n) lies in one of the caller's managed allocations.
func CheckManaged(p uintptr, n uint64) Status {
	_, _, _, st := managedRange(p, n)
	return st
}

// Discard forgets where [p, p+n) (the caller's managed memory) was prefetched: its contents
// are undefined from now on, which the model's unchanged bytes satisfy.
func Discard(p uintptr, n uint64) Status {
	a, lo, hi, st := managedRange(p, n)
	if st != OK {
		return st
	}
	hintMu.Lock()
	defer hintMu.Unlock()
	hintsOf(a).prefetched.set(lo, hi, 0, true)
	return OK
}

// ---- batches (cuMemPrefetchBatchAsync, cuMemDiscardBatchAsync,
// cuMemDiscardAndPrefetchBatchAsync and the runtime's forms) ----

// maxBatch bounds a batch's ranges and locations: the arrays are read from the caller's
// memory, and no program names more ranges than a device has pages to move.
const maxBatch = 1 << 16

// batch is a checked batch of managed ranges and where to prefetch them: location k serves
// ranges idxs[k] .. idxs[k+1]-1 (the last one to the end), the first starting at range 0.
type batch struct {
	ps   []uintptr
	ns   []uint64
	locs [][2]int32
	idxs []uint64
}

// readBatch checks every range (the caller's managed memory) and, for a prefetch, every
// location and index before anything is recorded; flags must be 0.
func readBatch(dptrs, sizes unsafe.Pointer, count uint64, locs, idxs unsafe.Pointer, numLocs uint64, flags uint64, prefetch bool) (batch, Status) {
	var b batch
	if dptrs == nil || sizes == nil || count == 0 || count > maxBatch || flags != 0 {
		return b, ErrInvalidValue
	}
	b.ps = unsafe.Slice((*uintptr)(dptrs), count)
	b.ns = unsafe.Slice((*uint64)(sizes), count)
	for i := range b.ps {
		if st := CheckManaged(b.ps[i], b.ns[i]); st != OK {
			return b, st
		}
	}
	if !prefetch {
		return b, OK
	}
	if locs == nil || idxs == nil || numLocs == 0 || numLocs > count {
		return b, ErrInvalidValue
	}
	b.idxs = unsafe.Slice((*uint64)(idxs), numLocs)
	for k := range b.idxs {
		l := unsafe.Add(locs, 8*k)
		typ, id := *(*int32)(l), *(*int32)(unsafe.Add(l, 4))
		if st := CheckLocation(typ, id); st != OK {
			return b, st
		}
		b.locs = append(b.locs, [2]int32{typ, id})
		if (k == 0 && b.idxs[0] != 0) || (k > 0 && b.idxs[k] <= b.idxs[k-1]) || b.idxs[k] >= count {
			return b, ErrInvalidValue
		}
	}
	return b, OK
}

// prefetch records each range's destination.
func (b batch) prefetch() Status {
	for k, l := range b.locs {
		end := uint64(len(b.ps))
		if k+1 < len(b.idxs) {
			end = b.idxs[k+1]
		}
		for i := b.idxs[k]; i < end; i++ {
			if st := Prefetch(b.ps[i], b.ns[i], l[0], l[1], 0); st != OK {
				return st
			}
		}
	}
	return OK
}

func (b batch) discard() {
	for i := range b.ps {
		Discard(b.ps[i], b.ns[i])
	}
}

// PrefetchBatch prefetches count managed ranges, each to the location whose index range
// holds it; all are checked before any is recorded.
func PrefetchBatch(dptrs, sizes unsafe.Pointer, count uint64, locs, idxs unsafe.Pointer, numLocs, flags uint64) Status {
	b, st := readBatch(dptrs, sizes, count, locs, idxs, numLocs, flags, true)
	if st != OK {
		return st
	}
	return b.prefetch()
}

// DiscardBatch discards count managed ranges: their contents become undefined and they
// have been prefetched nowhere (the model keeps the bytes: undefined allows that).
func DiscardBatch(dptrs, sizes unsafe.Pointer, count, flags uint64) Status {
	b, st := readBatch(dptrs, sizes, count, nil, nil, 0, flags, false)
	if st != OK {
		return st
	}
	b.discard()
	return OK
}

// DiscardAndPrefetchBatch is a discard, then the prefetch of each range to its location.
func DiscardAndPrefetchBatch(dptrs, sizes unsafe.Pointer, count uint64, locs, idxs unsafe.Pointer, numLocs, flags uint64) Status {
	b, st := readBatch(dptrs, sizes, count, locs, idxs, numLocs, flags, true)
	if st != OK {
		return st
	}
	b.discard()
	return b.prefetch()
}
