package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"vgpu/shim"
	"vgpu/wire"
)

// A worker process per client (Options.Worker). Contexts inside one process share the GPU's
// address space and its fault domain (docs/security-gpu.md: on an H200 a kernel of one
// context read another's memory, and one fault broke every context of the process), and Go's
// recover cannot catch a crash in NVIDIA's driver. A process per client is what the GPU and
// the kernel keep apart. This process keeps the listener, the limits, TLS and the token; once
// a client is authenticated, a worker (`vgpu serve --worker`) gets its connection and its
// hello, sends the welcome, serves it, and exits when it goes.

// A worker's fd 3 is its control socket. It initialises (the device model, the driver, its
// CUDA context) before any client is known, so that WarmWorkers of them can wait ready; then
// one frame arrives on it: the client's hello (token removed), with the client's connection
// passed alongside (SCM_RIGHTS). The worker answers that client alone and exits when it goes.

// workers starts worker processes and keeps Options.WarmWorkers of them waiting.
type workers struct {
	argv      []string
	warm      int
	mu        sync.Mutex
	idle      []*worker
	refilling bool
	closed    bool // close has run: a worker started since is ended, not kept
}

// worker is a started worker process and the parent's end of its control socket.
type worker struct {
	cmd    *exec.Cmd
	ctl    *wire.FDConn
	exited chan struct{} // closed once the process has ended and been reaped
	err    error         // its exit, once exited is closed
}

func newWorkers(argv []string, warm int) *workers {
	p := &workers{argv: argv, warm: warm}
	go p.refill()
	return p
}

// start launches one worker.
func (p *workers) start() (*worker, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	child := os.NewFile(uintptr(fds[1]), "vgpu-worker-control")
	defer child.Close() // the worker's now
	ctl, err := wire.NewFDConn(fds[0], 0)
	if err != nil {
		unix.Close(fds[0])
		return nil, err
	}
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	cmd.ExtraFiles = []*os.File{child}            // fd 3
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr // its log is this server's log
	// Its own process group: a signal meant for this server's group (a terminal's ^C) does not
	// end the sessions of clients already served.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		ctl.Close()
		return nil, err
	}
	w := &worker{cmd: cmd, ctl: ctl, exited: make(chan struct{})}
	// Reaped as it exits, whenever that is: a waiting worker that dies (killed for memory, its
	// driver failed) leaves no zombie behind.
	go func() { w.err = cmd.Wait(); close(w.exited) }()
	return w, nil
}

// dead reports whether w has exited.
func (w *worker) dead() bool {
	select {
	case <-w.exited:
		return true
	default:
		return false
	}
}

// take returns a waiting worker, or a new one when none waits, and starts its replacement.
func (p *workers) take() (*worker, error) {
	p.mu.Lock()
	var w *worker
	for w == nil && len(p.idle) > 0 {
		w, p.idle = p.idle[0], p.idle[1:]
		if w.dead() { // it died waiting: its control socket is all that is left of it
			w.ctl.Close()
			w = nil
		}
	}
	p.mu.Unlock()
	go p.refill()
	if w != nil {
		return w, nil
	}
	return p.start()
}

// refill starts workers until WarmWorkers wait. One refill runs at a time; it clears
// refilling under the same lock as its last look at the pool, so a take meanwhile (whose own
// refill returns at once) is never left unreplaced.
func (p *workers) refill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.refilling {
		return
	}
	p.refilling = true
	defer func() { p.refilling = false }() // runs first, with p.mu held
	for !p.closed && len(p.idle) < p.warm {
		p.mu.Unlock()
		w, err := p.start()
		p.mu.Lock()
		if err != nil {
			shim.Log().Errorw("cannot start a waiting worker", "err", err)
			return
		}
		if p.closed { // close ran while it started: nobody would ever end it
			go w.quit()
			return
		}
		p.idle = append(p.idle, w)
	}
}

// close ends the waiting workers (their control sockets close: they exit) and starts no more.
func (p *workers) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, w := range idle {
		go w.quit()
	}
}

// quit ends a waiting worker: its control socket closes, so it exits, and it is reaped.
func (w *worker) quit() {
	w.ctl.Close()
	<-w.exited
}

// end reaps w after a failed hand-over.
func (w *worker) end() {
	w.ctl.Close()
	w.cmd.Process.Kill()
	<-w.exited
}

// runWorker serves the session in a worker process and returns when that process has ended.
func (s *session) runWorker(p *workers) {
	defer s.close()
	inherit, relay, err := s.handOver()
	if err != nil {
		s.log.Errorw("cannot hand the client to a worker; it is dropped", "err", err)
		return
	}
	frame, _ := wire.AppendFrame(nil, wire.Header{Kind: wire.KindHello}, s.hello)
	var w *worker
	for attempt := 0; attempt < 2 && w == nil; attempt++ { // a waiting worker may have died meanwhile
		if w, err = p.take(); err != nil {
			break
		}
		if err = w.ctl.SendFD(frame, int(inherit.Fd())); err != nil {
			s.log.Warnw("a worker could not take the client", "attempt", attempt+1, "err", err)
			w.end()
			w = nil
		}
	}
	inherit.Close() // the worker's now
	if w != nil && relay == nil {
		// A plain socket is the worker's alone: when the worker ends, the client sees its
		// session end at once, whatever this process is doing.
		s.close()
	}
	if w == nil {
		if relay != nil {
			relay()
		}
		s.log.Errorw("cannot start a worker; the client is dropped", "err", err)
		return
	}
	w.ctl.Close()
	s.log.Infow("client served by a worker process", "client_pid", s.pid, "worker", w.cmd.Process.Pid)
	var wg sync.WaitGroup
	if relay != nil {
		wg.Add(1)
		go func() { defer wg.Done(); relay() }()
	}
	<-w.exited
	err = w.err
	wg.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
		s.log.Infow("client's worker ended", "worker", w.cmd.Process.Pid)
	case errors.As(err, &exit):
		// A fault in the driver or a kernel reached this client's process only: every other
		// client is answered by processes of their own.
		s.log.Warnw("client's worker died; that client alone lost its session", "worker", w.cmd.Process.Pid, "status", exit.ProcessState.String())
	default:
		s.log.Warnw("client's worker", "worker", w.cmd.Process.Pid, "err", err)
	}
}

// handOver gives the file the worker inherits as its client's connection: the socket itself
// for a plain connection, or, for a TLS session, which cannot leave this process, one end of
// a socket pair whose other end relay joins to the session until either side closes.
func (s *session) handOver() (inherit *os.File, relay func(), err error) {
	if fc, ok := s.c.(*wire.FDConn); ok {
		f, err := fc.File()
		return f, nil, err
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	mine := os.NewFile(uintptr(fds[0]), "vgpu-relay")
	nc, err := net.FileConn(mine) // through the poller: the relay costs goroutines, not threads
	mine.Close()
	if err != nil {
		unix.Close(fds[1])
		return nil, nil, err
	}
	session := s.c
	relay = func() {
		var once sync.Once
		stop := func() { once.Do(func() { nc.Close(); session.Close() }) }
		done := make(chan struct{})
		go func() { io.Copy(nc, session); stop(); close(done) }()
		io.Copy(writerOf(session), nc)
		stop()
		<-done
	}
	return os.NewFile(uintptr(fds[1]), "vgpu-client"), relay, nil
}

// writerOf hides a connection's other methods, so io.Copy writes with Write alone.
func writerOf(c wire.Conn) io.Writer { return struct{ io.Writer }{c} }

// ServeWorker is a worker process (see above): it initialises, then waits on its control
// socket for the one client a dispatching server authenticated, and serves it as ServeOne
// serves its client.
func ServeWorker(ctl *wire.FDConn, o Options) error {
	if err := prepare(o); err != nil { // the driver and the context, before the client waits
		ctl.Close()
		return err
	}
	h, hello, err := wire.ReadFrameLimit(ctl, wire.MaxHello)
	fd, got := ctl.TakeFD()
	ctl.Close()
	if err != nil || h.Kind != wire.KindHello || !got {
		if got {
			unix.Close(fd)
		}
		if errors.Is(err, io.EOF) {
			return nil // the server ended before it needed this worker
		}
		return fmt.Errorf("worker: no client from the server: %v", err)
	}
	c, err := wire.NewFDConn(fd, 0)
	if err != nil {
		unix.Close(fd)
		return err
	}
	frame, _ := wire.AppendFrame(nil, wire.Header{Kind: wire.KindHello}, hello)
	c.Preface(frame)
	o.Token, o.RequireToken, o.Worker = "", false, nil // the parent checked the token
	return ServeOne(c, o)
}
