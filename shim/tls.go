package shim

/*
#include <stdint.h>
uint64_t vgpu_thread_id(void);
int vgpu_get_last_error(void);
void vgpu_set_last_error(int e);
*/
import "C"

import "sync"

// ThreadState is what CUDA keeps per host thread.
type ThreadState struct {
	Device    int       // runtime's current device (cudaSetDevice)
	DeviceSet bool      // cudaSetDevice was called on this thread
	Ctx       []uintptr // driver context stack, top last
	Launch    []LaunchConfig
	Capture   int32     // cudaThreadExchangeStreamCaptureMode
	Owner     uint64    // the server's client whose calls run on this thread (0: none)
	View      []*Device // the devices this server client may see (its CUDA_VISIBLE_DEVICES); nil: all
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
