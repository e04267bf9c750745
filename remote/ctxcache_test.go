package remote

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"vgpu/shim/api"
	"vgpu/wire"
)

// Which calls make the client forget the server's current context: every call that may change
// it, and none of the hot ones NVIDIA's runtime makes around a launch.
func TestCallsThatMayChangeTheCurrentContextAreTheOnesThatForgetIt(t *testing.T) {
	byName := api.ByName()
	changes := func(name string) bool { return changesCtx[byName[name].Op] }
	for _, name := range []string{"cuCtxSetCurrent", "cuCtxPushCurrent_v2", "cuCtxPopCurrent_v2", "cuCtxCreate_v2",
		"cuCtxDestroy_v2", "cuDevicePrimaryCtxReset_v2", "cuDevicePrimaryCtxRelease_v2", "cuCtxAttach", "cuCtxDetach",
		"cudaSetDevice", "cudaDeviceReset", "cudaMalloc", "cublasCreate_v2"} {
		assert.True(t, changes(name), name)
	}
	for _, name := range []string{"cuCtxGetCurrent", "cuCtxGetDevice", "cuCtxGetId", "cuCtxSynchronize", "cuLaunchKernel",
		"cuMemcpyHtoDAsync_v2", "cuEventRecord", "cuStreamSynchronize", "cuDeviceGetAttribute", "cuModuleGetFunction", "nvmlInit_v2"} {
		assert.False(t, changes(name), name)
	}
	for _, op := range []uint32{wire.OpLaunch, wire.OpLaunchAttrs, wire.OpPut, wire.OpGet, wire.OpFunction, wire.OpLoadModule} {
		assert.False(t, changesCtx[op], "protocol op %#x", op)
	}
	assert.True(t, changesCtx[0xEFFF], "an opcode no row names")
}

// An answer that raced with a call that may have changed the context is not kept.
func TestAContextAnswerThatRacedWithAChangeIsNotKept(t *testing.T) {
	setCurrent := uint32(api.ByName()["cuCtxSetCurrent"].Op)
	ctxSeeLocked(setCurrent)
	ctxKnown.Lock()
	g0 := ctxKnown.gen
	ctxKnown.Unlock()
	learnCtx(g0, 0x77)
	ctxKnown.Lock()
	assert.True(t, ctxKnown.valid && ctxKnown.cur == 0x77, "learnt with nothing in between")
	ctxKnown.Unlock()

	ctxKnown.Lock()
	g0 = ctxKnown.gen
	ctxKnown.Unlock()
	ctxSeeLocked(setCurrent) // another thread's cuCtxSetCurrent went out meanwhile
	learnCtx(g0, 0x88)
	ctxKnown.Lock()
	assert.False(t, ctxKnown.valid, "a stale answer was kept")
	ctxKnown.Unlock()

	ctxSeeLocked(uint32(api.ByName()["cuLaunchKernel"].Op))
	ctxKnown.Lock()
	g0 = ctxKnown.gen
	ctxKnown.Unlock()
	learnCtx(g0, 0x99)
	ctxSeeLocked(uint32(api.ByName()["cuCtxGetDevice"].Op))
	ctxKnown.Lock()
	assert.True(t, ctxKnown.valid && ctxKnown.cur == 0x99, "a query forgot the context")
	ctxKnown.Unlock()
}
