package cuda

import (
	"unsafe"

	"vgpu/shim"
)

// Driver forms of calls whose semantics the runtime already had: CUDA 13's pools by
// location, the batched managed-memory prefetch and discard, capture dependencies with edge
// data, and conditional handles. Each is a thin layer over the shim code the runtime's form
// uses, answering the driver's codes.

// MemGetDefaultMemPool is cuMemGetDefaultMemPool: the default pool of the device a
// CUmemLocation names (pinned allocations; host locations are not modelled: not supported).
func MemGetDefaultMemPool(out, loc unsafe.Pointer, typ int32) Result {
	if _, r := ready(); r != Success {
		return r
	}
	return From(shim.LocationPool(out, loc, typ, false))
}

// MemGetMemPool is cuMemGetMemPool: the location's current pool.
func MemGetMemPool(out, loc unsafe.Pointer, typ int32) Result {
	if _, r := ready(); r != Success {
		return r
	}
	return From(shim.LocationPool(out, loc, typ, true))
}

// MemSetMemPool is cuMemSetMemPool: the caller's pool, of the location's device, becomes its
// current pool.
func MemSetMemPool(loc unsafe.Pointer, typ int32, pool uintptr) Result {
	if _, r := ready(); r != Success {
		return r
	}
	return From(shim.SetLocationPool(loc, typ, pool))
}

// MemPrefetchBatchAsync is cuMemPrefetchBatchAsync (shim.PrefetchBatch).
func MemPrefetchBatchAsync(dptrs, sizes unsafe.Pointer, count uint64, locs, idxs unsafe.Pointer, numLocs, flags uint64, h uintptr) Result {
	if _, r := stream(h); r != Success {
		return r
	}
	return From(shim.PrefetchBatch(dptrs, sizes, count, locs, idxs, numLocs, flags))
}

// MemPrefetchBatchAsyncPtsz is cuMemPrefetchBatchAsync_ptsz.
func MemPrefetchBatchAsyncPtsz(dptrs, sizes unsafe.Pointer, count uint64, locs, idxs unsafe.Pointer, numLocs, flags uint64, h uintptr) Result {
	return MemPrefetchBatchAsync(dptrs, sizes, count, locs, idxs, numLocs, flags, ptsz(h))
}

// MemDiscardBatchAsync is cuMemDiscardBatchAsync (shim.DiscardBatch).
func MemDiscardBatchAsync(dptrs, sizes unsafe.Pointer, count, flags uint64, h uintptr) Result {
	if _, r := stream(h); r != Success {
		return r
	}
	return From(shim.DiscardBatch(dptrs, sizes, count, flags))
}

// MemDiscardBatchAsyncPtsz is cuMemDiscardBatchAsync_ptsz.
func MemDiscardBatchAsyncPtsz(dptrs, sizes unsafe.Pointer, count, flags uint64, h uintptr) Result {
	return MemDiscardBatchAsync(dptrs, sizes, count, flags, ptsz(h))
}

// MemDiscardAndPrefetchBatchAsync is cuMemDiscardAndPrefetchBatchAsync
// (shim.DiscardAndPrefetchBatch).
func MemDiscardAndPrefetchBatchAsync(dptrs, sizes unsafe.Pointer, count uint64, locs, idxs unsafe.Pointer, numLocs, flags uint64, h uintptr) Result {
	if _, r := stream(h); r != Success {
		return r
	}
	return From(shim.DiscardAndPrefetchBatch(dptrs, sizes, count, locs, idxs, numLocs, flags))
}

// MemDiscardAndPrefetchBatchAsyncPtsz is cuMemDiscardAndPrefetchBatchAsync_ptsz.
func MemDiscardAndPrefetchBatchAsyncPtsz(dptrs, sizes unsafe.Pointer, count uint64, locs, idxs unsafe.Pointer, numLocs, flags uint64, h uintptr) Result {
	return MemDiscardAndPrefetchBatchAsync(dptrs, sizes, count, locs, idxs, numLocs, flags, ptsz(h))
}

// maxEdges bounds the dependency arrays read from the caller's memory (as NodesAt does).
const maxEdges = 1 << 20

// StreamUpdateCaptureDependencies2 is cuStreamUpdateCaptureDependencies_v2: v1's rule, with
// edge data that, where given, must be the default edges, the only kind the model's graphs
// hold (as cuGraphAddDependencies_v2).
func StreamUpdateCaptureDependencies2(h uintptr, deps, edgeData unsafe.Pointer, n uint64, flags uint32) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	if n > maxEdges {
		return ErrorInvalidValue
	}
	if edgeData != nil {
		for _, c := range shim.View(edgeData, int(8*n)) {
			if c != 0 {
				return ErrorInvalidValue
			}
		}
	}
	return From(UpdateCaptureDependencies(s, deps, n, flags))
}

// StreamUpdateCaptureDependencies2Ptsz is cuStreamUpdateCaptureDependencies_v2_ptsz.
func StreamUpdateCaptureDependencies2Ptsz(h uintptr, deps, edgeData unsafe.Pointer, n uint64, flags uint32) Result {
	return StreamUpdateCaptureDependencies2(ptsz(h), deps, edgeData, n, flags)
}

// GraphConditionalHandleCreateCU is cuGraphConditionalHandleCreate: the runtime's rule, for
// a context that must be a live one (the conditional node's).
func GraphConditionalHandleCreateCU(out unsafe.Pointer, g, ctx uintptr, def, flags uint32) Result {
	if _, r := graph(g); r != Success {
		return r
	}
	if _, r := context(ctx); r != Success {
		return r
	}
	return GraphConditionalHandleCreate(out, g, def, flags)
}

// Im2col-wide modes (CUtensorMapIm2ColWideMode) and the swizzles CUDA 12.8 added
// (CUtensorMapSwizzle: 128-byte patterns with 32-byte atoms, with an 8-byte flip, with
// 64-byte atoms).
const (
	wideModeW32            = 0
	wideModeW128           = 1
	swizzle128BAtom32B     = 4
	swizzle128BAtom32BFlip = 5
	swizzle128BAtom64B     = 6
)

// TensorMapEncodeIm2colWide is cuTensorMapEncodeIm2colWide: an im2col map that loads along W
// only, so its bounding box has one lower and one upper corner, in W (16-bit signed). The
// tensor is rank 3 to 5 and not interleaved; the swizzle must be one the wide modes define
// (none and the 8-byte-flip pattern are not), and a pixel's channels must fit its span. As
// the other encoders, it is a host-side descriptor: no device is consulted (the sm_100 rule
// binds the code that uses the map, not the encoder).
func TensorMapEncodeIm2colWide(tmapp uintptr, dtype int32, rank uint32, addr uintptr, dimsp, stridesp uintptr, lower, upper int32,
	channels, pixels uint32, estridesp uintptr, interleave, mode, swizzle, l2, oob int32) Result {
	tmap, dims, strides, estrides := unsafe.Pointer(tmapp), unsafe.Pointer(dimsp), unsafe.Pointer(stridesp), unsafe.Pointer(estridesp)
	common := swizzle
	switch swizzle {
	case swizzleNone, swizzle128BAtom32BFlip:
		common = -1 // tensorCommon refuses it
	case swizzle128BAtom32B, swizzle128BAtom64B:
		common = swizzle128B // the same 128-byte span
	}
	d, r := tensorCommon(tmap, dtype, rank, addr, dims, strides, estrides, interleave, common, l2, oob, 3)
	if r != Success {
		return r
	}
	if interleave != interleaveNone || (mode != wideModeW32 && mode != wideModeW128) {
		return ErrorInvalidValue
	}
	if channels == 0 || channels > 256 || pixels == 0 || pixels > 1024 ||
		uint64(channels)*tensorElemSize[dtype] > swizzleSpan(common) {
		return ErrorInvalidValue
	}
	const limit = 1 << 15
	if lower < -limit || lower >= limit || upper < -limit || upper >= limit {
		return ErrorInvalidValue
	}
	d[93] = byte(swizzle)
	d[96] = 2 // im2col wide
	d[97] = byte(mode)
	shim.Le.PutUint16(d[98:], uint16(int16(lower)))
	shim.Le.PutUint16(d[104:], uint16(int16(upper)))
	shim.Le.PutUint16(d[110:], uint16(channels))
	shim.Le.PutUint16(d[112:], uint16(pixels))
	copy(unsafe.Slice((*byte)(tmap), tensorMapSize), d)
	return Success
}

// ---- memory a device cannot hand out here ----

// CUmemRangeHandleType and its flags.
const (
	rangeHandleDmaBufFD     = 1
	rangeFlagDmaBufMapPCIe  = 1
	hostPageSize            = 4096
	maxArrayMapInfos        = 1 << 16
	arrayMapInfoSize        = 96 // sizeof(CUarrayMapInfo)
	resourceTypeArray       = 0  // CU_RESOURCE_TYPE_ARRAY
	resourceTypeMipmapArray = 1  // CU_RESOURCE_TYPE_MIPMAPPED_ARRAY
)

// MemGetHandleForAddressRange is cuMemGetHandleForAddressRange. The request is checked as
// the driver documents it (a dma-buf fd, flags 0 or the PCIe mapping, a page-aligned range
// inside one of the caller's device allocations); a valid one answers NOT_SUPPORTED, which
// NVIDIA's driver gives where the kernel cannot export dma-bufs: vgpu's device memory is a
// model or lives on a server's GPU, and no dma-buf of this machine's kernel describes it.
func MemGetHandleForAddressRange(handle unsafe.Pointer, p, size uint64, typ int32, flags uint64) Result {
	if _, r := ctxDevice(); r != Success {
		return r
	}
	if handle == nil || typ != rangeHandleDmaBufFD || flags&^rangeFlagDmaBufMapPCIe != 0 {
		return ErrorInvalidValue
	}
	if size == 0 || p%hostPageSize != 0 || size%hostPageSize != 0 {
		return ErrorInvalidValue
	}
	a := shim.S().Mem.Find(uintptr(p))
	if a == nil || !a.OnDevice() || !shim.InRange(a.Base, uint64(a.Size), uintptr(p), size) {
		return ErrorInvalidValue
	}
	return ErrorNotSupported
}

// MemMapArrayAsync is cuMemMapArrayAsync: it maps and unmaps memory into sparse CUDA arrays.
// vgpu makes no sparse array (cuArrayGetSparseProperties says so of every array), so each
// entry must name one of the caller's arrays or mipmapped arrays (else an invalid handle),
// and then it is not sparse: an invalid value. Nothing is mapped.
func MemMapArrayAsync(list unsafe.Pointer, count uint32, h uintptr) Result {
	if _, r := stream(h); r != Success {
		return r
	}
	if list == nil || count == 0 || count > maxArrayMapInfos {
		return ErrorInvalidValue
	}
	for i := uintptr(0); i < uintptr(count); i++ {
		e := unsafe.Add(list, arrayMapInfoSize*i)
		res := *(*uintptr)(unsafe.Add(e, 8))
		switch *(*int32)(e) {
		case resourceTypeArray:
			if _, r := arrayOf(res); r != Success {
				return r
			}
		case resourceTypeMipmapArray:
			if _, ok := shim.LookupMipmap(res); !ok {
				return ErrorInvalidHandle
			}
		default:
			return ErrorInvalidValue
		}
	}
	return ErrorInvalidValue
}

// MemMapArrayAsyncPtsz is cuMemMapArrayAsync_ptsz.
func MemMapArrayAsyncPtsz(list unsafe.Pointer, count uint32, h uintptr) Result {
	return MemMapArrayAsync(list, count, ptsz(h))
}
