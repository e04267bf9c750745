package cudart

import (
	"math"
	"unsafe"

	"vgpu/shim"
)

// cudaDeviceP2PAttr values.
const (
	streamAttrPolicyWindow = shim.LaunchAttrAccessPolicyWindow
	streamAttrSyncPolicy   = shim.LaunchAttrSynchronizationPolicy
	streamAttrPriority     = shim.LaunchAttrPriority
	streamAttrSyncDomMap   = shim.LaunchAttrMemSyncDomainMap
	streamAttrSyncDomain   = shim.LaunchAttrMemSyncDomain
)

// DeviceGetP2PAttribute is cudaDeviceGetP2PAttribute. The virtual devices are peers as
// NVLink-connected GPUs of one board are: access, native atomics and array access between
// any two distinct ones, at the best performance rank (0). The same device on both sides
// is an invalid device, as NVIDIA documents.
func DeviceGetP2PAttribute(value unsafe.Pointer, attr int32, src, dst int32) Error {
	a, e := deviceAt(src)
	if e != Success {
		return e
	}
	b, e := deviceAt(dst)
	if e != Success {
		return e
	}
	if value == nil {
		return ErrorInvalidValue
	}
	v, st := shim.P2PAttribute(a, b, attr)
	if st != shim.OK {
		return From(st)
	}
	shim.PutI32(value, v)
	return Success
}

// StreamGetAttribute is cudaStreamGetAttribute: what was set, else the defaults (no access
// policy window, automatic synchronisation, the stream's priority, the default memory
// synchronisation domain). The value is the 64-byte launch attribute union.
func StreamGetAttribute(h uintptr, attr int32, out unsafe.Pointer) Error {
	s, e := resolveStream(h)
	if e != Success {
		return e
	}
	if out == nil || !streamAttr(attr) {
		return ErrorInvalidValue
	}
	v, ok := s.Attr(uint32(attr))
	if !ok {
		switch attr {
		case streamAttrSyncPolicy:
			shim.Le.PutUint32(v[:], 1) // cudaSyncPolicyAuto
		case streamAttrPriority:
			shim.Le.PutUint32(v[:], uint32(s.Priority))
		}
	}
	copy(shim.View(out, shim.LaunchAttrValueSize), v[:])
	return Success
}

func streamAttr(attr int32) bool {
	switch attr {
	case streamAttrPolicyWindow, streamAttrSyncPolicy, streamAttrPriority, streamAttrSyncDomMap, streamAttrSyncDomain:
		return true
	}
	return false
}

// StreamSetAttribute is cudaStreamSetAttribute. Values are checked as NVIDIA documents
// them: a window no larger than the device allows with a hit ratio in [0, 1], a
// synchronisation policy of 1-4, a domain of 0 or 1; a priority is clamped to the range.
// The legacy stream is every program's (every client's, on a server): its attributes are
// not one caller's to change, and setting them is an invalid resource handle here.
func StreamSetAttribute(h uintptr, attr int32, in unsafe.Pointer) Error {
	s, e := resolveStream(h)
	if e != Success {
		return e
	}
	if in == nil || !streamAttr(attr) {
		return ErrorInvalidValue
	}
	if s.Default {
		return ErrorInvalidResourceHandle
	}
	var v [shim.LaunchAttrValueSize]byte
	copy(v[:], shim.View(in, len(v)))
	switch attr {
	case streamAttrPolicyWindow:
		d, _ := currentDevice()
		n := shim.Le.Uint64(v[8:])
		ratio := math.Float32frombits(shim.Le.Uint32(v[16:]))
		if d == nil || n > uint64(d.Attrs[shim.AttrMaxAccessPolicyWindow]) || !(ratio >= 0 && ratio <= 1) {
			return ErrorInvalidValue
		}
	case streamAttrSyncPolicy:
		if p := shim.Le.Uint32(v[:]); p < 1 || p > 4 {
			return ErrorInvalidValue
		}
	case streamAttrSyncDomain:
		if shim.Le.Uint32(v[:]) > 1 {
			return ErrorInvalidValue
		}
	case streamAttrPriority:
		p := min(max(int32(shim.Le.Uint32(v[:])), -5), 0)
		s.Priority = p
		shim.Le.PutUint32(v[:], uint32(p))
	}
	s.SetAttr(uint32(attr), v)
	return Success
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
