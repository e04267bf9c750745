package wire

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// vsock carries the protocol between a virtual machine and its host, where the kernel has
// AF_VSOCK. Go's net package does not know the family, so these are plain system calls.

// ParseVsock reads "cid:port".
func ParseVsock(addr string) (cid, port uint32, err error) {
	c, p, ok := strings.Cut(addr, ":")
	if !ok {
		return 0, 0, fmt.Errorf("vsock address %q: want cid:port", addr)
	}
	cv, err1 := strconv.ParseUint(c, 10, 32)
	pv, err2 := strconv.ParseUint(p, 10, 32)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("vsock address %q: want cid:port, both numbers", addr)
	}
	return uint32(cv), uint32(pv), nil
}

// DialVsock connects to cid:port within timeout.
func DialVsock(addr string, timeout time.Duration) (*FDConn, error) {
	cid, port, err := ParseVsock(addr)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Socket(unix.AF_VSOCK, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("vsock: %w (no AF_VSOCK in this kernel?)", err)
	}
	err = unix.Connect(fd, &unix.SockaddrVM{CID: cid, Port: port})
	if err == unix.EINPROGRESS { // wait for the connection, as long as the timeout allows
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		var n int
		if n, err = unix.Poll(pfd, int(timeout.Milliseconds())); err == nil && n == 0 {
			err = unix.ETIMEDOUT
		}
		if err == nil {
			var soerr int
			if soerr, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR); err == nil && soerr != 0 {
				err = unix.Errno(soerr)
			}
		}
	}
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	c, err := NewFDConn(fd, timeout)
	if err != nil {
		unix.Close(fd)
	}
	return c, err
}

// VsockListener accepts vsock connections on a port.
type VsockListener struct{ fd int }

// ListenVsock listens on port for any CID.
func ListenVsock(addr string) (*VsockListener, error) {
	_, port, err := ParseVsock(addr)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Socket(unix.AF_VSOCK, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("vsock: %w (no AF_VSOCK in this kernel?)", err)
	}
	if err = unix.Bind(fd, &unix.SockaddrVM{CID: unix.VMADDR_CID_ANY, Port: port}); err == nil {
		err = unix.Listen(fd, 64)
	}
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &VsockListener{fd: fd}, nil
}

// Accept returns the next connection (blocking calls, no timeout: see NewFDConn) and the
// peer's cid:port.
func (l *VsockListener) Accept() (Conn, string, error) {
	for {
		nfd, sa, err := unix.Accept4(l.fd, unix.SOCK_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		peer := "vsock"
		if vm, ok := sa.(*unix.SockaddrVM); ok {
			peer = fmt.Sprintf("vsock:%d:%d", vm.CID, vm.Port)
		}
		c, err := NewFDConn(nfd, 0)
		if err != nil {
			unix.Close(nfd)
			continue
		}
		return c, peer, nil
	}
}

// Close stops listening.
func (l *VsockListener) Close() error { return unix.Close(l.fd) }
