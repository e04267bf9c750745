package shim

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// graphBackend is the sim backend with graphs of its own, counting what the model asks of it.
type graphBackend struct {
	*SimBackend
	built, launched, destroyed int
	graphs                     map[uintptr][]Node
}

func (b *graphBackend) BuildGraph(d *Device, nodes []Node) (uintptr, Status) {
	b.built++
	for _, n := range nodes {
		if n.Kind == NodeHost && !n.Capturable {
			return 0, ErrNotSupported
		}
	}
	h := uintptr(len(b.graphs) + 1)
	b.graphs[h] = nodes
	return h, OK
}

func (b *graphBackend) LaunchGraph(d *Device, g uintptr) Status {
	b.launched++
	for _, n := range b.graphs[g] {
		if st := execute(d, n); st != OK {
			return st
		}
	}
	return OK
}

func (b *graphBackend) DestroyGraph(g uintptr) { b.destroyed++; delete(b.graphs, g) }

// A graph becomes the backend's own at its first launch, as the driver's instantiation
// would make it, and runs as one from then on; an update or a destroy lets the backend's copy
// go, and a changed graph is replayed once before it is built again (a program that changes
// it before every launch is not rebuilt every time); what the backend cannot record replays
// node by node.
func TestGraphsBecomeTheBackends(t *testing.T) {
	Reset()
	t.Cleanup(Reset)
	s := S()
	require.NoError(t, s.Err)
	gb := &graphBackend{SimBackend: s.Backend.(*SimBackend), graphs: map[uintptr][]Node{}}
	s.Backend = gb
	d := s.Device(0)
	a, st := AllocDevice(d, 4096, MemDevice)
	require.Equal(t, OK, st)
	g := NewGraph()
	g.add(Node{Kind: NodeMemset, Dst: a.Base, Value: 7, N: 4096})
	x := Instantiate(g)
	stream := DefaultStream(d)
	for i := 0; i < 3; i++ {
		require.Equal(t, OK, x.Launch(stream))
	}
	assert.Equal(t, 1, gb.built, "built once, at the first launch")
	assert.Equal(t, 3, gb.launched, "every launch ran as one")
	assert.Equal(t, byte(7), Bytes(a.Base, 4096)[4095])

	g2 := NewGraph()
	g2.add(Node{Kind: NodeMemset, Dst: a.Base, Value: 9, N: 4096})
	ok, _ := x.Update(g2)
	require.True(t, ok)
	assert.Equal(t, 1, gb.destroyed, "an update drops the recorded graph")
	require.Equal(t, OK, x.Launch(stream))
	assert.Equal(t, byte(9), Bytes(a.Base, 4096)[0], "replayed node by node with the new parameters")
	assert.Equal(t, 1, gb.built)
	require.Equal(t, OK, x.Launch(stream))
	assert.Equal(t, 2, gb.built, "rebuilt at the second launch after the update")
	x.Close()
	assert.Equal(t, 2, gb.destroyed)

	h := NewGraph()
	h.add(Node{Kind: NodeHost, Run: func() Status { return OK }}) // host work: not recordable
	y := Instantiate(h)
	for i := 0; i < 3; i++ {
		require.Equal(t, OK, y.Launch(stream))
	}
	assert.Equal(t, 3, gb.built, "tried once, then left to node-by-node replay")
	assert.Equal(t, 4, gb.launched, "the host-work graph's launches were not the backend's")
}

// A captured multi-byte fill (written from the host on the sim) checks its memory again when
// the graph replays: freed since, the launch fails and nothing is written there.
func TestReplayedWordFillOnFreedMemoryIsRefused(t *testing.T) {
	Reset()
	t.Cleanup(Reset)
	d := S().Device(0)
	a, st := AllocDevice(d, 4096, MemDevice)
	require.Equal(t, OK, st)
	s := NewStream(d, 0, 0)
	require.Equal(t, OK, s.BeginCapture(0))
	require.Equal(t, OK, MemsetWords(s, a.Base, 0x01020304, 4, 1024))
	g, st := s.EndCapture()
	require.Equal(t, OK, st)
	x := Instantiate(g)
	require.Equal(t, OK, x.Launch(s))
	require.Equal(t, OK, s.Synchronize())
	assert.Equal(t, []byte{4, 3, 2, 1}, Bytes(a.Base, 4), "the fill ran while its memory was there")
	require.Equal(t, OK, FreeDevice(a.Base))
	assert.NotEqual(t, OK, x.Launch(s), "a replay onto freed memory")
}
