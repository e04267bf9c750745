package remote

import (
	"vgpu/shim"
	"vgpu/wire"
)

// captureHostFunc is a host function launched on a stream while a capture is under way: on
// a capturing stream it becomes a host node of the server's capture (wire.GraphCaptureHost),
// which this client runs at each launch of the graph (launchParts); captured reports whether
// it did. A stream that is not capturing is left to the ordinary path.
func captureHostFunc(stream, fn, data uintptr) (st shim.Status, captured bool) {
	if captures.Load() == 0 {
		return shim.OK, false
	}
	r := &wire.GraphNodeReq{What: wire.GraphCaptureHost, Graph: uint64(perThread(stream)), Fn: uint64(fn), Data: uint64(data)}
	hostFns.Store(fn, struct{}{})
	hostNodes.Add(1)
	_, st = nodeCall(r)
	if st == shim.ErrIllegalState {
		return shim.OK, false
	}
	return st, true
}
