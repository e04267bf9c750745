package cudart

import (
	"unsafe"

	"vgpu/cuda"
	"vgpu/shim"
)

// RuntimeVersion is what cudaRuntimeGetVersion reports for each library major.
const (
	runtimeVersion12 = 12080
	runtimeVersion13 = 13000
)

// begin is the gate of every runtime call: the runtime initialises the driver implicitly,
// and a sticky error answers everything after it.
func begin() (*shim.State, Error) {
	s := shim.S()
	if e := Sticky(); e != Success {
		return s, e
	}
	if s.Err != nil || len(s.Devices()) == 0 {
		return s, ErrorNoDevice
	}
	shim.MarkInitialized()
	return s, Success
}

// currentDevice is the device calls act on: the current driver context's, else the
// thread's cudaSetDevice choice, else device 0.
func currentDevice() (*shim.Device, Error) {
	s, e := begin()
	if e != Success {
		return nil, e
	}
	if c := shim.CurrentContext(); c != nil {
		return c.Dev, Success
	}
	d := s.Device(shim.Thread().Device)
	if d == nil {
		return nil, ErrorInvalidDevice
	}
	// As CUDA's runtime does, its first call on a thread makes the device's primary context
	// current there, so the driver API sees it too.
	pc := shim.PrimaryContext(d)
	pc.Activate()
	if ts := shim.Thread(); len(ts.Ctx) == 0 {
		ts.Ctx = append(ts.Ctx, pc.Handle)
	}
	return d, Success
}

func deviceAt(ordinal int32) (*shim.Device, Error) {
	s, e := begin()
	if e != Success {
		return nil, e
	}
	d := s.Device(int(ordinal))
	if d == nil {
		return nil, ErrorInvalidDevice
	}
	return d, Success
}

// GetDeviceCount is cudaGetDeviceCount: NoDevice (and 0) when nothing is visible.
func GetDeviceCount(count unsafe.Pointer) Error {
	if count == nil {
		return ErrorInvalidValue
	}
	s, e := begin()
	if e != Success {
		shim.PutI32(count, 0)
		if s.Err != nil {
			shim.WarnOnce("no-device-config", "no virtual devices: configuration rejected", "err", s.Err)
		}
		return e
	}
	shim.PutI32(count, int32(len(s.Devices())))
	return Success
}

// GetDevice is cudaGetDevice.
func GetDevice(out unsafe.Pointer) Error {
	d, e := currentDevice()
	if e != Success {
		return e
	}
	if !shim.PutI32(out, int32(shim.S().Ordinal(d))) {
		return ErrorInvalidValue
	}
	return Success
}

// SetDevice is cudaSetDevice: the device's primary context becomes current on this thread.
func SetDevice(ordinal int32) Error {
	d, e := deviceAt(ordinal)
	if e != Success {
		return e
	}
	ts := shim.Thread()
	ts.Device, ts.DeviceSet = int(ordinal), true
	pc := shim.PrimaryContext(d)
	pc.Activate()
	if len(ts.Ctx) == 0 {
		ts.Ctx = append(ts.Ctx, pc.Handle)
	} else {
		ts.Ctx[len(ts.Ctx)-1] = pc.Handle
	}
	return Success
}

// SetDeviceFlags is cudaSetDeviceFlags: scheduling and map-host flags of the primary context.
func SetDeviceFlags(flags uint32) Error {
	d, e := currentDevice()
	if e != Success {
		return e
	}
	if flags&^0x1f != 0 {
		return ErrorInvalidValue
	}
	shim.PrimaryContext(d).SetFlags(flags)
	return Success
}

// GetDeviceFlags is cudaGetDeviceFlags.
func GetDeviceFlags(flags unsafe.Pointer) Error {
	d, e := currentDevice()
	if e != Success {
		return e
	}
	f, _ := shim.PrimaryContext(d).State()
	if !shim.PutU32(flags, f|0x8) { // cudaDeviceMapHost is always on
		return ErrorInvalidValue
	}
	return Success
}

// DeviceGetAttribute is cudaDeviceGetAttribute; cudaDeviceAttr numbers are CUdevice_attribute's.
func DeviceGetAttribute(value unsafe.Pointer, attr int32, dev int32) Error {
	return afterInit(func() cuda.Result { return cuda.DeviceGetAttribute(value, attr, dev) })
}

// DeviceGetPCIBusId is cudaDeviceGetPCIBusId: the same string as cuDeviceGetPCIBusId.
func DeviceGetPCIBusId(buf unsafe.Pointer, n int32, dev int32) Error {
	return afterInit(func() cuda.Result { return cuda.DeviceGetPCIBusId(buf, n, dev) })
}

// DeviceGetByPCIBusId is cudaDeviceGetByPCIBusId.
func DeviceGetByPCIBusId(out unsafe.Pointer, id unsafe.Pointer) Error {
	return afterInit(func() cuda.Result { return cuda.DeviceGetByPCIBusId(out, id) })
}

// DriverGetVersion is cudaDriverGetVersion; it needs no device.
func DriverGetVersion(v unsafe.Pointer) Error {
	if !shim.PutI32(v, int32(shim.S().Config.CUDAVersion)) {
		return ErrorInvalidValue
	}
	return Success
}

// RuntimeGetVersion is cudaRuntimeGetVersion. One export serves both majors, so it reports
// the newest runtime no newer than the driver.
func RuntimeGetVersion(v unsafe.Pointer) Error {
	rv := int32(runtimeVersion13)
	if shim.S().Config.CUDAVersion < runtimeVersion13 {
		rv = runtimeVersion12
	}
	if !shim.PutI32(v, rv) {
		return ErrorInvalidValue
	}
	return Success
}

// DeviceReset is cudaDeviceReset: frees the current device's allocations.
func DeviceReset() Error {
	d, e := currentDevice()
	if e != Success {
		return e
	}
	shim.ResetDevice(d)
	return Success
}

// DeviceSynchronize is cudaDeviceSynchronize. CUDA refuses it while another stream of the
// device captures in global mode; vgpu keeps no list of captures and does not yet.
func DeviceSynchronize() Error {
	if _, e := currentDevice(); e != Success {
		return e
	}
	return From(shim.WaitBackend())
}

// DeviceCanAccessPeer is cudaDeviceCanAccessPeer: distinct virtual devices can.
func DeviceCanAccessPeer(can unsafe.Pointer, dev, peer int32) Error {
	return afterInit(func() cuda.Result { return cuda.DeviceCanAccessPeer(can, dev, peer) })
}

// DeviceEnablePeerAccess is cudaDeviceEnablePeerAccess.
func DeviceEnablePeerAccess(peer int32, flags uint32) Error {
	d, e := currentDevice()
	if e != Success {
		return e
	}
	p, e := deviceAt(peer)
	if e != Success {
		return e
	}
	if flags != 0 {
		return ErrorInvalidValue
	}
	if p == d {
		return ErrorPeerAccessUnsupported // cudaDeviceCanAccessPeer(d, d) is 0, as NVIDIA's runtime answers
	}
	if !shim.PrimaryContext(d).SetPeerAccess(p, true) {
		return ErrorPeerAlreadyEnabled
	}
	return Success
}

// DeviceDisablePeerAccess is cudaDeviceDisablePeerAccess.
func DeviceDisablePeerAccess(peer int32) Error {
	d, e := currentDevice()
	if e != Success {
		return e
	}
	p, e := deviceAt(peer)
	if e != Success {
		return e
	}
	if !shim.PrimaryContext(d).SetPeerAccess(p, false) {
		return ErrorPeerNotEnabled
	}
	return Success
}

// DeviceGetLimit is cudaDeviceGetLimit.
func DeviceGetLimit(value unsafe.Pointer, limit int32) Error {
	d, e := currentDevice()
	if e != Success {
		return e
	}
	v, ok := shim.PrimaryContext(d).LimitValue(limit)
	if !ok || value == nil {
		return ErrorInvalidValue
	}
	shim.PutU64(value, v)
	return Success
}

// DeviceSetLimit is cudaDeviceSetLimit.
// The limit is the caller's primary context's: a server's clients each have their own,
// as processes do under NVIDIA's driver.
func DeviceSetLimit(limit int32, value uint64) Error {
	d, e := currentDevice()
	if e != Success {
		return e
	}
	if !shim.KnownLimit(limit) {
		return ErrorInvalidValue
	}
	shim.PrimaryContext(d).SetLimit(limit, value)
	return Success
}

// DeviceGetStreamPriorityRange is cudaDeviceGetStreamPriorityRange: [0, -5] as on Hopper.
func DeviceGetStreamPriorityRange(least, greatest unsafe.Pointer) Error {
	return onDriver(func() cuda.Result { return cuda.CtxGetStreamPriorityRange(least, greatest) })
}

// InitDevice is cudaInitDevice.
func InitDevice(dev int32, deviceFlags, flags uint32) Error {
	d, e := deviceAt(dev)
	if e != Success {
		return e
	}
	if flags&^1 != 0 {
		return ErrorInvalidValue
	}
	shim.PrimaryContext(d).Activate()
	if flags&1 != 0 { // cudaInitDeviceFlagsAreValid
		shim.PrimaryContext(d).SetFlags(deviceFlags)
	}
	return Success
}

func b2i(b bool) int32 {
	if b {
		return 1
	}
	return 0
}
