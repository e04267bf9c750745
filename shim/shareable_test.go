package shim

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Shareable handles between two clients of one server (shim/shareable.go). The bytes are
// what the fd carries; the fd itself is made and read in a client's own process (tested at
// the end, and by tests/c/shareable.c across two processes).

// poolProps is a CUmemPoolProps: pinned memory of device 0, exportable as handles.
func poolProps(handles uint32) []byte {
	b := make([]byte, PoolPropsSize)
	Le.PutUint32(b, allocPinned)
	Le.PutUint32(b[4:], handles)
	Le.PutUint32(b[8:], locationDevice)
	return b
}

// exportedPool has clientA make an exportable pool, draw n bytes holding a pattern from it
// and export both; it returns the pool's handle bytes, the pointer's and the allocation.
func exportedPool(t *testing.T, d *Device, n uint64) (poolH, ptrH []byte, base uintptr, pool *MemPool) {
	poolH, ptrH = make([]byte, ShareableSize), make([]byte, ShareableSize)
	AsClient(clientA, func() {
		var st Status
		pool, st = CreatePool(poolProps(HandlePosixFD))
		require.Equal(t, OK, st)
		a, st := AllocFromPool(pool, n)
		require.Equal(t, OK, st)
		base = a.Base
		src, srcPtr := hostBuf(int(n))
		for i := range src {
			src[i] = byte(i*5 + 1)
		}
		require.Equal(t, OK, Memcpy(DefaultStream(d), base, srcPtr, n, HostToDevice))
		require.Equal(t, OK, ExportPool(poolH, pool, HandlePosixFD, 0))
		require.Equal(t, OK, ExportPoolPointer(ptrH, base))
	})
	return
}

func TestAnImportedPoolPointerReadsTheExportersMemory(t *testing.T) {
	d := freshState(t)
	const n = 4096
	poolH, ptrH, base, _ := exportedPool(t, d, n)
	AsClient(clientB, func() {
		p, st := ImportPool(poolH, HandlePosixFD, 0)
		require.Equal(t, OK, st)
		at, st := ImportPoolPointer(p, ptrH)
		require.Equal(t, OK, st)
		require.Equal(t, base, at)
		got, gotPtr := hostBuf(n)
		require.Equal(t, OK, Memcpy(DefaultStream(d), gotPtr, at, n, DeviceToHost))
		for i := range got {
			require.Equal(t, byte(i*5+1), got[i], "byte %d", i)
		}
	})
}

func TestTheExportersFreeRevokesAnImportedPointer(t *testing.T) {
	d := freshState(t)
	poolH, ptrH, base, _ := exportedPool(t, d, 4096)
	AsClient(clientB, func() {
		p, _ := ImportPool(poolH, HandlePosixFD, 0)
		_, st := ImportPoolPointer(p, ptrH)
		require.Equal(t, OK, st)
	})
	AsClient(clientA, func() { require.Equal(t, OK, FreeDevice(base)) })
	AsClient(clientB, func() {
		assert.Nil(t, S().Mem.Find(base), "the mapping went with the exporter's memory")
		p, _ := ImportPool(poolH, HandlePosixFD, 0)
		_, st := ImportPoolPointer(p, ptrH)
		assert.Equal(t, ErrInvalidValue, st, "a freed allocation's bytes name nothing")
	})
}

func TestTheImportersFreeDropsOnlyItsMapping(t *testing.T) {
	d := freshState(t)
	poolH, ptrH, base, _ := exportedPool(t, d, 4096)
	w := &freeWatch{Backend: S().Backend, base: base}
	S().Backend = w
	AsClient(clientB, func() {
		p, _ := ImportPool(poolH, HandlePosixFD, 0)
		a1, st := ImportPoolPointer(p, ptrH)
		require.Equal(t, OK, st)
		a2, st := ImportPoolPointer(p, ptrH) // a double import: the same mapping, counted twice
		require.Equal(t, OK, st)
		require.Equal(t, a1, a2)
		require.Equal(t, OK, FreeDevice(a1))
		assert.NotNil(t, S().Mem.Find(a1), "one import is left")
		require.Equal(t, OK, FreeDevice(a1))
		assert.Nil(t, S().Mem.Find(a1))
		assert.Equal(t, ErrInvalidDevicePointer, FreeDevice(a1), "nothing left to free")
	})
	assert.False(t, w.freed.Load(), "the importer freed the exporter's memory")
	AsClient(clientA, func() {
		require.NotNil(t, S().Mem.Exact(base, MemDevice), "the exporter's allocation stays its own")
		require.Equal(t, OK, FreeDevice(base))
	})
	assert.True(t, w.freed.Load())
}

func TestForgedOrForeignHandleBytesAreRefused(t *testing.T) {
	d := freshState(t)
	poolH, ptrH, _, _ := exportedPool(t, d, 4096)
	forged := append([]byte(nil), poolH...)
	forged[20] ^= 1
	AsClient(clientB, func() {
		_, st := ImportPool(forged, HandlePosixFD, 0)
		assert.Equal(t, ErrInvalidValue, st, "one bit off")
		_, st = ImportPool(ptrH, HandlePosixFD, 0)
		assert.Equal(t, ErrInvalidValue, st, "a pointer's bytes are not a pool's")
		_, st = ImportPhysical(poolH, HandlePosixFD)
		assert.Equal(t, ErrInvalidValue, st, "a pool's bytes are not memory's")
		_, st = ImportPool(make([]byte, ShareableSize), HandlePosixFD, 0)
		assert.Equal(t, ErrInvalidValue, st, "zeros")
		_, st = ImportPool(poolH, 2, 0)
		assert.Equal(t, ErrNotSupported, st, "Win32 handles are not modelled")
		_, st = ImportPool(poolH, 8, 0)
		assert.Equal(t, ErrNotSupported, st, "fabric handles are not modelled")
		_, st = ImportPool(poolH, 3, 0)
		assert.Equal(t, ErrInvalidValue, st)
		_, st = ImportPool(poolH, HandlePosixFD, 1)
		assert.Equal(t, ErrInvalidValue, st, "flags must be 0")
	})
	AsClient(clientA, func() {
		_, st := ImportPool(poolH, HandlePosixFD, 0)
		assert.Equal(t, ErrInvalidValue, st, "the exporter's own handle is not another process's")
	})
}

func TestAPointerImportsOnlyThroughAnImportOfItsOwnPool(t *testing.T) {
	d := freshState(t)
	poolH, ptrH, _, _ := exportedPool(t, d, 4096)
	otherH, otherPtr, _, _ := exportedPool(t, d, 4096) // a second pool of A's
	AsClient(clientB, func() {
		mine, st := CreatePool(poolProps(HandlePosixFD))
		require.Equal(t, OK, st)
		_, st = ImportPoolPointer(mine, ptrH)
		assert.Equal(t, ErrInvalidValue, st, "a pool of the importer's own")
		other, st := ImportPool(otherH, HandlePosixFD, 0)
		require.Equal(t, OK, st)
		_, st = ImportPoolPointer(other, ptrH)
		assert.Equal(t, ErrInvalidValue, st, "another pool of the exporter's")
		p, _ := ImportPool(poolH, HandlePosixFD, 0)
		_, st = ImportPoolPointer(p, otherPtr)
		assert.Equal(t, ErrInvalidValue, st)
		_, st = AllocFromPool(p, 4096)
		assert.Equal(t, ErrInvalidValue, st, "an imported pool hands out no memory")
		assert.Equal(t, ErrInvalidValue, SetCurrentPool(d, p))
		assert.Equal(t, ErrInvalidValue, ExportPool(make([]byte, ShareableSize), p, HandlePosixFD, 0), "nor is it exported again")
	})
}

func TestOnlyPoolsCreatedExportableCanBeExported(t *testing.T) {
	d := freshState(t)
	out := make([]byte, ShareableSize)
	AsClient(clientA, func() {
		plain, st := CreatePool(poolProps(0))
		require.Equal(t, OK, st)
		assert.Equal(t, ErrInvalidValue, ExportPool(out, plain, HandlePosixFD, 0))
		assert.Equal(t, ErrInvalidValue, ExportPool(out, PoolOf(d), HandlePosixFD, 0), "a default pool")
		a, st := AllocFromPool(plain, 4096)
		require.Equal(t, OK, st)
		assert.Equal(t, ErrInvalidValue, ExportPoolPointer(out, a.Base), "its allocations neither")
		exp, st := CreatePool(poolProps(HandlePosixFD))
		require.Equal(t, OK, st)
		assert.Equal(t, ErrNotSupported, ExportPool(out, exp, 8, 0), "fabric")
		assert.Equal(t, ErrInvalidValue, ExportPool(out, exp, HandlePosixFD, 1), "flags")
		b, st := AllocFromPool(exp, 4096)
		require.Equal(t, OK, st)
		assert.Equal(t, ErrInvalidValue, ExportPoolPointer(out, b.Base+16), "inside an allocation")
	})
	AsClient(clientB, func() {
		mine, _ := AllocDevice(d, 4096, MemDevice)
		assert.Equal(t, ErrInvalidValue, ExportPoolPointer(out, mine.Base), "not drawn from a pool")
	})
}

func TestADestroyedPoolsHandleNamesNothing(t *testing.T) {
	d := freshState(t)
	poolH, _, _, pool := exportedPool(t, d, 4096)
	AsClient(clientA, func() { require.Equal(t, OK, pool.Destroy()) })
	AsClient(clientB, func() {
		_, st := ImportPool(poolH, HandlePosixFD, 0)
		assert.Equal(t, ErrInvalidValue, st)
	})
}

func TestImportedVMMMemoryIsTheSameMemoryAndOutlivesTheExportersHandle(t *testing.T) {
	d := freshState(t)
	const n = VMMGranularity
	h := make([]byte, ShareableSize)
	var src *Physical
	AsClient(clientA, func() {
		var st Status
		src, st = CreatePhysical(d, n)
		require.Equal(t, OK, st)
		assert.Equal(t, ErrInvalidValue, ExportPhysical(h, src, HandlePosixFD, 0), "not requested at cuMemCreate")
		src.Handles = HandlePosixFD
		require.Equal(t, OK, ExportPhysical(h, src, HandlePosixFD, 0))
		_, st = ImportPhysical(h, HandlePosixFD)
		assert.Equal(t, ErrInvalidValue, st, "its own")
	})
	used := d.Used()
	mapped := func(p *Physical) (uintptr, []byte) {
		r, st := Reserve(n, 0)
		require.Equal(t, OK, st)
		require.Equal(t, OK, MapPhysical(r.Base, n, 0, p))
		require.Equal(t, OK, SetAccess(r.Base, n, AccessReadWrite))
		return r.Base, Bytes(r.Base, n)
	}
	var imp *Physical
	var impAt uintptr
	AsClient(clientB, func() {
		var st Status
		imp, st = ImportPhysical(h, HandlePosixFD)
		require.Equal(t, OK, st)
		got, ok := LookupPhysical(uint64(imp.Handle))
		require.True(t, ok, "a handle of the importer's")
		assert.Same(t, imp, got)
		var b []byte
		impAt, b = mapped(imp)
		b[100] = 0x5a
	})
	AsClient(clientA, func() {
		at, b := mapped(src)
		assert.Equal(t, byte(0x5a), b[100], "the exporter sees what the importer wrote")
		require.Equal(t, OK, UnmapPhysical(at, n))
		require.Equal(t, OK, src.ReleasePhysical())
		_, ok := LookupPhysical(uint64(src.Handle))
		assert.False(t, ok)
	})
	assert.Equal(t, used, d.Used(), "the importer is charged nothing, and its handle keeps the memory")
	AsClient(clientB+1, func() {
		_, st := ImportPhysical(h, HandlePosixFD)
		assert.Equal(t, ErrInvalidValue, st, "released: the export is over")
	})
	AsClient(clientB, func() {
		assert.Equal(t, byte(0x5a), Bytes(impAt, n)[100], "still the importer's to use")
		require.Equal(t, OK, UnmapPhysical(impAt, n))
		require.Equal(t, OK, imp.ReleasePhysical())
	})
	assert.Equal(t, used-n, d.Used(), "the last holder gone, the memory is returned")
}

// In a program's own process the handle is a file descriptor holding the bytes: sealed, so
// nobody holding it can change what it names; anything else passed as one is refused.
func TestAShareableFDCarriesExactlyItsBytes(t *testing.T) {
	want := make([]byte, ShareableSize)
	for i := range want {
		want[i] = byte(i + 1)
	}
	fd, st := ShareableFD(want)
	require.Equal(t, OK, st)
	defer unix.Close(fd)
	got, st := ReadShareableFD(fd)
	require.Equal(t, OK, st)
	assert.Equal(t, want, got)
	_, err := unix.Pwrite(fd, []byte{0}, 0)
	assert.Error(t, err, "sealed against writes")
	got, _ = ReadShareableFD(fd)
	assert.Equal(t, want, got, "read twice, the same")

	_, st = ReadShareableFD(-1)
	assert.Equal(t, ErrInvalidValue, st)
	_, st = ReadShareableFD(1 << 20)
	assert.Equal(t, ErrInvalidValue, st, "not an open fd")
	var pipe [2]int
	require.NoError(t, unix.Pipe(pipe[:]))
	defer unix.Close(pipe[0])
	defer unix.Close(pipe[1])
	_, st = ReadShareableFD(pipe[0])
	assert.Equal(t, ErrInvalidValue, st, "a pipe is not a handle")
}

// A client that goes takes its exports with it: its pool's bytes name nothing afterwards.
func TestAnExportersDepartureEndsItsPoolExport(t *testing.T) {
	d := freshState(t)
	poolH, _, _, _ := exportedPool(t, d, 4096)
	ReleaseOwned(clientA)
	AsClient(clientB, func() {
		_, st := ImportPool(poolH, HandlePosixFD, 0)
		assert.Equal(t, ErrInvalidValue, st)
	})
}
