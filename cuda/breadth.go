package cuda

import (
	"sync"
	"unsafe"

	"vgpu/shim"
)

// Streams, events, contexts, peers and memory as driver-API programs use them: the same
// model the runtime uses (shim), with the driver's argument forms and CUresult codes.

// StreamCreateWithPriority is cuStreamCreateWithPriority; priorities clamp to [-5, 0], as
// the runtime's do.
func StreamCreateWithPriority(out unsafe.Pointer, flags uint32, priority int32) Result {
	d, r := ctxDevice()
	if r != Success {
		return r
	}
	if out == nil || flags&^1 != 0 {
		return ErrorInvalidValue
	}
	priority = min(max(priority, -5), 0)
	shim.PutPtr(out, shim.NewStream(d, flags, priority).Handle)
	return Success
}

// StreamGetPriority is cuStreamGetPriority.
func StreamGetPriority(h uintptr, p unsafe.Pointer) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	if !shim.PutI32(p, s.Priority) {
		return ErrorInvalidValue
	}
	return Success
}

// StreamGetFlags is cuStreamGetFlags.
func StreamGetFlags(h uintptr, flags unsafe.Pointer) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	if !shim.PutU32(flags, s.Flags) {
		return ErrorInvalidValue
	}
	return Success
}

// StreamGetCtx is cuStreamGetCtx: the current context when the stream is on its device,
// else that device's primary context.
func StreamGetCtx(h uintptr, pctx unsafe.Pointer) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	if pctx == nil {
		return ErrorInvalidValue
	}
	c := shim.CurrentContext()
	if c == nil || c.Dev != s.Dev {
		c = shim.PrimaryContext(s.Dev)
	}
	shim.PutPtr(pctx, c.Handle)
	return Success
}

// StreamGetDevice is cuStreamGetDevice.
func StreamGetDevice(h uintptr, dev unsafe.Pointer) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	if !shim.PutI32(dev, int32(shim.S().Ordinal(s.Dev))) {
		return ErrorInvalidValue
	}
	return Success
}

// StreamGetId is cuStreamGetId: unique in the process, never reused (the runtime's id too).
func StreamGetId(h uintptr, id unsafe.Pointer) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	if !shim.PutU64(id, s.ID) {
		return ErrorInvalidValue
	}
	return Success
}

// StreamWaitEvent is cuStreamWaitEvent (flags: default, or CU_EVENT_WAIT_EXTERNAL).
func StreamWaitEvent(h, ev uintptr, flags uint32) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	e, r := event(ev)
	if r != Success {
		return r
	}
	if flags&^1 != 0 {
		return ErrorInvalidValue
	}
	return From(s.WaitOn(e))
}

// StreamBeginCapture is cuStreamBeginCapture_v2 (and the older name, the same form).
func StreamBeginCapture(h uintptr, mode int32) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	return From(s.BeginCapture(mode))
}

// StreamEndCapture is cuStreamEndCapture.
func StreamEndCapture(h uintptr, graph unsafe.Pointer) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	if graph == nil {
		return ErrorInvalidValue
	}
	g, st := s.EndCapture()
	if st != shim.OK {
		shim.PutPtr(graph, 0)
		return From(st)
	}
	shim.PutPtr(graph, g.Handle)
	return Success
}

// StreamBeginCapture1 is cuStreamBeginCapture's first form (CUDA 10.0), before it took a
// mode: a global capture.
func StreamBeginCapture1(h uintptr) Result { return StreamBeginCapture(h, 0) }

// captureStatus is CUstreamCaptureStatus: none, active, invalidated.
func captureStatus(c *shim.Capture) int32 {
	switch {
	case c == nil:
		return 0
	case c.Invalidated:
		return 2
	}
	return 1
}

// StreamIsCapturing is cuStreamIsCapturing.
func StreamIsCapturing(h uintptr, status unsafe.Pointer) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	if !shim.PutI32(status, captureStatus(s.Capturing())) {
		return ErrorInvalidValue
	}
	return Success
}

// StreamGetCaptureInfo is cuStreamGetCaptureInfo_v2: the status, and while capturing the
// capture's id and graph. The model records a capture as a sequence, not a set of open
// dependency nodes, so it reports none (a node added to the graph by hand then starts a
// branch, which the sequence joins at the end).
func StreamGetCaptureInfo(h uintptr, status, id, graph, deps, numDeps unsafe.Pointer) Result {
	return StreamGetCaptureInfo3(h, status, id, graph, deps, nil, numDeps)
}

// StreamGetCaptureInfo1 is cuStreamGetCaptureInfo's first form: status and id only.
func StreamGetCaptureInfo1(h uintptr, status, id unsafe.Pointer) Result {
	return StreamGetCaptureInfo3(h, status, id, nil, nil, nil, nil)
}

// StreamGetCaptureInfo3 is cuStreamGetCaptureInfo_v3 (CUDA 13's cuStreamGetCaptureInfo),
// with edge data.
func StreamGetCaptureInfo3(h uintptr, status, id, graph, deps, edges, numDeps unsafe.Pointer) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	if status == nil {
		return ErrorInvalidValue
	}
	c := s.Capturing()
	shim.PutI32(status, captureStatus(c))
	if c == nil {
		return Success
	}
	shim.PutU64(id, c.ID)
	if c.Graph != nil {
		shim.PutPtr(graph, c.Graph.Handle)
	}
	shim.PutPtr(deps, 0)
	shim.PutPtr(edges, 0)
	shim.PutU64(numDeps, 0)
	return Success
}

// ThreadExchangeStreamCaptureMode is cuThreadExchangeStreamCaptureMode.
func ThreadExchangeStreamCaptureMode(mode unsafe.Pointer) Result {
	if r := codeReady(); r != Success {
		return r
	}
	if mode == nil {
		return ErrorInvalidValue
	}
	m := *(*int32)(mode)
	if m < 0 || m > 2 {
		return ErrorInvalidValue
	}
	ts := shim.Thread()
	*(*int32)(mode), ts.Capture = ts.Capture, m
	return Success
}

// EventRecordWithFlags is cuEventRecordWithFlags (CU_EVENT_RECORD_EXTERNAL is 1).
// Within a capture, an external record is an event record node, a default one only an edge.
func EventRecordWithFlags(ev, h uintptr, flags uint32) Result {
	if flags&^1 != 0 {
		if _, r := event(ev); r != Success {
			return r
		}
		return ErrorInvalidValue
	}
	e, r := event(ev)
	if r != Success {
		return r
	}
	s, r := stream(h)
	if r != Success {
		return r
	}
	return From(e.RecordWith(s, flags&1 != 0))
}

// CtxSetFlags is cuCtxSetFlags: the scheduling policy (auto, spin, yield, blocking sync)
// and the documented option bits.
func CtxSetFlags(flags uint32) Result {
	c, r := current()
	if r != Success {
		return r
	}
	if flags&^0xff != 0 || flags&7 == 3 || flags&7 > 4 {
		return ErrorInvalidValue
	}
	c.SetFlags(flags)
	return Success
}

// CtxGetStreamPriorityRange is cuCtxGetStreamPriorityRange: [0, -5], as on Hopper; either
// output may be NULL.
func CtxGetStreamPriorityRange(least, greatest unsafe.Pointer) Result {
	if _, r := current(); r != Success {
		return r
	}
	shim.PutI32(least, 0)
	shim.PutI32(greatest, -5)
	return Success
}

// CtxGetLimit is cuCtxGetLimit: the current context's value.
func CtxGetLimit(value unsafe.Pointer, limit int32) Result {
	c, r := current()
	if r != Success {
		return r
	}
	v, ok := c.LimitValue(limit)
	if !ok || value == nil {
		return ErrorInvalidValue
	}
	shim.PutU64(value, v)
	return Success
}

// CtxSetLimit is cuCtxSetLimit.
func CtxSetLimit(limit int32, value uint64) Result {
	c, r := current()
	if r != Success {
		return r
	}
	if !shim.KnownLimit(limit) {
		return ErrorInvalidValue
	}
	c.SetLimit(limit, value)
	return Success
}

// Cache preferences per context (CUfunc_cache), a hint the model keeps to report back.
var (
	cacheConfigMu sync.Mutex
	cacheConfig   = map[*shim.Context]int32{}
)

// CtxGetCacheConfig is cuCtxGetCacheConfig.
func CtxGetCacheConfig(out unsafe.Pointer) Result {
	c, r := current()
	if r != Success {
		return r
	}
	cacheConfigMu.Lock()
	v := cacheConfig[c]
	cacheConfigMu.Unlock()
	if !shim.PutI32(out, v) {
		return ErrorInvalidValue
	}
	return Success
}

// CtxSetCacheConfig is cuCtxSetCacheConfig.
func CtxSetCacheConfig(config int32) Result {
	c, r := current()
	if r != Success {
		return r
	}
	if config < 0 || config > funcCacheLast {
		return ErrorInvalidValue
	}
	cacheConfigMu.Lock()
	cacheConfig[c] = config
	cacheConfigMu.Unlock()
	return Success
}

// CtxEnablePeerAccess is cuCtxEnablePeerAccess: the current context may then address the
// peer context's device memory.
func CtxEnablePeerAccess(peer uintptr, flags uint32) Result {
	c, r := current()
	if r != Success {
		return r
	}
	p, r := context(peer)
	if r != Success {
		return r
	}
	if flags != 0 {
		return ErrorInvalidValue
	}
	if p.Dev == c.Dev {
		return ErrorPeerUnsupported // cuDeviceCanAccessPeer(d, d) is 0, as NVIDIA's driver answers
	}
	if !c.SetPeerAccess(p.Dev, true) {
		return ErrorPeerAlreadyEnabled
	}
	return Success
}

// CtxDisablePeerAccess is cuCtxDisablePeerAccess.
func CtxDisablePeerAccess(peer uintptr) Result {
	c, r := current()
	if r != Success {
		return r
	}
	p, r := context(peer)
	if r != Success {
		return r
	}
	if !c.SetPeerAccess(p.Dev, false) {
		return ErrorPeerNotEnabled
	}
	return Success
}

// DeviceCanAccessPeer is cuDeviceCanAccessPeer: distinct virtual devices can.
func DeviceCanAccessPeer(can unsafe.Pointer, dev, peer int32) Result {
	a, r := device(dev)
	if r != Success {
		return r
	}
	b, r := device(peer)
	if r != Success {
		return r
	}
	if !shim.PutI32(can, b2i(a != b)) {
		return ErrorInvalidValue
	}
	return Success
}

// DeviceGetP2PAttribute is cuDeviceGetP2PAttribute (shim.P2PAttribute).
func DeviceGetP2PAttribute(value unsafe.Pointer, attr int32, src, dst int32) Result {
	a, r := device(src)
	if r != Success {
		return r
	}
	b, r := device(dst)
	if r != Success {
		return r
	}
	if value == nil {
		return ErrorInvalidValue
	}
	v, st := shim.P2PAttribute(a, b, attr)
	if st != shim.OK {
		return From(st)
	}
	shim.PutI32(value, v)
	return Success
}

// MemcpyDtoDAsync is cuMemcpyDtoDAsync_v2.
func MemcpyDtoDAsync(dst, src uint64, n uint64, h uintptr) Result {
	return memcpy(uintptr(dst), uintptr(src), n, shim.DeviceToDevice, h)
}

// MemcpyPeer is cuMemcpyPeer: both contexts must be live; the model's devices share one
// address space, so the copy is a device-to-device copy.
func MemcpyPeer(dst uint64, dstCtx uintptr, src uint64, srcCtx uintptr, n uint64) Result {
	return MemcpyPeerAsync(dst, dstCtx, src, srcCtx, n, 0)
}

// MemcpyPeerAsync is cuMemcpyPeerAsync.
func MemcpyPeerAsync(dst uint64, dstCtx uintptr, src uint64, srcCtx uintptr, n uint64, h uintptr) Result {
	if _, r := context(dstCtx); r != Success {
		return r
	}
	if _, r := context(srcCtx); r != Success {
		return r
	}
	return memcpy(uintptr(dst), uintptr(src), n, shim.DeviceToDevice, h)
}

// MemsetD16 is cuMemsetD16_v2: n 16-bit words.
func MemsetD16(dst uint64, v uint16, n uint64) Result { return MemsetD16Async(dst, v, n, 0) }

// MemsetD16Async is cuMemsetD16Async.
func MemsetD16Async(dst uint64, v uint16, n uint64, h uintptr) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	return From(shim.MemsetWords(s, uintptr(dst), uint32(v)|uint32(v)<<16, 2, n))
}

// MemsetD32Async is cuMemsetD32Async.
func MemsetD32Async(dst uint64, v uint32, n uint64, h uintptr) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	return From(shim.MemsetWords(s, uintptr(dst), v, 4, n))
}

func memset2D(dst, pitch uint64, v uint32, size, width, height uint64, h uintptr) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	return From(shim.Memset2D(s, uintptr(dst), pitch, v, size, width, height))
}

// MemsetD2D8 is cuMemsetD2D8_v2: height rows of width bytes, pitch bytes apart.
func MemsetD2D8(dst, pitch uint64, v uint8, width, height uint64) Result {
	return memset2D(dst, pitch, uint32(v), 1, width, height, 0)
}

// MemsetD2D8Async is cuMemsetD2D8Async.
func MemsetD2D8Async(dst, pitch uint64, v uint8, width, height uint64, h uintptr) Result {
	return memset2D(dst, pitch, uint32(v), 1, width, height, h)
}

// MemsetD2D16 is cuMemsetD2D16_v2: rows of width 16-bit words.
func MemsetD2D16(dst, pitch uint64, v uint16, width, height uint64) Result {
	return memset2D(dst, pitch, uint32(v)|uint32(v)<<16, 2, width, height, 0)
}

// MemsetD2D16Async is cuMemsetD2D16Async.
func MemsetD2D16Async(dst, pitch uint64, v uint16, width, height uint64, h uintptr) Result {
	return memset2D(dst, pitch, uint32(v)|uint32(v)<<16, 2, width, height, h)
}

// MemsetD2D32 is cuMemsetD2D32_v2: rows of width 32-bit words.
func MemsetD2D32(dst, pitch uint64, v uint32, width, height uint64) Result {
	return memset2D(dst, pitch, v, 4, width, height, 0)
}

// MemsetD2D32Async is cuMemsetD2D32Async.
func MemsetD2D32Async(dst, pitch uint64, v uint32, width, height uint64, h uintptr) Result {
	return memset2D(dst, pitch, v, 4, width, height, h)
}

// MemAllocPitch is cuMemAllocPitch_v2: rows padded to 512 bytes, as the runtime's
// cudaMallocPitch pads them; the element size must be 4, 8 or 16 bytes.
func MemAllocPitch(dptr, pitch unsafe.Pointer, width, height uint64, elemSize uint32) Result {
	d, r := ctxDevice()
	if r != Success {
		return r
	}
	if dptr == nil || pitch == nil || width == 0 || height == 0 || width > 1<<40 || height > 1<<40 ||
		(elemSize != 4 && elemSize != 8 && elemSize != 16) {
		return ErrorInvalidValue
	}
	p := (width + 511) &^ 511
	size, ok := shim.MulAdd(p, height, 0)
	if !ok {
		return ErrorOutOfMemory
	}
	a, st := shim.AllocDevice(d, size, shim.MemDevice)
	if st != shim.OK {
		return From(st)
	}
	shim.PutU64(dptr, uint64(a.Base))
	shim.PutU64(pitch, p)
	return Success
}

// MemAllocManaged is cuMemAllocManaged (CU_MEM_ATTACH_GLOBAL 1, or HOST 2).
func MemAllocManaged(dptr unsafe.Pointer, size uint64, flags uint32) Result {
	d, r := ctxDevice()
	if r != Success {
		return r
	}
	if dptr == nil || size == 0 || (flags != 1 && flags != 2) {
		return ErrorInvalidValue
	}
	a, st := shim.AllocDevice(d, size, shim.MemManaged)
	if st != shim.OK {
		return From(st)
	}
	shim.PutU64(dptr, uint64(a.Base))
	return Success
}

// MemHostGetDevicePointer is cuMemHostGetDevicePointer_v2: pinned and registered host
// memory is addressed by the device at the same address (unified addressing).
func MemHostGetDevicePointer(out unsafe.Pointer, host uintptr, flags uint32) Result {
	if r := HostGate(true); r != Success {
		return r
	}
	a := shim.S().Mem.Find(host)
	if out == nil || flags != 0 || a == nil || (a.Kind != shim.MemHost && a.Kind != shim.MemRegistered) {
		return ErrorInvalidValue
	}
	shim.PutU64(out, uint64(shim.HostDevicePointer(a, host)))
	return Success
}

// MemHostGetFlags is cuMemHostGetFlags: the flags cuMemHostAlloc (or cuMemHostRegister) was
// given, with CU_MEMHOSTALLOC_DEVICEMAP, as unified addressing maps all pinned memory
// (shim.HostFlags).
func MemHostGetFlags(out unsafe.Pointer, host uintptr) Result {
	if r := HostGate(true); r != Success {
		return r
	}
	a := shim.S().Mem.Find(host)
	if out == nil || a == nil || (a.Kind != shim.MemHost && a.Kind != shim.MemRegistered) {
		return ErrorInvalidValue
	}
	shim.PutU32(out, shim.HostFlags(a))
	return Success
}

// PointerGetAttributes is cuPointerGetAttributes: each attribute into its slot of data; an
// attribute the pointer does not have leaves its slot as cuPointerGetAttribute's failure
// would, and the call fails only on bad arguments.
func PointerGetAttributes(n uint32, attrsAt, dataAt uintptr, p uint64) Result {
	if _, r := ready(); r != Success {
		return r
	}
	return PointerAttributesWith(PointerGetAttribute, n, attrsAt, dataAt, p)
}

// PointerAttributesWith is cuPointerGetAttributes over one cuPointerGetAttribute: the
// semantics', or a remote client's (remote/memmisc.go), whose caller's buffers are its own.
func PointerAttributesWith(one func(data unsafe.Pointer, attr int32, p uint64) Result, n uint32, attrsAt, dataAt uintptr, p uint64) Result {
	attrs, data := unsafe.Pointer(attrsAt), unsafe.Pointer(dataAt)
	if n == 0 || n > 64 || attrs == nil || data == nil {
		return ErrorInvalidValue
	}
	for i := uintptr(0); i < uintptr(n); i++ {
		slot := *(*unsafe.Pointer)(unsafe.Add(data, 8*i))
		if slot == nil {
			return ErrorInvalidValue
		}
	}
	for i := uintptr(0); i < uintptr(n); i++ {
		attr := *(*int32)(unsafe.Add(attrs, 4*i))
		slot := *(*unsafe.Pointer)(unsafe.Add(data, 8*i))
		r := one(slot, attr, p)
		if r == ErrorInvalidValue {
			pointerAttrDefault(slot, attr)
			continue
		}
		if r != Success {
			return r
		}
	}
	return Success
}

// pointerAttrDefault writes the value cuPointerGetAttributes gives an attribute the pointer
// lacks (memory CUDA does not know: "default NULL values", as NVIDIA documents it): zero, and
// CU_DEVICE_INVALID (-2) for the device ordinal, which NVIDIA's runtime reads as
// cudaMemoryTypeUnregistered. An attribute of unknown size is left as it was.
func pointerAttrDefault(slot unsafe.Pointer, attr int32) {
	size := map[int32]int{1: 8, 2: 4, 3: 8, 4: 8, 5: 16, 6: 4, 7: 8, 8: 4, 9: 4, 10: 4, 11: 8, 12: 8,
		13: 4, 14: 8, 15: 1, 16: 8, 17: 8, 18: 8, 19: 8}[attr]
	if size == 0 {
		return
	}
	clear(shim.View(slot, size))
	if attr == ptrAttrOrdinal {
		shim.PutI32(slot, -2)
	}
}

// LaunchCooperativeKernel is cuLaunchCooperativeKernel: a launch whose blocks must all be
// resident at once. It carries the cooperative launch attribute to the backend, and the model
// refuses a grid larger than can be co-resident.
func LaunchCooperativeKernel(f uintptr, gx, gy, gz, bx, by, bz, shared uint32, h uintptr, params uintptr) Result {
	return launchFunction(f, gx, gy, gz, bx, by, bz, shared, h, params, true)
}

// LaunchHostFuncCU is cuLaunchHostFunc: fn(data) runs once, in stream order (shim).
func LaunchHostFuncCU(h, fn, data uintptr) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	if fn == 0 {
		return ErrorInvalidValue
	}
	return From(s.LaunchHostFunc(fn, data))
}

// StreamAddCallbackCU is cuStreamAddCallback: flags must be 0; not capturable.
func StreamAddCallbackCU(h, fn, data uintptr, flags uint32) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	if fn == 0 || flags != 0 {
		return ErrorInvalidValue
	}
	return From(s.AddCallback(h, fn, data))
}
