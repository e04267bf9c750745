package wire

import (
	"errors"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// PollConn is an FDConn's socket seen through Go's network poller, for the part of a
// connection that must cost no OS thread: a server waiting for a stranger's hello parks a
// goroutine, not a thread blocked in read(2), and every read and write obeys a deadline.
// Blocking hands the socket back to its FDConn once the peer is trusted.
type PollConn struct {
	fc     *FDConn
	f      *os.File // a duplicate of fc's socket, registered with the poller
	done   bool     // the duplicate is closed
	closed bool
}

var _ Conn = (*PollConn)(nil)

// Poll moves fc's socket onto the poller until Blocking is called. The socket's O_NONBLOCK
// flag is shared by its duplicates: fc must not be used meanwhile.
func Poll(fc *FDConn) (*PollConn, error) {
	fd, err := unix.FcntlInt(uintptr(fc.fd), unix.F_DUPFD_CLOEXEC, 0) // close-on-exec from the start: a worker may be forked meanwhile
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	// A non-blocking descriptor makes a pollable os.File: reads park the goroutine, and
	// deadlines work.
	return &PollConn{fc: fc, f: os.NewFile(uintptr(fd), "vgpu-client")}, nil
}

func (c *PollConn) Read(p []byte) (int, error) {
	if c.fc.preface != nil && len(p) > 0 {
		return c.fc.takePreface(p), nil
	}
	return c.f.Read(p)
}
func (c *PollConn) Write(p []byte) (int, error) { return c.f.Write(p) }

// Writev writes bufs in order.
func (c *PollConn) Writev(bufs ...[]byte) error {
	for _, b := range bufs {
		if _, err := c.f.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// PeerSpoke is FDConn's, on the same socket.
func (c *PollConn) PeerSpoke() bool { return c.fc.PeerSpoke() }

// TrySend writes b unless the socket would block now.
func (c *PollConn) TrySend(b []byte) error {
	if err := c.f.SetWriteDeadline(time.Now()); err != nil {
		return err
	}
	n, err := c.f.Write(b)
	c.f.SetWriteDeadline(time.Time{})
	if errors.Is(err, os.ErrDeadlineExceeded) {
		if n == 0 {
			return nil
		}
		_, err = c.f.Write(b[n:]) // a frame is never left half sent
	}
	return err
}

// SetDeadline bounds every read and write that follows; the zero time removes the bound.
func (c *PollConn) SetDeadline(t time.Time) error      { return c.f.SetDeadline(t) }
func (c *PollConn) SetReadDeadline(t time.Time) error  { return c.f.SetReadDeadline(t) }
func (c *PollConn) SetWriteDeadline(t time.Time) error { return c.f.SetWriteDeadline(t) }

// LocalAddr and RemoteAddr complete net.Conn, for a TLS layer above: the protocol itself
// never asks.
func (c *PollConn) LocalAddr() net.Addr  { return pollAddr{} }
func (c *PollConn) RemoteAddr() net.Addr { return pollAddr{} }

type pollAddr struct{}

func (pollAddr) Network() string { return "vgpu" }
func (pollAddr) String() string  { return "vgpu-peer" }

// Blocking leaves the poller and returns the FDConn, on blocking system calls again.
func (c *PollConn) Blocking() (*FDConn, error) {
	if c.done {
		return c.fc, nil
	}
	c.done = true
	c.f.Close() // deregisters from the poller first, then closes the duplicate
	if err := unix.SetNonblock(c.fc.fd, false); err != nil {
		return nil, err
	}
	return c.fc, nil
}

// Close closes the socket (both descriptors), once however often it is called: a closed
// descriptor's number may already name another client's socket.
func (c *PollConn) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	if !c.done {
		c.done = true
		c.f.Close()
	}
	return c.fc.Close()
}
