// Package remote is the client side of VGPU_BACKEND=remote: the calls a program makes are
// carried to `vgpu serve` with the table-driven codec of package wire, and answered there.
// This first version makes one synchronous round trip per call; pipelining comes next.
package remote

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"vgpu/cuda"
	"vgpu/shim"
	"vgpu/shim/api"
	"vgpu/wire"
)

// CallTimeout bounds every call: a server that went away fails the call, never hangs it.
const CallTimeout = 5 * time.Second

var (
	mode atomic.Int32 // 0 unknown, 1 local, 2 remote
	mu   sync.Mutex
	conn wire.Conn
	seq  uint32
	dead error // set once the connection failed: every later call fails fast
)

// On reports whether calls go to a server (VGPU_BACKEND=remote).
func On() bool {
	switch mode.Load() {
	case 1:
		return false
	case 2:
		return true
	}
	on := shim.S().Config.Backend == "remote"
	if on {
		cuda.ClientCode.Store(true) // this client's modules, libraries and kernels are its own records
		shim.AskKernel = askKernel
		mode.Store(2)
	} else {
		mode.Store(1)
	}
	return on
}

// Hello is the client's first frame.
// hello is this process's greeting.
func hello(token string) []byte {
	h := Hello{Version: wire.Version, Token: token, PID: os.Getpid()}
	if v, ok := os.LookupEnv("CUDA_VISIBLE_DEVICES"); ok {
		h.Visible = &v
	}
	b, _ := json.Marshal(h)
	return b
}

func init() { shim.RemoteDevices = connect }

// connect dials the server named in the config and returns its devices; the shim builds
// the local mirror of the device model from them.
func connect(c *shim.Config) ([]shim.DeviceRecord, error) {
	mu.Lock()
	defer mu.Unlock()
	network, addr, err := ParseAddr(c.Server)
	if err != nil {
		return nil, err
	}
	nc, err := dial(network, addr, Secure{CA: c.ServerCA, Fingerprint: c.ServerPin})
	if err != nil {
		return nil, fmt.Errorf("vgpu server %s: %w", c.Server, err)
	}
	return handshakeLocked(nc, network, c)
}

// handshakeLocked says hello on a fresh connection and takes the server's devices; mu is held.
func handshakeLocked(nc wire.Conn, network string, c *shim.Config) ([]shim.DeviceRecord, error) {
	w, err := greet(nc, c.Token)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("vgpu server %s: %w", c.Server, err)
	}
	conn = nc
	shm.network = network
	if network == "unix" || os.Getenv("VGPU_SHM_FILE") != "" { // pinned allocations may be shared: a memfd, or the shared file's heap
		shim.SetSharedHost(sharedHost{})
	}
	if network == "unix" {
		if err := attachRingsLocked(); err != nil {
			return nil, fmt.Errorf("vgpu server %s: %w", c.Server, err)
		}
	}
	flusherOnce.Do(func() { // only a process that talks to a server needs one
		flushDelay = envMicros("VGPU_FLUSH_US", flushDelay)
		batchAge = envMicros("VGPU_BATCH_US", batchAge)
		go flusher()
	})
	c.DriverVersion, c.CUDAVersion = w.DriverVersion, w.CUDAVersion
	return w.Devices, nil
}

// greet says hello and reads the server's welcome.
func greet(nc wire.Conn, token string) (Welcome, error) {
	var w Welcome
	if err := wire.WriteFrame(nc, wire.Header{Kind: wire.KindHello}, hello(token)); err != nil {
		return w, err
	}
	_, payload, err := wire.ReadFrame(nc)
	if err != nil {
		return w, fmt.Errorf("handshake: %w (a server of another vgpu version closes the connection)", err)
	}
	if err := json.Unmarshal(payload, &w); err != nil || !w.OK {
		return w, fmt.Errorf("refused: %s", w.Error)
	}
	return w, nil
}

// Secure is how a client checks a server across hosts: the CA its certificate must chain to
// (VGPU_SERVER_CA, a PEM file; the server's own certificate will do), its certificate's
// fingerprint (VGPU_SERVER_FINGERPRINT, sha256:HEX as `vgpu serve` prints it), or both.
// Either one makes a tcp:// connection TLS 1.3.
type Secure struct{ CA, Fingerprint string }

func (s Secure) on() bool { return s.CA != "" || s.Fingerprint != "" }

// errCleartext refuses plain TCP off this host: the token would cross the network readable.
const errCleartext = "refusing to send the token in clear to %s, which is not loopback: " +
	"set VGPU_SERVER_FINGERPRINT=sha256:... (printed by `vgpu serve` at start) or VGPU_SERVER_CA=/path/ca.pem, " +
	"and start the server with --tls-dir DIR or --tls-cert/--tls-key"

// dial connects and hands the socket to blocking system calls (see wire.FDConn). tcp:// is
// TLS when sec says how to check the server, and may be plain only when the peer it reached
// is this host's loopback (the address connected to decides, not the name given).
func dial(network, addr string, sec Secure) (wire.Conn, error) {
	if network == "vsock" {
		c, err := wire.DialVsock(addr, CallTimeout)
		if err == nil {
			c.SetSpin(wire.SpinWait())
		}
		if err != nil || !sec.on() {
			return c, err // a VM and its host: plain unless asked (see README)
		}
		return secure(c, "", sec)
	}
	var cfg *tls.Config
	if network == "tcp" && sec.on() {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if cfg, err = clientTLS(host, sec); err != nil {
			return nil, err
		}
	}
	nc, err := net.DialTimeout(network, addr, CallTimeout)
	if err != nil {
		return nil, err
	}
	if network == "tcp" && cfg == nil {
		if a, ok := nc.RemoteAddr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
			nc.Close() // before a byte is written
			return nil, fmt.Errorf(errCleartext, nc.RemoteAddr())
		}
	}
	c, err := wire.FromConn(nc, CallTimeout)
	if err == nil {
		c.SetSpin(wire.SpinWait())
	}
	if err != nil || cfg == nil {
		return c, err
	}
	tc, err := wire.TLSClient(c, cfg, time.Now().Add(CallTimeout))
	if err != nil {
		return nil, fmt.Errorf("TLS: %w", err)
	}
	return tc, nil
}

// secure runs TLS over a vsock connection: a pin only, since a CID names no certificate.
func secure(c wire.Conn, host string, sec Secure) (wire.Conn, error) {
	if sec.CA != "" {
		c.Close()
		return nil, fmt.Errorf("VGPU_SERVER_CA cannot name a vsock server; pin it with VGPU_SERVER_FINGERPRINT")
	}
	cfg, err := clientTLS(host, sec)
	if err != nil {
		c.Close()
		return nil, err
	}
	tc, err := wire.TLSClient(c, cfg, time.Now().Add(CallTimeout))
	if err != nil {
		return nil, fmt.Errorf("TLS: %w", err)
	}
	return tc, nil
}

// clientTLS checks the server's certificate against the CA (with host as the name it must
// carry) and the pinned fingerprint, whichever are set.
func clientTLS(host string, sec Secure) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, ServerName: host}
	if sec.CA != "" {
		pem, err := os.ReadFile(sec.CA)
		if err != nil {
			return nil, fmt.Errorf("VGPU_SERVER_CA: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("VGPU_SERVER_CA %s: no PEM certificate in it", sec.CA)
		}
	} else {
		cfg.InsecureSkipVerify = true // no CA: the pin below is the whole check
	}
	if sec.Fingerprint != "" {
		want, err := wire.ParseFingerprint(sec.Fingerprint)
		if err != nil {
			return nil, fmt.Errorf("VGPU_SERVER_FINGERPRINT: %w", err)
		}
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return fmt.Errorf("the server sent no certificate")
			}
			if got := wire.Fingerprint(cs.PeerCertificates[0].Raw); got != want {
				return fmt.Errorf("server certificate %s does not match VGPU_SERVER_FINGERPRINT %s", got, want)
			}
			return nil
		}
	}
	return cfg, nil
}

// ParseAddr splits unix:///path, tcp://host:port and vsock://cid:port.
func ParseAddr(s string) (network, addr string, err error) {
	switch {
	case strings.HasPrefix(s, "unix://"):
		return "unix", strings.TrimPrefix(s, "unix://"), nil
	case strings.HasPrefix(s, "tcp://"):
		return "tcp", strings.TrimPrefix(s, "tcp://"), nil
	case strings.HasPrefix(s, "vsock://"):
		addr := strings.TrimPrefix(s, "vsock://")
		if _, _, err := wire.ParseVsock(addr); err != nil {
			return "", "", err
		}
		return "vsock", addr, nil
	}
	return "", "", fmt.Errorf("server address %q: want unix:///path, tcp://host:port or vsock://cid:port", s)
}

// unavailable is each library's "the device is gone" code.
func unavailable(lib string) uint64 {
	switch lib {
	case "cublas":
		return 14 // CUBLAS_STATUS_INTERNAL_ERROR
	case "nvml":
		return 15 // NVML_ERROR_GPU_IS_LOST
	}
	return 46 // CUDA_ERROR_DEVICE_UNAVAILABLE / cudaErrorDevicesUnavailable
}

// queueLocked adds one frame, its payload in parts, to the batch; a large one is written at
// once from where its parts lie, after what was queued before it. mu is held.
func queueLocked(h wire.Header, parts ...[]byte) error {
	_, err := queueAtLocked(h, parts...)
	return err
}

// queueAtLocked is queueLocked that also says when it queued the frame (0: it was written
// at once), so that a post reads the clock once.
func queueAtLocked(h wire.Header, parts ...[]byte) (int64, error) {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	if n > wire.MaxPayload {
		return 0, wire.ErrTooLarge
	}
	if n >= batchBytes {
		if err := flushLocked(); err != nil {
			return 0, err
		}
		return 0, conn.Writev(append([][]byte{wire.AppendHeader(nil, h, n)}, parts...)...)
	}
	// The batch leaves once the program pauses for flushDelay, so the GPU starts; while it
	// keeps posting, batches grow for up to batchAge, and the socket and server wake less
	// often. A burst of posts that ends in a request (a decode step's launches, then its
	// download) then leaves in that request's write: split in two, with the server woken by the
	// first half while the client still posted, the step cost twice as much over TCP on a
	// machine of two cores.
	now := sinceEpoch()
	if len(batch) == 0 {
		batchFirst = now
	}
	batchDue.Store(min(now+int64(flushDelay), batchFirst+int64(batchAge)))
	batch = wire.AppendHeader(batch, h, n)
	for _, p := range parts {
		batch = append(batch, p...)
	}
	return now, nil
}

// roundTrip sends one request frame (its payload in parts) and waits for its response.
func roundTrip(op uint32, parts ...[]byte) ([]byte, error) {
	mu.Lock()
	defer mu.Unlock()
	if err := requestLocked(op, parts...); err != nil {
		return nil, err
	}
	resp, err := readResponseLocked()
	if err != nil {
		return nil, lostLocked(err)
	}
	if fullSyncOps[op] { // the server reported what the posts before it ran into, and waited for them
		postsSinceSync = 0
	}
	return resp, nil
}

// requestLocked sends the next request, or says why it cannot; mu is held.
func requestLocked(op uint32, parts ...[]byte) error {
	if dead != nil {
		return dead
	}
	if conn == nil {
		return fmt.Errorf("not connected")
	}
	if err := sendKeptPushesLocked(op); err != nil {
		return err
	}
	seq++
	countWireLocked(op, false)
	if err := wireRequestLocked(op, parts...); err != nil {
		return lostLocked(err)
	}
	awaiting.Store(sinceEpoch())
	return nil
}

// wireRequestLocked sends request seq in the same write as the posts queued before it.
func wireRequestLocked(op uint32, parts ...[]byte) error {
	if err := queueLocked(wire.Header{Kind: wire.KindRequest, Op: op, Seq: seq}, parts...); err != nil {
		return err
	}
	return flushLocked()
}

// readResponseLocked reads the response to request seq.
func readResponseLocked() ([]byte, error) {
	h, resp, err := wire.ReadFrame(conn)
	for err == nil && h.Kind == wire.KindBusy { // the call is still running there: each frame restarts the timeout
		h, resp, err = wire.ReadFrame(conn)
	}
	if err != nil {
		return nil, err
	}
	if err := answersLocked(h, 0); err != nil {
		return nil, err
	}
	return resp, nil
}

// answersLocked checks that h answers the request just sent; a drained response clears what
// the next synchronisation of scope (drainOf) would wait for. mu is held.
func answersLocked(h wire.Header, scope uint64) error {
	if h.Seq != seq || h.Kind != wire.KindResponse && h.Kind != wire.KindDrained {
		return fmt.Errorf("out-of-order response")
	}
	if h.Kind == wire.KindDrained {
		drainedLocked(scope)
	}
	return nil
}

var errStalled = fmt.Errorf("the server stopped taking shared-memory uploads")

// roundTripShm is a round trip whose answer lies in shared memory: onOK reads it while mu
// still keeps every other request out of the download area.
func roundTripShm(scope uint64, op uint32, req []byte, onOK func()) (shim.Status, error) {
	mu.Lock()
	defer mu.Unlock()
	if err := requestLocked(op, req); err != nil {
		return 0, err
	}
	h, resp, err := wire.ReadFrame(conn)
	for err == nil && h.Kind == wire.KindBusy {
		h, resp, err = wire.ReadFrame(conn)
	}
	if err == nil {
		err = answersLocked(h, scope)
	}
	if err != nil {
		return 0, lostLocked(err)
	}
	if st := status(resp); st != shim.OK {
		return st, nil
	}
	onOK()
	return shim.OK, nil
}

// roundTripInto is roundTrip for a response of one status byte and then bytes that go
// straight into dst (a download: no buffer between the socket and the caller's memory).
func roundTripInto(scope uint64, op uint32, dst []byte, parts ...[]byte) (shim.Status, error) {
	mu.Lock()
	defer mu.Unlock()
	if err := requestLocked(op, parts...); err != nil {
		return 0, err
	}
	h, err := wire.ReadHeader(conn)
	for err == nil && h.Kind == wire.KindBusy {
		h, err = wire.ReadHeader(conn)
	}
	if err != nil {
		return 0, lostLocked(err)
	}
	if err := answersLocked(h, scope); err != nil || h.Len < 1 {
		return 0, lostLocked(fmt.Errorf("out-of-order response"))
	}
	var st [1]byte
	if _, err := io.ReadFull(conn, st[:]); err != nil {
		return 0, lostLocked(err)
	}
	rest := int(h.Len) - 1
	if rest != len(dst) { // an error, or a short answer: read it away
		if _, err := io.CopyN(io.Discard, conn, int64(rest)); err != nil {
			return 0, lostLocked(err)
		}
		if shim.Status(st[0]) == shim.OK {
			return shim.ErrInvalidValue, nil
		}
		return shim.Status(st[0]), nil
	}
	if _, err := io.ReadFull(conn, dst); err != nil {
		return 0, lostLocked(err)
	}
	return shim.Status(st[0]), nil
}

// post sends a request that gets no response: asynchronous calls are pipelined, and an
// error they meet surfaces at the next synchronising call, as CUDA's asynchronous errors do.
// Its work may be on any stream: every stream's next synchronisation asks the server.
func post(op uint32, parts ...[]byte) error { return postOn(anyStream, op, parts...) }

// postOn is post of work on one stream (the server's handle): only that stream's next
// synchronisation, and a wait for all work, ask the server about it.
func postOn(stream uint64, op uint32, parts ...[]byte) error {
	mu.Lock()
	defer mu.Unlock()
	if dead != nil {
		return dead
	}
	if conn == nil {
		return fmt.Errorf("not connected")
	}
	if err := postLocked(stream, op, parts...); err != nil {
		return lostLocked(err)
	}
	return nil
}

// postLocked queues post seq, of work on stream, and sees it on its way: the batch leaves now
// when it is full or due, and otherwise the flusher sends it when it falls due. mu is held.
func postLocked(stream uint64, op uint32, parts ...[]byte) error {
	if err := sendKeptPushesLocked(op); err != nil {
		return err
	}
	awaiting.Store(0)
	seq++
	countWireLocked(op, true)
	if op != OpPut && op != OpPut2D && op != OpPutShm {
		postedLocked(stream)
	}
	now, err := queueAtLocked(wire.Header{Kind: wire.KindPost, Op: op, Seq: seq}, parts...)
	if err != nil {
		return err
	}
	if len(batch) >= batchBytes || len(batch) > 0 && now >= batchDue.Load() {
		return flushLocked()
	}
	if rc, ok := conn.(*wire.RingConn); ok && rc.PeerWaiting() {
		// The server has caught up and spins on the ring: the post reaches it with no
		// system call, and the GPU starts now instead of when the batch falls due. (While
		// it is still busy, posts gather as on a socket: the next post that finds it
		// waiting, a request, or the flusher sends them.)
		return flushLocked()
	}
	if len(batch) > 0 && !flusherAwake.Load() {
		flusherAwake.Store(true)
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// Posts are batched: they leave with the next request, when batchBytes have queued, or when
// the batch falls due (flushDelay after its first post when the connection was quiet,
// batchAge while posts keep coming), whichever comes first. A launch loop then costs one
// write per batch instead of one per launch, and the GPU starts on a burst of launches
// flushDelay after its first, not when the program next waits.
const batchBytes = 256 << 10

// Tunable for measurements (VGPU_FLUSH_US, VGPU_BATCH_US).
var (
	flushDelay = 20 * time.Microsecond
	batchAge   = 100 * time.Microsecond
)

// How long the flusher stays awake after the last batch it saw: waking it costs the posting
// thread more than a batch's worth of posts, so it is woken once per burst. (A variable for tests.)
var flusherLinger = 2 * time.Millisecond

var (
	batch []byte // frames not yet written; guarded by mu
	// When the batch must leave, in nanoseconds since epoch; 0 when nothing is queued.
	batchDue     atomic.Int64
	batchFirst   int64 // when the batch's first frame was queued; guarded by mu
	epoch        = time.Now()
	kick         = make(chan struct{}, 1)
	flusherAwake atomic.Bool
	// When the last request was sent (ns since epoch), until the next post; 0 meanwhile. A
	// thread awaiting a response holds mu, so nothing can be flushed until it has its answer.
	awaiting atomic.Int64

	flusherOnce sync.Once
)

func sinceEpoch() int64 { return int64(time.Since(epoch)) + 1 }

func envMicros(key string, def time.Duration) time.Duration {
	if v, err := strconv.Atoi(os.Getenv(key)); err == nil && v > 0 {
		return time.Duration(v) * time.Microsecond
	}
	return def
}

// flusher writes a batch that no request or later post took along. It sleeps in the kernel
// on a thread of its own with a fine timer slack: Go's timers round a sleep this short up
// to a millisecond when the process is otherwise idle, which held every lone launch back by
// that much, and spinning instead takes a core from the program.
func flusher() {
	runtime.LockOSThread() // for good: the slack is the thread's
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1000, 0, 0, 0)
	nap := func(d time.Duration) {
		ts := unix.NsecToTimespec(int64(d))
		_ = unix.Nanosleep(&ts, nil)
	}
	for range kick {
		lastSeen := sinceEpoch()
		for {
			due, now := batchDue.Load(), sinceEpoch()
			if due == 0 {
				// Lingering costs a wake-up every flushDelay. While the program waits for a
				// response (mu held: nothing could be flushed) those wake-ups only take the CPU
				// from the client and the server: on a machine of two cores, a 600 KB download
				// over TCP took twice as long with them. After flushDelay of waiting the flusher
				// sleeps, and the next post wakes it.
				waited := awaiting.Load()
				if (waited == 0 || time.Duration(now-waited) < flushDelay) && time.Duration(now-lastSeen) < flusherLinger {
					nap(flushDelay)
					continue
				}
				flusherAwake.Store(false)
				if batchDue.Load() == 0 { // else a post queued before it saw the flag drop
					break
				}
				flusherAwake.Store(true)
				continue
			}
			lastSeen = now
			if wait := time.Duration(due - now); wait > 0 {
				// At most a millisecond: a batch falls due within batchAge, and a test that
				// set an hour's delay must not leave the flusher asleep for the tests after it.
				nap(min(wait, time.Millisecond))
				continue
			}
			mu.Lock()
			if dead == nil && conn != nil && len(batch) > 0 {
				if err := flushLocked(); err != nil {
					lostLocked(err)
				}
			}
			batchDue.Store(0) // also when the connection is gone: nothing will send it now
			mu.Unlock()
		}
	}
}

// lostLocked marks the connection dead after err: every later call fails at once. mu is held.
func lostLocked(err error) error {
	dead = fmt.Errorf("vgpu server connection lost: %w", err)
	connLost.Store(true) // the client's own answers (remote/ctxcache.go) stop too
	shim.WarnOnce("remote-lost", "vgpu server connection lost; every call now fails", "err", err)
	conn.Close()
	return dead
}

// flushLocked writes the queued frames; mu is held.
func flushLocked() error {
	if len(batch) == 0 {
		return nil
	}
	batchDue.Store(0)
	_, err := conn.Write(batch)
	if cap(batch) > 4*batchBytes { // a large request went through: do not keep its buffer
		batch = nil
	} else {
		batch = batch[:0]
	}
	return err
}

// pipelined reports whether f is asynchronous and returns nothing but its status.
func pipelined(f *api.Func) bool {
	async := false
	for _, fl := range f.Flags {
		async = async || fl == "async"
	}
	if !async {
		return false
	}
	for _, a := range f.Args {
		if wire.Returns(a) {
			return false
		}
	}
	return true
}

// Forward carries call idx of api.Functions: inputs are read from the caller's memory,
// outputs written back into it.
func Forward(idx int, vals []wire.Value) uint64 {
	f := &api.Functions[idx]
	translatePerThread(f, vals)
	if before := beforeCall[f.Op]; before != nil {
		if r, handled := before(f, vals); handled {
			return r
		}
	}
	return forwardCall(f, vals)
}

// forwardCall is Forward past the client-side hooks: a hook that answers part of a call
// itself (remote/memmisc.go) sends the rest with it.
func forwardCall(f *api.Func, vals []wire.Value) uint64 {
	// Inputs with a fixed size first, so sizes that name a count can be computed.
	for pass := 0; pass < 2; pass++ {
		for i, a := range f.Args {
			k := wire.Kind(a)
			if vals[i].U == 0 || (k != wire.InBuf && k != wire.CStr) || vals[i].B != nil {
				continue
			}
			if k == wire.CStr {
				s, _ := shim.GoString(unsafe.Pointer(uintptr(vals[i].U)), wire.MaxString)
				vals[i].B = []byte(s)
				continue
			}
			n, err := wire.BufSize(f, a, vals)
			if err != nil {
				if pass == 1 {
					return unavailable(f.Lib)
				}
				continue
			}
			vals[i].B = append([]byte(nil), shim.View(unsafe.Pointer(uintptr(vals[i].U)), n)...)
		}
	}
	for i, a := range f.Args {
		if wire.Kind(a) == wire.HostScalar && vals[i].U != 0 && hostScalars(vals[0].U) {
			vals[i].B = append([]byte(nil), shim.View(unsafe.Pointer(uintptr(vals[i].U)), wire.ScalarSize(f, a, vals))...)
		}
	}
	req, err := wire.EncodeRequest(f, vals)
	if err != nil {
		shim.WarnOnce("remote-encode:"+f.Name, "cannot carry call", "function", f.Name, "err", err)
		return unavailable(f.Lib)
	}
	if pipelined(f) {
		if check := beforePost[f.Op]; check != nil {
			if r := check(f, vals); r != 0 {
				return r
			}
		}
		if postOn(streamOf(f, vals), uint32(f.Op), req) != nil {
			return unavailable(f.Lib)
		}
		return 0
	}
	resp, err := roundTrip(uint32(f.Op), req)
	if err != nil {
		return unavailable(f.Lib)
	}
	res, outs, err := wire.DecodeResponse(f, resp)
	if err != nil {
		return unavailable(f.Lib)
	}
	for i, a := range f.Args {
		// A failing call leaves its outputs as they were, as in process; an [inout] argument
		// still comes back (a count that says how much room was needed).
		if wire.Returns(a) && vals[i].U != 0 && len(outs[i]) > 0 && (res == 0 || a.Dir == "inout") {
			copy(shim.View(unsafe.Pointer(uintptr(vals[i].U)), len(outs[i])), outs[i])
		}
	}
	if after := afterCall[f.Op]; after != nil && res == 0 {
		after(vals)
	}
	if after := afterResult[f.Op]; after != nil {
		after(res)
	}
	return res
}

// Unsupported answers a call the remote backend does not carry yet.
func Unsupported(name string, code int32) int32 {
	shim.WarnOnce("remote-unsupported:"+name, "not carried by the remote backend yet", "function", name)
	return code
}
