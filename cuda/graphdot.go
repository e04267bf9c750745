package cuda

import (
	"unsafe"

	"vgpu/shim"
)

// cuGraphDebugDotPrint writes a DOT description of a graph (shim.WriteGraphDot) to a file the
// program names. It is answered in the program's own process: under remote the client reads
// the graph through forwarded queries and writes the file itself, so a server never opens a
// path a client chose.

// DotQuery reads a graph through the driver's own calls: here, or over a connection.
type DotQuery struct {
	GetNodes func(graph uintptr, nodes, count unsafe.Pointer) Result
	NodeType func(node uintptr, typ unsafe.Pointer) Result
	GetEdges func(graph uintptr, from, to, count unsafe.Pointer) Result
}

var localDot = DotQuery{GetNodes: GraphGetNodes, NodeType: GraphNodeGetType, GetEdges: GraphGetEdges}

// DotPrint is cuGraphDebugDotPrint over q. Every verbosity flag gets the same description
// (nodes by type, edges), which all of CUDA's levels contain.
func DotPrint(q DotQuery, h uintptr, path unsafe.Pointer, flags uint32) Result {
	if path == nil {
		return ErrorInvalidValue
	}
	name, ok := shim.GoString(path, 4096)
	if !ok || name == "" {
		return ErrorInvalidValue
	}
	var n uint64
	if r := q.GetNodes(h, nil, unsafe.Pointer(&n)); r != Success {
		return r
	}
	nodes := make([]uintptr, n+1)
	if r := q.GetNodes(h, unsafe.Pointer(&nodes[0]), unsafe.Pointer(&n)); r != Success {
		return r
	}
	nodes = nodes[:n]
	var ne uint64
	if r := q.GetEdges(h, nil, nil, unsafe.Pointer(&ne)); r != Success {
		return r
	}
	from, to := make([]uintptr, ne+1), make([]uintptr, ne+1)
	if r := q.GetEdges(h, unsafe.Pointer(&from[0]), unsafe.Pointer(&to[0]), unsafe.Pointer(&ne)); r != Success {
		return r
	}
	types := make([]int32, len(nodes))
	for i, nd := range nodes {
		if r := q.NodeType(nd, unsafe.Pointer(&types[i])); r != Success {
			return r
		}
	}
	if err := shim.WriteGraphDot(name, nodes, types, from[:ne], to[:ne]); err != nil {
		return ErrorInvalidValue // CUDA_ERROR_OPERATING_SYSTEM would need a file it could open
	}
	return Success
}

// GraphDebugDotPrintCU is cuGraphDebugDotPrint in the program's own process.
func GraphDebugDotPrintCU(h uintptr, path unsafe.Pointer, flags uint32) Result {
	return DotPrint(localDot, h, path, flags)
}
