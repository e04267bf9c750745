package cudart

import (
	"unsafe"

	"vgpu/cuda"
	"vgpu/shim"
)

// The rest of the node kinds of graphs built by hand through the runtime (issue 13), on the
// driver's semantics (cuda/graphnodes.go, cuda/graphmore.go) wherever the parameter
// structures agree: host nodes' parameters, graph memory, kernel node attributes, user
// objects, conditional handles. Memcpy nodes read the runtime's cudaMemcpy3DParms, and
// symbol copies the runtime's registered variables.

// GraphHostNodeSetParams is cudaGraphHostNodeSetParams.
func GraphHostNodeSetParams(h uintptr, p unsafe.Pointer) Error {
	return fromDriver(cuda.GraphHostNodeSetParams(h, p))
}

// GraphExecHostNodeSetParams is cudaGraphExecHostNodeSetParams.
func GraphExecHostNodeSetParams(x, h uintptr, p unsafe.Pointer) Error {
	return fromDriver(cuda.GraphExecHostNodeSetParams(x, h, p))
}

// ---- memcpy nodes (cudaMemcpy3DParms, 160 bytes) ----

// memcpy3DNodeOps checks a cudaMemcpy3DParms and records its copies. Served to a remote
// client, both ends must be device memory (the client moves its own host memory).
func memcpy3DNodeOps(p unsafe.Pointer) ([]shim.Node, []byte, Error) {
	d, e := currentDevice()
	if e != Success {
		return nil, nil, e
	}
	if p == nil {
		return nil, nil, ErrorInvalidValue
	}
	var cs []cuda.Copy2D
	e = Slices3D(p, false, localResolver, func(dst uintptr, dpitch uint64, src uintptr, spitch, w, h uint64, kind int32) Error {
		cs = append(cs, cuda.Copy2D{Dst: dst, DPitch: dpitch, Src: src, SPitch: spitch, W: w, H: h, Kind: kind})
		return Success
	})
	if e != Success {
		return nil, nil, e
	}
	ops, r := cuda.Memcpy3DOps(d, cs)
	if r != cuda.Success {
		return nil, nil, fromDriver(r)
	}
	return ops, append([]byte(nil), shim.View(p, 160)...), Success
}

// GraphAddMemcpyNode is cudaGraphAddMemcpyNode.
func GraphAddMemcpyNode(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, n uint64, p unsafe.Pointer) Error {
	if _, e := graph(h); e != Success {
		return e
	}
	ops, b, e := memcpy3DNodeOps(p)
	if e != Success {
		return e
	}
	return addNode(out, h, deps, n, shim.GraphNodeMemcpy, ops, b)
}

// GraphMemcpyNodeGetParams is cudaGraphMemcpyNodeGetParams: the parameters the node was given
// (a 1D or symbol copy's as the equivalent pitched copy of one row).
func GraphMemcpyNodeGetParams(h uintptr, out unsafe.Pointer) Error {
	n, _, e := nodeOf(h, shim.GraphNodeMemcpy)
	if e != Success {
		return e
	}
	if out == nil {
		return ErrorInvalidValue
	}
	b := shim.View(out, 160)
	if len(n.Params) == 160 {
		copy(b, n.Params)
		return Success
	}
	if len(n.Ops) != 1 || n.Ops[0].Kind != shim.NodeMemcpy {
		return ErrorInvalidValue
	}
	op := n.Ops[0]
	clear(b)
	// srcPtr (32: ptr, pitch, xsize, ysize), dstPtr (96), extent (128: width, height, depth), kind (152).
	for _, v := range []struct {
		off int
		val uint64
	}{{32, uint64(op.Src)}, {40, op.N}, {48, op.N}, {56, 1}, {96, uint64(op.Dst)}, {104, op.N}, {112, op.N}, {120, 1}, {128, op.N}, {136, 1}, {144, 1}} {
		shim.Le.PutUint64(b[v.off:], v.val)
	}
	shim.Le.PutUint32(b[152:], uint32(op.Copy))
	return Success
}

// GraphMemcpyNodeSetParams is cudaGraphMemcpyNodeSetParams.
func GraphMemcpyNodeSetParams(h uintptr, p unsafe.Pointer) Error {
	n, _, e := nodeOf(h, shim.GraphNodeMemcpy)
	if e != Success {
		return e
	}
	ops, b, e := memcpy3DNodeOps(p)
	if e != Success {
		return e
	}
	n.SetOps(ops, b)
	return Success
}

// GraphExecMemcpyNodeSetParams is cudaGraphExecMemcpyNodeSetParams.
func GraphExecMemcpyNodeSetParams(exec, h uintptr, p unsafe.Pointer) Error {
	x, e := graphExec(exec)
	if e != Success {
		return e
	}
	n, _, e := nodeOf(h, shim.GraphNodeMemcpy)
	if e != Success {
		return e
	}
	ops, _, e := memcpy3DNodeOps(p)
	if e != Success {
		return e
	}
	return From(x.SetNodeOps(n, ops))
}

// ---- symbol copies as memcpy nodes ----

// SymbolRange resolves count bytes at offset of the variable whose host shadow is at host,
// checked as cudaMemcpyToSymbol (to) or cudaMemcpyFromSymbol checks them.
func SymbolRange(host uintptr, count, offset uint64, kind int32, to bool) (uintptr, Error) {
	y, e := symbolAt(host)
	if e != Success {
		return 0, e
	}
	if e := SymbolCopyCheck(y.Var.Size, count, offset, kind, to); e != Success {
		return 0, e
	}
	p, e := y.device()
	if e != Success {
		return 0, e
	}
	return p + uintptr(offset), Success
}

// GraphAddMemcpyNodeToSymbol is cudaGraphAddMemcpyNodeToSymbol: a 1D copy into the variable.
func GraphAddMemcpyNodeToSymbol(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, n uint64, sym, src uintptr, count, offset uint64, kind int32) Error {
	p, e := SymbolRange(sym, count, offset, kind, true)
	if e != Success {
		return e
	}
	return GraphAddMemcpyNode1D(out, h, deps, n, p, src, count, kind)
}

// GraphAddMemcpyNodeFromSymbol is cudaGraphAddMemcpyNodeFromSymbol.
func GraphAddMemcpyNodeFromSymbol(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, n uint64, dst, sym uintptr, count, offset uint64, kind int32) Error {
	p, e := SymbolRange(sym, count, offset, kind, false)
	if e != Success {
		return e
	}
	return GraphAddMemcpyNode1D(out, h, deps, n, dst, p, count, kind)
}

// GraphMemcpyNodeSetParamsToSymbol is cudaGraphMemcpyNodeSetParamsToSymbol.
func GraphMemcpyNodeSetParamsToSymbol(node, sym, src uintptr, count, offset uint64, kind int32) Error {
	p, e := SymbolRange(sym, count, offset, kind, true)
	if e != Success {
		return e
	}
	return GraphMemcpyNodeSetParams1D(node, p, src, count, kind)
}

// GraphMemcpyNodeSetParamsFromSymbol is cudaGraphMemcpyNodeSetParamsFromSymbol.
func GraphMemcpyNodeSetParamsFromSymbol(node, dst, sym uintptr, count, offset uint64, kind int32) Error {
	p, e := SymbolRange(sym, count, offset, kind, false)
	if e != Success {
		return e
	}
	return GraphMemcpyNodeSetParams1D(node, dst, p, count, kind)
}

// GraphExecMemcpyNodeSetParamsToSymbol is cudaGraphExecMemcpyNodeSetParamsToSymbol.
func GraphExecMemcpyNodeSetParamsToSymbol(exec, node, sym, src uintptr, count, offset uint64, kind int32) Error {
	p, e := SymbolRange(sym, count, offset, kind, true)
	if e != Success {
		return e
	}
	return GraphExecMemcpyNodeSetParams1D(exec, node, p, src, count, kind)
}

// GraphExecMemcpyNodeSetParamsFromSymbol is cudaGraphExecMemcpyNodeSetParamsFromSymbol.
func GraphExecMemcpyNodeSetParamsFromSymbol(exec, node, dst, sym uintptr, count, offset uint64, kind int32) Error {
	p, e := SymbolRange(sym, count, offset, kind, false)
	if e != Success {
		return e
	}
	return GraphExecMemcpyNodeSetParams1D(exec, node, dst, p, count, kind)
}

// ---- graph memory, attributes, user objects, conditional handles: the driver's ----

// GraphAddMemAllocNode is cudaGraphAddMemAllocNode (cudaMemAllocNodeParams: the driver's
// layout).
func GraphAddMemAllocNode(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, n uint64, p unsafe.Pointer) Error {
	d, e := currentDevice()
	if e != Success {
		return e
	}
	return fromDriver(cuda.GraphAddMemAllocNodeOn(d, out, h, deps, n, p))
}

// GraphMemAllocNodeGetParams is cudaGraphMemAllocNodeGetParams.
func GraphMemAllocNodeGetParams(h uintptr, out unsafe.Pointer) Error {
	return fromDriver(cuda.GraphMemAllocNodeGetParams(h, out))
}

// GraphAddMemFreeNode is cudaGraphAddMemFreeNode.
func GraphAddMemFreeNode(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, n uint64, dptr uintptr) Error {
	return fromDriver(cuda.GraphAddMemFreeNode(out, h, deps, n, uint64(dptr)))
}

// GraphMemFreeNodeGetParams is cudaGraphMemFreeNodeGetParams.
func GraphMemFreeNodeGetParams(h uintptr, out unsafe.Pointer) Error {
	return fromDriver(cuda.GraphMemFreeNodeGetParams(h, out))
}

// GraphKernelNodeGetAttribute is cudaGraphKernelNodeGetAttribute.
func GraphKernelNodeGetAttribute(h uintptr, attr int32, out unsafe.Pointer) Error {
	return fromDriver(cuda.GraphKernelNodeGetAttribute(h, attr, out))
}

// GraphKernelNodeSetAttribute is cudaGraphKernelNodeSetAttribute.
func GraphKernelNodeSetAttribute(h uintptr, attr int32, p unsafe.Pointer) Error {
	d, e := currentDevice()
	if e != Success {
		return e
	}
	return fromDriver(cuda.GraphKernelNodeSetAttributeOn(d, h, attr, p))
}

// GraphKernelNodeCopyAttributes is cudaGraphKernelNodeCopyAttributes(hSrc, hDst): the
// runtime names the source first, the driver the destination.
func GraphKernelNodeCopyAttributes(src, dst uintptr) Error {
	return fromDriver(cuda.GraphKernelNodeCopyAttributes(dst, src))
}

// GraphKernelNodeCopyAttributes13 is CUDA 13's cudaGraphKernelNodeCopyAttributes: the same
// copy, its destination named first.
func GraphKernelNodeCopyAttributes13(dst, src uintptr) Error {
	return GraphKernelNodeCopyAttributes(src, dst)
}

// UserObjectCreate is cudaUserObjectCreate.
func UserObjectCreate(out unsafe.Pointer, ptr, destroy uintptr, refs, flags uint32) Error {
	return fromDriver(cuda.UserObjectCreate(out, ptr, destroy, refs, flags))
}

// UserObjectRetain is cudaUserObjectRetain.
func UserObjectRetain(h uintptr, n uint32) Error { return fromDriver(cuda.UserObjectRetain(h, n)) }

// UserObjectRelease is cudaUserObjectRelease.
func UserObjectRelease(h uintptr, n uint32) Error { return fromDriver(cuda.UserObjectRelease(h, n)) }

// GraphRetainUserObject is cudaGraphRetainUserObject.
func GraphRetainUserObject(g, h uintptr, n, flags uint32) Error {
	return fromDriver(cuda.GraphRetainUserObject(g, h, n, flags))
}

// GraphReleaseUserObject is cudaGraphReleaseUserObject.
func GraphReleaseUserObject(g, h uintptr, n uint32) Error {
	return fromDriver(cuda.GraphReleaseUserObject(g, h, n))
}

// GraphConditionalHandleCreate is cudaGraphConditionalHandleCreate.
func GraphConditionalHandleCreate(out unsafe.Pointer, h uintptr, def, flags uint32) Error {
	return fromDriver(cuda.GraphConditionalHandleCreate(out, h, def, flags))
}

// ---- the generic forms (cudaGraphNodeParams: the driver's layout, the runtime's members) ----

// GraphAddNode is CUDA 13's cudaGraphAddNode (12's _v2): edge data, where given, must be the
// default edges.
func GraphAddNode(out unsafe.Pointer, h uintptr, deps, edgeData unsafe.Pointer, n uint64, p unsafe.Pointer) Error {
	if _, e := graph(h); e != Success {
		return e
	}
	if n > 1<<20 || !edgeDataZero(edgeData, n) { // the bound NodesAt reads dependencies to
		return ErrorInvalidValue
	}
	return GraphAddNode12(out, h, deps, n, p)
}

// GraphAddNode12 is CUDA 12's cudaGraphAddNode, without edge data.
func GraphAddNode12(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, n uint64, p unsafe.Pointer) Error {
	if _, e := graph(h); e != Success {
		return e
	}
	if p == nil {
		return ErrorInvalidValue
	}
	typ, u := cuda.NodeParamsType(p)
	if (typ == shim.GraphNodeKernel || typ == shim.GraphNodeHost) && shim.CallerOwner() != 0 {
		return ErrorNotSupported // they point into the client's memory: its client carries them
	}
	switch typ {
	case shim.GraphNodeKernel:
		return GraphAddKernelNode(out, h, deps, n, u)
	case shim.GraphNodeMemcpy: // cudaMemcpyNodeParams: flags, reserved[3], then the copy
		return GraphAddMemcpyNode(out, h, deps, n, unsafe.Add(u, 16))
	case shim.GraphNodeMemset:
		return GraphAddMemsetNode(out, h, deps, n, u)
	case shim.GraphNodeHost:
		if shim.CallerOwner() != 0 {
			return ErrorNotSupported // a client's host function is never a server's to call
		}
		return GraphAddHostNode(out, h, deps, n, u)
	case cuda.NodeMemAlloc:
		return GraphAddMemAllocNode(out, h, deps, n, u)
	case cuda.NodeMemFree:
		return GraphAddMemFreeNode(out, h, deps, n, uintptr(shim.Le.Uint64(shim.View(u, 8))))
	}
	// Child graphs, empty and event nodes: the driver's members are the runtime's.
	return fromDriver(cuda.GraphAddNode(out, h, deps, n, p))
}

// GraphNodeSetParams is cudaGraphNodeSetParams.
func GraphNodeSetParams(h uintptr, p unsafe.Pointer) Error { return setNodeParams(0, h, p) }

// GraphExecNodeSetParams is cudaGraphExecNodeSetParams.
func GraphExecNodeSetParams(exec, h uintptr, p unsafe.Pointer) Error {
	if exec == 0 {
		return ErrorInvalidValue
	}
	return setNodeParams(exec, h, p)
}

func setNodeParams(exec, h uintptr, p unsafe.Pointer) Error {
	n, e := graphNode(h)
	if e != Success {
		return e
	}
	if p == nil {
		return ErrorInvalidValue
	}
	typ, u := cuda.NodeParamsType(p)
	if typ != n.Type {
		return ErrorInvalidValue
	}
	if (typ == shim.GraphNodeKernel || typ == shim.GraphNodeHost) && shim.CallerOwner() != 0 {
		return ErrorNotSupported
	}
	switch typ {
	case shim.GraphNodeKernel:
		if exec != 0 {
			return GraphExecKernelNodeSetParams(exec, h, u)
		}
		return GraphKernelNodeSetParams(h, u)
	case shim.GraphNodeMemcpy:
		if exec != 0 {
			return GraphExecMemcpyNodeSetParams(exec, h, unsafe.Add(u, 16))
		}
		return GraphMemcpyNodeSetParams(h, unsafe.Add(u, 16))
	case shim.GraphNodeMemset:
		if exec != 0 {
			return GraphExecMemsetNodeSetParams(exec, h, u)
		}
		return GraphMemsetNodeSetParams(h, u)
	case shim.GraphNodeHost:
		if shim.CallerOwner() != 0 {
			return ErrorNotSupported
		}
		if exec != 0 {
			return GraphExecHostNodeSetParams(exec, h, u)
		}
		return GraphHostNodeSetParams(h, u)
	}
	if exec != 0 {
		return fromDriver(cuda.GraphExecNodeSetParams(exec, h, p))
	}
	return fromDriver(cuda.GraphNodeSetParams(h, p))
}
