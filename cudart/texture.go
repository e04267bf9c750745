package cudart

import (
	"unsafe"

	"vgpu/shim"
)

// Texture and surface objects (issue 13). Kernels do not run in the sim, so what a program
// can observe is the checking of the descriptors, the objects' lifetime and the getters
// returning what was set; under remote the objects are the server's handles, owned by the
// client that made them (another client's is as unknown as a wild value).
//
// Descriptor layouts, as NVIDIA's ABI lays them out (CUDA 12 and 13):
//   cudaResourceDesc, 64 bytes read: u32 resType at 0, the union at 8: array / mipmap handle
//   at 8; linear {devPtr 8, desc 16..36, sizeInBytes 40}; pitch2D {devPtr 8, desc 16..36,
//   width 40, height 48, pitchInBytes 56}. (CUDA 12.x appended u32 flags at 64, which must be 0:
//   it is not read, so a caller built against either header is served.)
//   cudaTextureDesc, 72 bytes: addressMode[3] 0..12, filterMode 12, readMode 16, sRGB 20,
//   borderColor[4] 24..40, normalizedCoords 40, maxAnisotropy 44, mipmapFilterMode 48,
//   mipmapLevelBias 52, min/maxMipmapLevelClamp 56/60, disableTrilinearOptimization 64,
//   seamlessCubemap 68.
//   cudaResourceViewDesc, 48 bytes: format 0, width 8, height 16, depth 24, first/last mipmap
//   level 32/36, first/last layer 40/44.

const (
	resDescSize  = 64
	texDescSize  = 72
	viewDescSize = 48

	resArray    = 0
	resMipmap   = 1
	resLinear   = 2
	resPitch2D  = 3
	texAlign    = 512 // cudaDeviceProp::textureAlignment
	pitchAlign  = 32  // cudaDeviceProp::texturePitchAlignment
	arraySurfLS = 2   // cudaArraySurfaceLoadStore
)

type texture struct {
	res, tex, view []byte // copies of what the program passed (view nil when none)
}

type surface struct{ res []byte }

func copyOf(p unsafe.Pointer, n int) []byte { return append([]byte(nil), shim.View(p, n)...) }

// checkResource checks a cudaResourceDesc for a texture (surface: an array made for surface
// load/store) and returns the format's element size (arrays: their own).
func checkResource(b []byte, surf bool) (elem uint64, kind int32, e Error) {
	u64 := func(off int) uint64 { return shim.Le.Uint64(b[off:]) }
	desc := func() [5]int32 {
		var d [5]int32
		for i := range d {
			d[i] = int32(shim.Le.Uint32(b[16+4*i:]))
		}
		return d
	}
	switch t := shim.Le.Uint32(b); {
	case t == resArray:
		a, ok := shim.Lookup[*Array](shim.KindArray, uintptr(u64(8)))
		// A surface over an array made without cudaArraySurfaceLoadStore is still created:
		// NVIDIA's runtime 13 on driver 580 answers cudaSuccess (tests/programs/arrays.cu).
		if !ok {
			return 0, 0, ErrorInvalidValue
		}
		return a.Elem, a.Desc[4], Success
	case surf || t == resMipmap: // no mipmapped arrays are made here, so no handle names one
		return 0, 0, ErrorInvalidValue
	case t == resLinear:
		d := desc()
		elem, e := ChannelElem(d)
		if e != Success {
			return 0, 0, e
		}
		p, n := uintptr(u64(8)), u64(40)
		// The H100's cudaDeviceProp::maxTexture1DLinear: 2^28 elements.
		if p%texAlign != 0 || n == 0 || n > elem<<28 {
			return 0, 0, ErrorInvalidValue
		}
		if _, st := shim.DeviceRange(p, n); st != shim.OK {
			return 0, 0, ErrorInvalidValue
		}
		return elem, d[4], Success
	case t == resPitch2D:
		d := desc()
		elem, e := ChannelElem(d)
		if e != Success {
			return 0, 0, e
		}
		p, w, h, pitch := uintptr(u64(8)), u64(40), u64(48), u64(56)
		// maxTexture2DLinear: 131072 x 65000.
		if p%texAlign != 0 || pitch%pitchAlign != 0 || w == 0 || h == 0 || w > 131072 || h > 65000 || w*elem > pitch || pitch > 1<<40 {
			return 0, 0, ErrorInvalidValue
		}
		if _, st := shim.DeviceRange(p, pitch*(h-1)+w*elem); st != shim.OK {
			return 0, 0, ErrorInvalidValue
		}
		return elem, d[4], Success
	}
	return 0, 0, ErrorInvalidValue
}

// CreateTextureObject is cudaCreateTextureObject.
func CreateTextureObject(out, res, tex, view unsafe.Pointer) Error {
	if _, e := currentDevice(); e != Success {
		return e
	}
	if out == nil || res == nil || tex == nil {
		return ErrorInvalidValue
	}
	rb, tb := shim.View(res, resDescSize), shim.View(tex, texDescSize)
	elem, kind, e := checkResource(rb, false)
	if e != Success {
		return e
	}
	if e := checkTexDescFor(rb, tb, kind, elem); e != Success {
		return e
	}
	t := &texture{res: copyOf(res, resDescSize), tex: copyOf(tex, texDescSize)}
	if view != nil {
		if e := checkView(rb, shim.View(view, viewDescSize)); e != Success {
			return e
		}
		t.view = copyOf(view, viewDescSize)
	}
	shim.PutU64(out, uint64(shim.NewHandle(shim.KindTexture, t)))
	return Success
}

// checkTexDescFor finds the bits of one channel of the resource's format, then checks the
// texture descriptor against it.
func checkTexDescFor(rb, tb []byte, kind int32, elem uint64) Error {
	var bits int32
	if shim.Le.Uint32(rb) == resArray {
		a, ok := shim.Lookup[*Array](shim.KindArray, uintptr(shim.Le.Uint64(rb[8:])))
		if !ok { // freed by another of the caller's threads since checkResource
			return ErrorInvalidValue
		}
		bits = a.Desc[0]
	} else {
		bits = int32(shim.Le.Uint32(rb[16:]))
	}
	u32 := func(off int) uint32 { return shim.Le.Uint32(tb[off:]) }
	for i := 0; i < 3; i++ {
		if u32(4*i) > 3 { // wrap, clamp, mirror, border
			return ErrorInvalidValue
		}
	}
	filter, read := u32(12), u32(16)
	if filter > 1 || read > 1 || u32(48) > 1 || u32(44) > 16 {
		return ErrorInvalidValue
	}
	integer := kind == chanSigned || kind == chanUnsigned
	if integer && read == 0 && filter == 1 { // linear filtering returns floats
		return ErrorInvalidValue
	}
	if integer && read == 1 && bits == 32 { // 32-bit integers have no normalized-float form
		return ErrorInvalidValue
	}
	return Success
}

// checkView checks a cudaResourceViewDesc: only over an array, within its extent, one level.
func checkView(rb, vb []byte) Error {
	if shim.Le.Uint32(rb) != resArray {
		return ErrorInvalidValue
	}
	a, ok := shim.Lookup[*Array](shim.KindArray, uintptr(shim.Le.Uint64(rb[8:])))
	if !ok {
		return ErrorInvalidValue
	}
	u64 := func(off int) uint64 { return shim.Le.Uint64(vb[off:]) }
	u32 := func(off int) uint32 { return shim.Le.Uint32(vb[off:]) }
	layers := max(a.Depth, 1)
	if u32(0) > 0x22 || u64(8) > a.Width || u64(16) > a.Height || u64(24) > a.Depth ||
		u32(32) != 0 || u32(36) != 0 || u32(40) > u32(44) || uint64(u32(44)) >= layers {
		return ErrorInvalidValue
	}
	return Success
}

// DestroyTextureObject is cudaDestroyTextureObject.
func DestroyTextureObject(obj uint64) Error {
	if _, e := begin(); e != Success {
		return e
	}
	if !shim.Release(shim.KindTexture, uintptr(obj)) {
		return ErrorInvalidValue
	}
	return Success
}

func textureOf(obj uint64) (*texture, Error) {
	if _, e := begin(); e != Success {
		return nil, e
	}
	t, ok := shim.Lookup[*texture](shim.KindTexture, uintptr(obj))
	if !ok {
		return nil, ErrorInvalidValue
	}
	return t, Success
}

// GetTextureObjectResourceDesc is cudaGetTextureObjectResourceDesc.
func GetTextureObjectResourceDesc(out unsafe.Pointer, obj uint64) Error {
	t, e := textureOf(obj)
	if e == Success && out == nil {
		e = ErrorInvalidValue
	}
	if e != Success {
		return e
	}
	copy(shim.View(out, resDescSize), t.res)
	return Success
}

// GetTextureObjectTextureDesc is cudaGetTextureObjectTextureDesc.
func GetTextureObjectTextureDesc(out unsafe.Pointer, obj uint64) Error {
	t, e := textureOf(obj)
	if e == Success && out == nil {
		e = ErrorInvalidValue
	}
	if e != Success {
		return e
	}
	copy(shim.View(out, texDescSize), t.tex)
	return Success
}

// GetTextureObjectResourceViewDesc is cudaGetTextureObjectResourceViewDesc: a texture made
// without a view has none to return (cudaErrorInvalidValue).
func GetTextureObjectResourceViewDesc(out unsafe.Pointer, obj uint64) Error {
	t, e := textureOf(obj)
	if e == Success && (out == nil || t.view == nil) {
		e = ErrorInvalidValue
	}
	if e != Success {
		return e
	}
	copy(shim.View(out, viewDescSize), t.view)
	return Success
}

// CreateSurfaceObject is cudaCreateSurfaceObject: over an array (any array, as NVIDIA's
// runtime creates it; a kernel's surface writes need cudaArraySurfaceLoadStore).
func CreateSurfaceObject(out, res unsafe.Pointer) Error {
	if _, e := currentDevice(); e != Success {
		return e
	}
	if out == nil || res == nil {
		return ErrorInvalidValue
	}
	if _, _, e := checkResource(shim.View(res, resDescSize), true); e != Success {
		return e
	}
	shim.PutU64(out, uint64(shim.NewHandle(shim.KindSurface, &surface{res: copyOf(res, resDescSize)})))
	return Success
}

// DestroySurfaceObject is cudaDestroySurfaceObject.
func DestroySurfaceObject(obj uint64) Error {
	if _, e := begin(); e != Success {
		return e
	}
	if !shim.Release(shim.KindSurface, uintptr(obj)) {
		return ErrorInvalidValue
	}
	return Success
}

// GetSurfaceObjectResourceDesc is cudaGetSurfaceObjectResourceDesc.
func GetSurfaceObjectResourceDesc(out unsafe.Pointer, obj uint64) Error {
	if _, e := begin(); e != Success {
		return e
	}
	s, ok := shim.Lookup[*surface](shim.KindSurface, uintptr(obj))
	if !ok || out == nil {
		return ErrorInvalidValue
	}
	copy(shim.View(out, resDescSize), s.res)
	return Success
}
