package shim

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Inside `vgpu serve` each client's calls run on a locked thread whose Thread().Owner is the
// client's id. These tests play two clients, A and B, that way, and hold B to one rule: a
// value of A's (pointer or handle) gets from B exactly what a wild value gets.

const clientA, clientB = 101, 202

func freshState(t *testing.T) *Device {
	t.Helper()
	Reset()
	t.Cleanup(Reset)
	s := S()
	require.NoError(t, s.Err)
	return s.Device(0)
}

func hostBuf(n int) ([]byte, uintptr) {
	b := make([]byte, n)
	return b, uintptr(unsafe.Pointer(&b[0]))
}

// wildDevice is an address that was device memory and is no longer anyone's; allocations
// made after it may reuse it.
func wildDevice(t *testing.T, d *Device) uintptr {
	var p uintptr
	AsClient(clientB+1, func() {
		a, st := AllocDevice(d, 4096, MemDevice)
		require.Equal(t, OK, st)
		p = a.Base
		require.Equal(t, OK, FreeDevice(p))
	})
	return p
}

func TestAnotherClientsDeviceMemoryIsAWildAddress(t *testing.T) {
	d := freshState(t)
	const n = 4096
	secret, secretPtr := hostBuf(n)
	for i := range secret {
		secret[i] = byte(i*7 + 3)
	}
	var a *Alloc
	AsClient(clientA, func() {
		var st Status
		a, st = AllocDevice(d, n, MemDevice)
		require.Equal(t, OK, st)
		require.Equal(t, OK, Memcpy(DefaultStream(d), a.Base, secretPtr, n, HostToDevice))
	})
	var mine *Alloc
	AsClient(clientB, func() {
		var st Status
		mine, st = AllocDevice(d, n, MemDevice)
		require.Equal(t, OK, st)
	})
	wild := wildDevice(t, d)
	usedBefore := d.Used()

	AsClient(clientB, func() {
		buf, bufPtr := hostBuf(n)
		for i := range buf {
			buf[i] = 0xee
		}
		s := DefaultStream(d)
		// Each operation on A's pointer, beside the same operation on the wild one.
		ops := map[string]func(p uintptr) Status{
			"read (D2H)":     func(p uintptr) Status { return Memcpy(s, bufPtr, p, n, DeviceToHost) },
			"write (H2D)":    func(p uintptr) Status { return Memcpy(s, p, bufPtr, n, HostToDevice) },
			"copy from":      func(p uintptr) Status { return Memcpy(s, mine.Base, p, n, DeviceToDevice) },
			"copy onto":      func(p uintptr) Status { return Memcpy(s, p, mine.Base, n, DeviceToDevice) },
			"read 2D":        func(p uintptr) Status { return Memcpy2D(s, bufPtr, 64, p, 64, 64, 4, DeviceToHost) },
			"write 2D":       func(p uintptr) Status { return Memcpy2D(s, p, 64, bufPtr, 64, 64, 4, HostToDevice) },
			"memset":         func(p uintptr) Status { return Memset(s, p, 0, n) },
			"memset words":   func(p uintptr) Status { return MemsetWords(s, p, 0x01020304, 4, n/4) },
			"range check":    func(p uintptr) Status { _, st := DeviceRange(p, 1); return st },
			"range interior": func(p uintptr) Status { _, st := DeviceRange(p+100, 1); return st },
			"free":           func(p uintptr) Status { return FreeDevice(p) },
			"free interior":  func(p uintptr) Status { return FreeDevice(p + 16) },
		}
		for name, op := range ops {
			want := op(wild)
			assert.NotEqual(t, OK, want, "%s of a wild address fails", name)
			assert.Equal(t, want, op(a.Base), "%s of another client's memory fails as a wild address does", name)
		}
		assert.False(t, IsDevice(a.Base), "another client's memory is not device memory to B")
		assert.Nil(t, S().Mem.Find(a.Base+8))
		assert.Nil(t, S().Mem.Exact(a.Base, MemDevice, MemManaged))
		assert.NotContains(t, S().Mem.All(), a)
		for i := range buf {
			require.Equal(t, byte(0xee), buf[i], "B's buffer received none of A's bytes")
		}
	})
	assert.Equal(t, usedBefore, d.Used(), "B's free of A's memory refunded nothing")
	AsClient(clientB, func() { assert.Equal(t, OK, FreeDevice(mine.Base)) })

	AsClient(clientA, func() {
		got, gotPtr := hostBuf(n)
		require.Equal(t, OK, Memcpy(DefaultStream(d), gotPtr, a.Base, n, DeviceToHost), "A still reads its memory")
		assert.Equal(t, secret, got, "A's data is intact")
		assert.Same(t, a, S().Mem.Find(a.Base+100))
		assert.Equal(t, OK, FreeDevice(a.Base), "A still frees its memory")
	})
}

// A program's own process (owner 0) and a server's client never see each other's ranges.
func TestProgramRangesAndClientRangesAreApart(t *testing.T) {
	d := freshState(t)
	a, st := AllocDevice(d, 4096, MemDevice) // this test's own thread: owner 0
	require.Equal(t, OK, st)
	AsClient(clientB, func() {
		_, st := DeviceRange(a.Base, 1)
		assert.Equal(t, ErrInvalidValue, st)
		assert.Equal(t, ErrInvalidDevicePointer, FreeDevice(a.Base))
	})
	_, st = DeviceRange(a.Base, 1)
	assert.Equal(t, OK, st)
	assert.Equal(t, OK, FreeDevice(a.Base))
}

func TestAnotherClientsHandlesAreUnknown(t *testing.T) {
	d := freshState(t)
	type blasLike struct{ n int }
	var stream, event, blas, ctx, exec uintptr
	AsClient(clientA, func() {
		stream = NewStream(d, 0, 0).Handle
		event = NewEvent(0).Handle
		blas = NewHandle(KindBlas, &blasLike{7})
		ctx = NewContext(d, 0).Handle
		exec = Instantiate(NewGraph()).Handle
	})
	var wild [5]uintptr
	AsClient(clientB, func() { // handles B created and destroyed: well formed, live nowhere
		wild = [5]uintptr{NewStream(d, 0, 0).Handle, NewEvent(0).Handle, NewHandle(KindBlas, &blasLike{}),
			NewContext(d, 0).Handle, Instantiate(NewGraph()).Handle}
		for i, k := range []Kind{KindStream, KindEvent, KindBlas, KindContext, KindGraphExec} {
			require.True(t, Release(k, wild[i]))
		}
	})
	AsClient(clientB, func() {
		_, st := ResolveStream(wild[0], d)
		require.Equal(t, ErrInvalidHandle, st)
		_, st = ResolveStream(stream, d)
		assert.Equal(t, ErrInvalidHandle, st, "B cannot use A's stream")
		_, ok := Lookup[*Event](KindEvent, event)
		assert.False(t, ok, "B cannot use A's event")
		_, ok = Lookup[*blasLike](KindBlas, blas)
		assert.False(t, ok, "B cannot use A's cuBLAS handle")
		_, ok = Lookup[*Context](KindContext, ctx)
		assert.False(t, ok, "B cannot use A's context")
		_, ok = Lookup[*GraphExec](KindGraphExec, exec)
		assert.False(t, ok, "B cannot use A's graph")
		for i, k := range []Kind{KindStream, KindEvent, KindBlas, KindContext, KindGraphExec} {
			assert.Equal(t, Release(k, wild[i]), Release(k, []uintptr{stream, event, blas, ctx, exec}[i]),
				"destroying A's handle of kind %d answers as destroying a wild one", k)
		}
		n := 0
		Each(KindStream, func(uintptr, *Stream) { n++ })
		assert.Zero(t, n, "B lists none of A's streams")
	})
	AsClient(clientA, func() {
		s, st := ResolveStream(stream, d)
		require.Equal(t, OK, st, "A's stream survived B's destroy")
		assert.Equal(t, OK, s.Synchronize())
		e, ok := Lookup[*Event](KindEvent, event)
		require.True(t, ok, "A's event survived")
		assert.Equal(t, OK, e.Record(s))
		b, ok := Lookup[*blasLike](KindBlas, blas)
		require.True(t, ok, "A's cuBLAS handle survived")
		assert.Equal(t, 7, b.n)
		_, ok = Lookup[*Context](KindContext, ctx)
		assert.True(t, ok, "A's context survived")
		_, ok = Lookup[*GraphExec](KindGraphExec, exec)
		assert.True(t, ok, "A's graph survived")
		n := 0
		Each(KindStream, func(uintptr, *Stream) { n++ })
		assert.Equal(t, 1, n, "A lists its own stream")
		assert.True(t, Release(KindStream, stream), "A destroys its own stream")
	})
}

// Handle values carry 32 random bits: knowing one handle tells nothing about the next.
func TestHandlesAreNotGuessable(t *testing.T) {
	freshState(t)
	const n = 2000
	seen := map[uintptr]bool{}
	adjacent := 0
	var prev uintptr
	for i := 0; i < n; i++ {
		h := NewHandle(KindEvent, i)
		require.False(t, seen[h], "handles never repeat")
		seen[h] = true
		require.Equal(t, handleBase|uintptr(KindEvent)<<32, h&^0xffffffff, "the shape stays: base | kind<<32 | low bits")
		require.NotZero(t, h&0xffffffff)
		if d := h - prev; prev != 0 && (d == 1 || d == ^uintptr(0)) {
			adjacent++
		}
		prev = h
	}
	assert.Less(t, adjacent, 3, "consecutive handles are not neighbours")
	var or, and uintptr = 0, ^uintptr(0)
	for h := range seen {
		or, and = or|h, and&h
	}
	assert.Equal(t, uintptr(0xffffffff), (or&^and)&0xffffffff, "every one of the 32 low bits varies")
}

// Each client has its own primary context: what B does to its own never reaches A's.
func TestPrimaryContextsArePerClient(t *testing.T) {
	d := freshState(t)
	var ac *Context
	var allocated *Alloc
	AsClient(clientA, func() {
		ac = PrimaryContext(d)
		ac.Retain()
		ac.SetFlags(4)
		var st Status
		allocated, st = AllocDevice(d, 4096, MemDevice)
		require.Equal(t, OK, st)
	})
	AsClient(clientB, func() {
		bc := PrimaryContext(d)
		assert.NotSame(t, ac, bc)
		assert.NotEqual(t, ac.Handle, bc.Handle)
		_, ok := Lookup[*Context](KindContext, ac.Handle)
		assert.False(t, ok, "A's primary context handle is unknown to B")
		bc.Retain()
		assert.True(t, bc.ReleasePrimary())
		bc.SetFlags(1)
		ResetDevice(d) // cudaDeviceReset on B's side
	})
	AsClient(clientA, func() {
		assert.Same(t, ac, PrimaryContext(d))
		flags, active := ac.State()
		assert.Equal(t, uint32(4), flags, "B's flags did not reach A's context")
		assert.True(t, active, "B's reset left A's context active")
		_, st := DeviceRange(allocated.Base, 4096)
		assert.Equal(t, OK, st, "B's reset freed none of A's memory")
	})
	FreeOwned(clientA)
	ReleaseOwned(clientA)
	AsClient(clientA, func() {
		assert.NotSame(t, ac, PrimaryContext(d), "a departed client's primary context is forgotten with its handles")
	})
}

// B can neither map into, unmap from, protect nor free A's VMM reservation, nor use A's
// physical handle; when A goes, the server frees all of it.
func TestAnotherClientsVirtualMemoryIsUnknown(t *testing.T) {
	d := freshState(t)
	base := d.Used()
	var res *Alloc
	var phys *Physical
	AsClient(clientA, func() {
		var st Status
		res, st = Reserve(4*VMMGranularity, 0)
		require.Equal(t, OK, st)
		phys, st = CreatePhysical(d, VMMGranularity)
		require.Equal(t, OK, st)
		p, ok := LookupPhysical(uint64(phys.Handle))
		require.True(t, ok)
		require.Equal(t, OK, MapPhysical(res.Base, VMMGranularity, 0, p))
		require.Equal(t, OK, SetAccess(res.Base, VMMGranularity, AccessReadWrite))
		Bytes(res.Base, 4)[0] = 42
	})
	AsClient(clientB, func() {
		_, ok := LookupPhysical(uint64(phys.Handle))
		assert.False(t, ok, "B cannot resolve A's physical handle")
		mine, st := CreatePhysical(d, VMMGranularity)
		require.Equal(t, OK, st)
		assert.Equal(t, ErrInvalidValue, MapPhysical(res.Base+VMMGranularity, VMMGranularity, 0, mine), "B cannot map into A's reservation")
		assert.Equal(t, ErrInvalidValue, UnmapPhysical(res.Base, VMMGranularity))
		assert.Equal(t, ErrInvalidValue, SetAccess(res.Base, VMMGranularity, 0))
		assert.Equal(t, ErrInvalidValue, FreeReservation(res.Base, 4*VMMGranularity))
		_, st = DeviceRange(res.Base, 4)
		assert.Equal(t, ErrInvalidValue, st)
		require.Equal(t, OK, mine.ReleasePhysical())
	})
	AsClient(clientA, func() {
		_, st := DeviceRange(res.Base, 4)
		require.Equal(t, OK, st, "A's mapping is still readable and writable")
		assert.Equal(t, byte(42), Bytes(res.Base, 4)[0])
	})
	// The server's cleanup for a departed client sees every owner's ranges and handles.
	FreeOwned(clientA)
	ReleaseOwned(clientA)
	assert.Equal(t, base, d.Used(), "A's physical memory went back to the device")
	assert.Empty(t, S().Mem.EveryOwner(), "nothing of A's is left in the table")
}

func TestDepartedClientsMemoryIsFreedByTheServer(t *testing.T) {
	d := freshState(t)
	base := d.Used()
	AsClient(clientA, func() {
		for i := 0; i < 3; i++ {
			_, st := AllocDevice(d, 1<<20, MemDevice)
			require.Equal(t, OK, st)
		}
	})
	var kept *Alloc
	AsClient(clientB, func() {
		var st Status
		kept, st = AllocDevice(d, 4096, MemDevice)
		require.Equal(t, OK, st)
	})
	n, bytes := FreeOwned(clientA) // on the server's own thread (owner 0)
	assert.Equal(t, 3, n)
	assert.Equal(t, uint64(3<<20), bytes)
	assert.Equal(t, []*Alloc{kept}, S().Mem.EveryOwner(), "B's memory stays")
	AsClient(clientB, func() { assert.Equal(t, OK, FreeDevice(kept.Base)) })
	assert.Equal(t, base, d.Used())
}

func TestUsedByCallerCountsOnlyTheCallersMemory(t *testing.T) {
	d := freshState(t)
	AsClient(clientA, func() {
		_, st := AllocDevice(d, 1<<20, MemDevice)
		require.Equal(t, OK, st)
		assert.Equal(t, uint64(1<<20), UsedByCaller(d))
	})
	AsClient(clientB, func() { assert.Zero(t, UsedByCaller(d), "B holds nothing, whatever A holds") })
}

// Context ids (cuCtxGetId) count the caller's own contexts: from a server-wide sequence,
// the gap between two of A's ids would count the contexts other clients made meanwhile.
func TestContextIDsSayNothingOfOtherClients(t *testing.T) {
	d := freshState(t)
	var first, second uint64
	AsClient(clientA, func() { first = NewContext(d, 0).ID })
	AsClient(clientB, func() {
		PrimaryContext(d)
		NewContext(d, 0)
		NewContext(d, 0)
	})
	AsClient(clientA, func() { second = NewContext(d, 0).ID })
	assert.Equal(t, first+1, second, "A's ids skip the contexts B made")
	ReleaseOwned(clientA)
	ReleaseOwned(clientB)
}
