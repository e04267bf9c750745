package cudart

import (
	"unsafe"

	"vgpu/cuda"
	"vgpu/shim"
)

// The runtime's batched copies and capture into an existing graph: the driver's model
// (cuda/batchcopy.go), whose structures the runtime's share byte for byte. CUDA 12.8's
// libcudart takes a failIdx; CUDA 13's dropped it.

// batchStream resolves a batched copy's stream; the legacy stream is an invalid value.
func batchStream(h uintptr) (*shim.Stream, Error) {
	if cuda.LegacyStream(h) {
		if _, e := begin(); e != Success {
			return nil, e
		}
		return nil, ErrorInvalidValue
	}
	return resolveStream(h)
}

func finishBatch(failIdx unsafe.Pointer, i uint64, r cuda.Result) Error {
	if r != cuda.Success {
		shim.PutU64(failIdx, i)
	}
	return fromDriver(r)
}

// MemcpyBatchAsync12 is CUDA 12.8's cudaMemcpyBatchAsync.
func MemcpyBatchAsync12(dsts, srcs, sizes unsafe.Pointer, count uint64, attrs, attrsIdxs unsafe.Pointer, numAttrs uint64, failIdx unsafe.Pointer, stream uintptr) Error {
	s, e := batchStream(stream)
	if e != Success {
		shim.PutU64(failIdx, cuda.NoIndex)
		return e
	}
	plan, i, r := cuda.Batch1DAt(dsts, srcs, sizes, count, attrs, attrsIdxs, numAttrs)
	if r == cuda.Success {
		i, r = plan.RunLocal(s)
	}
	return finishBatch(failIdx, i, r)
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
	s, e := batchStream(stream)
	if e != Success {
		shim.PutU64(failIdx, cuda.NoIndex)
		return e
	}
	plan, i, r := cuda.Batch3DAt(ops, numOps, flags, cuda.LocalArrays)
	if r == cuda.Success {
		i, r = plan.RunLocal(s)
	}
	return finishBatch(failIdx, i, r)
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
