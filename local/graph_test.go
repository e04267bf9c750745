package local

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/shim"
)

// fakeGPU is the sim model's memory with this backend's fills and graphs, on the fake driver
// (whose fills, copies and graph launches write that memory): the model's executable graphs
// then run through the code a server with NVIDIA's driver runs.
type fakeGPU struct {
	*shim.SimBackend
	gpu *Backend
}

func (f *fakeGPU) Set(dst uintptr, v byte, n uint64) shim.Status { return f.gpu.Set(dst, v, n) }
func (f *fakeGPU) SetWords(dst uintptr, v uint32, size, count uint64) shim.Status {
	return f.gpu.SetWords(dst, v, size, count)
}
func (f *fakeGPU) BuildGraph(d *shim.Device, nodes []shim.Node) (uintptr, shim.Status) {
	return f.gpu.BuildGraph(d, nodes)
}
func (f *fakeGPU) LaunchGraph(d *shim.Device, g uintptr) shim.Status { return f.gpu.LaunchGraph(d, g) }
func (f *fakeGPU) UpdateGraph(d *shim.Device, g uintptr, nodes []shim.Node) shim.Status {
	return f.gpu.UpdateGraph(d, g, nodes)
}
func (f *fakeGPU) DestroyGraph(g uintptr) { f.gpu.DestroyGraph(g) }

func useFakeGPU(t *testing.T) *shim.Device {
	useFakeDriver()
	shim.Reset()
	t.Cleanup(shim.Reset)
	s := shim.S()
	require.NoError(t, s.Err)
	gpu := &Backend{devices: make([]shim.DeviceRecord, 1), primaries: make([]unsafe.Pointer, 1)}
	s.Backend = &fakeGPU{SimBackend: s.Backend.(*shim.SimBackend), gpu: gpu}
	return s.Device(0)
}

// memsetParams is a cudaMemsetParams / CUDA_MEMSET_NODE_PARAMS: dst, pitch, value,
// elementSize, width, height.
func memsetParams(dst uintptr, value, size uint32, width uint64) []byte {
	b := make([]byte, 40)
	binary.LittleEndian.PutUint64(b, uint64(dst))
	binary.LittleEndian.PutUint32(b[16:], value)
	binary.LittleEndian.PutUint32(b[20:], size)
	binary.LittleEndian.PutUint64(b[24:], width)
	binary.LittleEndian.PutUint64(b[32:], 1)
	return b
}

func words(p uintptr, n int) []uint32 {
	out := make([]uint32, n)
	for i, b := 0, shim.Bytes(p, uint64(4*n)); i < n; i++ {
		out[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return out
}

func filled(v uint32, n int) []uint32 {
	out := make([]uint32, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func zero(p uintptr, n uint64) { clear(shim.Bytes(p, n)) }

// A 4-byte pattern that is not one byte repeated (1.0f) is the device's own fill on a GPU
// backend (cuMemsetD32), at once and in a recorded graph, where it used to be refused: only
// the sim can write device memory from the host.
func TestAFourBytePatternIsTheDevicesFill(t *testing.T) {
	d := useFakeGPU(t)
	a, st := shim.AllocDevice(d, 4096, shim.MemDevice)
	require.Equal(t, shim.OK, st)
	require.Equal(t, shim.OK, shim.MemsetWords(shim.DefaultStream(d), a.Base, 0x3f800000, 4, 1024))
	assert.Equal(t, filled(0x3f800000, 1024), words(a.Base, 1024))
	require.Equal(t, shim.OK, shim.MemsetWords(shim.DefaultStream(d), a.Base, 0xbeef, 2, 2048))
	assert.Equal(t, filled(0xbeefbeef, 1024), words(a.Base, 1024), "a 2-byte pattern")

	ops, st := shim.MemsetNodeOps(d, memsetParams(a.Base, 0x01020304, 4, 1024))
	require.Equal(t, shim.OK, st)
	require.Len(t, ops, 1)
	assert.Equal(t, shim.NodeMemset, ops[0].Kind, "a fill the backend records, not host work")
	zero(a.Base, 4096)
	built0, _ := fakeGraphs()
	g := shim.NewGraph()
	_, st = g.AddNode(shim.GraphNodeMemset, ops, nil, nil)
	require.Equal(t, shim.OK, st)
	x := shim.Instantiate(g)
	defer x.Close()
	for i := 0; i < 2; i++ {
		require.Equal(t, shim.OK, x.Launch(shim.DefaultStream(d)))
	}
	built, _ := fakeGraphs()
	assert.Equal(t, built0+1, built, "recorded into a driver graph at the first launch")
	assert.Equal(t, filled(0x01020304, 1024), words(a.Base, 1024))
}

// cudaGraphExec{Memset,Memcpy}NodeSetParams on a GPU backend: the driver graph recorded
// before the change is dropped, so the next launches (node by node, then a graph recorded
// again at the second) fill with the new value and copy to the new target, as CUDA's executable graph
// does; the old target is left alone.
func TestExecNodeUpdatesReachTheDriverGraph(t *testing.T) {
	d := useFakeGPU(t)
	const n = 4096
	var buf [3]uintptr
	for i := range buf {
		a, st := shim.AllocDevice(d, n, shim.MemDevice)
		require.Equal(t, shim.OK, st)
		buf[i] = a.Base
	}
	src, oldDst, newDst := buf[0], buf[1], buf[2]
	copyOps := func(dst uintptr) []shim.Node {
		ops, st := shim.Record(d, func(s *shim.Stream) shim.Status { return shim.Memcpy(s, dst, src, n, shim.DeviceToDevice) })
		require.Equal(t, shim.OK, st)
		return ops
	}
	fillOps := func(v uint32) []shim.Node {
		ops, st := shim.MemsetNodeOps(d, memsetParams(src, v, 4, n/4))
		require.Equal(t, shim.OK, st)
		return ops
	}
	g := shim.NewGraph()
	mset, st := g.AddNode(shim.GraphNodeMemset, fillOps(0x11111111), nil, nil)
	require.Equal(t, shim.OK, st)
	cp, st := g.AddNode(shim.GraphNodeMemcpy, copyOps(oldDst), []*shim.GraphNode{mset}, nil)
	require.Equal(t, shim.OK, st)
	x := shim.Instantiate(g)
	defer x.Close()
	s := shim.DefaultStream(d)
	launch := func() {
		for _, p := range buf {
			zero(p, n) // what a launch leaves is its own doing
		}
		require.Equal(t, shim.OK, x.Launch(s))
	}
	built0, launched0 := fakeGraphs()
	launch()
	launch()
	built, launched := fakeGraphs()
	require.Equal(t, built0+1, built)
	require.Equal(t, launched0+2, launched, "both launches ran the driver graph")
	assert.Equal(t, filled(0x11111111, n/4), words(oldDst, n/4), "the recorded graph ran")

	require.Equal(t, shim.OK, x.SetNodeOps(mset, fillOps(0x3f800000)))
	require.Equal(t, shim.OK, x.SetNodeOps(cp, copyOps(newDst)))
	for i := 0; i < 3; i++ {
		launch()
		assert.Equal(t, filled(0x3f800000, n/4), words(newDst, n/4), "launch %d after the update: the new value at the new target", i)
		assert.Equal(t, filled(0, n/4), words(oldDst, n/4), "launch %d after the update: the old target untouched", i)
	}
	built, launched = fakeGraphs()
	assert.Equal(t, built0+2, built, "recorded again after the update")
	assert.Equal(t, launched0+2+2, launched, "the first two launches and the two after the replay ran a driver graph")
}

// cudaGraphExecUpdate of a graph already recorded into a driver graph updates that driver
// graph in place (cuGraphExecUpdate): the next launch is one graph launch with the new
// parameters, with no replay node by node and no new instantiation (ggml updates its
// decode graph at every request).
func TestAnUpdatedGraphIsUpdatedInTheDriverNotBuiltAgain(t *testing.T) {
	d := useFakeGPU(t)
	a, st := shim.AllocDevice(d, 4096, shim.MemDevice)
	require.Equal(t, shim.OK, st)
	fill := func(v uint32) *shim.Graph {
		ops, st := shim.MemsetNodeOps(d, memsetParams(a.Base, v, 4, 1024))
		require.Equal(t, shim.OK, st)
		g := shim.NewGraph()
		_, st = g.AddNode(shim.GraphNodeMemset, ops, nil, nil)
		require.Equal(t, shim.OK, st)
		return g
	}
	s := shim.DefaultStream(d)
	x := shim.Instantiate(fill(0x11111111))
	defer x.Close()
	for i := 0; i < 2; i++ {
		require.Equal(t, shim.OK, x.Launch(s))
	}
	built0, launched0 := fakeGraphs()
	updates0 := fakeUpdates()

	ok, why := x.Update(fill(0x22222222))
	require.True(t, ok, why)
	assert.Equal(t, updates0+1, fakeUpdates(), "the driver graph was updated in place")
	zero(a.Base, 4096)
	require.Equal(t, shim.OK, x.Launch(s))
	built, launched := fakeGraphs()
	assert.Equal(t, built0, built, "no new instantiation")
	assert.Equal(t, launched0+1, launched, "the first launch after the update is one graph launch")
	assert.Equal(t, filled(0x22222222, 1024), words(a.Base, 1024), "with the new parameters")
}
