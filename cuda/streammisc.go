package cuda

import (
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"vgpu/shim"
)

// Stream memory operations: cuStreamWaitValue32/64, cuStreamBatchMemOp (the writes are
// cuda/queries.go's StreamWriteValue*).
//
// A wait is stream work like a copy: it is evaluated when its stream reaches it. The model
// runs work as it is issued (a capture records it, and a graph launch replays it), so the
// wait polls the word then. A real GPU would stall the stream for ever on a word nobody
// writes; here the wait gives up after WaitValueTimeout and reports CUDA_ERROR_NOT_READY (the
// work issued before has not completed), so no caller, server session or other client hangs.
// Another thread of the program (or a host write to mapped memory) may satisfy it meanwhile.

// Wait comparisons (CUstreamWaitValue_flags) and the flush bit.
const (
	waitGEQ   = 0
	waitEQ    = 1
	waitAND   = 2
	waitNOR   = 3
	waitFlush = 1 << 30
)

// WaitValueTimeout bounds how long one wait polls its word.
var WaitValueTimeout = time.Second

// attrCanFlushRemoteWrites is CU_DEVICE_ATTRIBUTE_CAN_FLUSH_REMOTE_WRITES.
const attrCanFlushRemoteWrites = 98

// waitable checks that [addr, addr+size) is memory the device can wait on: the caller's
// device memory, or in a process that holds its own memory (the sim backend), pinned or
// registered host memory mapped for the device.
func waitable(addr uint64, size uint64) (hostSide bool, r Result) {
	if addr == 0 || addr%size != 0 {
		return false, ErrorInvalidValue
	}
	if _, st := shim.DeviceRange(uintptr(addr), size); st == shim.OK {
		return shim.S().Backend.Name() == "sim", Success
	}
	if shim.S().Backend.Name() == "sim" {
		if a := shim.S().Mem.Find(uintptr(addr)); a != nil && (a.Kind == shim.MemHost || a.Kind == shim.MemRegistered) &&
			shim.InRange(a.Base, uint64(a.Size), uintptr(addr), size) {
			return true, Success
		}
	}
	return false, ErrorInvalidValue
}

// readWord reads the size-byte word at addr: atomically where this process holds the
// memory, else through the backend (a GPU's memory, copied back).
func readWord(addr, size uint64, direct bool) (uint64, shim.Status) {
	if direct {
		if size == 4 {
			return uint64(atomic.LoadUint32((*uint32)(unsafe.Pointer(uintptr(addr))))), shim.OK
		}
		return atomic.LoadUint64((*uint64)(unsafe.Pointer(uintptr(addr)))), shim.OK
	}
	buf := new(uint64) // heap memory: the backend copies into it
	if st := shim.S().Backend.Copy(uintptr(unsafe.Pointer(buf)), uintptr(addr), size, shim.DeviceToHost); st != shim.OK {
		return 0, st
	}
	return *buf, shim.OK
}

// satisfied applies a wait's comparison to the word's value. GEQ compares cyclically, as
// the driver documents: (int)(*addr - value) >= 0 in the word's width.
func satisfied(word, value uint64, cmp uint32, size uint64) bool {
	mask := ^uint64(0)
	if size == 4 {
		mask = 0xffffffff
	}
	word, value = word&mask, value&mask
	switch cmp {
	case waitGEQ:
		d := (word - value) & mask
		return d&((mask>>1)+1) == 0
	case waitEQ:
		return word == value
	case waitAND:
		return word&value != 0
	default: // waitNOR
		return ^(word|value)&mask != 0
	}
}

// waitValue issues a wait on s.
func waitValue(s *shim.Stream, addr, value uint64, flags uint32, size uint64) Result {
	cmp := flags &^ waitFlush
	if cmp > waitNOR {
		return ErrorInvalidValue
	}
	if flags&waitFlush != 0 && s.Dev.Attrs[attrCanFlushRemoteWrites] == 0 {
		return ErrorNotSupported // the flag needs CAN_FLUSH_REMOTE_WRITES, which the device lacks
	}
	direct, r := waitable(addr, size)
	if r != Success {
		return r
	}
	return From(s.Enqueue(shim.Node{Kind: shim.NodeHost, Run: func() shim.Status {
		// Checked again when run: a captured wait replays later, when the memory may have
		// been freed and its addresses handed to another client.
		if _, r := waitable(addr, size); r != Success {
			return shim.ErrInvalidValue
		}
		deadline := time.Now().Add(WaitValueTimeout)
		for pause := time.Microsecond; ; pause = min(2*pause, time.Millisecond) {
			w, st := readWord(addr, size, direct)
			if st != shim.OK {
				return st
			}
			if satisfied(w, value, cmp, size) {
				return shim.OK
			}
			if time.Now().After(deadline) {
				return shim.ErrNotReady
			}
			time.Sleep(pause)
		}
	}}))
}

// StreamWaitValue32 is cuStreamWaitValue32 (and _v2): the stream waits until the 32-bit word
// at addr (4-byte aligned) compares with value as flags say.
func StreamWaitValue32(h uintptr, addr uint64, value uint32, flags uint32) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	return waitValue(s, addr, uint64(value), flags, 4)
}

// StreamWaitValue64 is cuStreamWaitValue64 (and _v2): an 8-byte aligned 64-bit word.
func StreamWaitValue64(h uintptr, addr uint64, value uint64, flags uint32) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	return waitValue(s, addr, value, flags, 8)
}

// StreamWaitValue32Ptsz is cuStreamWaitValue32_ptsz (and _v2_ptsz).
func StreamWaitValue32Ptsz(h uintptr, addr uint64, value uint32, flags uint32) Result {
	return StreamWaitValue32(ptsz(h), addr, value, flags)
}

// StreamWaitValue64Ptsz is cuStreamWaitValue64_ptsz (and _v2_ptsz).
func StreamWaitValue64Ptsz(h uintptr, addr uint64, value uint64, flags uint32) Result {
	return StreamWaitValue64(ptsz(h), addr, value, flags)
}

// CUstreamBatchMemOpType values and the size of one CUstreamBatchMemOpParams (a union).
const (
	memOpWait32       = 1
	memOpWrite32      = 2
	memOpFlushRemote  = 3
	memOpWait64       = 4
	memOpWrite64      = 5
	memOpBarrier      = 6
	memOpParamsSize   = 48
	maxBatchMemOps    = 256 // the driver's documented limit on count
	memOpBarrierScope = 1   // CU_STREAM_MEMORY_BARRIER_TYPE_GPU; 0 is _SYS
)

// StreamBatchMemOp is cuStreamBatchMemOp (and _v2): count operations, each a wait, write,
// flush or barrier, issued in order on the stream. The whole array is checked before any is
// issued, so a bad entry issues nothing.
func StreamBatchMemOp(h uintptr, count uint32, params unsafe.Pointer, flags uint32) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	if flags != 0 || count == 0 || count > maxBatchMemOps || params == nil {
		return ErrorInvalidValue
	}
	raw := unsafe.Slice((*byte)(params), int(count)*memOpParamsSize)
	type op struct {
		kind        uint32
		addr, value uint64
		flags       uint32
	}
	ops := make([]op, count)
	le := func(b []byte) uint64 {
		var v uint64
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[i])
		}
		return v
	}
	for i := range ops {
		p := raw[i*memOpParamsSize : (i+1)*memOpParamsSize]
		o := op{kind: uint32(le(p[0:4]))}
		switch o.kind {
		case memOpWait32, memOpWrite32, memOpWait64, memOpWrite64:
			o.addr, o.value, o.flags = le(p[8:16]), le(p[16:24]), uint32(le(p[24:28]))
			size := uint64(4)
			if o.kind == memOpWait64 || o.kind == memOpWrite64 {
				size = 8
			}
			if o.kind == memOpWait32 || o.kind == memOpWait64 {
				if o.flags&^waitFlush > waitNOR {
					return ErrorInvalidValue
				}
				if _, r := waitable(o.addr, size); r != Success {
					return r
				}
			} else if o.flags&^writeNoBarrier != 0 || o.addr == 0 || o.addr%size != 0 {
				return ErrorInvalidValue
			} else if _, st := shim.DeviceRange(uintptr(o.addr), size); st != shim.OK {
				return From(st)
			}
		case memOpFlushRemote:
			if le(p[4:8]) != 0 {
				return ErrorInvalidValue
			}
			if s.Dev.Attrs[attrCanFlushRemoteWrites] == 0 {
				return ErrorNotSupported
			}
		case memOpBarrier:
			if le(p[4:8]) > memOpBarrierScope {
				return ErrorInvalidValue
			}
		default:
			return ErrorInvalidValue
		}
		ops[i] = o
	}
	for _, o := range ops {
		var r Result
		switch o.kind {
		case memOpWait32:
			r = waitValue(s, o.addr, o.value, o.flags, 4)
		case memOpWait64:
			r = waitValue(s, o.addr, o.value, o.flags, 8)
		case memOpWrite32:
			r = StreamWriteValue32(h, o.addr, uint32(o.value), o.flags)
		case memOpWrite64:
			r = StreamWriteValue64(h, o.addr, o.value, o.flags)
		default:
			// A flush or barrier orders memory: the model's work is already ordered and visible.
		}
		if r != Success {
			return r
		}
	}
	return Success
}

// StreamBatchMemOpPtsz is cuStreamBatchMemOp_ptsz (and _v2_ptsz).
func StreamBatchMemOpPtsz(h uintptr, count uint32, params unsafe.Pointer, flags uint32) Result {
	return StreamBatchMemOp(ptsz(h), count, params, flags)
}

// Legacy context attachment (cuCtxAttach / cuCtxDetach): a usage count on a context that
// cuCtxCreate made or cuCtxAttach handed out; detaching the last use destroys it.
var (
	attachMu sync.Mutex
	attached = map[uintptr]int{} // context handle -> cuCtxAttach calls not yet detached
)

// CtxAttach is cuCtxAttach: the current context, with its usage count raised.
func CtxAttach(pctx unsafe.Pointer, flags uint32) Result {
	c, r := current()
	if r != Success {
		return r
	}
	if pctx == nil || flags != 0 {
		return ErrorInvalidValue
	}
	attachMu.Lock()
	attached[c.Handle]++
	attachMu.Unlock()
	shim.PutPtr(pctx, c.Handle)
	return Success
}

// CtxDetach is cuCtxDetach: ctx must be current to the thread; one use fewer, and the
// context is destroyed when none is left (a primary context is never destroyed so).
func CtxDetach(h uintptr) Result {
	c, r := current()
	if r != Success {
		return r
	}
	if h == 0 || c.Handle != h {
		return ErrorInvalidContext
	}
	attachMu.Lock()
	n := attached[h]
	if n > 0 {
		if n == 1 {
			delete(attached, h)
		} else {
			attached[h] = n - 1
		}
	}
	attachMu.Unlock()
	if n > 0 || c.Primary {
		return Success
	}
	return CtxDestroy(h)
}

// CtxResetPersistingL2Cache is cuCtxResetPersistingL2Cache: the model keeps no L2 lines, so
// there is nothing persisting to reset; it needs a current context as the driver does.
func CtxResetPersistingL2Cache() Result {
	_, r := current()
	return r
}

// FlushGPUDirectRDMAWrites is cuFlushGPUDirectRDMAWrites: target CURRENT_CTX (0), scope
// TO_OWNER (100) or TO_ALL_DEVICES (200). The model's writes are visible as they happen.
func FlushGPUDirectRDMAWrites(target, scope int32) Result {
	c, r := current()
	if r != Success {
		return r
	}
	if target != 0 || (scope != 100 && scope != 200) {
		return ErrorInvalidValue
	}
	if c.Dev.Attrs[shim.AttrGPUDirectRDMAFlushWrites] == 0 {
		return ErrorNotSupported
	}
	return Success
}

// Profiler control: no profiler is attached to the model, so starting and stopping
// collection has no effect; the calls check what the driver checks. cuProfilerInitialize
// never opens its files.

// ProfilerInitialize is cuProfilerInitialize (deprecated): output mode key-value (0) or CSV (1).
func ProfilerInitialize(config, output uintptr, mode int32) Result {
	if r := codeContext(); r != Success {
		return r
	}
	if output == 0 || (mode != 0 && mode != 1) {
		return ErrorInvalidValue
	}
	return Success
}

// ProfilerStart is cuProfilerStart.
func ProfilerStart() Result { return codeContext() }

// ProfilerStop is cuProfilerStop.
func ProfilerStop() Result { return codeContext() }

// Multicast objects (cuMulticast*) bind memory of several GPUs behind one NVSwitch address.
// No modelled device has NVSwitch multicast (CU_DEVICE_ATTRIBUTE_MULTICAST_SUPPORTED is 0 on
// every profile), so, as NVIDIA's driver on such a machine, creating or using one answers
// CUDA_ERROR_NOT_SUPPORTED once the arguments are well formed.

// attrMulticastSupported is CU_DEVICE_ATTRIBUTE_MULTICAST_SUPPORTED.
const attrMulticastSupported = 132

// multicastProp checks a CUmulticastObjectProp: numDevices, size, handleTypes, flags.
func multicastProp(prop unsafe.Pointer) Result {
	if prop == nil {
		return ErrorInvalidValue
	}
	p := unsafe.Slice((*byte)(prop), 32)
	numDevices := *(*uint32)(unsafe.Pointer(&p[0]))
	size := *(*uint64)(unsafe.Pointer(&p[8]))
	flags := *(*uint64)(unsafe.Pointer(&p[24]))
	if numDevices == 0 || size == 0 || flags != 0 {
		return ErrorInvalidValue
	}
	return Success
}

// noMulticast answers for the visible devices: not supported unless one has multicast.
func noMulticast() Result {
	s, r := ready()
	if r != Success {
		return r
	}
	for i := 0; ; i++ {
		d := s.Device(i)
		if d == nil {
			return ErrorNotSupported
		}
		if d.Attrs[attrMulticastSupported] != 0 {
			return ErrorNotSupported // the model has no multicast fabric to back it either
		}
	}
}

// MulticastCreate is cuMulticastCreate.
func MulticastCreate(out unsafe.Pointer, prop unsafe.Pointer) Result {
	if _, r := ready(); r != Success {
		return r
	}
	if out == nil {
		return ErrorInvalidValue
	}
	if r := multicastProp(prop); r != Success {
		return r
	}
	return noMulticast()
}

// MulticastGetGranularity is cuMulticastGetGranularity: option MINIMUM (0) or RECOMMENDED (1).
func MulticastGetGranularity(out unsafe.Pointer, prop unsafe.Pointer, option int32) Result {
	if _, r := ready(); r != Success {
		return r
	}
	if out == nil || option < 0 || option > 1 {
		return ErrorInvalidValue
	}
	if r := multicastProp(prop); r != Success {
		return r
	}
	return noMulticast()
}

// multicastHandle answers for a multicast handle: none can exist, so any is invalid.
func multicastHandle(h uint64) Result {
	if _, r := ready(); r != Success {
		return r
	}
	if r := noMulticast(); r != ErrorNotSupported {
		return r
	}
	return ErrorInvalidValue // no cuMulticastCreate ever succeeded, so h names nothing
}

// MulticastAddDevice is cuMulticastAddDevice.
func MulticastAddDevice(h uint64, dev int32) Result {
	if _, r := device(dev); r != Success {
		return r
	}
	return multicastHandle(h)
}

// MulticastBindMem is cuMulticastBindMem.
func MulticastBindMem(h, mcOffset, mem, memOffset, size, flags uint64) Result {
	return multicastHandle(h)
}

// MulticastBindAddr is cuMulticastBindAddr.
func MulticastBindAddr(h, mcOffset, ptr, size, flags uint64) Result {
	return multicastHandle(h)
}

// MulticastUnbind is cuMulticastUnbind.
func MulticastUnbind(h uint64, dev int32, mcOffset, size uint64) Result {
	if _, r := device(dev); r != Success {
		return r
	}
	return multicastHandle(h)
}

// Capture dependency flags (CUstreamUpdateCaptureDependencies_flags).
const (
	captureAddDeps = 0
	captureSetDeps = 1
)

// StreamUpdateCaptureDependencies is cuStreamUpdateCaptureDependencies: the stream must be
// capturing, and every node must be one of its capture's graph. The model records a capture
// in issue order, so the new set changes no order; it is checked and accepted.
func StreamUpdateCaptureDependencies(h uintptr, deps unsafe.Pointer, n uint64, flags uint32) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	return From(UpdateCaptureDependencies(s, deps, n, flags))
}

// UpdateCaptureDependencies is the rule the driver and the runtime share.
func UpdateCaptureDependencies(s *shim.Stream, deps unsafe.Pointer, n uint64, flags uint32) shim.Status {
	if flags != captureAddDeps && flags != captureSetDeps {
		return shim.ErrInvalidValue
	}
	c := s.Capturing()
	if c == nil {
		return shim.ErrIllegalState
	}
	if c.Invalidated {
		return shim.ErrCaptureInvalidated
	}
	_, st := c.Graph.NodesAt(deps, n)
	return st
}

// StreamUpdateCaptureDependenciesPtsz is cuStreamUpdateCaptureDependencies_ptsz.
func StreamUpdateCaptureDependenciesPtsz(h uintptr, deps unsafe.Pointer, n uint64, flags uint32) Result {
	return StreamUpdateCaptureDependencies(ptsz(h), deps, n, flags)
}

// Native atomic capabilities of a link (cuDeviceGetHostAtomicCapabilities,
// cuDeviceGetP2PAtomicCapabilities, and the runtime's forms): for each CUatomicOperation, the
// CUatomicOperationCapability bits the link does natively. They follow the model's device
// attributes: a link without native atomics (HOST_NATIVE_ATOMIC_SUPPORTED 0, as on every
// PCIe-attached profile; or the P2P attribute NATIVE_ATOMIC_SUPPORTED 0) does none, so every
// answer is 0; a link with them does what compute capability 9.0 does in memory.

// Capability bits.
const (
	atomicSigned    = 1
	atomicUnsigned  = 2
	atomicReduction = 4
	atomicScalar32  = 8
	atomicScalar64  = 16
	atomicScalar128 = 32
)

// atomicOps is the number of CUatomicOperation values: integer add, min, max, increment,
// decrement; and, or, xor; exchange, compare-and-swap; float add, min, max.
const atomicOps = 13

// nativeAtomics is what a link with native atomics does for operation op.
func nativeAtomics(op uint32) uint32 {
	switch {
	case op <= 7: // integer arithmetic and bitwise
		return atomicSigned | atomicUnsigned | atomicReduction | atomicScalar32 | atomicScalar64
	case op <= 9: // exchange and compare-and-swap, up to 128 bits
		return atomicSigned | atomicUnsigned | atomicScalar32 | atomicScalar64 | atomicScalar128
	case op == 10: // float add
		return atomicReduction | atomicScalar32 | atomicScalar64
	default: // float min, max
		return atomicScalar32 | atomicScalar64
	}
}

// atomicCaps fills caps for ops over a link that has native atomics or not.
func atomicCaps(caps, ops unsafe.Pointer, count uint32, native bool) Result {
	if caps == nil || ops == nil || count == 0 {
		return ErrorInvalidValue
	}
	in := unsafe.Slice((*uint32)(ops), count)
	out := unsafe.Slice((*uint32)(caps), count)
	for _, op := range in {
		if op >= atomicOps {
			return ErrorInvalidValue
		}
	}
	for i, op := range in {
		out[i] = 0
		if native {
			out[i] = nativeAtomics(op)
		}
	}
	return Success
}

// DeviceGetHostAtomicCapabilities is cuDeviceGetHostAtomicCapabilities.
func DeviceGetHostAtomicCapabilities(caps, ops unsafe.Pointer, count uint32, dev int32) Result {
	d, r := device(dev)
	if r != Success {
		return r
	}
	return atomicCaps(caps, ops, count, d.Attrs[shim.AttrHostNativeAtomic] != 0)
}

// p2pNativeAtomic is CU_DEVICE_P2P_ATTRIBUTE_NATIVE_ATOMIC_SUPPORTED.
const p2pNativeAtomic = 3

// DeviceGetP2PAtomicCapabilities is cuDeviceGetP2PAtomicCapabilities: two distinct devices.
func DeviceGetP2PAtomicCapabilities(caps, ops unsafe.Pointer, count uint32, src, dst int32) Result {
	a, r := device(src)
	if r != Success {
		return r
	}
	b, r := device(dst)
	if r != Success {
		return r
	}
	if a == b {
		return ErrorInvalidDevice
	}
	v, st := shim.P2PAttribute(a, b, p2pNativeAtomic)
	if st != shim.OK {
		return From(st)
	}
	return atomicCaps(caps, ops, count, v != 0)
}

// CUDA_COOPERATIVE_LAUNCH_MULTI_DEVICE_NO_PRE_LAUNCH_SYNC | _NO_POST_LAUNCH_SYNC.
const multiDeviceFlags = 3

// launchParamsSize is sizeof(CUDA_LAUNCH_PARAMS): function, grid and block (6 x 4 bytes),
// shared bytes, stream, kernel parameters.
const launchParamsSize = 56

// LaunchMultiDevice is cuLaunchCooperativeKernelMultiDevice (deprecated since CUDA 11.3, still
// in the driver): the same kernel, shape and shared memory on n devices, each launch on an
// explicitly created stream of its own device, issued as cooperative launches in list order
// with launch (the model orders work, so neither sync flag changes anything). A remote
// client cannot see a stream's device; its server checks each launch.
func LaunchMultiDevice(list uintptr, n, flags uint32, launch func(f uintptr, gx, gy, gz, bx, by, bz, shared uint32, h, params uintptr) Result) Result {
	if r := codeReady(); r != Success {
		return r
	}
	if list == 0 || n == 0 || int(n) > len(shim.S().Devices()) || flags&^multiDeviceFlags != 0 {
		return ErrorInvalidValue
	}
	type entry struct {
		f                              uintptr
		gx, gy, gz, bx, by, bz, shared uint32
		h, params                      uintptr
	}
	raw := unsafe.Slice((*byte)(unsafe.Pointer(list)), int(n)*launchParamsSize)
	u32 := func(b []byte) uint32 { return *(*uint32)(unsafe.Pointer(&b[0])) }
	u64 := func(b []byte) uintptr { return uintptr(*(*uint64)(unsafe.Pointer(&b[0]))) }
	es := make([]entry, n)
	seen := map[*shim.Device]bool{}
	for i := range es {
		p := raw[i*launchParamsSize:]
		e := entry{u64(p[0:]), u32(p[8:]), u32(p[12:]), u32(p[16:]), u32(p[20:]), u32(p[24:]), u32(p[28:]), u32(p[32:]), u64(p[40:]), u64(p[48:])}
		if e.h == 0 || e.h == shim.StreamLegacy || e.h == shim.StreamPerThread {
			return ErrorInvalidHandle // each launch needs a stream of its own
		}
		if i > 0 {
			a := es[0]
			if e.f != a.f || e.gx != a.gx || e.gy != a.gy || e.gz != a.gz || e.bx != a.bx || e.by != a.by || e.bz != a.bz || e.shared != a.shared {
				return ErrorInvalidValue
			}
		}
		if !ClientCode.Load() {
			st, ok := shim.Lookup[*shim.Stream](shim.KindStream, e.h)
			if !ok {
				return ErrorInvalidHandle
			}
			if seen[st.Dev] {
				return ErrorInvalidValue // two launches on one device
			}
			seen[st.Dev] = true
		}
		es[i] = e
	}
	for _, e := range es {
		if r := launch(e.f, e.gx, e.gy, e.gz, e.bx, e.by, e.bz, e.shared, e.h, e.params); r != Success {
			return r
		}
	}
	return Success
}

// LaunchCooperativeKernelMultiDevice is cuLaunchCooperativeKernelMultiDevice in this process.
func LaunchCooperativeKernelMultiDevice(list uintptr, n, flags uint32) Result {
	return LaunchMultiDevice(list, n, flags, LaunchCooperativeKernel)
}
