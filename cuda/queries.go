package cuda

import (
	"unsafe"

	"vgpu/shim"
)

// Queries and settings of devices, contexts and streams (issue 13) that the driver exports
// beside the runtime's: legacy device properties, execution affinity, shared memory bank
// configuration, stream attributes and stream-ordered writes of a value.

// ErrorUnsupportedExecAffinity is CUDA_ERROR_UNSUPPORTED_EXEC_AFFINITY.
const ErrorUnsupportedExecAffinity Result = 224

// DeviceGetProperties is cuDeviceGetProperties: CUdevprop's fourteen ints are device
// attributes 1-14 in order (threads per block, block and grid dimensions, shared memory per
// block, constant memory, warp size, pitch, registers per block, clock rate, texture
// alignment).
func DeviceGetProperties(prop unsafe.Pointer, dev int32) Result {
	d, r := device(dev)
	if r != Success {
		return r
	}
	if prop == nil {
		return ErrorInvalidValue
	}
	for i := 0; i < 14; i++ {
		*(*int32)(unsafe.Add(prop, 4*i)) = d.Attrs[i+1]
	}
	return Success
}

// DeviceGetLuid is cuDeviceGetLuid: a locally unique identifier exists on Windows only;
// elsewhere NVIDIA's driver answers not supported.
func DeviceGetLuid(luid, mask unsafe.Pointer, dev int32) Result {
	if _, r := device(dev); r != Success {
		return r
	}
	if luid == nil || mask == nil {
		return ErrorInvalidValue
	}
	return ErrorNotSupported
}

// DeviceGetTexture1DLinearMaxWidth is cuDeviceGetTexture1DLinearMaxWidth: 2^28 elements of
// any of the plain formats on compute capability 5.0 and later (the CUDA programming
// guide's limit for 1D textures bound to linear memory), for 1, 2 or 4 channels.
func DeviceGetTexture1DLinearMaxWidth(out unsafe.Pointer, format int32, channels uint32, dev int32) Result {
	if _, r := device(dev); r != Success {
		return r
	}
	switch format {
	case 0x01, 0x02, 0x03, 0x08, 0x09, 0x0a, 0x10, 0x20: // 8/16/32-bit ints, half, float
	default:
		return ErrorInvalidValue
	}
	if out == nil || (channels != 1 && channels != 2 && channels != 4) {
		return ErrorInvalidValue
	}
	shim.PutU64(out, 1<<28)
	return Success
}

// CU_SHARED_MEM_CONFIG values.
const (
	sharedMemDefault  = 0
	sharedMemFourByte = 1
	sharedMemEightB   = 2
)

// CtxGetSharedMemConfig is cuCtxGetSharedMemConfig: the modelled GPUs (Maxwell and later)
// have fixed four-byte shared memory banks.
func CtxGetSharedMemConfig(out unsafe.Pointer) Result {
	if _, r := current(); r != Success {
		return r
	}
	if !shim.PutI32(out, sharedMemFourByte) {
		return ErrorInvalidValue
	}
	return Success
}

// CtxSetSharedMemConfig is cuCtxSetSharedMemConfig: a known configuration is accepted and,
// the banks being fixed, changes nothing (as on NVIDIA's GPUs since Maxwell).
func CtxSetSharedMemConfig(config int32) Result {
	if _, r := current(); r != Success {
		return r
	}
	if config < sharedMemDefault || config > sharedMemEightB {
		return ErrorInvalidValue
	}
	return Success
}

// CU_EXEC_AFFINITY_TYPE_SM_COUNT, the one execution affinity CUDA defines.
const affinitySMCount = 0

// DeviceGetExecAffinitySupport is cuDeviceGetExecAffinitySupport: limiting a context's SMs
// needs an MPS server, which the model does not run: 0.
func DeviceGetExecAffinitySupport(out unsafe.Pointer, typ int32, dev int32) Result {
	if _, r := device(dev); r != Success {
		return r
	}
	if typ != affinitySMCount || !shim.PutI32(out, 0) {
		return ErrorInvalidValue
	}
	return Success
}

// CtxGetExecAffinity is cuCtxGetExecAffinity: a context without affinity may use all of its
// device's SMs. CUexecAffinityParam: the type at 0, the SM count at 4.
func CtxGetExecAffinity(out unsafe.Pointer, typ int32) Result {
	c, r := current()
	if r != Success {
		return r
	}
	if out == nil {
		return ErrorInvalidValue
	}
	if typ != affinitySMCount {
		return ErrorUnsupportedExecAffinity
	}
	shim.PutI32(out, affinitySMCount)
	shim.PutI32(unsafe.Add(out, 4), c.Dev.Attrs[shim.AttrMultiprocessorCount])
	return Success
}

// CtxCreate3 is cuCtxCreate_v3: cuCtxCreate with execution affinities, which need MPS: a
// context asking for any is refused as unsupported.
func CtxCreate3(pctx unsafe.Pointer, params unsafe.Pointer, n int32, flags uint32, dev int32) Result {
	if n < 0 || (n > 0 && params == nil) {
		return ErrorInvalidValue
	}
	if n > 0 {
		if _, r := device(dev); r != Success {
			return r
		}
		return ErrorUnsupportedExecAffinity
	}
	return CtxCreate(pctx, flags, dev)
}

// StreamGetAttribute is cuStreamGetAttribute (shim.StreamAttribute: what was set, else
// the defaults). The value is the 64-byte CUstreamAttrValue.
func StreamGetAttribute(h uintptr, attr int32, out unsafe.Pointer) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	if out == nil {
		return ErrorInvalidValue
	}
	v, st := shim.StreamAttribute(s, attr)
	if st != shim.OK {
		return From(st)
	}
	copy(shim.View(out, shim.LaunchAttrValueSize), v[:])
	return Success
}

// StreamSetAttribute is cuStreamSetAttribute, checked as shim.SetStreamAttribute says.
func StreamSetAttribute(h uintptr, attr int32, in unsafe.Pointer) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	if in == nil {
		return ErrorInvalidValue
	}
	var v [shim.LaunchAttrValueSize]byte
	copy(v[:], shim.View(in, len(v)))
	return From(shim.SetStreamAttribute(s, s.Dev, attr, v))
}

// StreamCopyAttributes is cuStreamCopyAttributes: dst takes every attribute of src.
func StreamCopyAttributes(dst, src uintptr) Result {
	d, r := stream(dst)
	if r != Success {
		return r
	}
	s, r := stream(src)
	if r != Success {
		return r
	}
	return From(shim.CopyStreamAttributes(d, s, d.Dev))
}

// StreamGetAttributePtsz is cuStreamGetAttribute_ptsz.
func StreamGetAttributePtsz(h uintptr, attr int32, out unsafe.Pointer) Result {
	return StreamGetAttribute(ptsz(h), attr, out)
}

// StreamSetAttributePtsz is cuStreamSetAttribute_ptsz.
func StreamSetAttributePtsz(h uintptr, attr int32, in unsafe.Pointer) Result {
	return StreamSetAttribute(ptsz(h), attr, in)
}

// StreamCopyAttributesPtsz is cuStreamCopyAttributes_ptsz.
func StreamCopyAttributesPtsz(dst, src uintptr) Result {
	return StreamCopyAttributes(ptsz(dst), ptsz(src))
}

// CU_STREAM_WRITE_VALUE_NO_MEMORY_BARRIER, the one write flag.
const writeNoBarrier = 1

// StreamWriteValue32 is cuStreamWriteValue32 (and _v2): value lands at addr, a 4-byte
// aligned device address, in stream order, after the stream's earlier work.
func StreamWriteValue32(h uintptr, addr uint64, value uint32, flags uint32) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	if flags&^writeNoBarrier != 0 || addr%4 != 0 || addr == 0 {
		return ErrorInvalidValue
	}
	return From(shim.MemsetWords(s, uintptr(addr), value, 4, 1))
}

// StreamWriteValue64 is cuStreamWriteValue64 (and _v2): an 8-byte aligned address; the
// value is written as its two little-endian halves, both in stream order.
func StreamWriteValue64(h uintptr, addr uint64, value uint64, flags uint32) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	if flags&^writeNoBarrier != 0 || addr%8 != 0 || addr == 0 {
		return ErrorInvalidValue
	}
	if _, st := shim.DeviceRange(uintptr(addr), 8); st != shim.OK {
		return From(st)
	}
	if st := shim.MemsetWords(s, uintptr(addr), uint32(value), 4, 1); st != shim.OK {
		return From(st)
	}
	return From(shim.MemsetWords(s, uintptr(addr+4), uint32(value>>32), 4, 1))
}

// StreamWriteValue32Ptsz is cuStreamWriteValue32_ptsz (and _v2_ptsz).
func StreamWriteValue32Ptsz(h uintptr, addr uint64, value uint32, flags uint32) Result {
	return StreamWriteValue32(ptsz(h), addr, value, flags)
}

// StreamWriteValue64Ptsz is cuStreamWriteValue64_ptsz (and _v2_ptsz).
func StreamWriteValue64Ptsz(h uintptr, addr uint64, value uint64, flags uint32) Result {
	return StreamWriteValue64(ptsz(h), addr, value, flags)
}
