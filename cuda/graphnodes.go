package cuda

import (
	"unsafe"

	"vgpu/shim"
)

// The rest of the node kinds of graphs built by hand through the driver API (issue 13):
// memcpy nodes (CUDA_MEMCPY3D), graph memory (allocation and free nodes and the device's
// figures), kernel node attributes, user objects, the generic cuGraphAddNode and its Set
// forms, enabling nodes, child graphs. The runtime's forms (cudart/graphnodes.go) are these.
// The model is shim's (shim/graphbuild.go, shim/graphnodes.go).

// The names the remote client's hand-written forms share with the runtime's (the rows name
// these; the semantics are graphmore.go's).

// GraphAddKernelNodeCU is cuGraphAddKernelNode.
func GraphAddKernelNodeCU(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, n uint64, p unsafe.Pointer) Result {
	return GraphAddKernelNode(out, h, deps, n, p)
}

// GraphKernelNodeGetParamsCU is cuGraphKernelNodeGetParams.
func GraphKernelNodeGetParamsCU(h uintptr, out unsafe.Pointer) Result {
	return GraphKernelNodeGetParams(h, out)
}

// GraphKernelNodeSetParamsCU is cuGraphKernelNodeSetParams.
func GraphKernelNodeSetParamsCU(h uintptr, p unsafe.Pointer) Result {
	return GraphKernelNodeSetParams(h, p)
}

// GraphExecKernelNodeSetParamsCU is cuGraphExecKernelNodeSetParams.
func GraphExecKernelNodeSetParamsCU(x, h uintptr, p unsafe.Pointer) Result {
	return GraphExecKernelNodeSetParams(x, h, p)
}

// GraphAddHostNodeCU is cuGraphAddHostNode.
func GraphAddHostNodeCU(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, n uint64, p unsafe.Pointer) Result {
	return GraphAddHostNode(out, h, deps, n, p)
}

// GraphHostNodeGetParamsCU is cuGraphHostNodeGetParams.
func GraphHostNodeGetParamsCU(h uintptr, out unsafe.Pointer) Result {
	return GraphHostNodeGetParams(h, out)
}

// GraphHostNodeSetParamsCU is cuGraphHostNodeSetParams.
func GraphHostNodeSetParamsCU(h uintptr, p unsafe.Pointer) Result {
	return GraphHostNodeSetParams(h, p)
}

// GraphExecHostNodeSetParamsCU is cuGraphExecHostNodeSetParams.
func GraphExecHostNodeSetParamsCU(x, h uintptr, p unsafe.Pointer) Result {
	return GraphExecHostNodeSetParams(x, h, p)
}

// Node types beyond shim's (CUgraphNodeType / cudaGraphNodeType).
const (
	NodeExtSemasSignal = 8
	NodeExtSemasWait   = 9
	NodeMemAlloc       = 10
	NodeMemFree        = 11
	NodeBatchMemOp     = 12
	NodeConditional    = 13
)

// ---- memcpy nodes ----

// Memcpy3DOps checks a copy through slices (one pitched copy each) and records them as the
// same copy on a capturing stream would be. A server keeps no client's host memory: served
// to a remote client, both ends must be device memory (its client sends the others'
// bytes itself) or the node is not supported.
func Memcpy3DOps(d *shim.Device, cs []Copy2D) ([]shim.Node, Result) {
	for _, c := range cs {
		if shim.CallerOwner() != 0 && c.W > 0 && c.H > 0 && (!shim.IsDevice(c.Dst) || !shim.IsDevice(c.Src)) {
			return nil, ErrorNotSupported
		}
	}
	ops, st := shim.Record(d, func(s *shim.Stream) shim.Status {
		for _, c := range cs {
			if st := shim.Memcpy2D(s, c.Dst, c.DPitch, c.Src, c.SPitch, c.W, c.H, c.Kind); st != shim.OK {
				return st
			}
		}
		return shim.OK
	})
	return ops, From(st)
}

func memcpyNodeOps(p unsafe.Pointer) ([]shim.Node, []byte, Result) {
	d, r := ctxDevice()
	if r != Success {
		return nil, nil, r
	}
	cs, r := Copy3DAt(p, LocalArrays)
	if r != Success {
		return nil, nil, r
	}
	ops, r := Memcpy3DOps(d, cs)
	if r != Success {
		return nil, nil, r
	}
	return ops, append([]byte(nil), shim.View(p, 200)...), Success
}

// GraphAddMemcpyNode is cuGraphAddMemcpyNode: a CUDA_MEMCPY3D in the graph. ctx must be a
// context (the model's copies are the current context's device's).
func GraphAddMemcpyNode(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, n uint64, p unsafe.Pointer, ctx uintptr) Result {
	if _, r := graph(h); r != Success {
		return r
	}
	if _, r := context(ctx); r != Success {
		return r
	}
	ops, b, r := memcpyNodeOps(p)
	if r != Success {
		return r
	}
	return addNode(out, h, deps, n, shim.GraphNodeMemcpy, ops, b)
}

// GraphMemcpyNodeGetParams is cuGraphMemcpyNodeGetParams: the descriptor the node was given.
func GraphMemcpyNodeGetParams(h uintptr, out unsafe.Pointer) Result {
	n, r := nodeOf(h, shim.GraphNodeMemcpy)
	if r != Success {
		return r
	}
	if out == nil || len(n.Params) != 200 { // a captured or 1D copy keeps no descriptor
		return ErrorInvalidValue
	}
	copy(shim.View(out, 200), n.Params)
	return Success
}

// GraphMemcpyNodeSetParams is cuGraphMemcpyNodeSetParams.
func GraphMemcpyNodeSetParams(h uintptr, p unsafe.Pointer) Result {
	return setNodeOps(h, shim.GraphNodeMemcpy, p, memcpyNodeOps)
}

// GraphExecMemcpyNodeSetParams is cuGraphExecMemcpyNodeSetParams: the executable graph's
// copy changes (as many slices as before); the graph's does not.
func GraphExecMemcpyNodeSetParams(exec, h uintptr, p unsafe.Pointer, ctx uintptr) Result {
	return execSetNodeOps(exec, h, shim.GraphNodeMemcpy, p, ctx, memcpyNodeOps)
}

// ---- graph memory ----

// memAllocParams checks a CUDA_MEM_ALLOC_NODE_PARAMS (120 bytes): CUmemPoolProps (88:
// allocType at 0 pinned, handleTypes at 4 none, location type at 8 a device and id at 12),
// accessDescs (88), accessDescCount (96), bytesize (104); dptr (112) is the output.
func memAllocParams(b []byte) (uint64, Result) {
	if shim.Le.Uint32(b) != 1 || shim.Le.Uint32(b[4:]) != 0 || shim.Le.Uint32(b[8:]) != 1 {
		return 0, ErrorInvalidValue
	}
	if _, r := device(int32(shim.Le.Uint32(b[12:]))); r != Success {
		return 0, ErrorInvalidValue
	}
	descs, count := uintptr(shim.Le.Uint64(b[88:])), shim.Le.Uint64(b[96:])
	if count > 64 || (count > 0 && descs == 0) {
		return 0, ErrorInvalidValue
	}
	// The access descriptors (CUmemAccessDesc: location type, id, flags; 12 bytes) are read
	// in process; a server does not follow a client's pointer.
	if shim.CallerOwner() == 0 {
		for i := uint64(0); i < count; i++ {
			a := shim.View(unsafe.Add(unsafe.Pointer(descs), 12*i), 12) //nolint:govet // the program's array
			if shim.Le.Uint32(a) != 1 || shim.Le.Uint32(a[8:]) > 3 {
				return 0, ErrorInvalidValue
			}
			if _, r := device(int32(shim.Le.Uint32(a[4:]))); r != Success {
				return 0, ErrorInvalidValue
			}
		}
	}
	size := shim.Le.Uint64(b[104:])
	if size == 0 {
		return 0, ErrorInvalidValue
	}
	return size, Success
}

// GraphAddMemAllocNode is cuGraphAddMemAllocNode: the node's memory gets its address now
// (written to the parameters' dptr), as NVIDIA's does; it holds the device's memory while
// the graph lives and is usable from the node on.
func GraphAddMemAllocNode(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, n uint64, p unsafe.Pointer) Result {
	d, r := ctxDevice()
	if r != Success {
		return r
	}
	return GraphAddMemAllocNodeOn(d, out, h, deps, n, p)
}

// GraphAddMemAllocNodeOn is cuGraphAddMemAllocNode on device d (the runtime's current one).
func GraphAddMemAllocNodeOn(d *shim.Device, out unsafe.Pointer, h uintptr, deps unsafe.Pointer, n uint64, p unsafe.Pointer) Result {
	g, r := graph(h)
	if r != Success {
		return r
	}
	if out == nil || p == nil {
		return ErrorInvalidValue
	}
	b := shim.View(p, 120)
	size, r := memAllocParams(b)
	if r != Success {
		return r
	}
	ds, r := depsAt(g, deps, n)
	if r != Success {
		return r
	}
	addr, st := shim.GraphMemAlloc(d, g, size)
	if st != shim.OK {
		return From(st)
	}
	shim.Le.PutUint64(b[112:], uint64(addr))
	node, st := g.AddNode(NodeMemAlloc, nil, ds, append([]byte(nil), b...))
	if st != shim.OK {
		return From(st)
	}
	shim.PutPtr(out, node.Handle)
	return Success
}

// GraphMemAllocNodeGetParams is cuGraphMemAllocNodeGetParams.
func GraphMemAllocNodeGetParams(h uintptr, out unsafe.Pointer) Result {
	n, r := nodeOf(h, NodeMemAlloc)
	if r != Success {
		return r
	}
	if out == nil {
		return ErrorInvalidValue
	}
	copy(shim.View(out, 120), n.Params)
	return Success
}

// GraphAddMemFreeNode is cuGraphAddMemFreeNode: dptr must be a graph allocation's address.
func GraphAddMemFreeNode(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, n uint64, dptr uint64) Result {
	if _, r := graph(h); r != Success {
		return r
	}
	if !shim.IsGraphAlloc(uintptr(dptr)) {
		return ErrorInvalidValue
	}
	return addNode(out, h, deps, n, NodeMemFree, nil, shim.Le.AppendUint64(nil, dptr))
}

// GraphMemFreeNodeGetParams is cuGraphMemFreeNodeGetParams: the address the node frees.
func GraphMemFreeNodeGetParams(h uintptr, out unsafe.Pointer) Result {
	n, r := nodeOf(h, NodeMemFree)
	if r != Success {
		return r
	}
	if out == nil || len(n.Params) != 8 {
		return ErrorInvalidValue
	}
	shim.PutU64(out, shim.Le.Uint64(n.Params))
	return Success
}

// CUgraphMem_attribute values: used and reserved memory, current and high-water.
const (
	graphMemUsedCurrent     = 0
	graphMemUsedHigh        = 1
	graphMemReservedCurrent = 2
	graphMemReservedHigh    = 3
)

// DeviceGetGraphMemAttribute is cuDeviceGetGraphMemAttribute: what allocation nodes hold
// on the device (the model reserves what it uses).
func DeviceGetGraphMemAttribute(dev, attr int32, value unsafe.Pointer) Result {
	d, r := device(dev)
	if r != Success {
		return r
	}
	if value == nil || attr < graphMemUsedCurrent || attr > graphMemReservedHigh {
		return ErrorInvalidValue
	}
	used, high := shim.GraphMemUsage(d.Index)
	v := used
	if attr == graphMemUsedHigh || attr == graphMemReservedHigh {
		v = high
	}
	shim.PutU64(value, v)
	return Success
}

// DeviceSetGraphMemAttribute is cuDeviceSetGraphMemAttribute: only a high-water mark may be
// set, and only to 0 (which resets it to the current figure).
func DeviceSetGraphMemAttribute(dev, attr int32, value unsafe.Pointer) Result {
	d, r := device(dev)
	if r != Success {
		return r
	}
	if value == nil || (attr != graphMemUsedHigh && attr != graphMemReservedHigh) || *(*uint64)(value) != 0 {
		return ErrorInvalidValue
	}
	shim.ResetGraphMemHigh(d.Index)
	return Success
}

// DeviceGraphMemTrim is cuDeviceGraphMemTrim: the model reserves nothing beyond what the
// graphs that exist hold.
func DeviceGraphMemTrim(dev int32) Result {
	_, r := device(dev)
	return r
}

// ---- enabling nodes, child graphs ----

// GraphNodeGetEnabled is cuGraphNodeGetEnabled.
func GraphNodeGetEnabled(exec, h uintptr, out unsafe.Pointer) Result {
	x, r := graphExec(exec)
	if r != Success {
		return r
	}
	n, r := graphNode(h)
	if r != Success {
		return r
	}
	if out == nil {
		return ErrorInvalidValue
	}
	on, ok := x.NodeEnabled(n)
	if !ok {
		return ErrorInvalidValue
	}
	v := int32(0)
	if on {
		v = 1
	}
	shim.PutI32(out, v)
	return Success
}

// GraphNodeSetEnabled is cuGraphNodeSetEnabled: kernel, memcpy and memset nodes only.
func GraphNodeSetEnabled(exec, h uintptr, on uint32) Result {
	x, r := graphExec(exec)
	if r != Success {
		return r
	}
	n, r := graphNode(h)
	if r != Success {
		return r
	}
	switch n.Type {
	case shim.GraphNodeKernel, shim.GraphNodeMemcpy, shim.GraphNodeMemset:
	default:
		return ErrorInvalidValue
	}
	return From(x.SetNodeEnabled(n, on != 0))
}

// GraphChildGraphNodeGetGraph is cuGraphChildGraphNodeGetGraph: a graph of the node's work,
// made when first asked for and owned by the node.
func GraphChildGraphNodeGetGraph(h uintptr, out unsafe.Pointer) Result {
	n, r := nodeOf(h, shim.GraphNodeGraph)
	if r != Success {
		return r
	}
	if out == nil {
		return ErrorInvalidValue
	}
	shim.PutPtr(out, shim.ChildGraphOf(n).Handle)
	return Success
}

// GraphExecChildGraphNodeSetParams is cuGraphExecChildGraphNodeSetParams: the executable
// graph's child node takes child's work, of the same shape.
func GraphExecChildGraphNodeSetParams(exec, h, child uintptr) Result {
	x, r := graphExec(exec)
	if r != Success {
		return r
	}
	n, r := nodeOf(h, shim.GraphNodeGraph)
	if r != Success {
		return r
	}
	c, r := graph(child)
	if r != Success {
		return r
	}
	return From(x.SetNodeOps(n, c.Snapshot()))
}

// GraphInstantiateWithParamsPtsz is cuGraphInstantiateWithParams_ptsz: an upload to stream 0
// goes to the per-thread default stream.
func GraphInstantiateWithParamsPtsz(out unsafe.Pointer, h uintptr, p unsafe.Pointer) Result {
	if p == nil {
		return ErrorInvalidValue
	}
	var b [32]byte
	copy(b[:], shim.View(p, 32))
	shim.Le.PutUint64(b[8:], uint64(ptsz(uintptr(shim.Le.Uint64(b[8:])))))
	r := GraphInstantiateWithParams(out, h, unsafe.Pointer(&b[0]))
	copy(shim.View(p, 32)[16:], b[16:])
	return r
}

// ---- kernel node attributes ----

// GraphKernelNodeGetAttribute is cuGraphKernelNodeGetAttribute (a CUkernelNodeAttrValue, 64
// bytes).
func GraphKernelNodeGetAttribute(h uintptr, attr int32, out unsafe.Pointer) Result {
	n, r := graphNode(h)
	if r != Success {
		return r
	}
	if out == nil {
		return ErrorInvalidValue
	}
	v, st := shim.KernelNodeAttribute(n, attr)
	if st != shim.OK {
		return From(st)
	}
	copy(shim.View(out, shim.LaunchAttrValueSize), v[:])
	return Success
}

// GraphKernelNodeSetAttribute is cuGraphKernelNodeSetAttribute.
func GraphKernelNodeSetAttribute(h uintptr, attr int32, p unsafe.Pointer) Result {
	d, r := ctxDevice()
	if r != Success {
		return r
	}
	return GraphKernelNodeSetAttributeOn(d, h, attr, p)
}

// GraphKernelNodeSetAttributeOn is cuGraphKernelNodeSetAttribute with device d's limits.
func GraphKernelNodeSetAttributeOn(d *shim.Device, h uintptr, attr int32, p unsafe.Pointer) Result {
	n, r := graphNode(h)
	if r != Success {
		return r
	}
	if p == nil {
		return ErrorInvalidValue
	}
	var v [shim.LaunchAttrValueSize]byte
	copy(v[:], shim.View(p, shim.LaunchAttrValueSize))
	return From(shim.SetKernelNodeAttribute(n, d, attr, v))
}

// GraphKernelNodeCopyAttributes is cuGraphKernelNodeCopyAttributes(dst, src).
func GraphKernelNodeCopyAttributes(dst, src uintptr) Result {
	d, r := graphNode(dst)
	if r != Success {
		return r
	}
	s, r := graphNode(src)
	if r != Success {
		return r
	}
	return From(shim.CopyKernelNodeAttributes(d, s))
}

// ---- user objects ----

const (
	userObjectNoDestructorSync = 1 // CU_USER_OBJECT_NO_DESTRUCTOR_SYNC, required
	graphUserObjectMove        = 1 // CU_GRAPH_USER_OBJECT_MOVE
)

// User objects are the program's own (a remote client keeps them): no device is needed.
func userObject(h uintptr) (*shim.UserObject, Result) {
	o, ok := shim.Lookup[*shim.UserObject](shim.KindUserObject, h)
	if !ok {
		return nil, ErrorInvalidValue
	}
	return o, Success
}

// UserObjectCreate is cuUserObjectCreate: destroy(ptr) runs in this process when the last
// reference goes. The flag that says the destructor need not be waited for is required.
func UserObjectCreate(out unsafe.Pointer, ptr, destroy uintptr, refs, flags uint32) Result {
	if out == nil || destroy == 0 || refs == 0 || refs > shim.MaxUserObjectRefs || flags != userObjectNoDestructorSync {
		return ErrorInvalidValue
	}
	shim.PutPtr(out, shim.NewUserObject(ptr, destroy, refs).Handle)
	return Success
}

// UserObjectRetain is cuUserObjectRetain.
func UserObjectRetain(h uintptr, n uint32) Result {
	o, r := userObject(h)
	if r != Success {
		return r
	}
	return From(o.Retain(n))
}

// UserObjectRelease is cuUserObjectRelease.
func UserObjectRelease(h uintptr, n uint32) Result {
	o, r := userObject(h)
	if r != Success {
		return r
	}
	return From(o.Release(n))
}

// GraphOwnRetain gives graph handle g n references to o (new ones, or the caller's with
// move); the graph's are released when it is destroyed, an executable graph's likewise.
func GraphOwnRetain(g, h uintptr, n, flags uint32) Result {
	o, r := userObject(h)
	if r != Success {
		return r
	}
	if n == 0 || flags&^graphUserObjectMove != 0 {
		return ErrorInvalidValue
	}
	return From(shim.OwnerRetain(g, o, n, flags == graphUserObjectMove))
}

// GraphOwnRelease takes n of graph handle g's references to o back.
func GraphOwnRelease(g, h uintptr, n uint32) Result {
	o, r := userObject(h)
	if r != Success {
		return r
	}
	return From(shim.OwnerRelease(g, o, n))
}

// GraphRetainUserObject is cuGraphRetainUserObject.
func GraphRetainUserObject(g, h uintptr, n, flags uint32) Result {
	if _, r := graph(g); r != Success {
		return r
	}
	return GraphOwnRetain(g, h, n, flags)
}

// GraphReleaseUserObject is cuGraphReleaseUserObject.
func GraphReleaseUserObject(g, h uintptr, n uint32) Result {
	if _, r := graph(g); r != Success {
		return r
	}
	return GraphOwnRelease(g, h, n)
}

// ---- conditional handles ----

// GraphConditionalHandleCreate is the conditional handle of graph h, with its default value
// (flags: 0, or 1 to assign it at each launch). The model has no conditional nodes to use it.
func GraphConditionalHandleCreate(out unsafe.Pointer, h uintptr, def, flags uint32) Result {
	g, r := graph(h)
	if r != Success {
		return r
	}
	if out == nil || flags > 1 {
		return ErrorInvalidValue
	}
	shim.PutU64(out, uint64(shim.NewConditionalHandle(g, def, flags)))
	return Success
}

// ---- the generic forms (CUgraphNodeParams: type at 0, the union at 16; 256 bytes) ----

// NodeParamsSize is sizeof(CUgraphNodeParams) and sizeof(cudaGraphNodeParams).
const NodeParamsSize = 256

// ctxOr is ctx, or the current context where the parameters name none.
func ctxOr(ctx uintptr) uintptr {
	if ctx == 0 {
		if c := shim.CurrentContext(); c != nil {
			return c.Handle
		}
	}
	return ctx
}

// NodeParamsType reads a CUgraphNodeParams' type and the address of its union.
func NodeParamsType(p unsafe.Pointer) (int32, unsafe.Pointer) {
	return int32(shim.Le.Uint32(shim.View(p, 4))), unsafe.Add(p, 16)
}

// GraphAddNode is cuGraphAddNode: a node of any kind the model has, from its parameters
// (an allocation node's address is written back into them). External semaphores, batched
// memory operations and conditional nodes are not supported; an unknown type is an invalid
// value. A host node is never made on a server (its function is the client's).
func GraphAddNode(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, n uint64, p unsafe.Pointer) Result {
	if _, r := graph(h); r != Success {
		return r
	}
	if p == nil {
		return ErrorInvalidValue
	}
	for _, c := range shim.View(p, 16)[4:] { // reserved0: must be zero
		if c != 0 {
			return ErrorInvalidValue
		}
	}
	typ, u := NodeParamsType(p)
	le := shim.Le
	if (typ == shim.GraphNodeKernel || typ == shim.GraphNodeHost) && shim.CallerOwner() != 0 {
		return ErrorNotSupported // they point into the client's memory: its client carries them
	}
	switch typ {
	case shim.GraphNodeKernel:
		return GraphAddKernelNode2(out, h, deps, n, u)
	case shim.GraphNodeMemcpy:
		return GraphAddMemcpyNode(out, h, deps, n, unsafe.Add(u, 16), ctxOr(uintptr(le.Uint64(shim.View(u, 16)[8:]))))
	case shim.GraphNodeMemset:
		return GraphAddMemsetNode(out, h, deps, n, u, ctxOr(uintptr(le.Uint64(shim.View(u, 48)[40:]))))
	case shim.GraphNodeHost:
		if shim.CallerOwner() != 0 {
			return ErrorNotSupported
		}
		return GraphAddHostNode(out, h, deps, n, u)
	case shim.GraphNodeGraph:
		return GraphAddChildGraphNode(out, h, deps, n, uintptr(le.Uint64(shim.View(u, 8))))
	case shim.GraphNodeEmpty:
		return GraphAddEmptyNode(out, h, deps, n)
	case shim.GraphNodeWaitEvent:
		return GraphAddEventWaitNode(out, h, deps, n, uintptr(le.Uint64(shim.View(u, 8))))
	case shim.GraphNodeEventRecord:
		return GraphAddEventRecordNode(out, h, deps, n, uintptr(le.Uint64(shim.View(u, 8))))
	case NodeMemAlloc:
		return GraphAddMemAllocNode(out, h, deps, n, u)
	case NodeMemFree:
		return GraphAddMemFreeNode(out, h, deps, n, le.Uint64(shim.View(u, 8)))
	case NodeExtSemasSignal, NodeExtSemasWait, NodeBatchMemOp, NodeConditional:
		return ErrorNotSupported
	}
	return ErrorInvalidValue
}

// GraphNodeSetParams is cuGraphNodeSetParams: the node's own kind, with new parameters.
func GraphNodeSetParams(h uintptr, p unsafe.Pointer) Result { return setNodeParams(0, h, p) }

// GraphExecNodeSetParams is cuGraphExecNodeSetParams: the executable graph's copy of the node.
func GraphExecNodeSetParams(exec, h uintptr, p unsafe.Pointer) Result {
	if exec == 0 {
		return ErrorInvalidValue
	}
	return setNodeParams(exec, h, p)
}

func setNodeParams(exec, h uintptr, p unsafe.Pointer) Result {
	node, r := graphNode(h)
	if r != Success {
		return r
	}
	if exec != 0 {
		if _, r := graphExec(exec); r != Success {
			return r
		}
	}
	if p == nil {
		return ErrorInvalidValue
	}
	typ, u := NodeParamsType(p)
	if typ != node.Type {
		return ErrorInvalidValue
	}
	if (typ == shim.GraphNodeKernel || typ == shim.GraphNodeHost) && shim.CallerOwner() != 0 {
		return ErrorNotSupported
	}
	le := shim.Le
	switch typ {
	case shim.GraphNodeKernel:
		return kernelNodeSet(exec, h, u, 72)
	case shim.GraphNodeMemcpy:
		if exec != 0 {
			return GraphExecMemcpyNodeSetParams(exec, h, unsafe.Add(u, 16), ctxOr(uintptr(le.Uint64(shim.View(u, 16)[8:]))))
		}
		return GraphMemcpyNodeSetParams(h, unsafe.Add(u, 16))
	case shim.GraphNodeMemset:
		if exec != 0 {
			return GraphExecMemsetNodeSetParams(exec, h, u, ctxOr(uintptr(le.Uint64(shim.View(u, 48)[40:]))))
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
	case shim.GraphNodeGraph:
		if exec == 0 {
			return ErrorNotSupported // a graph's child node keeps the graph it was given
		}
		return GraphExecChildGraphNodeSetParams(exec, h, uintptr(le.Uint64(shim.View(u, 8))))
	case shim.GraphNodeWaitEvent, shim.GraphNodeEventRecord:
		return setNodeEvent(exec, h, uintptr(le.Uint64(shim.View(u, 8))), typ)
	case shim.GraphNodeEmpty:
		return Success
	}
	return ErrorNotSupported // allocations and frees are fixed once made
}

// The names of the driver's forms the remote client's hand-written ones share with the
// runtime's.

// GraphRetainUserObjectCU is cuGraphRetainUserObject.
func GraphRetainUserObjectCU(g, h uintptr, n, flags uint32) Result {
	return GraphRetainUserObject(g, h, n, flags)
}

// GraphReleaseUserObjectCU is cuGraphReleaseUserObject.
func GraphReleaseUserObjectCU(g, h uintptr, n uint32) Result { return GraphReleaseUserObject(g, h, n) }

// GraphAddNodeCU is cuGraphAddNode.
func GraphAddNodeCU(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, n uint64, p unsafe.Pointer) Result {
	return GraphAddNode(out, h, deps, n, p)
}

// GraphNodeSetParamsCU is cuGraphNodeSetParams.
func GraphNodeSetParamsCU(h uintptr, p unsafe.Pointer) Result { return GraphNodeSetParams(h, p) }

// GraphExecNodeSetParamsCU is cuGraphExecNodeSetParams.
func GraphExecNodeSetParamsCU(x, h uintptr, p unsafe.Pointer) Result {
	return GraphExecNodeSetParams(x, h, p)
}
