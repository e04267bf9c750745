package remote

import (
	"strings"
	"sync"
	"unsafe"

	"vgpu/cuda"
	"vgpu/cudart"
	"vgpu/shim"
	"vgpu/shim/api"
	"vgpu/wire"
)

// The rest of the hand-carried graph node rows (issue 13): symbol copies (the client resolves
// its variable, then adds a 1D copy), the generic cuGraphAddNode/cudaGraphAddNode and Set
// forms (kernel and host kinds as remote/graphnode.go carries them, the rest forwarded), and
// the user objects graphs own (the objects are this process's; the graphs the server's).

// byOp finds a row by opcode.
var opIndex = func() map[int]int {
	m := map[int]int{}
	for i := range api.Functions {
		m[api.Functions[i].Op] = i
	}
	return m
}()

// forwardOp carries row op with the given argument values.
func forwardOp(op int, vals ...uint64) uint64 {
	i, ok := opIndex[op]
	if !ok {
		return uint64(cuda.ErrorNotSupported)
	}
	vs := make([]wire.Value, len(vals))
	for j, v := range vals {
		vs[j].U = v
	}
	return Forward(i, vs)
}

// opOf is the opcode of the row named name.
func opOf(name string) int {
	for i := range api.Functions {
		if api.Functions[i].Name == name {
			return api.Functions[i].Op
		}
	}
	return -1
}

func p(x unsafe.Pointer) uint64 { return uint64(uintptr(x)) }

// ---- symbol copies ----

// symbolRange is SymbolRange over the connection: the variable's address on the server.
func symbolRange(host uintptr, count, offset uint64, kind int32, to bool) (uintptr, cudart.Error) {
	y, e := symbolAt(host)
	if e != cudart.Success {
		return 0, e
	}
	if e := cudart.SymbolCopyCheck(y.Var.Size, count, offset, kind, to); e != cudart.Success {
		return 0, e
	}
	d, st := symbolDevice(y)
	if st != shim.OK {
		return 0, cudart.From(st)
	}
	return d + uintptr(offset), cudart.Success
}

var (
	opAdd1D      = opOf("cudaGraphAddMemcpyNode1D")
	opSet1D      = opOf("cudaGraphMemcpyNodeSetParams1D")
	opExecSet1D  = opOf("cudaGraphExecMemcpyNodeSetParams1D")
	opGetNodesCU = opOf("cuGraphGetNodes")
)

// GraphAddMemcpyNodeToSymbol is cudaGraphAddMemcpyNodeToSymbol over the connection.
func GraphAddMemcpyNodeToSymbol(out unsafe.Pointer, g uintptr, deps unsafe.Pointer, n uint64, sym, src uintptr, count, offset uint64, kind int32) cudart.Error {
	d, e := symbolRange(sym, count, offset, kind, true)
	if e != cudart.Success {
		return e
	}
	return cudart.Error(forwardOp(opAdd1D, p(out), uint64(g), p(deps), n, uint64(d), uint64(src), count, uint64(kind)))
}

// GraphAddMemcpyNodeFromSymbol is cudaGraphAddMemcpyNodeFromSymbol over the connection.
func GraphAddMemcpyNodeFromSymbol(out unsafe.Pointer, g uintptr, deps unsafe.Pointer, n uint64, dst, sym uintptr, count, offset uint64, kind int32) cudart.Error {
	s, e := symbolRange(sym, count, offset, kind, false)
	if e != cudart.Success {
		return e
	}
	return cudart.Error(forwardOp(opAdd1D, p(out), uint64(g), p(deps), n, uint64(dst), uint64(s), count, uint64(kind)))
}

// GraphMemcpyNodeSetParamsToSymbol is cudaGraphMemcpyNodeSetParamsToSymbol over the connection.
func GraphMemcpyNodeSetParamsToSymbol(node, sym, src uintptr, count, offset uint64, kind int32) cudart.Error {
	d, e := symbolRange(sym, count, offset, kind, true)
	if e != cudart.Success {
		return e
	}
	return cudart.Error(forwardOp(opSet1D, uint64(node), uint64(d), uint64(src), count, uint64(kind)))
}

// GraphMemcpyNodeSetParamsFromSymbol is cudaGraphMemcpyNodeSetParamsFromSymbol over the connection.
func GraphMemcpyNodeSetParamsFromSymbol(node, dst, sym uintptr, count, offset uint64, kind int32) cudart.Error {
	s, e := symbolRange(sym, count, offset, kind, false)
	if e != cudart.Success {
		return e
	}
	return cudart.Error(forwardOp(opSet1D, uint64(node), uint64(dst), uint64(s), count, uint64(kind)))
}

// GraphExecMemcpyNodeSetParamsToSymbol is cudaGraphExecMemcpyNodeSetParamsToSymbol over the connection.
func GraphExecMemcpyNodeSetParamsToSymbol(x, node, sym, src uintptr, count, offset uint64, kind int32) cudart.Error {
	d, e := symbolRange(sym, count, offset, kind, true)
	if e != cudart.Success {
		return e
	}
	return cudart.Error(forwardOp(opExecSet1D, uint64(x), uint64(node), uint64(d), uint64(src), count, uint64(kind)))
}

// GraphExecMemcpyNodeSetParamsFromSymbol is cudaGraphExecMemcpyNodeSetParamsFromSymbol over the connection.
func GraphExecMemcpyNodeSetParamsFromSymbol(x, node, dst, sym uintptr, count, offset uint64, kind int32) cudart.Error {
	s, e := symbolRange(sym, count, offset, kind, false)
	if e != cudart.Success {
		return e
	}
	return cudart.Error(forwardOp(opExecSet1D, uint64(x), uint64(node), uint64(dst), uint64(s), count, uint64(kind)))
}

// ---- the generic forms: kernel and host kinds carried here, the rest forwarded ----

// genericKind reads the type of a CUgraphNodeParams / cudaGraphNodeParams.
func genericKind(params uint64) (kernel, host bool, u unsafe.Pointer) {
	if params == 0 {
		return false, false, nil
	}
	t, u := cuda.NodeParamsType(unsafe.Pointer(uintptr(params)))
	return t == shim.GraphNodeKernel, t == shim.GraphNodeHost, u
}

// edgesDefault: edge data, where given, must be the default edges.
func edgesDefault(e uint64, n uint64) bool {
	if e == 0 {
		return true
	}
	if n > wire.MaxGraphNodeDeps {
		return false
	}
	for _, c := range shim.View(unsafe.Pointer(uintptr(e)), int(8*n)) {
		if c != 0 {
			return false
		}
	}
	return true
}

// genericHooks: the rows' argument positions (out, graph, deps, edge data, count, params; -1
// where the form has none) and which library numbers the result.
func genericHooks() {
	type add struct {
		name                               string
		out, g, deps, edges, n, params, sz int
		rt                                 bool
	}
	for _, a := range []add{
		{"cuGraphAddNode", 0, 1, 2, -1, 3, 4, 72, false},
		{"cudaGraphAddNode", 0, 1, 2, 3, 4, 5, 56, true}, // CUDA 13's; 12's rows below by opcode
		{"cudaGraphAddNode_v2", 0, 1, 2, 3, 4, 5, 56, true},
	} {
		a := a
		for i := range api.Functions {
			f := &api.Functions[i]
			if f.Name != a.name {
				continue
			}
			a := a
			if len(f.Args) == 5 { // CUDA 12's cudaGraphAddNode, without edge data
				a.edges, a.n, a.params = -1, 3, 4
			}
			beforeCall[f.Op] = func(_ *api.Func, v []wire.Value) (uint64, bool) {
				k, h, u := genericKind(v[a.params].U)
				if !k && !h {
					return 0, false
				}
				if a.edges >= 0 && !edgesDefault(v[a.edges].U, v[a.n].U) {
					return 1, true
				}
				st := node(h, unsafe.Pointer(uintptr(v[a.out].U)), uintptr(v[a.g].U), 0, 0, unsafe.Pointer(uintptr(v[a.deps].U)), v[a.n].U, u, a.sz, a.rt)
				return result(st, a.rt), true
			}
		}
	}
	for _, s := range []struct {
		name              string
		exec, node, param int
		sz                int
		rt                bool
	}{
		{"cuGraphNodeSetParams", -1, 0, 1, 72, false}, {"cuGraphExecNodeSetParams", 0, 1, 2, 72, false},
		{"cudaGraphNodeSetParams", -1, 0, 1, 56, true}, {"cudaGraphExecNodeSetParams", 0, 1, 2, 56, true},
	} {
		s := s
		op := opOf(s.name)
		if op < 0 {
			continue
		}
		beforeCall[op] = func(_ *api.Func, v []wire.Value) (uint64, bool) {
			k, h, u := genericKind(v[s.param].U)
			if (!k && !h) || v[s.node].U == 0 || (s.exec >= 0 && v[s.exec].U == 0) {
				return 0, false
			}
			var x uintptr
			if s.exec >= 0 {
				x = uintptr(v[s.exec].U)
			}
			return result(node(h, nil, 0, x, uintptr(v[s.node].U), nil, 0, u, s.sz, s.rt), s.rt), true
		}
	}
}

// result numbers a status as the row's library does.
func result(st shim.Status, rt bool) uint64 {
	if rt {
		return uint64(cudart.From(st))
	}
	return uint64(cuda.From(st))
}

// ---- user objects owned by graphs ----

var (
	probeMu sync.Mutex
	probe   uint64 // a count the server writes; a package variable, never on a moving stack
)

// graphKnown asks the server whether g is one of this client's graphs.
func graphKnown(g uintptr) cuda.Result {
	probeMu.Lock()
	defer probeMu.Unlock()
	return cuda.Result(forwardOp(opGetNodesCU, uint64(g), 0, uint64(uintptr(unsafe.Pointer(&probe)))))
}

// GraphRetainUserObjectCU is cuGraphRetainUserObject over the connection.
func GraphRetainUserObjectCU(g, h uintptr, n, flags uint32) int32 {
	if r := graphKnown(g); r != cuda.Success {
		return int32(r)
	}
	return int32(cuda.GraphOwnRetain(g, h, n, flags))
}

// GraphReleaseUserObjectCU is cuGraphReleaseUserObject over the connection.
func GraphReleaseUserObjectCU(g, h uintptr, n uint32) int32 {
	if r := graphKnown(g); r != cuda.Success {
		return int32(r)
	}
	return int32(cuda.GraphOwnRelease(g, h, n))
}

// GraphRetainUserObject is cudaGraphRetainUserObject over the connection.
func GraphRetainUserObject(g, h uintptr, n, flags uint32) cudart.Error {
	return cudart.Error(GraphRetainUserObjectCU(g, h, n, flags))
}

// GraphReleaseUserObject is cudaGraphReleaseUserObject over the connection.
func GraphReleaseUserObject(g, h uintptr, n uint32) cudart.Error {
	return cudart.Error(GraphReleaseUserObjectCU(g, h, n))
}

// An executable graph keeps its graph's user objects alive; destroying either releases what
// it owns. The server's handles name them; the objects are this process's.
func init() {
	genericHooks()
	copyHooks()
	for i := range api.Functions {
		f := &api.Functions[i]
		var mine func(v []wire.Value)
		switch {
		case strings.Contains(f.Name, "GraphInstantiate") && len(f.Args) >= 2:
			mine = func(v []wire.Value) {
				if v[0].U != 0 {
					shim.OwnerCopy(uintptr(v[1].U), *(*uintptr)(unsafe.Pointer(uintptr(v[0].U))))
				}
			}
		case f.Name == "cuGraphDestroy", f.Name == "cudaGraphDestroy", f.Name == "cuGraphExecDestroy", f.Name == "cudaGraphExecDestroy":
			mine = func(v []wire.Value) { shim.OwnerGone(uintptr(v[0].U)) }
		default:
			continue
		}
		prev := afterCall[f.Op]
		afterCall[f.Op] = func(v []wire.Value) {
			if prev != nil {
				prev(v)
			}
			mine(v)
		}
	}
}
