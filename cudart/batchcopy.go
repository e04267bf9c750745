package cudart

import (
	"unsafe"

	"vgpu/cuda"
	"vgpu/shim"
)

// The runtime's batched copies and capture into an existing graph: the driver's model
// (cuda/batchcopy.go), whose structures the runtime's share byte for byte. CUDA 12.8's
// libcudart takes a failIdx; CUDA 13's dropped it.

// batchOnDriver makes a batched copy's driver call as onDriver does; where the runtime
// itself refuses first, *failIdx (where given) says no copy was at fault, as the driver's does.
func batchOnDriver(failIdx unsafe.Pointer, call func() cuda.Result) Error {
	if _, e := currentDevice(); e != Success {
		shim.PutU64(failIdx, cuda.NoIndex)
		return e
	}
	return fromDriver(call())
}

// MemcpyBatchAsync12 is CUDA 12.8's cudaMemcpyBatchAsync.
func MemcpyBatchAsync12(dsts, srcs, sizes unsafe.Pointer, count uint64, attrs, attrsIdxs unsafe.Pointer, numAttrs uint64, failIdx unsafe.Pointer, stream uintptr) Error {
	return batchOnDriver(failIdx, func() cuda.Result {
		return cuda.MemcpyBatchAsyncCU(dsts, srcs, sizes, count, attrs, attrsIdxs, numAttrs, failIdx, stream)
	})
}

// MemcpyBatchAsync12Ptsz is CUDA 12.8's cudaMemcpyBatchAsync_ptsz.
func MemcpyBatchAsync12Ptsz(dsts, srcs, sizes unsafe.Pointer, count uint64, attrs, attrsIdxs unsafe.Pointer, numAttrs uint64, failIdx unsafe.Pointer, stream uintptr) Error {
	return MemcpyBatchAsync12(dsts, srcs, sizes, count, attrs, attrsIdxs, numAttrs, failIdx, ptsz(stream))
}

// MemcpyBatchAsync is CUDA 13's cudaMemcpyBatchAsync.
func MemcpyBatchAsync(dsts, srcs, sizes unsafe.Pointer, count uint64, attrs, attrsIdxs unsafe.Pointer, numAttrs uint64, stream uintptr) Error {
	return MemcpyBatchAsync12(dsts, srcs, sizes, count, attrs, attrsIdxs, numAttrs, nil, stream)
}

// MemcpyBatchAsyncPtsz is CUDA 13's cudaMemcpyBatchAsync_ptsz.
func MemcpyBatchAsyncPtsz(dsts, srcs, sizes unsafe.Pointer, count uint64, attrs, attrsIdxs unsafe.Pointer, numAttrs uint64, stream uintptr) Error {
	return MemcpyBatchAsync12(dsts, srcs, sizes, count, attrs, attrsIdxs, numAttrs, nil, ptsz(stream))
}

// Memcpy3DBatchAsync12 is CUDA 12.8's cudaMemcpy3DBatchAsync.
func Memcpy3DBatchAsync12(numOps uint64, ops, failIdx unsafe.Pointer, flags uint64, stream uintptr) Error {
	return batchOnDriver(failIdx, func() cuda.Result { return cuda.Memcpy3DBatchAsyncCU(numOps, ops, failIdx, flags, stream) })
}

// Memcpy3DBatchAsync12Ptsz is CUDA 12.8's cudaMemcpy3DBatchAsync_ptsz.
func Memcpy3DBatchAsync12Ptsz(numOps uint64, ops, failIdx unsafe.Pointer, flags uint64, stream uintptr) Error {
	return Memcpy3DBatchAsync12(numOps, ops, failIdx, flags, ptsz(stream))
}

// Memcpy3DBatchAsync is CUDA 13's cudaMemcpy3DBatchAsync.
func Memcpy3DBatchAsync(numOps uint64, ops unsafe.Pointer, flags uint64, stream uintptr) Error {
	return Memcpy3DBatchAsync12(numOps, ops, nil, flags, stream)
}

// Memcpy3DBatchAsyncPtsz is CUDA 13's cudaMemcpy3DBatchAsync_ptsz.
func Memcpy3DBatchAsyncPtsz(numOps uint64, ops unsafe.Pointer, flags uint64, stream uintptr) Error {
	return Memcpy3DBatchAsync12(numOps, ops, nil, flags, ptsz(stream))
}

// StreamBeginCaptureToGraph is cudaStreamBeginCaptureToGraph: the capture adds its nodes to
// graph g after deps (default edges only) and cudaStreamEndCapture hands back g.
func StreamBeginCaptureToGraph(stream, hg uintptr, deps, edgeData unsafe.Pointer, numDeps uint64, mode int32) Error {
	s, e := resolveStream(stream)
	if e != Success {
		return e
	}
	g, e := graph(hg)
	if e != Success {
		return e
	}
	if numDeps > 1<<20 || !edgeDataZero(edgeData, numDeps) {
		return ErrorInvalidValue
	}
	ds, e := depsAt(g, deps, numDeps)
	if e != Success {
		return e
	}
	return From(s.BeginCaptureToGraph(mode, g, ds))
}

// StreamBeginCaptureToGraphPtsz is cudaStreamBeginCaptureToGraph_ptsz.
func StreamBeginCaptureToGraphPtsz(stream, hg uintptr, deps, edgeData unsafe.Pointer, numDeps uint64, mode int32) Error {
	return StreamBeginCaptureToGraph(ptsz(stream), hg, deps, edgeData, numDeps, mode)
}
