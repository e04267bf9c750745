package cuda

import (
	"unsafe"

	"vgpu/shim"
)

// Graphs through the driver API: the runtime's model (shim/graph.go, shim/graphbuild.go),
// with CUgraph, CUgraphExec and CUgraphNode handles and CUresult codes.

func graph(h uintptr) (*shim.Graph, Result) {
	if _, r := ready(); r != Success {
		return nil, r
	}
	g, ok := shim.Lookup[*shim.Graph](shim.KindGraph, h)
	if !ok {
		return nil, ErrorInvalidValue
	}
	return g, Success
}

func graphExec(h uintptr) (*shim.GraphExec, Result) {
	if _, r := ready(); r != Success {
		return nil, r
	}
	x, ok := shim.Lookup[*shim.GraphExec](shim.KindGraphExec, h)
	if !ok {
		return nil, ErrorInvalidValue
	}
	return x, Success
}

func graphNode(h uintptr) (*shim.GraphNode, Result) {
	if _, r := ready(); r != Success {
		return nil, r
	}
	n, ok := shim.Lookup[*shim.GraphNode](shim.KindGraphNode, h)
	if !ok {
		return nil, ErrorInvalidValue
	}
	return n, Success
}

// GraphCreate is cuGraphCreate (flags must be 0).
func GraphCreate(out unsafe.Pointer, flags uint32) Result {
	if _, r := ctxDevice(); r != Success {
		return r
	}
	if out == nil || flags != 0 {
		return ErrorInvalidValue
	}
	g := shim.NewGraph()
	g.Handle = shim.NewHandle(shim.KindGraph, g)
	shim.PutPtr(out, g.Handle)
	return Success
}

// GraphInstantiateWithFlags is cuGraphInstantiateWithFlags.
func GraphInstantiateWithFlags(out unsafe.Pointer, h uintptr, flags uint64) Result {
	g, r := graph(h)
	if r != Success {
		return r
	}
	if out == nil || flags&^0xf != 0 {
		return ErrorInvalidValue
	}
	x := shim.Instantiate(g)
	x.Flags = flags
	shim.PutPtr(out, x.Handle)
	return Success
}

// GraphInstantiate is cuGraphInstantiate_v2 (and its first form): no node fails to
// instantiate in the model, so the error node is NULL and the log empty.
func GraphInstantiate(out unsafe.Pointer, h uintptr, errNode unsafe.Pointer, log unsafe.Pointer, logSize uint64) Result {
	r := GraphInstantiateWithFlags(out, h, 0)
	if r == Success {
		shim.PutPtr(errNode, 0)
		if log != nil && logSize > 0 {
			*(*byte)(log) = 0
		}
	}
	return r
}

// GraphLaunch is cuGraphLaunch.
func GraphLaunch(exec, h uintptr) Result {
	x, r := graphExec(exec)
	if r != Success {
		return r
	}
	s, r := stream(h)
	if r != Success {
		return r
	}
	return From(x.Launch(s))
}

// GraphUpload is cuGraphUpload: launches need no upload in the model; the handles are checked.
func GraphUpload(exec, h uintptr) Result {
	if _, r := graphExec(exec); r != Success {
		return r
	}
	_, r := stream(h)
	return r
}

// GraphExecDestroy is cuGraphExecDestroy.
func GraphExecDestroy(exec uintptr) Result {
	x, r := graphExec(exec)
	if r != Success {
		return r
	}
	x.Close()
	shim.Release(shim.KindGraphExec, exec)
	return Success
}

// GraphDestroy is cuGraphDestroy.
func GraphDestroy(h uintptr) Result {
	g, r := graph(h)
	if r != Success {
		return r
	}
	g.ReleaseNodes()
	shim.Release(shim.KindGraph, h)
	return Success
}

// GraphExecUpdate is cuGraphExecUpdate_v2: fails with the reason (in the result info's
// first word) when the topology changed, which callers answer by re-instantiating.
func GraphExecUpdate(exec, h uintptr, info unsafe.Pointer) Result {
	x, r := graphExec(exec)
	if r != Success {
		return r
	}
	g, r := graph(h)
	if r != Success {
		return r
	}
	ok, why := x.Update(g)
	if info != nil {
		b := shim.View(info, 24)
		clear(b)
		shim.Le.PutUint32(b, uint32(why))
	}
	if !ok {
		return ErrorGraphExecUpdate
	}
	return Success
}

// GraphGetNodes is cuGraphGetNodes: with nodes NULL it reports the count; else it fills up
// to *count entries (NULL past the graph's nodes) and reports how many it wrote.
func GraphGetNodes(h uintptr, nodes, count unsafe.Pointer) Result {
	g, r := graph(h)
	if r != Success {
		return r
	}
	if count == nil {
		return ErrorInvalidValue
	}
	all := g.GraphNodes()
	n := uint64(len(all))
	if nodes != nil {
		want := *(*uint64)(count)
		if want > 1<<20 {
			return ErrorInvalidValue
		}
		for i := uint64(0); i < want; i++ {
			var v uintptr
			if i < n {
				v = all[i].Handle
			}
			*(*uintptr)(unsafe.Add(nodes, 8*i)) = v
		}
		n = min(want, n)
	}
	shim.PutU64(count, n)
	return Success
}

// depsAt reads numDeps node handles of graph g.
func depsAt(g *shim.Graph, deps unsafe.Pointer, numDeps uint64) ([]*shim.GraphNode, Result) {
	ds, st := g.NodesAt(deps, numDeps)
	return ds, From(st)
}

// AddGraphNode adds a node of type typ running ops to graph h after numDeps dependencies:
// the common part of adding a node, for the runtime's node kinds whose parameters are its
// own (cudart/graphbuild.go).
func AddGraphNode(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, numDeps uint64, typ int32, ops []shim.Node, params []byte) Result {
	return addNode(out, h, deps, numDeps, typ, ops, params)
}

func addNode(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, numDeps uint64, typ int32, ops []shim.Node, params []byte) Result {
	g, r := graph(h)
	if r != Success {
		return r
	}
	if out == nil {
		return ErrorInvalidValue
	}
	ds, r := depsAt(g, deps, numDeps)
	if r != Success {
		return r
	}
	n, st := g.AddNode(typ, ops, ds, params)
	if st != shim.OK {
		return From(st)
	}
	shim.PutPtr(out, n.Handle)
	return Success
}

// GraphAddEmptyNode is cuGraphAddEmptyNode: a node that only joins dependencies.
func GraphAddEmptyNode(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, numDeps uint64) Result {
	return addNode(out, h, deps, numDeps, shim.GraphNodeEmpty, nil, nil)
}

// GraphAddMemsetNode is cuGraphAddMemsetNode: a CUDA_MEMSET_NODE_PARAMS fill in context ctx.
func GraphAddMemsetNode(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, numDeps uint64, params unsafe.Pointer, ctx uintptr) Result {
	if _, r := graph(h); r != Success {
		return r
	}
	c, r := context(ctx)
	if r != Success {
		return r
	}
	if params == nil {
		return ErrorInvalidValue
	}
	ops, st := shim.MemsetNodeOps(c.Dev, shim.View(params, 40))
	if st != shim.OK {
		return From(st)
	}
	return addNode(out, h, deps, numDeps, shim.GraphNodeMemset, ops, append([]byte(nil), shim.View(params, 40)...))
}

// GraphAddDependencies is cuGraphAddDependencies (CUDA 12's form, without edge data).
func GraphAddDependencies(h uintptr, from, to unsafe.Pointer, num uint64) Result {
	return GraphAddDependencies2(h, from, to, nil, num)
}

// GraphAddDependencies2 is cuGraphAddDependencies_v2: edge data, where given, must be the
// default edge, the only kind the model's graphs hold.
func GraphAddDependencies2(h uintptr, from, to, edgeData unsafe.Pointer, num uint64) Result {
	g, r := graph(h)
	if r != Success {
		return r
	}
	if num == 0 {
		return Success
	}
	if num > 1<<20 {
		return ErrorInvalidValue
	}
	if edgeData != nil {
		for _, c := range shim.View(edgeData, int(8*num)) {
			if c != 0 {
				return ErrorInvalidValue
			}
		}
	}
	fs, r := depsAt(g, from, num)
	if r != Success {
		return r
	}
	ts, r := depsAt(g, to, num)
	if r != Success {
		return r
	}
	for i := range fs {
		if st := g.AddDependency(fs[i], ts[i]); st != shim.OK {
			return From(st)
		}
	}
	return Success
}

// GraphClone is cuGraphClone.
func GraphClone(out unsafe.Pointer, h uintptr) Result {
	g, r := graph(h)
	if r != Success {
		return r
	}
	if out == nil {
		return ErrorInvalidValue
	}
	shim.PutPtr(out, g.Clone().Handle)
	return Success
}

// GraphNodeGetType is cuGraphNodeGetType (CUgraphNodeType shares the runtime's values).
func GraphNodeGetType(h uintptr, out unsafe.Pointer) Result {
	n, r := graphNode(h)
	if r != Success {
		return r
	}
	if !shim.PutI32(out, n.Type) {
		return ErrorInvalidValue
	}
	return Success
}

// GraphDestroyNode is cuGraphDestroyNode.
func GraphDestroyNode(h uintptr) Result {
	n, r := graphNode(h)
	if r != Success {
		return r
	}
	n.Remove()
	return Success
}
