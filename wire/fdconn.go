package wire

import (
	"io"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// FDConn is a stream socket used with plain blocking system calls. Both ends of vgpu's
// protocol call from threads that are locked anyway (a C thread inside a CUDA call, a
// server thread per client), and going through Go's network poller would hand every
// reply from one OS thread to another: tens of microseconds per round trip.
type FDConn struct {
	fd      int
	inbound int // bytes waiting to be read at the last stalled write
}

// NewFDConn takes ownership of fd, makes it blocking and bounds every read and write.
func NewFDConn(fd int, timeout time.Duration) (*FDConn, error) {
	if err := unix.SetNonblock(fd, false); err != nil {
		return nil, err
	}
	tv := unix.NsecToTimeval(timeout.Nanoseconds())
	for _, opt := range []int{unix.SO_RCVTIMEO, unix.SO_SNDTIMEO} {
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, opt, &tv); err != nil {
			return nil, err
		}
	}
	return &FDConn{fd: fd}, nil
}

func (c *FDConn) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(c.fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if n == 0 && len(p) > 0 {
			return 0, io.EOF
		}
		c.inbound = 0 // what PeerSpoke measured was (partly) consumed
		return n, nil
	}
}

func (c *FDConn) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n, err := unix.Write(c.fd, p[done:])
		if err == unix.EINTR || (err == unix.EAGAIN && c.PeerSpoke()) {
			continue
		}
		if err != nil {
			return done, err
		}
		done += n
	}
	return done, nil
}

// Writev writes bufs in order with as few system calls as the socket allows, and no copy.
func (c *FDConn) Writev(bufs ...[]byte) error {
	for len(bufs) > 0 {
		n, err := unix.Writev(c.fd, bufs)
		if err == unix.EINTR || (err == unix.EAGAIN && c.PeerSpoke()) {
			continue
		}
		if err != nil {
			return err
		}
		for n > 0 && len(bufs) > 0 { // drop what was written
			if n >= len(bufs[0]) {
				n -= len(bufs[0])
				bufs = bufs[1:]
			} else {
				bufs[0] = bufs[0][n:]
				n = 0
			}
		}
		for len(bufs) > 0 && len(bufs[0]) == 0 {
			bufs = bufs[1:]
		}
	}
	return nil
}

// PeerPID is the process at the other end of a unix socket, as the kernel reports it.
func (c *FDConn) PeerPID() (int32, error) {
	cred, err := unix.GetsockoptUcred(c.fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return 0, err
	}
	return cred.Pid, nil
}

// PeerSpoke reports whether bytes arrived from the peer since the last time it was asked
// (a stalled write asks). A server busy with earlier work reads nothing but still says it
// is busy (KindBusy), so a write that cannot proceed times out only when the peer has gone
// silent.
func (c *FDConn) PeerSpoke() bool {
	n, err := unix.IoctlGetInt(c.fd, unix.SIOCINQ)
	if err != nil {
		return false
	}
	grew := n > c.inbound
	c.inbound = n
	return grew
}

// TrySend writes b unless the socket would block, for messages that may be skipped when the
// peer is not reading (KindBusy). A partial send is completed, so frames stay whole.
func (c *FDConn) TrySend(b []byte) error {
	n, err := unix.SendmsgN(c.fd, b, nil, nil, unix.MSG_DONTWAIT)
	if err == unix.EAGAIN {
		return nil
	}
	if err != nil {
		return err
	}
	if n < len(b) {
		_, err = c.Write(b[n:])
	}
	return err
}

// Close closes the socket.
func (c *FDConn) Close() error { return unix.Close(c.fd) }

// FromConn moves an established connection onto blocking system calls: it duplicates the
// socket and closes nc.
func FromConn(nc net.Conn, timeout time.Duration) (*FDConn, error) {
	defer nc.Close()
	f, err := nc.(interface{ File() (*os.File, error) }).File() // a blocking duplicate
	if err != nil {
		return nil, err
	}
	fd, err := unix.Dup(int(f.Fd()))
	f.Close()
	if err != nil {
		return nil, err
	}
	c, err := NewFDConn(fd, timeout)
	if err != nil {
		unix.Close(fd)
	}
	return c, err
}
