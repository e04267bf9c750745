package server

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/shim"
	"vgpu/wire"
)

// deviceFills stands for a GPU backend (vgpu serve --backend local): the device fills 2- and
// 4-byte patterns itself (shim.WordSetter) and an executable graph is recorded into a graph
// of the backend's own, which it then replays as recorded, whatever the model's graph
// became since. The memory is the sim's, so a test can read what the "device" wrote.
type deviceFills struct {
	*shim.SimBackend
	wordFills, built int
	graphs           map[uintptr][]shim.Node
}

// Name is not the sim's: the model then never writes device memory from the host.
func (b *deviceFills) Name() string { return "gpu" }

func (b *deviceFills) SetWords(dst uintptr, v uint32, size, count uint64) shim.Status {
	b.wordFills++
	p := shim.Bytes(dst, size*count)
	for i := range p {
		p[i] = byte(v >> (8 * (uint64(i) % size)))
	}
	return shim.OK
}

func (b *deviceFills) BuildGraph(d *shim.Device, nodes []shim.Node) (uintptr, shim.Status) {
	for _, n := range nodes {
		if n.Kind != shim.NodeMemset && !(n.Kind == shim.NodeMemcpy && n.Copy == shim.DeviceToDevice) {
			return 0, shim.ErrNotSupported
		}
	}
	b.built++
	h := uintptr(b.built)
	b.graphs[h] = append([]shim.Node(nil), nodes...)
	return h, shim.OK
}

func (b *deviceFills) LaunchGraph(d *shim.Device, g uintptr) shim.Status {
	for _, n := range b.graphs[g] {
		switch {
		case n.Kind == shim.NodeMemcpy:
			b.Copy(n.Dst, n.Src, n.N, n.Copy)
		case n.Elem > 1:
			b.SetWords(n.Dst, n.Pattern, uint64(n.Elem), n.N/uint64(n.Elem))
		default:
			b.Set(n.Dst, n.Value, n.N)
		}
	}
	return shim.OK
}

func (b *deviceFills) DestroyGraph(g uintptr) { delete(b.graphs, g) }

// A remote client's executable graph on a GPU backend takes cudaGraphExecMemsetNodeSetParams
// with a 4-byte pattern (1.0f; refused as "not supported" on the H200 before the device did
// such fills) and cudaGraphExecMemcpyNodeSetParams1D with a new target: its next launches,
// the one replayed node by node and those of the graph the backend recorded again, fill
// with the new value and copy to the new target.
func TestARemoteExecGraphsUpdatesRunOnAGPUBackend(t *testing.T) {
	gpu := &deviceFills{SimBackend: shim.S().Backend.(*shim.SimBackend), graphs: map[uintptr][]shim.Node{}}
	withBackend(t, gpu)
	c := startServer(t, Options{}).dial(t)
	const n = 4096
	src, oldDst, newDst := c.malloc(n), c.malloc(n), c.malloc(n)
	g := graphOf(t, c)
	params := func(v uint32) []byte {
		b := make([]byte, 40) // cudaMemsetParams: dst, pitch, value, elementSize, width, height
		binary.LittleEndian.PutUint64(b, src)
		binary.LittleEndian.PutUint32(b[16:], v)
		binary.LittleEndian.PutUint32(b[20:], 4)
		binary.LittleEndian.PutUint64(b[24:], n/4)
		binary.LittleEndian.PutUint64(b[32:], 1)
		return b
	}
	r, outs := c.call("cudaGraphAddMemsetNode", wire.Value{U: 1}, wire.Value{U: g}, wire.Value{}, wire.Value{U: 0}, wire.Value{U: 1, B: params(0x11111111)})
	require.Zero(t, r)
	mset := binary.LittleEndian.Uint64(outs[0])
	r, outs = c.call("cudaGraphAddMemcpyNode1D", wire.Value{U: 1}, wire.Value{U: g}, wire.Value{U: 1, B: outs[0]}, wire.Value{U: 1},
		wire.Value{U: oldDst}, wire.Value{U: src}, wire.Value{U: n}, wire.Value{U: uint64(shim.DeviceToDevice)})
	require.Zero(t, r)
	cp := binary.LittleEndian.Uint64(outs[0])
	r, outs = c.call("cudaGraphInstantiate", wire.Value{U: 1}, wire.Value{U: g}, wire.Value{U: 0})
	require.Zero(t, r)
	x := binary.LittleEndian.Uint64(outs[0])

	zeros := make([]byte, n)
	launch := func() {
		for _, p := range []uint64{src, oldDst, newDst} {
			require.Equal(t, shim.OK, c.put(p, zeros)) // what a launch leaves is its own doing
		}
		r, _ := c.call("cudaGraphLaunch", wire.Value{U: x}, wire.Value{U: 0})
		require.Zero(t, r)
		r, _ = c.call("cudaDeviceSynchronize")
		require.Zero(t, r)
	}
	read := func(p uint64) []byte {
		st, b := c.get(p, n)
		require.Equal(t, shim.OK, st)
		return b
	}
	pattern := func(v uint32) []byte {
		b := make([]byte, n)
		for i := 0; i < n; i += 4 {
			binary.LittleEndian.PutUint32(b[i:], v)
		}
		return b
	}
	launch()
	launch()
	require.Equal(t, 1, gpu.built, "recorded at the first launch")
	assert.Equal(t, pattern(0x11111111), read(oldDst))

	r, _ = c.call("cudaGraphExecMemsetNodeSetParams", wire.Value{U: x}, wire.Value{U: mset}, wire.Value{U: 1, B: params(0x3f800000)})
	require.Zero(t, r, "a 4-byte pattern on a GPU backend")
	r, _ = c.call("cudaGraphExecMemcpyNodeSetParams1D", wire.Value{U: x}, wire.Value{U: cp},
		wire.Value{U: newDst}, wire.Value{U: src}, wire.Value{U: n}, wire.Value{U: uint64(shim.DeviceToDevice)})
	require.Zero(t, r)
	fills := gpu.wordFills
	for i := 0; i < 3; i++ {
		launch()
		assert.Equal(t, pattern(0x3f800000), read(newDst), "launch %d after the updates: the new value at the new target", i)
		assert.Equal(t, zeros, read(oldDst), "launch %d after the updates: the old target untouched", i)
	}
	assert.Equal(t, 2, gpu.built, "recorded again after the updates")
	assert.Equal(t, fills+3, gpu.wordFills, "the device did every fill")
}
