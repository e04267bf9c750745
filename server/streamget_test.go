package server

import (
	"testing"

	"github.com/stretchr/testify/require"

	"vgpu/shim"
	"vgpu/wire"
)

// requestKind sends one request and returns its response's kind and payload.
func (c *testClient) requestKind(op uint32, payload []byte) (uint8, []byte) {
	c.t.Helper()
	c.seq++
	require.NoError(c.t, wire.WriteFrame(c.c, wire.Header{Kind: wire.KindRequest, Op: op, Seq: c.seq}, payload))
	for {
		h, p, err := wire.ReadFrame(c.c)
		require.NoError(c.t, err)
		if h.Kind == wire.KindBusy {
			continue
		}
		require.Equal(c.t, c.seq, h.Seq)
		return h.Kind, p
	}
}

// A download naming one of the client's streams is copied in that stream's order and answered
// as drained (the client takes that for the stream's work alone); one naming no stream is
// drained as before, and one naming a stream that is not the client's is refused.
func TestADownloadOnAProgramsStreamIsCopiedInItsOrder(t *testing.T) {
	s := startServer(t, Options{})
	c := s.dial(t)
	p := c.malloc(4096)
	data := []byte("in stream order")
	require.Equal(t, shim.OK, c.put(p, data))
	stream := c.create("cudaStreamCreate")

	kind, got := c.requestKind(wire.OpGet, u64s(p, uint64(len(data)), stream))
	require.Equal(t, uint8(wire.KindDrained), kind, "it waited for the stream's work")
	require.Equal(t, byte(shim.OK), got[0])
	require.Equal(t, data, got[1:])

	kind, got = c.requestKind(wire.OpGet, u64s(p, uint64(len(data))))
	require.Equal(t, uint8(wire.KindDrained), kind, "the legacy stream's download waits for everything")
	require.Equal(t, data, got[1:])

	other := s.dial(t)
	theirs := other.create("cudaStreamCreate")
	kind, got = c.requestKind(wire.OpGet, u64s(p, uint64(len(data)), theirs))
	require.Equal(t, uint8(wire.KindResponse), kind)
	require.Equal(t, byte(shim.ErrInvalidHandle), got[0], "another client's stream")
}

// A session answers its downloads from one buffer of its own, grown to the largest asked for
// (pinned where the backend can pin): each answer still carries exactly its own bytes, a
// small one after a large one and a refused one after both.
func TestDownloadsShareTheSessionsBufferAndCarryOnlyTheirOwnBytes(t *testing.T) {
	s := startServer(t, Options{})
	c := s.dial(t)
	const large = 3 << 20 // past the buffer's first size
	p := c.malloc(large)
	want := make([]byte, large)
	for i := range want {
		want[i] = byte(i * 7)
	}
	for off := 0; off < large; off += 1 << 20 {
		require.Equal(t, shim.OK, c.put(p+uint64(off), want[off:off+1<<20]))
	}
	for _, n := range []int{16, large, 5, 1 << 20, large - 1} {
		kind, got := c.requestKind(wire.OpGet, u64s(p, uint64(n)))
		require.Equal(t, uint8(wire.KindDrained), kind)
		require.Len(t, got, 1+n)
		require.Equal(t, byte(shim.OK), got[0])
		require.Equal(t, want[:n], got[1:], "download of %d bytes", n)
	}
	_, got := c.requestKind(wire.OpGet, u64s(p, large+1))
	require.Equal(t, []byte{byte(shim.ErrInvalidValue)}, got, "past the allocation: the status alone")
}
