package remote

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"vgpu/shim"
	"vgpu/wire"
)

// answeringConn stands for a server that answers every request with success, a download with
// as many zero bytes as it asked for, and records what each request said.
type answeringConn struct {
	countingConn
	mu      sync.Mutex
	replies bytes.Buffer
	asked   []wire.Header
	bodies  [][]byte
}

func (c *answeringConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for b := p; len(b) >= wire.HeaderLen; {
		h, err := wire.ParseHeader(b[:wire.HeaderLen])
		if err != nil {
			return 0, err
		}
		body := append([]byte(nil), b[wire.HeaderLen:wire.HeaderLen+int(h.Len)]...)
		b = b[wire.HeaderLen+int(h.Len):]
		c.asked, c.bodies = append(c.asked, h), append(c.bodies, body)
		if h.Kind != wire.KindRequest {
			continue
		}
		answer := []byte{byte(shim.OK)}
		if h.Op == OpGet {
			answer = append(answer, make([]byte, binary.LittleEndian.Uint64(body[8:]))...)
		}
		c.replies.Write(wire.AppendHeader(nil, wire.Header{Kind: wire.KindResponse, Op: h.Op, Seq: h.Seq}, len(answer)))
		c.replies.Write(answer)
	}
	return len(p), nil
}

func (c *answeringConn) Writev(bufs ...[]byte) error {
	_, err := c.Write(bytes.Join(bufs, nil))
	return err
}

func (c *answeringConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.replies.Read(p)
}

// downloads lists the stream each download named (0: none, the legacy stream's order).
func (c *answeringConn) downloads() []uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []uint64
	for i, h := range c.asked {
		if h.Op == OpGet {
			s := uint64(0)
			if len(c.bodies[i]) >= 24 {
				s = binary.LittleEndian.Uint64(c.bodies[i][16:])
			}
			out = append(out, s)
		}
	}
	return out
}

func withAnsweringServer(t *testing.T) *answeringConn {
	ac := &answeringConn{}
	mu.Lock()
	oldConn, oldDead := conn, dead
	conn, dead = ac, nil
	mu.Unlock()
	t.Cleanup(func() {
		mu.Lock()
		conn, dead = oldConn, oldDead
		mu.Unlock()
	})
	return ac
}

// The driver's asynchronous download waits for its own stream's work, not for every stream's:
// a long kernel on one thread's stream does not hold up another thread's download (NVIDIA's
// runtime turns cudaMemcpyAsync into cuMemcpyDtoHAsync, so this is every default-built
// program's download). Its per-thread form names the calling thread's own stream for 0.
func TestAnAsynchronousDownloadWaitsForItsOwnStreamOnly(t *testing.T) {
	ac := withAnsweringServer(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const mine, perThreadOnServer = uint64(0x7f00000100000007), uint64(0x7f00000100000009)
	ts := shim.Thread()
	prev := ts.RemoteStreams
	ts.RemoteStreams = map[int]uintptr{ts.Device: uintptr(perThreadOnServer)}
	t.Cleanup(func() { ts.RemoteStreams = prev })

	dst := make([]byte, 64)
	p := addr(dst)
	require.Equal(t, int32(0), int32(MemcpyDtoHAsync(p, 0x7f0000100000, 64, uintptr(mine))))
	require.Equal(t, int32(0), MemcpyDtoHAsyncPtsz(p, 0x7f0000100000, 64, uintptr(mine)))
	require.Equal(t, int32(0), MemcpyDtoHAsyncPtsz(p, 0x7f0000100000, 64, 0))
	require.Equal(t, int32(0), int32(MemcpyDtoHAsync(p, 0x7f0000100000, 64, 0)))
	require.Equal(t, []uint64{mine, mine, perThreadOnServer, 0}, ac.downloads(),
		"each download in its stream's order; the legacy stream's names none")
}
