package local

/*
#include <stddef.h>
#include "cctx.h"
int cu_funcattr(int *v, int attr, void *f);
int cu_occupancy(struct cctx *c, int *n, void *f, int block, size_t shared, unsigned flags, int max_dyn);
*/
import "C"

import (
	"unsafe"

	"vgpu/shim"
)

// KernelAttributes reads CUfunction_attribute 0..shim.KernelAttrCount-1 from the driver.
func (b *Backend) KernelAttributes(fn uintptr) ([shim.KernelAttrCount]int32, shim.Status) {
	var out [shim.KernelAttrCount]int32
	cc, ok := b.caller().function(fn)
	if !ok {
		return out, shim.ErrInvalidDeviceFunction
	}
	if st := bind(cc); st != shim.OK {
		return out, st
	}
	for a := range out {
		var v C.int
		if r := C.cu_funcattr(&v, C.int(a), unsafe.Pointer(fn)); r != 0 {
			return out, shim.ErrInvalidDeviceFunction
		}
		out[a] = int32(v)
	}
	return out, shim.OK
}

// Occupancy asks the driver's occupancy calculator.
func (b *Backend) Occupancy(fn uintptr, block int32, shared uint64, flags uint32, maxDynShared int32) (int32, shim.Status) {
	cc, ok := b.caller().function(fn)
	if !ok {
		return 0, shim.ErrInvalidDeviceFunction
	}
	if st := bind(cc); st != shim.OK {
		return 0, st
	}
	var n C.int
	if r := C.cu_occupancy(cc, &n, unsafe.Pointer(fn), C.int(block), C.size_t(shared), C.uint(flags), C.int(maxDynShared)); r != 0 {
		return 0, shim.ErrInvalidValue
	}
	return int32(n), shim.OK
}
