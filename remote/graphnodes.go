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

// ---- the generic forms ----

var (
	opAddNodeCU     = opOf("cuGraphAddNode")
	opSetNodeCU     = opOf("cuGraphNodeSetParams")
	opExecSetNodeCU = opOf("cuGraphExecNodeSetParams")
	opAddNode13     = 11125
	opAddNode12     = 11126
	opSetNodeRT     = opOf("cudaGraphNodeSetParams")
	opExecSetNodeRT = opOf("cudaGraphExecNodeSetParams")
	kernelSizeCU    = 72 // CUDA_KERNEL_NODE_PARAMS_v3 in CUgraphNodeParams
	kernelSizeRT    = 56
)

// genericKind reads the type of a CUgraphNodeParams / cudaGraphNodeParams: kernel and host
// nodes are carried here, the rest forwarded as they are.
func genericKind(params unsafe.Pointer) (kernel, host bool, u unsafe.Pointer) {
	if params == nil {
		return false, false, nil
	}
	t, u := cuda.NodeParamsType(params)
	return t == shim.GraphNodeKernel, t == shim.GraphNodeHost, u
}

// GraphAddNodeCU is cuGraphAddNode over the connection.
func GraphAddNodeCU(out unsafe.Pointer, g uintptr, deps unsafe.Pointer, n uint64, params unsafe.Pointer) int32 {
	if k, h, u := genericKind(params); k || h {
		return cu(node(h, out, g, 0, 0, deps, n, u, kernelSizeCU, false))
	}
	return int32(forwardOp(opAddNodeCU, p(out), uint64(g), p(deps), n, p(params)))
}

// GraphNodeSetParamsCU is cuGraphNodeSetParams over the connection.
func GraphNodeSetParamsCU(h uintptr, params unsafe.Pointer) int32 {
	if k, host, u := genericKind(params); (k || host) && h != 0 {
		return cu(node(host, nil, 0, 0, h, nil, 0, u, kernelSizeCU, false))
	}
	return int32(forwardOp(opSetNodeCU, uint64(h), p(params)))
}

// GraphExecNodeSetParamsCU is cuGraphExecNodeSetParams over the connection.
func GraphExecNodeSetParamsCU(x, h uintptr, params unsafe.Pointer) int32 {
	if k, host, u := genericKind(params); (k || host) && x != 0 && h != 0 {
		return cu(node(host, nil, 0, x, h, nil, 0, u, kernelSizeCU, false))
	}
	return int32(forwardOp(opExecSetNodeCU, uint64(x), uint64(h), p(params)))
}

// edgesDefault: edge data, where given, must be the default edges.
func edgesDefault(e unsafe.Pointer, n uint64) bool {
	if e == nil {
		return true
	}
	if n > wire.MaxGraphNodeDeps {
		return false
	}
	for _, c := range shim.View(e, int(8*n)) {
		if c != 0 {
			return false
		}
	}
	return true
}

// GraphAddNode is CUDA 13's cudaGraphAddNode (12's _v2) over the connection.
func GraphAddNode(out unsafe.Pointer, g uintptr, deps, edges unsafe.Pointer, n uint64, params unsafe.Pointer) cudart.Error {
	if k, h, u := genericKind(params); k || h {
		if !edgesDefault(edges, n) {
			return cudart.ErrorInvalidValue
		}
		return rt(node(h, out, g, 0, 0, deps, n, u, kernelSizeRT, true))
	}
	// CUDA 13's row and 12's _v2 are one function: either number reaches it on the server.
	return cudart.Error(forwardOp(opAddNode13, p(out), uint64(g), p(deps), p(edges), n, p(params)))
}

// GraphAddNode12 is CUDA 12's cudaGraphAddNode over the connection.
func GraphAddNode12(out unsafe.Pointer, g uintptr, deps unsafe.Pointer, n uint64, params unsafe.Pointer) cudart.Error {
	if k, h, u := genericKind(params); k || h {
		return rt(node(h, out, g, 0, 0, deps, n, u, kernelSizeRT, true))
	}
	return cudart.Error(forwardOp(opAddNode12, p(out), uint64(g), p(deps), n, p(params)))
}

// GraphNodeSetParams is cudaGraphNodeSetParams over the connection.
func GraphNodeSetParams(h uintptr, params unsafe.Pointer) cudart.Error {
	if k, host, u := genericKind(params); (k || host) && h != 0 {
		return rt(node(host, nil, 0, 0, h, nil, 0, u, kernelSizeRT, true))
	}
	return cudart.Error(forwardOp(opSetNodeRT, uint64(h), p(params)))
}

// GraphExecNodeSetParams is cudaGraphExecNodeSetParams over the connection.
func GraphExecNodeSetParams(x, h uintptr, params unsafe.Pointer) cudart.Error {
	if k, host, u := genericKind(params); (k || host) && x != 0 && h != 0 {
		return rt(node(host, nil, 0, x, h, nil, 0, u, kernelSizeRT, true))
	}
	return cudart.Error(forwardOp(opExecSetNodeRT, uint64(x), uint64(h), p(params)))
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
