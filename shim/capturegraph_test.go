package shim

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A capture into an existing graph adds each operation as a node of that graph, the first
// after the dependencies the capture began with, each later one after the one before; the
// graph's earlier nodes stay, and ending the capture hands back that graph.
func TestCaptureToGraphAppendsAfterItsDependencies(t *testing.T) {
	Reset()
	t.Cleanup(Reset)
	d := S().Device(0)
	g := NewGraph()
	g.Handle = NewHandle(KindGraph, g)
	a, st := g.AddNode(GraphNodeEmpty, nil, nil, nil)
	require.Equal(t, OK, st)
	b, st := g.AddNode(GraphNodeEmpty, nil, nil, nil)
	require.Equal(t, OK, st)
	s := NewStream(d, 1, 0)
	require.Equal(t, OK, s.BeginCaptureToGraph(CaptureGlobal, g, []*GraphNode{a, b}))
	work := Node{Kind: NodeMemset, Run: func() Status { return OK }}
	require.Equal(t, OK, s.Enqueue(work))
	require.Equal(t, OK, s.Enqueue(work))
	out, st := s.EndCapture()
	require.Equal(t, OK, st)
	assert.Same(t, g, out, "the graph given, not a new one")
	nodes := g.GraphNodes()
	require.Len(t, nodes, 4)
	assert.ElementsMatch(t, []*GraphNode{a, b}, nodes[2].Dependencies(), "the first captured node waits for both")
	assert.Equal(t, []*GraphNode{nodes[2]}, nodes[3].Dependencies(), "the next waits for the one before")
	assert.Nil(t, s.Capturing(), "the stream captures no more")
}

// A dependency removed from the graph while the capture runs breaks the capture: NVIDIA's
// runtime invalidates it, and ending it returns no graph.
func TestCaptureToGraphWhoseDependencyIsRemovedIsInvalidated(t *testing.T) {
	Reset()
	t.Cleanup(Reset)
	g := NewGraph()
	g.Handle = NewHandle(KindGraph, g)
	a, st := g.AddNode(GraphNodeEmpty, nil, nil, nil)
	require.Equal(t, OK, st)
	s := NewStream(S().Device(0), 1, 0)
	require.Equal(t, OK, s.BeginCaptureToGraph(CaptureRelaxed, g, []*GraphNode{a}))
	a.Remove()
	require.Equal(t, OK, s.Enqueue(Node{Kind: NodeMemset, Run: func() Status { return OK }}))
	_, st = s.EndCapture()
	assert.Equal(t, ErrCaptureInvalidated, st)
	assert.Empty(t, g.GraphNodes(), "nothing was added after a node that is gone")
}

// The legacy stream cannot capture into a graph any more than into a new one.
func TestLegacyStreamCannotCaptureToGraph(t *testing.T) {
	Reset()
	t.Cleanup(Reset)
	g := NewGraph()
	s, st := ResolveStream(0, S().Device(0))
	require.Equal(t, OK, st)
	assert.Equal(t, ErrCaptureUnsupported, s.BeginCaptureToGraph(CaptureGlobal, g, nil))
}
