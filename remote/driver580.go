package remote

import (
	"unsafe"

	"vgpu/cuda"
)

// Driver 580's calls that a remote client cannot send as they are.

// CtxCreate4 is cuCtxCreate_v4 for a remote client: CUctxCreateParams points at the
// client's memory, so the client reads it (cuda.CtxCreate4With) and the server creates the
// context through cuCtxCreate_v3, with the execution affinities copied, or answers whether
// the device supports CUDA in graphics.
func CtxCreate4(pctx unsafe.Pointer, params uintptr, flags uint32, dev int32) int32 {
	ops := cuda.CtxCreate4Ops{
		Create3: func(pctx, aff unsafe.Pointer, n int32, flags uint32, dev int32) cuda.Result {
			return cuda.Result(fwd("cuCtxCreate_v3", uint64(uintptr(pctx)), uint64(uintptr(aff)), uint64(uint32(n)), uint64(flags), uint64(uint32(dev))))
		},
		CIGSupported: func(dev int32) (bool, cuda.Result) {
			var d3d, vk int32
			for _, a := range []struct {
				attr uint64
				out  *int32
			}{{135, &d3d}, {138, &vk}} {
				if r := cuda.Result(fwd("cuDeviceGetAttribute", uint64(uintptr(unsafe.Pointer(a.out))), a.attr, uint64(uint32(dev)))); r != cuda.Success {
					return false, r
				}
			}
			return d3d != 0 || vk != 0, cuda.Success
		},
	}
	return int32(cuda.CtxCreate4With(ops, pctx, params, flags, dev))
}

// CtxSynchronize2 is cuCtxSynchronize_v2 for a remote client. A named context is first
// checked by the server (cuCtxGetId); the wait itself is cuCtxSynchronize's (the model's
// contexts of a device share their work), which reports the deferred errors of pipelined
// calls and which a client with nothing in flight answers itself. Only with no context
// current does the named one's own row go.
func CtxSynchronize2(ctx uintptr) int32 {
	if ctx != 0 {
		var id uint64
		if r := fwd("cuCtxGetId", uint64(ctx), uint64(uintptr(unsafe.Pointer(&id)))); r != 0 {
			return int32(r)
		}
	}
	r := fwd("cuCtxSynchronize")
	if r == 201 && ctx != 0 { // CUDA_ERROR_INVALID_CONTEXT: none current, but one was named
		r = fwd("cuCtxSynchronize_v2", uint64(ctx))
	}
	return int32(r)
}

// deviceChecked asks the server whether dev is a device this client may use.
func deviceChecked(dev int32) cuda.Result {
	var v int32
	return cuda.Result(fwd("cuDeviceGetAttribute", uint64(uintptr(unsafe.Pointer(&v))), 1, uint64(uint32(dev))))
}

// DeviceRegisterAsyncNotification is cuDeviceRegisterAsyncNotification for a remote client:
// the callback stays in the client's process, which keeps the registration.
func DeviceRegisterAsyncNotification(dev int32, fn, user uintptr, out unsafe.Pointer) int32 {
	if r := deviceChecked(dev); r != cuda.Success {
		return int32(r)
	}
	return int32(cuda.RegisterNotification(dev, fn, user, out))
}

// DeviceUnregisterAsyncNotification is cuDeviceUnregisterAsyncNotification, likewise.
func DeviceUnregisterAsyncNotification(dev int32, h uintptr) int32 {
	if r := deviceChecked(dev); r != cuda.Success {
		return int32(r)
	}
	return int32(cuda.UnregisterNotification(dev, h))
}
