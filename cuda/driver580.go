package cuda

import (
	"unsafe"

	"vgpu/shim"
)

// Driver 580's other additions: cuCtxCreate_v4, the context calls that name their context
// (cuCtxGetDevice_v2, cuCtxSynchronize_v2, cuCtxRecordEvent, cuCtxWaitEvent), the graph
// calls with edge data (the model's graphs hold default edges only, so edge data reads back
// as the default and other edge data is refused), cuGraphAddNode_v2 over the node kinds
// the driver API builds today, async notifications and batch decompression.

// CtxCreate4Ops are what cuCtxCreate_v4 calls once its CUctxCreateParams is read: in the
// program's process the semantics, in a remote client forwarded calls.
type CtxCreate4Ops struct {
	Create3      func(pctx, aff unsafe.Pointer, n int32, flags uint32, dev int32) Result
	CIGSupported func(dev int32) (bool, Result)
}

// CtxCreate4With is cuCtxCreate_v4. CUctxCreateParams: execAffinityParams (0),
// numExecAffinityParams (8), cigParams (16). Execution affinity and CUDA-in-graphics are
// exclusive; the first needs MPS (cuCtxCreate_v3's answer), the second a device that
// reports CIG support (none of the model's).
func CtxCreate4With(ops CtxCreate4Ops, pctx unsafe.Pointer, params uintptr, flags uint32, dev int32) Result {
	if params == 0 {
		return ops.Create3(pctx, nil, 0, flags, dev)
	}
	p := unsafe.Pointer(params)
	aff := *(*unsafe.Pointer)(p)
	n := *(*int32)(unsafe.Add(p, 8))
	cig := *(*unsafe.Pointer)(unsafe.Add(p, 16))
	if n < 0 || (n > 0 && aff == nil) || (n > 0 && cig != nil) {
		return ErrorInvalidValue
	}
	if cig != nil {
		ok, r := ops.CIGSupported(dev)
		if r != Success {
			return r
		}
		if !ok {
			return ErrorNotSupported
		}
	}
	return ops.Create3(pctx, aff, n, flags, dev)
}

const (
	attrD3D12CIG  = 135 // CU_DEVICE_ATTRIBUTE_D3D12_CIG_SUPPORTED
	attrVulkanCIG = 138 // CU_DEVICE_ATTRIBUTE_VULKAN_CIG_SUPPORTED
	// attrDecompressMask is CU_DEVICE_ATTRIBUTE_MEM_DECOMPRESS_ALGORITHM_MASK: 0 on parts
	// without a decompression engine (all before Blackwell), as the profiles say.
	attrDecompressMask = 136
)

// CIGSupported says whether dev supports CUDA in graphics with D3D12 or Vulkan.
func CIGSupported(dev int32) (bool, Result) {
	d, r := device(dev)
	if r != Success {
		return false, r
	}
	return d.Attrs[attrD3D12CIG] != 0 || d.Attrs[attrVulkanCIG] != 0, Success
}

// CtxCreate4 is cuCtxCreate_v4 in the program's process.
func CtxCreate4(pctx unsafe.Pointer, params uintptr, flags uint32, dev int32) Result {
	return CtxCreate4With(CtxCreate4Ops{Create3: CtxCreate3, CIGSupported: CIGSupported}, pctx, params, flags, dev)
}

// CtxGetDevice2 is cuCtxGetDevice_v2: ctx's device, NULL meaning the current context.
func CtxGetDevice2(out unsafe.Pointer, h uintptr) Result {
	c, r := ctxOrCurrent(h)
	if r != Success {
		return r
	}
	if !shim.PutI32(out, int32(shim.S().Ordinal(c.Dev))) {
		return ErrorInvalidValue
	}
	return Success
}

// CtxSynchronize2 is cuCtxSynchronize_v2: waits for ctx's work (NULL: the current context).
func CtxSynchronize2(h uintptr) Result {
	if _, r := ctxOrCurrent(h); r != Success {
		return r
	}
	return From(shim.WaitBackend())
}

// ctxCapturing reports whether a stream of the caller's on c's device is capturing: a
// context's event cannot stand for work a capture records instead of running.
func ctxCapturing(c *shim.Context) bool {
	capturing := false
	shim.Each(shim.KindStream, func(_ uintptr, s *shim.Stream) {
		if s.Dev == c.Dev && s.Capturing() != nil {
			capturing = true
		}
	})
	return capturing
}

// CtxRecordEvent is cuCtxRecordEvent: the event completes when the context's work issued
// so far does.
func CtxRecordEvent(h, ev uintptr) Result {
	c, r := ctxOrCurrent(h)
	if r != Success {
		return r
	}
	if _, r := event(ev); r != Success {
		return r
	}
	if ctxCapturing(c) {
		return ErrorCaptureUnsupported
	}
	return recordOn(c.Dev, ev)
}

// CtxWaitEvent is cuCtxWaitEvent: the context's later work runs after the event.
func CtxWaitEvent(h, ev uintptr) Result {
	if _, r := ctxOrCurrent(h); r != Success {
		return r
	}
	return waitFor(ev)
}

// StreamGetDevicePtsz is cuStreamGetDevice_ptsz.
func StreamGetDevicePtsz(h uintptr, dev unsafe.Pointer) Result { return StreamGetDevice(ptsz(h), dev) }

// StreamGetCaptureInfo3Ptsz is cuStreamGetCaptureInfo_v3_ptsz.
func StreamGetCaptureInfo3Ptsz(h uintptr, status, id, graph, deps, edges, numDeps unsafe.Pointer) Result {
	return StreamGetCaptureInfo3(ptsz(h), status, id, graph, deps, edges, numDeps)
}

// defaultEdges reports whether n CUgraphEdgeData entries are all the default edge (NULL
// counts as default): the only edges the model's graphs hold.
func defaultEdges(p unsafe.Pointer, n uint64) bool {
	if p == nil {
		return true
	}
	if n > 1<<20 {
		return false
	}
	for _, c := range shim.View(p, int(8*n)) {
		if c != 0 {
			return false
		}
	}
	return true
}

// zeroEdges writes n default CUgraphEdgeData entries.
func zeroEdges(p unsafe.Pointer, n uint64) {
	if p != nil && n <= 1<<20 {
		clear(shim.View(p, int(8*n)))
	}
}

// GraphGetEdges2 is cuGraphGetEdges_v2: cuGraphGetEdges, and each edge's data.
func GraphGetEdges2(h uintptr, from, to, edgeData, num unsafe.Pointer) Result {
	if edgeData != nil && from == nil {
		return ErrorInvalidValue
	}
	var want uint64
	if num != nil && from != nil {
		want = *(*uint64)(num)
	}
	if r := GraphGetEdges(h, from, to, num); r != Success {
		return r
	}
	zeroEdges(edgeData, want)
	return Success
}

// GraphNodeGetDependencies2 is cuGraphNodeGetDependencies_v2.
func GraphNodeGetDependencies2(h uintptr, deps, edgeData, num unsafe.Pointer) Result {
	return withEdges(deps, edgeData, num, func() Result { return GraphNodeGetDependencies(h, deps, num) })
}

// GraphNodeGetDependentNodes2 is cuGraphNodeGetDependentNodes_v2.
func GraphNodeGetDependentNodes2(h uintptr, deps, edgeData, num unsafe.Pointer) Result {
	return withEdges(deps, edgeData, num, func() Result { return GraphNodeGetDependentNodes(h, deps, num) })
}

func withEdges(nodes, edgeData, num unsafe.Pointer, get func() Result) Result {
	if edgeData != nil && nodes == nil {
		return ErrorInvalidValue
	}
	var want uint64
	if num != nil && nodes != nil {
		want = *(*uint64)(num)
	}
	if r := get(); r != Success {
		return r
	}
	zeroEdges(edgeData, want)
	return Success
}

// GraphRemoveDependencies2 is cuGraphRemoveDependencies_v2: the edges named, with their
// data, must be there.
func GraphRemoveDependencies2(h uintptr, from, to, edgeData unsafe.Pointer, num uint64) Result {
	if _, r := graph(h); r != Success {
		return r
	}
	if !defaultEdges(edgeData, num) {
		return ErrorInvalidValue
	}
	return GraphRemoveDependencies(h, from, to, num)
}

// CUgraphNodeType values cuGraphAddNode_v2 reads.
const (
	nodeKernel      = 0
	nodeMemset      = 2
	nodeHost        = 3
	nodeGraph       = 4
	nodeEmpty       = 5
	nodeWaitEvent   = 6
	nodeEventRecord = 7
	nodeConditional = 13
)

// GraphAddNode2 is cuGraphAddNode_v2: cuGraphAddNode with edge data per dependency, which the
// model keeps as default edges only (anything else is refused).
func GraphAddNode2(out unsafe.Pointer, h uintptr, deps, depData unsafe.Pointer, num uint64, params unsafe.Pointer) Result {
	if _, r := graph(h); r != Success {
		return r
	}
	if !defaultEdges(depData, num) {
		return ErrorInvalidValue
	}
	return GraphAddNode(out, h, deps, num, params)
}

// asyncNotification is a CUasyncCallbackHandle. No resource event happens in the model, so
// its callback is kept, never called. It lives in the program's process, where a callback
// would run: a remote client registers here once the server has checked the device.
type asyncNotification struct {
	dev      int32
	fn, user uintptr
}

// DeviceRegisterAsyncNotification is cuDeviceRegisterAsyncNotification.
func DeviceRegisterAsyncNotification(dev int32, fn, user uintptr, out unsafe.Pointer) Result {
	if _, r := device(dev); r != Success {
		return r
	}
	return RegisterNotification(dev, fn, user, out)
}

// RegisterNotification registers fn for device dev, already checked.
func RegisterNotification(dev int32, fn, user uintptr, out unsafe.Pointer) Result {
	if fn == 0 || out == nil {
		return ErrorInvalidValue
	}
	shim.PutPtr(out, shim.NewHandle(shim.KindAsyncNotification, &asyncNotification{dev: dev, fn: fn, user: user}))
	return Success
}

// DeviceUnregisterAsyncNotification is cuDeviceUnregisterAsyncNotification: the handle must
// be one registered on dev.
func DeviceUnregisterAsyncNotification(dev int32, h uintptr) Result {
	if _, r := device(dev); r != Success {
		return r
	}
	return UnregisterNotification(dev, h)
}

// UnregisterNotification forgets registration h of device dev, already checked.
func UnregisterNotification(dev int32, h uintptr) Result {
	n, ok := shim.Lookup[*asyncNotification](shim.KindAsyncNotification, h)
	if !ok || n.dev != dev || !shim.Release(shim.KindAsyncNotification, h) {
		return ErrorInvalidValue
	}
	return Success
}

// MemBatchDecompressAsync is cuMemBatchDecompressAsync. Hopper, Ada, Ampere and Turing have
// no decompression engine (CU_DEVICE_ATTRIBUTE_MEM_DECOMPRESS_ALGORITHM_MASK is 0): a
// well-formed batch is not supported there, and no entry is to blame (*errorIndex SIZE_MAX).
func MemBatchDecompressAsync(params uintptr, count uint64, flags uint32, errIndex unsafe.Pointer, h uintptr) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	if params == 0 || count == 0 || flags != 0 {
		return ErrorInvalidValue
	}
	if s.Dev.Attrs[attrDecompressMask] == 0 {
		shim.PutU64(errIndex, ^uint64(0))
		return ErrorNotSupported
	}
	return ErrorNotSupported // no modelled part has one; a profile that claims one still runs none
}

// MemBatchDecompressAsyncPtsz is cuMemBatchDecompressAsync_ptsz.
func MemBatchDecompressAsyncPtsz(params uintptr, count uint64, flags uint32, errIndex unsafe.Pointer, h uintptr) Result {
	return MemBatchDecompressAsync(params, count, flags, errIndex, ptsz(h))
}
