package shim

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// freeWatch is the sim backend, telling when a device range is released to the allocator.
type freeWatch struct {
	Backend
	base  uintptr
	freed atomic.Bool
}

func (f *freeWatch) DeviceFree(a *Alloc) error {
	if a.Base == f.base {
		f.freed.Store(true)
	}
	return f.Backend.DeviceFree(a)
}

// An exporter freeing memory that another client has mapped must not release it while a call
// of that client's, which validated its range before the revocation, is still running: the
// addresses could be handed to a third client, whose data that call would then read or
// overwrite. A fixed grace period (it was 2 s) does not bound how long a call runs.
func TestIPCFreedMemoryOutlivesEveryCallInFlight(t *testing.T) {
	d := freshState(t)
	var base uintptr
	handle := make([]byte, IPCHandleSize)
	AsClient(clientA, func() {
		a, st := AllocDevice(d, 4096, MemDevice)
		require.Equal(t, OK, st)
		base = a.Base
		require.Equal(t, OK, IPCGetMemHandle(handle, base))
	})
	w := &freeWatch{Backend: S().Backend, base: base}
	S().Backend = w
	AsClient(clientB, func() {
		p, st := IPCOpenMemHandle(handle, d)
		require.Equal(t, OK, st)
		require.Equal(t, base, p)
	})
	opener := NewCallSlot()
	defer opener.Close()
	opener.Enter() // clientB's long copy, validated, now running
	AsClient(clientA, func() { require.Equal(t, OK, FreeDevice(base)) })
	time.Sleep(2200 * time.Millisecond)
	assert.False(t, w.freed.Load(), "released under a call in flight")
	opener.Leave()
	assert.Eventually(t, w.freed.Load, 2*time.Second, 5*time.Millisecond, "released once the call returned")
}

// Unmapped memory is released at once: nothing can be using it.
func TestFreeingUnsharedMemoryIsImmediate(t *testing.T) {
	d := freshState(t)
	busy := NewCallSlot() // another session mid-call does not matter
	defer busy.Close()
	busy.Enter()
	AsClient(clientA, func() {
		a, st := AllocDevice(d, 4096, MemDevice)
		require.Equal(t, OK, st)
		w := &freeWatch{Backend: S().Backend, base: a.Base}
		S().Backend = w
		require.Equal(t, OK, FreeDevice(a.Base))
		assert.True(t, w.freed.Load())
	})
}
