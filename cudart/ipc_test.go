package cudart

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/shim"
)

// Hostile use of IPC handles between two clients of one server (owners 1 and 2) and a third
// that was never given the handle.

// heapBufs keeps host buffers handed to copies as numbers on the heap.
var heapBufs [][]byte

func ipcSetup(t *testing.T, n uint64) (ptr uintptr, handle [64]byte) {
	shim.Reset()
	t.Cleanup(shim.Reset)
	shim.AsClient(1, func() {
		require.Equal(t, Success, Malloc(unsafe.Pointer(&ptr), n))
		require.Equal(t, Success, Memset(ptr, 0x5a, n))
		require.Equal(t, Success, IpcGetMemHandle(unsafe.Pointer(&handle), ptr+16), "an interior pointer names its allocation")
	})
	return ptr, handle
}

func TestIPCAnotherClientSharesOnlyThroughTheHandle(t *testing.T) {
	lockThread(t)
	const n = 4096
	ptr, handle := ipcSetup(t, n)
	shim.AsClient(2, func() {
		assert.Equal(t, ErrorInvalidValue, Memset(ptr, 1, n), "before opening, the exporter's memory is unknown here")
		var p, p2 uintptr
		require.Equal(t, Success, IpcOpenMemHandle(unsafe.Pointer(&p), unsafe.Pointer(&handle), 1))
		assert.Equal(t, ptr, p, "the mapping is the allocation's base")
		buf := make([]byte, 8)
		require.Equal(t, Success, Memcpy(uintptr(unsafe.Pointer(&buf[0])), p+100, 8, shim.DeviceToHost))
		assert.Equal(t, []byte{0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a}, buf, "the opener reads the exporter's bytes")
		require.Equal(t, Success, Memset(p, 0x11, 64), "and writes them")
		assert.Equal(t, ErrorInvalidValue, Memset(p+n-8, 0, 16), "but not past the allocation")
		assert.Equal(t, ErrorInvalidValue, Free(p), "an opener cannot free what it mapped")
		require.Equal(t, Success, IpcOpenMemHandle(unsafe.Pointer(&p2), unsafe.Pointer(&handle), 0))
		assert.Equal(t, p, p2, "opening again gives the same mapping, counted")
		assert.Equal(t, Success, IpcCloseMemHandle(p))
		assert.Equal(t, Success, Memset(p, 0x11, 64), "one open remains")
		assert.Equal(t, Success, IpcCloseMemHandle(p))
		assert.Equal(t, ErrorInvalidValue, IpcCloseMemHandle(p), "closing more often than opening")
		assert.Equal(t, ErrorInvalidValue, Memset(p, 0x11, 64), "closed: unknown again")
	})
	shim.AsClient(1, func() {
		// On the heap: a stack buffer known only by its uintptr may move when the stack grows
		// during the call, and the copy would land in the old frame.
		b := make([]byte, 1)
		heapBufs = append(heapBufs, b)
		require.Equal(t, Success, Memcpy(uintptr(unsafe.Pointer(&b[0])), ptr, 1, shim.DeviceToHost))
		assert.Equal(t, byte(0x11), b[0], "the exporter sees the opener's write")
		var self uintptr
		assert.Equal(t, ErrorDeviceUninitialized, IpcOpenMemHandle(unsafe.Pointer(&self), unsafe.Pointer(&handle), 0), "a client cannot open its own handle")
	})
}

func TestIPCGuessedOrAlteredHandlesOpenNothing(t *testing.T) {
	lockThread(t)
	_, handle := ipcSetup(t, 4096)
	shim.AsClient(2, func() {
		var p uintptr
		for _, i := range []int{0, 8, 30, 55} {
			bad := handle
			bad[i] ^= 1
			assert.Equal(t, ErrorInvalidResourceHandle, IpcOpenMemHandle(unsafe.Pointer(&p), unsafe.Pointer(&bad), 0), "byte %d altered", i)
		}
		var zero, madeUp [64]byte
		assert.Equal(t, ErrorInvalidValue, IpcOpenMemHandle(unsafe.Pointer(&p), unsafe.Pointer(&zero), 0), "a zero handle is an invalid value")
		madeUp[0] = 1
		assert.Equal(t, ErrorInvalidResourceHandle, IpcOpenMemHandle(unsafe.Pointer(&p), unsafe.Pointer(&madeUp), 0), "a made-up handle names nothing")
		assert.Equal(t, ErrorInvalidValue, IpcOpenMemHandle(unsafe.Pointer(&p), unsafe.Pointer(&handle), 2), "unknown flags")
		var ev uintptr
		assert.Equal(t, ErrorInvalidResourceHandle, IpcOpenEventHandle(unsafe.Pointer(&ev), unsafe.Pointer(&handle)), "a memory handle is not an event handle")
	})
}

func TestIPCExporterFreeingRevokesEveryMapping(t *testing.T) {
	lockThread(t)
	ptr, handle := ipcSetup(t, 4096)
	var p uintptr
	shim.AsClient(2, func() {
		require.Equal(t, Success, IpcOpenMemHandle(unsafe.Pointer(&p), unsafe.Pointer(&handle), 0))
	})
	shim.AsClient(1, func() {
		assert.Equal(t, Success, Memset(ptr, 2, 4096), "the exporter keeps its memory while another has it mapped")
		require.Equal(t, Success, Free(ptr))
	})
	shim.AsClient(2, func() {
		assert.Equal(t, ErrorInvalidValue, Memset(p, 1, 8), "use after the owner freed it")
		assert.Equal(t, ErrorInvalidValue, IpcCloseMemHandle(p), "the mapping went with the memory")
		var q uintptr
		assert.Equal(t, ErrorInvalidResourceHandle, IpcOpenMemHandle(unsafe.Pointer(&q), unsafe.Pointer(&handle), 0), "the handle is revoked")
	})
	// Memory allocated at the same address afterwards is its new owner's alone.
	shim.AsClient(3, func() {
		var q uintptr
		require.Equal(t, Success, Malloc(unsafe.Pointer(&q), 4096))
		assert.Equal(t, ErrorInvalidResourceHandle, IpcOpenMemHandle(unsafe.Pointer(&p), unsafe.Pointer(&handle), 0))
	})
}

func TestIPCLeavingClientsTakeTheirMappingsAndExports(t *testing.T) {
	lockThread(t)
	ptr, handle := ipcSetup(t, 4096)
	var p uintptr
	shim.AsClient(2, func() {
		require.Equal(t, Success, IpcOpenMemHandle(unsafe.Pointer(&p), unsafe.Pointer(&handle), 0))
	})
	shim.FreeOwned(2) // the opener disconnects: its mapping goes, the memory stays
	shim.AsClient(1, func() { assert.Equal(t, Success, Memset(ptr, 0, 4096)) })
	shim.AsClient(2, func() { assert.Equal(t, ErrorInvalidValue, Memset(p, 0, 8)) })
	shim.FreeOwned(1) // the exporter disconnects: the handle dies with the memory
	shim.AsClient(2, func() {
		assert.Equal(t, ErrorInvalidResourceHandle, IpcOpenMemHandle(unsafe.Pointer(&p), unsafe.Pointer(&handle), 0))
	})
}

func TestIPCEventHandles(t *testing.T) {
	lockThread(t)
	shim.Reset()
	t.Cleanup(shim.Reset)
	var ev, timed uintptr
	var h, bad [64]byte
	shim.AsClient(1, func() {
		require.Equal(t, Success, EventCreateWithFlags(unsafe.Pointer(&ev), eventInterprocess|shim.EventDisableTiming))
		assert.Equal(t, ErrorInvalidValue, EventCreateWithFlags(unsafe.Pointer(&timed), eventInterprocess), "an interprocess event must disable timing")
		require.Equal(t, Success, EventCreateWithFlags(unsafe.Pointer(&timed), 0))
		assert.Equal(t, ErrorInvalidResourceHandle, IpcGetEventHandle(unsafe.Pointer(&bad), timed), "an event that is not interprocess cannot be shared")
		require.Equal(t, Success, IpcGetEventHandle(unsafe.Pointer(&h), ev))
		var self uintptr
		assert.Equal(t, ErrorDeviceUninitialized, IpcOpenEventHandle(unsafe.Pointer(&self), unsafe.Pointer(&h)))
	})
	var opened uintptr
	shim.AsClient(2, func() {
		require.Equal(t, Success, IpcOpenEventHandle(unsafe.Pointer(&opened), unsafe.Pointer(&h)))
		assert.NotEqual(t, ev, opened, "the opener gets a handle of its own")
		assert.Equal(t, ErrorInvalidResourceHandle, EventRecord(ev, 0), "the exporter's handle is still not the opener's")
		require.Equal(t, Success, EventRecord(opened, 0))
		assert.Equal(t, Success, EventDestroy(opened), "destroying the opened handle ends only it")
	})
	shim.AsClient(1, func() {
		assert.Equal(t, Success, EventSynchronize(ev), "the exporter's event is whole")
		require.Equal(t, Success, EventDestroy(ev))
	})
	shim.AsClient(2, func() {
		assert.Equal(t, ErrorInvalidResourceHandle, IpcOpenEventHandle(unsafe.Pointer(&opened), unsafe.Pointer(&h)), "destroyed by its creator: revoked")
	})
}

// Arrays, textures and surfaces are their creator's: another client's are wild values.
func TestArraysAndTexturesAreTheirOwners(t *testing.T) {
	lockThread(t)
	shim.Reset()
	t.Cleanup(shim.Reset)
	desc := [5]int32{32, 0, 0, 0, shim.ChanFloat}
	var arr uintptr
	var tex, surf uint64
	res := make([]byte, 64)
	texd := make([]byte, 72)
	shim.AsClient(1, func() {
		require.Equal(t, Success, MallocArray(unsafe.Pointer(&arr), unsafe.Pointer(&desc), 16, 16, shim.ArraySurfaceLS))
		shim.Le.PutUint64(res[8:], uint64(arr))
		require.Equal(t, Success, CreateTextureObject(unsafe.Pointer(&tex), unsafe.Pointer(&res[0]), unsafe.Pointer(&texd[0]), nil))
		require.Equal(t, Success, CreateSurfaceObject(unsafe.Pointer(&surf), unsafe.Pointer(&res[0])))
	})
	shim.AsClient(2, func() {
		var got [5]int32
		assert.Equal(t, ErrorInvalidResourceHandle, GetChannelDesc(unsafe.Pointer(&got), arr))
		assert.Equal(t, ErrorInvalidResourceHandle, FreeArray(arr))
		buf := make([]byte, 64)
		assert.Equal(t, ErrorInvalidResourceHandle, Memcpy2DToArray(arr, 0, 0, uintptr(unsafe.Pointer(&buf[0])), 64, 64, 1, shim.HostToDevice))
		var mine uint64
		assert.Equal(t, ErrorInvalidValue, CreateTextureObject(unsafe.Pointer(&mine), unsafe.Pointer(&res[0]), unsafe.Pointer(&texd[0]), nil), "a texture over another's array")
		assert.Equal(t, ErrorInvalidValue, GetTextureObjectResourceDesc(unsafe.Pointer(&buf[0]), tex))
		assert.Equal(t, ErrorInvalidValue, DestroyTextureObject(tex))
		assert.Equal(t, ErrorInvalidValue, DestroySurfaceObject(surf))
		_, e := LayoutOf(arr)
		assert.Equal(t, ErrorInvalidResourceHandle, e, "a remote client's layout query sees only its own arrays")
	})
	shim.AsClient(1, func() {
		assert.Equal(t, Success, DestroyTextureObject(tex))
		assert.Equal(t, Success, DestroySurfaceObject(surf))
		assert.Equal(t, Success, FreeArray(arr))
	})
}

// cudaDeviceReset takes an opener's mappings and arrays with the rest of its memory, and
// leaves the exporter's memory alone.
func TestDeviceResetDropsMappingsNotTheExportersMemory(t *testing.T) {
	lockThread(t)
	ptr, handle := ipcSetup(t, 4096)
	shim.AsClient(2, func() {
		var p, arr uintptr
		require.Equal(t, Success, IpcOpenMemHandle(unsafe.Pointer(&p), unsafe.Pointer(&handle), 0))
		desc := [5]int32{8, 0, 0, 0, shim.ChanUnsigned}
		require.Equal(t, Success, MallocArray(unsafe.Pointer(&arr), unsafe.Pointer(&desc), 64, 0, 0))
		require.Equal(t, Success, DeviceReset())
		assert.Equal(t, ErrorInvalidValue, Memset(p, 0, 8), "the mapping went with the reset")
		buf := make([]byte, 8)
		assert.NotEqual(t, Success, MemcpyToArray(arr, 0, 0, uintptr(unsafe.Pointer(&buf[0])), 8, shim.HostToDevice), "the array's storage went too")
	})
	shim.AsClient(1, func() { assert.Equal(t, Success, Memset(ptr, 0, 4096), "the exporter's memory stays") })
}

// The event behind an opened handle is the exporter's own; the opener destroying its handle
// must not end the export for anyone else.
func TestIPCOpenerDestroyingItsEventLeavesTheExport(t *testing.T) {
	lockThread(t)
	shim.Reset()
	t.Cleanup(shim.Reset)
	var ev uintptr
	var h [64]byte
	shim.AsClient(1, func() {
		require.Equal(t, Success, EventCreateWithFlags(unsafe.Pointer(&ev), eventInterprocess|shim.EventDisableTiming))
		require.Equal(t, Success, IpcGetEventHandle(unsafe.Pointer(&h), ev))
	})
	shim.AsClient(2, func() {
		var opened uintptr
		require.Equal(t, Success, IpcOpenEventHandle(unsafe.Pointer(&opened), unsafe.Pointer(&h)))
		require.Equal(t, Success, EventDestroy(opened))
	})
	shim.AsClient(3, func() {
		var opened uintptr
		assert.Equal(t, Success, IpcOpenEventHandle(unsafe.Pointer(&opened), unsafe.Pointer(&h)), "another opener revoked the exporter's handle")
	})
}

// An event export goes with its client, as its memory exports do: nothing of a departed
// client stays reachable, nor piles up in the server.
func TestIPCEventExportsGoWithTheirClient(t *testing.T) {
	lockThread(t)
	shim.Reset()
	t.Cleanup(shim.Reset)
	var ev uintptr
	var h [64]byte
	shim.AsClient(1, func() {
		require.Equal(t, Success, EventCreateWithFlags(unsafe.Pointer(&ev), eventInterprocess|shim.EventDisableTiming))
		require.Equal(t, Success, IpcGetEventHandle(unsafe.Pointer(&h), ev))
	})
	shim.FreeOwned(1)
	shim.ReleaseOwned(1)
	shim.AsClient(2, func() {
		var opened uintptr
		assert.Equal(t, ErrorInvalidResourceHandle, IpcOpenEventHandle(unsafe.Pointer(&opened), unsafe.Pointer(&h)))
	})
}
