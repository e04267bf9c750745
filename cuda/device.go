package cuda

import (
	"unsafe"

	"vgpu/shim"
)

// ready is the gate every driver call but cuInit and cuDriverGetVersion passes:
// CUDA answers NOT_INITIALIZED before cuInit.
func ready() (*shim.State, Result) {
	s := shim.S()
	if !shim.Initialized() {
		return s, ErrorNotInitialized
	}
	return s, Success
}

// device resolves a CUdevice (a visible ordinal).
func device(dev int32) (*shim.Device, Result) {
	s, r := ready()
	if r != Success {
		return nil, r
	}
	d := s.Device(int(dev))
	if d == nil {
		return nil, ErrorInvalidDevice
	}
	return d, Success
}

// Init is cuInit: flags must be 0; a rejected configuration or no visible device is NO_DEVICE.
func Init(flags uint32) Result {
	if flags != 0 {
		return ErrorInvalidValue
	}
	s := shim.S()
	if s.Err != nil || len(s.Devices()) == 0 {
		return ErrorNoDevice
	}
	shim.MarkInitialized()
	return Success
}

// DriverGetVersion is cuDriverGetVersion: the configured CUDA version, e.g. 13000.
func DriverGetVersion(version unsafe.Pointer) Result {
	if !shim.PutI32(version, int32(shim.S().Config.CUDAVersion)) {
		return ErrorInvalidValue
	}
	return Success
}

// DeviceGetCount is cuDeviceGetCount.
func DeviceGetCount(count unsafe.Pointer) Result {
	s, r := ready()
	if r != Success {
		return r
	}
	if !shim.PutI32(count, int32(len(s.Devices()))) {
		return ErrorInvalidValue
	}
	return Success
}

// DeviceGet is cuDeviceGet: the handle of ordinal i is i.
func DeviceGet(out unsafe.Pointer, ordinal int32) Result {
	if _, r := device(ordinal); r != Success {
		return r
	}
	if !shim.PutI32(out, ordinal) {
		return ErrorInvalidValue
	}
	return Success
}

// DeviceGetName is cuDeviceGetName; the name is truncated to fit, as the driver does.
func DeviceGetName(name unsafe.Pointer, n int32, dev int32) Result {
	d, r := device(dev)
	if r != Success {
		return r
	}
	if !shim.PutStringTrunc(name, int(n), d.Name) {
		return ErrorInvalidValue
	}
	return Success
}

// DeviceGetUuid is cuDeviceGetUuid and _v2.
func DeviceGetUuid(uuid unsafe.Pointer, dev int32) Result {
	d, r := device(dev)
	if r != Success {
		return r
	}
	if uuid == nil {
		return ErrorInvalidValue
	}
	copy(shim.View(uuid, 16), d.UUID[:])
	return Success
}

// DeviceTotalMem is cuDeviceTotalMem_v2.
func DeviceTotalMem(bytes unsafe.Pointer, dev int32) Result {
	d, r := device(dev)
	if r != Success {
		return r
	}
	if !shim.PutU64(bytes, d.Total()) {
		return ErrorInvalidValue
	}
	return Success
}

// DeviceTotalMem32 is the legacy cuDeviceTotalMem with a 32-bit result, clamped.
func DeviceTotalMem32(bytes unsafe.Pointer, dev int32) Result {
	d, r := device(dev)
	if r != Success {
		return r
	}
	v := d.Total()
	if v > 0xffffffff {
		v = 0xffffffff
	}
	if !shim.PutU32(bytes, uint32(v)) {
		return ErrorInvalidValue
	}
	return Success
}

// DeviceGetAttribute is cuDeviceGetAttribute over the profile's attribute vector.
func DeviceGetAttribute(pi unsafe.Pointer, attrib int32, dev int32) Result {
	d, r := device(dev)
	if r != Success {
		return r
	}
	if pi == nil || attrib <= 0 || attrib >= shim.AttrMax {
		return ErrorInvalidValue
	}
	*(*int32)(pi) = d.Attrs[attrib]
	return Success
}

// DeviceGetPCIBusId is cuDeviceGetPCIBusId: "0000:18:00.0".
func DeviceGetPCIBusId(buf unsafe.Pointer, n int32, dev int32) Result {
	d, r := device(dev)
	if r != Success {
		return r
	}
	if !shim.PutStringTrunc(buf, int(n), d.PCIBusID()) {
		return ErrorInvalidValue
	}
	return Success
}

// DeviceGetByPCIBusId is cuDeviceGetByPCIBusId.
func DeviceGetByPCIBusId(out unsafe.Pointer, id unsafe.Pointer) Result {
	s, r := ready()
	if r != Success {
		return r
	}
	str, ok := shim.GoString(id, 64)
	if !ok || out == nil {
		return ErrorInvalidValue
	}
	i, found := s.OrdinalByBusID(str)
	if !found {
		return ErrorInvalidDevice
	}
	shim.PutI32(out, int32(i))
	return Success
}

// DeviceComputeCapability is the deprecated cuDeviceComputeCapability.
func DeviceComputeCapability(major, minor unsafe.Pointer, dev int32) Result {
	d, r := device(dev)
	if r != Success {
		return r
	}
	if major == nil || minor == nil {
		return ErrorInvalidValue
	}
	shim.PutI32(major, int32(d.Profile.CC[0]))
	shim.PutI32(minor, int32(d.Profile.CC[1]))
	return Success
}
