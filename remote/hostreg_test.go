package remote

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func anon(t *testing.T, n int, prot int) []byte {
	b, err := unix.Mmap(-1, 0, n, prot, unix.MAP_PRIVATE|unix.MAP_ANON)
	require.NoError(t, err)
	t.Cleanup(func() { unix.MunmapPtr(unsafe.Pointer(&b[0]), uintptr(n)) })
	return b
}

func addr(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }

// Only private anonymous read-write memory is replaced in place: a file mapping, read-only
// memory, the main stack or a range running into unmapped memory are not.
func TestOnlyPlainAnonymousMemoryIsReplacedInPlace(t *testing.T) {
	b := anon(t, 3*4096, unix.PROT_READ|unix.PROT_WRITE)
	require.True(t, plainAnonymous(addr(b), addr(b)+3*4096))
	ro := anon(t, 4096, unix.PROT_READ)
	require.False(t, plainAnonymous(addr(ro), addr(ro)+4096), "read-only")

	hole := anon(t, 3*4096, unix.PROT_READ|unix.PROT_WRITE)
	require.NoError(t, unix.MunmapPtr(unsafe.Pointer(addr(hole)+4096), 4096))
	require.False(t, plainAnonymous(addr(hole), addr(hole)+3*4096), "runs into unmapped memory")

	path := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(path, make([]byte, 4096), 0o600))
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	fm, err := unix.Mmap(int(f.Fd()), 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	require.NoError(t, err)
	defer unix.Munmap(fm)
	require.False(t, plainAnonymous(addr(fm), addr(fm)+4096), "a file mapping")

	maps, err := os.ReadFile("/proc/self/maps")
	require.NoError(t, err)
	for _, l := range strings.Split(string(maps), "\n") {
		if strings.HasSuffix(l, "[stack]") {
			var lo, hi uint64
			_, err := fmt.Sscanf(l, "%x-%x", &lo, &hi)
			require.NoError(t, err)
			require.False(t, plainAnonymous(uintptr(hi-4096), uintptr(hi)), "the main stack")
		}
	}
}

// makePrivate gives a shared range private pages with the same bytes: a write then no longer
// reaches the memfd.
func TestMakePrivateKeepsTheBytesAndEndsTheSharing(t *testing.T) {
	fd, b, err := sharedMemfd("test", 2*4096)
	require.NoError(t, err)
	defer unix.Close(fd)
	p := addr(b)
	t.Cleanup(func() { unix.MunmapPtr(unsafe.Pointer(p), 2*4096) })
	for i := range b {
		b[i] = byte(i * 3)
	}
	makePrivate(p, 2*4096)
	require.True(t, plainAnonymous(p, p+2*4096))
	got := unsafe.Slice((*byte)(unsafe.Pointer(p)), 2*4096)
	for i := range got {
		require.Equal(t, byte(i*3), got[i])
	}
	got[0] = 99
	var first [1]byte
	_, err = unix.Pread(fd, first[:], 0)
	require.NoError(t, err)
	require.Equal(t, byte(0), first[0], "the memfd no longer sees the range's writes")
}

// pageRange is the whole pages of a range; a null, empty or wrapping range is none.
func TestPageRangeIsTheWholePagesOfTheRange(t *testing.T) {
	s, n, ok := pageRange(0x10000+1000, 8000)
	require.True(t, ok)
	require.Equal(t, uintptr(0x10000), s)
	require.Equal(t, uint64(3*4096), n)
	for _, c := range [][2]uint64{{0, 4096}, {0x10000, 0}, {^uint64(0) - 10, 100}} {
		_, _, ok := pageRange(uintptr(c[0]), c[1])
		require.False(t, ok, c)
	}
}
