package cudart

import (
	"unsafe"

	"vgpu/shim"
)

// More of graphs built by hand (issue 13): event record and wait nodes, instantiation with
// parameters, an executable graph's flags.

func eventNode(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, numDeps uint64, ev uintptr, typ int32) Error {
	if _, e := graph(h); e != Success {
		return e
	}
	e, err := event(ev)
	if err != Success {
		return ErrorInvalidValue
	}
	// The node keeps the event's handle for its getter, and the event itself for replays.
	params := shim.Le.AppendUint64(nil, uint64(ev))
	op := shim.Node{Kind: shim.NodeEventWait} // the sim's device runs in order: a wait waits for nothing more
	if typ == shim.GraphNodeEventRecord {
		op = shim.Node{Kind: shim.NodeEventRecord, Run: e.MarkRecorded}
	}
	return addNode(out, h, deps, numDeps, typ, []shim.Node{op}, params)
}

// GraphAddEventRecordNode is cudaGraphAddEventRecordNode: each launch records the event.
func GraphAddEventRecordNode(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, numDeps uint64, ev uintptr) Error {
	return eventNode(out, h, deps, numDeps, ev, shim.GraphNodeEventRecord)
}

// GraphAddEventWaitNode is cudaGraphAddEventWaitNode.
func GraphAddEventWaitNode(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, numDeps uint64, ev uintptr) Error {
	return eventNode(out, h, deps, numDeps, ev, shim.GraphNodeWaitEvent)
}

func nodeEvent(h uintptr, typ int32, out unsafe.Pointer) Error {
	n, _, e := nodeOf(h, typ)
	if e != Success {
		return e
	}
	if out == nil || len(n.Params) != 8 {
		return ErrorInvalidValue
	}
	shim.PutU64(out, shim.Le.Uint64(n.Params))
	return Success
}

// GraphEventRecordNodeGetEvent is cudaGraphEventRecordNodeGetEvent.
func GraphEventRecordNodeGetEvent(h uintptr, out unsafe.Pointer) Error {
	return nodeEvent(h, shim.GraphNodeEventRecord, out)
}

// GraphEventWaitNodeGetEvent is cudaGraphEventWaitNodeGetEvent.
func GraphEventWaitNodeGetEvent(h uintptr, out unsafe.Pointer) Error {
	return nodeEvent(h, shim.GraphNodeWaitEvent, out)
}

// cudaGraphInstantiateFlags vgpu knows: auto-free on launch, upload, device launch, node priority.
const (
	instantiateUpload = 2
	instantiateKnown  = 0xf
)

// GraphExecGetFlags is cudaGraphExecGetFlags: the flags it was instantiated with.
func GraphExecGetFlags(exec uintptr, out unsafe.Pointer) Error {
	x, e := graphExec(exec)
	if e != Success {
		return e
	}
	if out == nil {
		return ErrorInvalidValue
	}
	shim.PutU64(out, x.Flags)
	return Success
}

// GraphInstantiateWithParams is cudaGraphInstantiateWithParams. cudaGraphInstantiateParams:
// u64 flags at 0, the upload stream at 8, errNode_out at 16, result_out (u32) at 24. The
// result is cudaGraphInstantiateSuccess (0) or cudaGraphInstantiateError (1).
func GraphInstantiateWithParams(out unsafe.Pointer, h uintptr, params unsafe.Pointer) Error {
	if params == nil {
		return ErrorInvalidValue
	}
	b := shim.View(params, 32)
	flags, upload := shim.Le.Uint64(b), uintptr(shim.Le.Uint64(b[8:]))
	shim.Le.PutUint64(b[16:], 0)
	fail := func(e Error) Error {
		shim.Le.PutUint32(b[24:], 1)
		return e
	}
	g, e := graph(h)
	if e != Success {
		return fail(e)
	}
	if out == nil || flags&^instantiateKnown != 0 {
		return fail(ErrorInvalidValue)
	}
	if flags&instantiateUpload != 0 {
		if _, e := resolveStream(upload); e != Success {
			return fail(e)
		}
	}
	x := shim.Instantiate(g)
	x.Flags = flags
	shim.PutPtr(out, x.Handle)
	shim.Le.PutUint32(b[24:], 0)
	return Success
}

// GraphAddHostNode is cudaGraphAddHostNode: each launch calls fn(userData) in the graph's
// order (cudaHostNodeParams: fn at 0, userData at 8). A server never calls a client's host
// function: its client runs it (remote/graphnode.go).
func GraphAddHostNode(out unsafe.Pointer, h uintptr, deps unsafe.Pointer, numDeps uint64, params unsafe.Pointer) Error {
	if params == nil {
		return ErrorInvalidValue
	}
	p := append([]byte(nil), shim.View(params, 16)...)
	fn, data := uintptr(shim.Le.Uint64(p)), uintptr(shim.Le.Uint64(p[8:]))
	if fn == 0 {
		return ErrorInvalidValue
	}
	run := func() shim.Status { RunHostFunc(fn, data); return shim.OK }
	return addNode(out, h, deps, numDeps, shim.GraphNodeHost, []shim.Node{{Kind: shim.NodeHost, Run: run}}, p)
}

// GraphHostNodeGetParams is cudaGraphHostNodeGetParams.
func GraphHostNodeGetParams(h uintptr, out unsafe.Pointer) Error {
	n, _, e := nodeOf(h, shim.GraphNodeHost)
	if e != Success {
		return e
	}
	if out == nil || len(n.Params) != 16 {
		return ErrorInvalidValue
	}
	copy(shim.View(out, 16), n.Params)
	return Success
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
