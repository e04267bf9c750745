package cublas

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/shim"
)

// A second client can neither configure nor destroy the first's cuBLAS handle: it gets what a
// destroyed handle gets.
func TestAnotherClientsHandleIsNotInitialized(t *testing.T) {
	shim.Reset()
	t.Cleanup(shim.Reset)
	var h, wild uintptr
	shim.AsClient(1, func() { require.Equal(t, Success, Create(unsafe.Pointer(&h))) })
	shim.AsClient(2, func() {
		require.Equal(t, Success, Create(unsafe.Pointer(&wild)))
		require.Equal(t, Success, Destroy(wild))
		assert.Equal(t, SetMathMode(wild, 0), SetMathMode(h, 0))
		assert.Equal(t, Destroy(wild), Destroy(h))
		assert.Equal(t, NotInitialized, Destroy(h))
	})
	shim.AsClient(1, func() {
		assert.Equal(t, Success, SetStream(h, 0), "A's handle survived")
		assert.Equal(t, Success, Destroy(h))
	})
}
