package shim

/*
#include <stdint.h>
typedef void (*vgpu_host_fn)(void *);
typedef void (*vgpu_stream_cb)(void *, int, void *);
static void vgpu_call_host_fn(uintptr_t fn, uintptr_t data) { ((vgpu_host_fn)fn)((void *)data); }
static void vgpu_call_stream_cb(uintptr_t fn, uintptr_t stream, int status, uintptr_t data) {
	((vgpu_stream_cb)fn)((void *)stream, status, (void *)data);
}
*/
import "C"

import "runtime"

// Host functions in stream order, for the runtime (cudaLaunchHostFunc,
// cudaStreamAddCallback) and the driver (cuLaunchHostFunc, cuStreamAddCallback) alike: a
// host function takes its user data; a stream callback takes the stream, a status (success:
// work that failed is reported by the call that waits on it) and its user data.

// RunHostFunc runs a host function on a thread other than the caller's and returns once it
// has returned.
func RunHostFunc(fn, data uintptr) {
	onOtherThread(func() { C.vgpu_call_host_fn(C.uintptr_t(fn), C.uintptr_t(data)) })
}

// RunStreamCallback runs a stream callback as RunHostFunc runs a host function, with the
// stream handle it was added to.
func RunStreamCallback(fn, stream, data uintptr) {
	onOtherThread(func() { C.vgpu_call_stream_cb(C.uintptr_t(fn), C.uintptr_t(stream), 0, C.uintptr_t(data)) })
}

// onOtherThread runs call and waits for it: the caller's goroutine is locked to its C
// thread for the call, so a new goroutine, itself locked to a thread, never runs there.
func onOtherThread(call func()) {
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		call()
		close(done)
	}()
	<-done
}

// LaunchHostFunc enqueues fn(data) on s: it runs once, in stream order. The model completes
// the stream's earlier work before the node runs (waiting for a backend that runs it
// asynchronously) and starts no later work on the stream until fn has returned. A capturing
// stream records it as a host node its graph replays.
func (s *Stream) LaunchHostFunc(fn, data uintptr) Status {
	return s.Enqueue(Node{Kind: NodeHost, Run: func() Status {
		if st := WaitBackend(); st != OK {
			return st
		}
		RunHostFunc(fn, data)
		return OK
	}})
}

// AddCallback runs a stream callback after s's work so far, with the handle the program
// named the stream by; it cannot be captured (NVIDIA's runtime and driver refuse it during
// capture).
func (s *Stream) AddCallback(handle, fn, data uintptr) Status {
	if s.Capturing() != nil {
		return ErrCaptureUnsupported
	}
	if st := s.Synchronize(); st != OK {
		return st
	}
	RunStreamCallback(fn, handle, data)
	return OK
}
