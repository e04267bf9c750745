package shim

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A remote client's host node is a marker: a launch in parts stops after the work before
// it (done by then) and names it; the work after it waits for the next part.
func TestALaunchInPartsStopsAtEachClientHostNode(t *testing.T) {
	Reset()
	t.Cleanup(Reset)
	d := S().Device(0)
	a, st := AllocDevice(d, 64, MemDevice)
	require.Equal(t, OK, st)
	g := NewGraph()
	fill, st := g.AddNode(GraphNodeMemset, []Node{{Kind: NodeMemset, Dst: a.Base, Value: 1, N: 64}}, nil, nil)
	require.Equal(t, OK, st)
	host, st := g.AddNode(GraphNodeHost, []Node{ClientHostNode(0x1234, 99)}, []*GraphNode{fill}, nil)
	require.Equal(t, OK, st)
	_, st = g.AddNode(GraphNodeMemset, []Node{{Kind: NodeMemset, Dst: a.Base, Value: 2, N: 64}}, []*GraphNode{host}, nil)
	require.Equal(t, OK, st)
	x := Instantiate(g)
	s := DefaultStream(d)

	next, fn, data, st := x.LaunchPart(s, 0)
	require.Equal(t, OK, st)
	assert.Equal(t, 2, next)
	assert.Equal(t, uintptr(0x1234), fn)
	assert.Equal(t, uintptr(99), data)
	assert.Equal(t, byte(1), Bytes(a.Base, 64)[63], "the fill before the host node is done")
	next, _, _, st = x.LaunchPart(s, next)
	require.Equal(t, OK, st)
	assert.Equal(t, -1, next, "no host node after: the rest launched")
	require.Equal(t, OK, s.Synchronize())
	assert.Equal(t, byte(2), Bytes(a.Base, 64)[0], "the fill after it")
	_, _, _, st = x.LaunchPart(s, 4)
	assert.Equal(t, ErrInvalidValue, st, "past the end")

	// Launched whole (by a client that does not know of it), the marker does nothing.
	require.Equal(t, OK, x.Launch(s))
}

// Kernel node attributes are checked as launch attributes are, and copied node to node.
func TestKernelNodeAttributesAreCheckedAndCopied(t *testing.T) {
	Reset()
	t.Cleanup(Reset)
	d := S().Device(0)
	g := NewGraph()
	k1, _ := g.AddNode(GraphNodeKernel, nil, nil, nil)
	k2, _ := g.AddNode(GraphNodeKernel, nil, nil, nil)
	e, _ := g.AddNode(GraphNodeEmpty, nil, nil, nil)
	var v [LaunchAttrValueSize]byte
	v[0] = 2
	assert.Equal(t, ErrInvalidValue, SetKernelNodeAttribute(k1, d, LaunchAttrCooperative, v), "cooperative is 0 or 1")
	v[0] = 1
	require.Equal(t, OK, SetKernelNodeAttribute(k1, d, LaunchAttrCooperative, v))
	assert.Equal(t, ErrInvalidValue, SetKernelNodeAttribute(e, d, LaunchAttrCooperative, v), "not a kernel node")
	assert.Equal(t, ErrInvalidValue, SetKernelNodeAttribute(k1, d, 99, v), "no such attribute")
	require.Equal(t, OK, CopyKernelNodeAttributes(k2, k1))
	got, st := KernelNodeAttribute(k2, LaunchAttrCooperative)
	require.Equal(t, OK, st)
	assert.Equal(t, byte(1), got[0])
}

// References a graph owns go with it; an executable graph made from it holds its own.
func TestOwnedReferencesFollowTheirOwners(t *testing.T) {
	o := &UserObject{refs: 1}
	require.Equal(t, OK, OwnerRetain(1, o, 1, true), "the caller's reference moves to owner 1")
	OwnerCopy(1, 2)
	assert.Equal(t, uint64(2), o.refs, "owner 2 holds one of its own")
	assert.Equal(t, ErrInvalidValue, OwnerRelease(1, o, 2), "more than owner 1 holds")
	require.Equal(t, OK, OwnerRelease(1, o, 1))
	assert.Equal(t, uint64(1), o.refs)
	assert.Equal(t, ErrInvalidValue, o.Retain(MaxUserObjectRefs), "past the count's bound")
}
