package server

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/shim"
	"vgpu/wire"
)

// Graph nodes a remote client builds from its own memory (wire.OpGraphNode) and launches in
// parts (wire.OpGraphLaunchPart): the server keeps a host node's function as a number and
// hands it back, never calls it; every handle must be the caller's; malformed frames are
// refused before anything is read past them.

func graphOf(t *testing.T, c *testClient) uint64 {
	t.Helper()
	r, outs := c.call("cudaGraphCreate", wire.Value{U: 1}, wire.Value{U: 0})
	require.Zero(t, r)
	return binary.LittleEndian.Uint64(outs[0])
}

func addHost(c *testClient, g uint64, fn uint64, deps ...uint64) (shim.Status, uint64) {
	st, out := c.op(wire.OpGraphNode, (&wire.GraphNodeReq{What: wire.GraphAddHost, Graph: g, Deps: deps, Fn: fn, Data: 7}).Encode())
	if st != shim.OK || len(out) != 8 {
		return st, 0
	}
	return st, binary.LittleEndian.Uint64(out)
}

func launchPart(c *testClient, exec uint64, from uint32) (shim.Status, uint32, uint64, uint64) {
	p, err := c.request(wire.OpGraphLaunchPart, wire.EncodeLaunchPart(exec, 0, from))
	require.NoError(c.t, err)
	st, next, fn, data, err := wire.DecodeLaunchPartReply(p)
	require.NoError(c.t, err)
	return shim.Status(st), next, fn, data
}

func TestAHostNodesFunctionIsHandedBackToItsClientNeverCalled(t *testing.T) {
	c := startServer(t, Options{}).dial(t)
	g := graphOf(t, c)
	// An address that would fault if the server called it.
	const wild = 0xdead0000beef
	st, n1 := addHost(c, g, wild)
	require.Equal(t, shim.OK, st)
	st, _ = addHost(c, g, wild+1, n1)
	require.Equal(t, shim.OK, st)
	r, outs := c.call("cudaGraphInstantiate", wire.Value{U: 1}, wire.Value{U: g}, wire.Value{U: 0})
	require.Zero(t, r)
	x := binary.LittleEndian.Uint64(outs[0])

	st, next, fn, data := launchPart(c, x, 0)
	require.Equal(t, shim.OK, st)
	assert.Equal(t, uint32(1), next, "stopped after the first host node")
	assert.Equal(t, uint64(wild), fn, "its function, as a number")
	assert.Equal(t, uint64(7), data)
	st, next, fn, _ = launchPart(c, x, next)
	require.Equal(t, shim.OK, st)
	assert.Equal(t, uint32(2), next)
	assert.Equal(t, uint64(wild+1), fn, "the second, in the graph's order")
	st, next, _, _ = launchPart(c, x, next)
	require.Equal(t, shim.OK, st)
	assert.Equal(t, uint32(wire.GraphLaunchDone), next, "the rest launched")

	// A plain launch of the same graph passes the markers by; the server is still alive.
	r, _ = c.call("cudaGraphLaunch", wire.Value{U: x}, wire.Value{U: 0})
	assert.Zero(t, r)
	r, _ = c.call("cudaDeviceSynchronize")
	assert.Zero(t, r)
	st, _, _, _ = launchPart(c, x, 3)
	assert.Equal(t, shim.ErrInvalidValue, st, "an index past the graph")
}

func TestAnotherClientsGraphIsAnInvalidValue(t *testing.T) {
	s := startServer(t, Options{})
	a, b := s.dial(t), s.dial(t)
	g := graphOf(t, a)
	st, n := addHost(a, g, 0x1000)
	require.Equal(t, shim.OK, st)
	st, _ = addHost(b, g, 0x1000)
	assert.Equal(t, shim.ErrInvalidValue, st, "b adds to a's graph")
	gb := graphOf(t, b)
	st, _ = addHost(b, gb, 0x1000, n)
	assert.Equal(t, shim.ErrInvalidValue, st, "a's node as b's dependency")
	st, _ = b.op(wire.OpGraphNode, (&wire.GraphNodeReq{What: wire.GraphSetHost, Node: n, Fn: 0x2000}).Encode())
	assert.Equal(t, shim.ErrInvalidValue, st, "b changes a's node")
	r, outs := a.call("cudaGraphInstantiate", wire.Value{U: 1}, wire.Value{U: g}, wire.Value{U: 0})
	require.Zero(t, r)
	st, _, _, _ = launchPart(b, binary.LittleEndian.Uint64(outs[0]), 0)
	assert.Equal(t, shim.ErrInvalidValue, st, "b launches a's executable graph")
}

func TestMalformedGraphNodeFramesAreRefused(t *testing.T) {
	c := startServer(t, Options{}).dial(t)
	g := graphOf(t, c)
	good := (&wire.GraphNodeReq{What: wire.GraphAddHost, Graph: g, Fn: 0x1000}).Encode()
	deps := binary.LittleEndian.AppendUint32(append([]byte(nil), good[:20]...), 1<<30) // a billion dependencies
	huge := (&wire.GraphNodeReq{What: wire.GraphAddKernel, Graph: g, Func: 1, Args: make([]byte, wire.MaxGraphNodeArgs+1)}).Encode()
	for name, p := range map[string][]byte{
		"empty":                  {},
		"truncated":              good[:len(good)-1],
		"one byte more":          append(append([]byte(nil), good...), 0),
		"no such request":        binary.LittleEndian.AppendUint32(nil, 99),
		"a count past the frame": deps,
		"arguments past 32 KiB":  huge,
	} {
		st, _ := c.op(wire.OpGraphNode, p)
		assert.Equal(t, shim.ErrInvalidValue, st, name)
	}
	st, _ := c.op(wire.OpGraphNode, (&wire.GraphNodeReq{What: wire.GraphAddHost, Graph: g}).Encode())
	assert.Equal(t, shim.ErrInvalidValue, st, "a host node without a function")
	st, _ = c.op(wire.OpGraphNode, (&wire.GraphNodeReq{What: wire.GraphAddKernel, Graph: g, Func: 0x7e5a0000beef, Dims: [6]uint32{1, 1, 1, 1, 1, 1}}).Encode())
	assert.Equal(t, shim.ErrInvalidDeviceFunction, st, "a function that is not one")
	p, err := c.request(wire.OpGraphLaunchPart, []byte{1, 2, 3})
	require.NoError(t, err)
	assert.Equal(t, []byte{byte(shim.ErrInvalidValue)}, p, "a launch frame of the wrong size")
}

func TestAKernelNodeLaunchesWithItsPackedArguments(t *testing.T) {
	c := startServer(t, Options{}).dial(t)
	g := graphOf(t, c)
	fn := kernelOnServer(t, c)
	req := &wire.GraphNodeReq{What: wire.GraphAddKernel, Graph: g, Func: fn, Dims: [6]uint32{2, 1, 1, 4096, 1, 1}}
	st, _ := c.op(wire.OpGraphNode, req.Encode())
	assert.NotEqual(t, shim.OK, st, "a 4096-thread block")
	req.Dims[3] = 64
	st, out := c.op(wire.OpGraphNode, req.Encode())
	require.Equal(t, shim.OK, st)
	node := binary.LittleEndian.Uint64(out)
	r, outs := c.call("cudaGraphInstantiate", wire.Value{U: 1}, wire.Value{U: g}, wire.Value{U: 0})
	require.Zero(t, r)
	x := binary.LittleEndian.Uint64(outs[0])
	// The sim answers a launch per VGPU_SIM_LAUNCH: the node's launch answers as a plain one.
	plain, _ := c.op(wire.OpLaunch, launchFrame(fn, 0, 0, nil)[:wire.LaunchHeader])
	st, next, _, _ := launchPart(c, x, 0)
	assert.Equal(t, plain, st, "the kernel node launched as a launch of it does")
	assert.Equal(t, uint32(wire.GraphLaunchDone), next, "no host node: one launch")
	req = &wire.GraphNodeReq{What: wire.GraphExecSetKernel, Graph: x, Node: node, Func: fn, Dims: [6]uint32{4, 1, 1, 32, 1, 1}}
	st, _ = c.op(wire.OpGraphNode, req.Encode())
	assert.Equal(t, shim.OK, st, "the executable graph's node takes new dimensions")
	req.What = wire.GraphExecSetHost
	req.Fn = 0x1000
	st, _ = c.op(wire.OpGraphNode, req.Encode())
	assert.Equal(t, shim.ErrInvalidValue, st, "a kernel node is no host node")
}

// The generic form is served, but never for the kinds that point into a client's memory.
func TestTheGenericFormServesNoHostOrKernelKind(t *testing.T) {
	c := startServer(t, Options{}).dial(t)
	g := graphOf(t, c)
	for _, typ := range []uint32{0, 3} {
		params := make([]byte, 256)
		binary.LittleEndian.PutUint32(params, typ)
		binary.LittleEndian.PutUint64(params[16:], 0xdead0000beef)
		r, _ := c.call("cudaGraphAddNode_v2", wire.Value{U: 1}, wire.Value{U: g}, wire.Value{}, wire.Value{}, wire.Value{U: 0}, wire.Value{U: 1, B: params})
		assert.Equal(t, uint64(801), r, "type %d", typ)
	}
}
