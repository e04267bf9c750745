package shim

import "sync"

// Context is a driver context. Each device has one primary context, which the runtime uses;
// cuCtxCreate makes others.
type Context struct {
	Handle  uintptr
	Dev     *Device
	Primary bool
	ID      uint64
	owner   uint64 // the server's client it belongs to

	mu     sync.Mutex
	Flags  uint32
	refs   int32
	active bool
	limits map[int32]uint64 // cudaDeviceSetLimit's values here; unset: the runtime's defaults
	peers  map[*Device]bool // devices whose memory this context may access (cudaDeviceEnablePeerAccess)
}

// SetPeerAccess records whether c may access peer's memory, and reports whether that
// changed anything: peer access belongs to a context, so one server client's enable or
// disable is never another's.
func (c *Context) SetPeerAccess(peer *Device, on bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.peers[peer] == on {
		return false
	}
	if c.peers == nil {
		c.peers = map[*Device]bool{}
	}
	if on {
		c.peers[peer] = true
	} else {
		delete(c.peers, peer)
	}
	return true
}

// Limit is the value the caller set for limit in c, if any: each context's own, so a
// server's client never sees or changes another's.
func (c *Context) Limit(limit int32) (uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.limits[limit]
	return v, ok
}

// SetLimit sets limit in c.
func (c *Context) SetLimit(limit int32, v uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.limits == nil {
		c.limits = map[int32]uint64{}
	}
	c.limits[limit] = v
}

var (
	primaries sync.Map              // primaryKey -> *Context
	ctxSeq    = map[uint64]uint64{} // owner -> the last context id it was given
	ctxSeqMu  sync.Mutex
)

// primaryKey names a primary context: each of a server's clients has its own for each device,
// as each process has under NVIDIA's driver, so retaining, releasing, resetting or setting
// the flags of one never touches another client's.
type primaryKey struct {
	owner uint64
	dev   *Device
}

// nextCtxID numbers the caller's contexts from 1: one sequence for every server client
// would let a client count the contexts others made between two of its own.
func nextCtxID() uint64 {
	owner := CallerOwner()
	ctxSeqMu.Lock()
	defer ctxSeqMu.Unlock()
	ctxSeq[owner]++
	return ctxSeq[owner]
}

// forgetCtxIDs drops a departed client's sequence.
func forgetCtxIDs(owner uint64) {
	ctxSeqMu.Lock()
	delete(ctxSeq, owner)
	ctxSeqMu.Unlock()
}

// PrimaryContext returns the caller's primary context on d, creating its handle on first use.
func PrimaryContext(d *Device) *Context {
	key := primaryKey{CallerOwner(), d}
	if v, ok := primaries.Load(key); ok {
		return v.(*Context)
	}
	c := &Context{Dev: d, Primary: true, owner: key.owner}
	v, loaded := primaries.LoadOrStore(key, c)
	if !loaded {
		c.ID = nextCtxID()
		c.Handle = NewHandle(KindContext, c)
	}
	return v.(*Context)
}

// Close forgets a disconnected client's primary context (ReleaseOwned calls it).
func (c *Context) Close() {
	if c.Primary {
		primaries.CompareAndDelete(primaryKey{c.owner, c.Dev}, c)
	}
}

// NewContext creates a non-primary context on d.
func NewContext(d *Device, flags uint32) *Context {
	c := &Context{Dev: d, Flags: flags, refs: 1, active: true, ID: nextCtxID()}
	c.Handle = NewHandle(KindContext, c)
	return c
}

// Retain counts one more user of a primary context and activates it.
func (c *Context) Retain() {
	c.mu.Lock()
	c.refs++
	c.active = true
	c.mu.Unlock()
}

// ReleasePrimary drops one user; false when there was none.
func (c *Context) ReleasePrimary() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refs <= 0 {
		return false
	}
	c.refs--
	if c.refs == 0 {
		c.active = false
	}
	return true
}

// Activate marks a primary context in use without a reference (the runtime's implicit use).
func (c *Context) Activate() {
	c.mu.Lock()
	c.active = true
	c.mu.Unlock()
}

// State returns the flags and whether the context is active.
func (c *Context) State() (uint32, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Flags, c.active
}

// SetFlags sets the scheduling flags of a primary context.
func (c *Context) SetFlags(f uint32) {
	c.mu.Lock()
	c.Flags = f
	c.mu.Unlock()
}

// ResetDevice destroys what lives in the caller's primary context on d: its allocations are
// freed and it becomes inactive, as cudaDeviceReset and cuDevicePrimaryCtxReset do. Other
// clients of a server keep theirs (Mem.All lists the caller's ranges only).
func ResetDevice(d *Device) {
	for _, a := range S().Mem.All() {
		if a.Dev != d {
			continue
		}
		switch a.Kind {
		case MemDevice, MemManaged, MemArray: // an array's handle then resolves to nothing usable
			freeAlloc(a)
		case MemIPC: // another client's memory: only the mapping goes
			ipcRevokeAlloc(a)
			S().Mem.Remove(a)
		case MemGlobal: // the reset context took the module's variables with it
			S().Mem.Remove(a)
		}
	}
	c := PrimaryContext(d)
	c.mu.Lock()
	c.active, c.refs = false, 0
	c.mu.Unlock()
}

// CurrentContext returns the context on top of the calling thread's stack, or nil.
func CurrentContext() *Context {
	ts := Thread()
	for len(ts.Ctx) > 0 {
		if c, ok := Lookup[*Context](KindContext, ts.Ctx[len(ts.Ctx)-1]); ok {
			return c
		}
		ts.Ctx = ts.Ctx[:len(ts.Ctx)-1] // destroyed elsewhere
	}
	return nil
}
