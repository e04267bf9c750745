package cudart

import (
	"unsafe"

	"vgpu/cuda"
	"vgpu/shim"
)

// Graphs built by hand: nodes added with their dependencies, edges, node types, kernel node
// parameters, clones. The model is shim/graphbuild.go; each node's operations are checked
// and laid out as the same call on a capturing stream would be.

func graphNode(h uintptr) (*shim.GraphNode, Error) {
	if _, e := begin(); e != Success {
		return nil, e
	}
	n, ok := shim.Lookup[*shim.GraphNode](shim.KindGraphNode, h)
	if !ok {
		return nil, ErrorInvalidValue
	}
	return n, Success
}

// depsAt reads numDeps node handles of graph g.
func depsAt(g *shim.Graph, deps unsafe.Pointer, numDeps uint64) ([]*shim.GraphNode, Error) {
	ds, st := g.NodesAt(deps, numDeps)
	return ds, From(st)
}

// addNode is the common part of cudaGraphAdd*Node, the driver's (each caller has begun).
func addNode(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, numDeps uint64, typ int32, ops []shim.Node, params []byte) Error {
	return fromDriver(cuda.AddGraphNode(out, h, deps, numDeps, typ, ops, params))
}

// GraphAddEmptyNode is cudaGraphAddEmptyNode: a node that only joins dependencies.
func GraphAddEmptyNode(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, numDeps uint64) Error {
	return afterInit(func() cuda.Result { return cuda.GraphAddEmptyNode(out, h, deps, numDeps) })
}

// GraphAddMemcpyNode1D is cudaGraphAddMemcpyNode1D. Served to a remote client, only device
// to device copies: the client's host memory is not the server's to read or write at
// each launch, so other directions answer cudaErrorNotSupported there.
func GraphAddMemcpyNode1D(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, numDeps uint64, dst, src uintptr, count uint64, kind int32) Error {
	g, e := graph(h)
	if e != Success {
		return e
	}
	d, e := currentDevice()
	if e != Success {
		return e
	}
	if out == nil {
		return ErrorInvalidValue
	}
	ops, e := memcpyOps(d, dst, src, count, kind)
	if e != Success {
		return e
	}
	return addNode(out, g.Handle, deps, numDeps, shim.GraphNodeMemcpy, ops, nil)
}

func memcpyOps(d *shim.Device, dst, src uintptr, count uint64, kind int32) ([]shim.Node, Error) {
	if shim.CallerOwner() != 0 && count > 0 && (!shim.IsDevice(dst) || !shim.IsDevice(src)) {
		return nil, ErrorNotSupported
	}
	ops, st := shim.Record(d, func(s *shim.Stream) shim.Status { return shim.Memcpy(s, dst, src, count, kind) })
	return ops, From(st)
}

// GraphAddMemsetNode is cudaGraphAddMemsetNode: a 1, 2 or 4 byte value over width elements
// of height rows pitch bytes apart (cudaMemsetParams: the driver's layout), on the current
// device.
func GraphAddMemsetNode(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, numDeps uint64, params unsafe.Pointer) Error {
	return onDriver(func() cuda.Result { return cuda.GraphAddMemsetNode(out, h, deps, numDeps, params, currentCtx()) })
}

// kernelOps reads a cudaKernelNodeParams: func (0), gridDim (8), blockDim (20),
// sharedMemBytes (32), kernelParams (40), extra (48); the launch is checked as
// cudaLaunchKernel checks it. The sim keeps the program's argument array by reference, as
// its launches do (they run no device code).
func kernelOps(d *shim.Device, p unsafe.Pointer) ([]shim.Node, []byte, Error) {
	if p == nil {
		return nil, nil, ErrorInvalidValue
	}
	b := append([]byte(nil), shim.View(p, 56)...)
	k, e := kernelAt(uintptr(shim.Le.Uint64(b)))
	if e != Success {
		return nil, nil, e
	}
	dim := func(off int) shim.Dim3 {
		return shim.Dim3{X: shim.Le.Uint32(b[off:]), Y: shim.Le.Uint32(b[off+4:]), Z: shim.Le.Uint32(b[off+8:])}
	}
	lc := shim.LaunchConfig{Grid: dim(8), Block: dim(20), Shared: uint64(shim.Le.Uint32(b[32:]))}
	if st := shim.CheckLaunch(d, k, lc); st != shim.OK {
		return nil, nil, From(st)
	}
	args, extra := uintptr(shim.Le.Uint64(b[40:])), shim.Le.Uint64(b[48:])
	if extra != 0 {
		return nil, nil, ErrorInvalidValue // kernelParams only: the packed form is the driver API's
	}
	return []shim.Node{{Kind: shim.NodeKernel, Kernel: k, Launch: lc, Args: args}}, b, Success
}

// GraphAddKernelNode is cudaGraphAddKernelNode.
func GraphAddKernelNode(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, numDeps uint64, params unsafe.Pointer) Error {
	if _, e := graph(h); e != Success {
		return e
	}
	d, e := currentDevice()
	if e != Success {
		return e
	}
	ops, b, e := kernelOps(d, params)
	if e != Success {
		return e
	}
	return addNode(out, h, deps, numDeps, shim.GraphNodeKernel, ops, b)
}

// GraphKernelNodeGetParams is cudaGraphKernelNodeGetParams: what the node was given.
func GraphKernelNodeGetParams(h uintptr, params unsafe.Pointer) Error {
	n, e := graphNode(h)
	if e != Success {
		return e
	}
	if params == nil || n.Type != shim.GraphNodeKernel {
		return ErrorInvalidValue
	}
	copy(shim.View(params, 56), n.Params)
	return Success
}

// GraphKernelNodeSetParams is cudaGraphKernelNodeSetParams: the graph's node changes;
// graphs already instantiated from it keep theirs.
func GraphKernelNodeSetParams(h uintptr, params unsafe.Pointer) Error {
	n, e := graphNode(h)
	if e != Success {
		return e
	}
	d, e := currentDevice()
	if e != Success {
		return e
	}
	if n.Type != shim.GraphNodeKernel {
		return ErrorInvalidValue
	}
	ops, b, e := kernelOps(d, params)
	if e != Success {
		return e
	}
	n.SetOps(ops, b)
	return Success
}

// GraphExecKernelNodeSetParams is cudaGraphExecKernelNodeSetParams: the executable graph's
// copy of the node changes, the graph's does not. The function must stay the same.
func GraphExecKernelNodeSetParams(exec, h uintptr, params unsafe.Pointer) Error {
	x, e := graphExec(exec)
	if e != Success {
		return e
	}
	n, e := graphNode(h)
	if e != Success {
		return e
	}
	d, e := currentDevice()
	if e != Success {
		return e
	}
	if n.Type != shim.GraphNodeKernel {
		return ErrorInvalidValue
	}
	ops, _, e := kernelOps(d, params)
	if e != Success {
		return e
	}
	return From(x.SetNodeOps(n, ops))
}

// GraphNodeGetType is cudaGraphNodeGetType.
func GraphNodeGetType(h uintptr, out unsafe.Pointer) Error {
	return afterInit(func() cuda.Result { return cuda.GraphNodeGetType(h, out) })
}

// edgeDataZero reports whether numDeps cudaGraphEdgeData (8 bytes each) at p are all the
// default edge (port 0 to port 0, full dependency), the only kind the sim's graphs model.
func edgeDataZero(p unsafe.Pointer, n uint64) bool {
	if p == nil {
		return true
	}
	for _, c := range shim.View(p, int(8*n)) {
		if c != 0 {
			return false
		}
	}
	return true
}

// GraphAddDependencies is cudaGraphAddDependencies (CUDA 13; _v2 in 12): from[i] -> to[i].
// Edge data other than the default is an invalid value here.
func GraphAddDependencies(h uintptr, from, to, edgeData unsafe.Pointer, num uint64) Error {
	return afterInit(func() cuda.Result { return cuda.GraphAddDependencies2(h, from, to, edgeData, num) })
}

// GraphAddDependencies12 is CUDA 12's cudaGraphAddDependencies, without edge data.
func GraphAddDependencies12(h uintptr, from, to unsafe.Pointer, num uint64) Error {
	return GraphAddDependencies(h, from, to, nil, num)
}

// GraphGetEdges is cudaGraphGetEdges (CUDA 13; _v2 in 12): with from and to NULL it
// reports the count (edge data, given or not, is not read then); otherwise it fills up to
// *num edges and reports how many it wrote. Edge data, where asked for, is the default edge
// for each.
func GraphGetEdges(h uintptr, from, to, edgeData, num unsafe.Pointer) Error {
	if from == nil {
		edgeData = nil
	}
	return afterInit(func() cuda.Result { return cuda.GraphGetEdges2(h, from, to, edgeData, num) })
}

// GraphGetEdges12 is CUDA 12's cudaGraphGetEdges, without edge data.
func GraphGetEdges12(h uintptr, from, to, num unsafe.Pointer) Error {
	return GraphGetEdges(h, from, to, nil, num)
}

// GraphClone is cudaGraphClone: a graph with the same nodes and edges, and handles of its own.
func GraphClone(out unsafe.Pointer, h uintptr) Error {
	return afterInit(func() cuda.Result { return cuda.GraphClone(out, h) })
}

// nodeOf finds a node of the given type; another type is an invalid value.
func nodeOf(h uintptr, typ int32) (*shim.GraphNode, *shim.Device, Error) {
	n, e := graphNode(h)
	if e != Success {
		return nil, nil, e
	}
	d, e := currentDevice()
	if e != Success {
		return nil, nil, e
	}
	if n.Type != typ {
		return nil, nil, ErrorInvalidValue
	}
	return n, d, Success
}

// GraphMemsetNodeGetParams is cudaGraphMemsetNodeGetParams.
func GraphMemsetNodeGetParams(h uintptr, params unsafe.Pointer) Error {
	return onDriver(func() cuda.Result { return cuda.GraphMemsetNodeGetParams(h, params) })
}

// GraphMemsetNodeSetParams is cudaGraphMemsetNodeSetParams.
func GraphMemsetNodeSetParams(h uintptr, params unsafe.Pointer) Error {
	return onDriver(func() cuda.Result { return cuda.GraphMemsetNodeSetParams(h, params) })
}

// GraphExecMemsetNodeSetParams is cudaGraphExecMemsetNodeSetParams: the executable graph's
// copy changes; it keeps its shape (as many rows).
func GraphExecMemsetNodeSetParams(exec, h uintptr, params unsafe.Pointer) Error {
	return onDriver(func() cuda.Result { return cuda.GraphExecMemsetNodeSetParams(exec, h, params, currentCtx()) })
}

// GraphMemcpyNodeSetParams1D is cudaGraphMemcpyNodeSetParams1D.
func GraphMemcpyNodeSetParams1D(h uintptr, dst, src uintptr, count uint64, kind int32) Error {
	n, d, e := nodeOf(h, shim.GraphNodeMemcpy)
	if e != Success {
		return e
	}
	ops, e := memcpyOps(d, dst, src, count, kind)
	if e != Success {
		return e
	}
	n.SetOps(ops, nil)
	return Success
}

// GraphExecMemcpyNodeSetParams1D is cudaGraphExecMemcpyNodeSetParams1D.
func GraphExecMemcpyNodeSetParams1D(exec, h uintptr, dst, src uintptr, count uint64, kind int32) Error {
	x, e := graphExec(exec)
	if e != Success {
		return e
	}
	n, d, e := nodeOf(h, shim.GraphNodeMemcpy)
	if e != Success {
		return e
	}
	ops, e := memcpyOps(d, dst, src, count, kind)
	if e != Success {
		return e
	}
	return From(x.SetNodeOps(n, ops))
}

// GraphDestroyNode is cudaGraphDestroyNode: the node and its edges leave the graph.
func GraphDestroyNode(h uintptr) Error {
	return afterInit(func() cuda.Result { return cuda.GraphDestroyNode(h) })
}

// GraphNodeGetDependencies is cudaGraphNodeGetDependencies (CUDA 13; _v2 in 12); edge data
// is not read when only the count is asked for.
func GraphNodeGetDependencies(h uintptr, deps, edgeData, num unsafe.Pointer) Error {
	if deps == nil {
		edgeData = nil
	}
	return afterInit(func() cuda.Result { return cuda.GraphNodeGetDependencies2(h, deps, edgeData, num) })
}

// GraphNodeGetDependencies12 is CUDA 12's form, without edge data.
func GraphNodeGetDependencies12(h uintptr, deps, num unsafe.Pointer) Error {
	return GraphNodeGetDependencies(h, deps, nil, num)
}

// GraphNodeGetDependentNodes is cudaGraphNodeGetDependentNodes (CUDA 13; _v2 in 12).
func GraphNodeGetDependentNodes(h uintptr, deps, edgeData, num unsafe.Pointer) Error {
	if deps == nil {
		edgeData = nil
	}
	return afterInit(func() cuda.Result { return cuda.GraphNodeGetDependentNodes2(h, deps, edgeData, num) })
}

// GraphNodeGetDependentNodes12 is CUDA 12's form, without edge data.
func GraphNodeGetDependentNodes12(h uintptr, deps, num unsafe.Pointer) Error {
	return GraphNodeGetDependentNodes(h, deps, nil, num)
}

// GraphUpload is cudaGraphUpload: the sim keeps nothing on a device to upload to, so it
// checks its arguments; the first launch does what an upload would have.
func GraphUpload(exec, stream uintptr) Error {
	return onDriver(func() cuda.Result { return cuda.GraphUpload(exec, stream) })
}

// GraphUploadPtsz is cudaGraphUpload_ptsz.
func GraphUploadPtsz(exec, stream uintptr) Error { return GraphUpload(exec, ptsz(stream)) }

// GraphAddChildGraphNode is cudaGraphAddChildGraphNode: the node runs a copy of child's
// work, taken now (later changes to child do not reach it), in child's order.
func GraphAddChildGraphNode(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, numDeps uint64, child uintptr) Error {
	return afterInit(func() cuda.Result { return cuda.GraphAddChildGraphNode(out, h, deps, numDeps, child) })
}
