package shim

/*
#include <stdint.h>
uint64_t vgpu_thread_id(void);
int vgpu_get_last_error(void);
void vgpu_set_last_error(int e);
*/
import "C"

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// ThreadState is what CUDA keeps per host thread.
type ThreadState struct {
	Device    int       // runtime's current device (cudaSetDevice)
	DeviceSet bool      // cudaSetDevice was called on this thread
	Ctx       []uintptr // driver context stack, top last
	Launch    []LaunchConfig
	Capture   int32               // cudaThreadExchangeStreamCaptureMode
	Owner     uint64              // the server's client whose calls run on this thread (0: none)
	View      []*Device           // the devices this server client may see (its CUDA_VISIBLE_DEVICES); nil: all
	perThread map[*Device]*Stream // cudaStreamPerThread, per device, created at first use
	// A remote client's server stream standing for this thread's cudaStreamPerThread, per
	// device ordinal (remote/perthread.go).
	RemoteStreams map[int]uintptr
	// Issuing is the stream whose work this thread is handing the backend (StreamBackend), set
	// around each operation; nil: none named, the legacy stream.
	Issuing *Stream
}

var threads sync.Map // thread key -> *ThreadState

// Thread returns the calling C thread's state. Valid only inside a call from C.
func Thread() *ThreadState {
	k := uint64(C.vgpu_thread_id())
	if v, ok := threads.Load(k); ok {
		return v.(*ThreadState)
	}
	ts := &ThreadState{}
	v, _ := threads.LoadOrStore(k, ts)
	return v.(*ThreadState)
}

// LastError and SetLastError hold the runtime's per-thread last error.
func LastError() int32     { return int32(C.vgpu_get_last_error()) }
func SetLastError(e int32) { C.vgpu_set_last_error(C.int(e)) }

// EnterClient makes the calling thread, which the caller has locked, run server client
// owner's calls, with nothing left of whichever client it ran before: every lookup then
// resolves within owner. LeaveClient clears it again.
func EnterClient(owner uint64) {
	serving.Store(true)
	LeaveClient()
	Thread().Owner = owner
}

// serving is set once a thread of this process has run a server client's calls.
var serving atomic.Bool

// LeaveClient forgets the thread's client: its view, thread state and last error.
func LeaveClient() {
	SetView(nil)
	*Thread() = ThreadState{}
	SetLastError(0)
}

// AsClient runs fn as `vgpu serve` runs a client's calls: on a locked OS thread of its own,
// entered as owner and left afterwards.
func AsClient(owner uint64, fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		EnterClient(owner)
		defer LeaveClient()
		fn()
	}()
	<-done
}
