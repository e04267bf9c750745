package cudart

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

import (
	"runtime"
)

// RunHostFunc runs a host function on a thread other than the caller's and returns once it
// has returned.
func RunHostFunc(fn, data uintptr) {
	onOtherThread(func() { C.vgpu_call_host_fn(C.uintptr_t(fn), C.uintptr_t(data)) })
}

// RunStreamCallback runs a cudaStreamCallback_t as RunHostFunc runs a host function,
// with the stream it was added to and the stream's status (success: work that failed
// is reported by the call that waits on it).
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
