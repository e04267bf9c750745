package server

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"vgpu/cudart"
	"vgpu/shim"
	"vgpu/wire"
)

// A shared-host copy names host memory by the client's address: only a range inside one
// shared mapping, and a whole frame, is taken.
func TestSharedHostCopyBounds(t *testing.T) {
	b, err := unix.Mmap(-1, 0, 8192, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANON)
	require.NoError(t, err)
	s := hostShares{}
	const client = 0x7f0000000000
	s[client] = &struct {
		b      []byte
		pinned bool
	}{b, false}
	t.Cleanup(func() { s.dropAll() })
	bad := []struct {
		name    string
		payload []byte
	}{
		{"short frame", u64s(1, client)},
		{"no bytes", u64s(1, client, 0)},
		{"before the mapping", u64s(1, client-1, 16)},
		{"past its end", u64s(1, client+8000, 200)},
		{"a length that wraps", u64s(1, client+16, ^uint64(0))},
		{"nowhere", u64s(1, 0x1000, 16)},
	}
	for _, c := range bad {
		for _, op := range []uint32{wire.OpPutHost, wire.OpGetHost} {
			require.Equal(t, []byte{byte(shim.ErrInvalidValue)}, s.copy(op, c.payload, false), c.name)
		}
	}
	// Inside the mapping the bytes go to the device and come back, posted or waited for.
	var dev uintptr
	require.Equal(t, cudart.Success, cudart.Malloc(unsafe.Pointer(&dev), 4096))
	t.Cleanup(func() { cudart.Free(dev) })
	for i := range 4096 {
		b[i] = byte(i * 7)
	}
	ok := []byte{byte(shim.OK)}
	require.Equal(t, ok, s.copy(wire.OpPutHost, u64s(uint64(dev), client, 4096), true))
	require.Equal(t, ok, s.copy(wire.OpGetHost, u64s(uint64(dev), client+4096, 4096), false))
	require.Equal(t, b[:4096], b[4096:])
	require.Equal(t, []byte{byte(shim.ErrInvalidValue)}, s.unshare(u64s(client+1)), "an address that is no mapping's")
	// Past the client's bound a share is refused before anything is mapped.
	old := sharedPerClient
	sharedPerClient = 12288
	t.Cleanup(func() { sharedPerClient = old })
	c, server, in := peerConns(t)
	p := send(t, c, in, wire.OpHostShare, memfd(t, 8192, clientSeals), u64s(client+1<<20, 8192))
	require.Equal(t, []byte{byte(shim.ErrOutOfMemory)}, s.share(server, p))
}

func u64s(vs ...uint64) []byte {
	var b []byte
	for _, v := range vs {
		b = append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24), byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56))
	}
	return b
}
