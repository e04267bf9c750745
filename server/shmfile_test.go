package server

import (
	"crypto/rand"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"vgpu/cudart"
	"vgpu/shim"
	"vgpu/wire"
)

const fileWindow = 4 << 20

// shmFile makes a file of size bytes on tmpfs (where a VM's ivshmem backing file lives) and
// the client's mapping of it; the test is skipped where the host has no /dev/shm.
func shmFile(t *testing.T, size int64) (string, []byte) {
	t.Helper()
	var fs unix.Statfs_t
	if unix.Statfs("/dev/shm", &fs) != nil || fs.Type != unix.TMPFS_MAGIC {
		t.Skip("no tmpfs at /dev/shm")
	}
	f, err := os.CreateTemp("/dev/shm", "vgpu-shmfile-test")
	require.NoError(t, err)
	t.Cleanup(func() { os.Remove(f.Name()) })
	defer f.Close()
	require.NoError(t, f.Chmod(0o600))
	require.NoError(t, f.Truncate(size))
	b, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Munmap(b) })
	return f.Name(), b
}

// proof writes a fresh nonce into the client's mapping and returns the request that sends it.
func proof(t *testing.T, mine []byte, size uint64, name string) []byte {
	nonce := make([]byte, wire.ShmNonceLen)
	_, err := rand.Read(nonce)
	require.NoError(t, err)
	copy(mine[wire.ShmNonceOffset:], nonce)
	return append(append(binary.LittleEndian.AppendUint64(nil, size), nonce...), name...)
}

var refused, accepted = []byte{byte(shim.ErrInvalidValue)}, []byte{byte(shim.OK)}

func TestSharedFileNeedsTheNonceTheClientWroteIntoIt(t *testing.T) {
	path, mine := shmFile(t, fileWindow)
	files := map[string]string{"vm0": path}
	var w shmWindow
	p := proof(t, mine, fileWindow, "vm0")
	p[8] ^= 1 // one bit of the nonce wrong
	require.Equal(t, refused, w.attachFile(files, p, shim.Log()))
	require.Nil(t, w.b)

	p = proof(t, mine, fileWindow, "vm0")
	require.Equal(t, accepted, w.attachFile(files, p, shim.Log()))
	defer w.detach()
	mine[fileWindow-1] = 0x5a // the same memory on both sides
	require.Equal(t, byte(0x5a), w.b[fileWindow-1])
	require.Equal(t, make([]byte, wire.ShmNonceLen), mine[wire.ShmNonceOffset:wire.ShmNonceOffset+wire.ShmNonceLen],
		"the nonce is wiped once used, so no one can replay it from the file")
}

func TestSharedFileIsFoundOnlyByADeclaredName(t *testing.T) {
	path, mine := shmFile(t, fileWindow)
	var w shmWindow
	for _, name := range []string{"vm1", path, "../" + filepath.Base(path), ""} {
		require.Equal(t, refused, w.attachFile(map[string]string{"vm0": path}, proof(t, mine, fileWindow, name), shim.Log()), name)
	}
	require.Nil(t, w.b)
}

func TestSharedFileServesOneClientAtATime(t *testing.T) {
	path, mine := shmFile(t, fileWindow)
	files := map[string]string{"vm0": path}
	var first, second shmWindow
	require.Equal(t, accepted, first.attachFile(files, proof(t, mine, fileWindow, "vm0"), shim.Log()))
	require.Equal(t, refused, second.attachFile(files, proof(t, mine, fileWindow, "vm0"), shim.Log()),
		"a second client, even one holding a valid nonce, while the first is attached")
	first.detach()
	require.Equal(t, accepted, second.attachFile(files, proof(t, mine, fileWindow, "vm0"), shim.Log()),
		"the file is free once its client has gone")
	second.detach()
}

func TestSharedFileMustHoldTheAnnouncedSize(t *testing.T) {
	path, mine := shmFile(t, fileWindow)
	files := map[string]string{"vm0": path}
	var w shmWindow
	require.Equal(t, refused, w.attachFile(files, proof(t, mine, 2*fileWindow, "vm0"), shim.Log()))
	for _, size := range []uint64{0, 4096, fileWindow + 1, 8 << 30} {
		require.Equal(t, refused, w.attachFile(files, proof(t, mine, size, "vm0"), shim.Log()), size)
	}
	require.Nil(t, w.b)
}

func TestSharedFileIsAPrivateMemoryFile(t *testing.T) {
	path, mine := shmFile(t, fileWindow)
	var w shmWindow
	require.NoError(t, os.Chmod(path, 0o666))
	require.Equal(t, refused, w.attachFile(map[string]string{"vm0": path}, proof(t, mine, fileWindow, "vm0"), shim.Log()),
		"a file every user may write (and shrink under the mapping)")
	require.NoError(t, os.Chmod(path, 0o600))
	// A file on disk: its nonce is right, but this server maps memory files only.
	disk := filepath.Join(t.TempDir(), "disk")
	require.NoError(t, os.WriteFile(disk, make([]byte, fileWindow), 0o600))
	var fs unix.Statfs_t
	require.NoError(t, unix.Statfs(disk, &fs))
	if fs.Type == unix.TMPFS_MAGIC {
		t.Skip("the temporary directory is on tmpfs")
	}
	f, err := os.OpenFile(disk, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	dm, err := unix.Mmap(int(f.Fd()), 0, fileWindow, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	require.NoError(t, err)
	defer unix.Munmap(dm)
	require.Equal(t, refused, w.attachFile(map[string]string{"disk": disk}, proof(t, dm, fileWindow, "disk"), shim.Log()))
	require.Nil(t, w.b)
}

func TestSharedFileWindowIsBoundsChecked(t *testing.T) {
	path, mine := shmFile(t, fileWindow)
	var w shmWindow
	require.Equal(t, accepted, w.attachFile(map[string]string{"vm0": path}, proof(t, mine, fileWindow, "vm0"), shim.Log()))
	defer w.detach()
	ring, area := uint64(len(w.ring)), uint64(len(w.download))
	u := func(vs ...uint64) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint64(b, v)
		}
		return b
	}
	for _, p := range [][]byte{
		u(0x1000, ring, 1, 0), u(0x1000, ring-1, 2, 0), u(0x1000, 1, ^uint64(0), 0), u(0x1000, ^uint64(0), 2, 0),
	} {
		require.Equal(t, refused, w.op(wire.OpPutShm, p))
	}
	for _, p := range [][]byte{u(0x1000, area, 1), u(0x1000, area-1, 2), u(0x1000, 1, ^uint64(0))} {
		require.Equal(t, refused, w.op(wire.OpGetShm, p))
	}
}

func TestShmFileFlagNamesAnAbsolutePath(t *testing.T) {
	name, path, ok := ParseShmFile("vm0=/dev/shm/vm0")
	require.True(t, ok)
	require.Equal(t, "vm0", name)
	require.Equal(t, "/dev/shm/vm0", path)
	for _, bad := range []string{"vm0", "=/dev/shm/x", "vm0=relative", "a/b=/dev/shm/x", "vm 0=/dev/shm/x"} {
		_, _, ok := ParseShmFile(bad)
		require.False(t, ok, bad)
	}
}

// A guest's pinned memory is a range of its shared file past the window, which this server
// maps too: only whole pages of the file this session holds, never the window (its header is
// this server's to write), and only by a session that holds a file at all.
func TestPinnedMemoryInTheSharedFileIsItsPagesPastTheWindow(t *testing.T) {
	const heap = 2 << 20
	path, mine := shmFile(t, fileWindow+heap)
	s := hostShares{}
	t.Cleanup(func() { s.dropAll() })
	var none shmWindow
	addr := uint64(uintptr(unsafe.Pointer(&mine[fileWindow])))
	require.Equal(t, refused, s.shareFile(&none, u64s(addr, 4096, fileWindow)), "a session without a shared file")

	var w shmWindow
	require.Equal(t, accepted, w.attachFile(map[string]string{"vm0": path}, proof(t, mine, fileWindow, "vm0"), shim.Log()))
	defer w.detach()
	for name, p := range map[string][]byte{
		"in the window":            u64s(addr, 4096, fileWindow-4096),
		"the window's header":      u64s(addr, 4096, 0),
		"past the file's end":      u64s(addr, 4096, fileWindow+heap),
		"across the file's end":    u64s(addr, heap+4096, fileWindow),
		"a length that wraps":      u64s(addr, ^uint64(0)&^4095, fileWindow),
		"an offset that wraps":     u64s(addr, 4096, ^uint64(0)&^4095),
		"a part of a page":         u64s(addr, 100, fileWindow),
		"an offset inside a page":  u64s(addr, 4096, fileWindow+1),
		"an address inside a page": u64s(addr+1, 4096, fileWindow),
		"no address":               u64s(0, 4096, fileWindow),
		"nothing":                  u64s(addr, 0, fileWindow),
		"a short request":          u64s(addr, 4096),
	} {
		require.Equal(t, refused, s.shareFile(&w, p), name)
	}
	require.Empty(t, s)

	resp := s.shareFile(&w, u64s(addr, heap, fileWindow))
	require.Len(t, resp, 9)
	require.Equal(t, byte(shim.OK), resp[0])
	require.Equal(t, refused, s.shareFile(&w, u64s(addr, 4096, fileWindow)), "the same address twice")
	// The server's mapping is the client's pages: a download lands where the client reads it.
	var dev uintptr
	require.Equal(t, cudart.Success, cudart.Malloc(unsafe.Pointer(&dev), 4096))
	t.Cleanup(func() { cudart.Free(dev) })
	for i := range 4096 {
		mine[fileWindow+i] = byte(i * 13)
	}
	require.Equal(t, accepted, s.copy(wire.OpPutHost, u64s(uint64(dev), addr, 4096), false))
	require.Equal(t, accepted, s.copy(wire.OpGetHost, u64s(uint64(dev), addr+4096, 4096), false))
	require.Equal(t, mine[fileWindow:fileWindow+4096], mine[fileWindow+4096:fileWindow+8192])
	require.Equal(t, accepted, s.unshare(u64s(addr)))
	require.Empty(t, s)
}
