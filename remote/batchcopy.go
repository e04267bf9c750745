package remote

import (
	"sync"
	"unsafe"

	"vgpu/cuda"
	"vgpu/cudart"
	"vgpu/shim"
	"vgpu/shim/api"
	"vgpu/wire"
)

// Batched copies over the connection. The batch is read and checked here as in process
// (cuda.Batch1DAt, cuda.Batch3DAt; CUDA arrays resolved by the server, for this client
// only), then each entry goes through the client's pitched copy path, which moves host bytes
// as cuMemcpy2DAsync does. Before any is issued, every device end is asked of the server
// (cuMemGetAddressRange: the caller's allocation, the whole range inside it), so a bad entry
// leaves the batch unrun, as in process.

// batchCU runs a checked plan on stream h; it returns the failing entry's index and a CUresult.
func batchCU(h uintptr, read func() (cuda.BatchPlan, uint64, cuda.Result)) (uint64, int32) {
	if cuda.LegacyStream(h) {
		return cuda.NoIndex, int32(cuda.ErrorInvalidValue)
	}
	plan, i, r := read()
	if r != cuda.Success {
		return i, int32(r)
	}
	if i, r := checkRemote(plan); r != int32(cuda.Success) {
		return i, r
	}
	// Downloads wait for their bytes on no stream: an empty copy posted on h has the server
	// check the stream, so a bad one reports at the next sync, as in process.
	if e := checkStream(true, perThread(h)); e != cudart.Success {
		return cuda.NoIndex, driverResult(e)
	}
	for i, cs := range plan {
		if len(cs) == 0 {
			continue
		}
		if r := copies2D(cs, true, h); r != int32(cuda.Success) {
			return uint64(i), r
		}
	}
	return 0, int32(cuda.Success)
}

func batch1D(dsts, srcs, sizes unsafe.Pointer, count uint64, attrs, attrsIdxs unsafe.Pointer, numAttrs uint64, failIdx unsafe.Pointer, h uintptr) int32 {
	i, r := batchCU(h, func() (cuda.BatchPlan, uint64, cuda.Result) {
		return cuda.Batch1DAt(dsts, srcs, sizes, count, attrs, attrsIdxs, numAttrs)
	})
	if r != int32(cuda.Success) {
		shim.PutU64(failIdx, i)
	}
	return r
}

func batch3D(numOps uint64, ops, failIdx unsafe.Pointer, flags uint64, h uintptr) int32 {
	i, r := batchCU(h, func() (cuda.BatchPlan, uint64, cuda.Result) {
		return cuda.Batch3DAt(ops, numOps, flags, driverArrays)
	})
	if r != int32(cuda.Success) {
		shim.PutU64(failIdx, i)
	}
	return r
}

// runtimeBatch maps a batch's CUresult to the runtime's code (the same number for the codes
// a batch answers).
func runtimeBatch(r int32) cudart.Error { return cudart.Error(r) }

// MemcpyBatchAsyncCU is cuMemcpyBatchAsync over the connection.
func MemcpyBatchAsyncCU(dsts, srcs, sizes unsafe.Pointer, count uint64, attrs, attrsIdxs unsafe.Pointer, numAttrs uint64, failIdx unsafe.Pointer, h uintptr) int32 {
	return batch1D(dsts, srcs, sizes, count, attrs, attrsIdxs, numAttrs, failIdx, h)
}

// MemcpyBatchAsyncPtszCU is cuMemcpyBatchAsync_ptsz over the connection.
func MemcpyBatchAsyncPtszCU(dsts, srcs, sizes unsafe.Pointer, count uint64, attrs, attrsIdxs unsafe.Pointer, numAttrs uint64, failIdx unsafe.Pointer, h uintptr) int32 {
	return batch1D(dsts, srcs, sizes, count, attrs, attrsIdxs, numAttrs, failIdx, ptsz(h))
}

// MemcpyBatchAsync2CU is cuMemcpyBatchAsync_v2 over the connection.
func MemcpyBatchAsync2CU(dsts, srcs, sizes unsafe.Pointer, count uint64, attrs, attrsIdxs unsafe.Pointer, numAttrs uint64, h uintptr) int32 {
	return batch1D(dsts, srcs, sizes, count, attrs, attrsIdxs, numAttrs, nil, h)
}

// MemcpyBatchAsync2PtszCU is cuMemcpyBatchAsync_v2_ptsz over the connection.
func MemcpyBatchAsync2PtszCU(dsts, srcs, sizes unsafe.Pointer, count uint64, attrs, attrsIdxs unsafe.Pointer, numAttrs uint64, h uintptr) int32 {
	return batch1D(dsts, srcs, sizes, count, attrs, attrsIdxs, numAttrs, nil, ptsz(h))
}

// Memcpy3DBatchAsyncCU is cuMemcpy3DBatchAsync over the connection.
func Memcpy3DBatchAsyncCU(numOps uint64, ops, failIdx unsafe.Pointer, flags uint64, h uintptr) int32 {
	return batch3D(numOps, ops, failIdx, flags, h)
}

// Memcpy3DBatchAsyncPtszCU is cuMemcpy3DBatchAsync_ptsz over the connection.
func Memcpy3DBatchAsyncPtszCU(numOps uint64, ops, failIdx unsafe.Pointer, flags uint64, h uintptr) int32 {
	return batch3D(numOps, ops, failIdx, flags, ptsz(h))
}

// Memcpy3DBatchAsync2CU is cuMemcpy3DBatchAsync_v2 over the connection.
func Memcpy3DBatchAsync2CU(numOps uint64, ops unsafe.Pointer, flags uint64, h uintptr) int32 {
	return batch3D(numOps, ops, nil, flags, h)
}

// Memcpy3DBatchAsync2PtszCU is cuMemcpy3DBatchAsync_v2_ptsz over the connection.
func Memcpy3DBatchAsync2PtszCU(numOps uint64, ops unsafe.Pointer, flags uint64, h uintptr) int32 {
	return batch3D(numOps, ops, nil, flags, ptsz(h))
}

// MemcpyBatchAsync12 is CUDA 12.8's cudaMemcpyBatchAsync over the connection.
func MemcpyBatchAsync12(dsts, srcs, sizes unsafe.Pointer, count uint64, attrs, attrsIdxs unsafe.Pointer, numAttrs uint64, failIdx unsafe.Pointer, stream uintptr) cudart.Error {
	return runtimeBatch(batch1D(dsts, srcs, sizes, count, attrs, attrsIdxs, numAttrs, failIdx, stream))
}

// MemcpyBatchAsync12Ptsz is CUDA 12.8's cudaMemcpyBatchAsync_ptsz over the connection.
func MemcpyBatchAsync12Ptsz(dsts, srcs, sizes unsafe.Pointer, count uint64, attrs, attrsIdxs unsafe.Pointer, numAttrs uint64, failIdx unsafe.Pointer, stream uintptr) cudart.Error {
	return runtimeBatch(batch1D(dsts, srcs, sizes, count, attrs, attrsIdxs, numAttrs, failIdx, ptsz(stream)))
}

// MemcpyBatchAsync is CUDA 13's cudaMemcpyBatchAsync over the connection.
func MemcpyBatchAsync(dsts, srcs, sizes unsafe.Pointer, count uint64, attrs, attrsIdxs unsafe.Pointer, numAttrs uint64, stream uintptr) cudart.Error {
	return runtimeBatch(batch1D(dsts, srcs, sizes, count, attrs, attrsIdxs, numAttrs, nil, stream))
}

// MemcpyBatchAsyncPtsz is CUDA 13's cudaMemcpyBatchAsync_ptsz over the connection.
func MemcpyBatchAsyncPtsz(dsts, srcs, sizes unsafe.Pointer, count uint64, attrs, attrsIdxs unsafe.Pointer, numAttrs uint64, stream uintptr) cudart.Error {
	return runtimeBatch(batch1D(dsts, srcs, sizes, count, attrs, attrsIdxs, numAttrs, nil, ptsz(stream)))
}

// Memcpy3DBatchAsync12 is CUDA 12.8's cudaMemcpy3DBatchAsync over the connection.
func Memcpy3DBatchAsync12(numOps uint64, ops, failIdx unsafe.Pointer, flags uint64, stream uintptr) cudart.Error {
	return runtimeBatch(batch3D(numOps, ops, failIdx, flags, stream))
}

// Memcpy3DBatchAsync12Ptsz is CUDA 12.8's cudaMemcpy3DBatchAsync_ptsz over the connection.
func Memcpy3DBatchAsync12Ptsz(numOps uint64, ops, failIdx unsafe.Pointer, flags uint64, stream uintptr) cudart.Error {
	return runtimeBatch(batch3D(numOps, ops, failIdx, flags, ptsz(stream)))
}

// Memcpy3DBatchAsync is CUDA 13's cudaMemcpy3DBatchAsync over the connection.
func Memcpy3DBatchAsync(numOps uint64, ops unsafe.Pointer, flags uint64, stream uintptr) cudart.Error {
	return runtimeBatch(batch3D(numOps, ops, nil, flags, stream))
}

// Memcpy3DBatchAsyncPtsz is CUDA 13's cudaMemcpy3DBatchAsync_ptsz over the connection.
func Memcpy3DBatchAsyncPtsz(numOps uint64, ops unsafe.Pointer, flags uint64, stream uintptr) cudart.Error {
	return runtimeBatch(batch3D(numOps, ops, nil, flags, ptsz(stream)))
}

var addrRange = sync.OnceValue(func() int {
	for i := range api.Functions {
		if api.Functions[i].Name == "cuMemGetAddressRange_v2" {
			return i
		}
	}
	return -1
})

// deviceEnd checks n bytes at device address p against the server's record of the caller's
// allocations.
func deviceEnd(p uintptr, n uint64) bool {
	idx := addrRange()
	if idx < 0 {
		return false
	}
	var base, size uint64
	if Forward(idx, []wire.Value{{U: uint64(uintptr(unsafe.Pointer(&base)))}, {U: uint64(uintptr(unsafe.Pointer(&size)))}, {U: uint64(p)}}) != 0 {
		return false
	}
	off := uint64(p) - base
	return uint64(p) >= base && off <= size && n <= size-off
}

// checkRemote checks every entry's ends before any is issued: a device end's whole extent
// must lie inside one of the caller's allocations, a host end must not be NULL.
func checkRemote(plan cuda.BatchPlan) (uint64, int32) {
	for i, cs := range plan {
		d, s, ok := cuda.Extents(cs)
		if !ok {
			return uint64(i), int32(cuda.ErrorInvalidValue)
		}
		for _, e := range [2]cuda.Extent{d, s} {
			if e.N != 0 && (e.At == 0 || (isDevice(e.At) && !deviceEnd(e.At, e.N))) {
				return uint64(i), int32(cuda.ErrorInvalidValue)
			}
		}
	}
	return 0, int32(cuda.Success)
}
