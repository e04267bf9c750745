package server

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"vgpu/shim"
	"vgpu/wire"
)

// The shared memory a client on this host offers is the client's own descriptor, passed
// with SCM_RIGHTS and mapped only if it is a memfd sealed against resizing, opened
// read-write, of the size the request states. Nothing is opened by path: a number in the
// request names nothing.

const window = 4 << 20

// peerConns is a connected client and server, the server reading through a buffer as
// serveFD does.
func peerConns(t *testing.T) (client *wire.FDConn, server *wire.FDConn, in *bufio.Reader) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	client, err = wire.NewFDConn(fds[0], 5*time.Second)
	require.NoError(t, err)
	server, err = wire.NewFDConn(fds[1], 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server, bufio.NewReaderSize(server, 256<<10)
}

// send writes one request, passing fd with it unless fd < 0, and returns its payload as the
// server reads it.
func send(t *testing.T, client *wire.FDConn, in *bufio.Reader, op uint32, fd int, payload []byte) []byte {
	fr, err := wire.AppendFrame(nil, wire.Header{Kind: wire.KindRequest, Op: op, Seq: 1}, payload)
	require.NoError(t, err)
	if fd >= 0 {
		require.NoError(t, client.SendFD(fr, fd))
	} else {
		_, err = client.Write(fr)
		require.NoError(t, err)
	}
	h, p, err := wire.ReadFrame(in)
	require.NoError(t, err)
	require.Equal(t, op, h.Op)
	return p
}

// memfd is a memfd of size bytes with the given seals (the client's, remote.sharedMemfd's,
// are SHRINK|GROW|SEAL).
func memfd(t *testing.T, size int64, seals int) int {
	fd, err := unix.MemfdCreate("test", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Close(fd) })
	require.NoError(t, unix.Ftruncate(fd, size))
	if seals != 0 {
		_, err = unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals)
		require.NoError(t, err)
	}
	return fd
}

const clientSeals = unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_SEAL

func openFile(t *testing.T, path string, flags int) int {
	fd, err := unix.Open(path, flags|unix.O_CLOEXEC, 0)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// refusedDescriptors are what a hostile or mistaken client may pass instead of its window.
func refusedDescriptors(t *testing.T, size int64) map[string]int {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, make([]byte, size), 0o644))
	r, w, err := os.Pipe()
	require.NoError(t, err)
	t.Cleanup(func() { r.Close(); w.Close() })
	sealed := memfd(t, size, clientSeals)
	fds := map[string]int{
		"a regular file opened read-write":  openFile(t, file, unix.O_RDWR),
		"a regular file opened read-only":   openFile(t, file, unix.O_RDONLY),
		"an O_PATH descriptor of a file":    openFile(t, file, unix.O_PATH),
		"a pipe":                            int(r.Fd()),
		"an unsealed memfd":                 memfd(t, size, 0),
		"a memfd not sealed against shrink": memfd(t, size, unix.F_SEAL_GROW),
		"a memfd not sealed against growth": memfd(t, size, unix.F_SEAL_SHRINK),
		"a memfd sealed against writes":     memfd(t, size, clientSeals&^unix.F_SEAL_SEAL|unix.F_SEAL_WRITE),
		"a memfd larger than stated":        memfd(t, 2*size, clientSeals),
		"a memfd smaller than stated":       memfd(t, size/2, clientSeals),
		"a read-only reopening of a memfd":  openFile(t, fmt.Sprintf("/proc/self/fd/%d", sealed), unix.O_RDONLY),
		"an O_PATH reopening of a memfd":    openFile(t, fmt.Sprintf("/proc/self/fd/%d", sealed), unix.O_PATH),
	}
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() { // tmpfs, but no memfd
		if f, err := os.CreateTemp("/dev/shm", "vgpu-test"); err == nil {
			os.Remove(f.Name())
			f.Truncate(size)
			t.Cleanup(func() { f.Close() })
			fds["a tmpfs file that is no memfd"] = int(f.Fd())
		}
	}
	return fds
}

func TestWindowIsOnlyASealedMemfdOfTheStatedSize(t *testing.T) {
	for name, fd := range refusedDescriptors(t, window) {
		client, server, in := peerConns(t)
		var w shmWindow
		p := send(t, client, in, wire.OpShmAttach, fd, u64s(window))
		require.Equal(t, []byte{byte(shim.ErrInvalidValue)}, w.attach(server, p), name)
		require.Nil(t, w.b, name)
	}
	// The client's own window is mapped, the same memory on both sides.
	client, server, in := peerConns(t)
	fd := memfd(t, window, clientSeals)
	mine, err := unix.Mmap(fd, 0, window, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	require.NoError(t, err)
	defer unix.Munmap(mine)
	var w shmWindow
	p := send(t, client, in, wire.OpShmAttach, fd, u64s(window))
	require.Equal(t, []byte{byte(shim.OK)}, w.attach(server, p))
	defer w.detach()
	mine[window-1] = 0x5a
	require.Equal(t, byte(0x5a), w.b[window-1])
}

func TestHostShareIsOnlyASealedMemfdOfTheStatedSize(t *testing.T) {
	const size = 64 << 10
	const addr = 0x7f0000000000
	for name, fd := range refusedDescriptors(t, size) {
		client, server, in := peerConns(t)
		s := hostShares{}
		p := send(t, client, in, wire.OpHostShare, fd, u64s(addr, size))
		require.Equal(t, []byte{byte(shim.ErrInvalidValue)}, s.share(server, p), name)
		require.Empty(t, s, name)
	}
	client, server, in := peerConns(t)
	s := hostShares{}
	defer s.dropAll()
	fd := memfd(t, size, clientSeals)
	p := send(t, client, in, wire.OpHostShare, fd, u64s(addr, size))
	require.Equal(t, append([]byte{byte(shim.OK)}, make([]byte, 8)...), s.share(server, p)) // the sim gives no device address
	require.Len(t, s[addr].b, size)
}

// The attack the /proc path allowed: the request names a descriptor number in the client's
// table. Without a descriptor passed, nothing is mapped, whatever that number is (here the
// test process's own valid window, so /proc/<peer>/fd/<n> would have opened it).
func TestADescriptorNumberInTheRequestOpensNothing(t *testing.T) {
	fd := memfd(t, window, clientSeals)
	for name, payload := range map[string][]byte{
		"the former layout (pid, fd, size)": u64s(uint64(os.Getpid()), uint64(fd), window),
		"the size alone":                    u64s(window),
	} {
		client, server, in := peerConns(t)
		var w shmWindow
		p := send(t, client, in, wire.OpShmAttach, -1, payload)
		require.Equal(t, []byte{byte(shim.ErrInvalidValue)}, w.attach(server, p), name)
		require.Nil(t, w.b)
	}
	for name, payload := range map[string][]byte{
		"the former layout (addr, fd, size)": u64s(0x7f0000000000, uint64(fd), window),
		"address and size":                   u64s(0x7f0000000000, window),
	} {
		client, server, in := peerConns(t)
		s := hostShares{}
		p := send(t, client, in, wire.OpHostShare, -1, payload)
		require.Equal(t, []byte{byte(shim.ErrInvalidValue)}, s.share(server, p), name)
		require.Empty(t, s)
	}
	// Off a unix socket (a TLS session) no descriptor can come at all.
	var w shmWindow
	require.Equal(t, []byte{byte(shim.ErrNotSupported)}, w.attach(nil, u64s(window)))
}

// A malformed request still takes the descriptor sent with it, so the next request's
// descriptor is the next one taken: the good window after a bad one is mapped.
func TestARefusedRequestConsumesItsDescriptor(t *testing.T) {
	client, server, in := peerConns(t)
	var w shmWindow
	defer w.detach()
	good := memfd(t, window, clientSeals)
	p := send(t, client, in, wire.OpShmAttach, good, u64s(window, 0)) // a bad length
	require.Equal(t, []byte{byte(shim.ErrInvalidValue)}, w.attach(server, p))
	p = send(t, client, in, wire.OpShmAttach, good, u64s(window))
	require.Equal(t, []byte{byte(shim.OK)}, w.attach(server, p))
	_, left := server.TakeFD()
	require.False(t, left)
}
