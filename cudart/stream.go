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
	return onDriver(func() cuda.Result { return cuda.StreamCreateWithPriority(out, flags, priority) })
}

// StreamDestroy is cudaStreamDestroy: the special handles are the runtime's resource
// handle error, as another handle the driver does not know.
func StreamDestroy(h uintptr) Error {
	if _, e := begin(); e != Success {
		return e
	}
	if h == 0 || h == shim.StreamLegacy || h == shim.StreamPerThread {
		return ErrorInvalidResourceHandle
	}
	return fromDriver(cuda.StreamDestroy(h))
}

// StreamSynchronize is cudaStreamSynchronize.
func StreamSynchronize(h uintptr) Error {
	return onDriver(func() cuda.Result { return cuda.StreamSynchronize(h) })
}

// StreamQuery is cudaStreamQuery: not ready while a GPU backend still runs the work (the
// sim's is complete at issue).
func StreamQuery(h uintptr) Error { return onDriver(func() cuda.Result { return cuda.StreamQuery(h) }) }

// StreamGetFlags is cudaStreamGetFlags.
func StreamGetFlags(h uintptr, flags unsafe.Pointer) Error {
	return onDriver(func() cuda.Result { return cuda.StreamGetFlags(h, flags) })
}

// StreamGetPriority is cudaStreamGetPriority.
func StreamGetPriority(h uintptr, p unsafe.Pointer) Error {
	return onDriver(func() cuda.Result { return cuda.StreamGetPriority(h, p) })
}

// StreamWaitEvent is cudaStreamWaitEvent.
func StreamWaitEvent(h, ev uintptr, flags uint32) Error {
	return onDriver(func() cuda.Result { return cuda.StreamWaitEvent(h, ev, flags) })
}

// StreamIsCapturing is cudaStreamIsCapturing: None, Active or Invalidated.
func StreamIsCapturing(h uintptr, status unsafe.Pointer) Error {
	return onDriver(func() cuda.Result { return cuda.StreamIsCapturing(h, status) })
}

// StreamBeginCapture is cudaStreamBeginCapture.
func StreamBeginCapture(h uintptr, mode int32) Error {
	return onDriver(func() cuda.Result { return cuda.StreamBeginCapture(h, mode) })
}

// StreamEndCapture is cudaStreamEndCapture.
func StreamEndCapture(h uintptr, graph unsafe.Pointer) Error {
	return onDriver(func() cuda.Result { return cuda.StreamEndCapture(h, graph) })
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
	return onDriver(func() cuda.Result { return cuda.EventCreate(out, flags) })
}

// EventDestroy is cudaEventDestroy: its creator's destroy ends its export; an opener's
// does not.
func EventDestroy(h uintptr) Error {
	return afterInit(func() cuda.Result { return cuda.EventDestroy(h) })
}

// EventRecord is cudaEventRecord.
func EventRecord(h, stream uintptr) Error {
	return onDriver(func() cuda.Result { return cuda.EventRecord(h, stream) })
}

// EventSynchronize is cudaEventSynchronize.
func EventSynchronize(h uintptr) Error {
	return afterInit(func() cuda.Result { return cuda.EventSynchronize(h) })
}

// EventQuery is cudaEventQuery: not ready until a GPU backend's work got to the record.
func EventQuery(h uintptr) Error { return afterInit(func() cuda.Result { return cuda.EventQuery(h) }) }

// EventElapsedTime is cudaEventElapsedTime.
func EventElapsedTime(ms unsafe.Pointer, start, end uintptr) Error {
	return afterInit(func() cuda.Result { return cuda.EventElapsedTime(ms, start, end) })
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
