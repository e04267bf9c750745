package cuda

import (
	"unsafe"

	"vgpu/shim"
)

// CUDA arrays through the driver API (issue 13), on the model the runtime's cudaMallocArray
// uses (shim/array.go): an array made by either API is the other's too. Handles resolve
// owner-aware, so a server's client reaches only its own arrays.
//
// Descriptor layouts (NVIDIA's documented structs, LP64):
//   CUDA_ARRAY_DESCRIPTOR (v2, CUDA 3.2 on), 24 bytes: size_t Width 0, Height 8;
//     CUarray_format Format 16; unsigned NumChannels 20.
//   The pre-3.2 form (cuArrayCreate, cuArrayGetDescriptor), 16 bytes: unsigned Width 0,
//     Height 4, Format 8, NumChannels 12.
//   CUDA_ARRAY3D_DESCRIPTOR (v2), 40 bytes: size_t Width 0, Height 8, Depth 16; Format 24,
//     NumChannels 28, Flags 32.
//   The pre-3.2 form, 24 bytes: unsigned Width 0, Height 4, Depth 8, Format 12,
//     NumChannels 16, Flags 20.

// arrayDesc is one array descriptor, whichever form carried it.
type arrayDesc struct {
	w, h, d          uint64
	format, channels uint32
	flags            uint32
}

// readArrayDesc reads a 2D (threeD false) or 3D descriptor, 32-bit (legacy) or not.
func readArrayDesc(p unsafe.Pointer, threeD, legacy bool) arrayDesc {
	var a arrayDesc
	switch {
	case legacy && !threeD:
		b := shim.View(p, 16)
		a = arrayDesc{w: uint64(shim.Le.Uint32(b)), h: uint64(shim.Le.Uint32(b[4:])), format: shim.Le.Uint32(b[8:]), channels: shim.Le.Uint32(b[12:])}
	case legacy:
		b := shim.View(p, 24)
		a = arrayDesc{w: uint64(shim.Le.Uint32(b)), h: uint64(shim.Le.Uint32(b[4:])), d: uint64(shim.Le.Uint32(b[8:])),
			format: shim.Le.Uint32(b[12:]), channels: shim.Le.Uint32(b[16:]), flags: shim.Le.Uint32(b[20:])}
	case !threeD:
		b := shim.View(p, 24)
		a = arrayDesc{w: shim.Le.Uint64(b), h: shim.Le.Uint64(b[8:]), format: shim.Le.Uint32(b[16:]), channels: shim.Le.Uint32(b[20:])}
	default:
		b := shim.View(p, 40)
		a = arrayDesc{w: shim.Le.Uint64(b), h: shim.Le.Uint64(b[8:]), d: shim.Le.Uint64(b[16:]),
			format: shim.Le.Uint32(b[24:]), channels: shim.Le.Uint32(b[28:]), flags: shim.Le.Uint32(b[32:])}
	}
	return a
}

// writeArrayDesc writes a's descriptor in the form the call names. A 32-bit form cannot hold
// a dimension past 2^32 - 1, but no array is that large (ArrayDimsOK).
func writeArrayDesc(p unsafe.Pointer, a *shim.Array, threeD, legacy bool) {
	switch {
	case legacy && !threeD:
		b := shim.View(p, 16)
		putU32s(b, uint32(a.Width), uint32(a.Height), a.Format, a.Channels)
	case legacy:
		b := shim.View(p, 24)
		putU32s(b, uint32(a.Width), uint32(a.Height), uint32(a.Depth), a.Format, a.Channels, a.Flags)
	case !threeD:
		b := shim.View(p, 24)
		shim.Le.PutUint64(b, a.Width)
		shim.Le.PutUint64(b[8:], a.Height)
		putU32s(b[16:], a.Format, a.Channels)
	default:
		b := shim.View(p, 40)
		shim.Le.PutUint64(b, a.Width)
		shim.Le.PutUint64(b[8:], a.Height)
		shim.Le.PutUint64(b[16:], a.Depth)
		putU32s(b[24:], a.Format, a.Channels, a.Flags)
		shim.Le.PutUint32(b[36:], 0)
	}
}

func putU32s(b []byte, vs ...uint32) {
	for i, v := range vs {
		shim.Le.PutUint32(b[4*i:], v)
	}
}

func arrayCreate(out, desc unsafe.Pointer, threeD, legacy bool) Result {
	dev, r := ctxDevice()
	if r != Success {
		return r
	}
	if out == nil || desc == nil {
		return ErrorInvalidValue
	}
	d := readArrayDesc(desc, threeD, legacy)
	cd, elem, ok := shim.DescOfFormat(d.format, d.channels)
	if !ok || !shim.ArrayDimsOK(d.w, d.h, d.d, d.flags) {
		return ErrorInvalidValue
	}
	h, st := shim.NewArray(dev, &shim.Array{Desc: cd, Format: d.format, Channels: d.channels,
		Width: d.w, Height: d.h, Depth: d.d, Flags: d.flags, Elem: elem})
	if st != shim.OK {
		return From(st)
	}
	shim.PutPtr(out, h)
	return Success
}

// ArrayCreate is cuArrayCreate_v2: a 1D (Height 0) or 2D array.
func ArrayCreate(out, desc unsafe.Pointer) Result { return arrayCreate(out, desc, false, false) }

// ArrayCreate32 is cuArrayCreate, the pre-3.2 entry point with 32-bit dimensions.
func ArrayCreate32(out, desc unsafe.Pointer) Result { return arrayCreate(out, desc, false, true) }

// Array3DCreate is cuArray3DCreate_v2: 1D, 2D, 3D, layered and cubemap arrays.
func Array3DCreate(out, desc unsafe.Pointer) Result { return arrayCreate(out, desc, true, false) }

// Array3DCreate32 is cuArray3DCreate, with 32-bit dimensions.
func Array3DCreate32(out, desc unsafe.Pointer) Result { return arrayCreate(out, desc, true, true) }

// arrayOf resolves the caller's array in the current context.
func arrayOf(h uintptr) (*shim.Array, Result) {
	if _, r := ctxDevice(); r != Success {
		return nil, r
	}
	a, ok := shim.LookupArray(h)
	if !ok {
		return nil, ErrorInvalidHandle
	}
	return a, Success
}

func arrayGetDescriptor(out unsafe.Pointer, h uintptr, threeD, legacy bool) Result {
	a, r := arrayOf(h)
	if r != Success {
		return r
	}
	if out == nil {
		return ErrorInvalidValue
	}
	writeArrayDesc(out, a, threeD, legacy)
	return Success
}

// ArrayGetDescriptor is cuArrayGetDescriptor_v2: width, height, format and channels (of any
// array: a 3D one's depth is what cuArray3DGetDescriptor adds).
func ArrayGetDescriptor(out unsafe.Pointer, h uintptr) Result {
	return arrayGetDescriptor(out, h, false, false)
}

// ArrayGetDescriptor32 is cuArrayGetDescriptor.
func ArrayGetDescriptor32(out unsafe.Pointer, h uintptr) Result {
	return arrayGetDescriptor(out, h, false, true)
}

// Array3DGetDescriptor is cuArray3DGetDescriptor_v2.
func Array3DGetDescriptor(out unsafe.Pointer, h uintptr) Result {
	return arrayGetDescriptor(out, h, true, false)
}

// Array3DGetDescriptor32 is cuArray3DGetDescriptor.
func Array3DGetDescriptor32(out unsafe.Pointer, h uintptr) Result {
	return arrayGetDescriptor(out, h, true, true)
}

// ArrayDestroy is cuArrayDestroy: unlike cudaFreeArray, a NULL array is an invalid handle.
func ArrayDestroy(h uintptr) Result {
	if _, r := ctxDevice(); r != Success {
		return r
	}
	return From(shim.DestroyArray(h))
}

// ArrayGetPlane is cuArrayGetPlane: only multi-planar (NV12) arrays have planes, and vgpu
// makes none, so every plane index is an invalid value.
func ArrayGetPlane(out unsafe.Pointer, h uintptr, plane uint32) Result {
	if _, r := arrayOf(h); r != Success {
		return r
	}
	return ErrorInvalidValue
}

// ArrayGetMemoryRequirements is cuArrayGetMemoryRequirements: only arrays made with
// CUDA_ARRAY3D_DEFERRED_MAPPING have requirements to report; vgpu backs every array at once.
func ArrayGetMemoryRequirements(out unsafe.Pointer, h uintptr, dev int32) Result {
	if _, r := arrayOf(h); r != Success {
		return r
	}
	if _, r := device(dev); r != Success {
		return r
	}
	return ErrorInvalidValue
}

// ArrayGetSparseProperties is cuArrayGetSparseProperties: an array not made with
// CUDA_ARRAY3D_SPARSE (vgpu makes none) is an invalid value.
func ArrayGetSparseProperties(out unsafe.Pointer, h uintptr) Result {
	if _, r := arrayOf(h); r != Success {
		return r
	}
	return ErrorInvalidValue
}

// Copier moves n bytes in one direction: in process on a stream, or over a connection.
type Copier func(dst, src uintptr, n uint64, kind int32) Result

// arraySpan is the address of n bytes at byte off of the caller's array h (rows packed, so
// any span inside the array is contiguous), or an error when the span leaves it.
func arraySpan(res ArrayResolver, h uintptr, off, n uint64) (uintptr, Result) {
	l, r := res(h)
	if r != Success {
		return 0, r
	}
	total := l.Pitch * l.Rows * l.Depth
	if off > total || n > total-off {
		return 0, ErrorInvalidValue
	}
	return uintptr(l.Base + off), Success
}

// ToArray is the rule of cuMemcpyHtoA and cuMemcpyDtoA: n bytes from src to byte off of the
// array dst.
func ToArray(res ArrayResolver, cp Copier, dst uintptr, off uint64, src uintptr, n uint64, kind int32) Result {
	p, r := arraySpan(res, dst, off, n)
	if r != Success {
		return r
	}
	if kind == shim.HostToDevice && src == 0 && n != 0 {
		return ErrorInvalidValue
	}
	if n == 0 {
		return Success
	}
	return cp(p, src, n, kind)
}

// FromArray is the rule of cuMemcpyAtoH and cuMemcpyAtoD.
func FromArray(res ArrayResolver, cp Copier, dst uintptr, src uintptr, off, n uint64, kind int32) Result {
	p, r := arraySpan(res, src, off, n)
	if r != Success {
		return r
	}
	if kind == shim.DeviceToHost && dst == 0 && n != 0 {
		return ErrorInvalidValue
	}
	if n == 0 {
		return Success
	}
	return cp(dst, p, n, kind)
}

// onStreamCU is a Copier on the current context's stream h.
func onStreamCU(h uintptr) (Copier, Result) {
	s, r := stream(h)
	if r != Success {
		return nil, r
	}
	return func(dst, src uintptr, n uint64, kind int32) Result {
		return From(shim.Memcpy(s, dst, src, n, kind))
	}, Success
}

func toArrayOn(h uintptr, dst uintptr, off uint64, src uintptr, n uint64, kind int32) Result {
	cp, r := onStreamCU(h)
	if r != Success {
		return r
	}
	return ToArray(LocalArrays, cp, dst, off, src, n, kind)
}

func fromArrayOn(h uintptr, dst, src uintptr, off, n uint64, kind int32) Result {
	cp, r := onStreamCU(h)
	if r != Success {
		return r
	}
	return FromArray(LocalArrays, cp, dst, src, off, n, kind)
}

// MemcpyHtoA is cuMemcpyHtoA_v2.
func MemcpyHtoA(dst uintptr, off uint64, src uintptr, n uint64) Result {
	return toArrayOn(0, dst, off, src, n, shim.HostToDevice)
}

// MemcpyHtoAAsync is cuMemcpyHtoAAsync_v2.
func MemcpyHtoAAsync(dst uintptr, off uint64, src uintptr, n uint64, h uintptr) Result {
	return toArrayOn(h, dst, off, src, n, shim.HostToDevice)
}

// MemcpyAtoH is cuMemcpyAtoH_v2.
func MemcpyAtoH(dst uintptr, src uintptr, off, n uint64) Result {
	return fromArrayOn(0, dst, src, off, n, shim.DeviceToHost)
}

// MemcpyAtoHAsync is cuMemcpyAtoHAsync_v2.
func MemcpyAtoHAsync(dst uintptr, src uintptr, off, n uint64, h uintptr) Result {
	return fromArrayOn(h, dst, src, off, n, shim.DeviceToHost)
}

// MemcpyDtoA is cuMemcpyDtoA_v2.
func MemcpyDtoA(dst uintptr, off uint64, src uint64, n uint64) Result {
	return toArrayOn(0, dst, off, uintptr(src), n, shim.DeviceToDevice)
}

// MemcpyAtoD is cuMemcpyAtoD_v2.
func MemcpyAtoD(dst uint64, src uintptr, off, n uint64) Result {
	return fromArrayOn(0, uintptr(dst), src, off, n, shim.DeviceToDevice)
}

// MemcpyAtoA is cuMemcpyAtoA_v2: both arrays the caller's.
func MemcpyAtoA(dst uintptr, dstOff uint64, src uintptr, srcOff, n uint64) Result {
	cp, r := onStreamCU(0)
	if r != Success {
		return r
	}
	sp, r := arraySpan(LocalArrays, src, srcOff, n)
	if r != Success {
		return r
	}
	return ToArray(LocalArrays, cp, dst, dstOff, sp, n, shim.DeviceToDevice)
}

// The pre-3.2 entry points: 32-bit offsets and counts, and a 32-bit CUdeviceptr (zero-extended:
// it names device memory only where an allocation lies below 4 GiB, as on the drivers of then).

// MemcpyHtoA32 is cuMemcpyHtoA.
func MemcpyHtoA32(dst uintptr, off uint32, src uintptr, n uint32) Result {
	return MemcpyHtoA(dst, uint64(off), src, uint64(n))
}

// MemcpyHtoAAsync32 is cuMemcpyHtoAAsync.
func MemcpyHtoAAsync32(dst uintptr, off uint32, src uintptr, n uint32, h uintptr) Result {
	return MemcpyHtoAAsync(dst, uint64(off), src, uint64(n), h)
}

// MemcpyAtoH32 is cuMemcpyAtoH.
func MemcpyAtoH32(dst uintptr, src uintptr, off, n uint32) Result {
	return MemcpyAtoH(dst, src, uint64(off), uint64(n))
}

// MemcpyAtoHAsync32 is cuMemcpyAtoHAsync.
func MemcpyAtoHAsync32(dst uintptr, src uintptr, off, n uint32, h uintptr) Result {
	return MemcpyAtoHAsync(dst, src, uint64(off), uint64(n), h)
}

// MemcpyDtoA32 is cuMemcpyDtoA.
func MemcpyDtoA32(dst uintptr, off uint32, src uint32, n uint32) Result {
	return MemcpyDtoA(dst, uint64(off), uint64(src), uint64(n))
}

// MemcpyAtoD32 is cuMemcpyAtoD.
func MemcpyAtoD32(dst uint32, src uintptr, off, n uint32) Result {
	return MemcpyAtoD(uint64(dst), src, uint64(off), uint64(n))
}

// MemcpyAtoA32 is cuMemcpyAtoA.
func MemcpyAtoA32(dst uintptr, dstOff uint32, src uintptr, srcOff, n uint32) Result {
	return MemcpyAtoA(dst, uint64(dstOff), src, uint64(srcOff), uint64(n))
}

// The per-thread default stream forms.

// MemcpyHtoAPtds is cuMemcpyHtoA_v2_ptds.
func MemcpyHtoAPtds(dst uintptr, off uint64, src uintptr, n uint64) Result {
	return ptds(func(h uintptr) Result { return toArrayOn(h, dst, off, src, n, shim.HostToDevice) })
}

// MemcpyAtoHPtds is cuMemcpyAtoH_v2_ptds.
func MemcpyAtoHPtds(dst uintptr, src uintptr, off, n uint64) Result {
	return ptds(func(h uintptr) Result { return fromArrayOn(h, dst, src, off, n, shim.DeviceToHost) })
}

// MemcpyDtoAPtds is cuMemcpyDtoA_v2_ptds.
func MemcpyDtoAPtds(dst uintptr, off uint64, src uint64, n uint64) Result {
	return ptds(func(h uintptr) Result { return toArrayOn(h, dst, off, uintptr(src), n, shim.DeviceToDevice) })
}

// MemcpyAtoDPtds is cuMemcpyAtoD_v2_ptds.
func MemcpyAtoDPtds(dst uint64, src uintptr, off, n uint64) Result {
	return ptds(func(h uintptr) Result { return fromArrayOn(h, uintptr(dst), src, off, n, shim.DeviceToDevice) })
}

// MemcpyAtoAPtds is cuMemcpyAtoA_v2_ptds.
func MemcpyAtoAPtds(dst uintptr, dstOff uint64, src uintptr, srcOff, n uint64) Result {
	return ptds(func(h uintptr) Result {
		sp, r := arraySpan(LocalArrays, src, srcOff, n)
		if r != Success {
			return r
		}
		return toArrayOn(h, dst, dstOff, sp, n, shim.DeviceToDevice)
	})
}

// MemcpyHtoAAsyncPtsz is cuMemcpyHtoAAsync_v2_ptsz.
func MemcpyHtoAAsyncPtsz(dst uintptr, off uint64, src uintptr, n uint64, h uintptr) Result {
	return MemcpyHtoAAsync(dst, off, src, n, ptsz(h))
}

// MemcpyAtoHAsyncPtsz is cuMemcpyAtoHAsync_v2_ptsz.
func MemcpyAtoHAsyncPtsz(dst uintptr, src uintptr, off, n uint64, h uintptr) Result {
	return MemcpyAtoHAsync(dst, src, off, n, ptsz(h))
}

// Mipmapped arrays (shim/array.go): each level an array of the model, half the size of the
// one before; cuMipmappedArrayGetLevel hands out a level's array, which the mipmapped array
// owns (cuArrayDestroy refuses it; cuMipmappedArrayDestroy frees it).

// MipmappedArrayCreate is cuMipmappedArrayCreate: a CUDA_ARRAY3D_DESCRIPTOR for level 0 and
// a level count from 1 to 1 + log2 of the largest dimension.
func MipmappedArrayCreate(out, desc unsafe.Pointer, levels uint32) Result {
	dev, r := ctxDevice()
	if r != Success {
		return r
	}
	if out == nil || desc == nil {
		return ErrorInvalidValue
	}
	d := readArrayDesc(desc, true, false)
	cd, elem, ok := shim.DescOfFormat(d.format, d.channels)
	if !ok || !shim.ArrayDimsOK(d.w, d.h, d.d, d.flags) {
		return ErrorInvalidValue
	}
	h, st := shim.NewMipmap(dev, &shim.Array{Desc: cd, Format: d.format, Channels: d.channels,
		Width: d.w, Height: d.h, Depth: d.d, Flags: d.flags, Elem: elem}, levels)
	if st != shim.OK {
		return From(st)
	}
	shim.PutPtr(out, h)
	return Success
}

// MipmappedArrayDestroy is cuMipmappedArrayDestroy.
func MipmappedArrayDestroy(h uintptr) Result {
	if _, r := ctxDevice(); r != Success {
		return r
	}
	return From(shim.DestroyMipmap(h))
}

// MipmappedArrayGetLevel is cuMipmappedArrayGetLevel.
func MipmappedArrayGetLevel(out unsafe.Pointer, h uintptr, level uint32) Result {
	if _, r := ctxDevice(); r != Success {
		return r
	}
	if out == nil {
		return ErrorInvalidValue
	}
	a, st := shim.MipmapLevel(h, level)
	if st != shim.OK {
		return From(st)
	}
	shim.PutPtr(out, a)
	return Success
}

// MipmappedArrayGetMemoryRequirements is cuMipmappedArrayGetMemoryRequirements: as for
// arrays, only deferred-mapping ones have requirements, and vgpu makes none.
func MipmappedArrayGetMemoryRequirements(out unsafe.Pointer, h uintptr, dev int32) Result {
	if _, r := ctxDevice(); r != Success {
		return r
	}
	if _, ok := shim.LookupMipmap(h); !ok {
		return ErrorInvalidHandle
	}
	if _, r := device(dev); r != Success {
		return r
	}
	return ErrorInvalidValue
}

// MipmappedArrayGetSparseProperties is cuMipmappedArrayGetSparseProperties: none is sparse.
func MipmappedArrayGetSparseProperties(out unsafe.Pointer, h uintptr) Result {
	if _, r := ctxDevice(); r != Success {
		return r
	}
	if _, ok := shim.LookupMipmap(h); !ok {
		return ErrorInvalidHandle
	}
	return ErrorInvalidValue
}
