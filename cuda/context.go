package cuda

import (
	"unsafe"

	"vgpu/shim"
)

// context resolves a CUcontext handle.
func context(h uintptr) (*shim.Context, Result) {
	if _, r := ready(); r != Success {
		return nil, r
	}
	c, ok := shim.Lookup[*shim.Context](shim.KindContext, h)
	if !ok {
		return nil, ErrorInvalidContext
	}
	return c, Success
}

// current is the calling thread's current context.
func current() (*shim.Context, Result) {
	if _, r := ready(); r != Success {
		return nil, r
	}
	c := shim.CurrentContext()
	if c == nil {
		return nil, ErrorInvalidContext
	}
	return c, Success
}

// DevicePrimaryCtxRetain is cuDevicePrimaryCtxRetain.
func DevicePrimaryCtxRetain(pctx unsafe.Pointer, dev int32) Result {
	d, r := device(dev)
	if r != Success {
		return r
	}
	if pctx == nil {
		return ErrorInvalidValue
	}
	c := shim.PrimaryContext(d)
	c.Retain()
	shim.PutPtr(pctx, c.Handle)
	return Success
}

// DevicePrimaryCtxRelease is cuDevicePrimaryCtxRelease(_v2).
func DevicePrimaryCtxRelease(dev int32) Result {
	d, r := device(dev)
	if r != Success {
		return r
	}
	if !shim.PrimaryContext(d).ReleasePrimary() {
		return ErrorInvalidContext
	}
	return Success
}

// DevicePrimaryCtxReset is cuDevicePrimaryCtxReset(_v2): frees everything in it.
func DevicePrimaryCtxReset(dev int32) Result {
	d, r := device(dev)
	if r != Success {
		return r
	}
	shim.ResetDevice(d)
	contextGone(shim.PrimaryContext(d).Handle)
	return Success
}

// DevicePrimaryCtxGetState is cuDevicePrimaryCtxGetState.
func DevicePrimaryCtxGetState(dev int32, flags, active unsafe.Pointer) Result {
	d, r := device(dev)
	if r != Success {
		return r
	}
	if flags == nil || active == nil {
		return ErrorInvalidValue
	}
	f, a := shim.PrimaryContext(d).State()
	shim.PutU32(flags, f)
	shim.PutI32(active, b2i(a))
	return Success
}

// DevicePrimaryCtxSetFlags is cuDevicePrimaryCtxSetFlags(_v2).
func DevicePrimaryCtxSetFlags(dev int32, flags uint32) Result {
	d, r := device(dev)
	if r != Success {
		return r
	}
	if flags&^0x1f != 0 { // scheduling, map-host and resize-local-memory bits
		return ErrorInvalidValue
	}
	shim.PrimaryContext(d).SetFlags(flags)
	return Success
}

// CtxCreate is cuCtxCreate(_v2): a new context, pushed on the calling thread.
func CtxCreate(pctx unsafe.Pointer, flags uint32, dev int32) Result {
	d, r := device(dev)
	if r != Success {
		return r
	}
	if pctx == nil || flags&^0x1f != 0 {
		return ErrorInvalidValue
	}
	c := shim.NewContext(d, flags)
	ts := shim.Thread()
	ts.Ctx = append(ts.Ctx, c.Handle)
	shim.PutPtr(pctx, c.Handle)
	return Success
}

// CtxDestroy is cuCtxDestroy(_v2). Primary contexts cannot be destroyed this way.
func CtxDestroy(h uintptr) Result {
	c, r := context(h)
	if r != Success {
		return r
	}
	if c.Primary {
		return ErrorInvalidContext
	}
	shim.Release(shim.KindContext, h)
	contextGone(h)
	ts := shim.Thread()
	for i := len(ts.Ctx) - 1; i >= 0; i-- {
		if ts.Ctx[i] == h {
			ts.Ctx = append(ts.Ctx[:i], ts.Ctx[i+1:]...)
		}
	}
	return Success
}

// CtxPushCurrent is cuCtxPushCurrent(_v2).
func CtxPushCurrent(h uintptr) Result {
	if _, r := context(h); r != Success {
		return r
	}
	ts := shim.Thread()
	ts.Ctx = append(ts.Ctx, h)
	return Success
}

// CtxPopCurrent is cuCtxPopCurrent(_v2).
func CtxPopCurrent(pctx unsafe.Pointer) Result {
	c, r := current()
	if r != Success {
		return r
	}
	ts := shim.Thread()
	ts.Ctx = ts.Ctx[:len(ts.Ctx)-1]
	if pctx != nil {
		shim.PutPtr(pctx, c.Handle)
	}
	return Success
}

// CtxSetCurrent is cuCtxSetCurrent: replaces the top of the stack; NULL pops it.
func CtxSetCurrent(h uintptr) Result {
	if _, r := ready(); r != Success {
		return r
	}
	ts := shim.Thread()
	if h == 0 {
		if len(ts.Ctx) > 0 {
			ts.Ctx = ts.Ctx[:len(ts.Ctx)-1]
		}
		return Success
	}
	if _, r := context(h); r != Success {
		return r
	}
	if len(ts.Ctx) == 0 {
		ts.Ctx = append(ts.Ctx, h)
	} else {
		ts.Ctx[len(ts.Ctx)-1] = h
	}
	return Success
}

// CtxGetCurrent is cuCtxGetCurrent: NULL, not an error, when none is current.
func CtxGetCurrent(pctx unsafe.Pointer) Result {
	if _, r := ready(); r != Success {
		return r
	}
	if pctx == nil {
		return ErrorInvalidValue
	}
	var h uintptr
	if c := shim.CurrentContext(); c != nil {
		h = c.Handle
	}
	shim.PutPtr(pctx, h)
	return Success
}

// CtxGetDevice is cuCtxGetDevice.
func CtxGetDevice(out unsafe.Pointer) Result {
	c, r := current()
	if r != Success {
		return r
	}
	if out == nil {
		return ErrorInvalidValue
	}
	shim.PutI32(out, int32(shim.S().Ordinal(c.Dev)))
	return Success
}

// CtxSynchronize is cuCtxSynchronize: it waits for the backend's outstanding work.
func CtxSynchronize() Result {
	if _, r := current(); r != Success {
		return r
	}
	return From(shim.WaitBackend())
}

// CtxGetApiVersion is cuCtxGetApiVersion: contexts report API version 3020.
func CtxGetApiVersion(h uintptr, version unsafe.Pointer) Result {
	if h != 0 {
		if _, r := context(h); r != Success {
			return r
		}
	} else if _, r := current(); r != Success {
		return r
	}
	if !shim.PutU32(version, 3020) {
		return ErrorInvalidValue
	}
	return Success
}

// CtxGetFlags is cuCtxGetFlags.
func CtxGetFlags(flags unsafe.Pointer) Result {
	c, r := current()
	if r != Success {
		return r
	}
	f, _ := c.State()
	if !shim.PutU32(flags, f) {
		return ErrorInvalidValue
	}
	return Success
}

// CtxGetId is cuCtxGetId.
func CtxGetId(h uintptr, id unsafe.Pointer) Result {
	var c *shim.Context
	var r Result
	if h == 0 {
		c, r = current()
	} else {
		c, r = context(h)
	}
	if r != Success {
		return r
	}
	if !shim.PutU64(id, c.ID) {
		return ErrorInvalidValue
	}
	return Success
}

func b2i(b bool) int32 {
	if b {
		return 1
	}
	return 0
}
