package shim

// Handle kinds of driver 580's additions (cuda/green.go, cuda/driver580.go). They sit
// apart from the main list, from 0x40 on, so that kinds added there never take their values.
const (
	KindGreenCtx          Kind = 0x40 + iota // a CUgreenCtx
	KindDevResourceDesc                      // a CUdevResourceDesc
	KindAsyncNotification                    // a CUasyncCallbackHandle
)

// KindCheckpoint holds a caller's process-checkpoint state (cuda/checkpoint.go). It is never
// handed out: the handle exists so that a departing server client's saved memory is freed.
const KindCheckpoint Kind = 0x43
