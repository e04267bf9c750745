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
// The objects and their rules are the model's (shim/texture.go), shared with the driver's
// cuTexObjectCreate; the layouts are documented there.

const (
	resDescSize  = shim.ResDescSize
	texDescSize  = shim.TexDescSize
	viewDescSize = shim.ViewDescSize
)

// texError is a refusal in the runtime's codes.
func texError(f shim.TexFault) Error {
	switch f {
	case shim.TexOK:
		return Success
	case shim.TexBadChannels:
		return ErrorInvalidChannelDescriptor
	case shim.TexUnsupported:
		return ErrorNotSupported
	}
	return ErrorInvalidValue
}

// CreateTextureObject is cudaCreateTextureObject.
func CreateTextureObject(out, res, tex, view unsafe.Pointer) Error {
	if _, e := currentDevice(); e != Success {
		return e
	}
	if out == nil || res == nil || tex == nil {
		return ErrorInvalidValue
	}
	var vb []byte
	if view != nil {
		vb = shim.View(view, viewDescSize)
	}
	h, f := shim.NewTexture(shim.View(res, resDescSize), shim.View(tex, texDescSize), vb, nil, nil, nil)
	if f != shim.TexOK {
		return texError(f)
	}
	shim.PutU64(out, uint64(h))
	return Success
}

// DestroyTextureObject is cudaDestroyTextureObject.
func DestroyTextureObject(obj uint64) Error {
	if _, e := begin(); e != Success {
		return e
	}
	if !shim.DestroyTexture(obj) {
		return ErrorInvalidValue
	}
	return Success
}

func textureOf(obj uint64) (*shim.Texture, Error) {
	if _, e := begin(); e != Success {
		return nil, e
	}
	t, ok := shim.LookupTexture(obj)
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
	copy(shim.View(out, resDescSize), t.Res)
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
	copy(shim.View(out, texDescSize), t.Tex)
	return Success
}

// GetTextureObjectResourceViewDesc is cudaGetTextureObjectResourceViewDesc: a texture made
// without a view has none to return (cudaErrorInvalidValue).
func GetTextureObjectResourceViewDesc(out unsafe.Pointer, obj uint64) Error {
	t, e := textureOf(obj)
	if e == Success && (out == nil || t.View == nil) {
		e = ErrorInvalidValue
	}
	if e != Success {
		return e
	}
	copy(shim.View(out, viewDescSize), t.View)
	return Success
}

// CreateSurfaceObject is cudaCreateSurfaceObject: over an array made with
// cudaArraySurfaceLoadStore only.
func CreateSurfaceObject(out, res unsafe.Pointer) Error {
	if _, e := currentDevice(); e != Success {
		return e
	}
	if out == nil || res == nil {
		return ErrorInvalidValue
	}
	h, f := shim.NewSurface(shim.View(res, resDescSize), nil)
	if f != shim.TexOK {
		return texError(f)
	}
	shim.PutU64(out, uint64(h))
	return Success
}

// DestroySurfaceObject is cudaDestroySurfaceObject.
func DestroySurfaceObject(obj uint64) Error {
	if _, e := begin(); e != Success {
		return e
	}
	if !shim.DestroySurface(obj) {
		return ErrorInvalidValue
	}
	return Success
}

// GetSurfaceObjectResourceDesc is cudaGetSurfaceObjectResourceDesc.
func GetSurfaceObjectResourceDesc(out unsafe.Pointer, obj uint64) Error {
	if _, e := begin(); e != Success {
		return e
	}
	s, ok := shim.LookupSurface(obj)
	if !ok || out == nil {
		return ErrorInvalidValue
	}
	copy(shim.View(out, resDescSize), s.Res)
	return Success
}
