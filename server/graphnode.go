package server

import (
	"encoding/binary"

	"vgpu/shim"
	"vgpu/wire"
)

// graphNode answers wire.OpGraphNode: kernel and host nodes of a client's graphs, built from
// what the client resolved in its own memory. Every handle is looked up as this client's;
// a host node's function is only stored, to be handed back at launch (graphLaunchPart).
func graphNode(p []byte) []byte {
	r, err := wire.DecodeGraphNodeReq(p)
	if err != nil {
		return reply(shim.ErrInvalidValue)
	}
	if r.What == wire.GraphCaptureHost || r.What == wire.GraphCaptureCopy {
		return captureHost(r)
	}
	var ops []shim.Node
	if r.Kernel() {
		k, ok := shim.Lookup[*shim.Kernel](shim.KindFunction, uintptr(r.Func))
		if !ok || k.Native == 0 {
			return reply(shim.ErrInvalidDeviceFunction)
		}
		lc := shim.LaunchConfig{
			Grid:  shim.Dim3{X: r.Dims[0], Y: r.Dims[1], Z: r.Dims[2]},
			Block: shim.Dim3{X: r.Dims[3], Y: r.Dims[4], Z: r.Dims[5]}, Shared: uint64(r.Shared),
		}
		if st := shim.CheckLaunch(shim.S().Device(0), k, lc); st != shim.OK {
			return reply(st)
		}
		ops = []shim.Node{{Kind: shim.NodeKernel, Kernel: k, Launch: lc, ArgBlock: r.Args}}
	} else {
		if r.Fn == 0 {
			return reply(shim.ErrInvalidValue)
		}
		ops = []shim.Node{shim.ClientHostNode(uintptr(r.Fn), uintptr(r.Data))}
	}
	typ := int32(shim.GraphNodeHost)
	switch {
	case r.Kernel():
		typ = shim.GraphNodeKernel
	case r.What >= wire.GraphAddCopy:
		typ = shim.GraphNodeMemcpy
	}
	switch r.What {
	case wire.GraphAddKernel, wire.GraphAddHost, wire.GraphAddCopy:
		g, ok := shim.Lookup[*shim.Graph](shim.KindGraph, uintptr(r.Graph))
		if !ok {
			return reply(shim.ErrInvalidValue)
		}
		deps := make([]*shim.GraphNode, len(r.Deps))
		for i, h := range r.Deps {
			d, ok := shim.Lookup[*shim.GraphNode](shim.KindGraphNode, uintptr(h))
			if !ok || d.Graph != g {
				return reply(shim.ErrInvalidValue)
			}
			deps[i] = d
		}
		n, st := g.AddNode(typ, ops, deps, nil)
		if st != shim.OK {
			return reply(st)
		}
		return binary.LittleEndian.AppendUint64(reply(shim.OK), uint64(n.Handle))
	}
	n, ok := shim.Lookup[*shim.GraphNode](shim.KindGraphNode, uintptr(r.Node))
	if !ok || n.Type != typ {
		return reply(shim.ErrInvalidValue)
	}
	if r.What == wire.GraphSetKernel || r.What == wire.GraphSetHost || r.What == wire.GraphSetCopy {
		n.SetOps(ops, nil)
		return reply(shim.OK)
	}
	x, ok := shim.Lookup[*shim.GraphExec](shim.KindGraphExec, uintptr(r.Graph))
	if !ok {
		return reply(shim.ErrInvalidValue)
	}
	return reply(x.SetNodeOps(n, ops))
}

// graphLaunchPart answers wire.OpGraphLaunchPart: the client's executable graph on its
// stream, up to its next host node.
func graphLaunchPart(p []byte) []byte {
	exec, stream, from, err := wire.DecodeLaunchPart(p)
	if err != nil {
		return reply(shim.ErrInvalidValue)
	}
	x, ok := shim.Lookup[*shim.GraphExec](shim.KindGraphExec, uintptr(exec))
	if !ok {
		return reply(shim.ErrInvalidValue)
	}
	s, st := shim.ResolveStream(uintptr(stream), shim.S().Device(0))
	if st != shim.OK {
		return reply(st)
	}
	next, fn, data, st := x.LaunchPart(s, int(from))
	if st != shim.OK {
		return reply(st)
	}
	if next < 0 {
		return wire.EncodeLaunchPartReply(byte(shim.OK), wire.GraphLaunchDone, 0, 0)
	}
	return wire.EncodeLaunchPartReply(byte(shim.OK), uint32(next), uint64(fn), uint64(data))
}

// captureHost answers wire.GraphCaptureHost and GraphCaptureCopy: the client's host function
// (or copy) as a host (memcpy) node of the capture its stream belongs to, kept as a number,
// run by the client when a launch in parts reaches it.
func captureHost(r *wire.GraphNodeReq) []byte {
	if r.Fn == 0 {
		return reply(shim.ErrInvalidValue)
	}
	s, st := shim.ResolveStream(uintptr(r.Graph), shim.S().Device(0))
	if st != shim.OK {
		return reply(st)
	}
	if s.Capturing() == nil {
		return reply(shim.ErrIllegalState)
	}
	n := shim.ClientHostNode(uintptr(r.Fn), uintptr(r.Data))
	if r.What == wire.GraphCaptureCopy {
		n.ViewType = shim.GraphNodeMemcpy
	}
	return reply(s.Enqueue(n))
}
