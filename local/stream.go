package local

/*
#include "cctx.h"
int cu_stream_new(struct cctx *c, void **st, unsigned flags, int prio);
int cu_stream_free(struct cctx *c, void *st);
int cu_stream_sync(struct cctx *c, void *st);
int cu_stream_wait(struct cctx *c, void *st, void *ev);
int cu_busy(struct cctx *c, void *st);
*/
import "C"

import (
	"unsafe"

	"vgpu/shim"
)

// Streams (shim.StreamBackend). Each of a client's streams other than the legacy stream runs
// on a driver stream of its own in the context its work runs in, made at its first work and
// destroyed with the stream or the client, so that one stream's work does not wait for
// another's and a stream's query and synchronisation are about its own work, as on a real
// GPU. The legacy stream is the context's NULL stream.
//
// Every driver stream is made blocking (flags 0), non-blocking model streams included: the
// remote client's uploads (OpPut, OpPutShm, OpPutHost) name no stream and run on the legacy
// stream, and its implicit synchronisation with blocking streams is what keeps them in order
// with the work of the stream the program meant (downloads on a program's stream carry it:
// server.inStreamOrder). A non-blocking stream therefore still waits for legacy-stream work
// here, and legacy-stream work for it.

// streamKey names one model stream's driver stream in one of its client's contexts.
type streamKey struct {
	s  *shim.Stream
	cc *C.struct_cctx
}

// streamIn is the driver stream the calling thread's current operation goes to in cc: the
// capturing stream while a graph is recorded there, the NULL stream for the legacy stream
// or when the shim named none, else the issuing stream's own (made now at its first use).
func (c *client) streamIn(cc *C.struct_cctx) (unsafe.Pointer, shim.Status) {
	if cc.stream != nil {
		return cc.stream, shim.OK
	}
	return c.streamOf(cc, shim.Thread().Issuing)
}

// streamOf is streamIn for work issued on s (the thread's Issuing stream).
func (c *client) streamOf(cc *C.struct_cctx, s *shim.Stream) (unsafe.Pointer, shim.Status) {
	if cc.stream != nil {
		return cc.stream, shim.OK
	}
	if s == nil || s.Default {
		return nil, shim.OK
	}
	return c.realStream(s, cc)
}

// realStream is s's driver stream in cc, made at its first use.
func (c *client) realStream(s *shim.Stream, cc *C.struct_cctx) (unsafe.Pointer, shim.Status) {
	k := streamKey{s, cc}
	if v, ok := c.streams.Load(k); ok {
		return v.(unsafe.Pointer), shim.OK
	}
	var st unsafe.Pointer
	r := C.cu_stream_new(cc, &st, 0, C.int(s.Priority))
	if r == 1 && s.Priority != 0 { // a priority this driver does not take: the default one
		r = C.cu_stream_new(cc, &st, 0, 0)
	}
	if r != 0 {
		return nil, status(r)
	}
	c.streams.Store(k, st)
	return st, shim.OK
}

// each calls fn for each driver stream s has (in each context it issued work in).
func (c *client) each(s *shim.Stream, fn func(cc *C.struct_cctx, st unsafe.Pointer) bool) {
	c.streams.Range(func(k, v any) bool {
		if key := k.(streamKey); key.s == s || s == nil {
			return fn(key.cc, v.(unsafe.Pointer))
		}
		return true
	})
}

// SyncStream waits for s's work: its driver streams' (the legacy stream: all of the
// caller's work, as Wait).
func (b *Backend) SyncStream(s *shim.Stream) shim.Status {
	if s.Default {
		return b.Wait()
	}
	c := b.caller()
	if c.nullDownload.Swap(false) {
		if st := b.syncNull(c); st != shim.OK {
			return st
		}
	}
	st := shim.OK
	c.each(s, func(cc *C.struct_cctx, rs unsafe.Pointer) bool {
		if r := C.cu_stream_sync(cc, rs); r != 0 {
			st = launchStatus(r)
		}
		return st == shim.OK
	})
	return st
}

// syncNull waits for the work on c's contexts' NULL streams.
func (b *Backend) syncNull(c *client) shim.Status {
	ccs := c.contexts()
	for _, cc := range ccs {
		if r := C.cu_stream_sync(cc, nil); r != 0 {
			return launchStatus(r)
		}
	}
	return shim.OK
}

// StreamBusy is ErrNotReady while s's work runs. The legacy stream is busy while any of the
// caller's work is: its work waits for, and is waited for by, every other stream's.
func (b *Backend) StreamBusy(s *shim.Stream) shim.Status {
	c := b.caller()
	if s.Default {
		if st := b.Busy(); st != shim.OK {
			return st
		}
		s = nil // and each of its streams
	}
	st := shim.OK
	c.each(s, func(cc *C.struct_cctx, rs unsafe.Pointer) bool {
		st = queryStatus(C.cu_busy(cc, rs))
		return st == shim.OK
	})
	return st
}

// WaitMark makes s's later work wait for the work before the mark, through the driver: in
// the mark's context and in any other where s has a stream.
func (b *Backend) WaitMark(s *shim.Stream, id uintptr) shim.Status {
	v, ok := marks.Load(id)
	if !ok {
		return shim.OK
	}
	m := v.(mark)
	c := b.caller()
	var own unsafe.Pointer // s's stream in the mark's context: the NULL stream for the legacy stream
	if !s.Default {
		var st shim.Status
		if own, st = c.realStream(s, m.cc); st != shim.OK {
			return st
		}
	}
	if r := C.cu_stream_wait(m.cc, own, m.ev); r != 0 {
		return status(r)
	}
	st := shim.OK
	c.each(s, func(cc *C.struct_cctx, rs unsafe.Pointer) bool {
		if cc != m.cc && !s.Default {
			if r := C.cu_stream_wait(cc, rs, m.ev); r != 0 {
				st = status(r)
			}
		}
		return st == shim.OK
	})
	return st
}

// EndStream destroys s's driver streams (the driver lets work already on them finish).
func (b *Backend) EndStream(s *shim.Stream) {
	c := b.existing(shim.Thread().Owner)
	if c == nil {
		return
	}
	c.each(s, func(cc *C.struct_cctx, rs unsafe.Pointer) bool {
		c.streams.Delete(streamKey{s, cc})
		C.cu_stream_free(cc, rs)
		return true
	})
}

// endStreams destroys every driver stream of c made in cc (its client is ending).
func (c *client) endStreams(cc *C.struct_cctx) {
	c.streams.Range(func(k, v any) bool {
		if key := k.(streamKey); key.cc == cc {
			c.streams.Delete(k)
			C.cu_stream_free(cc, v.(unsafe.Pointer))
		}
		return true
	})
}

var _ shim.StreamBackend = (*Backend)(nil)
var _ shim.IssuingLauncher = (*Backend)(nil)
