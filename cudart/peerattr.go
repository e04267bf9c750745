package cudart

import (
	"unsafe"

	"vgpu/cuda"
	"vgpu/shim"
)

// DeviceGetP2PAttribute is cudaDeviceGetP2PAttribute. The virtual devices are peers as
// NVLink-connected GPUs of one board are: access, native atomics and array access between
// any two distinct ones, at the best performance rank (0). The same device on both sides
// is an invalid device, as NVIDIA documents.
func DeviceGetP2PAttribute(value unsafe.Pointer, attr int32, src, dst int32) Error {
	return afterInit(func() cuda.Result { return cuda.DeviceGetP2PAttribute(value, attr, src, dst) })
}

// StreamGetAttribute is cudaStreamGetAttribute: what was set, else the defaults
// (shim.StreamAttribute). The value is the 64-byte launch attribute union.
func StreamGetAttribute(h uintptr, attr int32, out unsafe.Pointer) Error {
	return onDriver(func() cuda.Result { return cuda.StreamGetAttribute(h, attr, out) })
}

// StreamSetAttribute is cudaStreamSetAttribute, checked as shim.SetStreamAttribute says.
func StreamSetAttribute(h uintptr, attr int32, in unsafe.Pointer) Error {
	s, e := resolveStream(h)
	if e != Success {
		return e
	}
	if in == nil {
		return ErrorInvalidValue
	}
	var v [shim.LaunchAttrValueSize]byte
	copy(v[:], shim.View(in, len(v)))
	d, _ := currentDevice()
	return From(shim.SetStreamAttribute(s, d, attr, v))
}

// StreamGetAttributePtsz is cudaStreamGetAttribute_ptsz.
func StreamGetAttributePtsz(h uintptr, attr int32, out unsafe.Pointer) Error {
	return StreamGetAttribute(ptsz(h), attr, out)
}

// StreamSetAttributePtsz is cudaStreamSetAttribute_ptsz.
func StreamSetAttributePtsz(h uintptr, attr int32, in unsafe.Pointer) Error {
	return StreamSetAttribute(ptsz(h), attr, in)
}

// FuncGetName is cudaFuncGetName: the kernel's (mangled) device name, a string that lives
// as long as the process.
func FuncGetName(out unsafe.Pointer, fn uintptr) Error {
	k, e := kernelAt(fn)
	if e != Success {
		return e
	}
	if out == nil {
		return ErrorInvalidValue
	}
	shim.PutPtr(out, uintptr(shim.CStr(k.Name)))
	return Success
}

// GetFuncBySymbol is cudaGetFuncBySymbol: the driver's CUfunction for a kernel's host stub
// (the handle cuLaunchKernel and cuFuncGetAttribute take).
func GetFuncBySymbol(out unsafe.Pointer, fn uintptr) Error { return GetKernel(out, fn) }
