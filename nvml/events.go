package nvml

import (
	"time"
	"unsafe"

	"vgpu/shim"
)

// eventSet is an NVML event set. A simulated device raises no events (no Xid errors, no
// clock changes), so waiting on one times out, as it does on a healthy card.
type eventSet struct{ types uint64 }

// Events a device can be registered for: single-bit ECC, double-bit ECC, Xid critical
// errors and clock changes (NVML's nvmlEventType values).
const supportedEvents = 0x1 | 0x2 | 0x8 | 0x10

// EventSetCreate is nvmlEventSetCreate.
func EventSetCreate(out unsafe.Pointer) Return {
	if r := ready(); r != Success {
		return r
	}
	if out == nil {
		return InvalidArgument
	}
	shim.PutPtr(out, shim.NewHandle(shim.KindEventSet, &eventSet{}))
	return Success
}

func set(h uintptr) (*eventSet, Return) {
	if r := ready(); r != Success {
		return nil, r
	}
	s, ok := shim.Lookup[*eventSet](shim.KindEventSet, h)
	if !ok {
		return nil, InvalidArgument
	}
	return s, Success
}

// EventSetFree is nvmlEventSetFree.
func EventSetFree(h uintptr) Return {
	if _, r := set(h); r != Success {
		return r
	}
	shim.Release(shim.KindEventSet, h)
	return Success
}

// DeviceRegisterEvents is nvmlDeviceRegisterEvents.
func DeviceRegisterEvents(dev uintptr, types uint64, h uintptr) Return {
	if _, r := device(dev); r != Success {
		return r
	}
	s, r := set(h)
	if r != Success {
		return r
	}
	if types&^supportedEvents != 0 {
		return NotSupported
	}
	s.types |= types
	return Success
}

// DeviceGetSupportedEventTypes is nvmlDeviceGetSupportedEventTypes.
func DeviceGetSupportedEventTypes(dev uintptr, out unsafe.Pointer) Return {
	if _, r := device(dev); r != Success {
		return r
	}
	if !shim.PutU64(out, supportedEvents) {
		return InvalidArgument
	}
	return Success
}

// Timeout is NVML_ERROR_TIMEOUT.
const Timeout Return = 10

// EventSetWait_v2 is nvmlEventSetWait_v2: nothing happens on a simulated device, so it
// waits out the timeout (capped, so a caller is never stuck) and reports it.
func EventSetWait(h uintptr, data unsafe.Pointer, timeoutMs uint32) Return {
	if _, r := set(h); r != Success {
		return r
	}
	if data == nil {
		return InvalidArgument
	}
	time.Sleep(time.Duration(min(timeoutMs, 5000)) * time.Millisecond)
	return Timeout
}
