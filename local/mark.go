package local

/*
#include "cctx.h"
int cu_mark(struct cctx *c, void *st, void **ev);
int cu_mark_query(struct cctx *c, void *ev);
int cu_mark_free(struct cctx *c, void *ev);
int cu_busy(struct cctx *c, void *st);
*/
import "C"

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"vgpu/shim"
)

// Event and stream queries on the GPU (shim.Marker). A driver event recorded on the driver
// stream of the stream the program records an event on (stream.go) completes exactly when
// the work before it there does: cudaEventQuery asks the driver about that event.
// cudaStreamQuery asks about the stream's own driver stream (StreamBusy); Busy, about the
// contexts' NULL streams.

var (
	marks    sync.Map // id -> mark
	markSeed atomic.Uintptr
)

type mark struct {
	cc *C.struct_cctx
	ev unsafe.Pointer
}

// Mark records a driver event after the caller's work so far on device dev.
func (b *Backend) Mark(dev int) (uintptr, shim.Status) {
	c := b.caller()
	cc, st := b.ctxFor(c, dev)
	if st != shim.OK {
		return 0, st
	}
	rs, st := c.streamIn(cc)
	if st != shim.OK {
		return 0, st
	}
	return markIn(cc, rs)
}

func markIn(cc *C.struct_cctx, rs unsafe.Pointer) (uintptr, shim.Status) {
	var ev unsafe.Pointer
	if r := C.cu_mark(cc, rs, &ev); r != 0 {
		return 0, status(r)
	}
	id := markSeed.Add(1)
	marks.Store(id, mark{cc, ev})
	return id, shim.OK
}

// Reached asks the driver whether the work before the mark is done.
func (b *Backend) Reached(id uintptr) shim.Status {
	v, ok := marks.Load(id)
	if !ok {
		return shim.OK
	}
	m := v.(mark)
	return queryStatus(C.cu_mark_query(m.cc, m.ev))
}

// Unmark destroys the mark's driver event.
func (b *Backend) Unmark(id uintptr) {
	if v, ok := marks.LoadAndDelete(id); ok {
		m := v.(mark)
		C.cu_mark_free(m.cc, m.ev)
	}
}

// Busy is ErrNotReady while any of the caller's work, in any of its contexts, still runs.
func (b *Backend) Busy() shim.Status {
	c := b.caller()
	ccs := c.contexts()
	return busyIn(ccs)
}

func busyIn(ccs []*C.struct_cctx) shim.Status {
	for _, cc := range ccs {
		if st := queryStatus(C.cu_busy(cc, nil)); st != shim.OK {
			return st
		}
	}
	return shim.OK
}

// queryStatus maps a driver query's result: 600 (CUDA_ERROR_NOT_READY) is not ready, a
// fault is what the work ran into.
func queryStatus(r C.int) shim.Status {
	if r == 600 {
		return shim.ErrNotReady
	}
	if r == 0 {
		return shim.OK
	}
	return launchStatus(r)
}

var _ shim.Marker = (*Backend)(nil)
