package shim

import "sync"

// Kind tags a handle so that, say, an event passed where a stream belongs is caught.
type Kind uint8

// Handle kinds. Values are part of the handle, so keep them stable.
const (
	KindContext Kind = iota + 1
	KindStream
	KindEvent
	KindGraph
	KindGraphExec
	KindGraphNode
	KindModule
	KindFunction
	KindFatBinary
	KindBlas
	KindNVMLDevice
	KindMemHandle
	KindEventSet
	kindCount
)

// Handles look like user-space pointers (programs print and compare them) but sit in a range
// mmap never hands out on x86-64, so they cannot alias real memory: 0x7e5a_KK_IIIIIIII.
const handleBase = uintptr(0x7e5a) << 40

type handleTable struct {
	mu     sync.RWMutex
	next   [kindCount]uintptr
	items  map[uintptr]any
	owners map[uintptr]uint64 // handles a server's client created, by client
}

var tables = &handleTable{items: map[uintptr]any{}, owners: map[uintptr]uint64{}}

func (t *handleTable) reset() {
	t.mu.Lock()
	t.items, t.owners = map[uintptr]any{}, map[uintptr]uint64{}
	t.next = [kindCount]uintptr{}
	t.mu.Unlock()
}

// NewHandle registers obj under a fresh handle of kind k. Inside `vgpu serve` the handle
// belongs to the client whose call created it.
func NewHandle(k Kind, obj any) uintptr { return newHandle(k, obj, Thread().Owner) }

// NewSharedHandle registers obj under a handle no client owns: a device's primary context
// outlives whichever client first asked for it.
func NewSharedHandle(k Kind, obj any) uintptr { return newHandle(k, obj, 0) }

func newHandle(k Kind, obj any, owner uint64) uintptr {
	t := tables
	t.mu.Lock()
	t.next[k]++
	h := handleBase | uintptr(k)<<32 | t.next[k]
	t.items[h] = obj
	if owner != 0 {
		t.owners[h] = owner
	}
	t.mu.Unlock()
	return h
}

// Closer is an object that holds something outside the handle table (a module loaded
// into the driver): ReleaseOwned closes it.
type Closer interface{ Close() }

// ReleaseOwned forgets every handle a disconnected client created, closing the objects
// that hold resources; it returns how many.
func ReleaseOwned(owner uint64) int {
	t := tables
	t.mu.Lock()
	var closers []Closer
	n := 0
	for h, o := range t.owners {
		if o == owner {
			if c, ok := t.items[h].(Closer); ok {
				closers = append(closers, c)
			}
			delete(t.items, h)
			delete(t.owners, h)
			n++
		}
	}
	t.mu.Unlock()
	for _, c := range closers { // outside the lock: closing may call into a backend
		c.Close()
	}
	EndClient(owner) // then the backend's own state for the client (its CUDA contexts)
	return n
}

// Lookup returns the object behind h if h is a live handle of kind k.
func Lookup[T any](k Kind, h uintptr) (T, bool) {
	var zero T
	if h&^(uintptr(0xff)<<32|0xffffffff) != handleBase || Kind(h>>32&0xff) != k {
		return zero, false
	}
	t := tables
	t.mu.RLock()
	obj, ok := t.items[h]
	owner, owned := t.owners[h]
	t.mu.RUnlock()
	if !ok || (owned && owner != Thread().Owner) { // a server's clients see only their own handles
		return zero, false
	}
	v, ok := obj.(T)
	return v, ok
}

// Release forgets h; it reports false for an unknown or already released handle.
func Release(k Kind, h uintptr) bool {
	if Kind(h>>32&0xff) != k {
		return false
	}
	t := tables
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.items[h]; !ok {
		return false
	}
	delete(t.items, h)
	delete(t.owners, h)
	return true
}

// Each calls fn for every live handle of kind k.
func Each[T any](k Kind, fn func(h uintptr, v T)) {
	t := tables
	t.mu.RLock()
	var hs []uintptr
	var vs []T
	for h, obj := range t.items {
		if Kind(h>>32&0xff) == k {
			if v, ok := obj.(T); ok {
				hs, vs = append(hs, h), append(vs, v)
			}
		}
	}
	t.mu.RUnlock()
	for i := range hs {
		fn(hs[i], vs[i])
	}
}
