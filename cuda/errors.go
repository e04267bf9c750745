package cuda

import (
	"unsafe"

	"vgpu/shim"
)

// GetErrorString is cuGetErrorString: INVALID_VALUE (and NULL) for an unknown code.
func GetErrorString(code int32, out unsafe.Pointer) Result {
	if out == nil {
		return ErrorInvalidValue
	}
	d, ok := Result(code).Description()
	if !ok {
		shim.PutPtr(out, 0)
		return ErrorInvalidValue
	}
	shim.PutPtr(out, uintptr(shim.CStr(d)))
	return Success
}

// GetErrorName is cuGetErrorName.
func GetErrorName(code int32, out unsafe.Pointer) Result {
	if out == nil {
		return ErrorInvalidValue
	}
	n, ok := Result(code).Name()
	if !ok {
		shim.PutPtr(out, 0)
		return ErrorInvalidValue
	}
	shim.PutPtr(out, uintptr(shim.CStr(n)))
	return Success
}
