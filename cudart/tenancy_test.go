package cudart

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/shim"
)

// The runtime answers a second client's calls on the first's pointer, stream and event as it
// answers wild values, and the first's keep working.
func TestRuntimeRefusesAnotherClientsValues(t *testing.T) {
	lockThread(t)
	shim.Reset()
	t.Cleanup(shim.Reset)
	const n = 4096
	var ptr, stream, event uintptr
	shim.AsClient(1, func() {
		require.Equal(t, Success, Malloc(unsafe.Pointer(&ptr), n))
		require.Equal(t, Success, StreamCreate(unsafe.Pointer(&stream)))
		require.Equal(t, Success, EventCreate(unsafe.Pointer(&event)))
	})
	var wildPtr, wildStream, wildEvent uintptr
	shim.AsClient(2, func() {
		require.Equal(t, Success, Malloc(unsafe.Pointer(&wildPtr), n))
		require.Equal(t, Success, Free(wildPtr))
		require.Equal(t, Success, StreamCreate(unsafe.Pointer(&wildStream)))
		require.Equal(t, Success, StreamDestroy(wildStream))
		require.Equal(t, Success, EventCreate(unsafe.Pointer(&wildEvent)))
		require.Equal(t, Success, EventDestroy(wildEvent))
	})
	shim.AsClient(2, func() {
		var got, want [24]byte
		assert.Equal(t, PointerGetAttributes(unsafe.Pointer(&want), wildPtr), PointerGetAttributes(unsafe.Pointer(&got), ptr))
		assert.Equal(t, uint32(0), shim.Le.Uint32(got[:]), "A's memory is unregistered host memory to B, as a wild address is")
		assert.Equal(t, shim.Le.Uint32(want[:]), shim.Le.Uint32(got[:]))
		assert.Equal(t, Memset(wildPtr, 1, n), Memset(ptr, 1, n))
		assert.Equal(t, Free(wildPtr), Free(ptr))
		assert.Equal(t, StreamSynchronize(wildStream), StreamSynchronize(stream))
		assert.Equal(t, EventRecord(wildEvent, 0), EventRecord(event, 0))
		assert.Equal(t, StreamWaitEvent(0, wildEvent, 0), StreamWaitEvent(0, event, 0))
		assert.Equal(t, ErrorInvalidResourceHandle, StreamDestroy(stream))
		assert.Equal(t, EventDestroy(wildEvent), EventDestroy(event))
	})
	shim.AsClient(1, func() {
		var attrs [24]byte
		require.Equal(t, Success, PointerGetAttributes(unsafe.Pointer(&attrs), ptr))
		assert.Equal(t, uint32(2), shim.Le.Uint32(attrs[:]), "A's memory is device memory to A")
		assert.Equal(t, Success, EventRecord(event, stream))
		assert.Equal(t, Success, StreamSynchronize(stream))
		assert.Equal(t, Success, EventDestroy(event))
		assert.Equal(t, Success, StreamDestroy(stream))
		assert.Equal(t, Success, Free(ptr))
	})
}

// Peer access belongs to the client's own context: another client's enable is not its, and
// its disable undoes nothing of another's.
func TestPeerAccessIsPerClient(t *testing.T) {
	lockThread(t)
	t.Setenv("VGPU_DEVICES", "2")
	shim.Reset()
	t.Cleanup(shim.Reset)
	shim.AsClient(1, func() { require.Equal(t, Success, DeviceEnablePeerAccess(1, 0)) })
	shim.AsClient(2, func() {
		assert.Equal(t, ErrorPeerNotEnabled, DeviceDisablePeerAccess(1), "B sees A's enable")
		assert.Equal(t, Success, DeviceEnablePeerAccess(1, 0), "B's own enable")
		assert.Equal(t, Success, DeviceDisablePeerAccess(1))
	})
	shim.AsClient(1, func() {
		assert.Equal(t, ErrorPeerAlreadyEnabled, DeviceEnablePeerAccess(1, 0), "B's disable undid A's enable")
	})
}
