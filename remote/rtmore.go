package remote

import (
	"unsafe"

	"vgpu/cudart"
)

// Copies with CUDA arrays on the per-thread default stream, over the connection: as the
// other _ptds/_ptsz forms (ptsz.go), a synchronous copy goes as its plain form once the
// thread's per-thread stream is found not capturing.

// MemcpyToArrayPtds is cudaMemcpyToArray_ptds.
func MemcpyToArrayPtds(dst uintptr, wOff, hOff uint64, src uintptr, count uint64, kind int32) cudart.Error {
	if e := ptdsCheck(); e != cudart.Success {
		return e
	}
	return MemcpyToArray(dst, wOff, hOff, src, count, kind)
}

// MemcpyFromArrayPtds is cudaMemcpyFromArray_ptds.
func MemcpyFromArrayPtds(dst uintptr, src uintptr, wOff, hOff, count uint64, kind int32) cudart.Error {
	if e := ptdsCheck(); e != cudart.Success {
		return e
	}
	return MemcpyFromArray(dst, src, wOff, hOff, count, kind)
}

// Memcpy2DToArrayPtds is cudaMemcpy2DToArray_ptds.
func Memcpy2DToArrayPtds(dst uintptr, wOff, hOff uint64, src uintptr, spitch, width, height uint64, kind int32) cudart.Error {
	if e := ptdsCheck(); e != cudart.Success {
		return e
	}
	return Memcpy2DToArray(dst, wOff, hOff, src, spitch, width, height, kind)
}

// Memcpy2DFromArrayPtds is cudaMemcpy2DFromArray_ptds.
func Memcpy2DFromArrayPtds(dst uintptr, dpitch uint64, src uintptr, wOff, hOff, width, height uint64, kind int32) cudart.Error {
	if e := ptdsCheck(); e != cudart.Success {
		return e
	}
	return Memcpy2DFromArray(dst, dpitch, src, wOff, hOff, width, height, kind)
}

// MemcpyToArrayAsyncPtsz is cudaMemcpyToArrayAsync_ptsz.
func MemcpyToArrayAsyncPtsz(dst uintptr, wOff, hOff uint64, src uintptr, count uint64, kind int32, stream uintptr) cudart.Error {
	return MemcpyToArrayAsync(dst, wOff, hOff, src, count, kind, ptsz(stream))
}

// MemcpyFromArrayAsyncPtsz is cudaMemcpyFromArrayAsync_ptsz.
func MemcpyFromArrayAsyncPtsz(dst uintptr, src uintptr, wOff, hOff, count uint64, kind int32, stream uintptr) cudart.Error {
	return MemcpyFromArrayAsync(dst, src, wOff, hOff, count, kind, ptsz(stream))
}

// Memcpy2DToArrayAsyncPtsz is cudaMemcpy2DToArrayAsync_ptsz.
func Memcpy2DToArrayAsyncPtsz(dst uintptr, wOff, hOff uint64, src uintptr, spitch, width, height uint64, kind int32, stream uintptr) cudart.Error {
	return Memcpy2DToArrayAsync(dst, wOff, hOff, src, spitch, width, height, kind, ptsz(stream))
}

// Memcpy2DFromArrayAsyncPtsz is cudaMemcpy2DFromArrayAsync_ptsz.
func Memcpy2DFromArrayAsyncPtsz(dst uintptr, dpitch uint64, src uintptr, wOff, hOff, width, height uint64, kind int32, stream uintptr) cudart.Error {
	return Memcpy2DFromArrayAsync(dst, dpitch, src, wOff, hOff, width, height, kind, ptsz(stream))
}

// MemRangeGetAttributes is cudaMemRangeGetAttributes for a remote client: its buffers are
// the client's, so each attribute is one forwarded cudaMemRangeGetAttribute.
func MemRangeGetAttributes(data, sizes, attrs unsafe.Pointer, num uint64, p uintptr, n uint64) cudart.Error {
	one := func(buf unsafe.Pointer, size uint64, attr int32, p uintptr, n uint64) cudart.Error {
		return fwd("cudaMemRangeGetAttribute", uint64(uintptr(buf)), size, uint64(uint32(attr)), uint64(p), n)
	}
	return cudart.RangeAttributes(one, data, sizes, attrs, num, p, n)
}
