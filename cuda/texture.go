package cuda

import (
	"unsafe"

	"vgpu/shim"
)

// Texture and surface objects through the driver API: the runtime's objects (shim/texture.go),
// so a CUtexObject is a cudaTextureObject_t. A driver description is converted to the
// runtime's form for the shared rules, and kept as passed for the driver's getters.

// TexObjectCreate is cuTexObjectCreate (pResViewDesc may be NULL).
func TexObjectCreate(out, res, tex, view unsafe.Pointer) Result {
	if _, r := ctxDevice(); r != Success {
		return r
	}
	if out == nil || res == nil || tex == nil {
		return ErrorInvalidValue
	}
	dres, dtex := shim.View(res, shim.DResDescSize), shim.View(tex, shim.DTexDescSize)
	if shim.Le.Uint32(dres[136:]) != 0 { // CUDA_RESOURCE_DESC::flags: reserved, must be 0
		return ErrorInvalidValue
	}
	rres := shim.RuntimeRes(dres)
	kind, bits, f := shim.CheckResource(rres, false)
	if f != shim.TexOK {
		return ErrorInvalidValue
	}
	var dview, rview []byte
	if view != nil {
		dview = append([]byte(nil), shim.View(view, shim.DViewDescSize)...)
		rview = dview[:shim.ViewDescSize]
	}
	h, f := shim.NewTexture(rres, shim.RuntimeTex(dtex, kind, bits), rview,
		append([]byte(nil), dres...), append([]byte(nil), dtex...), dview)
	if f != shim.TexOK {
		return texResult(f)
	}
	shim.PutU64(out, uint64(h))
	return Success
}

// TexObjectDestroy is cuTexObjectDestroy.
func TexObjectDestroy(obj uint64) Result {
	if _, r := ctxDevice(); r != Success {
		return r
	}
	if !shim.DestroyTexture(obj) {
		return ErrorInvalidValue
	}
	return Success
}

func texGet(out unsafe.Pointer, obj uint64, pick func(*shim.Texture) []byte) Result {
	if _, r := ctxDevice(); r != Success {
		return r
	}
	t, ok := shim.LookupTexture(obj)
	if !ok || out == nil || pick(t) == nil {
		return ErrorInvalidValue
	}
	b := pick(t)
	copy(shim.View(out, len(b)), b)
	return Success
}

// TexObjectGetResourceDesc is cuTexObjectGetResourceDesc.
func TexObjectGetResourceDesc(out unsafe.Pointer, obj uint64) Result {
	return texGet(out, obj, func(t *shim.Texture) []byte { return t.DRes })
}

// TexObjectGetTextureDesc is cuTexObjectGetTextureDesc.
func TexObjectGetTextureDesc(out unsafe.Pointer, obj uint64) Result {
	return texGet(out, obj, func(t *shim.Texture) []byte { return t.DTex })
}

// TexObjectGetResourceViewDesc is cuTexObjectGetResourceViewDesc: a texture made without a
// view has none (an invalid value).
func TexObjectGetResourceViewDesc(out unsafe.Pointer, obj uint64) Result {
	return texGet(out, obj, func(t *shim.Texture) []byte { return t.DView })
}

// SurfObjectCreate is cuSurfObjectCreate: over an array made with CUDA_ARRAY3D_SURFACE_LDST.
func SurfObjectCreate(out, res unsafe.Pointer) Result {
	if _, r := ctxDevice(); r != Success {
		return r
	}
	if out == nil || res == nil {
		return ErrorInvalidValue
	}
	dres := shim.View(res, shim.DResDescSize)
	if shim.Le.Uint32(dres[136:]) != 0 {
		return ErrorInvalidValue
	}
	h, f := shim.NewSurface(shim.RuntimeRes(dres), append([]byte(nil), dres...))
	if f != shim.TexOK {
		return texResult(f)
	}
	shim.PutU64(out, uint64(h))
	return Success
}

// SurfObjectDestroy is cuSurfObjectDestroy.
func SurfObjectDestroy(obj uint64) Result {
	if _, r := ctxDevice(); r != Success {
		return r
	}
	if !shim.DestroySurface(obj) {
		return ErrorInvalidValue
	}
	return Success
}

// SurfObjectGetResourceDesc is cuSurfObjectGetResourceDesc.
func SurfObjectGetResourceDesc(out unsafe.Pointer, obj uint64) Result {
	if _, r := ctxDevice(); r != Success {
		return r
	}
	s, ok := shim.LookupSurface(obj)
	if !ok || out == nil {
		return ErrorInvalidValue
	}
	copy(shim.View(out, shim.DResDescSize), s.DRes)
	return Success
}

// texResult is a refusal in the driver's codes.
func texResult(f shim.TexFault) Result {
	if f == shim.TexUnsupported {
		return ErrorNotSupported
	}
	return ErrorInvalidValue
}
