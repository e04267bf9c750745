package cuda

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// descriptor2D is a CUDA_MEMCPY2D from device memory to host memory.
func descriptor2D(spitch, dpitch, width, height uint64) []byte {
	b := make([]byte, 128)
	le := binary.LittleEndian
	le.PutUint32(b[16:], memDevice)
	le.PutUint64(b[32:], 0x10000) // srcDevice
	le.PutUint64(b[48:], spitch)
	le.PutUint32(b[72:], memHost)
	le.PutUint64(b[80:], 0x20000) // dstHost
	le.PutUint64(b[104:], dpitch)
	le.PutUint64(b[112:], width)
	le.PutUint64(b[120:], height)
	return b
}

// NVIDIA's driver refuses one row wider than a given pitch (seen on an H200 through
// NVIDIA's runtime: cudaErrorInvalidValue, tests/programs/symbols.cu).
func TestCopy2DOneRowWiderThanItsPitchIsInvalidValue(t *testing.T) {
	lockThread(t)
	b := descriptor2D(512, 4096, 513, 1)
	_, r := Copy2DAt(unsafe.Pointer(&b[0]), LocalArrays)
	assert.Equal(t, ErrorInvalidValue, r)
}

func TestCopy2DOneRowTakesAZeroPitchAsItsWidth(t *testing.T) {
	lockThread(t)
	b := descriptor2D(0, 0, 100, 1)
	c, r := Copy2DAt(unsafe.Pointer(&b[0]), LocalArrays)
	assert.Equal(t, Success, r)
	assert.Equal(t, [2]uint64{100, 100}, [2]uint64{c.SPitch, c.DPitch})
}
