package cudart

import (
	"unsafe"

	"vgpu/shim"
)

// cudaGraphDebugDotPrint writes a DOT description of a graph to a file the program names.
// It is answered in the program's own process only: under remote the client asks the server
// for the graph's nodes, types and edges (GraphQuery) and writes the file itself, so a server
// never opens a path a client chose.

// GraphQuery reads a graph through the runtime's own calls: here, or over a connection.
type GraphQuery struct {
	GetNodes func(graph uintptr, nodes, count unsafe.Pointer) Error
	NodeType func(node uintptr, typ unsafe.Pointer) Error
	GetEdges func(graph uintptr, from, to, edgeData, count unsafe.Pointer) Error
}

var localQuery = GraphQuery{GetNodes: GraphGetNodes, NodeType: GraphNodeGetType, GetEdges: GraphGetEdges}

// DotPrint is cudaGraphDebugDotPrint over q. Flags choose verbosity in CUDA; every level
// gets the same description here (nodes by type, edges), which all levels contain.
func DotPrint(q GraphQuery, h uintptr, path unsafe.Pointer, flags uint32) Error {
	if path == nil {
		return ErrorInvalidValue
	}
	var n uint64
	if e := q.GetNodes(h, nil, unsafe.Pointer(&n)); e != Success {
		return e
	}
	nodes := make([]uintptr, n+1)
	if e := q.GetNodes(h, unsafe.Pointer(&nodes[0]), unsafe.Pointer(&n)); e != Success {
		return e
	}
	nodes = nodes[:n]
	var ne uint64
	if e := q.GetEdges(h, nil, nil, nil, unsafe.Pointer(&ne)); e != Success {
		return e
	}
	from, to, data := make([]uintptr, ne+1), make([]uintptr, ne+1), make([]uint64, ne+1)
	if e := q.GetEdges(h, unsafe.Pointer(&from[0]), unsafe.Pointer(&to[0]), unsafe.Pointer(&data[0]), unsafe.Pointer(&ne)); e != Success {
		return e
	}
	types := make([]int32, len(nodes))
	for i, nd := range nodes {
		if e := q.NodeType(nd, unsafe.Pointer(&types[i])); e != Success {
			return e
		}
	}
	name := cString(path)
	if name == "" {
		return ErrorInvalidValue
	}
	if err := shim.WriteGraphDot(name, nodes, types, from[:ne], to[:ne]); err != nil {
		return ErrorInvalidValue // CUDA: cudaErrorOperatingSystem would need a file it could open
	}
	return Success
}

func cString(p unsafe.Pointer) string {
	var n int
	for *(*byte)(unsafe.Add(p, n)) != 0 {
		n++
		if n > 4096 {
			return ""
		}
	}
	return string(unsafe.Slice((*byte)(p), n))
}

// GraphDebugDotPrint is cudaGraphDebugDotPrint in the program's own process.
func GraphDebugDotPrint(h uintptr, path unsafe.Pointer, flags uint32) Error {
	return DotPrint(localQuery, h, path, flags)
}
