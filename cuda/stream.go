package cuda

import (
	"unsafe"

	"vgpu/shim"
)

// StreamCreate is cuStreamCreate.
func StreamCreate(out unsafe.Pointer, flags uint32) Result {
	d, r := ctxDevice()
	if r != Success {
		return r
	}
	if out == nil || flags&^1 != 0 {
		return ErrorInvalidValue
	}
	shim.PutPtr(out, shim.NewStream(d, flags, 0).Handle)
	return Success
}

// StreamDestroy is cuStreamDestroy_v2.
func StreamDestroy(h uintptr) Result {
	if _, r := ready(); r != Success {
		return r
	}
	if !shim.Release(shim.KindStream, h) {
		return ErrorInvalidHandle
	}
	return Success
}

// StreamSynchronize is cuStreamSynchronize.
func StreamSynchronize(h uintptr) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	return From(s.Synchronize())
}

// StreamQuery is cuStreamQuery: not ready while a GPU backend still runs the work (the sim's
// is complete at issue).
func StreamQuery(h uintptr) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	return From(s.Poll())
}

// EventCreate is cuEventCreate.
func EventCreate(out unsafe.Pointer, flags uint32) Result {
	if _, r := ctxDevice(); r != Success {
		return r
	}
	// An interprocess event must also disable timing (NVIDIA's documented rule).
	if out == nil || flags&^0xf != 0 || flags&(eventInterprocess|shim.EventDisableTiming) == eventInterprocess {
		return ErrorInvalidValue
	}
	shim.PutPtr(out, shim.NewEvent(flags).Handle)
	return Success
}

func event(h uintptr) (*shim.Event, Result) {
	if _, r := ready(); r != Success {
		return nil, r
	}
	e, ok := shim.Lookup[*shim.Event](shim.KindEvent, h)
	if !ok {
		return nil, ErrorInvalidHandle
	}
	return e, Success
}

// EventRecord is cuEventRecord.
func EventRecord(h, sh uintptr) Result {
	e, r := event(h)
	if r != Success {
		return r
	}
	s, r := stream(sh)
	if r != Success {
		return r
	}
	return From(e.Record(s))
}

// EventSynchronize is cuEventSynchronize.
func EventSynchronize(h uintptr) Result {
	e, r := event(h)
	if r != Success {
		return r
	}
	return From(e.Query())
}

// EventQuery is cuEventQuery: not ready until a GPU backend's work got to the record.
func EventQuery(h uintptr) Result {
	e, r := event(h)
	if r != Success {
		return r
	}
	return From(e.Poll())
}

// EventDestroy is cuEventDestroy_v2.
func EventDestroy(h uintptr) Result {
	ev, r := event(h)
	if r != Success {
		return r
	}
	shim.IPCRevokeEvent(ev) // its creator's destroy ends its export, as cudaEventDestroy's
	ev.Close()
	shim.Release(shim.KindEvent, h)
	return Success
}

// EventElapsedTime is cuEventElapsedTime.
func EventElapsedTime(ms unsafe.Pointer, start, end uintptr) Result {
	s, r := event(start)
	if r != Success {
		return r
	}
	e, r := event(end)
	if r != Success {
		return r
	}
	if ms == nil {
		return ErrorInvalidValue
	}
	v, st := shim.Elapsed(s, e)
	if st != shim.OK {
		return From(st)
	}
	*(*float32)(ms) = v
	return Success
}
