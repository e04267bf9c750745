package cudart

import (
	"unsafe"

	"vgpu/shim"
)

// IPC handles (shim/ipc.go): under `vgpu serve`, between two clients of the server; in a
// program's own process every handle is its own, which CUDA refuses to open.

// ErrorDeviceUninitialized (201, "invalid device context"): what NVIDIA's runtime answers a
// process opening its own IPC handle.
const ErrorDeviceUninitialized Error = 201

// cudaEventInterprocess: an event other processes may open; it must not time.
const eventInterprocess = 0x4

func ipcError(st shim.Status) Error {
	if st == shim.ErrInvalidContext {
		return ErrorDeviceUninitialized
	}
	return From(st)
}

// IpcGetMemHandle is cudaIpcGetMemHandle: a handle for the device allocation holding p.
func IpcGetMemHandle(out unsafe.Pointer, p uintptr) Error {
	if _, e := currentDevice(); e != Success {
		return e
	}
	if out == nil {
		return ErrorInvalidValue
	}
	return ipcError(shim.IPCGetMemHandle(shim.View(out, shim.IPCHandleSize), p))
}

// IpcOpenMemHandle is cudaIpcOpenMemHandle; flags: 0 or cudaIpcMemLazyEnablePeerAccess.
func IpcOpenMemHandle(out, handle unsafe.Pointer, flags uint32) Error {
	d, e := currentDevice()
	if e != Success {
		return e
	}
	if out == nil || handle == nil || flags&^1 != 0 {
		return ErrorInvalidValue
	}
	p, st := shim.IPCOpenMemHandle(shim.View(handle, shim.IPCHandleSize), d)
	if st != shim.OK {
		return ipcError(st)
	}
	shim.PutPtr(out, p)
	return Success
}

// IpcCloseMemHandle is cudaIpcCloseMemHandle: one open fewer of the mapping at p.
func IpcCloseMemHandle(p uintptr) Error {
	if _, e := begin(); e != Success {
		return e
	}
	return ipcError(shim.IPCCloseMemHandle(p))
}

// IpcGetEventHandle is cudaIpcGetEventHandle: for events made with cudaEventInterprocess and
// cudaEventDisableTiming only.
func IpcGetEventHandle(out unsafe.Pointer, h uintptr) Error {
	ev, e := event(h)
	if e != Success {
		return e
	}
	if out == nil {
		return ErrorInvalidValue
	}
	if ev.Flags&(eventInterprocess|shim.EventDisableTiming) != eventInterprocess|shim.EventDisableTiming {
		return ErrorInvalidResourceHandle
	}
	shim.IPCGetEventHandle(shim.View(out, shim.IPCHandleSize), ev)
	return Success
}

// IpcOpenEventHandle is cudaIpcOpenEventHandle: a handle of the caller's for the exported
// event; recording or waiting on it is recording or waiting on the exporter's.
func IpcOpenEventHandle(out, handle unsafe.Pointer) Error {
	if _, e := currentDevice(); e != Success {
		return e
	}
	if out == nil || handle == nil {
		return ErrorInvalidValue
	}
	h, st := shim.IPCOpenEventHandle(shim.View(handle, shim.IPCHandleSize))
	if st != shim.OK {
		return ipcError(st)
	}
	shim.PutPtr(out, h)
	return Success
}
