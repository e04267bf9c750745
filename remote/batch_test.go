package remote

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/wire"
)

// countingConn records each write the client makes: one write is one wake-up of the server.
type countingConn struct {
	mu     sync.Mutex
	writes [][]byte
}

func (c *countingConn) Read([]byte) (int, error) { select {} }
func (c *countingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = append(c.writes, append([]byte(nil), p...))
	return len(p), nil
}
func (c *countingConn) Writev(bufs ...[]byte) error {
	var b []byte
	for _, p := range bufs {
		b = append(b, p...)
	}
	_, err := c.Write(b)
	return err
}
func (c *countingConn) PeerSpoke() bool        { return false }
func (c *countingConn) TrySend(b []byte) error { return nil }
func (c *countingConn) Close() error           { return nil }

func (c *countingConn) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.writes)
}

// withBatching gives the client a counting connection and the given batching times, with the
// flusher running, and puts everything back after the test.
func withBatching(t *testing.T, delay, age, linger time.Duration) *countingConn {
	cc := &countingConn{}
	mu.Lock()
	oldConn, oldDead, oldDelay, oldAge, oldLinger := conn, dead, flushDelay, batchAge, flusherLinger
	conn, dead, flushDelay, batchAge, flusherLinger = cc, nil, delay, age, linger
	batch = batch[:0]
	batchDue.Store(0)
	mu.Unlock()
	flusherOnce.Do(func() { go flusher() })
	t.Cleanup(func() {
		mu.Lock()
		conn, dead, flushDelay, batchAge, flusherLinger = oldConn, oldDead, oldDelay, oldAge, oldLinger
		batch = batch[:0]
		postsSinceSync = 0
		batchDue.Store(0)
		mu.Unlock()
	})
	return cc
}

// spin waits d without sleeping: a sleep this short may last a millisecond.
func spin(d time.Duration) {
	for t := time.Now(); time.Since(t) < d; {
	}
}

// frames counts the frames in written bytes.
func frames(t *testing.T, b []byte) int {
	n := 0
	for len(b) > 0 {
		h, err := wire.ReadHeader(bytesReader(&b))
		require.NoError(t, err)
		b = b[h.Len:]
		n++
	}
	return n
}

type sliceReader struct{ b *[]byte }

func (r sliceReader) Read(p []byte) (int, error) {
	n := copy(p, *r.b)
	*r.b = (*r.b)[n:]
	return n, nil
}
func bytesReader(b *[]byte) sliceReader { return sliceReader{b} }

// A program that keeps posting without pausing for flushDelay (a decode step's launches) has
// its posts leave with the request that ends the burst (its download): one write, one wake-up of
// the server, even when the burst lasts longer than flushDelay.
func TestABurstOfPostsLeavesWithTheRequestThatEndsIt(t *testing.T) {
	// flushDelay far above the posts' spacing, so a busy machine descheduling this loop for
	// a while does not make a pause (it failed one run in a few with 4 ms on 2 loaded cores).
	cc := withBatching(t, 250*time.Millisecond, 10*time.Second, 2*time.Millisecond)
	for i := 0; i < 40; i++ { // 40 posts 250 us apart: 10 ms in all, no pause of 250 ms
		require.NoError(t, post(OpLaunch, make([]byte, 48)))
		spin(250 * time.Microsecond)
	}
	assert.Equal(t, 0, cc.count(), "nothing leaves while the program keeps posting")
	mu.Lock()
	seq++
	require.NoError(t, wireRequestLocked(OpGet, make([]byte, 16)))
	mu.Unlock()
	require.Equal(t, 1, cc.count())
	assert.Equal(t, 41, frames(t, cc.writes[0]), "the 40 posts and the request in one write")
}

// A burst never waits longer than batchAge, and a pause of flushDelay sends what was posted:
// the GPU starts on posted work without the program having to wait for anything.
func TestPostedWorkLeavesAfterAPauseOrBatchAge(t *testing.T) {
	cc := withBatching(t, 2*time.Millisecond, 20*time.Millisecond, 2*time.Millisecond)
	// Posts 200 µs apart never leave flushDelay's pause: only batchAge sends them. Up to
	// 200 ms of them (a loaded machine may not run the flusher at once), far from a full batch.
	start := time.Now()
	for time.Since(start) < 200*time.Millisecond && cc.count() == 0 {
		require.NoError(t, post(OpLaunch, make([]byte, 48)))
		spin(200 * time.Microsecond)
	}
	assert.GreaterOrEqual(t, cc.count(), 1, "a batch left after batchAge while posts kept coming")
	before := cc.count()
	require.NoError(t, post(OpLaunch, make([]byte, 48)))
	require.Eventually(t, func() bool { return cc.count() > before }, time.Second, time.Millisecond,
		"a lone post leaves flushDelay after the program paused")
}

// While the program awaits a response the flusher sleeps instead of waking every flushDelay
// (it could flush nothing: the waiting thread holds the connection), and the next post wakes it.
func TestTheFlusherSleepsWhileAResponseIsAwaited(t *testing.T) {
	// A linger far longer than the test: only the wait for a response can put it to sleep.
	cc := withBatching(t, 100*time.Microsecond, time.Millisecond, time.Hour)
	require.NoError(t, post(OpLaunch, make([]byte, 48)))
	require.Eventually(t, func() bool { return cc.count() == 1 }, time.Second, 100*time.Microsecond)
	require.Eventually(t, flusherAwake.Load, time.Second, 100*time.Microsecond, "lingering after its flush")
	mu.Lock()
	require.NoError(t, requestLocked(OpGet, make([]byte, 16)))
	mu.Unlock()
	require.Eventually(t, func() bool { return !flusherAwake.Load() }, time.Second, 100*time.Microsecond,
		"asleep while the response is awaited, long before its linger ends")
	require.NoError(t, post(OpLaunch, make([]byte, 48)))
	require.Eventually(t, func() bool { return cc.count() == 3 }, time.Second, 100*time.Microsecond,
		"the next post woke it and left")
}
