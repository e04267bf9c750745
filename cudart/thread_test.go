package cudart

import (
	"runtime"
	"testing"
)

// lockThread keeps a test on one OS thread: the current context, the last error and the
// per-thread stream are per thread, as NVIDIA's are, and a goroutine that moved between
// threads mid-test would lose them (seen as 201, no current context, once in a few runs).
func lockThread(t *testing.T) {
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
}
