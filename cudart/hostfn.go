package cudart

import "vgpu/shim"

// RunHostFunc runs a host function on a thread other than the caller's and returns once it
// has returned (shim.RunHostFunc).
func RunHostFunc(fn, data uintptr) { shim.RunHostFunc(fn, data) }

// RunStreamCallback runs a cudaStreamCallback_t as RunHostFunc runs a host function
// (shim.RunStreamCallback).
func RunStreamCallback(fn, stream, data uintptr) { shim.RunStreamCallback(fn, stream, data) }
