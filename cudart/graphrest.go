package cudart

import (
	"unsafe"

	"vgpu/cuda"
)

// More of graphs built by hand: root nodes, removing edges, nodes disabled in an executable
// graph, a child node's graph, changing an event node's event, finding a node in a clone.

// GraphGetRootNodes is cudaGraphGetRootNodes: the nodes that depend on none.
func GraphGetRootNodes(h uintptr, nodes, num unsafe.Pointer) Error {
	return afterInit(func() cuda.Result { return cuda.GraphGetRootNodes(h, nodes, num) })
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

// GraphNodeGetEnabled is cudaGraphNodeGetEnabled.
func GraphNodeGetEnabled(exec, node uintptr, out unsafe.Pointer) Error {
	return afterInit(func() cuda.Result { return cuda.GraphNodeGetEnabled(exec, node, out) })
}

// GraphNodeSetEnabled is cudaGraphNodeSetEnabled: kernel, memcpy and memset nodes may be
// disabled; a disabled node does nothing when the graph runs, and its dependents still wait
// for its dependencies.
func GraphNodeSetEnabled(exec, node uintptr, on uint32) Error {
	return afterInit(func() cuda.Result { return cuda.GraphNodeSetEnabled(exec, node, on) })
}

// GraphChildGraphNodeGetGraph is cudaGraphChildGraphNodeGetGraph.
func GraphChildGraphNodeGetGraph(node uintptr, out unsafe.Pointer) Error {
	return onDriver(func() cuda.Result { return cuda.GraphChildGraphNodeGetGraph(node, out) })
}

// GraphEventRecordNodeSetEvent is cudaGraphEventRecordNodeSetEvent.
func GraphEventRecordNodeSetEvent(node, ev uintptr) Error {
	return onDriver(func() cuda.Result { return cuda.GraphEventRecordNodeSetEvent(node, ev) })
}

// GraphEventWaitNodeSetEvent is cudaGraphEventWaitNodeSetEvent.
func GraphEventWaitNodeSetEvent(node, ev uintptr) Error {
	return onDriver(func() cuda.Result { return cuda.GraphEventWaitNodeSetEvent(node, ev) })
}

// GraphExecEventRecordNodeSetEvent is cudaGraphExecEventRecordNodeSetEvent: the executable
// graph only; the node in its graph keeps its event.
func GraphExecEventRecordNodeSetEvent(exec, node, ev uintptr) Error {
	return onDriver(func() cuda.Result { return cuda.GraphExecEventRecordNodeSetEvent(exec, node, ev) })
}

// GraphExecEventWaitNodeSetEvent is cudaGraphExecEventWaitNodeSetEvent.
func GraphExecEventWaitNodeSetEvent(exec, node, ev uintptr) Error {
	return onDriver(func() cuda.Result { return cuda.GraphExecEventWaitNodeSetEvent(exec, node, ev) })
}

// GraphExecChildGraphNodeSetParams is cudaGraphExecChildGraphNodeSetParams: the child node
// of the executable graph takes child's work, which must have the same shape.
func GraphExecChildGraphNodeSetParams(exec, node, child uintptr) Error {
	return onDriver(func() cuda.Result { return cuda.GraphExecChildGraphNodeSetParams(exec, node, child) })
}

// GraphNodeFindInClone is cudaGraphNodeFindInClone: the node of clonedGraph that
// originalNode became; an invalid value when clonedGraph is not a clone of its graph.
func GraphNodeFindInClone(out unsafe.Pointer, node, cloned uintptr) Error {
	return afterInit(func() cuda.Result { return cuda.GraphNodeFindInClone(out, node, cloned) })
}

// GraphInstantiateWithParamsPtsz is cudaGraphInstantiateWithParams_ptsz: an upload to
// stream 0 goes to the per-thread default stream.
func GraphInstantiateWithParamsPtsz(out unsafe.Pointer, h uintptr, params unsafe.Pointer) Error {
	return onDriver(func() cuda.Result { return cuda.GraphInstantiateWithParamsPtsz(out, h, params) })
}
