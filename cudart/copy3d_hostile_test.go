package cudart

import (
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/shim"
)

// A pitched pointer with no rows (ysize 0) makes every slice of a 3D copy the same bytes, so
// a depth of 2^32 was 2^32 valid copies from one call: a server session spinning for hours.
// A multi-slice copy's block must fit in the rows of a slice, as it must in an array's.
func TestMemcpy3DSlicesOfNoRowsAreRefused(t *testing.T) {
	lockThread(t)
	shim.Reset()
	t.Cleanup(shim.Reset)
	var src, dst uintptr
	require.Equal(t, Success, Malloc(unsafe.Pointer(&src), 4096))
	require.Equal(t, Success, Malloc(unsafe.Pointer(&dst), 4096))
	p := make([]byte, 160)
	put := func(off int, v uint64) { shim.Le.PutUint64(p[off:], v) }
	put(32, uint64(src)) // srcPtr: ptr, pitch, xsize, ysize (0)
	put(40, 64)
	put(48, 64)
	put(96, uint64(dst))
	put(104, 64)
	put(112, 64)
	put(128, 64) // extent: width, height, depth
	put(136, 1)
	put(144, 1<<32)
	shim.Le.PutUint32(p[152:], uint32(shim.DeviceToDevice))
	done := make(chan Error, 1)
	go func() { done <- Memcpy3D(unsafe.Pointer(&p[0])) }()
	select {
	case e := <-done:
		assert.Equal(t, ErrorInvalidValue, e)
	case <-time.After(5 * time.Second):
		t.Fatal("cudaMemcpy3D still copying the same slice")
	}
	// A volume that holds its slices still copies.
	put(56, 1)
	put(120, 1)
	put(144, 2)
	put(56, 32)
	put(120, 32)
	assert.Equal(t, Success, Memcpy3D(unsafe.Pointer(&p[0])))
}
