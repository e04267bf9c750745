package cuda

import (
	"unsafe"

	"vgpu/shim"
)

// Managed memory, the driver's forms: advice, prefetches, range attributes and stream
// attachment, on the semantics the runtime uses too (shim/managed.go).

// MemAdvise is cuMemAdvise: a device ordinal, or CU_DEVICE_CPU for the host.
func MemAdvise(p, n uint64, advice int32, dev int32) Result {
	if _, r := ready(); r != Success {
		return r
	}
	typ, id := shim.FromDeviceID(dev)
	return From(shim.Advise(uintptr(p), n, advice, typ, id))
}

// MemAdvise2 is cuMemAdvise_v2: a CUmemLocation.
func MemAdvise2(p, n uint64, advice int32, loc unsafe.Pointer) Result {
	if _, r := ready(); r != Success {
		return r
	}
	if loc == nil {
		return ErrorInvalidValue
	}
	return From(shim.Advise(uintptr(p), n, advice, *(*int32)(loc), *(*int32)(unsafe.Add(loc, 4))))
}

// MemPrefetchAsync is cuMemPrefetchAsync: the range must lie in one managed allocation and
// the destination be a device or the host (CU_DEVICE_CPU); it is recorded for the range
// attributes.
func MemPrefetchAsync(p, n uint64, dev int32, h uintptr) Result {
	if _, r := stream(h); r != Success {
		return r
	}
	typ, id := shim.FromDeviceID(dev)
	return From(shim.Prefetch(uintptr(p), n, typ, id, 0))
}

// MemPrefetchAsyncPtsz is cuMemPrefetchAsync_ptsz.
func MemPrefetchAsyncPtsz(p, n uint64, dev int32, h uintptr) Result {
	return MemPrefetchAsync(p, n, dev, ptsz(h))
}

// MemPrefetchAsync2 is cuMemPrefetchAsync_v2: a CUmemLocation, and flags (none defined).
func MemPrefetchAsync2(p, n uint64, loc unsafe.Pointer, flags uint32, h uintptr) Result {
	if _, r := stream(h); r != Success {
		return r
	}
	if loc == nil {
		return ErrorInvalidValue
	}
	return From(shim.Prefetch(uintptr(p), n, *(*int32)(loc), *(*int32)(unsafe.Add(loc, 4)), flags))
}

// MemPrefetchAsync2Ptsz is cuMemPrefetchAsync_v2_ptsz.
func MemPrefetchAsync2Ptsz(p, n uint64, loc unsafe.Pointer, flags uint32, h uintptr) Result {
	return MemPrefetchAsync2(p, n, loc, flags, ptsz(h))
}

// MemRangeGetAttribute is cuMemRangeGetAttribute.
func MemRangeGetAttribute(data unsafe.Pointer, size uint64, attr int32, p, n uint64) Result {
	if _, r := ready(); r != Success {
		return r
	}
	return From(shim.RangeAttribute(data, size, attr, uintptr(p), n))
}

// MemRangeGetAttributesCU is cuMemRangeGetAttributes: numAttributes single queries.
func MemRangeGetAttributesCU(data, sizes, attrs uintptr, num uint64, p, n uint64) Result {
	return RangeAttributesWith(MemRangeGetAttribute, unsafe.Pointer(data), unsafe.Pointer(sizes), unsafe.Pointer(attrs), num, p, n)
}

// RangeAttributesWith answers cuMemRangeGetAttributes through one cuMemRangeGetAttribute
// (a remote client's forwards each query: the arrays are its own).
func RangeAttributesWith(one func(data unsafe.Pointer, size uint64, attr int32, p, n uint64) Result, data, sizes, attrs unsafe.Pointer, num uint64, p, n uint64) Result {
	if data == nil || sizes == nil || attrs == nil || num == 0 || num > 1<<16 {
		return ErrorInvalidValue
	}
	for i := uint64(0); i < num; i++ {
		buf := *(*unsafe.Pointer)(unsafe.Add(data, 8*i))
		if r := one(buf, *(*uint64)(unsafe.Add(sizes, 8*i)), *(*int32)(unsafe.Add(attrs, 4*i)), p, n); r != Success {
			return r
		}
	}
	return Success
}

// StreamAttachMemAsync is cuStreamAttachMemAsync.
func StreamAttachMemAsync(h uintptr, p, length uint64, flags uint32) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	return From(shim.Attach(s, uintptr(p), length, flags))
}

// StreamAttachMemAsyncPtsz is cuStreamAttachMemAsync_ptsz.
func StreamAttachMemAsyncPtsz(h uintptr, p, length uint64, flags uint32) Result {
	return StreamAttachMemAsync(ptsz(h), p, length, flags)
}
