package server

// A hostile client speaks the protocol with crafted frames (package wire) to an in-process
// server on a unix socket. After every attack the server is alive, serves a legitimate
// client, and its threads, descriptors and memory come back to where they were.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"

	"vgpu/shim"
	"vgpu/shim/api"
	"vgpu/wire"
)

const testToken = "correct horse battery staple"

type testServer struct {
	path string
	ln   net.Listener
	done chan error
}

// startServer serves o on a fresh unix socket until the test ends.
func startServer(t testing.TB, o Options) *testServer {
	t.Helper()
	if s := shim.S(); s.Err != nil {
		t.Skip(s.Err)
	}
	if o.Token == "" {
		o.Token = testToken
	}
	path := filepath.Join(t.TempDir(), "vgpu.sock")
	ln, err := net.Listen("unix", path)
	require.NoError(t, err)
	s := &testServer{path: path, ln: ln, done: make(chan error, 1)}
	go func() { s.done <- Serve(NetListener(ln), o) }()
	t.Cleanup(func() {
		ln.Close()
		require.NoError(t, <-s.done)
	})
	return s
}

// shortHandshake makes strangers time out in d instead of seconds.
func shortHandshake(t *testing.T, d time.Duration) {
	old := handshakeTimeout
	handshakeTimeout = d
	t.Cleanup(func() { handshakeTimeout = old })
}

// raw is a connection that has not said anything yet; no read waits more than 10 s.
func (s *testServer) raw(t testing.TB) *net.UnixConn {
	t.Helper()
	nc, err := net.Dial("unix", s.path)
	require.NoError(t, err)
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	return nc.(*net.UnixConn)
}

type testClient struct {
	t   testing.TB
	c   *net.UnixConn
	seq uint32
}

// dial connects and authenticates as a legitimate client does.
func (s *testServer) dial(t testing.TB) *testClient {
	t.Helper()
	c := s.raw(t)
	w := hello(t, c, wire.Hello{Version: wire.Version, Token: testToken, PID: os.Getpid()})
	require.True(t, w.OK, w.Error)
	require.NotEmpty(t, w.Devices)
	c.SetDeadline(time.Time{})
	tc := &testClient{t: t, c: c}
	t.Cleanup(func() { tc.close() })
	return tc
}

func hello(t testing.TB, c io.ReadWriter, h wire.Hello) wire.Welcome {
	t.Helper()
	b, _ := json.Marshal(h)
	require.NoError(t, wire.WriteFrame(c, wire.Header{Kind: wire.KindHello}, b))
	hd, p, err := wire.ReadFrame(c)
	require.NoError(t, err)
	require.Equal(t, uint8(wire.KindWelcome), hd.Kind)
	var w wire.Welcome
	require.NoError(t, json.Unmarshal(p, &w))
	return w
}

func (c *testClient) close() {
	if c.c != nil {
		c.c.Close()
		c.c = nil
	}
}

// request sends one request and returns its response's payload.
func (c *testClient) request(op uint32, payload []byte) ([]byte, error) {
	c.seq++
	return requestOn(c.c, c.seq, op, payload)
}

// requestOn sends request seq on c and returns its response's payload, past busy frames.
func requestOn(c io.ReadWriter, seq uint32, op uint32, payload []byte) ([]byte, error) {
	if err := wire.WriteFrame(c, wire.Header{Kind: wire.KindRequest, Op: op, Seq: seq}, payload); err != nil {
		return nil, err
	}
	for {
		h, p, err := wire.ReadFrame(c)
		if err != nil {
			return nil, err
		}
		if h.Kind == wire.KindBusy {
			continue
		}
		if h.Seq != seq {
			return nil, errors.New("response out of order")
		}
		return p, nil
	}
}

// op runs a protocol op that answers with a status byte first.
func (c *testClient) op(op uint32, payload []byte) (shim.Status, []byte) {
	c.t.Helper()
	p, err := c.request(op, payload)
	require.NoError(c.t, err)
	require.NotEmpty(c.t, p)
	return shim.Status(p[0]), p[1:]
}

// call runs a function of the list by name, with its arguments as the wire carries them.
func (c *testClient) call(name string, args ...wire.Value) (uint64, [][]byte) {
	c.t.Helper()
	return callOn(c.t, c, name, args...)
}

// callOn is call through any client's requests.
func callOn(t testing.TB, c interface {
	request(op uint32, payload []byte) ([]byte, error)
}, name string, args ...wire.Value) (uint64, [][]byte) {
	t.Helper()
	f := api.ByName()[name]
	require.NotNil(t, f, name)
	req, err := wire.EncodeRequest(f, args)
	require.NoError(t, err)
	p, err := c.request(uint32(f.Op), req)
	require.NoError(t, err, name)
	res, outs, err := wire.DecodeResponse(f, p)
	require.NoError(t, err)
	return res, outs
}

// create runs a function that makes a handle (its first argument the output) and returns it.
func (c *testClient) create(name string) uint64 {
	c.t.Helper()
	r, outs := c.call(name, wire.Value{U: 1})
	require.Zero(c.t, r, name)
	return binary.LittleEndian.Uint64(outs[0])
}

func (c *testClient) malloc(n uint64) uint64 {
	c.t.Helper()
	r, outs := c.call("cudaMalloc", wire.Value{U: 1}, wire.Value{U: n})
	require.Zero(c.t, r)
	return binary.LittleEndian.Uint64(outs[0])
}

func (c *testClient) put(dst uint64, b []byte) shim.Status {
	s, _ := c.op(wire.OpPut, append(u64s(dst), b...))
	return s
}

func (c *testClient) get(src, n uint64) (shim.Status, []byte) {
	return c.op(wire.OpGet, u64s(src, n))
}

// works is a legitimate client's session: memory allocated, written, read back and freed.
func (s *testServer) works(t *testing.T) {
	t.Helper()
	c := s.dial(t)
	defer c.close()
	p := c.malloc(1 << 20)
	data := []byte(strings.Repeat("the server is still serving ", 100))
	require.Equal(t, shim.OK, c.put(p+4096, data))
	st, got := c.get(p+4096, uint64(len(data)))
	require.Equal(t, shim.OK, st)
	require.Equal(t, data, got)
	r, _ := c.call("cudaFree", wire.Value{U: p})
	require.Zero(t, r)
}

// usage is what the process holds.
type usage struct{ threads, fds, rss int }

func measure(t *testing.T) usage {
	runtime.GC()
	debug.FreeOSMemory()
	b, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	var u usage
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "Threads:":
			u.threads, _ = strconv.Atoi(f[1])
		case "VmRSS:":
			kb, _ := strconv.Atoi(f[1])
			u.rss = kb << 10
		}
	}
	fds, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	u.fds = len(fds)
	return u
}

// baseline is the server's usage once one client has come and gone.
func (s *testServer) baseline(t *testing.T) usage {
	s.works(t)
	time.Sleep(50 * time.Millisecond)
	return measure(t)
}

// Thread slack: each client served at once holds a thread, the runtime keeps idle ones, and
// on a loaded machine it starts a few more while system calls are slow. A thread per
// connection would be thousands here.
const threadSlack = 64

// requireClosed checks that the server closed the connection: the end of the stream, or a
// reset where it closed with bytes unread.
func requireClosed(t *testing.T, err error, msg ...any) {
	t.Helper()
	require.Error(t, err, msg...)
	require.True(t, errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET), "%v %v", err, msg)
}

// recovered checks that the server serves a legitimate client and that its threads,
// descriptors and memory come back near base.
func (s *testServer) recovered(t *testing.T, base usage) {
	t.Helper()
	s.works(t)
	var now usage
	require.Eventually(t, func() bool {
		now = measure(t)
		return now.threads <= base.threads+threadSlack && now.fds <= base.fds+2 && now.rss <= base.rss+48<<20
	}, 10*time.Second, 100*time.Millisecond, "usage did not come back: baseline %+v, now %+v", base, now)
}

func f32s(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

// sgemm is C = alpha*A*B + beta*C on 2x2 matrices, alpha and beta as given.
func (c *testClient) sgemm(h, a, b, cc uint64, alpha, beta wire.Value) uint64 {
	c.t.Helper()
	r, _ := c.call("cublasSgemm_v2", wire.Value{U: h}, wire.Value{}, wire.Value{}, wire.Value{U: 2}, wire.Value{U: 2}, wire.Value{U: 2},
		alpha, wire.Value{U: a}, wire.Value{U: 2}, wire.Value{U: b}, wire.Value{U: 2}, beta, wire.Value{U: cc}, wire.Value{U: 2})
	return r
}

var serverSecret = [16]byte{'s', 'e', 'r', 'v', 'e', 'r', ' ', 'm', 'e', 'm', 'o', 'r', 'y'}

// A cuBLAS scalar is a value in host pointer mode and the client's device memory in device
// pointer mode; an address of the server's own memory is refused in both.
func TestScalarsAreNeverServerAddresses(t *testing.T) {
	s := startServer(t, Options{})
	base := s.baseline(t)
	c := s.dial(t)
	h := c.create("cublasCreate_v2")
	a, b, cc, scal := c.malloc(16), c.malloc(16), c.malloc(16), c.malloc(16)
	require.Equal(t, shim.OK, c.put(a, f32s(1, 2, 3, 4)))
	require.Equal(t, shim.OK, c.put(b, f32s(1, 0, 0, 1)))
	require.Equal(t, shim.OK, c.put(cc, f32s(9, 9, 9, 9)))
	require.Equal(t, shim.OK, c.put(scal, f32s(3, 0)))
	server := uint64(uintptr(unsafe.Pointer(&serverSecret[0])))
	zero := wire.Value{U: 0x1234, B: f32s(0)}
	const invalidValue = 7
	for _, bare := range []uint64{0x10, 0x400000, server} {
		require.EqualValues(t, invalidValue, c.sgemm(h, a, b, cc, wire.Value{U: bare}, zero), "alpha as a bare address %#x", bare)
		require.EqualValues(t, invalidValue, c.sgemm(h, a, b, cc, zero, wire.Value{U: bare}), "beta as a bare address %#x", bare)
	}
	require.EqualValues(t, invalidValue, c.sgemm(h, a, b, cc, wire.Value{U: 1, B: []byte{1, 2}}, zero), "a value shorter than a float")
	st, got := c.get(cc, 16)
	require.Equal(t, shim.OK, st)
	require.Equal(t, f32s(9, 9, 9, 9), got, "a refused call wrote nothing")
	// By value, it computes: C = 2*A*I.
	require.Zero(t, c.sgemm(h, a, b, cc, wire.Value{U: 0x1000, B: f32s(2)}, zero))
	_, got = c.get(cc, 16)
	require.Equal(t, f32s(2, 4, 6, 8), got)

	r, _ := c.call("cublasSetPointerMode_v2", wire.Value{U: h}, wire.Value{U: 1})
	require.Zero(t, r)
	for _, bare := range []uint64{0x10, 0x400000, server, scal - 2} { // the last starts before its allocation
		require.EqualValues(t, invalidValue, c.sgemm(h, a, b, cc, wire.Value{U: bare}, wire.Value{U: scal + 4}), "device-mode alpha at %#x", bare)
	}
	require.EqualValues(t, invalidValue, c.sgemm(h, a, b, cc, wire.Value{U: scal, B: f32s(1)}, wire.Value{U: scal + 4}), "bytes in device pointer mode")
	// From the client's device memory, it computes: C = 3*A*I.
	require.Zero(t, c.sgemm(h, a, b, cc, wire.Value{U: scal}, wire.Value{U: scal + 4}))
	_, got = c.get(cc, 16)
	require.Equal(t, f32s(3, 6, 9, 12), got)
	c.close()
	s.recovered(t, base)
}

// Another client's handles, and values that were never handles, resolve to nothing.
func TestForeignHandlesAreRefused(t *testing.T) {
	s := startServer(t, Options{})
	base := s.baseline(t)
	owner, other := s.dial(t), s.dial(t)
	h := owner.create("cublasCreate_v2")
	stream := owner.create("cudaStreamCreate")
	a := other.malloc(16)
	one := wire.Value{B: f32s(1)}
	for _, handle := range []uint64{h, h + 1, 0x10, 0x7e5a0a00000000} {
		require.NotZero(t, other.sgemm(handle, a, a, a, one, one), "handle %#x", handle)
		r, _ := other.call("cublasSetPointerMode_v2", wire.Value{U: handle}, wire.Value{U: 1})
		require.NotZero(t, r, "handle %#x", handle)
	}
	for _, st := range []uint64{stream, stream + 1, 0x400000} {
		r, _ := other.call("cudaStreamSynchronize", wire.Value{U: st})
		require.NotZero(t, r, "stream %#x", st)
		status, _ := other.op(wire.OpCopyD2DAsync, u64s(a, a+8, 8, st))
		require.NotEqual(t, shim.OK, status, "stream %#x", st)
	}
	r, _ := owner.call("cudaStreamSynchronize", wire.Value{U: stream})
	require.Zero(t, r, "the owner's stream still works")
	owner.close()
	other.close()
	s.recovered(t, base)
}

// Every copy, set and GEMM operand must lie inside an allocation: addresses of nothing, of
// the server's own memory, and ranges that run past an allocation's end are refused, and
// the allocation's bytes stay as they were.
func TestPointersOutsideAllocationsAreRefused(t *testing.T) {
	s := startServer(t, Options{})
	base := s.baseline(t)
	c := s.dial(t)
	const size = 4096
	p := c.malloc(size)
	mine := []byte(strings.Repeat("x", size))
	require.Equal(t, shim.OK, c.put(p, mine))
	server := uint64(uintptr(unsafe.Pointer(&serverSecret[0])))
	for _, at := range []uint64{0, 0x10, 0x400000, server, p + size - 4, p - 1} {
		require.NotEqual(t, shim.OK, c.put(at, make([]byte, 16)), "put at %#x", at)
		st, _ := c.get(at, 16)
		require.NotEqual(t, shim.OK, st, "get at %#x", at)
		st, _ = c.op(wire.OpCopyD2D, u64s(p, at, 16))
		require.NotEqual(t, shim.OK, st, "copy from %#x", at)
		st, _ = c.op(wire.OpCopyD2D, u64s(at, p, 16))
		require.NotEqual(t, shim.OK, st, "copy to %#x", at)
		st, _ = c.op(wire.OpCopyD2DAsync, u64s(at, p, 16, 0))
		require.NotEqual(t, shim.OK, st, "async copy to %#x", at)
		st, _ = c.op(wire.OpPut2D, append(u64s(at, 16, 8, 2, 0), make([]byte, 16)...))
		require.NotEqual(t, shim.OK, st, "2D put to %#x", at)
		st, _ = c.op(wire.OpGet2D, u64s(at, 16, 8, 2))
		require.NotEqual(t, shim.OK, st, "2D get from %#x", at)
		st, _ = c.op(wire.OpCopy2D, u64s(at, 16, p, 16, 8, 2, 0))
		require.NotEqual(t, shim.OK, st, "2D copy to %#x", at)
		r, _ := c.call("cudaMemset", wire.Value{U: at}, wire.Value{U: 0}, wire.Value{U: 16})
		require.NotZero(t, r, "memset at %#x", at)
		r, _ = c.call("cuMemsetD8_v2", wire.Value{U: at}, wire.Value{U: 0}, wire.Value{U: 16})
		require.NotZero(t, r, "cuMemsetD8 at %#x", at)
		if at != 0 { // cudaFree(NULL) does nothing, successfully
			r, _ = c.call("cudaFree", wire.Value{U: at})
			require.NotZero(t, r, "free at %#x", at)
		}
	}
	// A 2D copy whose last row runs past the allocation.
	st, _ := c.op(wire.OpPut2D, append(u64s(p, size, 8, 2, 0), make([]byte, 16)...))
	require.NotEqual(t, shim.OK, st)
	st, got := c.get(p, size)
	require.Equal(t, shim.OK, st)
	require.Equal(t, mine, got)
	c.close()
	s.recovered(t, base)
}

// A frame the protocol does not allow ends the connection that sent it, before the server
// allocates for it; other clients go on.
func TestMalformedFramesEndOnlyTheirConnection(t *testing.T) {
	shortHandshake(t, time.Second)
	s := startServer(t, Options{})
	base := s.baseline(t)
	bystander := s.dial(t)
	p := bystander.malloc(64)
	header := func(magic uint16, version, kind uint8, n uint32) []byte {
		b := binary.LittleEndian.AppendUint16(nil, magic)
		b = append(b, version, kind)
		b = binary.LittleEndian.AppendUint32(b, 0xF001)
		b = binary.LittleEndian.AppendUint32(b, 1)
		return binary.LittleEndian.AppendUint32(b, n)
	}
	good := header(0x7647, wire.Version, wire.KindRequest, 8)
	cases := map[string][]byte{
		"bad magic":                   header(0x4745, wire.Version, wire.KindRequest, 8),
		"another version":             header(0x7647, wire.Version+1, wire.KindRequest, 8),
		"larger than the protocol":    header(0x7647, wire.Version, wire.KindRequest, wire.MaxPayload+1),
		"as large as 4 GiB":           header(0x7647, wire.Version, wire.KindRequest, math.MaxUint32),
		"truncated payload":           append(good, 1, 2, 3),
		"truncated header":            good[:7],
		"garbage":                     []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"a request without its bytes": header(0x7647, wire.Version, wire.KindRequest, 1<<20),
	}
	for name, frame := range cases {
		for _, authed := range []bool{false, true} {
			var c *net.UnixConn
			if authed {
				tc := s.dial(t)
				c, tc.c = tc.c, nil
			} else {
				c = s.raw(t)
			}
			_, err := c.Write(frame)
			require.NoError(t, err, name)
			require.NoError(t, c.CloseWrite()) // the server sees the end of what was sent
			c.SetDeadline(time.Now().Add(10 * time.Second))
			// The server answers nothing and closes (a stranger gets no welcome).
			start := time.Now()
			_, _, err = wire.ReadFrame(c)
			requireClosed(t, err, "%s (authenticated %v)", name, authed)
			require.Less(t, time.Since(start), 3*time.Second, name)
			c.Close()
		}
	}
	// Pre-authentication: what is not a hello, or not a good one, is refused.
	for name, h := range map[string]wire.Hello{"wrong token": {Token: "wrong"}, "no token": {}, "a longer token": {Token: testToken + "x"}} {
		c := s.raw(t)
		w := hello(t, c, h)
		require.False(t, w.OK, name)
		require.Empty(t, w.Devices, name)
		_, _, err := wire.ReadFrame(c)
		requireClosed(t, err, name)
		c.Close()
	}
	c := s.raw(t)
	require.NoError(t, wire.WriteFrame(c, wire.Header{Kind: wire.KindHello}, []byte("{not json")))
	_, pl, err := wire.ReadFrame(c)
	require.NoError(t, err)
	require.Contains(t, string(pl), "malformed hello")
	c.Close()
	c = s.raw(t)
	require.NoError(t, wire.WriteFrame(c, wire.Header{Kind: wire.KindRequest, Op: 240}, u64s(1, 16)))
	_, _, err = wire.ReadFrame(c)
	requireClosed(t, err, "a request before the hello")
	c.Close()

	st, _ := bystander.get(p, 64)
	require.Equal(t, shim.OK, st, "the bystander is still served")
	bystander.close()
	s.recovered(t, base)
}

// A hello header announcing 64 MiB is refused before its payload is read or allocated:
// eight of them cost the server nothing.
func TestHugeHelloIsRefusedBeforeItsPayload(t *testing.T) {
	s := startServer(t, Options{})
	base := s.baseline(t)
	var conns []*net.UnixConn
	for range 8 {
		c := s.raw(t)
		h := wire.AppendHeader(nil, wire.Header{Kind: wire.KindHello}, wire.MaxPayload)
		_, err := c.Write(h)
		require.NoError(t, err)
		_, err = c.Write(make([]byte, 1<<20)) // the start of a payload the server does not want
		require.True(t, err == nil || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET), "%v", err)
		conns = append(conns, c)
	}
	for _, c := range conns {
		start := time.Now()
		_, _, err := wire.ReadFrame(c)
		require.Error(t, err, "no welcome for an oversized hello")
		require.Less(t, time.Since(start), 2*time.Second, "refused at once, not at the handshake deadline")
		c.Close()
	}
	now := measure(t)
	require.Less(t, now.rss, base.rss+32<<20, "RSS grew from %d to %d", base.rss, now.rss)
	s.recovered(t, base)
}

// Thousands of idle strangers hold no thread each, cannot lock out a client that
// authenticates, and leave nothing behind.
func TestPreAuthFloodCostsNoThreads(t *testing.T) {
	shortHandshake(t, 3*time.Second)
	s := startServer(t, Options{})
	base := s.baseline(t)
	var conns []net.Conn
	for range 2000 {
		nc, err := net.Dial("unix", s.path)
		require.NoError(t, err)
		conns = append(conns, nc)
	}
	time.Sleep(200 * time.Millisecond)
	during := measure(t)
	require.LessOrEqual(t, during.threads, base.threads+threadSlack, "threads with 2000 idle strangers: %d, baseline %d", during.threads, base.threads)
	// A client completes its handshake while the flood holds on.
	s.works(t)
	// The strangers were refused past the limit, evicted, or timed out: all are closed.
	for _, nc := range conns {
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := nc.Read(make([]byte, 1))
		require.Error(t, err)
		require.False(t, errors.Is(err, os.ErrDeadlineExceeded), "a stranger's connection was held past the handshake deadline")
		nc.Close()
	}
	s.recovered(t, base)
}

// Strangers that send a few header bytes and then nothing are dropped at the handshake
// deadline.
func TestSlowHeadersAreDroppedAtTheDeadline(t *testing.T) {
	shortHandshake(t, 300*time.Millisecond)
	s := startServer(t, Options{})
	base := s.baseline(t)
	var conns []*net.UnixConn
	for range 100 {
		c := s.raw(t)
		_, err := c.Write(wire.AppendHeader(nil, wire.Header{Kind: wire.KindHello}, 64)[:8])
		require.NoError(t, err)
		conns = append(conns, c)
	}
	during := measure(t)
	require.LessOrEqual(t, during.threads, base.threads+threadSlack)
	for _, c := range conns {
		start := time.Now()
		_, _, err := wire.ReadFrame(c)
		requireClosed(t, err)
		require.Less(t, time.Since(start), 2*time.Second)
		c.Close()
	}
	// A stranger that trickles a byte at a time is bounded by the same deadline.
	c := s.raw(t)
	start := time.Now()
	var err error
	for err == nil && time.Since(start) < 3*time.Second {
		_, err = c.Write([]byte{0x47})
		time.Sleep(20 * time.Millisecond)
	}
	require.Error(t, err, "the server kept reading a trickle past its deadline")
	c.Close()
	s.recovered(t, base)
}

// The connection limits refuse what is past them at once; a client that authenticates still
// gets in past idle strangers.
func TestConnectionLimits(t *testing.T) {
	shortHandshake(t, 5*time.Second)
	s := startServer(t, Options{MaxPending: 4, MaxConns: 6})
	base := s.baseline(t)
	var idle []*net.UnixConn
	for range 4 {
		idle = append(idle, s.raw(t))
	}
	time.Sleep(100 * time.Millisecond)
	a := s.dial(t) // evicts the oldest stranger
	_, _, err := wire.ReadFrame(idle[0])
	requireClosed(t, err, "the oldest stranger gave its place up")
	b := s.dial(t)
	for _, c := range idle {
		c.Close()
	}
	time.Sleep(300 * time.Millisecond) // the server notices they went
	var clients []*testClient
	for range 4 {
		clients = append(clients, s.dial(t))
	}
	// Six authenticated clients: the seventh connection is closed unanswered.
	c := s.raw(t)
	b2, _ := json.Marshal(wire.Hello{Token: testToken})
	wire.WriteFrame(c, wire.Header{Kind: wire.KindHello}, b2)
	_, _, err = wire.ReadFrame(c)
	require.Error(t, err)
	c.Close()
	a.close()
	b.close()
	for _, c := range clients {
		c.close()
	}
	// Once their sessions have ended, the server admits clients again.
	require.Eventually(t, func() bool {
		nc, err := net.Dial("unix", s.path)
		if err != nil {
			return false
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(2 * time.Second))
		b, _ := json.Marshal(wire.Hello{Token: testToken})
		if wire.WriteFrame(nc, wire.Header{Kind: wire.KindHello}, b) != nil {
			return false
		}
		_, p, err := wire.ReadFrame(nc)
		var w wire.Welcome
		return err == nil && json.Unmarshal(p, &w) == nil && w.OK
	}, 5*time.Second, 50*time.Millisecond)
	s.recovered(t, base)
}

// A panic while serving a client, or a fault on a wild address, ends that client's session:
// what it held is freed, its thread forgets it, and every other client is served.
func TestAFaultEndsOnlyItsSession(t *testing.T) {
	s := startServer(t, Options{})
	base := s.baseline(t)
	const panicOp, faultOp = 0xBAD0, 0xBAD1
	var mu sync.Mutex
	var threads []*shim.ThreadState
	testFault = func(op uint32) {
		if op != panicOp && op != faultOp {
			return
		}
		mu.Lock()
		threads = append(threads, shim.Thread())
		mu.Unlock()
		if op == panicOp {
			panic("injected by the test")
		}
		_ = *(*byte)(unsafe.Pointer(uintptr(0xdead0000))) // unmapped: a fault, not a Go panic
	}
	t.Cleanup(func() { testFault = nil })
	bystander := s.dial(t)
	keep := bystander.malloc(1 << 20)
	require.Equal(t, shim.OK, bystander.put(keep, []byte("mine")))
	for _, op := range []uint32{panicOp, faultOp} {
		before := deviceBytes()
		victim := s.dial(t)
		victim.malloc(8 << 20)
		r, _ := victim.call("cublasCreate_v2", wire.Value{U: 1})
		require.Zero(t, r)
		require.Greater(t, deviceBytes(), before)
		_, err := victim.request(op, nil)
		require.Error(t, err, "the faulting client's connection ends")
		require.Eventually(t, func() bool { return deviceBytes() == before }, 5*time.Second, 10*time.Millisecond,
			"what the client held is freed")
		st, got := bystander.get(keep, 4)
		require.Equal(t, shim.OK, st)
		require.Equal(t, "mine", string(got))
	}
	mu.Lock()
	for _, ts := range threads {
		require.Zero(t, ts.Owner, "a thread still names a gone client")
		require.Nil(t, ts.View)
		require.Empty(t, ts.Ctx)
	}
	mu.Unlock()
	bystander.close()
	s.recovered(t, base)
}

// deviceBytes is the device memory held by all clients.
func deviceBytes() uint64 {
	var n uint64
	for _, a := range shim.S().Mem.EveryOwner() {
		if a.Owner != 0 && (a.Kind == shim.MemDevice || a.Kind == shim.MemManaged) {
			n += uint64(a.Size)
		}
	}
	return n
}

// Refusals are logged a few lines a second, then counted.
func TestRefusalLogIsRateLimited(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	var suppressed int64
	r := &refusalLog{perSecond: 5, warn: func(msg string, kv ...any) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, msg)
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == "count" {
				suppressed = int64(kv[i+1].(int))
			}
		}
	}}
	for range 1000 {
		r.log("refused: no valid hello", "peer", "x")
	}
	mu.Lock()
	require.Len(t, lines, 5)
	mu.Unlock()
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(lines) == 6
	}, 3*time.Second, 20*time.Millisecond)
	require.EqualValues(t, 995, suppressed)
	require.Contains(t, lines[5], "not logged")
}

// A graph recorded on memory that was freed since does not write where that memory was
// when it is launched: the launch fails, and the client's session goes on.
func TestGraphReplayAfterFreeIsRefused(t *testing.T) {
	s := startServer(t, Options{})
	base := s.baseline(t)
	c := s.dial(t)
	stream := c.create("cudaStreamCreate")
	p, keep := c.malloc(1<<20), c.malloc(4096)
	r, _ := c.call("cudaStreamBeginCapture", wire.Value{U: stream}, wire.Value{U: 0})
	require.Zero(t, r)
	r, _ = c.call("cudaMemsetAsync", wire.Value{U: p}, wire.Value{U: 7}, wire.Value{U: 1 << 20}, wire.Value{U: stream})
	require.Zero(t, r)
	st, _ := c.op(wire.OpCopyD2DAsync, u64s(p, p+4096, 4096, stream))
	require.Equal(t, shim.OK, st)
	r, outs := c.call("cudaStreamEndCapture", wire.Value{U: stream}, wire.Value{U: 1, B: make([]byte, 8)}) // [inout]: the graph, NULL on failure
	require.Zero(t, r)
	graph := binary.LittleEndian.Uint64(outs[1])
	r, outs = c.call("cudaGraphInstantiate", wire.Value{U: 1}, wire.Value{U: graph}, wire.Value{U: 0})
	require.Zero(t, r)
	exec := binary.LittleEndian.Uint64(outs[0])
	r, _ = c.call("cudaGraphLaunch", wire.Value{U: exec}, wire.Value{U: stream})
	require.Zero(t, r, "while its memory is there, the graph runs")
	r, _ = c.call("cudaFree", wire.Value{U: p})
	require.Zero(t, r)
	r, _ = c.call("cudaGraphLaunch", wire.Value{U: exec}, wire.Value{U: stream})
	require.NotZero(t, r, "a replay onto freed memory")
	require.Equal(t, shim.OK, c.put(keep, []byte("still served")))
	c.close()
	s.recovered(t, base)
}

// A 2D upload recorded in a graph copies the bytes its frame carried at every launch, not
// whatever the server's memory holds there by then.
func TestCapturedUploadKeepsItsBytes(t *testing.T) {
	s := startServer(t, Options{})
	base := s.baseline(t)
	c := s.dial(t)
	stream := c.create("cudaStreamCreate")
	p := c.malloc(8192)
	rows := []byte(strings.Repeat("captured", 1024))
	r, _ := c.call("cudaStreamBeginCapture", wire.Value{U: stream}, wire.Value{U: 0})
	require.Zero(t, r)
	st, _ := c.op(wire.OpPut2D, append(u64s(p, 4096, 4096, 2, stream), rows...))
	require.Equal(t, shim.OK, st)
	r, outs := c.call("cudaStreamEndCapture", wire.Value{U: stream}, wire.Value{U: 1, B: make([]byte, 8)}) // [inout]: the graph, NULL on failure
	require.Zero(t, r)
	r, outs = c.call("cudaGraphInstantiate", wire.Value{U: 1}, wire.Value{U: binary.LittleEndian.Uint64(outs[1])}, wire.Value{U: 0})
	require.Zero(t, r)
	exec := binary.LittleEndian.Uint64(outs[0])
	// The server's heap is collected and reused by frames of the same size.
	for range 5 {
		runtime.GC()
		var junk [][]byte
		for range 2000 {
			b := make([]byte, len(rows)+40)
			for i := range b {
				b[i] = 0xEE
			}
			junk = append(junk, b)
		}
		runtime.KeepAlive(junk)
	}
	r, _ = c.call("cudaGraphLaunch", wire.Value{U: exec}, wire.Value{U: stream})
	require.Zero(t, r)
	st, got := c.get(p, 8192)
	require.Equal(t, shim.OK, st)
	require.True(t, bytes.Equal(rows, got), "the replay copied other bytes: %q", got[:32])
	c.close()
	s.recovered(t, base)
}

// Batched cuBLAS calls read their operands' addresses from device memory: addresses there
// that are not the client's device memory are refused, not followed on the host.
func TestBatchedOperandAddressesAreChecked(t *testing.T) {
	s := startServer(t, Options{})
	base := s.baseline(t)
	c := s.dial(t)
	h := c.create("cublasCreate_v2")
	mat, arrA, arrB := c.malloc(16), c.malloc(8), c.malloc(8)
	require.Equal(t, shim.OK, c.put(mat, f32s(1, 0, 0, 1)))
	secret := serverSecret
	server := uint64(uintptr(unsafe.Pointer(&serverSecret[0])))
	trsm := func() uint64 {
		r, _ := c.call("cublasStrsmBatched", wire.Value{U: h}, wire.Value{}, wire.Value{}, wire.Value{}, wire.Value{},
			wire.Value{U: 2}, wire.Value{U: 2}, wire.Value{U: 1, B: f32s(1)}, wire.Value{U: arrA}, wire.Value{U: 2},
			wire.Value{U: arrB}, wire.Value{U: 2}, wire.Value{U: 1})
		return r
	}
	for _, wild := range []uint64{0, 0x10, 0x400000, server, mat + 8} {
		for _, arrays := range [][2]uint64{{wild, mat}, {mat, wild}} {
			require.Equal(t, shim.OK, c.put(arrA, u64s(arrays[0])))
			require.Equal(t, shim.OK, c.put(arrB, u64s(arrays[1])))
			require.NotZero(t, trsm(), "operands at %#x", arrays)
		}
	}
	require.Equal(t, secret, serverSecret, "the server's memory is untouched")
	require.Equal(t, shim.OK, c.put(arrA, u64s(mat)))
	require.Equal(t, shim.OK, c.put(arrB, u64s(mat)))
	require.Zero(t, trsm(), "the client's own operands are solved")
	c.close()
	s.recovered(t, base)
}

// The default stream is every client's: a capture one client began cannot take it over.
// Were it joined (by waiting on an event recorded in the capture), every other client's
// work on it would be recorded into that client's graph instead of running.
func TestACaptureCannotTakeOverTheSharedDefaultStream(t *testing.T) {
	s := startServer(t, Options{})
	base := s.baseline(t)
	a, b := s.dial(t), s.dial(t)
	stream := a.create("cudaStreamCreate")
	event := a.create("cudaEventCreate")
	r, _ := a.call("cudaStreamBeginCapture", wire.Value{U: stream}, wire.Value{U: 0})
	require.Zero(t, r)
	r, _ = a.call("cudaEventRecord", wire.Value{U: event}, wire.Value{U: stream})
	require.Zero(t, r)
	for _, def := range []uint64{0, 1} {
		r, _ = a.call("cudaStreamWaitEvent", wire.Value{U: def}, wire.Value{U: event}, wire.Value{U: 0})
		require.NotZero(t, r, "the default stream %d joined a client's capture", def)
	}
	// cudaStreamPerThread (2) is the client's own, as a thread's is in CUDA: it may join the
	// client's capture, and another client's per-thread stream is not in it.
	r, _ = a.call("cudaStreamWaitEvent", wire.Value{U: 2}, wire.Value{U: event}, wire.Value{U: 0})
	require.Zero(t, r, "a client's per-thread stream joins its own capture")
	// The other client's work on the default streams runs, whatever the first one does.
	p := b.malloc(4096)
	r, _ = b.call("cudaMemset", wire.Value{U: p}, wire.Value{U: 7}, wire.Value{U: 4096})
	require.Zero(t, r)
	st, got := b.get(p, 4096)
	require.Equal(t, shim.OK, st)
	require.True(t, bytes.Equal(bytes.Repeat([]byte{7}, 4096), got), "the memset did not run")
	r, _ = b.call("cudaMemsetAsync", wire.Value{U: p}, wire.Value{U: 9}, wire.Value{U: 4096}, wire.Value{U: 2})
	require.Zero(t, r)
	r, _ = b.call("cudaStreamSynchronize", wire.Value{U: 2})
	require.Zero(t, r, "another client's per-thread stream is not in the capture")
	st, got = b.get(p, 4096)
	require.Equal(t, shim.OK, st)
	require.True(t, bytes.Equal(bytes.Repeat([]byte{9}, 4096), got), "the memset on another client's per-thread stream did not run")
	r, _ = b.call("cudaStreamSynchronize", wire.Value{U: 0})
	require.Zero(t, r)
	a.close()
	b.close()
	s.recovered(t, base)
}

// serverPointers is server memory that holds a client's device addresses, as a pointer
// array would: a batched GEMM given its address must not follow it.
var serverPointers [1]uint64

// A batched GEMM recorded in a graph reads its operands' addresses from device memory when
// the graph runs, not when it was recorded: those arrays are checked then, so a capture
// (which records placeholder pointers unchecked) cannot make a replay read server memory.
func TestCapturedBatchedOperandArraysAreCheckedAtReplay(t *testing.T) {
	s := startServer(t, Options{})
	base := s.baseline(t)
	c := s.dial(t)
	h := c.create("cublasCreate_v2")
	stream := c.create("cudaStreamCreate")
	r, _ := c.call("cublasSetStream_v2", wire.Value{U: h}, wire.Value{U: stream})
	require.Zero(t, r)
	mat := c.malloc(16)
	require.Equal(t, shim.OK, c.put(mat, f32s(1, 0, 0, 1)))
	serverPointers[0] = mat // the client's own matrix, but read from the server's memory
	for _, array := range []uint64{uint64(uintptr(unsafe.Pointer(&serverPointers[0]))), 0x10} {
		r, _ = c.call("cudaStreamBeginCapture", wire.Value{U: stream}, wire.Value{U: 0})
		require.Zero(t, r)
		r, _ = c.call("cublasSgemmBatched", wire.Value{U: h}, wire.Value{}, wire.Value{}, wire.Value{U: 2}, wire.Value{U: 2}, wire.Value{U: 2},
			wire.Value{U: 1, B: f32s(1)}, wire.Value{U: array}, wire.Value{U: 2}, wire.Value{U: array}, wire.Value{U: 2},
			wire.Value{U: 1, B: f32s(0)}, wire.Value{U: array}, wire.Value{U: 2}, wire.Value{U: 1})
		require.Zero(t, r, "recorded")
		r, outs := c.call("cudaStreamEndCapture", wire.Value{U: stream}, wire.Value{U: 1, B: make([]byte, 8)}) // [inout]: the graph, NULL on failure
		require.Zero(t, r)
		r, outs = c.call("cudaGraphInstantiate", wire.Value{U: 1}, wire.Value{U: binary.LittleEndian.Uint64(outs[1])}, wire.Value{U: 0})
		require.Zero(t, r)
		r, _ = c.call("cudaGraphLaunch", wire.Value{U: binary.LittleEndian.Uint64(outs[0])}, wire.Value{U: stream})
		require.NotZero(t, r, "a replay followed operand arrays at %#x", array)
	}
	require.Equal(t, shim.OK, c.put(mat, f32s(2, 0, 0, 2)), "the session goes on")
	c.close()
	s.recovered(t, base)
}

// cudaDeviceSetLimit sets the caller's limit, as it sets its own context's under NVIDIA's
// driver: another client neither sees the value nor has its own changed.
func TestDeviceLimitsArePerClient(t *testing.T) {
	s := startServer(t, Options{})
	a, b := s.dial(t), s.dial(t)
	limit := func(c *testClient) uint64 {
		r, outs := c.call("cudaDeviceGetLimit", wire.Value{U: 1}, wire.Value{U: 0}) // cudaLimitStackSize
		require.Zero(t, r)
		return binary.LittleEndian.Uint64(outs[0])
	}
	before := limit(b)
	r, _ := a.call("cudaDeviceSetLimit", wire.Value{U: 0}, wire.Value{U: before + 4096})
	require.Zero(t, r)
	require.Equal(t, before+4096, limit(a), "the client that set it sees its value")
	require.Equal(t, before, limit(b), "another client's limit changed")
}
