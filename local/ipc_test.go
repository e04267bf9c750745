package local

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/shim"
)

// backendWithContext is a backend whose client owner already has cc as its context on
// device 0 (no driver needed to make one).
func backendWithContext(owner uint64, cc *cctxT) *Backend {
	b := &Backend{devices: make([]shim.DeviceRecord, 1)}
	shim.AsClient(owner, func() { b.caller().ctxs[0] = cc })
	return b
}

// Memory exported in one process is opened in another by the driver's own IPC handle: the
// exporter's process asks cuIpcGetMemHandle in its client's context, the opener's
// cuIpcOpenMemHandle in its own, and its close is cuIpcCloseMemHandle. A handle the driver
// does not know is refused as the driver refuses it.
func TestIPCGoesThroughTheDriversOwnHandles(t *testing.T) {
	cc := useFakeDriver()
	useFakeIPC()
	dev := &shim.Device{Index: 0}
	exporter, opener := backendWithContext(1, cc), backendWithContext(2, cc)
	const base = uintptr(0x7f0000200000)
	var h [shim.IPCHandleSize]byte
	shim.AsClient(1, func() {
		var st shim.Status
		h, st = exporter.IPCExport(&shim.Alloc{Base: base, Size: 4096, Dev: dev})
		require.Equal(t, shim.OK, st)
	})
	opens0, closes0 := fakeIPCCounts()
	shim.AsClient(2, func() {
		p, st := opener.IPCImport(h, dev)
		require.Equal(t, shim.OK, st)
		assert.Equal(t, base+1<<40, p, "the address the driver mapped it at in this process")
		opener.IPCUnimport(2, p, dev)
		var forged [shim.IPCHandleSize]byte
		_, st = opener.IPCImport(forged, dev)
		assert.Equal(t, shim.ErrInvalidHandle, st)
	})
	opens, closes := fakeIPCCounts()
	assert.Equal(t, opens0+1, opens)
	assert.Equal(t, closes0+1, closes)
	opener.IPCUnimport(3, 0x1000, dev) // a client with no context: nothing to close
	_, closes = fakeIPCCounts()
	assert.Equal(t, closes0+1, closes)
}

// An interprocess event is a driver event made interprocess in the exporter's process and
// opened by its driver handle in the opener's: a record in the opener is the driver's record
// on the opener's stream, a wait the driver's wait, and a query the driver's answer.
func TestIPCEventsAreTheDriversInterprocessEvents(t *testing.T) {
	cc := useFakeDriver()
	useFakeIPCEvents(600)
	exporter, opener := backendWithContext(1, cc), backendWithContext(2, cc)
	var ev uintptr
	var h [shim.IPCHandleSize]byte
	shim.AsClient(1, func() {
		var st shim.Status
		ev, h, st = exporter.IPCEventExport(0)
		require.Equal(t, shim.OK, st)
	})
	shim.AsClient(2, func() {
		opened, st := opener.IPCEventImport(h, 0)
		require.Equal(t, shim.OK, st)
		require.Equal(t, shim.OK, opener.IPCEventRecord(opened, 0))
		var forged [shim.IPCHandleSize]byte
		_, st = opener.IPCEventImport(forged, 0)
		assert.Equal(t, shim.ErrInvalidHandle, st)
	})
	_, records, _ := fakeIPCEvent(ev)
	assert.Equal(t, 1, records, "the opener's record is the exporter's driver event's")
	shim.AsClient(1, func() {
		assert.Equal(t, shim.ErrNotReady, exporter.IPCEventQuery(ev, 0, false), "the driver's answer")
		require.Equal(t, shim.OK, exporter.IPCEventWait(ev, 0))
	})
	_, _, waits := fakeIPCEvent(ev)
	assert.Equal(t, 1, waits)
	exporter.IPCEventFree(1, ev, 0)
	used, _, _ := fakeIPCEvent(ev)
	assert.False(t, used, "destroyed in the driver")
}
