package local

/*
#include <stddef.h>
#include <stdint.h>
int cu_hostreg(uintptr_t p, size_t n, unsigned flags);
int cu_hostunreg(uintptr_t p);
int cu_hostdevptr(unsigned long long *d, uintptr_t p);
*/
import "C"

import (
	"vgpu/shim"
)

// isPinned reports whether [p, p+n) lies in a host range registered for c (its shared-memory
// windows).
func (c *client) isPinned(p uintptr, n uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for base, size := range c.pinned {
		if shim.InRange(base, size, p, n) {
			return true
		}
	}
	return false
}

// cuMemHostRegister's flags.
const (
	hostRegPortable  = 0x1
	hostRegDeviceMap = 0x2
)

// RegisterHost pins host memory with the driver (cuMemHostRegister), from the caller's
// context: the registration is portable (every context sees it pinned) and is undone with
// the client, before its context goes.
func (b *Backend) RegisterHost(p uintptr, n uint64) shim.Status {
	return b.register(p, n, hostRegPortable)
}

func (b *Backend) register(p uintptr, n uint64, flags uint) shim.Status {
	c := b.caller()
	if _, st := b.homeCtx(c); st != shim.OK {
		return st
	}
	if r := C.cu_hostreg(C.uintptr_t(p), C.size_t(n), C.uint(flags)); r != 0 {
		shim.Log().Infow("cuMemHostRegister failed; copies through shared memory stay pageable", "result", int(r))
		return shim.ErrNotSupported
	}
	c.mu.Lock()
	if c.pinned != nil {
		c.pinned[p] = n
	}
	c.mu.Unlock()
	return shim.OK
}

// MapHost registers a client's shared pinned memory portable and device-mapped, and returns
// the device address the driver gives for p (cuMemHostGetDevicePointer): the address the
// client's program gets for its kernels, which under unified addressing is p itself.
func (b *Backend) MapHost(p uintptr, n uint64) (uintptr, shim.Status) {
	if st := b.register(p, n, hostRegPortable|hostRegDeviceMap); st != shim.OK {
		return 0, st
	}
	var d C.ulonglong
	if r := C.cu_hostdevptr(&d, C.uintptr_t(p)); r != 0 || d == 0 {
		shim.Log().Infow("cuMemHostGetDevicePointer failed on memory just registered", "result", int(r))
		b.UnregisterHost(p)
		return 0, shim.ErrNotSupported
	}
	return uintptr(d), shim.OK
}

// UnregisterHost unpins one of the caller's registered ranges.
func (b *Backend) UnregisterHost(p uintptr) {
	c := b.existing(shim.Thread().Owner)
	if c == nil {
		return
	}
	c.mu.Lock()
	_, ok := c.pinned[p]
	delete(c.pinned, p)
	home := c.ctxs[c.home]
	c.mu.Unlock()
	if ok && home != nil && bind(home) == shim.OK {
		C.cu_hostunreg(C.uintptr_t(p))
	}
}
