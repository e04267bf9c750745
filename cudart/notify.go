package cudart

import (
	"sync"
	"unsafe"
)

// Asynchronous notifications (cudaDeviceRegisterAsyncNotification): NVIDIA's runtime calls
// them when a device's memory goes over its budget, which vgpu's devices never report, so a
// registered callback is kept (per device, until unregistered) and never called. Answered in
// the program's process: the callback is its function.

type notification struct {
	dev      int32
	fn, data uintptr
}

var (
	notifyMu   sync.Mutex
	notifyNext uintptr = 0x4e000000
	notifyOf           = map[uintptr]notification{}
)

// DeviceRegisterAsyncNotification is cudaDeviceRegisterAsyncNotification.
func DeviceRegisterAsyncNotification(device int32, fn, data uintptr, out unsafe.Pointer) Error {
	if _, e := deviceAt(device); e != Success {
		return e
	}
	if fn == 0 || out == nil {
		return ErrorInvalidValue
	}
	notifyMu.Lock()
	notifyNext += 0x10
	h := notifyNext
	notifyOf[h] = notification{dev: device, fn: fn, data: data}
	notifyMu.Unlock()
	*(*uintptr)(out) = h
	return Success
}

// DeviceUnregisterAsyncNotification is cudaDeviceUnregisterAsyncNotification: the handle
// must be one registered on that device, and is gone after.
func DeviceUnregisterAsyncNotification(device int32, h uintptr) Error {
	if _, e := deviceAt(device); e != Success {
		return e
	}
	notifyMu.Lock()
	defer notifyMu.Unlock()
	n, ok := notifyOf[h]
	if !ok || n.dev != device {
		return ErrorInvalidValue
	}
	delete(notifyOf, h)
	return Success
}
