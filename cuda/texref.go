package cuda

import (
	"math"
	"sync"
	"unsafe"

	"vgpu/shim"
)

// Texture references (cuTexRef*, deprecated by NVIDIA but still exported): a host-side
// descriptor that a program fills setter by setter and reads back getter by getter; it is
// bound to an array, a mipmapped array or linear memory. Kernels do not sample in the sim, so
// the reference's state is all there is to observe. A reference is a handle of its creator,
// resolved owner-aware; what it is bound to is resolved the same way when it is bound.
// Surface references and a module's texture or surface references by name exist only in
// images that declare them; vgpu's modules declare none, so cuModuleGetTexRef and
// cuModuleGetSurfRef answer not found, and no CUsurfref handle is ever valid.

// TexRef is one texture reference.
type TexRef struct {
	mu            sync.Mutex
	array, mipmap uintptr // bound resource (one of these, or linear memory)
	addr          uint64  // bound linear memory (0: none)
	pitch2D       bool
	format        uint32
	channels      int32
	address       [3]uint32
	filter        uint32
	mipFilter     uint32
	flags         uint32
	aniso         uint32
	bias          float32
	minClamp      float32
	maxClamp      float32
	border        [4]float32
}

// Texture reference constants (CU_TRSA_*, CU_TRSF_*).
const (
	trsaOverrideFormat = 1
	trsfKnown          = 0x1 | 0x2 | 0x10 | 0x20 | 0x40
)

func texRefOf(h uintptr) (*TexRef, Result) {
	if _, r := ctxDevice(); r != Success {
		return nil, r
	}
	t, ok := shim.Lookup[*TexRef](shim.KindTexRef, h)
	if !ok {
		return nil, ErrorInvalidHandle
	}
	return t, Success
}

// withTexRef runs f on the caller's texture reference h, locked.
func withTexRef(h uintptr, f func(t *TexRef) Result) Result {
	t, r := texRefOf(h)
	if r != Success {
		return r
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return f(t)
}

// TexRefCreate is cuTexRefCreate: a reference bound to nothing, 1-channel float, clamped,
// point-filtered.
func TexRefCreate(out unsafe.Pointer) Result {
	if _, r := ctxDevice(); r != Success {
		return r
	}
	if out == nil {
		return ErrorInvalidValue
	}
	t := &TexRef{format: shim.FmtF32, channels: 1, address: [3]uint32{1, 1, 1}}
	shim.PutPtr(out, shim.NewHandle(shim.KindTexRef, t))
	return Success
}

// TexRefDestroy is cuTexRefDestroy.
func TexRefDestroy(h uintptr) Result {
	if _, r := texRefOf(h); r != Success {
		return r
	}
	if !shim.Release(shim.KindTexRef, h) {
		return ErrorInvalidHandle
	}
	return Success
}

func (t *TexRef) unbind() { t.array, t.mipmap, t.addr, t.pitch2D = 0, 0, 0, false }

// TexRefSetArray is cuTexRefSetArray: Flags must be CU_TRSA_OVERRIDE_FORMAT; the array's
// format becomes the reference's.
func TexRefSetArray(h, arr uintptr, flags uint32) Result {
	return withTexRef(h, func(t *TexRef) Result {
		if flags != trsaOverrideFormat {
			return ErrorInvalidValue
		}
		a, ok := shim.LookupArray(arr)
		if !ok {
			return ErrorInvalidHandle
		}
		t.unbind()
		t.array, t.format, t.channels = arr, a.Format, int32(a.Channels)
		return Success
	})
}

// TexRefSetMipmappedArray is cuTexRefSetMipmappedArray.
func TexRefSetMipmappedArray(h, mip uintptr, flags uint32) Result {
	return withTexRef(h, func(t *TexRef) Result {
		if flags != trsaOverrideFormat {
			return ErrorInvalidValue
		}
		m, ok := shim.LookupMipmap(mip)
		if !ok {
			return ErrorInvalidHandle
		}
		a, ok := shim.LookupArray(m.Levels[0])
		if !ok {
			return ErrorInvalidHandle
		}
		t.unbind()
		t.mipmap, t.format, t.channels = mip, a.Format, int32(a.Channels)
		return Success
	})
}

// TexRefSetAddress is cuTexRefSetAddress_v2: binds bytes of linear memory at dptr (which must
// lie in one of the caller's allocations) and passes back the offset from the texture base,
// which the hardware aligns down to 512 bytes. A dptr of 0 unbinds.
func TexRefSetAddress(off unsafe.Pointer, h uintptr, dptr, bytes uint64) Result {
	return withTexRef(h, func(t *TexRef) Result {
		if dptr == 0 {
			t.unbind()
			if off != nil {
				shim.PutU64(off, 0)
			}
			return Success
		}
		if bytes == 0 || bytes > 1<<40 {
			return ErrorInvalidValue
		}
		if _, st := shim.DeviceRange(uintptr(dptr), bytes); st != shim.OK {
			return ErrorInvalidValue
		}
		t.unbind()
		t.addr = dptr
		if off != nil {
			shim.PutU64(off, dptr%512)
		}
		return Success
	})
}

// TexRefSetAddress32 is cuTexRefSetAddress (pre-3.2: 32-bit offset, address and size).
func TexRefSetAddress32(off unsafe.Pointer, h uintptr, dptr, bytes uint32) Result {
	var o uint64
	r := TexRefSetAddress(unsafe.Pointer(&o), h, uint64(dptr), uint64(bytes))
	if r == Success && off != nil {
		shim.PutU32(off, uint32(o))
	}
	return r
}

// texRefSet2D binds pitched memory described by a CUDA_ARRAY_DESCRIPTOR (v2 or pre-3.2).
func texRefSet2D(h uintptr, desc unsafe.Pointer, dptr, pitch uint64, legacy bool) Result {
	return withTexRef(h, func(t *TexRef) Result {
		if desc == nil {
			return ErrorInvalidValue
		}
		d := readArrayDesc(desc, false, legacy)
		_, elem, ok := shim.DescOfFormat(d.format, d.channels)
		// texturePitchAlignment 32; maxTexture2DLinear 131072 x 65000; a 512-byte aligned base.
		if !ok || dptr%512 != 0 || pitch%32 != 0 || d.w == 0 || d.h == 0 || d.w > 131072 || d.h > 65000 || d.w*elem > pitch || pitch > 1<<40 {
			return ErrorInvalidValue
		}
		if _, st := shim.DeviceRange(uintptr(dptr), pitch*(d.h-1)+d.w*elem); st != shim.OK {
			return ErrorInvalidValue
		}
		t.unbind()
		t.addr, t.pitch2D, t.format, t.channels = dptr, true, d.format, int32(d.channels)
		return Success
	})
}

// TexRefSetAddress2D is cuTexRefSetAddress2D_v3 (and _v2, the same signature).
func TexRefSetAddress2D(h uintptr, desc unsafe.Pointer, dptr, pitch uint64) Result {
	return texRefSet2D(h, desc, dptr, pitch, false)
}

// TexRefSetAddress2D32 is cuTexRefSetAddress2D (pre-3.2 descriptor, 32-bit address and pitch).
func TexRefSetAddress2D32(h uintptr, desc unsafe.Pointer, dptr, pitch uint32) Result {
	return texRefSet2D(h, desc, uint64(dptr), uint64(pitch), true)
}

// TexRefSetFormat is cuTexRefSetFormat: a format the driver knows, 1, 2 or 4 components.
func TexRefSetFormat(h uintptr, format, n int32) Result {
	return withTexRef(h, func(t *TexRef) Result {
		if _, _, ok := shim.DescOfFormat(uint32(format), uint32(n)); !ok || n < 1 {
			return ErrorInvalidValue
		}
		t.format, t.channels = uint32(format), n
		return Success
	})
}

// TexRefSetAddressMode is cuTexRefSetAddressMode: dimension 0..2; wrap, clamp, mirror, border.
func TexRefSetAddressMode(h uintptr, dim, mode int32) Result {
	return withTexRef(h, func(t *TexRef) Result {
		if dim < 0 || dim > 2 || mode < 0 || mode > 3 {
			return ErrorInvalidValue
		}
		t.address[dim] = uint32(mode)
		return Success
	})
}

// TexRefSetFilterMode is cuTexRefSetFilterMode: point or linear.
func TexRefSetFilterMode(h uintptr, mode int32) Result {
	return withTexRef(h, func(t *TexRef) Result {
		if mode < 0 || mode > 1 {
			return ErrorInvalidValue
		}
		t.filter = uint32(mode)
		return Success
	})
}

// TexRefSetMipmapFilterMode is cuTexRefSetMipmapFilterMode.
func TexRefSetMipmapFilterMode(h uintptr, mode int32) Result {
	return withTexRef(h, func(t *TexRef) Result {
		if mode < 0 || mode > 1 {
			return ErrorInvalidValue
		}
		t.mipFilter = uint32(mode)
		return Success
	})
}

// TexRefSetFlags is cuTexRefSetFlags: CU_TRSF_* bits only.
func TexRefSetFlags(h uintptr, flags uint32) Result {
	return withTexRef(h, func(t *TexRef) Result {
		if flags&^trsfKnown != 0 {
			return ErrorInvalidValue
		}
		t.flags = flags
		return Success
	})
}

// TexRefSetMaxAnisotropy is cuTexRefSetMaxAnisotropy (the hardware's range is 1..16).
func TexRefSetMaxAnisotropy(h uintptr, aniso uint32) Result {
	return withTexRef(h, func(t *TexRef) Result {
		if aniso > 16 {
			return ErrorInvalidValue
		}
		t.aniso = aniso
		return Success
	})
}

func finite(fs ...float32) bool {
	for _, f := range fs {
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return false
		}
	}
	return true
}

// TexRefSetMipmapLevelBias is cuTexRefSetMipmapLevelBias.
func TexRefSetMipmapLevelBias(h uintptr, bias float32) Result {
	return withTexRef(h, func(t *TexRef) Result {
		if !finite(bias) {
			return ErrorInvalidValue
		}
		t.bias = bias
		return Success
	})
}

// TexRefSetMipmapLevelClamp is cuTexRefSetMipmapLevelClamp.
func TexRefSetMipmapLevelClamp(h uintptr, lo, hi float32) Result {
	return withTexRef(h, func(t *TexRef) Result {
		if !finite(lo, hi) || lo > hi {
			return ErrorInvalidValue
		}
		t.minClamp, t.maxClamp = lo, hi
		return Success
	})
}

// TexRefSetBorderColor is cuTexRefSetBorderColor: four floats.
func TexRefSetBorderColor(h uintptr, c unsafe.Pointer) Result {
	return withTexRef(h, func(t *TexRef) Result {
		if c == nil {
			return ErrorInvalidValue
		}
		b := shim.View(c, 16)
		for i := range t.border {
			t.border[i] = math.Float32frombits(shim.Le.Uint32(b[4*i:]))
		}
		return Success
	})
}

// getter runs f when out is not NULL.
func texGetter(h uintptr, out unsafe.Pointer, f func(t *TexRef) Result) Result {
	return withTexRef(h, func(t *TexRef) Result {
		if out == nil {
			return ErrorInvalidValue
		}
		return f(t)
	})
}

// TexRefGetAddress is cuTexRefGetAddress_v2: linear memory only.
func TexRefGetAddress(out unsafe.Pointer, h uintptr) Result {
	return texGetter(h, out, func(t *TexRef) Result {
		if t.addr == 0 {
			return ErrorInvalidValue
		}
		shim.PutU64(out, t.addr)
		return Success
	})
}

// TexRefGetAddress32 is cuTexRefGetAddress (a 32-bit CUdeviceptr: an address past 4 GiB
// does not fit, an invalid value).
func TexRefGetAddress32(out unsafe.Pointer, h uintptr) Result {
	return texGetter(h, out, func(t *TexRef) Result {
		if t.addr == 0 || t.addr > math.MaxUint32 {
			return ErrorInvalidValue
		}
		shim.PutU32(out, uint32(t.addr))
		return Success
	})
}

// TexRefGetArray is cuTexRefGetArray: a reference bound to an array only.
func TexRefGetArray(out unsafe.Pointer, h uintptr) Result {
	return texGetter(h, out, func(t *TexRef) Result {
		if t.array == 0 {
			return ErrorInvalidValue
		}
		shim.PutPtr(out, t.array)
		return Success
	})
}

// TexRefGetMipmappedArray is cuTexRefGetMipmappedArray.
func TexRefGetMipmappedArray(out unsafe.Pointer, h uintptr) Result {
	return texGetter(h, out, func(t *TexRef) Result {
		if t.mipmap == 0 {
			return ErrorInvalidValue
		}
		shim.PutPtr(out, t.mipmap)
		return Success
	})
}

// TexRefGetAddressMode is cuTexRefGetAddressMode.
func TexRefGetAddressMode(out unsafe.Pointer, h uintptr, dim int32) Result {
	return texGetter(h, out, func(t *TexRef) Result {
		if dim < 0 || dim > 2 {
			return ErrorInvalidValue
		}
		shim.PutU32(out, t.address[dim])
		return Success
	})
}

// TexRefGetFilterMode is cuTexRefGetFilterMode.
func TexRefGetFilterMode(out unsafe.Pointer, h uintptr) Result {
	return texGetter(h, out, func(t *TexRef) Result { shim.PutU32(out, t.filter); return Success })
}

// TexRefGetMipmapFilterMode is cuTexRefGetMipmapFilterMode.
func TexRefGetMipmapFilterMode(out unsafe.Pointer, h uintptr) Result {
	return texGetter(h, out, func(t *TexRef) Result { shim.PutU32(out, t.mipFilter); return Success })
}

// TexRefGetFlags is cuTexRefGetFlags.
func TexRefGetFlags(out unsafe.Pointer, h uintptr) Result {
	return texGetter(h, out, func(t *TexRef) Result { shim.PutU32(out, t.flags); return Success })
}

// TexRefGetMaxAnisotropy is cuTexRefGetMaxAnisotropy.
func TexRefGetMaxAnisotropy(out unsafe.Pointer, h uintptr) Result {
	return texGetter(h, out, func(t *TexRef) Result { shim.PutU32(out, t.aniso); return Success })
}

// TexRefGetMipmapLevelBias is cuTexRefGetMipmapLevelBias.
func TexRefGetMipmapLevelBias(out unsafe.Pointer, h uintptr) Result {
	return texGetter(h, out, func(t *TexRef) Result { shim.PutU32(out, math.Float32bits(t.bias)); return Success })
}

// TexRefGetMipmapLevelClamp is cuTexRefGetMipmapLevelClamp: both outputs required.
func TexRefGetMipmapLevelClamp(lo, hi unsafe.Pointer, h uintptr) Result {
	return texGetter(h, lo, func(t *TexRef) Result {
		if hi == nil {
			return ErrorInvalidValue
		}
		shim.PutU32(lo, math.Float32bits(t.minClamp))
		shim.PutU32(hi, math.Float32bits(t.maxClamp))
		return Success
	})
}

// TexRefGetBorderColor is cuTexRefGetBorderColor.
func TexRefGetBorderColor(out unsafe.Pointer, h uintptr) Result {
	return texGetter(h, out, func(t *TexRef) Result {
		b := shim.View(out, 16)
		for i, c := range t.border {
			shim.Le.PutUint32(b[4*i:], math.Float32bits(c))
		}
		return Success
	})
}

// TexRefGetFormat is cuTexRefGetFormat: either output may be NULL, not both.
func TexRefGetFormat(format, n unsafe.Pointer, h uintptr) Result {
	return withTexRef(h, func(t *TexRef) Result {
		if format == nil && n == nil {
			return ErrorInvalidValue
		}
		if format != nil {
			shim.PutU32(format, t.format)
		}
		if n != nil {
			shim.PutU32(n, uint32(t.channels))
		}
		return Success
	})
}

// ModuleGetTexRef is cuModuleGetTexRef: vgpu's modules declare no texture references.
func ModuleGetTexRef(out unsafe.Pointer, h uintptr, name unsafe.Pointer) Result {
	if _, r := ctxDevice(); r != Success {
		return r
	}
	if _, _, r := FunctionName(out, h, name); r != Success {
		return r
	}
	return ErrorNotFound
}

// ModuleGetSurfRef is cuModuleGetSurfRef: nor surface references.
func ModuleGetSurfRef(out unsafe.Pointer, h uintptr, name unsafe.Pointer) Result {
	return ModuleGetTexRef(out, h, name)
}

// SurfRefSetArray is cuSurfRefSetArray: no surface reference exists to bind.
func SurfRefSetArray(h, arr uintptr, flags uint32) Result {
	if _, r := ctxDevice(); r != Success {
		return r
	}
	return ErrorInvalidHandle
}

// SurfRefGetArray is cuSurfRefGetArray.
func SurfRefGetArray(out unsafe.Pointer, h uintptr) Result {
	if _, r := ctxDevice(); r != Success {
		return r
	}
	return ErrorInvalidHandle
}

// ParamSetTexRef is cuParamSetTexRef: the function and reference must be the caller's, and
// the texture unit CU_PARAM_TR_DEFAULT (-1), the only one the driver accepts.
func ParamSetTexRef(f uintptr, unit int32, h uintptr) Result {
	if _, r := kernelOf(f); r != Success {
		return r
	}
	if _, r := texRefOf(h); r != Success {
		return r
	}
	if unit != -1 {
		return ErrorInvalidValue
	}
	return Success
}
