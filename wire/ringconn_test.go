package wire

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand"
	"os"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// ringPair joins a client and a server end through one region of two rings of n bytes.
func ringPair(t *testing.T, n int, spin time.Duration) (client, server *RingConn, region []byte) {
	a, b := fdPair(t)
	region = make([]byte, RingRegionSize(n))
	client, err := NewRingConn(a, region, false, spin)
	require.NoError(t, err)
	server, err = NewRingConn(b, region, true, spin)
	require.NoError(t, err)
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server, region
}

// Frames cross a ring in both directions, whole and in order, whether the reader spins or
// sleeps on the socket for its doorbell.
func TestFramesCrossTheRingBothWays(t *testing.T) {
	for _, spin := range []time.Duration{0, time.Millisecond} {
		client, server, _ := ringPair(t, MinRingSize, spin)
		for i := 0; i < 200; i++ {
			body := bytes.Repeat([]byte{byte(i)}, i*37)
			go func() { require.NoError(t, WriteFrame(client, Header{Kind: KindRequest, Op: 7, Seq: uint32(i)}, body)) }()
			h, got, err := ReadFrame(server)
			require.NoError(t, err)
			require.Equal(t, uint32(i), h.Seq)
			require.Equal(t, body, got)
			go func() { require.NoError(t, WriteFrame(server, Header{Kind: KindResponse, Seq: uint32(i)}, got)) }()
			h, got, err = ReadFrame(client)
			require.NoError(t, err)
			require.Equal(t, uint32(i), h.Seq)
			require.Equal(t, body, got)
		}
	}
}

// A stream many times the ring's size arrives intact: the writer waits for room, asleep,
// and the reader's progress wakes it.
func TestAWriteLargerThanTheRingWaitsForRoom(t *testing.T) {
	client, server, _ := ringPair(t, MinRingSize, 0)
	want := make([]byte, 40*MinRingSize+123)
	rand.New(rand.NewSource(1)).Read(want)
	done := make(chan error, 1)
	go func() { done <- client.Writev(want[:1000], want[1000:]) }()
	got := make([]byte, len(want))
	r := 0
	for r < len(got) {
		n, err := server.Read(got[r:min(len(got), r+rand.Intn(3*MinRingSize)+1)])
		require.NoError(t, err)
		r += n
		if r%7 == 0 {
			time.Sleep(time.Millisecond) // let the writer fall asleep now and then
		}
	}
	require.NoError(t, <-done)
	require.Equal(t, want, got)
}

// The other side closing its socket ends a read that sleeps for data, and one that sleeps
// for room.
func TestAClosedPeerEndsEveryWait(t *testing.T) {
	client, server, _ := ringPair(t, MinRingSize, 0)
	go func() { time.Sleep(20 * time.Millisecond); client.Close() }()
	_, err := server.Read(make([]byte, 10))
	require.ErrorIs(t, err, io.EOF)

	client2, server2, _ := ringPair(t, MinRingSize, 0)
	go func() { time.Sleep(20 * time.Millisecond); client2.Close() }()
	require.Error(t, server2.Writev(make([]byte, 3*MinRingSize)))
}

// A peer's positions are never trusted: a head past what the ring can hold, or a tail
// ahead of what was written, fails the connection instead of reading or writing out of
// bounds.
func TestImpossiblePositionsBreakOnlyThatConnection(t *testing.T) {
	_, server, region := ringPair(t, MinRingSize, 0)
	head := (*uint64)(unsafe.Pointer(&region[ringHead])) // the client's head, as a hostile client writes it
	atomic.StoreUint64(head, MinRingSize+1)
	_, err := server.Read(make([]byte, 8))
	require.ErrorIs(t, err, errRingBroken)

	_, server, region = ringPair(t, MinRingSize, 0)
	tail := (*uint64)(unsafe.Pointer(&region[ringTail+256])) // how far the client says it read of the server's ring
	atomic.StoreUint64(tail, 5)
	require.ErrorIs(t, server.Writev([]byte("x")), errRingBroken)
	atomic.StoreUint64(tail, ^uint64(0)-MinRingSize) // more written than the ring holds
	require.ErrorIs(t, server.Writev([]byte("x")), errRingBroken)
}

// A hostile client that says it is always asleep gets a doorbell per write, which never
// blocks the server even when the client reads none of them.
func TestDoorbellsNeverBlockTheWriter(t *testing.T) {
	client, server, region := ringPair(t, MinRingSize, 0)
	asleep := (*int32)(unsafe.Pointer(&region[ringAsleep]))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 300_000; i++ { // more doorbells than a socket buffer holds
			atomic.StoreInt32(asleep, asleepForData)
			require.NoError(t, server.TrySend([]byte{byte(i)}))
			atomic.StoreUint64(client.rx.tail, atomic.LoadUint64(client.rx.head)) // "read" it
		}
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the server's writes blocked on doorbells the client never read")
	}
}

// TrySend skips a frame the ring has no room for, as a socket that would block does.
func TestTrySendSkipsWhenTheRingIsFull(t *testing.T) {
	client, server, _ := ringPair(t, MinRingSize, 0)
	require.NoError(t, server.Writev(make([]byte, MinRingSize-4)))
	require.NoError(t, server.TrySend([]byte("0123456789")))
	require.NoError(t, server.TrySend([]byte("0123")))
	got := make([]byte, MinRingSize)
	_, err := io.ReadFull(client, got)
	require.NoError(t, err)
	require.Equal(t, []byte("0123"), got[MinRingSize-4:])
}

// A descriptor sent with a frame is there when the peer has read the frame from the ring.
func TestADescriptorTravelsBesideItsRingFrame(t *testing.T) {
	client, server, _ := ringPair(t, MinRingSize, 0)
	f, err := os.CreateTemp(t.TempDir(), "fd")
	require.NoError(t, err)
	_, err = f.WriteString("shared")
	require.NoError(t, err)
	frame, _ := AppendFrame(nil, Header{Kind: KindRequest, Op: 9, Seq: 1}, []byte("payload"))
	require.NoError(t, client.SendFD(frame, int(f.Fd())))
	_, got, err := ReadFrame(server)
	require.NoError(t, err)
	require.Equal(t, "payload", string(got))
	fd, ok := server.TakeFD()
	require.True(t, ok)
	g := os.NewFile(uintptr(fd), "got")
	defer g.Close()
	b := make([]byte, 6)
	_, err = g.ReadAt(b, 0)
	require.NoError(t, err)
	require.Equal(t, "shared", string(b))
	_, ok = server.TakeFD()
	require.False(t, ok)
}

// Only regions of two power-of-two rings within bounds are accepted.
func TestRingRegionSizes(t *testing.T) {
	require.Equal(t, MinRingSize, RingSizeOf(uint64(RingRegionSize(MinRingSize))))
	require.Equal(t, MaxRingSize, RingSizeOf(uint64(RingRegionSize(MaxRingSize))))
	for _, bad := range []uint64{0, RingHeader, uint64(RingRegionSize(MinRingSize / 2)), uint64(RingRegionSize(MaxRingSize * 2)), uint64(RingRegionSize(MinRingSize + 4096)), uint64(RingRegionSize(MinRingSize)) + 1} {
		require.Zero(t, RingSizeOf(bad), bad)
	}
}

// Whatever a hostile peer puts in the region (positions, bytes), reading frames from it
// either yields frames of the bytes it wrote or fails, and writing either fits or fails:
// never a panic, never an access outside the ring, never a wait once the peer has gone.
func FuzzRingReader(f *testing.F) {
	frame, _ := AppendFrame(nil, Header{Kind: KindRequest, Op: 7, Seq: 1}, []byte("payload"))
	f.Add([]byte{byte(len(frame)), 0, 0, 0, 0, 0, 0, 0}, frame)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, frame)
	f.Add([]byte{0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, bytes.Repeat([]byte{0xff}, 100))
	f.Fuzz(func(t *testing.T, heads, data []byte) {
		a, b := fdPair(t)
		region := make([]byte, RingRegionSize(MinRingSize))
		server, err := NewRingConn(b, region, true, 0)
		require.NoError(t, err)
		defer server.Close()
		copy(region[RingHeader:RingHeader+MinRingSize], data)
		a.Close() // the peer is gone: a read that finds nothing ends
		head := (*uint64)(unsafe.Pointer(&region[ringHead]))
		tail := (*uint64)(unsafe.Pointer(&region[ringTail+256])) // the peer's word on the server's answers
		for len(heads) >= 8 {
			v := binary.LittleEndian.Uint64(heads)
			heads = heads[8:]
			atomic.StoreUint64(head, v)
			for {
				if _, _, err := ReadFrame(server); err != nil {
					break
				}
			}
			// The same word as the tail of the server's own ring: its writes fail or fit.
			atomic.StoreUint64(tail, v)
			server.TrySend(frame)
			server.Writev(frame, data)
		}
	})
}

// TrySend (the server's busy frames, from a goroutine other than the reader's) never waits,
// even for a peer that moves its tail back and forth within bounds while it writes.
func TestTrySendNeverWaitsWhateverThePeerDoesToItsTail(t *testing.T) {
	_, server, region := ringPair(t, MinRingSize, 0)
	tail := (*uint64)(unsafe.Pointer(&region[ringTail+256]))
	head := (*uint64)(unsafe.Pointer(&region[ringHead+256]))
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for i := uint64(0); ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			// Claims to have read everything written, then nothing of the last ring's worth.
			if h := atomic.LoadUint64(head); i%2 == 0 {
				atomic.StoreUint64(tail, h)
			} else if h >= MinRingSize {
				atomic.StoreUint64(tail, h-MinRingSize)
			}
		}
	}()
	busy, _ := AppendFrame(nil, Header{Kind: KindBusy}, nil)
	for i := 0; i < 20000; i++ {
		done := make(chan error, 1)
		go func() { done <- server.TrySend(busy) }()
		select {
		case err := <-done:
			if err != nil {
				require.ErrorIs(t, err, errRingBroken) // a position seen mid-change, out of bounds
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("TrySend waited (try %d)", i)
		}
	}
}
