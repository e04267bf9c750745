package remote

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"vgpu/cuda"
	"vgpu/cudart"
	"vgpu/shim"
	"vgpu/shim/api"
	"vgpu/wire"
)

// Memcpy nodes that touch the program's host memory (issue 13). A server keeps no client's
// host memory, so such a node is a marker on the server (wire.GraphAddCopy), named by a
// token of this process's; when a launch in parts reaches it, this process makes the copy
// (as cudaMemcpy2D does over the connection) and the launch goes on. Copies between device
// memory are forwarded as they are. Hooks on the rows' forwarding (beforeCall) choose.

var (
	copyTokens atomic.Uint64
	copies     sync.Map // token -> []cuda.Copy2D, each kind resolved
)

// copyToken names a new client copy: a number no function address takes.
func copyToken(cs []cuda.Copy2D) uint64 {
	t := 0xC1<<56 | copyTokens.Add(1)
	copies.Store(t, cs)
	return t
}

// hostCopies resolves each copy's direction; touches reports whether any moves host memory.
// A device side that is not device memory is an invalid value, as in process.
func hostCopies(cs []cuda.Copy2D) (touches bool, st shim.Status) {
	for i := range cs {
		c := &cs[i]
		if c.W == 0 || c.H == 0 {
			continue
		}
		c.Kind = resolveKind(c.Dst, c.Src, c.Kind)
		switch c.Kind {
		case shim.DeviceToDevice:
		case shim.HostToDevice:
			touches = true
			if !isDevice(c.Dst) {
				return false, shim.ErrInvalidValue
			}
		case shim.DeviceToHost:
			touches = true
			if !isDevice(c.Src) {
				return false, shim.ErrInvalidValue
			}
		case shim.HostToHost:
			touches = true
		default:
			return false, shim.ErrInvalidMemcpyDirection
		}
	}
	return touches, shim.OK
}

// copyNode adds (graph set), sets in its graph (node set) or in an executable graph (exec
// set) a memcpy node this process carries out.
func copyNode(out unsafe.Pointer, graph, exec, nodeH uintptr, deps unsafe.Pointer, n uint64, cs []cuda.Copy2D, params []byte) shim.Status {
	r := &wire.GraphNodeReq{Fn: copyToken(cs)}
	var st shim.Status
	switch {
	case nodeH == 0:
		if out == nil {
			return shim.ErrInvalidValue
		}
		if r.Deps, st = depList(deps, n); st != shim.OK {
			return st
		}
		r.What, r.Graph = wire.GraphAddCopy, uint64(graph)
	case exec != 0:
		r.What, r.Graph, r.Node = wire.GraphExecSetCopy, uint64(exec), uint64(nodeH)
	default:
		r.What, r.Node = wire.GraphSetCopy, uint64(nodeH)
	}
	hostNodes.Add(1) // launches go in parts from now on
	h, st := nodeCall(r)
	if st != shim.OK {
		return st
	}
	switch r.What {
	case wire.GraphAddCopy:
		shim.PutPtr(out, uintptr(h))
		nodeParams.Store(h, params)
	case wire.GraphSetCopy:
		nodeParams.Store(uint64(nodeH), params)
	}
	return shim.OK
}

// runCopies makes a client copy's copies, synchronously.
func runCopies(cs []cuda.Copy2D) shim.Status {
	for _, c := range cs {
		if e := memcpy2D(c.Dst, c.DPitch, c.Src, c.SPitch, c.W, c.H, c.Kind, false, 0); e != cudart.Success {
			return shim.ErrInvalidValue
		}
	}
	return shim.OK
}

// copyHooks installs the choice on each memcpy node row.
func copyHooks() {
	type form struct {
		name                     string
		out, g, deps, n, x, node int // argument positions, -1 where the form has none
		read                     func(v []wire.Value) ([]cuda.Copy2D, []byte, shim.Status)
		rt                       bool
	}
	desc3D := func(at int) func(v []wire.Value) ([]cuda.Copy2D, []byte, shim.Status) {
		return func(v []wire.Value) ([]cuda.Copy2D, []byte, shim.Status) {
			p := unsafe.Pointer(uintptr(v[at].U))
			cs, r := cuda.Copy3DAt(p, driverArrays)
			if r != cuda.Success {
				return nil, nil, shim.ErrInvalidValue
			}
			return cs, append([]byte(nil), shim.View(p, 200)...), shim.OK
		}
	}
	parms3D := func(at int) func(v []wire.Value) ([]cuda.Copy2D, []byte, shim.Status) {
		return func(v []wire.Value) ([]cuda.Copy2D, []byte, shim.Status) {
			p := unsafe.Pointer(uintptr(v[at].U))
			var cs []cuda.Copy2D
			e := cudart.Slices3D(p, false, arrayLayout, func(dst uintptr, dpitch uint64, src uintptr, spitch, w, h uint64, kind int32) cudart.Error {
				cs = append(cs, cuda.Copy2D{Dst: dst, DPitch: dpitch, Src: src, SPitch: spitch, W: w, H: h, Kind: kind})
				return cudart.Success
			})
			if e != cudart.Success || p == nil {
				return nil, nil, shim.ErrInvalidValue
			}
			return cs, append([]byte(nil), shim.View(p, 160)...), shim.OK
		}
	}
	flat := func(at int) func(v []wire.Value) ([]cuda.Copy2D, []byte, shim.Status) {
		return func(v []wire.Value) ([]cuda.Copy2D, []byte, shim.Status) {
			n := v[at+2].U
			return []cuda.Copy2D{{Dst: uintptr(v[at].U), Src: uintptr(v[at+1].U), DPitch: n, SPitch: n, W: n, H: 1, Kind: int32(v[at+3].U)}}, nil, shim.OK
		}
	}
	for _, f := range []form{
		{"cuGraphAddMemcpyNode", 0, 1, 2, 3, -1, -1, desc3D(4), false},
		{"cuGraphMemcpyNodeSetParams", -1, -1, -1, -1, -1, 0, desc3D(1), false},
		{"cuGraphExecMemcpyNodeSetParams", -1, -1, -1, -1, 0, 1, desc3D(2), false},
		{"cudaGraphAddMemcpyNode", 0, 1, 2, 3, -1, -1, parms3D(4), true},
		{"cudaGraphMemcpyNodeSetParams", -1, -1, -1, -1, -1, 0, parms3D(1), true},
		{"cudaGraphExecMemcpyNodeSetParams", -1, -1, -1, -1, 0, 1, parms3D(2), true},
		{"cudaGraphAddMemcpyNode1D", 0, 1, 2, 3, -1, -1, flat(4), true},
		{"cudaGraphMemcpyNodeSetParams1D", -1, -1, -1, -1, -1, 0, flat(1), true},
		{"cudaGraphExecMemcpyNodeSetParams1D", -1, -1, -1, -1, 0, 1, flat(2), true},
	} {
		f := f
		op := opOf(f.name)
		if op < 0 || beforeCall[op] != nil {
			continue
		}
		beforeCall[op] = func(_ *api.Func, v []wire.Value) (uint64, bool) {
			cs, params, st := f.read(v)
			if st != shim.OK {
				return 0, false // the server finds what is wrong, as in process
			}
			touches, st := hostCopies(cs)
			if st != shim.OK {
				return result(st, f.rt), true
			}
			if !touches {
				return 0, false
			}
			at := func(i int) uintptr {
				if i < 0 {
					return 0
				}
				return uintptr(v[i].U)
			}
			var deps unsafe.Pointer
			var n uint64
			if f.deps >= 0 {
				deps, n = unsafe.Pointer(at(f.deps)), v[f.n].U
			}
			var out unsafe.Pointer
			if f.out >= 0 {
				out = unsafe.Pointer(at(f.out))
			}
			if f.node >= 0 && at(f.node) == 0 || f.x >= 0 && at(f.x) == 0 {
				return result(shim.ErrInvalidValue, f.rt), true
			}
			return result(copyNode(out, at(f.g), at(f.x), at(f.node), deps, n, cs, params), f.rt), true
		}
	}
	// The descriptor of a node this process carries is its own to report.
	for name, size := range map[string]int{"cuGraphMemcpyNodeGetParams": 200, "cudaGraphMemcpyNodeGetParams": 160} {
		size := size
		op := opOf(name)
		if op < 0 {
			continue
		}
		beforeCall[op] = func(_ *api.Func, v []wire.Value) (uint64, bool) {
			b, ok := nodeParams.Load(v[0].U)
			params, _ := b.([]byte)
			if !ok || len(params) != size || v[1].U == 0 {
				return 0, false
			}
			copy(shim.View(unsafe.Pointer(uintptr(v[1].U)), size), params)
			return 0, true
		}
	}
}
