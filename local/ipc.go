package local

/*
#include "cctx.h"
int cu_ipc_get(struct cctx *c, unsigned char *out, unsigned long long p);
int cu_ipc_open(struct cctx *c, unsigned long long *p, const unsigned char *in);
int cu_ipc_close(struct cctx *c, unsigned long long p);
void cu_fake_ipc(void);
void cu_fake_ipc_counts(int *opens, int *closes);
int cu_ipc_ev_export(struct cctx *c, void **ev, unsigned char *out);
int cu_ipc_ev_import(struct cctx *c, void **ev, const unsigned char *in);
int cu_ipc_ev_record(struct cctx *c, void *ev, void *st);
int cu_ipc_ev_wait(struct cctx *c, void *ev, void *st);
int cu_ipc_ev_query(struct cctx *c, void *ev, int wait);
int cu_ipc_ev_destroy(struct cctx *c, void *ev);
void cu_fake_ipc_events(int pending);
void cu_fake_ipc_event(void *ev, int *used, int *records, int *waits);
void *cu_fake_ipc_stream(void);
*/
import "C"

import (
	"unsafe"

	"vgpu/shim"
)

// IPC between processes (shim/ipcregistry.go): each client of `vgpu serve --backend local`
// has a worker process of its own, and each program on VGPU_BACKEND=local a private server,
// so memory another client opens by IPC handle lives in another process, which only the
// driver's own IPC handles reach.

var (
	_ shim.IPCDriver      = (*Backend)(nil)
	_ shim.IPCEventDriver = (*Backend)(nil)
)

// ipcStatus is the model's status for a driver IPC call's result.
func ipcStatus(r C.int) shim.Status {
	switch r {
	case 0:
		return shim.OK
	case 201: // CUDA_ERROR_INVALID_CONTEXT: the process's own handle
		return shim.ErrInvalidContext
	case 400: // CUDA_ERROR_INVALID_HANDLE
		return shim.ErrInvalidHandle
	}
	return status(r)
}

// IPCExport is cuIpcGetMemHandle of the caller's allocation a, in the caller's context on
// a's device.
func (b *Backend) IPCExport(a *shim.Alloc) ([shim.IPCHandleSize]byte, shim.Status) {
	var h [shim.IPCHandleSize]byte
	cc, st := b.ctxFor(b.caller(), a.Dev.Index)
	if st != shim.OK {
		return h, st
	}
	return h, ipcStatus(C.cu_ipc_get(cc, (*C.uchar)(unsafe.Pointer(&h[0])), C.ulonglong(a.Base)))
}

// IPCImport is cuIpcOpenMemHandle in the caller's context on d.
func (b *Backend) IPCImport(h [shim.IPCHandleSize]byte, d *shim.Device) (uintptr, shim.Status) {
	cc, st := b.ctxFor(b.caller(), d.Index)
	if st != shim.OK {
		return 0, st
	}
	var p C.ulonglong
	if st := ipcStatus(C.cu_ipc_open(cc, &p, (*C.uchar)(unsafe.Pointer(&h[0])))); st != shim.OK {
		return 0, st
	}
	return uintptr(p), shim.OK
}

// IPCUnimport is cuIpcCloseMemHandle of owner's mapping at p; a context of owner's that is
// gone took the mapping with it.
func (b *Backend) IPCUnimport(owner uint64, p uintptr, d *shim.Device) {
	c := b.existing(owner)
	if c == nil || d == nil {
		return
	}
	c.mu.Lock()
	cc := c.ctxs[d.Index]
	c.mu.Unlock()
	if cc == nil {
		return
	}
	if r := C.cu_ipc_close(cc, C.ulonglong(p)); r != 0 {
		shim.Log().Warnw("cuIpcCloseMemHandle failed", "client", owner, "result", int(r))
	}
}

// useFakeIPC makes the driver's IPC entry points the stand-in's (ipc.c).
func useFakeIPC() { C.cu_fake_ipc() }

// fakeIPCCounts is how many opens and closes the stand-in saw.
func fakeIPCCounts() (opens, closes int) {
	var o, c C.int
	C.cu_fake_ipc_counts(&o, &c)
	return int(o), int(c)
}

// IPCEventExport makes a driver event other processes can open (interprocess, no timing) in
// the caller's context on dev, and returns it with its IPC handle.
func (b *Backend) IPCEventExport(dev int) (uintptr, [shim.IPCHandleSize]byte, shim.Status) {
	var h [shim.IPCHandleSize]byte
	cc, st := b.ctxFor(b.caller(), dev)
	if st != shim.OK {
		return 0, h, st
	}
	var ev unsafe.Pointer
	if st := ipcStatus(C.cu_ipc_ev_export(cc, &ev, (*C.uchar)(unsafe.Pointer(&h[0])))); st != shim.OK {
		return 0, h, st
	}
	return uintptr(ev), h, shim.OK
}

// IPCEventImport is cuIpcOpenEventHandle in the caller's context on dev.
func (b *Backend) IPCEventImport(h [shim.IPCHandleSize]byte, dev int) (uintptr, shim.Status) {
	cc, st := b.ctxFor(b.caller(), dev)
	if st != shim.OK {
		return 0, st
	}
	var ev unsafe.Pointer
	if st := ipcStatus(C.cu_ipc_ev_import(cc, &ev, (*C.uchar)(unsafe.Pointer(&h[0])))); st != shim.OK {
		return 0, st
	}
	return uintptr(ev), shim.OK
}

// evCall runs one of the event calls in the caller's context on dev.
func (b *Backend) evCall(dev int, call func(cc *C.struct_cctx) C.int) shim.Status {
	return b.evCallOn(dev, false, func(cc *C.struct_cctx, _ unsafe.Pointer) C.int { return call(cc) })
}

// evCallOn is evCall; with onStream, call also gets the issuing stream's driver stream (nil:
// the context's NULL stream), where a record or wait goes.
func (b *Backend) evCallOn(dev int, onStream bool, call func(cc *C.struct_cctx, rs unsafe.Pointer) C.int) shim.Status {
	c := b.caller()
	cc, st := b.ctxFor(c, dev)
	if st != shim.OK {
		return st
	}
	var rs unsafe.Pointer
	if onStream {
		if rs, st = c.streamIn(cc); st != shim.OK {
			return st
		}
	}
	switch r := call(cc, rs); r {
	case 0:
		return shim.OK
	case 600: // CUDA_ERROR_NOT_READY
		return shim.ErrNotReady
	case 400, 201:
		return ipcStatus(r)
	default: // what the work before a record ran into
		return launchStatus(r)
	}
}

// IPCEventRecord records ev after the issuing stream's work so far (its driver stream's).
func (b *Backend) IPCEventRecord(ev uintptr, dev int) shim.Status {
	return b.evCallOn(dev, true, func(cc *C.struct_cctx, rs unsafe.Pointer) C.int {
		return C.cu_ipc_ev_record(cc, unsafe.Pointer(ev), rs)
	})
}

// IPCEventWait makes the issuing stream's later work wait for ev.
func (b *Backend) IPCEventWait(ev uintptr, dev int) shim.Status {
	return b.evCallOn(dev, true, func(cc *C.struct_cctx, rs unsafe.Pointer) C.int {
		return C.cu_ipc_ev_wait(cc, unsafe.Pointer(ev), rs)
	})
}

// IPCEventQuery is cuEventQuery of ev, or cuEventSynchronize when wait.
func (b *Backend) IPCEventQuery(ev uintptr, dev int, wait bool) shim.Status {
	w := C.int(0)
	if wait {
		w = 1
	}
	return b.evCall(dev, func(cc *C.struct_cctx) C.int { return C.cu_ipc_ev_query(cc, unsafe.Pointer(ev), w) })
}

// IPCEventFree destroys owner's driver event ev; a context of owner's that is gone took it.
func (b *Backend) IPCEventFree(owner uint64, ev uintptr, dev int) {
	c := b.existing(owner)
	if c == nil {
		return
	}
	c.mu.Lock()
	cc := c.ctxs[dev]
	c.mu.Unlock()
	if cc != nil {
		C.cu_ipc_ev_destroy(cc, unsafe.Pointer(ev))
	}
}

// useFakeIPCEvents makes the driver's event entry points the stand-in's; a record leaves the
// event answering pending (0 done, 600 not ready).
func useFakeIPCEvents(pending int) { C.cu_fake_ipc_events(C.int(pending)) }

// fakeIPCStream is the driver stream the stand-in's last event record or wait named.
func fakeIPCStream() uintptr { return uintptr(C.cu_fake_ipc_stream()) }

// fakeIPCEvent is the stand-in's state of event ev.
func fakeIPCEvent(ev uintptr) (used bool, records, waits int) {
	var u, r, w C.int
	C.cu_fake_ipc_event(unsafe.Pointer(ev), &u, &r, &w)
	return u != 0, int(r), int(w)
}
