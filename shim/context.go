package shim

import "sync"

// Context is a driver context. Each device has one primary context, which the runtime uses;
// cuCtxCreate makes others.
type Context struct {
	Handle  uintptr
	Dev     *Device
	Primary bool
	ID      uint64

	mu     sync.Mutex
	Flags  uint32
	refs   int32
	active bool
}

var (
	primaries sync.Map // *Device -> *Context
	ctxSeq    uint64
	ctxSeqMu  sync.Mutex
)

func nextCtxID() uint64 {
	ctxSeqMu.Lock()
	defer ctxSeqMu.Unlock()
	ctxSeq++
	return ctxSeq
}

// PrimaryContext returns d's primary context, creating its handle on first use.
func PrimaryContext(d *Device) *Context {
	if v, ok := primaries.Load(d); ok {
		return v.(*Context)
	}
	c := &Context{Dev: d, Primary: true}
	v, loaded := primaries.LoadOrStore(d, c)
	if !loaded {
		c.ID = nextCtxID()
		c.Handle = NewSharedHandle(KindContext, c)
	}
	return v.(*Context)
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

// ResetDevice destroys what lives in d's primary context: its allocations are freed and it
// becomes inactive, as cudaDeviceReset and cuDevicePrimaryCtxReset do.
func ResetDevice(d *Device) {
	for _, a := range S().Mem.All() {
		if a.Dev == d && (a.Kind == MemDevice || a.Kind == MemManaged) {
			FreeDevice(a.Base)
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
