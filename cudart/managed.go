package cudart

import (
	"unsafe"

	"vgpu/cuda"
	"vgpu/shim"
)

// Managed-memory hints, the runtime's forms (the semantics, shared with the driver's
// cuMemAdvise and kin, are shim/managed.go).

// Location types of cudaMemLocation.
const (
	locDevice          = shim.LocDevice
	locHost            = shim.LocHost
	locHostNuma        = shim.LocHostNuma
	locHostNumaCurrent = shim.LocHostNumaCurrent
)

// MemAdvise is cudaMemAdvise (CUDA 13; cudaMemAdvise_v2 in 12).
func MemAdvise(p uintptr, n uint64, advice int32, l unsafe.Pointer) Error {
	if l == nil {
		return ErrorInvalidValue
	}
	return afterInit(func() cuda.Result { return cuda.MemAdvise2(uint64(p), n, advice, l) })
}

// MemAdvise12 is CUDA 12's cudaMemAdvise, which names a device (cudaCpuDeviceId: the host).
func MemAdvise12(p uintptr, n uint64, advice int32, device int32) Error {
	return afterInit(func() cuda.Result { return cuda.MemAdvise(uint64(p), n, advice, device) })
}

// MemPrefetchAsync is cudaMemPrefetchAsync (CUDA 13; _v2 in 12): the model's managed
// memory is where every processor reads it, so a prefetch only records its destination,
// which cudaMemRangeGetAttribute reports.
func MemPrefetchAsync(p uintptr, n uint64, l unsafe.Pointer, flags uint32, stream uintptr) Error {
	if l == nil {
		return ErrorInvalidValue
	}
	return onDriver(func() cuda.Result { return cuda.MemPrefetchAsync2(uint64(p), n, l, flags, stream) })
}

// MemPrefetchAsyncPtsz is cudaMemPrefetchAsync_ptsz.
func MemPrefetchAsyncPtsz(p uintptr, n uint64, l unsafe.Pointer, flags uint32, stream uintptr) Error {
	return MemPrefetchAsync(p, n, l, flags, ptsz(stream))
}

// MemPrefetchAsync12 is CUDA 12's form, which names a device.
func MemPrefetchAsync12(p uintptr, n uint64, device int32, stream uintptr) Error {
	return onDriver(func() cuda.Result { return cuda.MemPrefetchAsync(uint64(p), n, device, stream) })
}

// MemRangeGetAttribute is cudaMemRangeGetAttribute.
func MemRangeGetAttribute(data unsafe.Pointer, size uint64, attr int32, p uintptr, n uint64) Error {
	return afterInit(func() cuda.Result { return cuda.MemRangeGetAttribute(data, size, attr, uint64(p), n) })
}

// MemRangeGetAttributes is cudaMemRangeGetAttributes: numAttributes single queries.
func MemRangeGetAttributes(data unsafe.Pointer, sizes, attrs unsafe.Pointer, num uint64, p uintptr, n uint64) Error {
	return RangeAttributes(MemRangeGetAttribute, data, sizes, attrs, num, p, n)
}

// RangeAttributes answers cudaMemRangeGetAttributes through one cudaMemRangeGetAttribute
// (a remote client's forwards each query).
func RangeAttributes(one func(data unsafe.Pointer, size uint64, attr int32, p uintptr, n uint64) Error, data unsafe.Pointer, sizes, attrs unsafe.Pointer, num uint64, p uintptr, n uint64) Error {
	if data == nil || sizes == nil || attrs == nil || num == 0 || num > 1<<16 {
		return ErrorInvalidValue
	}
	for i := uint64(0); i < num; i++ {
		buf := *(*unsafe.Pointer)(unsafe.Add(data, 8*i))
		if e := one(buf, *(*uint64)(unsafe.Add(sizes, 8*i)), *(*int32)(unsafe.Add(attrs, 4*i)), p, n); e != Success {
			return e
		}
	}
	return Success
}

// StreamAttachMemAsync is cudaStreamAttachMemAsync: checked (shim.Attach).
func StreamAttachMemAsync(stream, p uintptr, length uint64, flags uint32) Error {
	return onDriver(func() cuda.Result { return cuda.StreamAttachMemAsync(stream, uint64(p), length, flags) })
}

// StreamAttachMemAsyncPtsz is cudaStreamAttachMemAsync_ptsz.
func StreamAttachMemAsyncPtsz(stream, p uintptr, length uint64, flags uint32) Error {
	return StreamAttachMemAsync(ptsz(stream), p, length, flags)
}

// MemPrefetchBatchAsync is cudaMemPrefetchBatchAsync (shim.PrefetchBatch).
func MemPrefetchBatchAsync(dptrs, sizes unsafe.Pointer, count uint64, locs, idxs unsafe.Pointer, numLocs, flags uint64, stream uintptr) Error {
	return onDriver(func() cuda.Result {
		return cuda.MemPrefetchBatchAsync(dptrs, sizes, count, locs, idxs, numLocs, flags, stream)
	})
}

// MemPrefetchBatchAsyncPtsz is cudaMemPrefetchBatchAsync_ptsz.
func MemPrefetchBatchAsyncPtsz(dptrs, sizes unsafe.Pointer, count uint64, locs, idxs unsafe.Pointer, numLocs, flags uint64, stream uintptr) Error {
	return MemPrefetchBatchAsync(dptrs, sizes, count, locs, idxs, numLocs, flags, ptsz(stream))
}

// MemDiscardBatchAsync is cudaMemDiscardBatchAsync (shim.DiscardBatch).
func MemDiscardBatchAsync(dptrs, sizes unsafe.Pointer, count, flags uint64, stream uintptr) Error {
	return onDriver(func() cuda.Result { return cuda.MemDiscardBatchAsync(dptrs, sizes, count, flags, stream) })
}

// MemDiscardBatchAsyncPtsz is cudaMemDiscardBatchAsync_ptsz.
func MemDiscardBatchAsyncPtsz(dptrs, sizes unsafe.Pointer, count, flags uint64, stream uintptr) Error {
	return MemDiscardBatchAsync(dptrs, sizes, count, flags, ptsz(stream))
}

// MemDiscardAndPrefetchBatchAsync is cudaMemDiscardAndPrefetchBatchAsync
// (shim.DiscardAndPrefetchBatch).
func MemDiscardAndPrefetchBatchAsync(dptrs, sizes unsafe.Pointer, count uint64, locs, idxs unsafe.Pointer, numLocs, flags uint64, stream uintptr) Error {
	return onDriver(func() cuda.Result {
		return cuda.MemDiscardAndPrefetchBatchAsync(dptrs, sizes, count, locs, idxs, numLocs, flags, stream)
	})
}

// MemDiscardAndPrefetchBatchAsyncPtsz is cudaMemDiscardAndPrefetchBatchAsync_ptsz.
func MemDiscardAndPrefetchBatchAsyncPtsz(dptrs, sizes unsafe.Pointer, count uint64, locs, idxs unsafe.Pointer, numLocs, flags uint64, stream uintptr) Error {
	return MemDiscardAndPrefetchBatchAsync(dptrs, sizes, count, locs, idxs, numLocs, flags, ptsz(stream))
}
