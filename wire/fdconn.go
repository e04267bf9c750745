package wire

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// FDConn is a stream socket used with plain blocking system calls. Both ends of vgpu's
// protocol call from threads that are locked anyway (a C thread inside a CUDA call, a
// server thread per client), and going through Go's network poller would hand every
// reply from one OS thread to another: tens of microseconds per round trip.
//
// On a unix socket the peer may pass descriptors with SCM_RIGHTS (the shared memory of a
// client on the server's host): Read receives them with the bytes they came with and keeps
// them, oldest first, for TakeFD.
type FDConn struct {
	fd      int
	inbound int // bytes waiting to be read at the last stalled write

	oob      []byte // control messages of one recvmsg (Read is never concurrent)
	fdMu     sync.Mutex
	received []int // descriptors the peer passed, oldest first, not yet taken

	preface []byte // bytes read before this process had the socket (Preface), served first

	spin time.Duration // how long Read polls before it blocks (SetSpin)
}

// SetSpin makes Read poll the socket for up to d before it sleeps in recvmsg(2). A reply
// that comes within d then costs no thread wake-up (tens of µs on an idle host), as NVIDIA's
// runtime spins on a sync by default when the host has cores to spare.
func (c *FDConn) SetSpin(d time.Duration) { c.spin = d }

// SpinWait is how long a thread awaiting its peer polls the socket before it sleeps, on
// either side: VGPU_SPIN_US microseconds, by default 2 ms on a host of 8 or more CPUs and none
// on smaller ones, where the spinning thread would take the core its peer needs.
func SpinWait() time.Duration {
	if v, err := strconv.Atoi(os.Getenv("VGPU_SPIN_US")); err == nil && v >= 0 {
		return time.Duration(min(v, 1_000_000)) * time.Microsecond
	}
	if runtime.NumCPU() >= 8 {
		return 2 * time.Millisecond
	}
	return 0
}

// Preface makes b the first bytes Read returns, before the socket's own: a worker process
// is handed a connection whose hello its parent has already read.
func (c *FDConn) Preface(b []byte) { c.preface = append([]byte(nil), b...) }

// takePreface serves Read from the preface while it lasts.
func (c *FDConn) takePreface(p []byte) int {
	n := copy(p, c.preface)
	if c.preface = c.preface[n:]; len(c.preface) == 0 {
		c.preface = nil
	}
	return n
}

// File is a duplicate of the socket, for a child process to inherit.
func (c *FDConn) File() (*os.File, error) {
	fd, err := unix.FcntlInt(uintptr(c.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "vgpu-client"), nil
}

// MaxReceivedFDs bounds the descriptors a peer may have waiting on one connection: a
// request takes one, so a well-behaved peer never has more than one waiting. Beyond the
// bound they are closed as they arrive.
const MaxReceivedFDs = 4

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
	return &FDConn{fd: fd, oob: make([]byte, unix.CmsgSpace(4*MaxReceivedFDs))}, nil
}

func (c *FDConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if c.preface != nil {
		return c.takePreface(p), nil
	}
	flags := 0
	var start time.Time
	if c.spin > 0 {
		flags = unix.MSG_DONTWAIT
		start = time.Now()
	}
	for {
		n, err := c.recv(p, flags)
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN && flags != 0 {
			if time.Since(start) >= c.spin {
				flags = 0 // sleep until the bytes come
			}
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

// recv is one recvmsg(2) into p, without allocating (the hot path of every read), keeping
// any descriptors that came with the bytes. They arrive close-on-exec.
func (c *FDConn) recv(p []byte, flags int) (int, error) {
	iov := unix.Iovec{Base: &p[0]}
	iov.SetLen(len(p))
	msg := unix.Msghdr{Iov: &iov, Control: &c.oob[0]}
	msg.SetIovlen(1)
	msg.SetControllen(len(c.oob))
	n, _, e := unix.Syscall(unix.SYS_RECVMSG, uintptr(c.fd), uintptr(unsafe.Pointer(&msg)), uintptr(unix.MSG_CMSG_CLOEXEC|flags))
	if e != 0 {
		return 0, e
	}
	if msg.Controllen > 0 {
		c.keep(c.oob[:msg.Controllen])
	}
	return int(n), nil
}

// keep queues the descriptors in control messages, closing those beyond the bound.
func (c *FDConn) keep(oob []byte) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return
	}
	c.fdMu.Lock()
	defer c.fdMu.Unlock()
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if len(c.received) < MaxReceivedFDs {
				c.received = append(c.received, fd)
			} else {
				unix.Close(fd)
			}
		}
	}
}

// TakeFD hands over the oldest descriptor the peer passed (the caller closes it); false
// when none is waiting. A sender passes a descriptor with the frame of the request that
// uses it (SendFD), and it arrives with that frame's first byte: by the time a reader has
// the request, its descriptor is here.
func (c *FDConn) TakeFD() (int, bool) {
	c.fdMu.Lock()
	defer c.fdMu.Unlock()
	if len(c.received) == 0 {
		return -1, false
	}
	fd := c.received[0]
	c.received = c.received[1:]
	return fd, true
}

// SendFD writes b, passing fd (SCM_RIGHTS) with its first byte: on a unix socket only.
func (c *FDConn) SendFD(b []byte, fd int) error {
	if len(b) == 0 {
		return errors.New("wire: a descriptor travels with at least one byte")
	}
	rights := unix.UnixRights(fd)
	for {
		n, err := unix.SendmsgN(c.fd, b, rights, nil, 0)
		if err == unix.EINTR || (err == unix.EAGAIN && c.PeerSpoke()) {
			continue // nothing was sent: the descriptor goes with the retry
		}
		if err != nil {
			return err
		}
		if n < len(b) {
			_, err = c.Write(b[n:])
		}
		return err
	}
}

// PeerCred is the process at the other end of a unix socket (pid, uid, gid), as the kernel
// recorded it when the peer connected, in this process's namespaces.
func (c *FDConn) PeerCred() (*unix.Ucred, error) {
	return unix.GetsockoptUcred(c.fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
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

// Close closes the socket and the descriptors the peer passed that nothing took.
func (c *FDConn) Close() error {
	c.fdMu.Lock()
	for _, fd := range c.received {
		unix.Close(fd)
	}
	c.received = nil
	c.fdMu.Unlock()
	return unix.Close(c.fd)
}

// FromConn moves an established connection onto blocking system calls: it duplicates the
// socket and closes nc.
func FromConn(nc net.Conn, timeout time.Duration) (*FDConn, error) {
	defer nc.Close()
	f, err := nc.(interface{ File() (*os.File, error) }).File() // a blocking duplicate
	if err != nil {
		return nil, err
	}
	// Close-on-exec: a worker process started for another client must not inherit it.
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
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
