package shim

import (
	crand "crypto/rand"
	"math/rand/v2"
	"sync"
)

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
	KindLibrary // a driver-API CUlibrary (cuda/library.go)
	KindArray   // a CUDA array (cudart/array.go)
	KindTexture // a texture object (cudart/texture.go)
	KindSurface // a surface object
	// User objects and conditional handles of graphs (shim/graphnodes.go).
	KindUserObject
	KindConditional
	KindMipmap // a mipmapped array (shim/array.go)
	KindTexRef // a driver texture reference (cuda/texref.go)
	KindExtMem // an imported external memory object (shim/extmem.go)
	kindCount
)

// Handles look like user-space pointers (programs print and compare them) but sit in a range
// mmap never hands out on x86-64, so they cannot alias real memory: 0x7e5a_KK_RRRRRRRR, where
// RRRRRRRR is random. A server's client cannot guess another client's handles, and a guess
// that hits one is refused anyway (see owner).
const handleBase = uintptr(0x7e5a) << 40

// entry is a live handle's object and the client that created it.
type entry struct {
	obj   any
	owner uint64 // the server's client whose call created it (0 in a program's own process)
}

type handleTable struct {
	mu    sync.RWMutex
	rng   *rand.ChaCha8 // seeded from crypto/rand once per table
	items map[uintptr]entry
	// Handles whose values a GPU backend's driver chose (NewHandleAt), by kind: they have no
	// handle's shape, and two kinds' values may coincide.
	at map[kindValue]entry
}

type kindValue struct {
	k Kind
	h uintptr
}

var tables = newHandleTable()

func newHandleTable() *handleTable {
	var seed [32]byte
	if _, err := crand.Read(seed[:]); err != nil {
		panic("vgpu: no entropy for handle values: " + err.Error())
	}
	return &handleTable{rng: rand.NewChaCha8(seed), items: map[uintptr]entry{}, at: map[kindValue]entry{}}
}

func (t *handleTable) reset() {
	t.mu.Lock()
	t.items, t.at = map[uintptr]entry{}, map[kindValue]entry{}
	t.mu.Unlock()
}

// CallerOwner is the server client whose call the calling thread runs (0 in a program's own
// process). Every lookup of a handle or an address resolves within it. Only a server's
// threads have one (EnterClient), so a program's own process, where every call is a lookup
// or several, answers 0 without finding its thread.
func CallerOwner() uint64 {
	if !serving.Load() {
		return 0
	}
	return Thread().Owner
}

// NewHandle registers obj under a fresh handle of kind k. It belongs to the caller: inside
// `vgpu serve`, to the client whose call created it, and no other client can resolve it.
func NewHandle(k Kind, obj any) uintptr {
	owner := CallerOwner()
	t := tables
	t.mu.Lock()
	var h uintptr
	for {
		// 32 random bits, never 0 and never a live handle's.
		h = handleBase | uintptr(k)<<32 | uintptr(uint32(t.rng.Uint64()))
		if _, taken := t.items[h]; !taken && h&0xffffffff != 0 {
			break
		}
	}
	t.items[h] = entry{obj, owner}
	t.mu.Unlock()
	return h
}

// NewHandleAt registers obj under the value h a GPU backend's driver chose for an object of
// kind k (a texture object's, which a kernel reads from its parameters), owned as NewHandle's
// are; false when h is 0, has a handle's shape, or is live.
func NewHandleAt(k Kind, h uintptr, obj any) bool {
	owner := CallerOwner()
	t := tables
	t.mu.Lock()
	defer t.mu.Unlock()
	key := kindValue{k, h}
	if _, taken := t.at[key]; taken || h == 0 || wellFormed(k, h) {
		return false
	}
	t.at[key] = entry{obj, owner}
	return true
}

// Closer is an object that holds something outside the handle table (a module loaded
// into the driver): ReleaseOwned closes it.
type Closer interface{ Close() }

// ReleaseOwned forgets every handle a disconnected client created, closing the objects
// that hold resources; it returns how many. It sees every client's handles: only the
// server calls it, for the client that went.
func ReleaseOwned(owner uint64) int {
	t := tables
	t.mu.Lock()
	var closers []Closer
	n := 0
	for h, e := range t.items {
		if e.owner == owner {
			if c, ok := e.obj.(Closer); ok {
				closers = append(closers, c)
			}
			delete(t.items, h)
			n++
		}
	}
	for key, e := range t.at {
		if e.owner == owner {
			if c, ok := e.obj.(Closer); ok {
				closers = append(closers, c)
			}
			delete(t.at, key)
			n++
		}
	}
	t.mu.Unlock()
	for _, c := range closers { // outside the lock: closing may call into a backend
		c.Close()
	}
	if owner != 0 {
		forgetCtxIDs(owner)
	}
	EndClient(owner) // then the backend's own state for the client (its CUDA contexts)
	return n
}

// wellFormed reports whether h has a handle's shape for kind k.
func wellFormed(k Kind, h uintptr) bool {
	return h&^(uintptr(0xff)<<32|0xffffffff) == handleBase && Kind(h>>32&0xff) == k
}

// resolve is the one owner-aware resolution every handle API goes through: it finds h only
// among owner's handles. Another client's handle is exactly as unknown as a wild value.
// The caller holds t.mu.
func (t *handleTable) resolve(k Kind, h uintptr, owner uint64) (any, bool) {
	e, ok := t.items[h]
	if !wellFormed(k, h) {
		e, ok = t.at[kindValue{k, h}]
	}
	if !ok || e.owner != owner {
		return nil, false
	}
	return e.obj, true
}

// Lookup returns the object behind h if h is a live handle of kind k that the caller owns.
func Lookup[T any](k Kind, h uintptr) (T, bool) { return lookupOwned[T](CallerOwner(), k, h) }

// LookupAs is Lookup for a caller that holds its thread's state already (ts, Thread()'s; nil:
// look it up): a server session, whose thread serves one client, on its per-launch path.
func LookupAs[T any](ts *ThreadState, k Kind, h uintptr) (T, bool) {
	if ts == nil {
		return Lookup[T](k, h)
	}
	return lookupOwned[T](ts.callerOwner(), k, h)
}

// callerOwner is CallerOwner for the thread whose state ts is.
func (ts *ThreadState) callerOwner() uint64 {
	if !serving.Load() {
		return 0
	}
	return ts.Owner
}

func lookupOwned[T any](owner uint64, k Kind, h uintptr) (T, bool) {
	var zero T
	t := tables
	t.mu.RLock()
	obj, ok := t.resolve(k, h, owner)
	t.mu.RUnlock()
	if !ok {
		return zero, false
	}
	v, ok := obj.(T)
	return v, ok
}

// Release forgets h; it reports false for an unknown, already released or another
// client's handle.
func Release(k Kind, h uintptr) bool {
	owner := CallerOwner()
	t := tables
	t.mu.Lock()
	obj, ok := t.resolve(k, h, owner)
	if ok {
		if wellFormed(k, h) {
			delete(t.items, h)
		} else {
			delete(t.at, kindValue{k, h})
		}
	}
	t.mu.Unlock()
	if s, isStream := obj.(*Stream); ok && isStream { // what the backend holds for it goes with it
		s.Close()
	}
	return ok
}

// Each calls fn for every live handle of kind k that the caller owns.
func Each[T any](k Kind, fn func(h uintptr, v T)) {
	owner := CallerOwner()
	t := tables
	t.mu.RLock()
	var hs []uintptr
	var vs []T
	for h := range t.items {
		if obj, ok := t.resolve(k, h, owner); ok {
			if v, ok := obj.(T); ok {
				hs, vs = append(hs, h), append(vs, v)
			}
		}
	}
	for key, e := range t.at {
		if v, ok := e.obj.(T); ok && key.k == k && e.owner == owner {
			hs, vs = append(hs, key.h), append(vs, v)
		}
	}
	t.mu.RUnlock()
	for i := range hs {
		fn(hs[i], vs[i])
	}
}
