package cuda

import (
	"encoding/binary"
	"math"
	"runtime"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/shim"
)

// v2 of cuStreamUpdateCaptureDependencies takes a node of the capture with the default edge
// (all zero bytes, or no edge data), and refuses any other edge, as cuGraphAddDependencies_v2.
func TestCaptureDependenciesV2TakeOnlyDefaultEdges(t *testing.T) {
	lockThread(t)
	up580(t, "h100")
	var s uintptr
	var p uint64
	require.Equal(t, Success, StreamCreate(unsafe.Pointer(&s), 1))
	require.Equal(t, Success, MemAlloc(unsafe.Pointer(&p), 256))
	require.Equal(t, Success, StreamBeginCapture(s, 2))
	require.Equal(t, Success, MemsetD32Async(p, 1, 4, s))
	st, r := stream(s)
	require.Equal(t, Success, r)
	nodes := st.Capturing().Graph.GraphNodes()
	require.Len(t, nodes, 1)
	dep := []uintptr{nodes[0].Handle}
	edges := make([]byte, 8)
	assert.Equal(t, Success, StreamUpdateCaptureDependencies2(s, unsafe.Pointer(&dep[0]), unsafe.Pointer(&edges[0]), 1, captureSetDeps))
	assert.Equal(t, Success, StreamUpdateCaptureDependencies2(s, unsafe.Pointer(&dep[0]), nil, 1, captureAddDeps))
	for i := range edges {
		edges[i] = 1 // a port or a type other than the default
		assert.Equal(t, ErrorInvalidValue, StreamUpdateCaptureDependencies2(s, unsafe.Pointer(&dep[0]), unsafe.Pointer(&edges[0]), 1, 0), "byte %d", i)
		edges[i] = 0
	}
	assert.Equal(t, ErrorInvalidValue, StreamUpdateCaptureDependencies2(s, unsafe.Pointer(&dep[0]), nil, maxEdges+1, 0), "more dependencies than a graph holds")
}

// A legacy launch hands cuLaunchKernel the function's block shape, shared size and a packed
// parameter buffer holding exactly the values set at their offsets, through the
// CU_LAUNCH_PARAM_BUFFER_POINTER/SIZE form a remote client forwards.
func TestLegacyLaunchHandsItsParametersAsOnePackedBuffer(t *testing.T) {
	lockThread(t)
	up580(t, "h100")
	k := (&shim.Module{}).AddKernel(0, "k")
	f := k.Handle
	require.Equal(t, Success, FuncSetBlockShape(f, 8, 4, 2))
	require.Equal(t, Success, FuncSetSharedSize(f, 96))
	require.Equal(t, Success, ParamSetSize(f, 24))
	ptr := uint64(0x1122334455667788)
	require.Equal(t, Success, ParamSetv(f, 0, unsafe.Pointer(&ptr), 8))
	require.Equal(t, Success, ParamSeti(f, 8, 0xdeadbeef))
	require.Equal(t, Success, ParamSetf(f, 12, 1.5))
	require.Equal(t, Success, ParamSetSize(f, 20), "a smaller size keeps the values within it")

	var got struct {
		grid, block [3]uint32
		shared      uint32
		stream      uintptr
		buf         []byte
		params      uintptr
	}
	launcher := func(fn uintptr, gx, gy, gz, bx, by, bz, shared uint32, h uintptr, params, extra uintptr) Result {
		got.grid, got.block, got.shared, got.stream, got.params = [3]uint32{gx, gy, gz}, [3]uint32{bx, by, bz}, shared, h, params
		var buf, size uintptr
		for i := uintptr(0); ; i += 2 {
			kv := unsafe.Slice((*uintptr)(unsafe.Pointer(extra+8*i)), 2)
			if kv[0] == launchParamEnd {
				break
			}
			switch kv[0] {
			case launchParamBufferPointer:
				buf = kv[1]
			case launchParamBufferSize:
				size = kv[1]
			}
		}
		got.buf = append([]byte(nil), unsafe.Slice((*byte)(unsafe.Pointer(buf)), *(*uint64)(unsafe.Pointer(size)))...)
		return Success
	}
	require.Equal(t, Success, LegacyLaunch(f, 3, 5, 0x77, launcher))
	assert.Equal(t, [3]uint32{3, 5, 1}, got.grid)
	assert.Equal(t, [3]uint32{8, 4, 2}, got.block)
	assert.Equal(t, uint32(96), got.shared)
	assert.Equal(t, uintptr(0x77), got.stream)
	assert.Zero(t, got.params, "the extra form, not kernelParams")
	want := make([]byte, 20)
	binary.LittleEndian.PutUint64(want, ptr)
	binary.LittleEndian.PutUint32(want[8:], 0xdeadbeef)
	binary.LittleEndian.PutUint32(want[12:], math.Float32bits(1.5))
	assert.Equal(t, want, got.buf)

	// Bad input: an empty grid, an unknown function.
	assert.Equal(t, ErrorInvalidValue, LegacyLaunch(f, 0, 1, 0, launcher), "a grid of width 0")
	assert.Equal(t, ErrorInvalidHandle, FuncSetBlockShape(f+0x1000, 1, 1, 1))
}

// The wide im2col map writes a deterministic descriptor that records its mode and swizzle,
// and a descriptor any later call can recognise (cuTensorMapReplaceAddress).
func TestIm2colWideDescriptorIsReplaceable(t *testing.T) {
	lockThread(t)
	up580(t, "h100")
	buf := make([]byte, 256)
	tm := (uintptr(unsafe.Pointer(&buf[0])) + 63) &^ 63
	data := make([]byte, 1<<16)
	addr := (uintptr(unsafe.Pointer(&data[0])) + 255) &^ 255
	dims := []uint64{32, 16, 16, 2}
	strides := []uint64{128, 2048, 32768}
	es := []uint32{1, 1, 1, 1}
	enc := func(mode, swizzle int32) Result {
		return TensorMapEncodeIm2colWide(tm, 7, 4, addr, uintptr(unsafe.Pointer(&dims[0])), uintptr(unsafe.Pointer(&strides[0])), -2, 3,
			16, 64, uintptr(unsafe.Pointer(&es[0])), 0, mode, swizzle, 0, 0)
	}
	require.Equal(t, Success, enc(wideModeW128, swizzle128BAtom64B))
	d := unsafe.Slice((*byte)(unsafe.Pointer(tm)), tensorMapSize)
	assert.Equal(t, byte(swizzle128BAtom64B), d[93])
	assert.Equal(t, byte(wideModeW128), d[97])
	assert.Equal(t, Success, TensorMapReplaceAddress(tm, addr+256))
	assert.Equal(t, uint64(addr+256), binary.LittleEndian.Uint64(d))
}

// Where the image gives the parameter table, a legacy launch passes one pointer per
// parameter into its buffer (zero-filled past the size set), which any backend packs by the
// layout it knows; a buffer longer than the parameters is too many arguments.
func TestLegacyLaunchFollowsTheImagesParameterTable(t *testing.T) {
	lockThread(t)
	up580(t, "h100")
	ps := []shim.ParamInfo{{Offset: 0, Size: 8}, {Offset: 8, Size: 4}, {Offset: 12, Size: 4}}
	elf := kernelCubin(map[string][]shim.ParamInfo{"_Z3addPiii": ps}, []string{"_Z3addPiii"})
	var mod, f uintptr
	require.Equal(t, Success, ModuleLoadData(unsafe.Pointer(&mod), uintptr(unsafe.Pointer(&elf[0]))))
	name := append([]byte("_Z3addPiii"), 0)
	require.Equal(t, Success, ModuleGetFunction(unsafe.Pointer(&f), mod, unsafe.Pointer(&name[0])))
	require.Equal(t, Success, FuncSetBlockShape(f, 32, 1, 1))
	require.Equal(t, Success, ParamSetSize(f, 12))
	require.Equal(t, Success, ParamSeti(f, 8, 7))

	var vals [3][]byte
	launcher := func(fn uintptr, gx, gy, gz, bx, by, bz, shared uint32, h uintptr, params, extra uintptr) Result {
		assert.Zero(t, extra, "kernelParams, not extra")
		slots := unsafe.Slice((*uintptr)(unsafe.Pointer(params)), len(ps))
		for i, q := range ps {
			vals[i] = append([]byte(nil), unsafe.Slice((*byte)(unsafe.Pointer(slots[i])), q.Size)...)
		}
		return Success
	}
	require.Equal(t, Success, LegacyLaunch(f, 1, 1, 0, launcher))
	assert.Equal(t, make([]byte, 8), vals[0])
	assert.Equal(t, []byte{7, 0, 0, 0}, vals[1])
	assert.Equal(t, []byte{0, 0, 0, 0}, vals[2], "past the size set: zero")

	require.Equal(t, Success, ParamSetSize(f, 20))
	assert.Equal(t, ErrorLaunchOutOfRes, LegacyLaunch(f, 1, 1, 0, launcher), "more bytes than the parameters take")
	runtime.KeepAlive(elf)
}
