package remote

import (
	"encoding/binary"

	"vgpu/cuda"
	"vgpu/shim"

	"vgpu/cudart"
)

// CUDA arrays live on the server, owned by this client. Copies that move host memory need
// the array's layout: the server gives it for the caller's own arrays only, and the copy then
// goes through the pitched-copy ops, whose every address the server checks again.

func arrayLayout(h uintptr) (cudart.ArrayLayout, cudart.Error) {
	resp, err := roundTrip(OpArrayLayout, binary.LittleEndian.AppendUint64(nil, uint64(h)))
	if err != nil || len(resp) < 4 {
		return cudart.ArrayLayout{}, cudart.ErrorNotSupported
	}
	if e := cudart.Error(binary.LittleEndian.Uint32(resp)); e != cudart.Success {
		return cudart.ArrayLayout{}, e
	}
	if len(resp) != 4+5*8 {
		return cudart.ArrayLayout{}, cudart.ErrorInvalidValue
	}
	u := func(i int) uint64 { return binary.LittleEndian.Uint64(resp[4+8*i:]) }
	return cudart.ArrayLayout{Base: u(0), Pitch: u(1), Rows: u(2), Depth: u(3), Elem: u(4)}, cudart.Success
}

// driverArrays is arrayLayout for the driver API's copies, with the driver's codes.
func driverArrays(h uintptr) (shim.ArrayLayout, cuda.Result) {
	l, e := arrayLayout(h)
	return l, cuda.Result(driverResult(e))
}

func u64sTo(b []byte, vs ...uint64) []byte {
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return b
}

// copier is a pitched copy over the connection.
func copier(async bool, stream uintptr) cudart.Copier2D {
	return func(dst uintptr, dpitch uint64, src uintptr, spitch, w, h uint64, kind int32) cudart.Error {
		return memcpy2D(dst, dpitch, src, spitch, w, h, kind, async, stream)
	}
}

// Memcpy2DToArray is cudaMemcpy2DToArray over the connection.
func Memcpy2DToArray(dst uintptr, wOff, hOff uint64, src uintptr, spitch, width, height uint64, kind int32) cudart.Error {
	return cudart.ToArray2D(arrayLayout, copier(false, 0), dst, wOff, hOff, src, spitch, width, height, kind)
}

// Memcpy2DToArrayAsync is cudaMemcpy2DToArrayAsync.
func Memcpy2DToArrayAsync(dst uintptr, wOff, hOff uint64, src uintptr, spitch, width, height uint64, kind int32, stream uintptr) cudart.Error {
	return cudart.ToArray2D(arrayLayout, copier(true, stream), dst, wOff, hOff, src, spitch, width, height, kind)
}

// Memcpy2DFromArray is cudaMemcpy2DFromArray.
func Memcpy2DFromArray(dst uintptr, dpitch uint64, src uintptr, wOff, hOff, width, height uint64, kind int32) cudart.Error {
	return cudart.FromArray2D(arrayLayout, copier(false, 0), dst, dpitch, src, wOff, hOff, width, height, kind)
}

// Memcpy2DFromArrayAsync is cudaMemcpy2DFromArrayAsync.
func Memcpy2DFromArrayAsync(dst uintptr, dpitch uint64, src uintptr, wOff, hOff, width, height uint64, kind int32, stream uintptr) cudart.Error {
	return cudart.FromArray2D(arrayLayout, copier(true, stream), dst, dpitch, src, wOff, hOff, width, height, kind)
}

// MemcpyToArray is cudaMemcpyToArray.
func MemcpyToArray(dst uintptr, wOff, hOff uint64, src uintptr, count uint64, kind int32) cudart.Error {
	return cudart.ToArrayLinear(arrayLayout, copier(false, 0), dst, wOff, hOff, src, count, kind)
}

// MemcpyToArrayAsync is cudaMemcpyToArrayAsync.
func MemcpyToArrayAsync(dst uintptr, wOff, hOff uint64, src uintptr, count uint64, kind int32, stream uintptr) cudart.Error {
	return cudart.ToArrayLinear(arrayLayout, copier(true, stream), dst, wOff, hOff, src, count, kind)
}

// MemcpyFromArray is cudaMemcpyFromArray.
func MemcpyFromArray(dst uintptr, src uintptr, wOff, hOff, count uint64, kind int32) cudart.Error {
	return cudart.FromArrayLinear(arrayLayout, copier(false, 0), dst, src, wOff, hOff, count, kind)
}

// MemcpyFromArrayAsync is cudaMemcpyFromArrayAsync.
func MemcpyFromArrayAsync(dst uintptr, src uintptr, wOff, hOff, count uint64, kind int32, stream uintptr) cudart.Error {
	return cudart.FromArrayLinear(arrayLayout, copier(true, stream), dst, src, wOff, hOff, count, kind)
}
