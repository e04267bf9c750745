package local

/*
#include <stddef.h>
#include <stdint.h>
int cu_hostreg(uintptr_t p, size_t n);
int cu_hostunreg(uintptr_t p);
*/
import "C"

import (
	"sync"

	"vgpu/shim"
)

// pinned are the host ranges registered with the driver (clients' shared-memory windows).
var pinned struct {
	mu     sync.Mutex
	ranges map[uintptr]uint64
}

// isPinned reports whether [p, p+n) lies in a registered range.
func (b *Backend) isPinned(p uintptr, n uint64) bool {
	pinned.mu.Lock()
	defer pinned.mu.Unlock()
	for base, size := range pinned.ranges {
		if shim.InRange(base, size, p, n) {
			return true
		}
	}
	return false
}

// RegisterHost pins host memory with the driver (cuMemHostRegister).
func (b *Backend) RegisterHost(p uintptr, n uint64) shim.Status {
	b.bind()
	if r := C.cu_hostreg(C.uintptr_t(p), C.size_t(n)); r != 0 {
		shim.Log().Infow("cuMemHostRegister failed; copies through shared memory stay pageable", "result", int(r))
		return shim.ErrNotSupported
	}
	pinned.mu.Lock()
	if pinned.ranges == nil {
		pinned.ranges = map[uintptr]uint64{}
	}
	pinned.ranges[p] = n
	pinned.mu.Unlock()
	return shim.OK
}

// UnregisterHost unpins it.
func (b *Backend) UnregisterHost(p uintptr) {
	b.bind()
	C.cu_hostunreg(C.uintptr_t(p))
	pinned.mu.Lock()
	delete(pinned.ranges, p)
	pinned.mu.Unlock()
}
