package local

import (
	"encoding/binary"
	"runtime"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/cudart"
	"vgpu/shim"
)

// withFakeGPU makes the model's backend this package's, on the fake driver, for one test.
func withFakeGPU(t *testing.T) *Backend {
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
	useFakeDriver()
	useFakeArrays()
	shim.Reset()
	s := shim.S()
	b := &Backend{devices: make([]shim.DeviceRecord, len(s.Devices())), primaries: make([]unsafe.Pointer, len(s.Devices()))}
	old := s.Backend
	s.Backend = b
	t.Cleanup(func() { s.Backend = old; shim.Reset() })
	return b
}

func floatDesc() [5]int32 { return [5]int32{32, 0, 0, 0, shim.ChanFloat} }

// The array a program makes is the driver's, described to it as the program asked; copies to
// and from it reach the driver as cuMemcpy3D with the array at the right element, row and
// slice; destroying it destroys the driver's.
func TestArraysAreTheDriversAndTheirCopiesReachIt(t *testing.T) {
	withFakeGPU(t)
	f0 := readFakeArrays()
	shim.AsClient(1, func() {
		var arr uintptr
		d := floatDesc()
		require.Equal(t, cudart.Success, cudart.MallocArray(unsafe.Pointer(&arr), unsafe.Pointer(&d), 64, 16, shim.ArraySurfaceLS))
		f := readFakeArrays()
		require.Equal(t, f0.ArraysMade+1, f.ArraysMade)
		assert.Equal(t, arrayDesc{W: 64, H: 16, D: 0, Format: shim.FmtF32, Channels: 1, Flags: shim.ArraySurfaceLS}, f.Desc)
		a, ok := shim.LookupArray(arr)
		require.True(t, ok)
		real := a.Real
		require.NotZero(t, real)

		// 8 floats from column 4, rows 3..5: three row copies, the last to row 5.
		host := make([]float32, 8*3)
		require.Equal(t, cudart.Success, cudart.Memcpy2DToArray(arr, 4*4, 3, uintptr(unsafe.Pointer(&host[0])), 32, 32, 3, shim.HostToDevice))
		f = readFakeArrays()
		assert.Equal(t, f0.Copies+3, f.Copies, "one cuMemcpy3D per row")
		c := f.Copy
		assert.Equal(t, copySide{X: 16, Y: 5, Z: 0, Type: memArray, Array: real}, c.Dst)
		assert.Equal(t, uint32(memHost), c.Src.Type)
		assert.Equal(t, uintptr(unsafe.Pointer(&host[16])), c.Src.Host)
		assert.Equal(t, [3]uint64{32, 1, 1}, [3]uint64{c.Width, c.Height, c.Depth})

		// Out of a 3D array of int2 (8 x 4 x 3): the box from (2,1,1), 4 x 2 x 2, to the host.
		var a3 uintptr
		d2 := [5]int32{32, 32, 0, 0, shim.ChanSigned}
		ext := [3]uint64{8, 4, 3}
		require.Equal(t, cudart.Success, cudart.Malloc3DArray(unsafe.Pointer(&a3), unsafe.Pointer(&d2), unsafe.Pointer(&ext), 0))
		f = readFakeArrays()
		assert.Equal(t, arrayDesc{W: 8, H: 4, D: 3, Format: shim.FmtS32, Channels: 2}, f.Desc)
		b3, _ := shim.LookupArray(a3)
		out := make([]byte, 8*4*3*8)
		p := make([]byte, 160) // cudaMemcpy3DParms
		le := binary.LittleEndian
		le.PutUint64(p[0:], uint64(a3))
		le.PutUint64(p[8:], 2)
		le.PutUint64(p[16:], 1)
		le.PutUint64(p[24:], 1)
		le.PutUint64(p[96:], uint64(uintptr(unsafe.Pointer(&out[0]))))
		le.PutUint64(p[104:], 8*8)
		le.PutUint64(p[112:], 8)
		le.PutUint64(p[120:], 4)
		le.PutUint64(p[128:], 4)
		le.PutUint64(p[136:], 2)
		le.PutUint64(p[144:], 2)
		le.PutUint32(p[152:], shim.DeviceToHost)
		n := readFakeArrays().Copies
		require.Equal(t, cudart.Success, cudart.Memcpy3D(unsafe.Pointer(&p[0])))
		f = readFakeArrays()
		assert.Equal(t, n+4, f.Copies, "2 rows of 2 slices")
		assert.Equal(t, copySide{X: 2 * 8, Y: 2, Z: 2, Type: memArray, Array: b3.Real}, f.Copy.Src, "the last row: (2, 1+1, 1+1)")
		assert.Equal(t, uintptr(unsafe.Pointer(&out[(1*4+1)*64])), f.Copy.Dst.Host)
		assert.Equal(t, uint64(32), f.Copy.Width)

		require.Equal(t, cudart.Success, cudart.FreeArray(arr))
		require.Equal(t, cudart.Success, cudart.FreeArray(a3))
		assert.Equal(t, f0.ArraysFreed+2, readFakeArrays().ArraysFreed)
	})
}

// A texture or surface object's value is the driver's (a kernel reads it from its
// parameters), made over the driver's array; the getters still give the program's array
// back; destroying it reaches the driver.
func TestTextureAndSurfaceObjectsAreTheDriversValues(t *testing.T) {
	withFakeGPU(t)
	shim.AsClient(1, func() {
		var arr uintptr
		d := floatDesc()
		require.Equal(t, cudart.Success, cudart.MallocArray(unsafe.Pointer(&arr), unsafe.Pointer(&d), 64, 16, shim.ArraySurfaceLS))
		a, _ := shim.LookupArray(arr)
		res := make([]byte, shim.ResDescSize)
		binary.LittleEndian.PutUint64(res[8:], uint64(arr)) // resType 0: an array
		tex := make([]byte, shim.TexDescSize)
		binary.LittleEndian.PutUint32(tex[12:], 1) // linear filtering
		var obj uint64
		require.Equal(t, cudart.Success, cudart.CreateTextureObject(unsafe.Pointer(&obj), unsafe.Pointer(&res[0]), unsafe.Pointer(&tex[0]), nil))
		f := readFakeArrays()
		assert.Equal(t, uint64(0x40+f.TexMade), obj, "the driver's value")
		assert.Equal(t, uint64(a.Real), binary.LittleEndian.Uint64(f.Res[8:]), "over the driver's array")
		assert.Equal(t, uint32(1), binary.LittleEndian.Uint32(f.Tex[12:]), "filter mode")
		back := make([]byte, shim.ResDescSize)
		require.Equal(t, cudart.Success, cudart.GetTextureObjectResourceDesc(unsafe.Pointer(&back[0]), obj))
		assert.Equal(t, uint64(arr), binary.LittleEndian.Uint64(back[8:]), "the program's array, read back")

		var surf uint64
		require.Equal(t, cudart.Success, cudart.CreateSurfaceObject(unsafe.Pointer(&surf), unsafe.Pointer(&res[0])))
		f = readFakeArrays()
		assert.Equal(t, uint64(0x400+f.SurfMade), surf)

		require.Equal(t, cudart.Success, cudart.DestroyTextureObject(obj))
		g := readFakeArrays()
		assert.Equal(t, f.TexFreed+1, g.TexFreed)
		assert.Equal(t, obj, g.LastFreed)
		assert.Equal(t, cudart.ErrorInvalidValue, cudart.DestroyTextureObject(obj), "destroyed already")
		assert.Equal(t, g.TexFreed, readFakeArrays().TexFreed)
		require.Equal(t, cudart.Success, cudart.DestroySurfaceObject(surf))
		assert.Equal(t, surf, readFakeArrays().LastFreed)
		require.Equal(t, cudart.Success, cudart.FreeArray(arr))
	})
}

// Another client can neither use nor destroy a client's array or objects, whose values it
// may guess (the driver's are small numbers); a client that goes has its objects destroyed.
func TestAnotherClientCannotUseOrDestroyTheDriversObjects(t *testing.T) {
	withFakeGPU(t)
	var arr uintptr
	var obj, surf uint64
	res := make([]byte, shim.ResDescSize)
	shim.AsClient(1, func() {
		d := floatDesc()
		require.Equal(t, cudart.Success, cudart.MallocArray(unsafe.Pointer(&arr), unsafe.Pointer(&d), 64, 16, shim.ArraySurfaceLS))
		binary.LittleEndian.PutUint64(res[8:], uint64(arr))
		tex := make([]byte, shim.TexDescSize)
		require.Equal(t, cudart.Success, cudart.CreateTextureObject(unsafe.Pointer(&obj), unsafe.Pointer(&res[0]), unsafe.Pointer(&tex[0]), nil))
		require.Equal(t, cudart.Success, cudart.CreateSurfaceObject(unsafe.Pointer(&surf), unsafe.Pointer(&res[0])))
	})
	f := readFakeArrays()
	shim.AsClient(2, func() {
		back := make([]byte, shim.ResDescSize)
		assert.NotEqual(t, cudart.Success, cudart.GetTextureObjectResourceDesc(unsafe.Pointer(&back[0]), obj))
		assert.NotEqual(t, cudart.Success, cudart.DestroyTextureObject(obj))
		assert.NotEqual(t, cudart.Success, cudart.DestroySurfaceObject(surf))
		host := make([]byte, 256)
		assert.NotEqual(t, cudart.Success, cudart.Memcpy2DToArray(arr, 0, 0, uintptr(unsafe.Pointer(&host[0])), 256, 256, 1, shim.HostToDevice))
		assert.NotEqual(t, cudart.Success, cudart.FreeArray(arr))
		var mine uint64
		assert.NotEqual(t, cudart.Success, cudart.CreateTextureObject(unsafe.Pointer(&mine), unsafe.Pointer(&res[0]), unsafe.Pointer(&make([]byte, shim.TexDescSize)[0]), nil),
			"a texture over another client's array")
	})
	g := readFakeArrays()
	assert.Equal(t, [5]int{f.Copies, f.ArraysFreed, f.TexMade, f.TexFreed, f.SurfFreed}, [5]int{g.Copies, g.ArraysFreed, g.TexMade, g.TexFreed, g.SurfFreed},
		"nothing of client 2's reached the driver")

	shim.ReleaseOwned(1)
	shim.FreeOwned(1)
	h := readFakeArrays()
	assert.Equal(t, [3]int{g.TexFreed + 1, g.SurfFreed + 1, g.ArraysFreed + 1}, [3]int{h.TexFreed, h.SurfFreed, h.ArraysFreed}, "the client went: its objects and array with it")
}

// A mipmapped array is the driver's: its levels are the driver's level arrays, copies reach
// them, a texture over it names the driver's, and freeing it destroys it once, its levels
// with it (never one by one).
func TestMipmappedArraysAreTheDriversWithTheirLevels(t *testing.T) {
	withFakeGPU(t)
	shim.AsClient(1, func() {
		made0, freed0, _ := fakeMipmaps()
		var mm uintptr
		d := floatDesc()
		ext := [3]uint64{64, 16, 0}
		require.Equal(t, cudart.Success, cudart.MallocMipmappedArray(unsafe.Pointer(&mm), unsafe.Pointer(&d), unsafe.Pointer(&ext), 3, 0))
		made, _, levels := fakeMipmaps()
		require.Equal(t, made0+1, made)
		assert.Equal(t, uint32(3), levels)
		assert.Equal(t, arrayDesc{W: 64, H: 16, Format: shim.FmtF32, Channels: 1}, readFakeArrays().Desc)
		m, _ := shim.LookupMipmap(mm)
		require.NotZero(t, m.Real)

		var l1 uintptr
		require.Equal(t, cudart.Success, cudart.GetMipmappedArrayLevel(unsafe.Pointer(&l1), mm, 1))
		host := make([]float32, 32)
		require.Equal(t, cudart.Success, cudart.Memcpy2DToArray(l1, 0, 7, uintptr(unsafe.Pointer(&host[0])), 128, 128, 1, shim.HostToDevice))
		f := readFakeArrays()
		assert.Equal(t, copySide{Y: 7, Type: memArray, Array: m.Real + 2}, f.Copy.Dst, "level 1 (32 x 8), its last row")
		assert.Equal(t, cudart.ErrorInvalidValue, cudart.Memcpy2DToArray(l1, 0, 8, uintptr(unsafe.Pointer(&host[0])), 128, 128, 1, shim.HostToDevice), "past level 1's rows")

		res := make([]byte, shim.ResDescSize)
		binary.LittleEndian.PutUint32(res, shim.ResMipmap)
		binary.LittleEndian.PutUint64(res[8:], uint64(mm))
		var obj uint64
		require.Equal(t, cudart.Success, cudart.CreateTextureObject(unsafe.Pointer(&obj), unsafe.Pointer(&res[0]), unsafe.Pointer(&make([]byte, shim.TexDescSize)[0]), nil))
		f = readFakeArrays()
		assert.Equal(t, uint64(m.Real), binary.LittleEndian.Uint64(f.Res[8:]))
		require.Equal(t, cudart.Success, cudart.DestroyTextureObject(obj))

		arraysFreed := readFakeArrays().ArraysFreed
		require.Equal(t, cudart.Success, cudart.FreeMipmappedArray(mm))
		_, freed, _ := fakeMipmaps()
		assert.Equal(t, freed0+1, freed)
		assert.Equal(t, arraysFreed, readFakeArrays().ArraysFreed, "levels go with their mipmapped array")
		assert.NotEqual(t, cudart.Success, cudart.FreeMipmappedArray(mm))
		_, freed, _ = fakeMipmaps()
		assert.Equal(t, freed0+1, freed, "once")
	})
}
