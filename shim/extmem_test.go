package shim

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// External memory between two clients of one server (shim/extmem.go); tests/c/extmem.c
// passes the fd between two processes.

// exportedVMM has clientA create n bytes of exportable VMM memory holding a pattern at off
// and export it; it returns the handle's bytes and the memory.
func exportedVMM(t *testing.T, d *Device, n, off uint64) ([]byte, *Physical) {
	h := make([]byte, ShareableSize)
	var src *Physical
	AsClient(clientA, func() {
		var st Status
		src, st = CreatePhysical(d, n)
		require.Equal(t, OK, st)
		src.Handles = HandlePosixFD
		require.Equal(t, OK, ExportPhysical(h, src, HandlePosixFD, 0))
		r, st := Reserve(n, 0)
		require.Equal(t, OK, st)
		require.Equal(t, OK, MapPhysical(r.Base, n, 0, src))
		require.Equal(t, OK, SetAccess(r.Base, n, AccessReadWrite))
		b := Bytes(r.Base, n)
		for i := uint64(0); i < 256; i++ {
			b[off+i] = byte(i*3 + 1)
		}
		require.Equal(t, OK, UnmapPhysical(r.Base, n))
		require.Equal(t, OK, FreeReservation(r.Base, n))
	})
	return h, src
}

func TestAMappedBufferIsTheExportersMemoryAtItsOffset(t *testing.T) {
	d := freshState(t)
	const n, off = 2 * VMMGranularity, VMMGranularity + 100
	h, src := exportedVMM(t, d, n, off)
	used := d.Used()
	AsClient(clientB, func() {
		m, st := ImportExternal(h, ExtMemOpaqueFD, n, ExtMemDedicated)
		require.Equal(t, OK, st)
		p, st := m.MappedBuffer(off, 256, 0)
		require.Equal(t, OK, st)
		b := Bytes(p, 256)
		for i := range b {
			require.Equal(t, byte(i*3+1), b[i], "byte %d", i)
		}
		b[0] = 0xee
		require.Equal(t, OK, m.Destroy())
		assert.Equal(t, byte(0xee), Bytes(p, 1)[0], "the buffer outlives its object's destroy")
		require.Equal(t, OK, FreeDevice(p))
		assert.Equal(t, ErrInvalidDevicePointer, FreeDevice(p), "freed twice")
		assert.Nil(t, S().Mem.Find(p), "the mapping is gone")
	})
	assert.Equal(t, used, d.Used(), "the importer is charged nothing")
	AsClient(clientA, func() { require.Equal(t, OK, src.ReleasePhysical()) })
	assert.Equal(t, used-n, d.Used(), "the last holder gone, the memory is returned")
}

func TestExternalMemoryRefusesForgedTokensAndBadSizes(t *testing.T) {
	d := freshState(t)
	const n = VMMGranularity
	h, _ := exportedVMM(t, d, n, 0)
	AsClient(clientB, func() {
		forged := append([]byte(nil), h...)
		forged[40] ^= 1
		_, st := ImportExternal(forged, ExtMemOpaqueFD, n, 0)
		assert.Equal(t, ErrInvalidValue, st, "a forged token")
		_, st = ImportExternal(h, ExtMemOpaqueFD, 0, 0)
		assert.Equal(t, ErrInvalidValue, st, "size 0")
		_, st = ImportExternal(h, ExtMemOpaqueFD, n+1, 0)
		assert.Equal(t, ErrInvalidValue, st, "larger than the memory")
		_, st = ImportExternal(h, ExtMemOpaqueFD, n, 2)
		assert.Equal(t, ErrInvalidValue, st, "unknown flags")
		_, st = ImportExternal(h, 2, n, 0)
		assert.Equal(t, ErrNotSupported, st, "a Win32 handle")

		m, st := ImportExternal(h, ExtMemOpaqueFD, 4096, 0)
		require.Equal(t, OK, st, "a size up to the memory's")
		_, st = m.MappedBuffer(4096, 1, 0)
		assert.Equal(t, ErrInvalidValue, st, "an offset past the end")
		_, st = m.MappedBuffer(4000, 97, 0)
		assert.Equal(t, ErrInvalidValue, st, "a range running past the end")
		_, st = m.MappedBuffer(0, 0, 0)
		assert.Equal(t, ErrInvalidValue, st, "size 0")
		_, st = m.MappedBuffer(^uint64(0)-10, 20, 0)
		assert.Equal(t, ErrInvalidValue, st, "an offset that wraps")
		require.Equal(t, OK, m.Destroy())
		assert.Equal(t, ErrInvalidHandle, m.Destroy(), "destroyed twice")
		_, ok := LookupExternal(m.Handle)
		assert.False(t, ok, "a destroyed handle names nothing")
	})
}

func TestTypesOtherThanTheOpaqueFDAreNotSupportedOrInvalid(t *testing.T) {
	assert.Equal(t, OK, ExtMemTypeStatus(ExtMemOpaqueFD))
	for typ := int32(2); typ <= 9; typ++ {
		assert.Equal(t, ErrNotSupported, ExtMemTypeStatus(typ), "type %d", typ)
	}
	for _, typ := range []int32{0, 10, -1} {
		assert.Equal(t, ErrInvalidValue, ExtMemTypeStatus(typ), "type %d", typ)
	}
}

func TestAnotherClientsExternalMemoryAndBuffersAreNotItsOwn(t *testing.T) {
	d := freshState(t)
	const n = VMMGranularity
	h, _ := exportedVMM(t, d, n, 0)
	var m *ExternalMemory
	var p uintptr
	AsClient(clientB, func() {
		var st Status
		m, st = ImportExternal(h, ExtMemOpaqueFD, n, 0)
		require.Equal(t, OK, st)
		p, st = m.MappedBuffer(0, 64, 0)
		require.Equal(t, OK, st)
	})
	AsClient(clientB+1, func() {
		_, ok := LookupExternal(m.Handle)
		assert.False(t, ok, "another client's handle is unknown")
		assert.Equal(t, ErrInvalidDevicePointer, FreeDevice(p), "another client's buffer is not freed")
	})
	AsClient(clientB, func() {
		assert.Equal(t, byte(1), Bytes(p, 1)[0], "still mapped for its owner")
		require.Equal(t, OK, FreeDevice(p))
		require.Equal(t, OK, m.Destroy())
	})
}

// In a program's own process the descriptor carries the fd; a successful import owns it.
// (A test server's clients run with serving set: the fd form runs here outside them, as the
// program's own process, owner 0, importing clientA's export.)
func TestASuccessfulImportClosesTheFDAndARefusedOneLeavesIt(t *testing.T) {
	d := freshState(t)
	const n = VMMGranularity
	h, _ := exportedVMM(t, d, n, 0)
	desc := func(typ int32, fd int, size uint64) unsafe.Pointer {
		b := make([]byte, ExtMemDescSize+ShareableSize)
		binary.LittleEndian.PutUint32(b[0:], uint32(typ))
		binary.LittleEndian.PutUint32(b[8:], uint32(fd))
		binary.LittleEndian.PutUint64(b[24:], size)
		return unsafe.Pointer(&b[0])
	}
	open := func(fd int) bool { _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); return err == nil }
	was := serving.Load()
	serving.Store(false)
	defer serving.Store(was)
	fd, st := ShareableFD(h)
	require.Equal(t, OK, st)
	_, st = ImportExternalDesc(desc(ExtMemOpaqueFD, fd, n+VMMGranularity))
	assert.Equal(t, ErrInvalidValue, st)
	assert.True(t, open(fd), "refused: the fd is still the caller's")
	m, st := ImportExternalDesc(desc(ExtMemOpaqueFD, fd, n))
	require.Equal(t, OK, st)
	assert.False(t, open(fd), "imported: the fd was closed")
	require.Equal(t, OK, m.Destroy())
	var pipe [2]int
	require.NoError(t, unix.Pipe(pipe[:]))
	defer unix.Close(pipe[0])
	defer unix.Close(pipe[1])
	_, st = ImportExternalDesc(desc(ExtMemOpaqueFD, pipe[0], n))
	assert.Equal(t, ErrInvalidValue, st, "a pipe")
	assert.True(t, open(pipe[0]), "not closed")
	_, st = ImportExternalDesc(nil)
	assert.Equal(t, ErrInvalidValue, st)
}

// On a server the bytes the client read from its fd follow the descriptor.
func TestAServerReadsTheTokenAfterTheDescriptor(t *testing.T) {
	d := freshState(t)
	const n = VMMGranularity
	h, _ := exportedVMM(t, d, n, 0)
	AsClient(clientB, func() {
		b := make([]byte, ExtMemDescSize+ShareableSize)
		binary.LittleEndian.PutUint32(b[0:], ExtMemOpaqueFD)
		binary.LittleEndian.PutUint32(b[8:], 0) // an fd number means nothing to a server
		binary.LittleEndian.PutUint64(b[24:], n)
		copy(b[ExtMemDescSize:], h)
		m, st := ImportExternalDesc(unsafe.Pointer(&b[0]))
		require.Equal(t, OK, st)
		require.Equal(t, OK, m.Destroy())
		b[ExtMemDescSize+20] ^= 0xff
		_, st = ImportExternalDesc(unsafe.Pointer(&b[0]))
		assert.Equal(t, ErrInvalidValue, st, "forged bytes")
	})
}
