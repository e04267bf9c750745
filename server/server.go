// Package server is `vgpu serve`: it answers remote clients' calls with the same semantics
// packages a program's own process would run, over the server's backend. Each client's
// calls run on one locked OS thread, so CUDA's per-thread state is per client, and
// everything a client allocated is freed when it disconnects, dies, or its session meets a
// fault. Until a client has authenticated it costs a parked goroutine and no thread.
package server

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"vgpu/cublas"
	"vgpu/cudart"
	"vgpu/shim"
	"vgpu/shim/api"
	"vgpu/wire"
)

// Options shape a server.
type Options struct {
	Token        string // required from clients when set
	RequireToken bool   // TCP listeners refuse clients without the token
	ClientMemory uint64 // device memory each client may hold (0: the device's); the client sees it as the total
	DeviceName   string // the name clients see, instead of the device's own
	// Upgrade, when set, secures a connection before anything is read from it (TLS across
	// hosts); it must finish by deadline. It is given a *wire.PollConn (a net.Conn whose
	// deadlines work), and runs on a plain goroutine, not a client's thread.
	Upgrade func(c wire.Conn, deadline time.Time) (wire.Conn, error)
	// MaxPending bounds the connections not yet authenticated (0: DefaultMaxPending) and
	// MaxConns all connections (0: DefaultMaxConns). One past either is closed at once.
	MaxPending, MaxConns int
	// Worker, when set, is the command line of a worker process: each authenticated client is
	// answered by one of its own (worker.go), so that a fault in NVIDIA's driver or a kernel's
	// sticky error ends that client alone. Nil: every client on a thread of this process.
	Worker []string
	// WarmWorkers is how many workers wait started and initialised ahead of clients, so that
	// a client does not wait for a worker's start (its driver and CUDA context).
	WarmWorkers int
	// ShmFiles are the shared files clients may use as their window, by the name a client
	// gives (shmfile.go): memory this host shares with a VM guest (ivshmem). A client never names a path.
	ShmFiles map[string]string
}

// Connection limits when Options leave them 0: enough for every legitimate client of one
// GPU, few enough that strangers cannot exhaust the server's threads, memory or descriptors.
const (
	DefaultMaxPending = 256
	DefaultMaxConns   = 1024
)

var clients atomic.Uint64

// handshakeTimeout bounds everything before a client is authenticated: the secure
// handshake, the hello and the welcome. A variable for tests.
var handshakeTimeout = 5 * time.Second

// Listener is where clients arrive: a vsock listener (wire.VsockListener), or a unix or TCP
// one through NetListener.
type Listener interface {
	Accept() (c wire.Conn, peer string, err error)
}

// NetListener adapts a net.Listener, handing each client's socket to blocking system calls.
func NetListener(ln net.Listener) Listener { return netListener{ln} }

type netListener struct{ net.Listener }

func (l netListener) Accept() (wire.Conn, string, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, "", err
		}
		peer := nc.RemoteAddr().String()
		if c, err := wire.FromConn(nc, 0); err == nil { // else that client is dropped
			return c, peer, nil
		}
	}
}

// Serve answers clients on ln until it is closed. A connection costs a goroutine parked in
// the network poller until its client has authenticated, within handshakeTimeout; then the
// client gets an OS thread of its own: the runtime's per-thread state (current device, last
// error, context stack) belongs to that client alone, and the thread blocks in the kernel on
// the client's socket instead of going through the network poller.
func Serve(ln Listener, o Options) error {
	if err := prepare(o); err != nil {
		return err
	}
	byOp := opTable()
	g := newGate(o.MaxPending, o.MaxConns)
	var pool *workers
	if o.Worker != nil {
		pool = newWorkers(o.Worker, o.WarmWorkers)
		defer pool.close()
	}
	for {
		c, peer, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || errors.Is(err, unix.EBADF) || errors.Is(err, unix.EINVAL) {
				return nil
			}
			if transientAccept(err) { // out of descriptors or memory for now: clients leave, and it passes
				refusals.log("cannot accept a connection now; retrying", "err", err)
				time.Sleep(50 * time.Millisecond)
				continue
			}
			return err
		}
		a, why := g.enter()
		if why != "" {
			c.Close()
			refusals.log("refused: "+why, "peer", peer)
			continue
		}
		go func() {
			defer g.leave()
			s := guardedHandshake(c, peer, o, time.Now().Add(handshakeTimeout), a)
			g.authenticated(a)
			switch {
			case s != nil && pool != nil:
				s.runWorker(pool)
			case s != nil:
				s.serve(byOp)
			}
		}()
	}
}

// transientAccept reports whether accept failed for want of a resource that comes back.
func transientAccept(err error) bool {
	for _, e := range []error{unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM, unix.ECONNABORTED, unix.EAGAIN, unix.EINTR, unix.EPROTO} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// prepare checks the device model and applies the options every client sees.
func prepare(o Options) error {
	s := shim.S()
	if s.Err != nil {
		return s.Err
	}
	if o.DeviceName != "" { // every API of every client reads the name from the device
		for _, d := range s.Visible {
			d.Name = o.DeviceName
		}
	}
	return nil
}

func opTable() map[uint32]*api.Func {
	byOp := map[uint32]*api.Func{}
	for i := range api.Functions {
		byOp[uint32(api.Functions[i].Op)] = &api.Functions[i]
	}
	return byOp
}

// ServeOne answers the one client on c (an inherited socket: VGPU_BACKEND=local's private
// server) and returns when it goes. Its peer is the process that started this server, so
// its handshake has no deadline.
func ServeOne(c wire.Conn, o Options) error {
	if err := prepare(o); err != nil {
		return err
	}
	if s := guardedHandshake(c, "parent", o, time.Time{}, nil); s != nil {
		s.serve(opTable())
	}
	return nil
}

// session is an authenticated client.
type session struct {
	c     wire.Conn // its stream
	close func()    // closes every descriptor the connection holds, once
	id    uint64
	pid   int
	view  []*shim.Device // its CUDA_VISIBLE_DEVICES among this server's devices; nil: all
	hello []byte         // its hello, token removed, for a worker process (Options.Worker)
	o     Options
	log   *shim.Logger
}

// guardedHandshake is handshake; a panic in it (a bug meeting a stranger's bytes) drops that
// connection only.
func guardedHandshake(c wire.Conn, peer string, o Options, deadline time.Time, a *admission) (s *session) {
	defer func() {
		if r := recover(); r != nil {
			shim.Log().Errorw("fault while admitting a connection; it is closed", "peer", peer, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			c.Close()
			s = nil
		}
	}()
	return handshake(c, peer, o, deadline, a)
}

// handshake admits a client, on the goroutine that accepted it (no OS thread of its own):
// the secure handshake, a hello of at most wire.MaxHello bytes, the token and the welcome,
// all by deadline (zero: none), or at once when the gate evicts it (a). It returns nil, the
// connection closed, if the client is not admitted.
func handshake(c wire.Conn, peer string, o Options, deadline time.Time, a *admission) *session {
	conn, closeAll := c, func() { c.Close() }
	pc, polled := (*wire.PollConn)(nil), false
	if fc, ok := c.(*wire.FDConn); ok {
		p, err := wire.Poll(fc)
		if err != nil {
			refusals.log("refused: cannot wait for the connection", "peer", peer, "err", err)
			c.Close()
			return nil
		}
		pc, polled, conn = p, true, p
		closeAll = func() { p.Close() } // closes both descriptors, once
	} else {
		oc := &onceConn{Conn: c}
		conn, closeAll = oc, func() { oc.Close() }
	}
	setDeadline := func() {
		if pc != nil {
			a.deadline(pc, deadline) // the zero time: none
		}
	}
	setDeadline()
	refuse := func(msg string, kv ...any) *session {
		refusals.log("refused: "+msg, append([]any{"peer", peer}, kv...)...)
		closeAll()
		return nil
	}
	if o.Upgrade != nil {
		upgraded, err := o.Upgrade(conn, deadlineOr(deadline))
		if err != nil {
			return refuse("secure handshake failed", "err", err)
		}
		under := closeAll
		conn, closeAll = upgraded, func() { upgraded.Close(); under() }
		setDeadline() // the hello is bounded too, whatever the upgrade left set
	}
	h, payload, err := wire.ReadFrameLimit(conn, wire.MaxHello)
	if err != nil || h.Kind != wire.KindHello {
		return refuse("no valid hello", "err", err, "kind", h.Kind)
	}
	var hello wire.Hello
	welcome := wire.Welcome{OK: true}
	if err := json.Unmarshal(payload, &hello); err != nil {
		welcome = wire.Welcome{Error: "malformed hello"}
	} else if (o.RequireToken || o.Token != "") && !sameToken(hello.Token, o.Token) {
		welcome = wire.Welcome{Error: "wrong or missing token"}
	}
	// Trusted from here on: no deadline, and the socket goes back to blocking calls on the
	// client's own thread (under TLS too, unless a worker's relay reads it).
	trusted := func() (wire.Conn, error) {
		a.admitted()
		if !polled {
			return conn, nil
		}
		if conn == wire.Conn(pc) {
			return pc.Blocking()
		}
		// TLS over the same socket, on blocking calls too; but a worker process's relay
		// (worker.go) keeps reading it through the poller: a goroutine, not a thread.
		if tc, ok := conn.(*wire.TLSConn); ok && o.Worker == nil {
			fc, err := pc.Blocking()
			if err == nil {
				tc.Rebase(fc)
			}
			return conn, err
		}
		return conn, pc.SetDeadline(time.Time{})
	}
	if welcome.OK && o.Worker != nil {
		// A process of its own answers the client, welcome included (see worker.go).
		c, err := trusted()
		if err != nil {
			return refuse("cannot hand the connection over", "err", err)
		}
		hello.Token = ""
		b, _ := json.Marshal(hello)
		id := clients.Add(1)
		return &session{c: c, close: closeAll, id: id, pid: hello.PID, o: o, hello: b,
			log: shim.Log().With("client", id, "peer", peer)}
	}
	var view []*shim.Device
	if welcome.OK {
		st := shim.S()
		devs := st.Visible
		if hello.Visible != nil {
			// The client's own CUDA_VISIBLE_DEVICES picks from this server's devices; every
			// API then numbers them for it from 0 on its thread.
			if view = shim.ApplyVisible(st.Visible, *hello.Visible, true); view == nil {
				view = []*shim.Device{}
			}
			devs = view
		}
		welcome.DriverVersion, welcome.CUDAVersion = st.Config.DriverVersion, st.Config.CUDAVersion
		for _, d := range devs {
			r := d.Record()
			if o.ClientMemory > 0 && o.ClientMemory < r.Memory {
				r.Memory = o.ClientMemory
			}
			welcome.Devices = append(welcome.Devices, r)
		}
	}
	out, _ := json.Marshal(welcome)
	if err := wire.WriteFrame(conn, wire.Header{Kind: wire.KindWelcome}, out); err != nil || !welcome.OK {
		return refuse("client not admitted", "reason", welcome.Error, "err", err)
	}
	conn, err = trusted()
	if err != nil {
		return refuse("cannot serve the connection", "err", err)
	}
	id := clients.Add(1)
	return &session{c: conn, close: closeAll, id: id, pid: hello.PID, view: view, o: o,
		log: shim.Log().With("client", id, "peer", peer)}
}

func deadlineOr(d time.Time) time.Time {
	if d.IsZero() {
		return time.Now().Add(24 * time.Hour)
	}
	return d
}

// sameToken compares in constant time; hashing first hides the length too.
func sameToken(got, want string) bool {
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// onceConn closes its connection once however often it is asked: a descriptor number closed
// twice may by then be another client's.
type onceConn struct {
	wire.Conn
	once sync.Once
}

func (c *onceConn) Close() error {
	c.once.Do(func() { c.Conn.Close() })
	return nil
}

// testFault, set by tests, runs before each request is answered: a panic there stands for
// any bug a client's request could reach.
var testFault func(op uint32)

// serve answers an authenticated client on an OS thread of its own until it goes. A panic
// while serving it ends its session only: what it held is freed, the fault is logged with
// its stack, and every other client is still served.
func (s *session) serve(byOp map[uint32]*api.Func) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread() // last: the thread's CUDA state is reset before it is shared
	defer s.close()
	// A fault on an address (a bug that lets a client's value reach the host) becomes a panic
	// this session recovers from, instead of a fatal error for every client.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	shim.EnterClient(s.id)
	defer shim.LeaveClient()
	// The thread's state, once: this goroutine keeps the thread, and the thread serves this
	// client alone, so the launch path need not ask C for it at every launch.
	ts := shim.Thread()
	// Marks this session's calls in flight: memory it has mapped by IPC handle is released
	// only once a call that may be touching it has returned (shim/quiesce.go).
	slot := shim.NewCallSlot()
	defer slot.Close()
	defer func() {
		if r := recover(); r != nil {
			s.log.Errorw("client's session ended by a fault; what it held is freed", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	c, id, log, o := s.c, s.id, s.log, s.o
	if sc, ok := c.(interface{ SetSpin(time.Duration) }); ok {
		sc.SetSpin(wire.SpinWait()) // the client's next request often follows a reply closely
	}
	if s.view != nil {
		shim.SetView(s.view)
	}
	log.Infow("client connected", "pid", s.pid)
	shim.SetClientMemory(id, o.ClientMemory)
	defer shim.SetClientMemory(id, 0) // after what it held is freed (deferred calls run last first)
	stats.client(id, s.pid, true)
	defer stats.client(id, 0, false)
	defer func() {
		n, bytes := shim.FreeOwned(id)
		h := shim.ReleaseOwned(id)
		log.Infow("client gone; what it held is freed", "allocations", n, "bytes", bytes, "handles", h)
	}()
	// The first error a pipelined call met, returned by the next synchronising call.
	var deferred uint64
	calls := callStats{}
	var tally opTally // the last op's counters
	var window shmWindow
	defer window.detach()
	var stage downloadStage
	defer stage.release()
	var upload uploadStage
	defer upload.release()
	shares := hostShares{}
	defer shares.dropAll()
	turn := turnaround{on: os.Getenv("VGPU_STATS") == "1"}
	defer func() {
		log.Infow("client's calls: requests/posts and server time, most frequent first", "top", calls.top(15, byOp))
		turn.log(log)
	}()
	// The client's rings, once attached: unmapped after the busy writer has stopped.
	var rings *wire.RingConn
	var ringRegion []byte
	defer func() {
		if ringRegion != nil {
			unix.Munmap(ringRegion)
		}
	}()
	// Buffered: a client batches its pipelined calls, and one read then takes many frames.
	in := bufio.NewReaderSize(c, 256<<10)
	w := newBusyWriter(c)
	defer w.stop()
	var pipe *launchPipe
	cb, _ := shim.S().Backend.(shim.CodeBackend)
	if pipelineLaunches && cb != nil {
		pipe = newLaunchPipe(cb, id, s.view)
		defer pipe.stop() // before what the client held is freed (deferred calls run last first)
	}
	var lastEnd time.Duration // when the last request was answered, for the next one's timing
	var run postRun           // posted calls read back to back, not yet timed
	for {
		waited := in.Buffered() == 0
		if waited {
			w.idle()
		}
		h, payload, err := readFrame(in, upload.take)
		if err != nil {
			if run.n > 0 {
				run.end(&tally, byOp, calls, time.Since(monoEpoch))
			}
			if !errors.Is(err, io.EOF) {
				log.Infow("connection ended", "err", err)
			}
			return
		}
		w.working()
		turn.read()
		if h.Op == opGraphLaunch {
			turn.graphLaunch()
		}
		if testFault != nil {
			testFault(h.Op)
		}
		// One clock read a request (time.Now reads two): a frame that was waiting in the buffer
		// starts where the last request ended, and one that continues a run of posted calls
		// (postRun) is timed with the run, so a batch of launches reads the clock once in all.
		start := lastEnd
		if run.n == 0 && (waited || start == 0) {
			start = time.Since(monoEpoch)
		}
		var resp, body []byte // body: a download's bytes where they lie, answered after resp
		piped := pipe != nil && h.Kind == wire.KindPost && h.Op == wire.OpLaunch && len(payload) <= wire.LaunchHeader+pipeArgs
		if pipe != nil && !piped {
			// Everything else comes after the launches before it, and their failure first.
			st, fault := pipe.drain()
			if fault != nil {
				panic(fault)
			}
			if st != shim.OK && deferred == 0 {
				deferred = status(wire.OpLaunch, reply(st))
			}
		}
		slot.Enter()
		switch {
		case piped:
			if resp = launchOp(cb, ts, h.Op, payload, pipe); status(h.Op, resp) != 0 {
				// A failure found here comes after any of the launches queued before it.
				if st, _ := pipe.drain(); st != shim.OK && deferred == 0 {
					deferred = status(wire.OpLaunch, reply(st))
				}
			}
		case cb != nil && (h.Op == wire.OpLaunch || h.Op == wire.OpLaunchAttrs):
			resp = launchOp(cb, ts, h.Op, payload, nil)
		case h.Op == wire.OpRingAttach && (rings != nil || h.Kind != wire.KindRequest):
			// Once, and only as a request: the switch follows its answer, and a posted attach,
			// which gets none, would leave its region mapped beside the next one's.
			if len(payload) != 16 {
				if fd, st := receivedFD(c); st == shim.OK { // taken, so the next request's stays next
					unix.Close(fd)
				}
			}
			resp = reply(shim.ErrInvalidValue)
		case h.Op == wire.OpRingAttach:
			if len(payload) == 16 { // in the shared file
				resp, rings, ringRegion = window.attachRings(c, payload)
			} else {
				resp, rings, ringRegion = attachRing(c, payload)
			}
		case h.Op == wire.OpShmAttach:
			resp = window.attach(c, payload)
		case h.Op == wire.OpShmFileAttach:
			resp = window.attachFile(o.ShmFiles, payload, log)
		case h.Op == wire.OpPutShm, h.Op == wire.OpGetShm:
			resp = window.op(h.Op, payload)
		case h.Op == wire.OpHostShare:
			resp = shares.share(c, payload)
		case h.Op == wire.OpHostShareFile:
			resp = shares.shareFile(&window, payload)
		case h.Op == wire.OpHostUnshare:
			resp = shares.unshare(payload)
		case h.Op == wire.OpGet:
			resp, body = download(payload, stage.buffer)
		case h.Op == wire.OpPut && upload.holding(payload) >= 0:
			resp = upload.put(upload.holding(payload), payload)
		case h.Op == wire.OpPutHost, h.Op == wire.OpGetHost:
			resp = shares.copy(h.Op, payload, h.Kind == wire.KindPost)
		default:
			resp = answer(h.Op, payload, byOp)
		}
		// A download answered from device memory (body) stays a call in flight until its bytes
		// are written: memory another client mapped by IPC handle, and freed meanwhile, is
		// released only after it (shim/quiesce.go), never under the write.
		if h.Kind == wire.KindPost {
			body = nil // a post gets no answer
		}
		if body == nil {
			slot.Leave()
		}
		if h.Kind == wire.KindPost && in.Buffered() > 0 && (run.n == 0 || run.op == h.Op) {
			// More frames wait: this one is timed with the run, when it ends.
			if run.n == 0 {
				run.op, run.start = h.Op, start
			}
			run.n++
		} else {
			lastEnd = time.Since(monoEpoch)
			if run.n > 0 {
				start = run.end(&tally, byOp, calls, lastEnd)
			}
			tally.tally(h.Op, byOp, calls, h.Kind == wire.KindPost, 1, lastEnd-start)
		}
		if h.Kind == wire.KindPost {
			if r := status(h.Op, resp); r != 0 && deferred == 0 {
				deferred = asCUDAError(byOp[h.Op], r)
			}
			continue
		}
		if deferred != 0 && synchronising(byOp[h.Op]) {
			resp, deferred = withResult(resp, h.Op, deferred), 0
		}
		kind := uint8(wire.KindResponse)
		if deferred == 0 && drains(h.Op, payload) && status(h.Op, resp) == 0 {
			kind = wire.KindDrained
		}
		err = w.respond(wire.Header{Kind: kind, Op: h.Op, Seq: h.Seq}, resp, body)
		if body != nil {
			slot.Leave()
		}
		if err != nil {
			return
		}
		if rings != nil && c != wire.Conn(rings) {
			// Answered on the socket; from here on both sides' frames cross the rings (the
			// client sent nothing more meanwhile: what it did is dropped).
			c = rings
			in.Reset(rings)
			w.use(rings)
		}
		turn.responded()
	}
}

// stagedPut is the smallest upload read into the session's pinned stage.
const stagedPut = 64 << 10

// monoEpoch is what the serving loop's timings are read against: time.Since of it reads only
// the monotonic clock, once.
var monoEpoch = time.Now()

// readFrame reads the next frame. A launch's payload is borrowed from in's buffer, valid
// until the next read (code copies what it keeps: a captured launch's arguments), so that a
// posted launch costs no allocation. A large upload's (OpPut) lands in the session's pinned
// upload stages (stage: uploadStage.take): the driver then copies it to the device by DMA,
// from memory that is already there, instead of staging a fresh pageable buffer of up to a
// frame's size itself (on the H200 a sixth of the pinned rate, and page faults on every new
// buffer). Any other request's payload is its own.
func readFrame(in *bufio.Reader, stage func(uint64) []byte) (wire.Header, []byte, error) {
	hb, err := in.Peek(wire.HeaderLen)
	if err != nil {
		if len(hb) > 0 && errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return wire.Header{}, nil, err
	}
	h, err := wire.ParseHeader(hb)
	if err != nil {
		return h, nil, err
	}
	in.Discard(wire.HeaderLen)
	if (h.Op == wire.OpLaunch || h.Op == wire.OpLaunchAttrs) && int(h.Len) <= in.Size() {
		p, err := in.Peek(int(h.Len))
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return h, nil, err
		}
		in.Discard(len(p))
		return h, p, nil
	}
	var payload []byte
	if h.Op == wire.OpPut && h.Len >= stagedPut {
		payload = stage(uint64(h.Len))
	} else {
		payload = make([]byte, h.Len)
	}
	if _, err := io.ReadFull(in, payload); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return h, nil, err
	}
	return h, payload, nil
}

// drains reports whether a successful op has waited for what the client posted before it: a
// download does, on the sim's device and behind the local backend's legacy stream; one that
// names a stream of the program's own waited for that stream's work (the client knows which
// it asked for: remote.drainOf). OpGetHost's answer is taken as all work's: it is drained
// only when it names no stream.
func drains(op uint32, payload []byte) bool {
	return op == wire.OpGet || op == wire.OpGetShm || op == wire.OpGetHost && len(payload) == 24
}

// status reads the result out of a response (bulk ops carry a shim status byte, mapped to
// cudaError's numbers, which the driver API shares for the errors a copy meets).
func status(op uint32, resp []byte) uint64 {
	if op >= wire.OpPut && op <= wire.OpLast {
		if len(resp) == 0 || shim.Status(resp[0]) == shim.OK {
			return 0
		}
		return uint64(uint32(cudart.From(shim.Status(resp[0]))))
	}
	if len(resp) < 8 {
		return 0
	}
	return binary.LittleEndian.Uint64(resp)
}

// asCUDAError puts a pipelined call's failure in the numbering of the synchronising call
// that reports it (the runtime's and the driver's agree on the codes a stream can meet): a
// cuBLAS status would name some unrelated CUDA error, so it becomes a launch failure.
func asCUDAError(f *api.Func, r uint64) uint64 {
	if f != nil && f.Lib == "cublas" {
		return 719 // cudaErrorLaunchFailure / CUDA_ERROR_LAUNCH_FAILED
	}
	return r
}

// synchronising calls are where CUDA reports what asynchronous work ran into.
func synchronising(f *api.Func) bool {
	if f == nil {
		return false
	}
	return f.Has("sync") || f.Has("query")
}

// withResult replaces a response's result by r.
func withResult(resp []byte, op uint32, r uint64) []byte {
	if len(resp) >= 8 {
		binary.LittleEndian.PutUint64(resp, r)
	}
	return resp
}

// answer runs one request.
func answer(op uint32, payload []byte, byOp map[uint32]*api.Func) []byte {
	switch op {
	case wire.OpPut, wire.OpGet, wire.OpIsDevice, wire.OpCopyD2D, wire.OpCopyD2DAsync,
		wire.OpPut2D, wire.OpGet2D, wire.OpCopy2D:
		return bulk(op, payload)
	case wire.OpLoadModule, wire.OpFunction, wire.OpLaunch, wire.OpLaunchAttrs, wire.OpFuncQuery:
		return code(op, payload)
	case wire.OpGlobal:
		return global(payload)
	case wire.OpGraphNode:
		return graphNode(payload)
	case wire.OpGraphLaunchPart:
		return graphLaunchPart(payload)
	case wire.OpPoolAttr:
		return poolAttr(payload)
	case wire.OpArrayLayout: // the caller's own array only: LayoutOf resolves owner-aware
		if len(payload) != 8 {
			return wire.EncodeArrayLayout(uint32(cudart.ErrorInvalidValue), 0, 0, 0, 0, 0)
		}
		l, e := cudart.LayoutOf(uintptr(binary.LittleEndian.Uint64(payload)))
		return wire.EncodeArrayLayout(uint32(e), l.Base, l.Pitch, l.Rows, l.Depth, l.Elem)
	}
	f, ok := byOp[op]
	call, ok2 := dispatch[op]
	if !ok || !ok2 {
		return wire.EncodeResponse(&api.Func{}, notSupported(f), nil)
	}
	args, err := wire.DecodeRequest(f, payload)
	if err != nil {
		shim.Log().Infow("malformed request", "function", f.Name, "err", err)
		return wire.EncodeResponse(&api.Func{}, invalidValue(f), nil)
	}
	if r := checkScalars(f, args); r != 0 {
		return wire.EncodeResponse(f, r, args)
	}
	if testArgs != nil {
		testArgs(f, args)
	}
	return wire.EncodeResponse(f, call(args), args)
}

// testArgs, set by the fuzzer, may move decoded buffers to where an overrun faults.
var testArgs func(f *api.Func, args []wire.Value)

// checkScalars admits a cuBLAS call's alpha and beta before anything reads them. In host
// pointer mode a scalar travels by value: its bytes, exactly as many as its type has; the
// client's address for it means nothing here, and an address without bytes would make the
// server read its own memory, so it is refused. In device pointer mode it is an address
// inside the client's own device memory. Refusals are CUBLAS_STATUS_INVALID_VALUE.
func checkScalars(f *api.Func, args []wire.Value) uint64 {
	mode := int32(-1)
	for i, a := range f.Args {
		if wire.Kind(a) != wire.HostScalar {
			continue
		}
		if mode < 0 {
			hd, ok := shim.Lookup[*cublas.Handle](shim.KindBlas, uintptr(args[0].U))
			if f.Args[0].CType != "cublasHandle_t" || !ok {
				return uint64(cublas.NotInitialized)
			}
			mode = hd.PointerMode
		}
		n, v := wire.ScalarSize(f, a, args), &args[i]
		switch {
		case mode == cublas.PointerModeDevice && len(v.B) != 0:
			return uint64(cublas.InvalidValue)
		case mode == cublas.PointerModeDevice && v.U != 0:
			if _, st := shim.DeviceRange(uintptr(v.U), uint64(n)); st != shim.OK {
				return uint64(cublas.InvalidValue)
			}
		case mode != cublas.PointerModeDevice && len(v.B) == 0 && v.U != 0:
			return uint64(cublas.InvalidValue) // a bare host address
		case mode != cublas.PointerModeDevice && len(v.B) != 0 && len(v.B) != n:
			return uint64(cublas.InvalidValue)
		}
		// What is left is NULL, which the call itself reports as cuBLAS does.
	}
	return 0
}

// invalidValue is each API's "invalid value": CUDA_ERROR_INVALID_VALUE and
// cudaErrorInvalidValue are 1, NVML_ERROR_INVALID_ARGUMENT 2, CUBLAS_STATUS_INVALID_VALUE 7.
func invalidValue(f *api.Func) uint64 {
	switch f.Lib {
	case "nvml":
		return 2
	case "cublas":
		return 7
	}
	return 1
}

func notSupported(f *api.Func) uint64 {
	if f != nil && f.Lib == "nvml" {
		return 3
	}
	if f != nil && f.Lib == "cublas" {
		return 15
	}
	return 801
}

// putRequest decodes an upload (OpPut: u64 device address, then the bytes), counts its bytes
// and checks that they land in the caller's device memory.
func putRequest(p []byte) (dst uintptr, data []byte, st shim.Status) {
	if len(p) < 8 {
		return 0, nil, shim.ErrInvalidValue
	}
	dst, data = uintptr(binary.LittleEndian.Uint64(p)), p[8:]
	stats.bytesIn.Add(uint64(len(data)))
	_, st = shim.DeviceRange(dst, uint64(len(data)))
	return dst, data, st
}

// bulk moves host memory for the copy calls the function list cannot describe.
func bulk(op uint32, p []byte) []byte {
	u := func(i int) uint64 { return binary.LittleEndian.Uint64(p[8*i:]) }
	switch op {
	case wire.OpPut:
		dst, data, s := putRequest(p)
		if s != shim.OK {
			return reply(s)
		}
		if len(data) == 0 {
			return reply(shim.OK)
		}
		return reply(shim.S().Backend.Copy(dst, uintptr(unsafe.Pointer(&data[0])), uint64(len(data)), shim.HostToDevice))
	case wire.OpGet:
		head, body := download(p, func(n uint64) []byte { return make([]byte, n) })
		return append(head, body...)
	case wire.OpIsDevice:
		if len(p) != 8 {
			return []byte{0}
		}
		if shim.IsDevice(uintptr(u(0))) {
			return []byte{1}
		}
		return []byte{0}
	case wire.OpCopyD2D:
		if len(p) != 24 {
			return reply(shim.ErrInvalidValue)
		}
		dst, src, n := uintptr(u(0)), uintptr(u(1)), u(2)
		s := shim.DefaultStream(shim.S().Device(0))
		return reply(shim.Memcpy(s, dst, src, n, shim.DeviceToDevice))
	case wire.OpPut2D: // packed rows, written at the destination's pitch in stream order
		// width * rows must be the payload's size, checked by division: a product can wrap.
		if len(p) <= 40 || u(2) == 0 || uint64(len(p)-40)%u(2) != 0 || uint64(len(p)-40)/u(2) != u(3) {
			return reply(shim.ErrInvalidValue)
		}
		stats.bytesIn.Add(uint64(len(p) - 40))
		return onStream(u(4), func(s *shim.Stream) shim.Status {
			st := shim.Memcpy2D(s, uintptr(u(0)), u(1), uintptr(unsafe.Pointer(&p[40])), u(2), u(2), u(3), shim.HostToDevice)
			if st == shim.OK && s.Capturing() != nil {
				// The graph copies from this frame at each launch, long after this request:
				// a node of its own keeps the frame's bytes, which would otherwise be
				// collected and their memory reused (another client's frame, say).
				return s.Enqueue(shim.Node{Kind: shim.NodeHost, Capturable: true, Run: func() shim.Status {
					runtime.KeepAlive(p)
					return shim.OK
				}})
			}
			return st
		})
	case wire.OpGet2D:
		if len(p) != 32 || u(2) == 0 || u(3) == 0 || u(2) > wire.Chunk || u(3) > wire.Chunk || u(2)*u(3) > wire.Chunk {
			return reply(shim.ErrInvalidValue)
		}
		out := make([]byte, 1+u(2)*u(3))
		stats.bytesOut.Add(uint64(len(out) - 1))
		s := shim.DefaultStream(shim.S().Device(0))
		if st := shim.Memcpy2D(s, uintptr(unsafe.Pointer(&out[1])), u(2), uintptr(u(0)), u(1), u(2), u(3), shim.DeviceToHost); st != shim.OK {
			return reply(st)
		}
		return out
	case wire.OpCopy2D:
		if len(p) != 56 {
			return reply(shim.ErrInvalidValue)
		}
		return onStream(u(6), func(s *shim.Stream) shim.Status {
			return shim.Memcpy2D(s, uintptr(u(0)), u(1), uintptr(u(2)), u(3), u(4), u(5), shim.DeviceToDevice)
		})
	case wire.OpCopyD2DAsync:
		if len(p) != 32 {
			return reply(shim.ErrInvalidValue)
		}
		return onStream(u(3), func(s *shim.Stream) shim.Status {
			return shim.Memcpy(s, uintptr(u(0)), uintptr(u(1)), u(2), shim.DeviceToDevice)
		})
	}
	return reply(shim.ErrNotSupported)
}

// download answers wire.OpGet (an address, a size and, for a program's own stream, its
// handle): a status byte and the bytes, in a buffer of 1+size from buffer. Under the sim,
// whose device memory is this process's and whose work is done once issued, the bytes are
// answered from where they lie (body), as a GPU's DMA into the pinned buffer costs the server
// no copy; otherwise body is empty.
func download(p []byte, buffer func(uint64) []byte) (head, body []byte) {
	u := func(i int) uint64 { return binary.LittleEndian.Uint64(p[8*i:]) }
	if (len(p) != 16 && len(p) != 24) || u(1) > wire.Chunk {
		return reply(shim.ErrInvalidValue), nil
	}
	src, n := uintptr(u(0)), u(1)
	stats.bytesOut.Add(n)
	if _, s := shim.DeviceRange(src, n); s != shim.OK {
		return reply(s), nil
	}
	if _, sim := shim.S().Backend.(*shim.SimBackend); sim && n > 0 {
		if s := inStreamOrder(p, 16, func() shim.Status { return shim.OK }); s != shim.OK {
			return reply(s), nil
		}
		return reply(shim.OK), shim.Bytes(src, n)
	}
	out := buffer(1 + n)
	out[0] = byte(shim.OK)
	if n > 0 {
		if s := inStreamOrder(p, 16, func() shim.Status {
			return shim.S().Backend.Copy(uintptr(unsafe.Pointer(&out[1])), src, n, shim.DeviceToHost)
		}); s != shim.OK {
			return reply(s), nil
		}
	}
	return out, nil
}

// onStream runs a copy on the client's stream h, so that a capture records it.
// inStreamOrder runs a bulk copy request's backend work in the order of the stream whose
// handle the request carries after its first at bytes (a download on a program's own
// stream), or as it is when it carries none.
func inStreamOrder(p []byte, at int, run func() shim.Status) shim.Status {
	if len(p) < at+8 {
		return run()
	}
	s, st := shim.ResolveStream(uintptr(binary.LittleEndian.Uint64(p[at:])), shim.S().Device(0))
	if st != shim.OK {
		return st
	}
	return shim.IssueOn(s, run)
}

func onStream(h uint64, run func(*shim.Stream) shim.Status) []byte {
	s, st := shim.ResolveStream(uintptr(h), shim.S().Device(0))
	if st != shim.OK {
		return reply(st)
	}
	return reply(run(s))
}

// ptr is the address of a request buffer, or NULL for an absent one.
func ptr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

// scalarArg is a cuBLAS alpha or beta as checkScalars admitted it: the address of the value
// the client carried (host pointer mode), or the device address it passed (device pointer
// mode; NULL in host pointer mode).
func scalarArg(v wire.Value) uintptr {
	if len(v.B) > 0 {
		return uintptr(unsafe.Pointer(&v.B[0]))
	}
	return uintptr(v.U)
}

// cstr is a NUL-terminated copy of a string argument, or NULL.
func cstr(b []byte) unsafe.Pointer {
	if b == nil {
		return nil
	}
	return ptr(append(append([]byte(nil), b...), 0))
}
