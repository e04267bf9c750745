package cudart

import (
	"unsafe"

	"vgpu/cuda"
	"vgpu/shim"
)

// More of graphs built by hand (issue 13): event record and wait nodes, instantiation with
// parameters, an executable graph's flags.

// GraphAddEventRecordNode is cudaGraphAddEventRecordNode: each launch records the event.
func GraphAddEventRecordNode(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, numDeps uint64, ev uintptr) Error {
	return afterInit(func() cuda.Result { return cuda.GraphAddEventRecordNode(out, h, deps, numDeps, ev) })
}

// GraphAddEventWaitNode is cudaGraphAddEventWaitNode.
func GraphAddEventWaitNode(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, numDeps uint64, ev uintptr) Error {
	return afterInit(func() cuda.Result { return cuda.GraphAddEventWaitNode(out, h, deps, numDeps, ev) })
}

// GraphEventRecordNodeGetEvent is cudaGraphEventRecordNodeGetEvent.
func GraphEventRecordNodeGetEvent(h uintptr, out unsafe.Pointer) Error {
	return onDriver(func() cuda.Result { return cuda.GraphEventRecordNodeGetEvent(h, out) })
}

// GraphEventWaitNodeGetEvent is cudaGraphEventWaitNodeGetEvent.
func GraphEventWaitNodeGetEvent(h uintptr, out unsafe.Pointer) Error {
	return onDriver(func() cuda.Result { return cuda.GraphEventWaitNodeGetEvent(h, out) })
}

// GraphExecGetFlags is cudaGraphExecGetFlags: the flags it was instantiated with.
func GraphExecGetFlags(exec uintptr, out unsafe.Pointer) Error {
	return afterInit(func() cuda.Result { return cuda.GraphExecGetFlags(exec, out) })
}

// GraphInstantiateWithParams is cudaGraphInstantiateWithParams (cudaGraphInstantiateParams:
// the driver's layout; the result is cudaGraphInstantiateSuccess (0) or
// cudaGraphInstantiateError (1)).
func GraphInstantiateWithParams(out unsafe.Pointer, h uintptr, params unsafe.Pointer) Error {
	return onDriver(func() cuda.Result { return cuda.GraphInstantiateWithParams(out, h, params) })
}

// GraphAddHostNode is cudaGraphAddHostNode: each launch calls fn(userData) in the graph's
// order (cudaHostNodeParams: the driver's layout). A server never calls a client's host
// function: its client runs it (remote/graphnode.go).
func GraphAddHostNode(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, numDeps uint64, params unsafe.Pointer) Error {
	return afterInit(func() cuda.Result { return cuda.GraphAddHostNode(out, h, deps, numDeps, params) })
}

// GraphHostNodeGetParams is cudaGraphHostNodeGetParams.
func GraphHostNodeGetParams(h uintptr, out unsafe.Pointer) Error {
	return onDriver(func() cuda.Result { return cuda.GraphHostNodeGetParams(h, out) })
}

// StreamGetCaptureInfo12 is CUDA 12's cudaStreamGetCaptureInfo: the capture status
// (none, active, invalidated) and, while capturing, the capture's id (unique per capture).
func StreamGetCaptureInfo12(h uintptr, status, id unsafe.Pointer) Error {
	s, e := resolveStream(h)
	if e != Success {
		return e
	}
	if status == nil {
		return ErrorInvalidValue
	}
	var v int32
	var capID uint64
	if c := s.Capturing(); c != nil {
		v, capID = 1, c.ID
		if c.Invalidated {
			v = 2
		}
	}
	shim.PutI32(status, v)
	if id != nil && v != 0 {
		shim.PutU64(id, capID)
	}
	return Success
}
