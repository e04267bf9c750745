package cublas

import (
	"runtime"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/shim"
)

func asClient(owner uint64, fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		ts := shim.Thread()
		ts.Owner = owner
		defer func() { ts.Owner = 0 }()
		fn()
	}()
	<-done
}

// A second client can neither configure nor destroy the first's cuBLAS handle: it gets what a
// destroyed handle gets.
func TestAnotherClientsHandleIsNotInitialized(t *testing.T) {
	shim.Reset()
	t.Cleanup(shim.Reset)
	var h, wild uintptr
	asClient(1, func() { require.Equal(t, Success, Create(unsafe.Pointer(&h))) })
	asClient(2, func() {
		require.Equal(t, Success, Create(unsafe.Pointer(&wild)))
		require.Equal(t, Success, Destroy(wild))
		assert.Equal(t, SetMathMode(wild, 0), SetMathMode(h, 0))
		assert.Equal(t, Destroy(wild), Destroy(h))
		assert.Equal(t, NotInitialized, Destroy(h))
	})
	asClient(1, func() {
		assert.Equal(t, Success, SetStream(h, 0), "A's handle survived")
		assert.Equal(t, Success, Destroy(h))
	})
}
