package remote

import (
	"vgpu/cuda"
	"vgpu/shim"
	"vgpu/wire"
)

// Work of this process's on a stream while a capture is under way: a host function, or a
// copy into this process's memory, on a capturing stream becomes a node of the server's
// capture (wire.GraphCaptureHost, GraphCaptureCopy) that this client carries out at each
// launch of the graph (launchParts). A stream that is not capturing is left to the ordinary
// path; captured reports which.

// captureHostFunc is cudaLaunchHostFunc's part.
func captureHostFunc(stream, fn, data uintptr) (st shim.Status, captured bool) {
	if captures.Load() == 0 {
		return shim.OK, false
	}
	hostFns.Store(fn, struct{}{})
	return captureNode(wire.GraphCaptureHost, stream, uint64(fn), uint64(data))
}

// captureCopy is a copy's part (stream already the server's handle).
func captureCopy(stream uintptr, cs []cuda.Copy2D) (st shim.Status, captured bool) {
	if captures.Load() == 0 {
		return shim.OK, false
	}
	return captureNode(wire.GraphCaptureCopy, stream, copyToken(cs), 0)
}

func captureNode(what uint32, stream uintptr, fn, data uint64) (shim.Status, bool) {
	r := &wire.GraphNodeReq{What: what, Graph: uint64(perThread(stream)), Fn: fn, Data: data}
	hostNodes.Add(1) // launches go in parts from now on
	_, st := nodeCall(r)
	if st == shim.ErrIllegalState {
		return shim.OK, false
	}
	return st, true
}
