package cudart

import (
	"sync"
	"unsafe"

	"vgpu/shim"
)

// More of graphs built by hand: root nodes, removing edges, nodes disabled in an executable
// graph, a child node's graph, changing an event node's event, finding a node in a clone.

// GraphGetRootNodes is cudaGraphGetRootNodes: the nodes that depend on none.
func GraphGetRootNodes(h uintptr, nodes, num unsafe.Pointer) Error {
	g, e := graph(h)
	if e != Success {
		return e
	}
	return putNodes(g.Roots(), nodes, nil, num)
}

// GraphRemoveDependencies is cudaGraphRemoveDependencies (CUDA 13; _v2 in 12): every edge
// named must exist (with the default edge data), and none is removed unless all do.
func GraphRemoveDependencies(h uintptr, from, to, edgeData unsafe.Pointer, num uint64) Error {
	g, e := graph(h)
	if e != Success {
		return e
	}
	if num == 0 {
		return Success
	}
	if edgeData != nil && !edgeDataZero(edgeData, num) {
		return ErrorInvalidValue
	}
	fs, e := depsAt(g, from, num)
	if e != Success {
		return e
	}
	ts, e := depsAt(g, to, num)
	if e != Success {
		return e
	}
	for i := range fs {
		if !g.HasDependency(fs[i], ts[i]) {
			return ErrorInvalidValue
		}
		for j := 0; j < i; j++ {
			if fs[j] == fs[i] && ts[j] == ts[i] {
				return ErrorInvalidValue // the same edge twice: the second is not there
			}
		}
	}
	for i := range fs {
		g.RemoveDependency(fs[i], ts[i])
	}
	return Success
}

// GraphRemoveDependencies12 is CUDA 12's form, without edge data.
func GraphRemoveDependencies12(h uintptr, from, to unsafe.Pointer, num uint64) Error {
	return GraphRemoveDependencies(h, from, to, nil, num)
}

// execNode resolves an executable graph and one node of the graph it was made from.
func execNode(exec, node uintptr) (*shim.GraphExec, *shim.GraphNode, Error) {
	x, e := graphExec(exec)
	if e != Success {
		return nil, nil, e
	}
	n, e := graphNode(node)
	if e != Success {
		return nil, nil, e
	}
	return x, n, Success
}

// GraphNodeGetEnabled is cudaGraphNodeGetEnabled.
func GraphNodeGetEnabled(exec, node uintptr, out unsafe.Pointer) Error {
	x, n, e := execNode(exec, node)
	if e != Success {
		return e
	}
	if out == nil {
		return ErrorInvalidValue
	}
	on, ok := x.NodeEnabled(n)
	if !ok {
		return ErrorInvalidValue
	}
	v := uint32(0)
	if on {
		v = 1
	}
	*(*uint32)(out) = v
	return Success
}

// GraphNodeSetEnabled is cudaGraphNodeSetEnabled: kernel, memcpy and memset nodes may be
// disabled; a disabled node does nothing when the graph runs, and its dependents still wait
// for its dependencies.
func GraphNodeSetEnabled(exec, node uintptr, on uint32) Error {
	x, n, e := execNode(exec, node)
	if e != Success {
		return e
	}
	switch n.Type {
	case shim.GraphNodeKernel, shim.GraphNodeMemcpy, shim.GraphNodeMemset:
	default:
		return ErrorInvalidValue
	}
	return From(x.SetNodeEnabled(n, on != 0))
}

// GraphChildGraphNodeGetGraph is cudaGraphChildGraphNodeGetGraph.
func GraphChildGraphNodeGetGraph(node uintptr, out unsafe.Pointer) Error {
	n, _, e := nodeOf(node, shim.GraphNodeGraph)
	if e != Success {
		return e
	}
	if out == nil {
		return ErrorInvalidValue
	}
	g := shim.ChildGraphOf(n) // the driver's form answers the same graph
	shim.PutPtr(out, g.Handle)
	return Success
}

// eventOps is what an event node of type typ runs for event ev.
func eventOps(ev uintptr, typ int32) ([]shim.Node, []byte, Error) {
	e, err := event(ev)
	if err != Success {
		return nil, nil, ErrorInvalidValue
	}
	op := shim.Node{Kind: shim.NodeEventWait}
	if typ == shim.GraphNodeEventRecord {
		op = shim.Node{Kind: shim.NodeEventRecord, Run: e.MarkRecorded}
	}
	return []shim.Node{op}, shim.Le.AppendUint64(nil, uint64(ev)), Success
}

func setNodeEvent(node, ev uintptr, typ int32) Error {
	n, _, e := nodeOf(node, typ)
	if e != Success {
		return e
	}
	ops, params, e := eventOps(ev, typ)
	if e != Success {
		return e
	}
	n.SetOps(ops, params)
	return Success
}

// GraphEventRecordNodeSetEvent is cudaGraphEventRecordNodeSetEvent.
func GraphEventRecordNodeSetEvent(node, ev uintptr) Error {
	return setNodeEvent(node, ev, shim.GraphNodeEventRecord)
}

// GraphEventWaitNodeSetEvent is cudaGraphEventWaitNodeSetEvent.
func GraphEventWaitNodeSetEvent(node, ev uintptr) Error {
	return setNodeEvent(node, ev, shim.GraphNodeWaitEvent)
}

func execSetNodeEvent(exec, node, ev uintptr, typ int32) Error {
	x, e := graphExec(exec)
	if e != Success {
		return e
	}
	n, _, e := nodeOf(node, typ)
	if e != Success {
		return e
	}
	ops, _, e := eventOps(ev, typ)
	if e != Success {
		return e
	}
	return From(x.SetNodeOps(n, ops))
}

// GraphExecEventRecordNodeSetEvent is cudaGraphExecEventRecordNodeSetEvent: the executable
// graph only; the node in its graph keeps its event.
func GraphExecEventRecordNodeSetEvent(exec, node, ev uintptr) Error {
	return execSetNodeEvent(exec, node, ev, shim.GraphNodeEventRecord)
}

// GraphExecEventWaitNodeSetEvent is cudaGraphExecEventWaitNodeSetEvent.
func GraphExecEventWaitNodeSetEvent(exec, node, ev uintptr) Error {
	return execSetNodeEvent(exec, node, ev, shim.GraphNodeWaitEvent)
}

// GraphExecChildGraphNodeSetParams is cudaGraphExecChildGraphNodeSetParams: the child node
// of the executable graph takes child's work, which must have the same shape.
func GraphExecChildGraphNodeSetParams(exec, node, child uintptr) Error {
	x, e := graphExec(exec)
	if e != Success {
		return e
	}
	n, _, e := nodeOf(node, shim.GraphNodeGraph)
	if e != Success {
		return e
	}
	c, e := graph(child)
	if e != Success {
		return e
	}
	return From(x.SetNodeOps(n, c.Snapshot()))
}

// Clones and which of their nodes each original node became (cudaGraphNodeFindInClone).
var (
	cloneMu  sync.Mutex
	cloneMap = map[*shim.Graph]map[*shim.GraphNode]*shim.GraphNode{}
)

// noteClone records c as a clone of g, node for node.
func noteClone(g, c *shim.Graph) {
	on, cn := g.GraphNodes(), c.GraphNodes()
	if len(on) != len(cn) {
		return
	}
	m := make(map[*shim.GraphNode]*shim.GraphNode, len(on))
	for i := range on {
		m[on[i]] = cn[i]
	}
	cloneMu.Lock()
	cloneMap[c] = m
	cloneMu.Unlock()
}

// GraphNodeFindInClone is cudaGraphNodeFindInClone: the node of clonedGraph that
// originalNode became; an invalid value when clonedGraph is not a clone of its graph.
func GraphNodeFindInClone(out unsafe.Pointer, node, cloned uintptr) Error {
	n, e := graphNode(node)
	if e != Success {
		return e
	}
	c, e := graph(cloned)
	if e != Success {
		return e
	}
	if out == nil {
		return ErrorInvalidValue
	}
	cloneMu.Lock()
	m := cloneMap[c][n]
	cloneMu.Unlock()
	if m == nil || m.Graph != c {
		return ErrorInvalidValue
	}
	if _, e := graphNode(m.Handle); e != Success {
		return ErrorInvalidValue // destroyed in the clone since
	}
	shim.PutPtr(out, m.Handle)
	return Success
}

// GraphInstantiateWithParamsPtsz is cudaGraphInstantiateWithParams_ptsz: an upload to
// stream 0 goes to the per-thread default stream.
func GraphInstantiateWithParamsPtsz(out unsafe.Pointer, h uintptr, params unsafe.Pointer) Error {
	if params == nil {
		return ErrorInvalidValue
	}
	var p [32]byte
	copy(p[:], shim.View(params, 32))
	shim.Le.PutUint64(p[8:], uint64(ptsz(uintptr(shim.Le.Uint64(p[8:])))))
	e := GraphInstantiateWithParams(out, h, unsafe.Pointer(&p[0]))
	copy(shim.View(params, 32)[16:], p[16:])
	return e
}
