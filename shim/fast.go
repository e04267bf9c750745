package shim

/*
#include <stdint.h>
#include <stddef.h>
void vgpu_fast_publish_attrs(int dev, const int32_t *attrs, int n);
void vgpu_fast_enable(int count, int on);
void vgpu_fast_driver_ready(void);
void vgpu_fast_publish_props(int major, int dev, const void *p, size_t n);
*/
import "C"

import "unsafe"

// publishFast hands the static device facts to the C fast path (shim/fast.c).
func publishFast(s *State) {
	for i, d := range s.Visible {
		C.vgpu_fast_publish_attrs(C.int(i), (*C.int32_t)(unsafe.Pointer(&d.Attrs[0])), C.int(AttrMax))
	}
	// Tracing must see every call, so it keeps the fast path off.
	C.vgpu_fast_enable(C.int(len(s.Visible)), b2c(s.Err == nil && !s.Config.Trace))
}

// PublishProps lets the fast path answer cudaGetDeviceProperties for ordinal dev.
func PublishProps(major, dev int, b []byte) {
	C.vgpu_fast_publish_props(C.int(major), C.int(dev), unsafe.Pointer(&b[0]), C.size_t(len(b)))
}

// DisableFast sends every query back through Go: a sticky error must answer them.
func DisableFast() { C.vgpu_fast_enable(0, 0) }

func fastDriverReady() { C.vgpu_fast_driver_ready() }

func b2c(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
