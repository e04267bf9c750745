package remote

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"unsafe"

	"vgpu/cuda"
	"vgpu/cudart"
	"vgpu/shim"
	"vgpu/shim/api"
	"vgpu/wire"
)

// Kernel and host nodes of graphs built by hand, over the connection (issue 13). Their
// parameters point into this process: a kernel node's argument array is packed here by the
// kernel's parameter layout, as a launch's is (launchWith), and sent as one block; a host
// node's function and data go to the server as two numbers it keeps. A graph with host
// nodes is launched in parts (wire.OpGraphLaunchPart): the server runs the work up to a
// host node, waits for it, and names the node; its function then runs here, and the launch
// goes on after it. The parameters a node was given are kept here, for the *GetParams calls.

var (
	// hostNodes counts the host nodes this client has made: until there is one, a graph
	// launch is forwarded as it always was, pipelined.
	hostNodes atomic.Int64
	// hostFns are the host functions this program gave: the only addresses a server's
	// answer may make this process call.
	hostFns sync.Map
	// nodeParams: node handle -> the parameter structure as the program gave it.
	nodeParams sync.Map
)

// nodeCall sends an OpGraphNode request; an add returns the server's node handle.
func nodeCall(r *wire.GraphNodeReq) (uint64, shim.Status) {
	resp, err := roundTrip(wire.OpGraphNode, r.Encode())
	if err != nil {
		return 0, shim.ErrNotSupported
	}
	if st := status(resp); st != shim.OK {
		return 0, st
	}
	if r.What == wire.GraphAddKernel || r.What == wire.GraphAddHost || r.What == wire.GraphAddCopy {
		if len(resp) != 9 {
			return 0, shim.ErrInvalidValue
		}
		return binary.LittleEndian.Uint64(resp[1:]), shim.OK
	}
	return 0, shim.OK
}

// depList reads the program's dependency array (bounded as in process).
func depList(deps unsafe.Pointer, n uint64) ([]uint64, shim.Status) {
	if n == 0 {
		return nil, shim.OK
	}
	if deps == nil || n > wire.MaxGraphNodeDeps {
		return nil, shim.ErrInvalidValue
	}
	out := make([]uint64, n)
	for i := range out {
		out[i] = *(*uint64)(unsafe.Add(deps, 8*i))
	}
	return out, shim.OK
}

// kernelReq reads a kernel node's parameters (the driver's CUDA_KERNEL_NODE_PARAMS, size 56
// or 72, or the runtime's cudaKernelNodeParams, rt) into a request with the packed block.
func kernelReq(params unsafe.Pointer, size int, rt bool) (*wire.GraphNodeReq, []byte, shim.Status) {
	if params == nil {
		return nil, nil, shim.ErrInvalidValue
	}
	b := append([]byte(nil), shim.View(params, size)...)
	le := binary.LittleEndian
	var k *shim.Kernel
	if rt {
		if k = shim.KernelByHost(uintptr(le.Uint64(b))); k == nil {
			return nil, nil, shim.ErrInvalidDeviceFunction
		}
	} else {
		f := uintptr(le.Uint64(b))
		if f == 0 && size > 56 {
			f = uintptr(le.Uint64(b[56:]))
		}
		var ok bool
		if k, ok = shim.Lookup[*shim.Kernel](shim.KindFunction, f); !ok {
			return nil, nil, shim.ErrInvalidValue
		}
	}
	r := &wire.GraphNodeReq{Shared: le.Uint32(b[32:])}
	for i := range r.Dims {
		r.Dims[i] = le.Uint32(b[8+4*i:])
	}
	lc := shim.LaunchConfig{Grid: shim.Dim3{X: r.Dims[0], Y: r.Dims[1], Z: r.Dims[2]},
		Block: shim.Dim3{X: r.Dims[3], Y: r.Dims[4], Z: r.Dims[5]}, Shared: uint64(r.Shared)}
	d := shim.S().Device(0)
	if d == nil {
		return nil, nil, shim.ErrNoDevice
	}
	if st := shim.CheckLaunch(d, k, lc); st != shim.OK {
		return nil, nil, st
	}
	args, extra := uintptr(le.Uint64(b[40:])), uintptr(le.Uint64(b[48:]))
	if extra != 0 && (args != 0 || rt) {
		return nil, nil, shim.ErrInvalidValue // one form; the runtime's node takes kernelParams
	}
	rk, st := shipped(k)
	if st != shim.OK {
		return nil, nil, st
	}
	r.Func = rk.handle
	switch {
	case extra != 0:
		packed, ok := extraBuffer(extra)
		if !ok {
			return nil, nil, shim.ErrInvalidValue
		}
		if len(packed) > rk.size {
			return nil, nil, shim.ErrLaunchOutOfResources
		}
		r.Args = append(packed, make([]byte, rk.size-len(packed))...)
	case len(rk.params) > 0 && args == 0:
		return nil, nil, shim.ErrInvalidValue
	default:
		r.Args = make([]byte, rk.size)
		if len(rk.params) > 0 {
			slots := unsafe.Slice((*uintptr)(unsafe.Pointer(args)), len(rk.params))
			for i, q := range rk.params {
				copy(r.Args[q.Offset:], shim.Bytes(slots[i], uint64(q.Size)))
			}
		}
	}
	return r, b, shim.OK
}

// hostReq reads a host node's parameters (fn at 0, userData at 8).
func hostReq(params unsafe.Pointer) (*wire.GraphNodeReq, []byte, shim.Status) {
	if params == nil {
		return nil, nil, shim.ErrInvalidValue
	}
	b := append([]byte(nil), shim.View(params, 16)...)
	r := &wire.GraphNodeReq{Fn: binary.LittleEndian.Uint64(b), Data: binary.LittleEndian.Uint64(b[8:])}
	if r.Fn == 0 {
		return nil, nil, shim.ErrInvalidValue
	}
	return r, b, shim.OK
}

// node adds (graph set, node 0), sets in the graph (node set) or sets in an executable
// graph (exec set) a kernel or host node.
func node(host bool, out unsafe.Pointer, graph, exec, nodeH uintptr, deps unsafe.Pointer, numDeps uint64, params unsafe.Pointer, size int, rt bool) shim.Status {
	var r *wire.GraphNodeReq
	var b []byte
	var st shim.Status
	if host {
		r, b, st = hostReq(params)
	} else {
		r, b, st = kernelReq(params, size, rt)
	}
	if st != shim.OK {
		return st
	}
	add, set, xset := wire.GraphAddKernel, wire.GraphSetKernel, wire.GraphExecSetKernel
	if host {
		add, set, xset = wire.GraphAddHost, wire.GraphSetHost, wire.GraphExecSetHost
	}
	switch {
	case graph != 0 || nodeH == 0:
		if out == nil {
			return shim.ErrInvalidValue
		}
		if r.Deps, st = depList(deps, numDeps); st != shim.OK {
			return st
		}
		r.What, r.Graph = uint32(add), uint64(graph)
	case exec != 0:
		r.What, r.Graph, r.Node = uint32(xset), uint64(exec), uint64(nodeH)
	default:
		r.What, r.Node = uint32(set), uint64(nodeH)
	}
	if host {
		hostFns.Store(uintptr(r.Fn), struct{}{})
		hostNodes.Add(1)
	}
	h, st := nodeCall(r)
	if st != shim.OK {
		return st
	}
	switch uint32(r.What) {
	case uint32(add):
		shim.PutPtr(out, uintptr(h))
		nodeParams.Store(h, b)
	case uint32(set):
		nodeParams.Store(uint64(nodeH), b)
	}
	return shim.OK
}

// getParams copies what node h was given (size bytes, zero past it).
func getParams(h uintptr, out unsafe.Pointer, size int, host bool) shim.Status {
	v, ok := nodeParams.Load(uint64(h))
	b, _ := v.([]byte)
	if !ok || out == nil || (host && len(b) != 16) || (!host && len(b) < 56) {
		return shim.ErrInvalidValue
	}
	dst := shim.View(out, size)
	clear(dst)
	copy(dst, b)
	return shim.OK
}

func cu(st shim.Status) int32        { return int32(cuda.From(st)) }
func rt(st shim.Status) cudart.Error { return cudart.From(st) }

// GraphAddKernelNodeCU is cuGraphAddKernelNode over the connection.
func GraphAddKernelNodeCU(out unsafe.Pointer, g uintptr, deps unsafe.Pointer, n uint64, p unsafe.Pointer) int32 {
	return cu(node(false, out, g, 0, 0, deps, n, p, 56, false))
}

// GraphAddKernelNode2 is cuGraphAddKernelNode_v2 over the connection.
func GraphAddKernelNode2(out unsafe.Pointer, g uintptr, deps unsafe.Pointer, n uint64, p unsafe.Pointer) int32 {
	return cu(node(false, out, g, 0, 0, deps, n, p, 72, false))
}

// GraphKernelNodeGetParamsCU is cuGraphKernelNodeGetParams over the connection.
func GraphKernelNodeGetParamsCU(h uintptr, out unsafe.Pointer) int32 {
	return cu(getParams(h, out, 56, false))
}

// GraphKernelNodeGetParams2 is cuGraphKernelNodeGetParams_v2 over the connection.
func GraphKernelNodeGetParams2(h uintptr, out unsafe.Pointer) int32 {
	return cu(getParams(h, out, 72, false))
}

// GraphKernelNodeSetParamsCU is cuGraphKernelNodeSetParams over the connection.
func GraphKernelNodeSetParamsCU(h uintptr, p unsafe.Pointer) int32 {
	return cu(node(false, nil, 0, 0, h, nil, 0, p, 56, false))
}

// GraphKernelNodeSetParams2 is cuGraphKernelNodeSetParams_v2 over the connection.
func GraphKernelNodeSetParams2(h uintptr, p unsafe.Pointer) int32 {
	return cu(node(false, nil, 0, 0, h, nil, 0, p, 72, false))
}

// GraphExecKernelNodeSetParamsCU is cuGraphExecKernelNodeSetParams over the connection.
func GraphExecKernelNodeSetParamsCU(x, h uintptr, p unsafe.Pointer) int32 {
	if x == 0 || h == 0 {
		return int32(cuda.ErrorInvalidValue)
	}
	return cu(node(false, nil, 0, x, h, nil, 0, p, 56, false))
}

// GraphExecKernelNodeSetParams2 is cuGraphExecKernelNodeSetParams_v2 over the connection.
func GraphExecKernelNodeSetParams2(x, h uintptr, p unsafe.Pointer) int32 {
	if x == 0 || h == 0 {
		return int32(cuda.ErrorInvalidValue)
	}
	return cu(node(false, nil, 0, x, h, nil, 0, p, 72, false))
}

// GraphAddHostNodeCU is cuGraphAddHostNode over the connection.
func GraphAddHostNodeCU(out unsafe.Pointer, g uintptr, deps unsafe.Pointer, n uint64, p unsafe.Pointer) int32 {
	return cu(node(true, out, g, 0, 0, deps, n, p, 16, false))
}

// GraphHostNodeGetParamsCU is cuGraphHostNodeGetParams over the connection.
func GraphHostNodeGetParamsCU(h uintptr, out unsafe.Pointer) int32 {
	return cu(getParams(h, out, 16, true))
}

// GraphHostNodeSetParamsCU is cuGraphHostNodeSetParams over the connection.
func GraphHostNodeSetParamsCU(h uintptr, p unsafe.Pointer) int32 {
	if h == 0 {
		return int32(cuda.ErrorInvalidValue)
	}
	return cu(node(true, nil, 0, 0, h, nil, 0, p, 16, false))
}

// GraphExecHostNodeSetParamsCU is cuGraphExecHostNodeSetParams over the connection.
func GraphExecHostNodeSetParamsCU(x, h uintptr, p unsafe.Pointer) int32 {
	if x == 0 || h == 0 {
		return int32(cuda.ErrorInvalidValue)
	}
	return cu(node(true, nil, 0, x, h, nil, 0, p, 16, false))
}

// GraphAddKernelNode is cudaGraphAddKernelNode over the connection.
func GraphAddKernelNode(out unsafe.Pointer, g uintptr, deps unsafe.Pointer, n uint64, p unsafe.Pointer) cudart.Error {
	return rt(node(false, out, g, 0, 0, deps, n, p, 56, true))
}

// GraphKernelNodeGetParams is cudaGraphKernelNodeGetParams over the connection.
func GraphKernelNodeGetParams(h uintptr, out unsafe.Pointer) cudart.Error {
	return rt(getParams(h, out, 56, false))
}

// GraphKernelNodeSetParams is cudaGraphKernelNodeSetParams over the connection.
func GraphKernelNodeSetParams(h uintptr, p unsafe.Pointer) cudart.Error {
	if h == 0 {
		return cudart.ErrorInvalidValue
	}
	return rt(node(false, nil, 0, 0, h, nil, 0, p, 56, true))
}

// GraphExecKernelNodeSetParams is cudaGraphExecKernelNodeSetParams over the connection.
func GraphExecKernelNodeSetParams(x, h uintptr, p unsafe.Pointer) cudart.Error {
	if x == 0 || h == 0 {
		return cudart.ErrorInvalidValue
	}
	return rt(node(false, nil, 0, x, h, nil, 0, p, 56, true))
}

// GraphAddHostNode is cudaGraphAddHostNode over the connection.
func GraphAddHostNode(out unsafe.Pointer, g uintptr, deps unsafe.Pointer, n uint64, p unsafe.Pointer) cudart.Error {
	return rt(node(true, out, g, 0, 0, deps, n, p, 16, true))
}

// GraphHostNodeGetParams is cudaGraphHostNodeGetParams over the connection.
func GraphHostNodeGetParams(h uintptr, out unsafe.Pointer) cudart.Error {
	return rt(getParams(h, out, 16, true))
}

// GraphHostNodeSetParams is cudaGraphHostNodeSetParams over the connection.
func GraphHostNodeSetParams(h uintptr, p unsafe.Pointer) cudart.Error {
	if h == 0 {
		return cudart.ErrorInvalidValue
	}
	return rt(node(true, nil, 0, 0, h, nil, 0, p, 16, true))
}

// GraphExecHostNodeSetParams is cudaGraphExecHostNodeSetParams over the connection.
func GraphExecHostNodeSetParams(x, h uintptr, p unsafe.Pointer) cudart.Error {
	if x == 0 || h == 0 {
		return cudart.ErrorInvalidValue
	}
	return rt(node(true, nil, 0, x, h, nil, 0, p, 16, true))
}

// Once this client has host nodes, its graph launches go in parts (launchParts); before, as
// they always were.
func init() {
	for i := range api.Functions {
		f := &api.Functions[i]
		switch f.Name {
		case "cuGraphLaunch", "cuGraphLaunch_ptsz", "cudaGraphLaunch", "cudaGraphLaunch_ptsz":
			lib := f.Lib
			beforeCall[f.Op] = func(_ *api.Func, v []wire.Value) (uint64, bool) {
				if hostNodes.Load() == 0 {
					return 0, false
				}
				st := launchParts(v[0].U, v[1].U)
				if lib == "cuda" {
					return uint64(cuda.From(st)), true
				}
				return uint64(cudart.From(st)), true
			}
		}
	}
}

// launchParts launches exec on stream (already the server's handle) in parts, running each
// host node's function here between them.
func launchParts(exec, stream uint64) shim.Status {
	from := uint32(0)
	for {
		resp, err := roundTrip(wire.OpGraphLaunchPart, wire.EncodeLaunchPart(exec, stream, from))
		if err != nil {
			return shim.ErrNotSupported
		}
		st, next, fn, data, err := wire.DecodeLaunchPartReply(resp)
		if err != nil {
			return shim.ErrInvalidValue
		}
		if shim.Status(st) != shim.OK {
			return shim.Status(st)
		}
		if next == wire.GraphLaunchDone {
			mu.Lock()
			postedLocked(stream) // the launch's work is the server's now: the stream's next sync asks
			mu.Unlock()
			return shim.OK
		}
		if next <= from {
			return shim.ErrInvalidValue
		}
		if cs, ok := copies.Load(fn); ok { // a copy this process makes
			if st := runCopies(cs.([]cuda.Copy2D)); st != shim.OK {
				return st
			}
			from = next
			continue
		}
		if _, ok := hostFns.Load(uintptr(fn)); !ok {
			return shim.ErrInvalidValue // never a function this program did not give
		}
		shim.RunHostFunc(uintptr(fn), uintptr(data))
		from = next
	}
}
