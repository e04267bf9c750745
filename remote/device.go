package remote

import (
	"sync/atomic"

	"vgpu/cudart"
	"vgpu/shim/api"
	"vgpu/wire"
)

// cudaGetDevice is answered from the client's own per-thread state, and cudaSetDevice goes
// to the server only when it changes the device the server has current: ggml asks for the
// device before most operations, and a round trip each would cost more than the work.
var serverDevice atomic.Int32 // the device last made current on the server; -1: unknown

func init() {
	serverDevice.Store(-1)
	byName := api.ByName()
	setDevice := byName["cudaSetDevice"].Op
	beforeCall[setDevice] = func(f *api.Func, v []wire.Value) (uint64, bool) {
		ordinal := int32(v[0].U)
		if e := cudart.SetDevice(ordinal); e != cudart.Success { // validation, and this thread's state
			return uint64(e), true
		}
		return 0, serverDevice.Load() == ordinal
	}
	afterCall[setDevice] = func(v []wire.Value) { serverDevice.Store(int32(v[0].U)) }
	// A driver-API call that may change the current context (functions.txt: ctxswitch) may
	// change the server's current device behind our back.
	for i := range api.Functions {
		if f := &api.Functions[i]; f.Has("ctxswitch") {
			afterCall[f.Op] = func([]wire.Value) { serverDevice.Store(-1) }
		}
	}
}
