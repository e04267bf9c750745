package server

import (
	"crypto/rand"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

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
