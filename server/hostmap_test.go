package server

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"vgpu/shim"
	"vgpu/wire"
)

// mappingDriver stands for a GPU backend that maps registered host memory for kernels: the
// device address it gives is the host one plus devOffset, so a test tells them apart.
type mappingDriver struct {
	*shim.SimBackend
	mapped   map[uintptr]uint64
	unmapped []uintptr
}

const devOffset = 0x100000000000

func (m *mappingDriver) MapHost(p uintptr, n uint64) (uintptr, shim.Status) {
	m.mapped[p] = n
	return p + devOffset, shim.OK
}
func (m *mappingDriver) RegisterHost(p uintptr, n uint64) shim.Status { return shim.OK }
func (m *mappingDriver) UnregisterHost(p uintptr)                     { m.unmapped = append(m.unmapped, p) }

func withMappingDriver(t *testing.T) *mappingDriver {
	m := &mappingDriver{SimBackend: &shim.SimBackend{}, mapped: map[uintptr]uint64{}}
	withBackend(t, m)
	return m
}

// freeAddress is an address with n free bytes in this process (mapped, then unmapped).
func freeAddress(t *testing.T, n int) uintptr {
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_ANON)
	require.NoError(t, err)
	p := uintptr(unsafe.Pointer(&b[0]))
	require.NoError(t, unix.Munmap(b))
	return p
}

// shareAt asks server s to share a fresh memfd of n bytes as the client's memory at addr; it
// returns the answer and the client's own mapping of the memfd.
func shareAt(t *testing.T, s hostShares, addr uint64, n int) ([]byte, []byte) {
	c, server, in := peerConns(t)
	fd := memfd(t, int64(n), clientSeals)
	resp := s.share(server, send(t, c, in, wire.OpHostShare, fd, u64s(addr, uint64(n))))
	// The client's own mapping (mapped after the share: in this one process it would
	// otherwise take the free address the test chose).
	mine, err := unix.Mmap(fd, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Munmap(mine) })
	return resp, mine
}

func mapped(p uintptr) bool {
	_, _, e := unix.Syscall(unix.SYS_MSYNC, p, 4096, unix.MS_ASYNC)
	return e == 0
}

// A client's shared pinned memory is mapped in the server at the client's own address (free
// here), registered device-mapped, and the answer carries the driver's device address, which
// the client's program then gets from cudaHostGetDevicePointer; the bytes are the client's
// pages. Unsharing unregisters it with the driver and unmaps it.
func TestSharedPinnedMemoryIsMappedAtTheClientsAddressAndItsDeviceAddressAnswered(t *testing.T) {
	m := withMappingDriver(t)
	addr := freeAddress(t, 8192)
	s := hostShares{}
	t.Cleanup(s.dropAll)
	resp, mine := shareAt(t, s, uint64(addr), 8192)
	require.Len(t, resp, 9)
	require.Equal(t, byte(shim.OK), resp[0])
	require.Equal(t, uint64(addr+devOffset), binary.LittleEndian.Uint64(resp[1:]), "the driver's device address")
	require.Equal(t, uint64(8192), m.mapped[addr], "registered device-mapped where the client has it")
	require.Equal(t, addr, uintptr(unsafe.Pointer(&s[uint64(addr)].b[0])))
	mine[100] = 42 // the client writes; a kernel (here: the server) reads the same page
	require.Equal(t, byte(42), *(*byte)(unsafe.Pointer(addr + 100)))

	require.Equal(t, []byte{byte(shim.OK)}, s.unshare(u64s(uint64(addr))))
	require.Equal(t, []uintptr{addr}, m.unmapped)
	require.False(t, mapped(addr), "unmapped from the server")
}

// An address already in use in the server is never taken over (MAP_FIXED_NOREPLACE): the
// share lands elsewhere, the device address is that mapping's, and what was there is intact.
// So one client naming another's (or the server's own) memory cannot replace it.
func TestAnAddressInUseInTheServerIsNeverTakenOver(t *testing.T) {
	m := withMappingDriver(t)
	s, other := hostShares{}, hostShares{}
	t.Cleanup(s.dropAll)
	t.Cleanup(other.dropAll)
	addr := freeAddress(t, 4096)
	resp, theirs := shareAt(t, other, uint64(addr), 4096) // another client's memory is at addr
	require.Equal(t, byte(shim.OK), resp[0])
	theirs[0] = 7

	resp, mine := shareAt(t, s, uint64(addr), 4096)
	require.Len(t, resp, 9)
	require.Equal(t, byte(shim.OK), resp[0])
	at := uintptr(unsafe.Pointer(&s[uint64(addr)].b[0]))
	require.NotEqual(t, addr, at, "mapped elsewhere")
	require.Equal(t, uint64(at+devOffset), binary.LittleEndian.Uint64(resp[1:]), "the device address of where it is")
	require.Equal(t, uint64(4096), m.mapped[at])
	mine[0] = 9
	require.Equal(t, byte(7), *(*byte)(unsafe.Pointer(addr)), "the other client's page is untouched")
	require.Equal(t, byte(9), *(*byte)(unsafe.Pointer(at)))
}

// A client names only its own shared ranges: another client's address, or an offset past
// its region, is an invalid value for a copy and an unshare, and leaves the mapping alone.
func TestAClientCannotNameAnotherClientsMappedRangeOrPastItsRegion(t *testing.T) {
	withMappingDriver(t)
	a, b := hostShares{}, hostShares{}
	t.Cleanup(a.dropAll)
	t.Cleanup(b.dropAll)
	addr := freeAddress(t, 8192)
	resp, _ := shareAt(t, a, uint64(addr), 8192)
	require.Equal(t, byte(shim.OK), resp[0])
	bad := []byte{byte(shim.ErrInvalidValue)}
	for _, op := range []uint32{wire.OpPutHost, wire.OpGetHost} {
		require.Equal(t, bad, b.copy(op, u64s(1, uint64(addr), 16), false), "another client's range")
		require.Equal(t, bad, a.copy(op, u64s(1, uint64(addr)+8192, 1), false), "just past the region")
		require.Equal(t, bad, a.copy(op, u64s(1, uint64(addr)+8000, 200), false), "running past the region")
	}
	require.Equal(t, bad, b.unshare(u64s(uint64(addr))), "another client's mapping")
	require.Equal(t, bad, a.unshare(u64s(uint64(addr)+4096)), "inside, not its start")
	require.True(t, mapped(addr), "still mapped for its owner")
}

// The server's main stack grows down into free address space: a client's address just below
// it is never taken, though free; the share lands elsewhere.
func TestAClientsAddressJustBelowTheServersStackIsNotTaken(t *testing.T) {
	withMappingDriver(t)
	require.NotZero(t, stackLow())
	addr := stackLow() - 64*4096
	s := hostShares{}
	t.Cleanup(s.dropAll)
	resp, _ := shareAt(t, s, uint64(addr), 4096)
	require.Equal(t, byte(shim.OK), resp[0])
	require.NotEqual(t, addr, uintptr(unsafe.Pointer(&s[uint64(addr)].b[0])))
	require.False(t, mapped(addr))
}

// Each shared allocation is a mapping of the server's, and a process has a bounded number of
// them (vm.max_map_count, 65530 by default): a client's shares are bounded in number as in
// bytes, so that many small ones cannot leave the server (every session of a server that
// serves clients from one process) unable to map memory. A share past the bound is out of
// memory, as one past the bytes is, and the client keeps that allocation in its own memory.
func TestAClientsSharesAreBoundedInNumber(t *testing.T) {
	require.LessOrEqual(t, maxHostShares*16, 65530, "the bound leaves the server most of its mappings")
	withMappingDriver(t)
	old := maxHostShares
	maxHostShares = 8
	t.Cleanup(func() { maxHostShares = old })
	s := hostShares{}
	t.Cleanup(s.dropAll)
	var addrs []uint64
	for i := 0; i < maxHostShares; i++ {
		addr := uint64(freeAddress(t, 4096))
		resp, _ := shareAt(t, s, addr, 4096)
		require.Equal(t, byte(shim.OK), resp[0])
		addrs = append(addrs, addr)
	}
	addr := uint64(freeAddress(t, 4096))
	resp, _ := shareAt(t, s, addr, 4096)
	require.Equal(t, []byte{byte(shim.ErrOutOfMemory)}, resp, "one share more than the bound")
	require.Len(t, s, maxHostShares, "nothing mapped for it")
	require.Equal(t, []byte{byte(shim.OK)}, s.unshare(u64s(addrs[0])))
	resp, _ = shareAt(t, s, addr, 4096)
	require.Equal(t, byte(shim.OK), resp[0], "room again once one is unshared")
}
