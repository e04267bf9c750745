package local

/*
#include "cctx.h"
int cu_ipc_get(struct cctx *c, unsigned char *out, unsigned long long p);
int cu_ipc_open(struct cctx *c, unsigned long long *p, const unsigned char *in);
int cu_ipc_close(struct cctx *c, unsigned long long p);
void cu_fake_ipc(void);
void cu_fake_ipc_counts(int *opens, int *closes);
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

var _ shim.IPCDriver = (*Backend)(nil)

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
