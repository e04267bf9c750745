package remote

import (
	"runtime"
	"unsafe"

	"vgpu/cuda"
	"vgpu/cudart"
	"vgpu/shim"
	"vgpu/shim/api"
	"vgpu/wire"
)

// Memory queries over the connection. The server answers for the client's own device
// memory only (its memory table is owner-aware: another client's address is as unknown as
// a wild one, and gets the answer the driver gives for an address it does not know). Host
// memory the client allocated or registered itself (the local rows: cuMemAllocHost,
// cudaHostRegister, ...) is known here, not on the server, so such pointers are answered
// by the semantics in this process.

// clientHost reports whether p lies in host memory this process allocated or registered.
func clientHost(p uint64) bool {
	a := shim.S().Mem.Find(uintptr(p))
	return a != nil && !a.OnDevice()
}

func init() {
	byName := api.ByName()
	beforeCall[byName["cuPointerGetAttribute"].Op] = func(f *api.Func, v []wire.Value) (uint64, bool) {
		data, attr, p := unsafe.Pointer(uintptr(v[0].U)), int32(v[1].U), v[2].U
		if clientHost(p) {
			return uint64(cuda.PointerGetAttribute(data, attr, p)), true
		}
		if data == nil {
			return uint64(cuda.ErrorInvalidValue), true
		}
		// The row's buffer is the largest value (8 bytes); the caller's holds the attribute's.
		var tmp [8]byte
		w := append([]wire.Value(nil), v...)
		w[0].U = uint64(uintptr(unsafe.Pointer(&tmp)))
		r := forwardCall(f, w)
		if n := cuda.PointerAttrSize(attr); r == 0 && n > 0 {
			copy(shim.View(data, n), tmp[:n])
		}
		runtime.KeepAlive(&tmp)
		return r, true
	}
	beforeCall[byName["cuPointerSetAttribute"].Op] = func(_ *api.Func, v []wire.Value) (uint64, bool) {
		if p := v[2].U; clientHost(p) {
			return uint64(cuda.PointerSetAttribute(unsafe.Pointer(uintptr(v[0].U)), int32(v[1].U), p)), true
		}
		return 0, false
	}
	beforeCall[byName["cudaPointerGetAttributes"].Op] = func(_ *api.Func, v []wire.Value) (uint64, bool) {
		if p := v[1].U; clientHost(p) {
			return uint64(cudart.PointerGetAttributes(unsafe.Pointer(uintptr(v[0].U)), uintptr(p))), true
		}
		return 0, false
	}
}

// PointerGetAttributes is cuPointerGetAttributes for a remote client: its arrays are the
// client's, so each attribute is one cuPointerGetAttribute, forwarded or answered here.
func PointerGetAttributes(n uint32, attrs, data uintptr, p uint64) int32 {
	one := func(slot unsafe.Pointer, attr int32, p uint64) cuda.Result {
		return cuda.Result(fwd("cuPointerGetAttribute", uint64(uintptr(slot)), uint64(uint32(attr)), p))
	}
	return int32(cuda.PointerAttributesWith(one, n, attrs, data, p))
}

// The legacy (pre-3.2, 32-bit) copies between host and device (cuda/legacy.go): the _v2
// copies over the connection on the widened addresses.

// MemcpyHtoD32 is the legacy cuMemcpyHtoD.
func MemcpyHtoD32(dst uint32, src uintptr, n uint32) cuda.Result {
	return MemcpyHtoD(uint64(dst), src, uint64(n))
}

// MemcpyDtoH32 is the legacy cuMemcpyDtoH.
func MemcpyDtoH32(dst uintptr, src uint32, n uint32) cuda.Result {
	return MemcpyDtoH(dst, uint64(src), uint64(n))
}

// MemcpyHtoDAsync32 is the legacy cuMemcpyHtoDAsync.
func MemcpyHtoDAsync32(dst uint32, src uintptr, n uint32, h uintptr) cuda.Result {
	return MemcpyHtoDAsync(uint64(dst), src, uint64(n), h)
}

// MemcpyDtoHAsync32 is the legacy cuMemcpyDtoHAsync.
func MemcpyDtoHAsync32(dst uintptr, src uint32, n uint32, h uintptr) cuda.Result {
	return MemcpyDtoHAsync(dst, uint64(src), uint64(n), h)
}

// MemRangeGetAttributesCU is cuMemRangeGetAttributes for a remote client: its arrays are the
// client's, so each attribute is one forwarded cuMemRangeGetAttribute.
func MemRangeGetAttributesCU(data, sizes, attrs uintptr, num uint64, p, n uint64) int32 {
	one := func(buf unsafe.Pointer, size uint64, attr int32, p, n uint64) cuda.Result {
		return cuda.Result(fwd("cuMemRangeGetAttribute", uint64(uintptr(buf)), size, uint64(uint32(attr)), p, n))
	}
	return int32(cuda.RangeAttributesWith(one, unsafe.Pointer(data), unsafe.Pointer(sizes), unsafe.Pointer(attrs), num, p, n))
}
