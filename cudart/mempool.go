package cudart

import (
	"unsafe"

	"vgpu/cuda"
	"vgpu/shim"
)

// The devices' default memory pools are the model's (shim/mempool.go), shared with the
// driver API; these are the runtime's forms.

// DeviceGetDefaultMemPool is cudaDeviceGetDefaultMemPool.
func DeviceGetDefaultMemPool(out unsafe.Pointer, device int32) Error {
	return afterInit(func() cuda.Result { return cuda.DeviceGetDefaultMemPool(out, device) })
}

// DeviceGetMemPool is cudaDeviceGetMemPool: the pool cudaDeviceSetMemPool made current,
// else the default one.
func DeviceGetMemPool(out unsafe.Pointer, device int32) Error {
	return afterInit(func() cuda.Result { return cuda.DeviceGetMemPool(out, device) })
}

// PoolAttrSize is the size of an attribute's value (shim.PoolAttrSize).
func PoolAttrSize(attr int32) int { return shim.PoolAttrSize(attr) }

func poolAt(h uintptr) (*shim.MemPool, Error) {
	if _, e := begin(); e != Success {
		return nil, e
	}
	p, ok := shim.LookupPool(h)
	if !ok {
		return nil, ErrorInvalidValue
	}
	return p, Success
}

// MemPoolGetAttribute is cudaMemPoolGetAttribute.
func MemPoolGetAttribute(h uintptr, attr int32, value uintptr) Error {
	n := PoolAttrSize(attr)
	if n == 0 || value == 0 {
		return ErrorInvalidValue
	}
	return MemPoolAttr(h, attr, shim.Bytes(value, uint64(n)), false)
}

// MemPoolSetAttribute is cudaMemPoolSetAttribute.
func MemPoolSetAttribute(h uintptr, attr int32, value uintptr) Error {
	n := PoolAttrSize(attr)
	if n == 0 || value == 0 {
		return ErrorInvalidValue
	}
	return MemPoolAttr(h, attr, shim.Bytes(value, uint64(n)), true)
}

// MemPoolAttr reads (or with set, writes) attribute attr of pool h from b, which holds
// PoolAttrSize(attr) bytes.
func MemPoolAttr(h uintptr, attr int32, b []byte, set bool) Error {
	p, e := poolAt(h)
	if e != Success {
		return e
	}
	return From(p.Attr(attr, b, set))
}

// MemPoolTrimTo is cudaMemPoolTrimTo: the pool keeps at most minBytes it does not use.
func MemPoolTrimTo(h uintptr, minBytes uint64) Error {
	return afterInit(func() cuda.Result { return cuda.MemPoolTrimTo(h, minBytes) })
}
