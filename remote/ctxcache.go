package remote

import (
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"vgpu/shim"
	"vgpu/shim/api"
	"vgpu/wire"
)

// The server's current context, known in the client. NVIDIA's runtime on vgpu's driver (issue
// 14's driver-only mode) asks the driver for the current context twice and for its device once
// per cudaLaunchKernel, and cudaSetDevice sets the context that is already current: four round
// trips around a launch that is itself posted. The server runs all of a client's calls on one
// thread, so its current context is the connection's: the client mirrors it from the answers
// it saw, and answers cuCtxGetCurrent, cuCtxGetDevice and a cuCtxSetCurrent of the context
// already current itself, as the driver would. Any call that may change the server's current
// context (a context call other than a query, any runtime or cuBLAS call: the runtime makes
// its device's primary context current) forgets what was known: gen counts those, so an answer
// that raced with one is not kept.
var ctxKnown struct {
	sync.Mutex
	gen      uint64 // calls sent that may have changed the server's current context
	valid    bool   // cur is the server's current context
	cur      uint64 // 0: none
	devKnown bool
	dev      int32             // cur's device
	ids      map[uint64]uint64 // context -> cuCtxGetId's answer
	// Pushes of cur, the context already current, that the server has not been sent
	// (keepPush). cur cannot change while there are any: a call that may change it sends
	// them first (sendKeptPushesLocked).
	kept int
}

// connLost is set once the connection failed: every call then fails as the server's would
// have, none answered from what the client knew.
var connLost atomic.Bool

// changesCtx[op] is set for the calls that may change the server's current context.
var changesCtx = make([]bool, 1<<16)

func init() {
	for i := range changesCtx {
		if uint32(i) < wire.OpPut || uint32(i) > wire.OpLast { // the protocol's own ops keep it
			changesCtx[i] = true
		}
	}
	for _, f := range api.Functions {
		if f.Op < 0 || f.Op >= len(changesCtx) {
			continue
		}
		switch f.Lib {
		case "nvml":
			changesCtx[f.Op] = false
		case "cuda":
			changesCtx[f.Op] = f.Has("ctxswitch") || strings.Contains(f.Name, "Ctx") && !ctxQuery(f.Name)
		}
	}
	byName := api.ByName()
	getCurrent, getDevice, setCurrent := byName["cuCtxGetCurrent"], byName["cuCtxGetDevice"], byName["cuCtxSetCurrent"]
	beforeCall[getCurrent.Op] = func(f *api.Func, v []wire.Value) (uint64, bool) {
		if v[0].U == 0 {
			return 0, false // the server says what a NULL output is
		}
		ctxKnown.Lock()
		valid, cur, g0 := ctxKnown.valid, ctxKnown.cur, ctxKnown.gen
		ctxKnown.Unlock()
		if valid && !connLost.Load() {
			shim.PutPtr(unsafe.Pointer(uintptr(v[0].U)), uintptr(cur))
			return 0, true
		}
		r := forwardCall(f, v)
		if r == 0 {
			learnCtx(g0, *(*uint64)(unsafe.Pointer(uintptr(v[0].U))))
		}
		return r, true
	}
	beforeCall[getDevice.Op] = func(f *api.Func, v []wire.Value) (uint64, bool) {
		if v[0].U == 0 {
			return 0, false
		}
		ctxKnown.Lock()
		valid, cur, devKnown, dev, g0 := ctxKnown.valid, ctxKnown.cur, ctxKnown.devKnown, ctxKnown.dev, ctxKnown.gen
		ctxKnown.Unlock()
		if valid && cur != 0 && devKnown && !connLost.Load() {
			shim.PutI32(unsafe.Pointer(uintptr(v[0].U)), dev)
			return 0, true
		}
		r := forwardCall(f, v)
		if r == 0 && valid && cur != 0 {
			d := *(*int32)(unsafe.Pointer(uintptr(v[0].U)))
			ctxKnown.Lock()
			if ctxKnown.gen == g0 && ctxKnown.valid && ctxKnown.cur == cur {
				ctxKnown.dev, ctxKnown.devKnown = d, true
			}
			ctxKnown.Unlock()
		}
		return r, true
	}
	// cuCtxSetCurrent and cuCtxPushCurrent make their context current: after one succeeded
	// with nothing else changing contexts meanwhile (its own request counted once in gen),
	// the client knows it. Setting the context already current changes nothing on the server.
	setter := func(skipSame bool) func(*api.Func, []wire.Value) (uint64, bool) {
		return func(f *api.Func, v []wire.Value) (uint64, bool) {
			h := v[0].U
			ctxKnown.Lock()
			same := ctxKnown.valid && h != 0 && ctxKnown.cur == h
			g0 := ctxKnown.gen
			ctxKnown.Unlock()
			if same && skipSame && !connLost.Load() {
				return 0, true
			}
			if same && !skipSame && !connLost.Load() && keepPush(h) {
				return 0, true
			}
			r := forwardCall(f, v)
			if r == 0 && h != 0 {
				ctxKnown.Lock()
				if ctxKnown.gen == g0+1 {
					ctxKnown.valid, ctxKnown.cur = true, h
					if !same {
						ctxKnown.devKnown = false
					}
				}
				ctxKnown.Unlock()
			}
			return r, true
		}
	}
	// A context's id never changes; the ids of contexts seen are kept until a call that may
	// have destroyed one (any that may change the current context) is sent.
	beforeCall[byName["cuCtxGetId"].Op] = func(f *api.Func, v []wire.Value) (uint64, bool) {
		if v[1].U == 0 {
			return 0, false
		}
		h := v[0].U
		ctxKnown.Lock()
		if h == 0 && ctxKnown.valid {
			h = ctxKnown.cur
		}
		id, ok := ctxKnown.ids[h]
		g0 := ctxKnown.gen
		ctxKnown.Unlock()
		if h != 0 && ok && !connLost.Load() {
			*(*uint64)(unsafe.Pointer(uintptr(v[1].U))) = id
			return 0, true
		}
		r := forwardCall(f, v)
		if r == 0 && h != 0 {
			ctxKnown.Lock()
			if ctxKnown.gen == g0 {
				if ctxKnown.ids == nil {
					ctxKnown.ids = map[uint64]uint64{}
				}
				ctxKnown.ids[h] = *(*uint64)(unsafe.Pointer(uintptr(v[1].U)))
			}
			ctxKnown.Unlock()
		}
		return r, true
	}
	// A cuInit the server accepted initialises the client's driver state too, as a runtime
	// call does: the calls the client answers itself check it.
	afterCall[byName["cuInit"].Op] = func([]wire.Value) { shim.MarkInitialized() }
	// A device's attributes never change: each (attribute, device) the server answered is
	// answered here from then on (cuBLAS asks for the multiprocessor count before each GEMM).
	// Failures are not kept: a bad attribute or device gets the server's error every time.
	var attrs sync.Map // [2]int32{attrib, dev} -> int32
	beforeCall[byName["cuDeviceGetAttribute"].Op] = func(f *api.Func, v []wire.Value) (uint64, bool) {
		if v[0].U == 0 {
			return 0, false
		}
		key := [2]int32{int32(v[1].U), int32(v[2].U)}
		if a, ok := attrs.Load(key); ok && !connLost.Load() {
			shim.PutI32(unsafe.Pointer(uintptr(v[0].U)), a.(int32))
			return 0, true
		}
		r := forwardCall(f, v)
		if r == 0 {
			attrs.Store(key, *(*int32)(unsafe.Pointer(uintptr(v[0].U))))
		}
		return r, true
	}
	beforeCall[setCurrent.Op] = setter(true)
	for _, name := range []string{"cuCtxPushCurrent", "cuCtxPushCurrent_v2"} {
		beforeCall[byName[name].Op] = setter(false)
	}
	// Popping a push kept here pops it here: the popped context is the one pushed, and the
	// one current after it too (it was current before the push).
	for _, name := range []string{"cuCtxPopCurrent", "cuCtxPopCurrent_v2"} {
		beforeCall[byName[name].Op] = func(f *api.Func, v []wire.Value) (uint64, bool) {
			ctxKnown.Lock()
			kept, h := ctxKnown.kept > 0 && !connLost.Load(), ctxKnown.cur
			if kept {
				ctxKnown.kept--
			}
			ctxKnown.Unlock()
			if !kept {
				return 0, false
			}
			if v[0].U != 0 {
				*(*uint64)(unsafe.Pointer(uintptr(v[0].U))) = h
			}
			return 0, true
		}
	}
	pushV2 = byName["cuCtxPushCurrent_v2"]
}

// Pushing the context already current and popping it again changes nothing the server's
// other calls see: NVIDIA's runtime brackets each module load so, 782 pairs at cuBLAS's
// start-up, two round trips each. Such a push is kept here and the pop after it answered
// here. Before any call that may change or read the server's context stack (changesCtx) the
// pushes kept are sent (sendKeptPushesLocked), so its stack is the program's wherever that
// matters.
var pushV2 *api.Func

// keepPush keeps a push of h if h is still known to be current (another thread may have
// changed it since the caller looked); false sends the push to the server.
func keepPush(h uint64) bool {
	ctxKnown.Lock()
	defer ctxKnown.Unlock()
	if !ctxKnown.valid || ctxKnown.cur != h {
		return false
	}
	ctxKnown.kept++
	return true
}

// sendKeptPushesLocked sends the pushes kept here before a frame of op that may change or
// read the server's context stack; mu is held, and op's own frame is not yet numbered.
func sendKeptPushesLocked(op uint32) error {
	if int(op) < len(changesCtx) && !changesCtx[op] {
		return nil
	}
	ctxKnown.Lock()
	n, h := ctxKnown.kept, ctxKnown.cur
	ctxKnown.kept = 0
	ctxKnown.Unlock()
	for ; n > 0; n-- {
		req, err := wire.EncodeRequest(pushV2, []wire.Value{{U: h}})
		if err != nil {
			return err
		}
		if err := requestLocked(uint32(pushV2.Op), req); err != nil {
			return err
		}
		if _, err := readResponseLocked(); err != nil {
			return lostLocked(err)
		}
	}
	return nil
}

// ctxQuery reports whether a context call only reads (or waits): it leaves the current
// context as it was.
func ctxQuery(name string) bool {
	return strings.HasPrefix(name, "cuCtxGet") || strings.HasPrefix(name, "cuStreamGetCtx") ||
		strings.HasPrefix(name, "cuCtxSynchronize") || strings.HasPrefix(name, "cuGreenCtxGet") ||
		strings.HasPrefix(name, "cuGreenCtxStreamCreate") || strings.HasPrefix(name, "cuGreenCtxRecordEvent") ||
		strings.HasPrefix(name, "cuGreenCtxWaitEvent")
}

// learnCtx keeps cur as the server's current context if nothing that may have changed it
// was sent since gen was g0.
func learnCtx(g0, cur uint64) {
	ctxKnown.Lock()
	if ctxKnown.gen == g0 && !(ctxKnown.valid && ctxKnown.cur == cur) {
		ctxKnown.valid, ctxKnown.cur, ctxKnown.devKnown = true, cur, false
	}
	ctxKnown.Unlock()
}

// ctxSeeLocked forgets the server's current context when op may change it; mu is held.
func ctxSeeLocked(op uint32) {
	if int(op) < len(changesCtx) && !changesCtx[op] {
		return
	}
	ctxKnown.Lock()
	ctxKnown.gen++
	ctxKnown.valid = false
	clear(ctxKnown.ids)
	ctxKnown.Unlock()
}
