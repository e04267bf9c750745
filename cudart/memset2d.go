package cudart

import "vgpu/shim"

// Memset2D is cudaMemset2D.
func Memset2D(p uintptr, pitch uint64, value int32, width, height uint64) Error {
	return Memset2DAsync(p, pitch, value, width, height, 0)
}

// Memset2DAsync is cudaMemset2DAsync: height rows of width bytes, pitch bytes apart. A row
// wider than the pitch is an invalid value; an empty rectangle succeeds; every row must lie
// in device memory, and none is written unless all do.
func Memset2DAsync(p uintptr, pitch uint64, value int32, width, height uint64, stream uintptr) Error {
	s, e := resolveStream(stream)
	if e != Success {
		return e
	}
	return From(shim.Memset2D(s, p, pitch, uint32(byte(value)), 1, width, height))
}
