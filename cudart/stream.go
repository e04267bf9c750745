package cudart

import (
	"unsafe"

	"vgpu/cuda"
	"vgpu/shim"
)

// resolveStream maps a cudaStream_t (0, cudaStreamLegacy, cudaStreamPerThread or a handle)
// to the model's stream.
func resolveStream(h uintptr) (*shim.Stream, Error) {
	d, e := currentDevice()
	if e != Success {
		return nil, e
	}
	s, st := shim.ResolveStream(h, d)
	return s, From(st)
}

// StreamCreate is cudaStreamCreate.
func StreamCreate(out unsafe.Pointer) Error { return StreamCreateWithPriority(out, 0, 0) }

// StreamCreateWithFlags is cudaStreamCreateWithFlags.
func StreamCreateWithFlags(out unsafe.Pointer, flags uint32) Error {
	return StreamCreateWithPriority(out, flags, 0)
}

// StreamCreateWithPriority is cudaStreamCreateWithPriority; priorities clamp to [-5, 0].
func StreamCreateWithPriority(out unsafe.Pointer, flags uint32, priority int32) Error {
	d, e := currentDevice()
	if e != Success {
		return e
	}
	if out == nil || flags&^1 != 0 {
		return ErrorInvalidValue
	}
	priority = min(max(priority, -5), 0)
	shim.PutPtr(out, shim.NewStream(d, flags, priority).Handle)
	return Success
}

// StreamDestroy is cudaStreamDestroy.
func StreamDestroy(h uintptr) Error {
	if _, e := begin(); e != Success {
		return e
	}
	if h == 0 || h == shim.StreamLegacy || h == shim.StreamPerThread {
		return ErrorInvalidResourceHandle
	}
	if !shim.Release(shim.KindStream, h) {
		return ErrorInvalidResourceHandle
	}
	return Success
}

// StreamSynchronize is cudaStreamSynchronize.
func StreamSynchronize(h uintptr) Error {
	s, e := resolveStream(h)
	if e != Success {
		return e
	}
	return From(s.Synchronize())
}

// StreamQuery is cudaStreamQuery: not ready while a GPU backend still runs the work (the
// sim's is complete at issue).
func StreamQuery(h uintptr) Error {
	s, e := resolveStream(h)
	if e != Success {
		return e
	}
	return From(s.Poll())
}

// StreamGetFlags is cudaStreamGetFlags.
func StreamGetFlags(h uintptr, flags unsafe.Pointer) Error {
	s, e := resolveStream(h)
	if e != Success {
		return e
	}
	if !shim.PutU32(flags, s.Flags) {
		return ErrorInvalidValue
	}
	return Success
}

// StreamGetPriority is cudaStreamGetPriority.
func StreamGetPriority(h uintptr, p unsafe.Pointer) Error {
	s, e := resolveStream(h)
	if e != Success {
		return e
	}
	if !shim.PutI32(p, s.Priority) {
		return ErrorInvalidValue
	}
	return Success
}

// StreamWaitEvent is cudaStreamWaitEvent.
func StreamWaitEvent(h, ev uintptr, flags uint32) Error {
	s, e := resolveStream(h)
	if e != Success {
		return e
	}
	evt, e := event(ev)
	if e != Success {
		return e
	}
	if flags&^1 != 0 {
		return ErrorInvalidValue
	}
	return From(s.WaitOn(evt))
}

// StreamIsCapturing is cudaStreamIsCapturing: None, Active or Invalidated.
func StreamIsCapturing(h uintptr, status unsafe.Pointer) Error {
	s, e := resolveStream(h)
	if e != Success {
		return e
	}
	if status == nil {
		return ErrorInvalidValue
	}
	var v int32
	if c := s.Capturing(); c != nil {
		v = 1
		if c.Invalidated {
			v = 2
		}
	}
	shim.PutI32(status, v)
	return Success
}

// StreamBeginCapture is cudaStreamBeginCapture.
func StreamBeginCapture(h uintptr, mode int32) Error {
	s, e := resolveStream(h)
	if e != Success {
		return e
	}
	return From(s.BeginCapture(mode))
}

// StreamEndCapture is cudaStreamEndCapture.
func StreamEndCapture(h uintptr, graph unsafe.Pointer) Error {
	s, e := resolveStream(h)
	if e != Success {
		return e
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

// ThreadExchangeStreamCaptureMode is cudaThreadExchangeStreamCaptureMode.
func ThreadExchangeStreamCaptureMode(mode unsafe.Pointer) Error {
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

func event(h uintptr) (*shim.Event, Error) {
	if _, e := begin(); e != Success {
		return nil, e
	}
	ev, ok := shim.Lookup[*shim.Event](shim.KindEvent, h)
	if !ok {
		return nil, ErrorInvalidResourceHandle
	}
	return ev, Success
}

// EventCreate is cudaEventCreate.
func EventCreate(out unsafe.Pointer) Error { return EventCreateWithFlags(out, 0) }

// EventCreateWithFlags is cudaEventCreateWithFlags.
func EventCreateWithFlags(out unsafe.Pointer, flags uint32) Error {
	if _, e := currentDevice(); e != Success {
		return e
	}
	// An interprocess event must also disable timing (NVIDIA's documented rule).
	if out == nil || flags&^0xf != 0 || flags&(eventInterprocess|shim.EventDisableTiming) == eventInterprocess {
		return ErrorInvalidValue
	}
	shim.PutPtr(out, shim.NewEvent(flags).Handle)
	return Success
}

// EventDestroy is cudaEventDestroy.
func EventDestroy(h uintptr) Error {
	ev, e := event(h)
	if e != Success {
		return e
	}
	shim.IPCRevokeEvent(ev) // its creator's destroy ends its export; an opener's does not
	ev.Close()
	shim.Release(shim.KindEvent, h)
	return Success
}

// EventRecord is cudaEventRecord.
func EventRecord(h, stream uintptr) Error {
	ev, e := event(h)
	if e != Success {
		return e
	}
	s, e := resolveStream(stream)
	if e != Success {
		return e
	}
	return From(ev.Record(s))
}

// EventSynchronize is cudaEventSynchronize.
func EventSynchronize(h uintptr) Error {
	ev, e := event(h)
	if e != Success {
		return e
	}
	return From(ev.Query())
}

// EventQuery is cudaEventQuery: not ready until a GPU backend's work got to the record.
func EventQuery(h uintptr) Error {
	ev, e := event(h)
	if e != Success {
		return e
	}
	return From(ev.Poll())
}

// EventElapsedTime is cudaEventElapsedTime.
func EventElapsedTime(ms unsafe.Pointer, start, end uintptr) Error {
	s, e := event(start)
	if e != Success {
		return e
	}
	en, e := event(end)
	if e != Success {
		return e
	}
	if ms == nil {
		return ErrorInvalidValue
	}
	v, st := shim.Elapsed(s, en)
	if st != shim.OK {
		return From(st)
	}
	*(*float32)(ms) = v
	return Success
}

func graph(h uintptr) (*shim.Graph, Error) {
	if _, e := begin(); e != Success {
		return nil, e
	}
	g, ok := shim.Lookup[*shim.Graph](shim.KindGraph, h)
	if !ok {
		return nil, ErrorInvalidValue
	}
	return g, Success
}

func graphExec(h uintptr) (*shim.GraphExec, Error) {
	if _, e := begin(); e != Success {
		return nil, e
	}
	x, ok := shim.Lookup[*shim.GraphExec](shim.KindGraphExec, h)
	if !ok {
		return nil, ErrorInvalidValue
	}
	return x, Success
}

// GraphCreate is cudaGraphCreate.
func GraphCreate(out unsafe.Pointer, flags uint32) Error {
	return onDriver(func() cuda.Result { return cuda.GraphCreate(out, flags) })
}

// GraphInstantiate is cudaGraphInstantiate (CUDA 12+ signature) and ...WithFlags.
func GraphInstantiate(out unsafe.Pointer, h uintptr, flags uint64) Error {
	return afterInit(func() cuda.Result { return cuda.GraphInstantiateWithFlags(out, h, flags) })
}

// GraphExecUpdate is cudaGraphExecUpdate: fails with the reason when the topology changed,
// which callers answer by re-instantiating.
func GraphExecUpdate(exec, h uintptr, info unsafe.Pointer) Error {
	return afterInit(func() cuda.Result { return cuda.GraphExecUpdate(exec, h, info) })
}

// GraphLaunch is cudaGraphLaunch.
func GraphLaunch(exec, stream uintptr) Error {
	return onDriver(func() cuda.Result { return cuda.GraphLaunch(exec, stream) })
}

// GraphExecDestroy is cudaGraphExecDestroy.
func GraphExecDestroy(exec uintptr) Error {
	return afterInit(func() cuda.Result { return cuda.GraphExecDestroy(exec) })
}

// GraphDestroy is cudaGraphDestroy.
func GraphDestroy(h uintptr) Error {
	return afterInit(func() cuda.Result { return cuda.GraphDestroy(h) })
}

// GraphGetNodes is cudaGraphGetNodes: with nodes NULL it reports the count.
func GraphGetNodes(h uintptr, nodes, count unsafe.Pointer) Error {
	return afterInit(func() cuda.Result { return cuda.GraphGetNodes(h, nodes, count) })
}
