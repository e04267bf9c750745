package table

import (
	"runtime"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// The tracing decorator is transparent: the wrapped table gets the same arguments and the
// caller the same result.
func TestTracePassesArgumentsAndResultsThrough(t *testing.T) {
	var got []uint64
	inner := Semantics
	inner.Cudart.CudaMemcpy = func(dst, src uintptr, count uint64, kind int32) int32 {
		got = []uint64{uint64(dst), uint64(src), count, uint64(kind)}
		return 700
	}
	r := Trace(&inner).Cudart.CudaMemcpy(0x10, 0x20, 30, 4)
	assert.Equal(t, int32(700), r)
	assert.Equal(t, []uint64{0x10, 0x20, 30, 4}, got)
}

// A lazy table asks for the real one at every call, and forwards to it.
func TestLazyAsksForTheTableAtEachCall(t *testing.T) {
	asked := 0
	real := Semantics
	real.Cuda.CuDriverGetVersion = func(v unsafe.Pointer) int32 { *(*int32)(v) = 42; return 0 }
	lazy := Lazy(func() *Set { asked++; return &real })
	var v int32
	assert.Equal(t, int32(0), lazy.Cuda.CuDriverGetVersion(unsafe.Pointer(&v)))
	assert.Equal(t, int32(0), lazy.Cuda.CuDriverGetVersion(unsafe.Pointer(&v)))
	assert.Equal(t, int32(42), v)
	assert.Equal(t, 2, asked)
}

// A failing runtime call sets the last error in the semantics table itself, so every
// backend that runs it (and the trace around it) sees the same cudaGetLastError.
func TestRuntimeFailureSetsTheLastError(t *testing.T) {
	runtime.LockOSThread() // the last error is per thread
	defer runtime.UnlockOSThread()
	Semantics.Cudart.CudaGetLastError() // clear
	r := Semantics.Cudart.CudaStreamSynchronize(0xdead)
	assert.NotZero(t, r)
	assert.Equal(t, r, Semantics.Cudart.CudaGetLastError())
	assert.Zero(t, Semantics.Cudart.CudaGetLastError(), "reading it clears it")
}
