package cuda

import (
	"math"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/shim"
)

// A texture reference returns what was set, refuses what the driver refuses, and is its
// creator's only.
func TestTexRefStoresWhatWasSetForItsOwnerOnly(t *testing.T) {
	lockThread(t)
	shim.Reset()
	t.Cleanup(shim.Reset)
	require.Equal(t, Success, Init(0))
	var ref uintptr
	shim.AsClient(1, func() {
		withContext(t)
		require.Equal(t, Success, TexRefCreate(unsafe.Pointer(&ref)))
		var arr uintptr
		d := desc2D(8, 8, shim.FmtS16, 2)
		require.Equal(t, Success, ArrayCreate(unsafe.Pointer(&arr), unsafe.Pointer(&d[0])))
		assert.Equal(t, ErrorInvalidValue, TexRefSetArray(ref, arr, 0), "flags must be CU_TRSA_OVERRIDE_FORMAT")
		require.Equal(t, Success, TexRefSetArray(ref, arr, 1))
		var got uintptr
		var format, n uint32
		require.Equal(t, Success, TexRefGetArray(unsafe.Pointer(&got), ref))
		assert.Equal(t, arr, got)
		require.Equal(t, Success, TexRefGetFormat(unsafe.Pointer(&format), unsafe.Pointer(&n), ref))
		assert.Equal(t, [2]uint32{shim.FmtS16, 2}, [2]uint32{format, n}, "the array's format overrides")
		var addr uint64
		assert.Equal(t, ErrorInvalidValue, TexRefGetAddress(unsafe.Pointer(&addr), ref), "bound to an array, not memory")

		require.Equal(t, Success, TexRefSetAddressMode(ref, 2, 3))
		assert.Equal(t, ErrorInvalidValue, TexRefSetAddressMode(ref, 3, 0))
		assert.Equal(t, ErrorInvalidValue, TexRefSetAddressMode(ref, 0, 4))
		var mode uint32
		require.Equal(t, Success, TexRefGetAddressMode(unsafe.Pointer(&mode), ref, 2))
		assert.Equal(t, uint32(3), mode)
		require.Equal(t, Success, TexRefSetMipmapLevelClamp(ref, 0.5, 3))
		assert.Equal(t, ErrorInvalidValue, TexRefSetMipmapLevelClamp(ref, 2, 1))
		assert.Equal(t, ErrorInvalidValue, TexRefSetMipmapLevelBias(ref, float32(math.NaN())))
		var lo, hi float32
		require.Equal(t, Success, TexRefGetMipmapLevelClamp(unsafe.Pointer(&lo), unsafe.Pointer(&hi), ref))
		assert.Equal(t, [2]float32{0.5, 3}, [2]float32{lo, hi})
		border := [4]float32{1, 0.5, 0.25, 0}
		require.Equal(t, Success, TexRefSetBorderColor(ref, unsafe.Pointer(&border[0])))
		var bg [4]float32
		require.Equal(t, Success, TexRefGetBorderColor(unsafe.Pointer(&bg[0]), ref))
		assert.Equal(t, border, bg)
		assert.Equal(t, ErrorInvalidValue, TexRefSetFlags(ref, 0x100))

		var p uint64
		require.Equal(t, Success, MemAlloc(unsafe.Pointer(&p), 4096))
		var off uint64 = 99
		require.Equal(t, Success, TexRefSetAddress(unsafe.Pointer(&off), ref, p+4, 64))
		assert.Equal(t, uint64(4), off, "the offset from the 512-byte aligned base")
		assert.Equal(t, ErrorInvalidValue, TexRefSetAddress(unsafe.Pointer(&off), ref, p, 8192), "past the allocation")
		require.Equal(t, Success, TexRefGetAddress(unsafe.Pointer(&addr), ref))
		assert.Equal(t, p+4, addr)
		assert.Equal(t, ErrorInvalidValue, TexRefGetArray(unsafe.Pointer(&got), ref), "rebinding unbound the array")
	})
	shim.AsClient(2, func() {
		withContext(t)
		var f uint32
		assert.Equal(t, ErrorInvalidHandle, TexRefGetFlags(unsafe.Pointer(&f), ref))
		assert.Equal(t, ErrorInvalidHandle, TexRefSetFilterMode(ref, 1))
		assert.Equal(t, ErrorInvalidHandle, TexRefDestroy(ref))
		var s uintptr
		assert.Equal(t, ErrorInvalidHandle, SurfRefGetArray(unsafe.Pointer(&s), 0x1234))
	})
	shim.AsClient(1, func() {
		withContext(t)
		assert.Equal(t, Success, TexRefDestroy(ref))
		assert.Equal(t, ErrorInvalidHandle, TexRefDestroy(ref))
	})
}
