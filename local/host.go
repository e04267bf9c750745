package local

/*
#include <stddef.h>
#include <stdint.h>
int cu_hostreg(uintptr_t p, size_t n);
int cu_hostunreg(uintptr_t p);
*/
import "C"

import "vgpu/shim"

// RegisterHost pins host memory with the driver (cuMemHostRegister).
func (b *Backend) RegisterHost(p uintptr, n uint64) shim.Status {
	b.bind()
	if r := C.cu_hostreg(C.uintptr_t(p), C.size_t(n)); r != 0 {
		shim.Log().Infow("cuMemHostRegister failed; copies through shared memory stay pageable", "result", int(r))
		return shim.ErrNotSupported
	}
	return shim.OK
}

// UnregisterHost unpins it.
func (b *Backend) UnregisterHost(p uintptr) {
	b.bind()
	C.cu_hostunreg(C.uintptr_t(p))
}
