package server

import (
	"encoding/binary"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"vgpu/shim"
	"vgpu/wire"
)

// A client on the server's host may move its connection onto two rings in a memfd it
// passes (wire.RingConn). The memfd is checked as a window's is, the rings' positions are
// the client's word only about its own connection, and a client that corrupts them loses
// that connection alone.

var ringRegion = wire.RingRegionSize(wire.MinRingSize)

func TestRingsAreOnlyASealedMemfdOfARingRegionsSize(t *testing.T) {
	for name, fd := range refusedDescriptors(t, int64(ringRegion)) {
		client, server, in := peerConns(t)
		p := send(t, client, in, wire.OpRingAttach, fd, u64s(uint64(ringRegion)))
		resp, rc, region := attachRing(server, p)
		require.Equal(t, []byte{byte(shim.ErrInvalidValue)}, resp, name)
		require.Nil(t, rc, name)
		require.Nil(t, region, name)
	}
	for _, size := range []uint64{uint64(ringRegion) - 4096, 4 << 20, uint64(wire.RingRegionSize(wire.MaxRingSize * 2))} {
		client, server, in := peerConns(t)
		fd := memfd(t, int64(size), clientSeals)
		p := send(t, client, in, wire.OpRingAttach, fd, u64s(size))
		resp, rc, _ := attachRing(server, p)
		require.Equal(t, []byte{byte(shim.ErrInvalidValue)}, resp, size)
		require.Nil(t, rc)
	}
	client, server, in := peerConns(t)
	p := send(t, client, in, wire.OpRingAttach, -1, u64s(uint64(ringRegion))) // no descriptor
	resp, rc, _ := attachRing(server, p)
	require.Equal(t, []byte{byte(shim.ErrInvalidValue)}, resp)
	require.Nil(t, rc)
}

type ringClient struct {
	t      *testing.T
	c      *wire.RingConn
	region []byte
	seq    uint32
}

// dialRings connects, says hello and moves onto rings, as remote.attachRingsLocked does.
func (s *testServer) dialRings(t *testing.T) *ringClient {
	t.Helper()
	fc, err := wire.FromConn(s.raw(t), 10*time.Second)
	require.NoError(t, err)
	w := hello(t, fc, wire.Hello{Version: wire.Version, Token: testToken, PID: os.Getpid()})
	require.True(t, w.OK, w.Error)
	fd, err := unix.MemfdCreate("rings", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	require.NoError(t, err)
	require.NoError(t, unix.Ftruncate(fd, int64(ringRegion)))
	_, err = unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, clientSeals)
	require.NoError(t, err)
	region, err := unix.Mmap(fd, 0, ringRegion, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	require.NoError(t, err)
	fr, _ := wire.AppendFrame(nil, wire.Header{Kind: wire.KindRequest, Op: wire.OpRingAttach, Seq: 1}, u64s(uint64(ringRegion)))
	require.NoError(t, fc.SendFD(fr, fd))
	unix.Close(fd)
	_, p, err := wire.ReadFrame(fc)
	require.NoError(t, err)
	require.Equal(t, []byte{byte(shim.OK)}, p)
	rc, err := wire.NewRingConn(fc, region, false, 0)
	require.NoError(t, err)
	c := &ringClient{t: t, c: rc, region: region, seq: 1}
	t.Cleanup(c.close)
	return c
}

func (c *ringClient) close() {
	if c.region != nil {
		c.c.Close()
		unix.Munmap(c.region)
		c.region = nil
	}
}

func (c *ringClient) request(op uint32, payload []byte) ([]byte, error) {
	c.seq++
	return requestOn(c.c, c.seq, op, payload)
}

func (c *ringClient) call(name string, args ...wire.Value) (uint64, [][]byte) {
	c.t.Helper()
	return callOn(c.t, c, name, args...)
}

// A session on rings is a session like any other: memory allocated, written, read back and
// freed; a window passed with a doorbell while on rings is mapped too.
func TestASessionRunsOnItsRings(t *testing.T) {
	s := startServer(t, Options{Token: testToken})
	c := s.dialRings(t)
	r, outs := c.call("cudaMalloc", wire.Value{U: 1}, wire.Value{U: 1 << 20})
	require.Zero(t, r)
	p := binary.LittleEndian.Uint64(outs[0])
	data := []byte(strings.Repeat("through the rings ", 20000)) // larger than a ring: it waits for room
	resp, err := c.request(wire.OpPut, append(u64s(p), data...))
	require.NoError(t, err)
	require.Equal(t, []byte{byte(shim.OK)}, resp)
	resp, err = c.request(wire.OpGet, u64s(p, uint64(len(data))))
	require.NoError(t, err)
	require.Equal(t, append([]byte{byte(shim.OK)}, data...), resp)

	fd := memfd(t, window, clientSeals)
	fr, _ := wire.AppendFrame(nil, wire.Header{Kind: wire.KindRequest, Op: wire.OpShmAttach, Seq: c.seq + 1}, u64s(window))
	c.seq++
	require.NoError(t, c.c.SendFD(fr, fd))
	_, resp, err = wire.ReadFrame(c.c)
	require.NoError(t, err)
	require.Equal(t, []byte{byte(shim.OK)}, resp)

	// Rings are set up once: a second attach, on the rings, is refused.
	fr, _ = wire.AppendFrame(nil, wire.Header{Kind: wire.KindRequest, Op: wire.OpRingAttach, Seq: c.seq + 1}, u64s(uint64(ringRegion)))
	c.seq++
	require.NoError(t, c.c.SendFD(fr, memfd(t, int64(ringRegion), clientSeals)))
	_, resp, err = wire.ReadFrame(c.c)
	require.NoError(t, err)
	require.Equal(t, []byte{byte(shim.ErrInvalidValue)}, resp)

	r, _ = c.call("cudaFree", wire.Value{U: p})
	require.Zero(t, r)
}

// A client that writes impossible positions into the region, or garbage into its ring,
// ends its own session: what it held is freed and every other client is still served.
func TestCorruptRingsEndOnlyTheirSession(t *testing.T) {
	s := startServer(t, Options{Token: testToken})
	base := s.baseline(t)
	for name, corrupt := range map[string]func(c *ringClient){
		"a head past the ring": func(c *ringClient) {
			atomic.StoreUint64((*uint64)(unsafe.Pointer(&c.region[256])), uint64(wire.MinRingSize)*3)
			c.c.Socket().Write([]byte{1}) // ring the doorbell, as if asleep
		},
		"a tail ahead of the server's answers": func(c *ringClient) {
			atomic.StoreUint64((*uint64)(unsafe.Pointer(&c.region[384+256])), 1<<40)
			c.request(wire.OpIsDevice, u64s(0))
		},
		"a frame of garbage": func(c *ringClient) {
			c.c.Write([]byte(strings.Repeat("\xff", 64)))
		},
	} {
		c := s.dialRings(t)
		r, _ := c.call("cudaMalloc", wire.Value{U: 1}, wire.Value{U: 8 << 20})
		require.Zero(t, r)
		corrupt(c)
		// The server closes the socket: the client's wait for an answer ends.
		_, err := c.c.Read(make([]byte, 1))
		require.Error(t, err, name)
		c.close()
		s.works(t)
	}
	s.recovered(t, base)
}

// Rings in a shared file lie past the window the session attached, inside the file: any
// other place (over the window, past the file's end, unaligned), or no file window at all,
// is refused. Where they may lie, both sides reach the same memory through them.
func TestRingsInASharedFileLieInsideItAndPastItsWindow(t *testing.T) {
	rings := uint64(ringRegion)
	path, mine := shmFile(t, fileWindow+int64(rings))
	client, server, _ := peerConns(t)
	var none shmWindow
	resp, rc, _ := none.attachRings(server, u64s(rings, fileWindow))
	require.Equal(t, refused, resp, "no window attached")
	require.Nil(t, rc)

	var w shmWindow
	require.Equal(t, accepted, w.attachFile(map[string]string{"vm0": path}, proof(t, mine, fileWindow, "vm0"), shim.Log()))
	defer w.detach()
	for name, p := range map[string][]byte{
		"over the window":       u64s(rings, fileWindow-4096),
		"past the file's end":   u64s(rings, fileWindow+4096),
		"unaligned":             u64s(rings, fileWindow+8),
		"not a ring's size":     u64s(rings-4096, fileWindow),
		"a huge offset":         u64s(rings, 1<<62),
		"with the wrong length": u64s(rings),
	} {
		resp, rc, _ := w.attachRings(server, p)
		require.Equal(t, refused, resp, name)
		require.Nil(t, rc, name)
	}
	resp, rc, region := w.attachRings(server, u64s(rings, fileWindow))
	require.Equal(t, accepted, resp)
	defer unix.Munmap(region)
	mine2, err := wire.NewRingConn(client, mine[fileWindow:], false, 0)
	require.NoError(t, err)
	go func() {
		wire.WriteFrame(mine2, wire.Header{Kind: wire.KindRequest, Op: 1, Seq: 7}, []byte("across the file"))
	}()
	h, p, err := wire.ReadFrame(rc)
	require.NoError(t, err)
	require.Equal(t, uint32(7), h.Seq)
	require.Equal(t, "across the file", string(p))
}

// ringMappings counts this process's mappings of memfds named name (the server's are this
// test process's own).
func ringMappings(t *testing.T, name string) int {
	b, err := os.ReadFile("/proc/self/maps")
	require.NoError(t, err)
	return strings.Count(string(b), "memfd:"+name+" ")
}

// An attach that is posted (it would get no answer, so the connection never moves) or that
// comes after the rings are attached is refused: neither leaves a region mapped, which a
// client could otherwise repeat until the server ran out of mappings.
func TestRingsAttachOnceAndOnlyAsARequest(t *testing.T) {
	s := startServer(t, Options{Token: testToken})
	c := s.dial(t)
	fd, err := unix.MemfdCreate("posted-rings", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	require.NoError(t, err)
	defer unix.Close(fd)
	require.NoError(t, unix.Ftruncate(fd, int64(ringRegion)))
	_, err = unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, clientSeals)
	require.NoError(t, err)
	fr, _ := wire.AppendFrame(nil, wire.Header{Kind: wire.KindPost, Op: wire.OpRingAttach, Seq: 1}, u64s(uint64(ringRegion)))
	for i := 0; i < 20; i++ {
		_, _, err := c.c.WriteMsgUnix(fr, unix.UnixRights(fd), nil)
		require.NoError(t, err)
	}
	st, _ := c.op(wire.OpIsDevice, u64s(0)) // answered after the posts
	require.Equal(t, shim.Status(0), st)
	require.Zero(t, ringMappings(t, "posted-rings"), "a posted attach mapped the region")

	rc := s.dialRings(t) // a second attach on the rings: refused, nothing more mapped
	fr, _ = wire.AppendFrame(nil, wire.Header{Kind: wire.KindRequest, Op: wire.OpRingAttach, Seq: rc.seq + 1}, u64s(uint64(ringRegion)))
	rc.seq++
	require.NoError(t, rc.c.SendFD(fr, fd))
	_, resp, err := wire.ReadFrame(rc.c)
	require.NoError(t, err)
	require.Equal(t, []byte{byte(shim.ErrInvalidValue)}, resp)
	require.Zero(t, ringMappings(t, "posted-rings"))
	r, _ := rc.call("cudaDeviceSynchronize")
	require.Zero(t, r, "the session goes on")
}
