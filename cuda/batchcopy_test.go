package cuda

import (
	"bytes"
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/shim"
)

// oneAttr is a single CUmemcpyAttributes (stream order, no hints) and its index array.
func oneAttr() ([]byte, []uint64) {
	a := make([]byte, 24)
	binary.LittleEndian.PutUint32(a, srcOrderStream)
	return a, []uint64{0}
}

func ptr[T any](s []T) unsafe.Pointer { return unsafe.Pointer(&s[0]) }

// A bad entry refuses the whole batch before any entry runs: the good entries before it
// leave their destinations as they were, and failIdx names the bad one.
func TestBatchWithABadEntryRunsNothing(t *testing.T) {
	lockThread(t)
	shim.Reset()
	t.Cleanup(shim.Reset)
	require.Equal(t, Success, Init(0))
	const n = 64
	var ctx, s uintptr
	var mine, small uint64
	require.Equal(t, Success, CtxCreate(unsafe.Pointer(&ctx), 0, 0))
	require.Equal(t, Success, MemAlloc(unsafe.Pointer(&mine), n))
	require.Equal(t, Success, MemAlloc(unsafe.Pointer(&small), n/2))
	require.Equal(t, Success, StreamCreate(unsafe.Pointer(&s), 0))
	src := bytes.Repeat([]byte{0x55}, n)
	dsts := []uint64{mine, mine, small}
	srcs := []uint64{uint64(uintptr(ptr(src))), uint64(uintptr(ptr(src))), uint64(uintptr(ptr(src)))}
	sizes := []uint64{n, n / 2, n}
	attrs, idxs := oneAttr()
	fail := uint64(7)
	assert.Equal(t, ErrorInvalidValue, MemcpyBatchAsyncCU(ptr(dsts), ptr(srcs), ptr(sizes), 3, ptr(attrs), ptr(idxs), 1, unsafe.Pointer(&fail), s))
	assert.Equal(t, uint64(2), fail, "failIdx names the entry past its allocation")
	got := make([]byte, n)
	require.Equal(t, Success, MemcpyDtoH(uintptr(ptr(got)), mine, n))
	assert.Equal(t, make([]byte, n), got, "the good entries did not run")
	sizes[2] = n / 2
	assert.Equal(t, Success, MemcpyBatchAsync2CU(ptr(dsts), ptr(srcs), ptr(sizes), 3, ptr(attrs), ptr(idxs), 1, s))
	require.Equal(t, Success, MemcpyDtoH(uintptr(ptr(got)), mine, n))
	assert.Equal(t, src, got, "corrected, the batch runs")
}

// A capture cannot be aimed at another client's graph, nor placed after its nodes; a refused
// start leaves the stream free to capture.
func TestCaptureToGraphRefusesAnotherClientsGraphAndNodes(t *testing.T) {
	lockThread(t)
	shim.Reset()
	t.Cleanup(shim.Reset)
	require.Equal(t, Success, Init(0))
	var theirs, theirNode uintptr
	shim.AsClient(1, func() {
		var ctx uintptr
		require.Equal(t, Success, CtxCreate(unsafe.Pointer(&ctx), 0, 0))
		require.Equal(t, Success, GraphCreate(unsafe.Pointer(&theirs), 0))
		require.Equal(t, Success, GraphAddEmptyNode(unsafe.Pointer(&theirNode), theirs, nil, 0))
	})
	shim.AsClient(2, func() {
		var ctx, s, mine, out uintptr
		require.Equal(t, Success, CtxCreate(unsafe.Pointer(&ctx), 0, 0))
		require.Equal(t, Success, StreamCreate(unsafe.Pointer(&s), 0))
		require.Equal(t, Success, GraphCreate(unsafe.Pointer(&mine), 0))
		assert.Equal(t, ErrorInvalidValue, StreamBeginCaptureToGraph(s, theirs, nil, nil, 0, 0))
		deps := []uintptr{theirNode}
		assert.Equal(t, ErrorInvalidValue, StreamBeginCaptureToGraph(s, mine, ptr(deps), nil, 1, 0))
		assert.Equal(t, ErrorInvalidValue, StreamBeginCaptureToGraph(s, mine, ptr(deps), nil, 1<<40, 0), "a huge count is refused before it is read")
		var status int32
		require.Equal(t, Success, StreamIsCapturing(s, unsafe.Pointer(&status)))
		assert.Zero(t, status, "no capture began")
		require.Equal(t, Success, StreamBeginCaptureToGraph(s, mine, nil, nil, 0, 0))
		assert.Equal(t, ErrorIllegalState, StreamBeginCaptureToGraph(s, mine, nil, nil, 0, 0), "one capture at a time")
		require.Equal(t, Success, StreamEndCapture(s, unsafe.Pointer(&out)))
		assert.Equal(t, mine, out, "the capture hands back the caller's graph")
	})
	shim.AsClient(1, func() {
		var count uint64
		require.Equal(t, Success, GraphGetNodes(theirs, nil, unsafe.Pointer(&count)))
		assert.Equal(t, uint64(1), count, "the other client's graph gained nothing")
	})
}

// Counts, sizes, extents and offsets from a hostile caller are bounded before anything is
// read past what they describe or any arithmetic can wrap.
func TestHostileBatchDescriptionsAreRefused(t *testing.T) {
	lockThread(t)
	attrs, idxs := oneAttr()
	one := []uint64{0x1000}
	p := ptr(one)
	_, i, r := Batch1DAt(p, p, p, MaxBatch+1, ptr(attrs), ptr(idxs), 1)
	assert.Equal(t, ErrorInvalidValue, r, "a count past the bound is not walked")
	assert.Equal(t, NoIndex, i)
	_, _, r = Batch1DAt(p, p, p, 1, ptr(attrs), ptr(idxs), 1<<62)
	assert.Equal(t, ErrorInvalidValue, r, "more attribute sets than copies")
	huge := []uint64{1 << 60}
	_, i, r = Batch1DAt(p, p, ptr(huge), 1, ptr(attrs), ptr(idxs), 1)
	assert.Equal(t, ErrorInvalidValue, r, "a size no allocation can have")
	assert.Equal(t, uint64(0), i)
	badHint := append([]byte(nil), attrs...)
	binary.LittleEndian.PutUint32(badHint[4:], 99)
	_, i, r = Batch1DAt(p, p, p, 1, ptr(badHint), ptr(idxs), 1)
	assert.Equal(t, ErrorInvalidValue, r, "an unknown location type")
	assert.Equal(t, uint64(0), i)

	noArrays := func(uintptr) (shim.ArrayLayout, Result) { return shim.ArrayLayout{}, ErrorInvalidHandle }
	op := func(edit func(b []byte)) []byte {
		b := make([]byte, 112)
		binary.LittleEndian.PutUint32(b[0:], operandPointer)
		binary.LittleEndian.PutUint64(b[8:], 0x1000)
		binary.LittleEndian.PutUint32(b[40:], operandPointer)
		binary.LittleEndian.PutUint64(b[48:], 0x2000)
		binary.LittleEndian.PutUint64(b[80:], 16)
		binary.LittleEndian.PutUint64(b[88:], 2)
		binary.LittleEndian.PutUint64(b[96:], 2)
		binary.LittleEndian.PutUint32(b[104:], srcOrderStream)
		edit(b)
		return b
	}
	_, _, r = Batch3DAt(ptr(op(func([]byte) {})), 1, 0, noArrays)
	require.Equal(t, Success, r, "the well-formed op the cases below spoil")
	for name, edit := range map[string]func(b []byte){
		"a width past the bound":  func(b []byte) { binary.LittleEndian.PutUint64(b[80:], 1<<41) },
		"a depth past the bound":  func(b []byte) { binary.LittleEndian.PutUint64(b[96:], 1<<21) },
		"a row length that wraps": func(b []byte) { binary.LittleEndian.PutUint64(b[16:], 1<<62) },
		"a layer height times row wraps": func(b []byte) {
			binary.LittleEndian.PutUint64(b[16:], 1<<40)
			binary.LittleEndian.PutUint64(b[24:], 1<<40)
		},
		"an array that is no handle":       func(b []byte) { binary.LittleEndian.PutUint32(b[40:], operandArray) },
		"an unknown operand type":          func(b []byte) { binary.LittleEndian.PutUint32(b[0:], 9) },
		"a NULL pointer operand":           func(b []byte) { binary.LittleEndian.PutUint64(b[48:], 0) },
		"unknown per-copy flags":           func(b []byte) { binary.LittleEndian.PutUint32(b[108:], 2) },
		"no source access order":           func(b []byte) { binary.LittleEndian.PutUint32(b[104:], 0) },
		"a row length under the width":     func(b []byte) { binary.LittleEndian.PutUint64(b[56:], 15) },
		"a location hint of no known type": func(b []byte) { binary.LittleEndian.PutUint32(b[32:], 42) },
	} {
		_, i, r := Batch3DAt(ptr(append(op(func([]byte) {}), op(edit)...)), 2, 0, noArrays)
		assert.NotEqual(t, Success, r, name)
		assert.Equal(t, uint64(1), i, "%s: failIdx names the op", name)
	}
	_, i, r = Batch3DAt(ptr(op(func([]byte) {})), MaxBatch+1, 0, noArrays)
	assert.Equal(t, ErrorInvalidValue, r, "an op count past the bound is not walked")
	assert.Equal(t, NoIndex, i)
}

// Entries of several slices are checked as one extent: a volume one slice deeper than its
// allocation is refused, not taken for host memory past the allocation's end.
func TestBatchVolumePastItsAllocationIsRefused(t *testing.T) {
	lockThread(t)
	shim.Reset()
	t.Cleanup(shim.Reset)
	require.Equal(t, Success, Init(0))
	var ctx, s uintptr
	var dev uint64
	require.Equal(t, Success, CtxCreate(unsafe.Pointer(&ctx), 0, 0))
	require.Equal(t, Success, StreamCreate(unsafe.Pointer(&s), 0))
	require.Equal(t, Success, MemAlloc(unsafe.Pointer(&dev), 128)) // 2 slices of 4 rows of 16
	host := make([]byte, 4096)
	b := make([]byte, 112)
	binary.LittleEndian.PutUint32(b[0:], operandPointer)
	binary.LittleEndian.PutUint64(b[8:], uint64(uintptr(ptr(host))))
	binary.LittleEndian.PutUint32(b[40:], operandPointer)
	binary.LittleEndian.PutUint64(b[48:], dev)
	binary.LittleEndian.PutUint64(b[56:], 16)
	binary.LittleEndian.PutUint64(b[64:], 4)
	binary.LittleEndian.PutUint64(b[80:], 16)
	binary.LittleEndian.PutUint64(b[88:], 4)
	binary.LittleEndian.PutUint64(b[96:], 2)
	binary.LittleEndian.PutUint32(b[104:], srcOrderStream)
	assert.Equal(t, Success, Memcpy3DBatchAsyncCU(1, ptr(b), nil, 0, s), "two slices fit")
	binary.LittleEndian.PutUint64(b[96:], 3)
	fail := uint64(9)
	assert.Equal(t, ErrorInvalidValue, Memcpy3DBatchAsyncCU(1, ptr(b), unsafe.Pointer(&fail), 0, s), "three do not")
	assert.Equal(t, uint64(0), fail)
	assert.Equal(t, ErrorInvalidValue, Memcpy3DBatchAsyncCU(1, ptr(b), unsafe.Pointer(&fail), 0, 0), "the legacy stream")
	assert.Equal(t, NoIndex, fail)
}
