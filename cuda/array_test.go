package cuda

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/shim"
)

func desc2D(w, h uint64, format, channels uint32) []byte {
	b := make([]byte, 24)
	binary.LittleEndian.PutUint64(b, w)
	binary.LittleEndian.PutUint64(b[8:], h)
	binary.LittleEndian.PutUint32(b[16:], format)
	binary.LittleEndian.PutUint32(b[20:], channels)
	return b
}

func withContext(t *testing.T) {
	var ctx uintptr
	require.Equal(t, Success, CtxCreate(unsafe.Pointer(&ctx), 0, 0))
}

// A server's second client cannot read, write, describe, copy through or destroy the first's
// array or mipmapped array: each answers as for a wild handle.
func TestDriverArraysAreTheirOwnersOnly(t *testing.T) {
	lockThread(t)
	shim.Reset()
	t.Cleanup(shim.Reset)
	require.Equal(t, Success, Init(0))
	var arr, mip uintptr
	shim.AsClient(1, func() {
		withContext(t)
		d := desc2D(16, 4, shim.FmtU8, 1)
		require.Equal(t, Success, ArrayCreate(unsafe.Pointer(&arr), unsafe.Pointer(&d[0])))
		d3 := make([]byte, 40)
		copy(d3, d[:16])
		binary.LittleEndian.PutUint32(d3[24:], shim.FmtU8)
		binary.LittleEndian.PutUint32(d3[28:], 1)
		require.Equal(t, Success, MipmappedArrayCreate(unsafe.Pointer(&mip), unsafe.Pointer(&d3[0]), 3))
	})
	shim.AsClient(2, func() {
		withContext(t)
		buf := make([]byte, 64)
		p := uintptr(unsafe.Pointer(&buf[0]))
		assert.Equal(t, ErrorInvalidHandle, ArrayGetDescriptor(unsafe.Pointer(&buf[0]), arr))
		assert.Zero(t, buf[0], "nothing of the other client's descriptor was written")
		assert.Equal(t, ErrorInvalidHandle, MemcpyAtoH(p, arr, 0, 16))
		assert.Equal(t, ErrorInvalidHandle, MemcpyHtoA(arr, 0, p, 16))
		var dst uintptr
		d := desc2D(16, 4, shim.FmtU8, 1)
		require.Equal(t, Success, ArrayCreate(unsafe.Pointer(&dst), unsafe.Pointer(&d[0])))
		assert.Equal(t, ErrorInvalidHandle, MemcpyAtoA(dst, 0, arr, 0, 16), "an own destination does not open the other's source")
		c := make([]byte, 128) // CUDA_MEMCPY2D: the other's array as source
		binary.LittleEndian.PutUint32(c[16:], memArray)
		binary.LittleEndian.PutUint64(c[40:], uint64(arr))
		binary.LittleEndian.PutUint32(c[72:], memHost)
		binary.LittleEndian.PutUint64(c[80:], uint64(p))
		binary.LittleEndian.PutUint64(c[112:], 16)
		binary.LittleEndian.PutUint64(c[120:], 1)
		assert.Equal(t, ErrorInvalidHandle, Memcpy2DCU(unsafe.Pointer(&c[0])))
		var lvl uintptr
		assert.Equal(t, ErrorInvalidHandle, MipmappedArrayGetLevel(unsafe.Pointer(&lvl), mip, 0))
		assert.Zero(t, lvl)
		assert.Equal(t, ErrorInvalidHandle, MipmappedArrayDestroy(mip))
		assert.Equal(t, ErrorInvalidHandle, ArrayDestroy(arr))
	})
	shim.AsClient(1, func() {
		withContext(t) // each AsClient runs on a fresh thread
		var lvl uintptr
		require.Equal(t, Success, MipmappedArrayGetLevel(unsafe.Pointer(&lvl), mip, 2))
		a, ok := shim.LookupArray(lvl)
		require.True(t, ok)
		assert.Equal(t, [3]uint64{4, 1, 0}, [3]uint64{a.Width, a.Height, a.Depth}, "level 2 of 16x4 is 4x1")
		assert.Equal(t, ErrorInvalidHandle, ArrayDestroy(lvl), "a level belongs to its mipmapped array")
		assert.Equal(t, Success, MipmappedArrayDestroy(mip))
		_, ok = shim.LookupArray(lvl)
		assert.False(t, ok, "the levels went with it")
		assert.Equal(t, Success, ArrayDestroy(arr), "the owner still can")
	})
}

// Hostile extents in copy descriptors are refused before any byte moves: offsets past the
// array, blocks that wrap, slices past its depth.
func TestDriverArrayCopiesRefuseBlocksOutsideTheArray(t *testing.T) {
	lockThread(t)
	shim.Reset()
	t.Cleanup(shim.Reset)
	require.Equal(t, Success, Init(0))
	withContext(t)
	var arr uintptr
	d := desc2D(8, 4, shim.FmtU32, 1) // 32-byte rows, 4 rows
	require.Equal(t, Success, ArrayCreate(unsafe.Pointer(&arr), unsafe.Pointer(&d[0])))
	host := make([]byte, 256)
	hp := uintptr(unsafe.Pointer(&host[0]))
	for _, c := range []struct{ off, n uint64 }{{0, 129}, {128, 1}, {^uint64(0), 2}, {1, ^uint64(0)}} {
		assert.Equal(t, ErrorInvalidValue, MemcpyHtoA(arr, c.off, hp, c.n), "HtoA off %d n %d", c.off, c.n)
		assert.Equal(t, ErrorInvalidValue, MemcpyAtoH(hp, arr, c.off, c.n), "AtoH off %d n %d", c.off, c.n)
	}
	assert.Equal(t, Success, MemcpyHtoA(arr, 128, hp, 0), "an empty copy at the end")
	for _, c := range []struct{ x, y, w, h uint64 }{{1, 0, 32, 1}, {0, 4, 1, 1}, {0, 1, 1, 4}, {^uint64(0), 0, 2, 1}, {0, ^uint64(0), 1, 2}} {
		b := make([]byte, 128)
		binary.LittleEndian.PutUint32(b[16:], memHost)
		binary.LittleEndian.PutUint64(b[24:], uint64(hp))
		binary.LittleEndian.PutUint64(b[48:], 64)
		binary.LittleEndian.PutUint64(b[56:], c.x)
		binary.LittleEndian.PutUint64(b[64:], c.y)
		binary.LittleEndian.PutUint32(b[72:], memArray)
		binary.LittleEndian.PutUint64(b[96:], uint64(arr))
		binary.LittleEndian.PutUint64(b[112:], c.w)
		binary.LittleEndian.PutUint64(b[120:], c.h)
		assert.Equal(t, ErrorInvalidValue, Memcpy2DCU(unsafe.Pointer(&b[0])), "2D block %+v", c)
	}
	b := make([]byte, 200) // CUDA_MEMCPY3D: host to array, slice 0 onward, depth 2 of 1
	binary.LittleEndian.PutUint32(b[32:], memHost)
	binary.LittleEndian.PutUint64(b[40:], uint64(hp))
	binary.LittleEndian.PutUint64(b[72:], 32)
	binary.LittleEndian.PutUint64(b[80:], 4)
	binary.LittleEndian.PutUint32(b[120:], memArray)
	binary.LittleEndian.PutUint64(b[144:], uint64(arr))
	binary.LittleEndian.PutUint64(b[176:], 32)
	binary.LittleEndian.PutUint64(b[184:], 4)
	binary.LittleEndian.PutUint64(b[192:], 2)
	assert.Equal(t, ErrorInvalidValue, Memcpy3DCU(unsafe.Pointer(&b[0])), "a second slice of a 2D array")
	binary.LittleEndian.PutUint64(b[192:], 1)
	assert.Equal(t, Success, Memcpy3DCU(unsafe.Pointer(&b[0])), "the one slice fits")
}

// The pre-3.2 descriptors are read at their own offsets: widening puts every field where the
// current form has it.
func TestPre32DescriptorsWidenFieldByField(t *testing.T) {
	lockThread(t)
	old := make([]byte, 96)
	for _, f := range old2D {
		if f.size == 4 {
			binary.LittleEndian.PutUint32(old[f.from:], uint32(f.to+1))
		} else {
			binary.LittleEndian.PutUint64(old[f.from:], uint64(f.to+1)<<32)
		}
	}
	w := shim.View(Widen2D(unsafe.Pointer(&old[0])), 128)
	for _, f := range old2D {
		want := uint64(f.to + 1)
		if f.size == 8 {
			want <<= 32
		}
		assert.Equal(t, want, binary.LittleEndian.Uint64(w[f.to:]), "field at %d", f.from)
	}
	assert.Nil(t, Widen3D(nil))
}

// A texture object is one object to both APIs: the driver's description, converted, is what
// the runtime's getter returns; another client cannot read or destroy it.
func TestDriverTextureObjectsAreTheRuntimesAndTheirOwners(t *testing.T) {
	lockThread(t)
	shim.Reset()
	t.Cleanup(shim.Reset)
	require.Equal(t, Success, Init(0))
	var tex uint64
	shim.AsClient(1, func() {
		withContext(t)
		var arr uintptr
		d := desc2D(8, 8, shim.FmtU8, 4)
		require.Equal(t, Success, ArrayCreate(unsafe.Pointer(&arr), unsafe.Pointer(&d[0])))
		res := make([]byte, shim.DResDescSize)
		binary.LittleEndian.PutUint64(res[8:], uint64(arr))
		td := make([]byte, shim.DTexDescSize)
		binary.LittleEndian.PutUint32(td[0:], 2)     // clamp
		binary.LittleEndian.PutUint32(td[12:], 1)    // linear filtering: integers become normalized floats
		binary.LittleEndian.PutUint32(td[16:], 0x12) // normalized coordinates, sRGB
		binary.LittleEndian.PutUint32(td[20:], 4)    // anisotropy
		require.Equal(t, Success, TexObjectCreate(unsafe.Pointer(&tex), unsafe.Pointer(&res[0]), unsafe.Pointer(&td[0]), nil))
		o, ok := shim.LookupTexture(tex)
		require.True(t, ok)
		rt := o.Tex
		u := func(off int) uint32 { return binary.LittleEndian.Uint32(rt[off:]) }
		assert.Equal(t, []uint32{2, 1, 1, 1, 1, 4}, []uint32{u(0), u(12), u(16), u(20), u(40), u(44)},
			"runtime form: clamp, linear, normalized-float read, sRGB, normalized coordinates, anisotropy 4")
		assert.Equal(t, td, shim.DriverTex(rt, shim.ChanUnsigned), "and back, exactly")
		binary.LittleEndian.PutUint32(td[16:], 0x13) // read as integer: then linear filtering is refused
		var bad uint64
		assert.Equal(t, ErrorInvalidValue, TexObjectCreate(unsafe.Pointer(&bad), unsafe.Pointer(&res[0]), unsafe.Pointer(&td[0]), nil))
	})
	shim.AsClient(2, func() {
		withContext(t)
		out := make([]byte, shim.DTexDescSize)
		assert.Equal(t, ErrorInvalidValue, TexObjectGetTextureDesc(unsafe.Pointer(&out[0]), tex))
		assert.Equal(t, make([]byte, shim.DTexDescSize), out, "nothing written")
		assert.Equal(t, ErrorInvalidValue, TexObjectDestroy(tex))
	})
	shim.AsClient(1, func() {
		withContext(t)
		assert.Equal(t, Success, TexObjectDestroy(tex), "still the owner's")
	})
}
