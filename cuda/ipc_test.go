package cuda

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/shim"
)

// The driver's IPC forms share memory and events between two clients of one server only
// through the handle; a client's own handle does not open (invalid context), and the
// exporter's free revokes the opener's mapping.
func TestDriverIPCSharesMemoryAndEventsBetweenClients(t *testing.T) {
	lockThread(t)
	shim.Reset()
	t.Cleanup(shim.Reset)
	require.Equal(t, Success, Init(0))
	const n = 4096
	var ptr uint64
	var ctx1, ctx2, ev, plainEv uintptr
	var mh, eh [64]byte
	shim.AsClient(1, func() {
		require.Equal(t, Success, CtxCreate(unsafe.Pointer(&ctx1), 0, 0))
		require.Equal(t, Success, MemAlloc(unsafe.Pointer(&ptr), n))
		require.Equal(t, Success, MemsetD8(ptr, 0x5a, n))
		require.Equal(t, Success, IpcGetMemHandle(unsafe.Pointer(&mh), ptr+16), "an interior pointer names its allocation")
		assert.Equal(t, ErrorInvalidValue, IpcGetMemHandle(nil, ptr))
		var self uint64
		assert.Equal(t, ErrorInvalidContext, IpcOpenMemHandle(unsafe.Pointer(&self), unsafe.Pointer(&mh), 0), "a client cannot open its own handle")
		require.Equal(t, Success, EventCreate(unsafe.Pointer(&plainEv), 0))
		assert.Equal(t, ErrorInvalidHandle, IpcGetEventHandle(unsafe.Pointer(&eh), plainEv), "an event made without CU_EVENT_INTERPROCESS")
		require.Equal(t, Success, EventCreate(unsafe.Pointer(&ev), eventInterprocess|shim.EventDisableTiming))
		require.Equal(t, Success, IpcGetEventHandle(unsafe.Pointer(&eh), ev))
	})
	shim.AsClient(2, func() {
		require.Equal(t, Success, CtxCreate(unsafe.Pointer(&ctx2), 0, 0))
		assert.Equal(t, ErrorInvalidValue, MemsetD8(ptr, 1, n), "before opening, the exporter's memory is unknown here")
		var p uint64
		assert.Equal(t, ErrorInvalidValue, IpcOpenMemHandle(unsafe.Pointer(&p), unsafe.Pointer(&mh), 2), "an unknown flag")
		require.Equal(t, Success, IpcOpenMemHandle(unsafe.Pointer(&p), unsafe.Pointer(&mh), 1))
		assert.Equal(t, ptr, p, "the mapping is the allocation's base")
		b := make([]byte, 4)
		require.Equal(t, Success, MemcpyDtoH(uintptr(unsafe.Pointer(&b[0])), p+100, 4))
		assert.Equal(t, []byte{0x5a, 0x5a, 0x5a, 0x5a}, b, "the opener reads the exporter's bytes")
		require.Equal(t, Success, MemsetD8(p, 0x11, 8), "and writes them")
		altered := mh
		altered[40] ^= 1
		var q uint64
		assert.NotEqual(t, Success, IpcOpenMemHandle(unsafe.Pointer(&q), unsafe.Pointer(&altered), 0), "an altered handle opens nothing")
		var opened uintptr
		require.Equal(t, Success, IpcOpenEventHandle(unsafe.Pointer(&opened), unsafe.Pointer(&eh)))
		assert.Equal(t, Success, EventRecord(opened, 0), "recording the exporter's event")
		assert.Equal(t, Success, EventSynchronize(opened))
		require.Equal(t, Success, IpcCloseMemHandle(p))
		assert.Equal(t, ErrorInvalidValue, IpcCloseMemHandle(p), "closing more often than opening")
		assert.Equal(t, ErrorInvalidValue, MemsetD8(p, 0x11, 8), "closed: unknown again")
	})
	shim.AsClient(1, func() {
		require.Equal(t, Success, CtxSetCurrent(ctx1))
		b := make([]byte, 1)
		require.Equal(t, Success, MemcpyDtoH(uintptr(unsafe.Pointer(&b[0])), ptr, 1))
		assert.Equal(t, byte(0x11), b[0], "the exporter sees the opener's write")
	})
}
