package remote

import (
	"unsafe"

	"vgpu/cuda"
)

// The driver's host-memory rows (cuMemHostAlloc and its kin) run in the client: the memory is
// the client's. Their gate, though (cuInit called, a context current), is state the server
// holds for this client, so under remote the server answers it. Without this, NVIDIA's own
// runtime on vgpu's libcuda.so.1 got NOT_INITIALIZED from cudaMallocHost.
func init() {
	inProcess := cuda.HostGate
	cuda.HostGate = func(needCtx bool) cuda.Result {
		if !On() {
			return inProcess(needCtx)
		}
		var ctx uint64
		if r := Stubs.Cuda.CuCtxGetCurrent(unsafe.Pointer(&ctx)); r != 0 {
			return cuda.Result(r)
		}
		if needCtx && ctx == 0 {
			return cuda.ErrorInvalidContext
		}
		return cuda.Success
	}
}
