package cuda

import (
	"unsafe"

	"vgpu/shim"
)

// More of graphs through the driver API (issue 13): inspection and editing of a graph's
// edges, event, host, child-graph, memset and kernel nodes built by hand, their parameters
// in the graph and in an executable graph, instantiation with parameters. The model is
// shim's, as the runtime's forms (cudart/graphbuild.go, cudart/graphmore.go) use it; the
// parameter structures are the driver's.

// putNodes fills a node array as cuGraphGetNodes does: with out NULL only the count; else
// up to *num entries, NULL past the list, and *num becomes how many were written.
func putNodes(list []*shim.GraphNode, out, num unsafe.Pointer) Result {
	if num == nil {
		return ErrorInvalidValue
	}
	n := uint64(len(list))
	if out != nil {
		want := *(*uint64)(num)
		if want > 1<<20 {
			return ErrorInvalidValue
		}
		for i := uint64(0); i < want; i++ {
			var v uintptr
			if i < n {
				v = list[i].Handle
			}
			*(*uintptr)(unsafe.Add(out, 8*i)) = v
		}
		n = min(want, n)
	}
	shim.PutU64(num, n)
	return Success
}

// GraphGetEdges is cuGraphGetEdges: from[i] -> to[i] for each edge; both arrays or neither.
func GraphGetEdges(h uintptr, from, to, num unsafe.Pointer) Result {
	g, r := graph(h)
	if r != Success {
		return r
	}
	if num == nil || (from == nil) != (to == nil) {
		return ErrorInvalidValue
	}
	fs, ts := g.Edges()
	var want uint64 // read before putNodes writes back how many it wrote
	if to != nil {
		want = *(*uint64)(num)
	}
	if r := putNodes(fs, from, num); r != Success {
		return r
	}
	if to != nil {
		n := uint64(len(ts))
		for i := uint64(0); i < n && i < want; i++ {
			*(*uintptr)(unsafe.Add(to, 8*i)) = ts[i].Handle
		}
		for i := n; i < want; i++ {
			*(*uintptr)(unsafe.Add(to, 8*i)) = 0
		}
	}
	return Success
}

// GraphGetRootNodes is cuGraphGetRootNodes: the nodes that wait for none.
func GraphGetRootNodes(h uintptr, roots, num unsafe.Pointer) Result {
	g, r := graph(h)
	if r != Success {
		return r
	}
	return putNodes(g.Roots(), roots, num)
}

// GraphNodeGetDependencies is cuGraphNodeGetDependencies.
func GraphNodeGetDependencies(h uintptr, deps, num unsafe.Pointer) Result {
	n, r := graphNode(h)
	if r != Success {
		return r
	}
	return putNodes(n.Dependencies(), deps, num)
}

// GraphNodeGetDependentNodes is cuGraphNodeGetDependentNodes.
func GraphNodeGetDependentNodes(h uintptr, deps, num unsafe.Pointer) Result {
	n, r := graphNode(h)
	if r != Success {
		return r
	}
	return putNodes(n.Dependents(), deps, num)
}

// GraphRemoveDependencies is cuGraphRemoveDependencies: each edge must be there.
func GraphRemoveDependencies(h uintptr, from, to unsafe.Pointer, num uint64) Result {
	g, r := graph(h)
	if r != Success {
		return r
	}
	if num == 0 {
		return Success
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
		if st := g.RemoveDependency(fs[i], ts[i]); st != shim.OK {
			return From(st)
		}
	}
	return Success
}

// GraphNodeFindInClone is cuGraphNodeFindInClone: the clone's node made from orig.
func GraphNodeFindInClone(out unsafe.Pointer, orig, clone uintptr) Result {
	o, r := graphNode(orig)
	if r != Success {
		return r
	}
	c, r := graph(clone)
	if r != Success {
		return r
	}
	if out == nil {
		return ErrorInvalidValue
	}
	n := c.FindInClone(o)
	if n == nil {
		return ErrorInvalidValue
	}
	shim.PutPtr(out, n.Handle)
	return Success
}

// eventOps is what an event record or wait node does: a record marks the event recorded;
// the model's device runs in order, so a wait waits for nothing more.
func eventOps(ev uintptr, typ int32) ([]shim.Node, []byte, Result) {
	e, ok := shim.Lookup[*shim.Event](shim.KindEvent, ev)
	if !ok {
		return nil, nil, ErrorInvalidValue
	}
	op := shim.Node{Kind: shim.NodeEventWait}
	if typ == shim.GraphNodeEventRecord {
		op = shim.Node{Kind: shim.NodeEventRecord, Run: e.MarkRecorded}
	}
	return []shim.Node{op}, shim.Le.AppendUint64(nil, uint64(ev)), Success
}

func eventNode(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, numDeps uint64, ev uintptr, typ int32) Result {
	if _, r := graph(h); r != Success {
		return r
	}
	ops, params, r := eventOps(ev, typ)
	if r != Success {
		return r
	}
	return addNode(out, h, deps, numDeps, typ, ops, params)
}

// GraphAddEventRecordNode is cuGraphAddEventRecordNode: each launch records the event.
func GraphAddEventRecordNode(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, numDeps uint64, ev uintptr) Result {
	return eventNode(out, h, deps, numDeps, ev, shim.GraphNodeEventRecord)
}

// GraphAddEventWaitNode is cuGraphAddEventWaitNode.
func GraphAddEventWaitNode(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, numDeps uint64, ev uintptr) Result {
	return eventNode(out, h, deps, numDeps, ev, shim.GraphNodeWaitEvent)
}

// nodeOf finds a node of the given type; another type is an invalid value.
func nodeOf(h uintptr, typ int32) (*shim.GraphNode, Result) {
	n, r := graphNode(h)
	if r != Success {
		return nil, r
	}
	if n.Type != typ {
		return nil, ErrorInvalidValue
	}
	return n, Success
}

func nodeEvent(h uintptr, typ int32, out unsafe.Pointer) Result {
	n, r := nodeOf(h, typ)
	if r != Success {
		return r
	}
	if out == nil || len(n.Params) != 8 {
		return ErrorInvalidValue
	}
	shim.PutU64(out, shim.Le.Uint64(n.Params))
	return Success
}

// GraphEventRecordNodeGetEvent is cuGraphEventRecordNodeGetEvent.
func GraphEventRecordNodeGetEvent(h uintptr, out unsafe.Pointer) Result {
	return nodeEvent(h, shim.GraphNodeEventRecord, out)
}

// GraphEventWaitNodeGetEvent is cuGraphEventWaitNodeGetEvent.
func GraphEventWaitNodeGetEvent(h uintptr, out unsafe.Pointer) Result {
	return nodeEvent(h, shim.GraphNodeWaitEvent, out)
}

func setNodeEvent(exec, h, ev uintptr, typ int32) Result {
	n, r := nodeOf(h, typ)
	if r != Success {
		return r
	}
	ops, params, r := eventOps(ev, typ)
	if r != Success {
		return r
	}
	if exec == 0 {
		n.SetOps(ops, params)
		return Success
	}
	x, r := graphExec(exec)
	if r != Success {
		return r
	}
	return From(x.SetNodeOps(n, ops))
}

// GraphEventRecordNodeSetEvent is cuGraphEventRecordNodeSetEvent.
func GraphEventRecordNodeSetEvent(h, ev uintptr) Result {
	return setNodeEvent(0, h, ev, shim.GraphNodeEventRecord)
}

// GraphEventWaitNodeSetEvent is cuGraphEventWaitNodeSetEvent.
func GraphEventWaitNodeSetEvent(h, ev uintptr) Result {
	return setNodeEvent(0, h, ev, shim.GraphNodeWaitEvent)
}

// GraphExecEventRecordNodeSetEvent is cuGraphExecEventRecordNodeSetEvent: the executable
// graph's node changes, the graph's does not.
func GraphExecEventRecordNodeSetEvent(exec, h, ev uintptr) Result {
	if exec == 0 {
		return ErrorInvalidValue
	}
	return setNodeEvent(exec, h, ev, shim.GraphNodeEventRecord)
}

// GraphExecEventWaitNodeSetEvent is cuGraphExecEventWaitNodeSetEvent.
func GraphExecEventWaitNodeSetEvent(exec, h, ev uintptr) Result {
	if exec == 0 {
		return ErrorInvalidValue
	}
	return setNodeEvent(exec, h, ev, shim.GraphNodeWaitEvent)
}

// hostOps reads a CUDA_HOST_NODE_PARAMS (fn at 0, userData at 8).
func hostOps(params unsafe.Pointer) ([]shim.Node, []byte, Result) {
	if params == nil {
		return nil, nil, ErrorInvalidValue
	}
	p := append([]byte(nil), shim.View(params, 16)...)
	fn, data := uintptr(shim.Le.Uint64(p)), uintptr(shim.Le.Uint64(p[8:]))
	if fn == 0 {
		return nil, nil, ErrorInvalidValue
	}
	run := func() shim.Status { shim.RunHostFunc(fn, data); return shim.OK }
	return []shim.Node{{Kind: shim.NodeHost, Run: run}}, p, Success
}

// GraphAddHostNode is cuGraphAddHostNode: each launch calls fn(userData) in the graph's
// order. A server never calls a client's host function: its client runs it
// (remote/graphnode.go).
func GraphAddHostNode(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, numDeps uint64, params unsafe.Pointer) Result {
	if _, r := graph(h); r != Success {
		return r
	}
	ops, p, r := hostOps(params)
	if r != Success {
		return r
	}
	return addNode(out, h, deps, numDeps, shim.GraphNodeHost, ops, p)
}

// GraphHostNodeGetParams is cuGraphHostNodeGetParams.
func GraphHostNodeGetParams(h uintptr, out unsafe.Pointer) Result {
	n, r := nodeOf(h, shim.GraphNodeHost)
	if r != Success {
		return r
	}
	if out == nil || len(n.Params) != 16 {
		return ErrorInvalidValue
	}
	copy(shim.View(out, 16), n.Params)
	return Success
}

// GraphHostNodeSetParams is cuGraphHostNodeSetParams.
func GraphHostNodeSetParams(h uintptr, params unsafe.Pointer) Result {
	n, r := nodeOf(h, shim.GraphNodeHost)
	if r != Success {
		return r
	}
	ops, p, r := hostOps(params)
	if r != Success {
		return r
	}
	n.SetOps(ops, p)
	return Success
}

// GraphExecHostNodeSetParams is cuGraphExecHostNodeSetParams.
func GraphExecHostNodeSetParams(exec, h uintptr, params unsafe.Pointer) Result {
	x, r := graphExec(exec)
	if r != Success {
		return r
	}
	n, r := nodeOf(h, shim.GraphNodeHost)
	if r != Success {
		return r
	}
	ops, _, r := hostOps(params)
	if r != Success {
		return r
	}
	return From(x.SetNodeOps(n, ops))
}

// GraphAddChildGraphNode is cuGraphAddChildGraphNode: the node runs a copy of child's work,
// taken now, in child's order.
func GraphAddChildGraphNode(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, numDeps uint64, child uintptr) Result {
	c, r := graph(child)
	if r != Success {
		return r
	}
	if child == h {
		return ErrorInvalidValue
	}
	return addNode(out, h, deps, numDeps, shim.GraphNodeGraph, c.Snapshot(), nil)
}

// memsetOps reads a CUDA_MEMSET_NODE_PARAMS for the current context's device.
func memsetOps(params unsafe.Pointer) ([]shim.Node, []byte, Result) {
	d, r := ctxDevice()
	if r != Success {
		return nil, nil, r
	}
	if params == nil {
		return nil, nil, ErrorInvalidValue
	}
	p := append([]byte(nil), shim.View(params, 40)...)
	ops, st := shim.MemsetNodeOps(d, p)
	if st != shim.OK {
		return nil, nil, From(st)
	}
	return ops, p, Success
}

// GraphMemsetNodeGetParams is cuGraphMemsetNodeGetParams.
func GraphMemsetNodeGetParams(h uintptr, out unsafe.Pointer) Result {
	n, r := nodeOf(h, shim.GraphNodeMemset)
	if r != Success {
		return r
	}
	if out == nil || len(n.Params) != 40 { // a captured memset keeps no parameters
		return ErrorInvalidValue
	}
	copy(shim.View(out, 40), n.Params)
	return Success
}

// GraphMemsetNodeSetParams is cuGraphMemsetNodeSetParams.
func GraphMemsetNodeSetParams(h uintptr, params unsafe.Pointer) Result {
	return setNodeOps(h, shim.GraphNodeMemset, params, memsetOps)
}

// setNodeOps is a SetParams call of a node whose parameters the model keeps as operations
// (memset, memcpy): node h, of kind typ, gets what build makes of params.
func setNodeOps(h uintptr, typ int32, params unsafe.Pointer, build func(unsafe.Pointer) ([]shim.Node, []byte, Result)) Result {
	n, r := nodeOf(h, typ)
	if r != Success {
		return r
	}
	ops, p, r := build(params)
	if r != Success {
		return r
	}
	n.SetOps(ops, p)
	return Success
}

// execSetNodeOps is the executable graph's form of setNodeOps: exec's copy of node h changes,
// the graph's does not; ctx must be a context.
func execSetNodeOps(exec, h uintptr, typ int32, params unsafe.Pointer, ctx uintptr, build func(unsafe.Pointer) ([]shim.Node, []byte, Result)) Result {
	x, r := graphExec(exec)
	if r != Success {
		return r
	}
	if _, r := context(ctx); r != Success {
		return r
	}
	n, r := nodeOf(h, typ)
	if r != Success {
		return r
	}
	ops, _, r := build(params)
	if r != Success {
		return r
	}
	return From(x.SetNodeOps(n, ops))
}

// GraphExecMemsetNodeSetParams is cuGraphExecMemsetNodeSetParams (the context must be the
// node's device's; the model checks the fill against the current context's device).
func GraphExecMemsetNodeSetParams(exec, h uintptr, params unsafe.Pointer, ctx uintptr) Result {
	return execSetNodeOps(exec, h, shim.GraphNodeMemset, params, ctx, memsetOps)
}

// kernelOps reads a CUDA_KERNEL_NODE_PARAMS: func (0), grid x y z (8), block x y z (20),
// sharedMemBytes (32), kernelParams (40), extra (48); its _v2 form adds kern (56) and ctx
// (64), a CUkernel standing for func when func is NULL. The launch is checked as
// cuLaunchKernel checks it; the model keeps the argument array by reference, as its
// launches do (they run no device code).
func kernelOps(params unsafe.Pointer, size int) ([]shim.Node, []byte, Result) {
	d, r := ctxDevice()
	if r != Success {
		return nil, nil, r
	}
	if params == nil {
		return nil, nil, ErrorInvalidValue
	}
	b := append([]byte(nil), shim.View(params, size)...)
	f := uintptr(shim.Le.Uint64(b))
	if f == 0 && size > 56 {
		f = uintptr(shim.Le.Uint64(b[56:]))
	}
	k, ok := shim.Lookup[*shim.Kernel](shim.KindFunction, f)
	if !ok {
		return nil, nil, ErrorInvalidValue
	}
	dim := func(off int) shim.Dim3 {
		return shim.Dim3{X: shim.Le.Uint32(b[off:]), Y: shim.Le.Uint32(b[off+4:]), Z: shim.Le.Uint32(b[off+8:])}
	}
	lc := shim.LaunchConfig{Grid: dim(8), Block: dim(20), Shared: uint64(shim.Le.Uint32(b[32:]))}
	if st := shim.CheckLaunch(d, k, lc); st != shim.OK {
		return nil, nil, From(st)
	}
	args, extra := uintptr(shim.Le.Uint64(b[40:])), shim.Le.Uint64(b[48:])
	if extra != 0 && args != 0 {
		return nil, nil, ErrorInvalidValue
	}
	if extra != 0 {
		return nil, nil, ErrorNotSupported // the packed argument buffer is not kept in a node yet
	}
	return []shim.Node{{Kind: shim.NodeKernel, Kernel: k, Launch: lc, Args: args}}, b, Success
}

func addKernelNode(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, numDeps uint64, params unsafe.Pointer, size int) Result {
	if _, r := graph(h); r != Success {
		return r
	}
	ops, b, r := kernelOps(params, size)
	if r != Success {
		return r
	}
	return addNode(out, h, deps, numDeps, shim.GraphNodeKernel, ops, b)
}

// GraphAddKernelNode is cuGraphAddKernelNode (CUDA_KERNEL_NODE_PARAMS_v1).
func GraphAddKernelNode(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, numDeps uint64, params unsafe.Pointer) Result {
	return addKernelNode(out, h, deps, numDeps, params, 56)
}

// GraphAddKernelNode2 is cuGraphAddKernelNode_v2 (CUDA_KERNEL_NODE_PARAMS_v2).
func GraphAddKernelNode2(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, numDeps uint64, params unsafe.Pointer) Result {
	return addKernelNode(out, h, deps, numDeps, params, 72)
}

func kernelNodeGet(h uintptr, out unsafe.Pointer, size int) Result {
	n, r := nodeOf(h, shim.GraphNodeKernel)
	if r != Success {
		return r
	}
	if out == nil || len(n.Params) < 56 { // a captured launch keeps no parameters
		return ErrorInvalidValue
	}
	b := shim.View(out, size)
	clear(b)
	copy(b, n.Params)
	return Success
}

// GraphKernelNodeGetParams is cuGraphKernelNodeGetParams.
func GraphKernelNodeGetParams(h uintptr, out unsafe.Pointer) Result { return kernelNodeGet(h, out, 56) }

// GraphKernelNodeGetParams2 is cuGraphKernelNodeGetParams_v2.
func GraphKernelNodeGetParams2(h uintptr, out unsafe.Pointer) Result {
	return kernelNodeGet(h, out, 72)
}

func kernelNodeSet(exec, h uintptr, params unsafe.Pointer, size int) Result {
	n, r := nodeOf(h, shim.GraphNodeKernel)
	if r != Success {
		return r
	}
	ops, b, r := kernelOps(params, size)
	if r != Success {
		return r
	}
	if exec == 0 {
		n.SetOps(ops, b)
		return Success
	}
	x, r := graphExec(exec)
	if r != Success {
		return r
	}
	return From(x.SetNodeOps(n, ops))
}

// GraphKernelNodeSetParams is cuGraphKernelNodeSetParams: the graph's node changes; graphs
// already instantiated from it keep theirs.
func GraphKernelNodeSetParams(h uintptr, params unsafe.Pointer) Result {
	return kernelNodeSet(0, h, params, 56)
}

// GraphKernelNodeSetParams2 is cuGraphKernelNodeSetParams_v2.
func GraphKernelNodeSetParams2(h uintptr, params unsafe.Pointer) Result {
	return kernelNodeSet(0, h, params, 72)
}

// GraphExecKernelNodeSetParams is cuGraphExecKernelNodeSetParams: the function must stay.
func GraphExecKernelNodeSetParams(exec, h uintptr, params unsafe.Pointer) Result {
	if exec == 0 {
		return ErrorInvalidValue
	}
	return kernelNodeSet(exec, h, params, 56)
}

// GraphExecKernelNodeSetParams2 is cuGraphExecKernelNodeSetParams_v2.
func GraphExecKernelNodeSetParams2(exec, h uintptr, params unsafe.Pointer) Result {
	if exec == 0 {
		return ErrorInvalidValue
	}
	return kernelNodeSet(exec, h, params, 72)
}

// cuGraphInstantiate flags vgpu knows: auto-free on launch, upload, device launch, node priority.
const (
	instantiateUpload = 2
	instantiateKnown  = 0xf
)

// GraphExecGetFlags is cuGraphExecGetFlags: the flags it was instantiated with.
func GraphExecGetFlags(exec uintptr, out unsafe.Pointer) Result {
	x, r := graphExec(exec)
	if r != Success {
		return r
	}
	if !shim.PutU64(out, x.Flags) {
		return ErrorInvalidValue
	}
	return Success
}

// GraphInstantiateWithParams is cuGraphInstantiateWithParams. CUDA_GRAPH_INSTANTIATE_PARAMS:
// u64 flags at 0, the upload stream at 8, hErrNode_out at 16, result_out (u32) at 24:
// CUDA_GRAPH_INSTANTIATE_SUCCESS (0) or CUDA_GRAPH_INSTANTIATE_ERROR (1).
func GraphInstantiateWithParams(out unsafe.Pointer, h uintptr, params unsafe.Pointer) Result {
	if params == nil {
		return ErrorInvalidValue
	}
	b := shim.View(params, 32)
	flags, upload := shim.Le.Uint64(b), uintptr(shim.Le.Uint64(b[8:]))
	shim.Le.PutUint64(b[16:], 0)
	fail := func(r Result) Result {
		shim.Le.PutUint32(b[24:], 1)
		return r
	}
	g, r := graph(h)
	if r != Success {
		return fail(r)
	}
	if out == nil || flags&^instantiateKnown != 0 {
		return fail(ErrorInvalidValue)
	}
	if flags&instantiateUpload != 0 {
		if _, r := stream(upload); r != Success {
			return fail(r)
		}
	}
	x := shim.Instantiate(g)
	x.Flags = flags
	shim.PutPtr(out, x.Handle)
	shim.Le.PutUint32(b[24:], 0)
	return Success
}

// GraphExecUpdate1 is CUDA 11's cuGraphExecUpdate: the node that failed (none: the model
// reports the reason only) and the CUgraphExecUpdateResult.
func GraphExecUpdate1(exec, h uintptr, errNode, result unsafe.Pointer) Result {
	x, r := graphExec(exec)
	if r != Success {
		return r
	}
	g, r := graph(h)
	if r != Success {
		return r
	}
	if errNode == nil || result == nil {
		return ErrorInvalidValue
	}
	ok, why := x.Update(g)
	shim.PutPtr(errNode, 0)
	shim.PutI32(result, why)
	if !ok {
		return ErrorGraphExecUpdate
	}
	return Success
}
