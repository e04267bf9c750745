package remote

/*
#include "flusher.h"
*/
import "C"

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"vgpu/shim"
)

// The flusher is a thread of C's (remote/flusher.c), not a goroutine: a goroutine locked to its
// thread for its timer slack was woken through Go's scheduler, which woke a spinning thread to
// find it and hand it over, and parked it the same way, about three thread switches a burst of
// posts; on a 2-core VM each costs several microseconds of the cores the program and the server
// need. The C thread is woken by one futex wake, naps with no P of Go's, and enters Go only to
// send a batch that fell due (vgpuRemoteFlushDue).
var (
	// When the batch must leave, in CLOCK_MONOTONIC nanoseconds (monoNow); 0 when nothing is queued.
	batchDue = (*atomic.Int64)(unsafe.Pointer(&C.vgpu_flusher.due))
	// When the last request was sent (monoNow), until the next post; 0 meanwhile. A thread
	// awaiting a response holds mu, so nothing can be flushed until it has its answer.
	awaiting = (*atomic.Int64)(unsafe.Pointer(&C.vgpu_flusher.awaiting))
	awake    = (*atomic.Int32)(unsafe.Pointer(&C.vgpu_flusher.awake))
	kicked   = (*atomic.Int32)(unsafe.Pointer(&C.vgpu_flusher.kicked))
)

// monoNow is CLOCK_MONOTONIC in nanoseconds, the flusher's clock, read as Go's runtime reads it.
//
//go:linkname monoNow runtime.nanotime
func monoNow() int64

// launchFlusher starts the flusher thread (under flusherOnce).
func launchFlusher() {
	setFlusherTimes()
	if C.vgpu_flusher_start() != 0 {
		shim.WarnOnce("remote-flusher", "no flusher thread: posts wait for the next request")
	}
}

// setFlusherTimes gives the flusher flushDelay and flusherLinger.
func setFlusherTimes() {
	(*atomic.Int64)(unsafe.Pointer(&C.vgpu_flusher.flush_delay_ns)).Store(int64(flushDelay))
	(*atomic.Int64)(unsafe.Pointer(&C.vgpu_flusher.linger_ns)).Store(int64(flusherLinger))
}

// FUTEX_WAKE with FUTEX_PRIVATE_FLAG (linux/futex.h).
const futexWakePrivate = 1 | 128

func flusherAwake() bool { return awake.Load() != 0 }

// wakeFlusherLocked wakes the flusher unless it is up. mu is held.
func wakeFlusherLocked() {
	if awake.Load() != 0 {
		return
	}
	awake.Store(1)
	kicked.Store(1)
	// A raw call: a futex wake never blocks, and Go's scheduler need not hear of it.
	_, _, _ = unix.RawSyscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(kicked)), futexWakePrivate, 1, 0, 0, 0)
}

// vgpuRemoteFlushDue sends the batch the flusher found due.
//
//export vgpuRemoteFlushDue
func vgpuRemoteFlushDue() {
	mu.Lock()
	if dead == nil && conn != nil && len(batch) > 0 {
		if err := flushLocked(); err != nil {
			lostLocked(err)
		}
	}
	batchDue.Store(0) // also when the connection is gone: nothing will send it now
	mu.Unlock()
}
