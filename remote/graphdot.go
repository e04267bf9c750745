package remote

import (
	"unsafe"

	"vgpu/cuda"
	"vgpu/cudart"
	"vgpu/shim/api"
	"vgpu/wire"
)

// GraphDebugDotPrint is cudaGraphDebugDotPrint for a remote client: the graph is the
// server's, the file the client's. The client reads the graph through the forwarded queries
// and writes the file itself; the server is never asked to open a path.
func GraphDebugDotPrint(h uintptr, path unsafe.Pointer, flags uint32) cudart.Error {
	return cudart.DotPrint(remoteQuery, h, path, flags)
}

var remoteQuery = cudart.GraphQuery{
	GetNodes: func(g uintptr, nodes, count unsafe.Pointer) cudart.Error {
		return fwd("cudaGraphGetNodes", uint64(g), uint64(uintptr(nodes)), uint64(uintptr(count)))
	},
	NodeType: func(n uintptr, typ unsafe.Pointer) cudart.Error {
		return fwd("cudaGraphNodeGetType", uint64(n), uint64(uintptr(typ)))
	},
	GetEdges: func(g uintptr, from, to, data, count unsafe.Pointer) cudart.Error {
		// CUDA 13's form (edge data): the server answers it for clients of either major.
		return fwd("cudaGraphGetEdges@13", uint64(g), uint64(uintptr(from)), uint64(uintptr(to)), uint64(uintptr(data)), uint64(uintptr(count)))
	},
}

// fwd forwards the row named name (NAME@MAJOR picks a version node) with argument words.
func fwd(name string, args ...uint64) cudart.Error {
	node := ""
	for i := range name {
		if name[i] == '@' {
			name, node = name[:i], "libcudart.so."+name[i+1:]
			break
		}
	}
	for i := range api.Functions {
		f := &api.Functions[i]
		if f.Name != name || (node != "" && (len(f.Nodes) != 1 || f.Nodes[0] != node)) {
			continue
		}
		vals := make([]wire.Value, len(args))
		for j, a := range args {
			vals[j].U = a
		}
		return cudart.Error(Forward(i, vals))
	}
	return cudart.ErrorNotSupported
}

// GraphDebugDotPrintCU is cuGraphDebugDotPrint for a remote client, as above.
func GraphDebugDotPrintCU(h uintptr, path unsafe.Pointer, flags uint32) int32 {
	return int32(cuda.DotPrint(remoteDotCU, h, path, flags))
}

var remoteDotCU = cuda.DotQuery{
	GetNodes: func(g uintptr, nodes, count unsafe.Pointer) cuda.Result {
		return cuda.Result(fwd("cuGraphGetNodes", uint64(g), uint64(uintptr(nodes)), uint64(uintptr(count))))
	},
	NodeType: func(n uintptr, typ unsafe.Pointer) cuda.Result {
		return cuda.Result(fwd("cuGraphNodeGetType", uint64(n), uint64(uintptr(typ))))
	},
	GetEdges: func(g uintptr, from, to, count unsafe.Pointer) cuda.Result {
		return cuda.Result(fwd("cuGraphGetEdges", uint64(g), uint64(uintptr(from)), uint64(uintptr(to)), uint64(uintptr(count))))
	},
}
