package remote

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"vgpu/wire"
)

// onRings makes this package's connection one end of a pair of rings whose other end, the
// server's, spins on them for serverSpin before it sleeps; posts fall due only after an hour,
// so that nothing but the rings' own rule can send them sooner.
func onRings(t *testing.T, serverSpin time.Duration) (server *wire.RingConn) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	a, err := wire.NewFDConn(fds[0], 5*time.Second)
	require.NoError(t, err)
	b, err := wire.NewFDConn(fds[1], 5*time.Second)
	require.NoError(t, err)
	region := make([]byte, wire.RingRegionSize(wire.MinRingSize))
	client, err := wire.NewRingConn(a, region, false, 0)
	require.NoError(t, err)
	server, err = wire.NewRingConn(b, region, true, serverSpin)
	require.NoError(t, err)
	mu.Lock()
	oldConn, oldDead, oldDelay, oldAge := conn, dead, flushDelay, batchAge
	conn, dead, flushDelay, batchAge, batch = client, nil, time.Hour, time.Hour, batch[:0]
	mu.Unlock()
	t.Cleanup(func() {
		mu.Lock()
		conn, dead, flushDelay, batchAge, batch = oldConn, oldDead, oldDelay, oldAge, batch[:0]
		batchDue.Store(0)
		mu.Unlock()
		// The server's reader must be gone before the sockets close: one still spinning on
		// the rings would sleep on a descriptor number the next test's socket then has, and
		// take the doorbells meant for that test's server. Shut down, its sleep ends at once.
		unix.Shutdown(fds[0], unix.SHUT_RDWR)
		unix.Shutdown(fds[1], unix.SHUT_RDWR)
		ringReaders.Wait()
		client.Close()
		server.Close()
	})
	return server
}

// ringReaders counts the goroutines received started, which end with their server's socket.
var ringReaders sync.WaitGroup

// received is the frames the server end receives, in order.
func received(server *wire.RingConn) <-chan wire.Header {
	got := make(chan wire.Header, 16)
	ringReaders.Add(1)
	go func() {
		defer ringReaders.Done()
		for {
			h, _, err := wire.ReadFrame(server)
			if err != nil {
				close(got)
				return
			}
			got <- h
		}
	}()
	return got
}

// A post reaches a server that has read everything and spins on the rings for more at once,
// with no batch to fill and no flusher to wake: the GPU starts on it now.
func TestAPostReachesAServerSpinningOnTheRingsAtOnce(t *testing.T) {
	server := onRings(t, 500*time.Millisecond) // spins well past the post, then sleeps
	got := received(server)
	require.NoError(t, post(OpCopyD2DAsync, u64s(1, 2, 3, 0)))
	select {
	case h := <-got:
		require.Equal(t, uint8(wire.KindPost), h.Kind)
		require.Equal(t, uint32(OpCopyD2DAsync), h.Op)
	case <-time.After(5 * time.Second):
		t.Fatal("the post waited for its batch to fall due")
	}
}

// While the server sleeps (a doorbell would cost it a wake-up and the client a system call),
// posts gather into a batch as on a socket, and leave with it.
func TestPostsToASleepingServerGatherIntoABatch(t *testing.T) {
	server := onRings(t, 0)
	got := received(server)
	time.Sleep(50 * time.Millisecond) // the server finds nothing and sleeps on the socket
	require.NoError(t, post(OpCopyD2DAsync, u64s(1, 2, 3, 0)))
	require.NoError(t, post(OpCopyD2DAsync, u64s(4, 5, 6, 0)))
	select {
	case <-got:
		t.Fatal("a post to a sleeping server left before its batch")
	case <-time.After(200 * time.Millisecond):
	}
	mu.Lock()
	require.NoError(t, flushLocked())
	mu.Unlock()
	for i := 0; i < 2; i++ {
		select {
		case h := <-got:
			require.Equal(t, uint32(OpCopyD2DAsync), h.Op)
		case <-time.After(5 * time.Second):
			t.Fatal("the batch's doorbell did not wake the server")
		}
	}
}
