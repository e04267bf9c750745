package cudart

// LaunchHostFunc is cudaLaunchHostFunc: fn(userData) runs once, in stream order. The model
// completes the stream's earlier work before the node runs (waiting for a backend that runs
// it asynchronously) and starts no later work on the stream until fn has returned: the call
// returns after it. A capturing stream records it as a host node its graph replays.
func LaunchHostFunc(stream, fn, data uintptr) Error {
	s, e := resolveStream(stream)
	if e != Success {
		return e
	}
	if fn == 0 {
		return ErrorInvalidValue
	}
	return From(s.LaunchHostFunc(fn, data))
}

// StreamAddCallback is cudaStreamAddCallback: flags must be 0; the callback is not
// capturable (NVIDIA's runtime refuses it during capture).
func StreamAddCallback(stream, fn, data uintptr, flags uint32) Error {
	return addCallback(stream, stream, fn, data, flags)
}

// addCallback runs fn in stream order on the stream handle resolves to, handing it the stream
// as the caller named it (named).
func addCallback(handle, named, fn, data uintptr, flags uint32) Error {
	s, e := resolveStream(handle)
	if e != Success {
		return e
	}
	if fn == 0 || flags != 0 {
		return ErrorInvalidValue
	}
	return From(s.AddCallback(named, fn, data))
}
