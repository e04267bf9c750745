package cuda

import (
	"os"
	"sync"
	"unsafe"

	"vgpu/shim"
)

// Process checkpoints (cuCheckpointProcess*, CUDA 12.8+): a state machine per process,
// RUNNING -> LOCKED -> CHECKPOINTED -> (restore) LOCKED -> RUNNING, for the calling process
// only. Another pid is an invalid value: a program's vgpu knows its own process, and a
// server's client can name only itself (the pid it gave in its hello).
//
// What a checkpoint means here: the caller's device memory (cuMemAlloc, managed and mapped
// VMM ranges; never another client's IPC mapping) is copied to host memory and the device
// bytes are cleared, as the driver releases them; restore writes every range back bit for
// bit. Locking does not block the process's other CUDA calls (the model has no API lock);
// a checkpoint holds at most maxCheckpointBytes, beyond which it is out of memory and the
// process stays locked.

const (
	procRunning      = 0
	procLocked       = 1
	procCheckpointed = 2
	procFailed       = 3

	maxCheckpointBytes = 2 << 30
)

type savedRange struct {
	base uintptr
	dev  *shim.Device
	data []byte
}

// checkpointState is one process's: the program's own, or a server client's.
type checkpointState struct {
	owner uint64
	state int32
	saved []savedRange
}

// Close forgets a departed client's state and the memory it saved.
func (c *checkpointState) Close() {
	checkpointMu.Lock()
	delete(checkpoints, c.owner)
	checkpointMu.Unlock()
}

var (
	checkpointMu sync.Mutex
	checkpoints  = map[uint64]*checkpointState{}
)

// selfPID is the calling process's id: a server client's as it reported it.
func selfPID() int {
	if shim.CallerOwner() != 0 {
		return shim.CallerPID()
	}
	return os.Getpid()
}

// checkpointOf checks pid and returns the caller's state with checkpointMu held.
func checkpointOf(pid int32) (*checkpointState, Result) {
	if _, r := ready(); r != Success {
		return nil, r
	}
	if self := selfPID(); pid <= 0 || self <= 0 || int(pid) != self {
		return nil, ErrorInvalidValue
	}
	owner := shim.CallerOwner()
	checkpointMu.Lock()
	c := checkpoints[owner]
	if c == nil {
		c = &checkpointState{owner: owner}
		checkpoints[owner] = c
		shim.NewHandle(shim.KindCheckpoint, c)
	}
	return c, Success
}

// argsZero checks an optional 64-byte argument struct whose bytes from 'from' on are reserved.
func argsZero(args unsafe.Pointer, from int) bool {
	if args == nil {
		return true
	}
	for _, b := range shim.View(args, 64)[from:] {
		if b != 0 {
			return false
		}
	}
	return true
}

// CheckpointProcessGetState is cuCheckpointProcessGetState.
func CheckpointProcessGetState(pid int32, out unsafe.Pointer) Result {
	c, r := checkpointOf(pid)
	if r != Success {
		return r
	}
	defer checkpointMu.Unlock()
	if !shim.PutI32(out, c.state) {
		return ErrorInvalidValue
	}
	return Success
}

// CheckpointProcessGetRestoreThreadId is cuCheckpointProcessGetRestoreThreadId: the model
// restores on the calling thread of the process, so the process's main thread id.
func CheckpointProcessGetRestoreThreadId(pid int32, out unsafe.Pointer) Result {
	_, r := checkpointOf(pid)
	if r != Success {
		return r
	}
	checkpointMu.Unlock()
	if !shim.PutI32(out, pid) {
		return ErrorInvalidValue
	}
	return Success
}

// transition moves the caller from one state to another, or answers ILLEGAL_STATE.
func transition(pid int32, args unsafe.Pointer, reservedFrom int, from int32, op func(c *checkpointState) Result) Result {
	c, r := checkpointOf(pid)
	if r != Success {
		return r
	}
	defer checkpointMu.Unlock()
	if !argsZero(args, reservedFrom) {
		return ErrorInvalidValue
	}
	if c.state != from {
		return ErrorIllegalState
	}
	return op(c)
}

// CheckpointProcessLock is cuCheckpointProcessLock (CUcheckpointLockArgs: timeoutMs, then
// reserved); nothing contends for the lock in the model, so no timeout is reached.
func CheckpointProcessLock(pid int32, args unsafe.Pointer) Result {
	return transition(pid, args, 4, procRunning, func(c *checkpointState) Result {
		c.state = procLocked
		return Success
	})
}

// CheckpointProcessUnlock is cuCheckpointProcessUnlock.
func CheckpointProcessUnlock(pid int32, args unsafe.Pointer) Result {
	return transition(pid, args, 0, procLocked, func(c *checkpointState) Result {
		c.state = procRunning
		return Success
	})
}

// checkpointed is the caller's device memory a checkpoint saves.
func checkpointed() []*shim.Alloc {
	var out []*shim.Alloc
	for _, a := range shim.S().Mem.All() {
		switch a.Kind {
		case shim.MemDevice, shim.MemManaged, shim.MemMapped:
			out = append(out, a)
		}
	}
	return out
}

// onLegacy is the legacy default stream of the device an allocation lives on, where the
// checkpoint's copies run in order with the rest of the device's work.
func onLegacy(d *shim.Device) (*shim.Stream, shim.Status) {
	if d == nil {
		return nil, shim.ErrInvalidValue
	}
	return shim.ResolveStream(0, d)
}

// CheckpointProcessCheckpoint is cuCheckpointProcessCheckpoint: device memory to host.
func CheckpointProcessCheckpoint(pid int32, args unsafe.Pointer) Result {
	return transition(pid, args, 0, procLocked, func(c *checkpointState) Result {
		if st := shim.WaitBackend(); st != shim.OK {
			return From(st)
		}
		allocs := checkpointed()
		var total uint64
		for _, a := range allocs {
			total += uint64(a.Size)
		}
		if total > maxCheckpointBytes {
			return ErrorOutOfMemory
		}
		saved := make([]savedRange, 0, len(allocs))
		for _, a := range allocs {
			s, st := onLegacy(a.Dev)
			if st != shim.OK {
				return From(st)
			}
			buf := make([]byte, a.Size)
			if a.Size > 0 {
				if st := shim.Memcpy(s, uintptr(unsafe.Pointer(&buf[0])), a.Base, uint64(a.Size), shim.DeviceToHost); st != shim.OK {
					return From(st)
				}
			}
			saved = append(saved, savedRange{a.Base, a.Dev, buf})
		}
		for _, r := range saved { // released: what was there is gone until restored
			s, _ := onLegacy(r.dev)
			if st := shim.Memset(s, r.base, 0, uint64(len(r.data))); st != shim.OK {
				c.state = procFailed
				return From(st)
			}
		}
		c.saved, c.state = saved, procCheckpointed
		return Success
	})
}

// CheckpointProcessRestore is cuCheckpointProcessRestore: every saved range back, bit for
// bit. CUcheckpointRestoreArgs (CUDA 13) may name GPU pairs to restore onto other devices;
// the model restores onto the same ones only.
func CheckpointProcessRestore(pid int32, args unsafe.Pointer) Result {
	if args != nil && *(*uint32)(unsafe.Add(args, 8)) != 0 {
		if _, r := checkpointOf(pid); r != Success {
			return r
		}
		checkpointMu.Unlock()
		return ErrorNotSupported
	}
	return transition(pid, args, 0, procCheckpointed, func(c *checkpointState) Result {
		for _, s := range c.saved {
			if len(s.data) == 0 {
				continue
			}
			a := shim.S().Mem.Find(s.base)
			if a == nil || a.Base != s.base || uint64(a.Size) < uint64(len(s.data)) {
				c.state, c.saved = procFailed, nil // freed behind the checkpoint's back
				return ErrorIllegalState
			}
			ls, st := onLegacy(a.Dev)
			if st != shim.OK {
				c.state, c.saved = procFailed, nil
				return From(st)
			}
			if st := shim.Memcpy(ls, s.base, uintptr(unsafe.Pointer(&s.data[0])), uint64(len(s.data)), shim.HostToDevice); st != shim.OK {
				c.state, c.saved = procFailed, nil
				return From(st)
			}
		}
		c.saved, c.state = nil, procLocked
		return Success
	})
}
