package wire

import (
	"bufio"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func fdPair(t *testing.T) (a, b *FDConn) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	a, err = NewFDConn(fds[0], 5*time.Second)
	require.NoError(t, err)
	b, err = NewFDConn(fds[1], 5*time.Second)
	require.NoError(t, err)
	return a, b
}

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(ents)
}

// A descriptor sent with a frame is there once a buffered reader has that frame, even
// behind frames written before it in other writes, and each frame's descriptor comes in order.
func TestDescriptorArrivesWithItsFrame(t *testing.T) {
	client, server := fdPair(t)
	defer client.Close()
	defer server.Close()
	files := make([]*os.File, 2)
	for i := range files {
		f, err := os.CreateTemp(t.TempDir(), "fd")
		require.NoError(t, err)
		_, err = f.WriteString(string(rune('a' + i)))
		require.NoError(t, err)
		files[i] = f
		defer f.Close()
	}
	var before []byte
	for i := range 50 { // pipelined frames before the first descriptor
		before, _ = AppendFrame(before, Header{Kind: KindPost, Op: 1, Seq: uint32(i)}, make([]byte, 100))
	}
	_, err := client.Write(before)
	require.NoError(t, err)
	for i, f := range files {
		fr, _ := AppendFrame(nil, Header{Kind: KindRequest, Op: 2, Seq: uint32(100 + i)}, []byte{byte(i)})
		require.NoError(t, client.SendFD(fr, int(f.Fd())))
		_, err = client.Write(before[:116]) // and a frame after it
		require.NoError(t, err)
	}
	in := bufio.NewReaderSize(server, 256<<10)
	seen := 0
	for seen < len(files) {
		h, p, err := ReadFrame(in)
		require.NoError(t, err)
		if h.Op != 2 {
			continue
		}
		fd, ok := server.TakeFD()
		require.True(t, ok, "the descriptor of frame %d", seen)
		b := make([]byte, 1)
		_, err = unix.Pread(fd, b, 0)
		unix.Close(fd)
		require.NoError(t, err)
		require.Equal(t, string(rune('a'+int(p[0]))), string(b), "frame %d got another frame's descriptor", p[0])
		seen++
	}
	_, ok := server.TakeFD()
	require.False(t, ok, "a descriptor no frame carried")
}

// A peer that sends descriptors without requests using them has at most MaxReceivedFDs of
// them held open; the rest are closed as they arrive, and closing the connection closes all.
func TestUnclaimedDescriptorsAreBounded(t *testing.T) {
	baseline := openFDs(t)
	client, server := fdPair(t)
	f, err := os.Open("/dev/null")
	require.NoError(t, err)
	const sent = 20
	for i := range sent {
		fr, _ := AppendFrame(nil, Header{Kind: KindPost, Op: 1, Seq: uint32(i)}, []byte{1})
		require.NoError(t, client.SendFD(fr, int(f.Fd())))
	}
	f.Close()
	client.Close()
	for {
		if _, _, err := ReadFrame(server); err != nil {
			break // the end of the stream, every frame read
		}
	}
	require.LessOrEqual(t, openFDs(t)-baseline, 1+MaxReceivedFDs, "the server's socket and the bounded queue")
	server.Close()
	require.Equal(t, baseline, openFDs(t), "descriptors left open after the connection closed")
}
