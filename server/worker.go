package server

import (
	"encoding/base64"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"vgpu/wire"
)

// A worker process per client (Options.Worker). Contexts inside one process share the GPU's
// address space and its fault domain (docs/security-gpu.md: on an H200 a kernel of one
// context read another's memory, and one fault broke every context of the process), and Go's
// recover cannot catch a crash in NVIDIA's driver. A process per client is what the GPU and
// the kernel keep apart. This process keeps the listener, the limits, TLS and the token; once
// a client is authenticated, a worker (`vgpu serve --worker`) gets its connection as fd 3
// and its hello in WorkerHelloEnv, sends the welcome and serves it, and exits when it goes.

// WorkerHelloEnv carries an authenticated client's hello (base64 JSON, token removed) to its
// worker.
const WorkerHelloEnv = "VGPU_WORKER_HELLO"

// runWorker serves the session in a worker process and returns when that process has ended.
func (s *session) runWorker() {
	defer s.close()
	inherit, relay, err := s.handOver()
	if err != nil {
		s.log.Errorw("cannot hand the client to a worker; it is dropped", "err", err)
		return
	}
	cmd := exec.Command(s.o.Worker[0], s.o.Worker[1:]...)
	cmd.ExtraFiles = []*os.File{inherit} // fd 3
	cmd.Env = append(os.Environ(), WorkerHelloEnv+"="+base64.StdEncoding.EncodeToString(s.hello))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr // its log is this server's log
	// Its own process group: a signal meant for this server's group (a terminal's ^C) does not
	// end the sessions of clients already served.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	inherit.Close() // the worker's now; this process keeps no copy of a plain socket
	if err != nil {
		if relay != nil {
			relay()
		}
		s.log.Errorw("cannot start a worker; the client is dropped", "err", err)
		return
	}
	s.log.Infow("client served by a worker process", "client_pid", s.pid, "worker", cmd.Process.Pid)
	var wg sync.WaitGroup
	if relay != nil {
		wg.Add(1)
		go func() { defer wg.Done(); relay() }()
	}
	err = cmd.Wait()
	wg.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
		s.log.Infow("client's worker ended", "worker", cmd.Process.Pid)
	case errors.As(err, &exit):
		// A fault in the driver or a kernel reached this client's process only: every other
		// client is answered by processes of their own.
		s.log.Warnw("client's worker died; that client alone lost its session", "worker", cmd.Process.Pid, "status", exit.ProcessState.String())
	default:
		s.log.Warnw("client's worker", "worker", cmd.Process.Pid, "err", err)
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

// ServeWorker answers the one client a dispatching server handed over on c, whose hello
// the parent has read and authenticated: it is served as ServeOne serves its client.
func ServeWorker(c *wire.FDConn, hello64 string, o Options) error {
	hello, err := base64.StdEncoding.DecodeString(hello64)
	if err != nil {
		c.Close()
		return errors.New("worker: the parent's hello is not base64")
	}
	frame, err := wire.AppendFrame(nil, wire.Header{Kind: wire.KindHello}, hello)
	if err != nil {
		c.Close()
		return err
	}
	c.Preface(frame)
	o.Token, o.RequireToken, o.Worker = "", false, nil // the parent checked the token
	return ServeOne(c, o)
}
