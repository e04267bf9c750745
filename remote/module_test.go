package remote

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// cuLaunchKernel's extra array: (key, value) pairs up to CU_LAUNCH_PARAM_END.
func TestExtraBuffer(t *testing.T) {
	buf := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	size := uint64(len(buf))
	extra := []uintptr{launchParamBufferPointer, uintptr(unsafe.Pointer(&buf[0])), launchParamBufferSize, uintptr(unsafe.Pointer(&size)), launchParamEnd}
	got, ok := extraBuffer(uintptr(unsafe.Pointer(&extra[0])))
	assert.True(t, ok)
	assert.Equal(t, buf, got)

	// The order of the pairs does not matter; a missing size, an unknown key or no end does.
	extra = []uintptr{launchParamBufferSize, uintptr(unsafe.Pointer(&size)), launchParamBufferPointer, uintptr(unsafe.Pointer(&buf[0])), launchParamEnd}
	_, ok = extraBuffer(uintptr(unsafe.Pointer(&extra[0])))
	assert.True(t, ok)
	for _, bad := range [][]uintptr{
		{launchParamBufferPointer, uintptr(unsafe.Pointer(&buf[0])), launchParamEnd},
		{9, 0, launchParamEnd},
		append(make([]uintptr, 0, 70), func() []uintptr {
			var v []uintptr
			for i := 0; i < 35; i++ {
				v = append(v, launchParamBufferSize, uintptr(unsafe.Pointer(&size)))
			}
			return v
		}()...),
	} {
		_, ok := extraBuffer(uintptr(unsafe.Pointer(&bad[0])))
		assert.False(t, ok, "%v", bad[:3])
	}
	huge := uint64(2 << 20)
	extra = []uintptr{launchParamBufferPointer, uintptr(unsafe.Pointer(&buf[0])), launchParamBufferSize, uintptr(unsafe.Pointer(&huge)), launchParamEnd}
	_, ok = extraBuffer(uintptr(unsafe.Pointer(&extra[0])))
	assert.False(t, ok, "a parameter block over 1 MiB is refused, not read")
}
