package local

import (
	"runtime"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"vgpu/shim"
)

// fakeBackend is a backend on the fake driver with one device whose primary context is a
// placeholder (the fake's cuCtxSetCurrent takes any).
func fakeBackend(t *testing.T) *Backend {
	runtime.LockOSThread() // the backend finds its client by this thread's owner
	t.Cleanup(runtime.UnlockOSThread)
	useFakeDriver()
	b := &Backend{devices: make([]shim.DeviceRecord, 1), primaries: []unsafe.Pointer{unsafe.Pointer(uintptr(0x5000))}}
	t.Cleanup(func() { b.EndClient(shim.Thread().Owner) })
	return b
}

// A client's shared pinned memory is registered with the driver portable and device-mapped,
// and the device address MapHost returns is the one the driver's cuMemHostGetDevicePointer
// gave (the fake maps at host+fakeDevMap, so it cannot be mistaken for the host address);
// unregistering reaches the driver's cuMemHostUnregister.
func TestMapHostGivesTheDriversDeviceAddressAndUnregisterReachesTheDriver(t *testing.T) {
	b := fakeBackend(t)
	const p, n = uintptr(0x7f1200000000), uint64(1 << 20)
	dev, st := b.MapHost(p, n)
	require.Equal(t, shim.OK, st)
	require.Equal(t, p+fakeDevMap, dev, "the driver's device address, not the host one")
	flags, unregs := fakeHostReg(p)
	require.Equal(t, hostRegPortable|hostRegDeviceMap, flags)
	require.True(t, b.caller().isPinned(p+4096, 4096))

	b.UnregisterHost(p)
	flags, after := fakeHostReg(p)
	require.Equal(t, -1, flags, "the driver no longer has it registered")
	require.Equal(t, unregs+1, after)
	require.False(t, b.caller().isPinned(p, 1))
}

// The shared-memory window stays pinned only (portable, not device-mapped), as before.
func TestTheWindowIsPinnedPortableOnly(t *testing.T) {
	b := fakeBackend(t)
	const p = uintptr(0x7f1300000000)
	require.Equal(t, shim.OK, b.RegisterHost(p, 4<<20))
	flags, _ := fakeHostReg(p)
	require.Equal(t, hostRegPortable, flags)
	b.UnregisterHost(p)
}

// A range the driver refuses (here: one already registered) is no mapping: MapHost fails
// and leaves nothing registered for the client.
func TestMapHostFailsWhereTheDriverRefuses(t *testing.T) {
	b := fakeBackend(t)
	const p = uintptr(0x7f1400000000)
	_, st := b.MapHost(p, 8192)
	require.Equal(t, shim.OK, st)
	_, st = b.MapHost(p+4096, 4096)
	require.Equal(t, shim.ErrNotSupported, st)
	b.UnregisterHost(p)
	flags, _ := fakeHostReg(p)
	require.Equal(t, -1, flags)
}

// What a client left registered is unregistered with the driver when its session ends.
func TestAClientsMappedMemoryIsUnregisteredAtItsEnd(t *testing.T) {
	b := fakeBackend(t)
	const p = uintptr(0x7f1500000000)
	_, st := b.MapHost(p, 4096)
	require.Equal(t, shim.OK, st)
	_, before := fakeHostReg(p)
	b.EndClient(shim.Thread().Owner)
	flags, after := fakeHostReg(p)
	require.Equal(t, -1, flags)
	require.Equal(t, before+1, after)
}

// A client unregisters only what it registered: another client naming the same address
// reaches nothing in the driver.
func TestAClientCannotUnregisterAnotherClientsMappedMemory(t *testing.T) {
	b := fakeBackend(t)
	ts := shim.Thread()
	old := ts.Owner
	t.Cleanup(func() { ts.Owner = old })
	const p = uintptr(0x7f1600000000)
	ts.Owner = 101
	_, st := b.MapHost(p, 4096)
	require.Equal(t, shim.OK, st)
	_, before := fakeHostReg(p)
	ts.Owner = 102
	b.caller() // the other client exists
	b.UnregisterHost(p)
	flags, after := fakeHostReg(p)
	require.Equal(t, hostRegPortable|hostRegDeviceMap, flags, "still registered for its owner")
	require.Equal(t, before, after)
	b.EndClient(102)
	ts.Owner = 101
	b.UnregisterHost(p)
	flags, _ = fakeHostReg(p)
	require.Equal(t, -1, flags)
}
