package cudart

import (
	"unsafe"

	"vgpu/shim"
)

// CUDA 13's pool calls by location (cudaMemGetDefaultMemPool, cudaMemGetMemPool,
// cudaMemSetMemPool), allocation from a named pool, a kernel's attribute per device, and the
// list of valid devices. The model's pools are the devices' default ones (shim/mempool.go).

// MemGetDefaultMemPool is cudaMemGetDefaultMemPool (shim.LocationPool).
func MemGetDefaultMemPool(out, loc unsafe.Pointer, typ int32) Error {
	if _, e := begin(); e != Success {
		return e
	}
	return From(shim.LocationPool(out, loc, typ, false))
}

// MemGetMemPool is cudaMemGetMemPool: the location's current pool.
func MemGetMemPool(out, loc unsafe.Pointer, typ int32) Error {
	if _, e := begin(); e != Success {
		return e
	}
	return From(shim.LocationPool(out, loc, typ, true))
}

// MemSetMemPool is cudaMemSetMemPool: the pool must be the location's device's.
func MemSetMemPool(loc unsafe.Pointer, typ int32, pool uintptr) Error {
	if _, e := begin(); e != Success {
		return e
	}
	return From(shim.SetLocationPool(loc, typ, pool))
}

// MallocFromPoolAsync is cudaMallocFromPoolAsync: stream-ordered allocation from pool (a
// default pool or a created one: its device's memory, whatever the stream's device).
func MallocFromPoolAsync(out unsafe.Pointer, size uint64, pool, stream uintptr) Error {
	s, e := resolveStream(stream)
	if e != Success {
		return e
	}
	p, e := poolAt(pool)
	if e != Success {
		return e
	}
	if s.Capturing() != nil {
		return captureAlloc(out, size, s)
	}
	return mallocFrom(out, size, p)
}

// MallocFromPoolAsyncPtsz is cudaMallocFromPoolAsync_ptsz.
func MallocFromPoolAsyncPtsz(out unsafe.Pointer, size uint64, pool, stream uintptr) Error {
	return MallocFromPoolAsync(out, size, pool, ptsz(stream))
}

// KernelSetAttributeForDevice is cudaKernelSetAttributeForDevice: a kernel handle's
// attribute on one device.
func KernelSetAttributeForDevice(h uintptr, attr, value, device int32) Error {
	if _, e := begin(); e != Success {
		return e
	}
	k, ok := shim.Lookup[*shim.Kernel](shim.KindFunction, h)
	if !ok {
		return ErrorInvalidDeviceFunction
	}
	d, e := deviceAt(device)
	if e != Success {
		return e
	}
	return From(shim.SetKernelAttribute(k, d, attr, value))
}

// SetValidDevices is cudaSetValidDevices: every entry must name a device, once.
func SetValidDevices(list unsafe.Pointer, n int32) Error {
	s, e := begin()
	if e != Success {
		return e
	}
	if n < 0 || (n > 0 && list == nil) {
		return ErrorInvalidValue
	}
	seen := map[int32]bool{}
	for i := int32(0); i < n; i++ {
		d := *(*int32)(unsafe.Add(list, 4*i))
		if d < 0 || int(d) >= len(s.Devices()) {
			return ErrorInvalidDevice
		}
		if seen[d] {
			return ErrorInvalidValue
		}
		seen[d] = true
	}
	return Success
}
