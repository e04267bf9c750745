package cuda

import (
	"unsafe"

	"vgpu/shim"
)

// IPC handles through the driver (shim/ipc.go, as the runtime's forms use it): under
// `vgpu serve`, between two clients of the server; in a program's own process every handle
// is its own, which CUDA refuses to open (invalid context).

// CU_EVENT_INTERPROCESS: an event other processes may open; it must not time.
const eventInterprocess = 0x4

// IpcGetMemHandle is cuIpcGetMemHandle: a handle for the device allocation holding p.
func IpcGetMemHandle(out unsafe.Pointer, p uint64) Result {
	if _, r := ctxDevice(); r != Success {
		return r
	}
	if out == nil {
		return ErrorInvalidValue
	}
	return From(shim.IPCGetMemHandle(shim.View(out, shim.IPCHandleSize), uintptr(p)))
}

// IpcOpenMemHandle is cuIpcOpenMemHandle(_v2); flags: 0 or
// CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS.
func IpcOpenMemHandle(out, handle unsafe.Pointer, flags uint32) Result {
	d, r := ctxDevice()
	if r != Success {
		return r
	}
	if out == nil || handle == nil || flags&^1 != 0 {
		return ErrorInvalidValue
	}
	p, st := shim.IPCOpenMemHandle(shim.View(handle, shim.IPCHandleSize), d)
	if st != shim.OK {
		return From(st)
	}
	shim.PutU64(out, uint64(p))
	return Success
}

// IpcCloseMemHandle is cuIpcCloseMemHandle: one open fewer of the mapping at p.
func IpcCloseMemHandle(p uint64) Result {
	if _, r := ctxDevice(); r != Success {
		return r
	}
	return From(shim.IPCCloseMemHandle(uintptr(p)))
}

// IpcGetEventHandle is cuIpcGetEventHandle: for events made with CU_EVENT_INTERPROCESS and
// CU_EVENT_DISABLE_TIMING only.
func IpcGetEventHandle(out unsafe.Pointer, h uintptr) Result {
	ev, r := event(h)
	if r != Success {
		return r
	}
	if out == nil {
		return ErrorInvalidValue
	}
	if ev.Flags&(eventInterprocess|shim.EventDisableTiming) != eventInterprocess|shim.EventDisableTiming {
		return ErrorInvalidHandle
	}
	shim.IPCGetEventHandle(shim.View(out, shim.IPCHandleSize), ev)
	return Success
}

// IpcOpenEventHandle is cuIpcOpenEventHandle: a handle of the caller's for the exported
// event; recording or waiting on it is recording or waiting on the exporter's.
func IpcOpenEventHandle(out, handle unsafe.Pointer) Result {
	if _, r := ctxDevice(); r != Success {
		return r
	}
	if out == nil || handle == nil {
		return ErrorInvalidValue
	}
	h, st := shim.IPCOpenEventHandle(shim.View(handle, shim.IPCHandleSize))
	if st != shim.OK {
		return From(st)
	}
	shim.PutPtr(out, h)
	return Success
}
