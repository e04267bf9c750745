package server

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"vgpu/wire"
)

// pair returns a server end without a timeout and a client end with one, as vgpu uses them.
func pair(t *testing.T, clientTimeout time.Duration) (srv, cli *wire.FDConn) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	require.NoError(t, err)
	srv, err = wire.NewFDConn(fds[0], 0)
	require.NoError(t, err)
	cli, err = wire.NewFDConn(fds[1], clientTimeout)
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close(); cli.Close() })
	return srv, cli
}

func shortBusy(t *testing.T) {
	old := busyEvery
	busyEvery = 100 * time.Millisecond
	t.Cleanup(func() { busyEvery = old })
}

// A call that runs far longer than the client's timeout keeps the client waiting, and the
// client still times out once the server falls silent.
func TestBusyKeepsAWaitingClient(t *testing.T) {
	shortBusy(t)
	srv, cli := pair(t, 300*time.Millisecond)
	w := newBusyWriter(srv)
	defer w.stop()
	w.working()
	deadline := time.Now().Add(time.Second) // more than three client timeouts
	busy := 0
	for time.Now().Before(deadline) {
		h, _, err := wire.ReadFrame(cli)
		require.NoError(t, err, "after %d busy frames", busy)
		require.Equal(t, uint8(wire.KindBusy), h.Kind)
		busy++
	}
	require.NoError(t, w.respond(wire.Header{Kind: wire.KindResponse, Seq: 7}, []byte("done"), nil))
	for {
		h, p, err := wire.ReadFrame(cli)
		require.NoError(t, err)
		if h.Kind == wire.KindBusy {
			continue
		}
		require.Equal(t, uint32(7), h.Seq)
		require.Equal(t, "done", string(p))
		break
	}
	w.idle()
	for {
		h, _, err := wire.ReadFrame(cli)
		if err != nil {
			require.True(t, errors.Is(err, unix.EAGAIN), "a silent server times the client out: %v", err)
			break
		}
		require.Equal(t, uint8(wire.KindBusy), h.Kind) // one may have been in flight
	}
}

// A client writing to a server that is busy and not reading keeps writing while the server
// says it is busy, and times out once it does not.
func TestBusyKeepsAWritingClient(t *testing.T) {
	shortBusy(t)
	srv, cli := pair(t, 300*time.Millisecond)
	w := newBusyWriter(srv)
	defer w.stop()
	w.working()
	big := make([]byte, 64<<20) // far beyond the socket's buffers
	go func() {
		time.Sleep(time.Second) // the server finishes its work, then reads
		buf := make([]byte, 1<<20)
		for n := 0; n < len(big); {
			k, err := srv.Read(buf)
			if err != nil {
				return
			}
			n += k
		}
	}()
	_, err := cli.Write(big)
	require.NoError(t, err, "the write outlived the client's timeout while the server was busy")

	w.idle()
	_, err = cli.Write(big) // nobody reads now, and the server says nothing
	require.Error(t, err)
}
