package cudart

import (
	"vgpu/cuda"
	"vgpu/shim"
)

// The runtime is built on the driver's semantics (package cuda), as NVIDIA's is: a runtime
// call that means what a driver call means is that driver call, made after the runtime's
// own initialisation, with the driver's result as the runtime's code.

// fromDriver maps a driver result to the runtime's code. The codes the calls built on the
// driver can answer have the same numbers in both APIs (invalid value 1, out of memory 2,
// image 200, file not found 301, handle 400, not found 500, not supported 801, the capture
// codes 900-910), and cuInit's 3 is the runtime's initialisation error, also 3.
func fromDriver(r cuda.Result) Error { return Error(r) }

// afterInit makes a driver call that needs no current context (graphs, nodes and events by
// handle, device queries by ordinal) after the runtime's initialisation alone, as the
// runtime's own form did: no primary context is made current for it.
func afterInit(call func() cuda.Result) Error {
	if _, e := begin(); e != Success {
		return e
	}
	return fromDriver(call())
}

// currentCtx is the calling thread's current context, for a driver call that names one;
// after onDriver's initialisation there is one.
func currentCtx() uintptr {
	if c := shim.CurrentContext(); c != nil {
		return c.Handle
	}
	return 0
}

// onDriver makes a driver call as the runtime makes it: after the runtime's initialisation
// and with the calling thread's device's primary context current (currentDevice), so that
// the driver call finds the context the runtime would use.
func onDriver(call func() cuda.Result) Error {
	if _, e := currentDevice(); e != Success {
		return e
	}
	return fromDriver(call())
}
