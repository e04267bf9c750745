package wire

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// TLS carries the protocol between hosts: TLS 1.3 over the same blocking socket an FDConn
// uses. crypto/tls wants a net.Conn; rawConn is one over a wire.Conn whose Read and Write
// stay blocking system calls on the caller's thread (no network poller, as for FDConn).
//
// Differences from a plain FDConn, none of which the protocol notices:
//   - Writev joins small buffers into one TLS write; large ones go one TLS write each
//     (TLS copies into records anyway, so "no copy" cannot hold).
//   - TrySend (busy frames, a few bytes) writes unless the socket's send queue is nearly
//     full, where a plain socket would say EAGAIN: a TLS record cannot be half-sent and
//     resumed later, so it is either written whole or skipped.
//   - PeerSpoke asks the socket underneath: encrypted bytes arriving count as speaking.

// TLSConn is a TLS 1.3 session over a stream socket.
type TLSConn struct {
	tc     *tls.Conn
	raw    *rawConn
	wmu    sync.Mutex // guards joined
	joined []byte     // Writev's buffer, kept between calls
}

var _ Conn = (*TLSConn)(nil)

// TLSServer runs the server side of the handshake on c, which must finish by deadline
// (a client that stalls cannot hold the connection longer). c stays its caller's, as
// server.Options.Upgrade wants: closing the result sends close_notify, not close(2).
func TLSServer(c Conn, cfg *tls.Config, deadline time.Time) (*TLSConn, error) {
	r := &rawConn{c: c}
	return handshake(r, deadline, tls.Server(r, cfg))
}

// TLSClient runs the client side of the handshake on c within deadline; the result owns c
// (closed on failure, and by its Close).
func TLSClient(c Conn, cfg *tls.Config, deadline time.Time) (*TLSConn, error) {
	r := &rawConn{c: c, owns: true}
	return handshake(r, deadline, tls.Client(r, cfg))
}

func handshake(r *rawConn, deadline time.Time, tc *tls.Conn) (*TLSConn, error) {
	err := r.SetDeadline(deadline)
	if err == nil {
		err = tc.Handshake()
	}
	if err == nil && tc.ConnectionState().Version != tls.VersionTLS13 { // MinVersion says so too; be sure
		err = fmt.Errorf("TLS version %#x, want 1.3", tc.ConnectionState().Version)
	}
	if err == nil {
		err = r.SetDeadline(time.Time{}) // back to the socket's own timeouts
	}
	if err != nil {
		r.SetDeadline(time.Time{}) // the socket as it was, for its owner
		r.Close()
		return nil, err
	}
	return &TLSConn{tc: tc, raw: r}, nil
}

func (c *TLSConn) Read(p []byte) (int, error) { return c.tc.Read(p) }

func (c *TLSConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.raw.gather(true)
	n, err := c.tc.Write(p)
	if ferr := c.raw.gather(false); err == nil {
		err = ferr
	}
	return n, err
}

// coalesce is how much Writev joins into one TLS write.
const coalesce = 64 << 10

// Writev writes bufs in order: small ones joined into one TLS write, large ones on their own.
func (c *TLSConn) Writev(bufs ...[]byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.raw.gather(true)
	defer c.raw.gather(false) // an error here follows one the writes already returned
	joined := c.joined[:0]
	defer func() { c.joined = joined[:0] }()
	flush := func() error {
		if len(joined) == 0 {
			return nil
		}
		_, err := c.tc.Write(joined)
		joined = joined[:0]
		return err
	}
	for _, b := range bufs {
		if len(b) >= coalesce {
			if err := flush(); err != nil {
				return err
			}
			if _, err := c.tc.Write(b); err != nil {
				return err
			}
			continue
		}
		if len(joined)+len(b) > coalesce {
			if err := flush(); err != nil {
				return err
			}
		}
		joined = append(joined, b...)
	}
	return flush()
}

// PeerSpoke reports whether the peer sent anything since it was last asked.
func (c *TLSConn) PeerSpoke() bool { return c.raw.buffered() > 0 || c.raw.c.PeerSpoke() }

// TrySend writes b as one TLS record unless the socket's send queue is close to full (see
// the package comment above): the caller may skip the message when the peer is not reading.
func (c *TLSConn) TrySend(b []byte) error {
	if fc, ok := c.raw.c.(*FDConn); ok && !fc.roomFor(len(b)+64) { // a record adds 22 bytes
		return nil
	}
	_, err := c.Write(b)
	return err
}

// Rebase moves the session onto under, the same socket by other means: a server's session
// leaves the network poller it was admitted through once the client is trusted, for the
// blocking system calls a plain session uses (each reply written through the poller cost
// goroutine hand-offs whenever the socket filled). No read or write may be under way.
func (c *TLSConn) Rebase(under Conn) { c.raw.c = under }

// SetSpin is FDConn's SetSpin for the socket underneath, where it is one.
func (c *TLSConn) SetSpin(d time.Duration) {
	if fc, ok := c.raw.c.(*FDConn); ok {
		fc.SetSpin(d)
	}
}

// Close ends the session (close_notify, bounded by tls's own 5 s write deadline) and, for a
// client, closes the socket underneath.
func (c *TLSConn) Close() error { return c.tc.Close() }

// roomFor reports whether n more bytes fit in the socket's send buffer now.
func (c *FDConn) roomFor(n int) bool {
	queued, err1 := unix.IoctlGetInt(c.fd, unix.SIOCOUTQ)
	size, err2 := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_SNDBUF)
	if err1 != nil || err2 != nil {
		return true // unknown: write, as a plain blocking socket would
	}
	return queued+n <= size/2 // the kernel doubles SO_SNDBUF for its bookkeeping
}

// rawConn is a net.Conn over a wire.Conn for crypto/tls. Deadlines become socket timeouts
// (SO_RCVTIMEO/SO_SNDTIMEO) recomputed before every system call, so a peer trickling bytes
// cannot stretch a handshake past its deadline.
//
// crypto/tls reads and writes one record (at most 16 KB) per call. A 600 KB reply would cost
// about 40 system calls on each side, more than its encryption on a loaded host, so writes
// made inside one TLSConn write are gathered (up to gatherMax) and reads fill a read-ahead
// buffer: a few system calls per message, for one extra copy of its bytes.
type rawConn struct {
	c      Conn
	mu     sync.Mutex
	rd, wd time.Time // zero: none
	saved  *[2]unix.Timeval
	owns   bool // Close closes c
	once   sync.Once
	closed error

	omu       sync.Mutex // guards gathering and out (tls may write from a Read, e.g. a key update)
	gathering bool       // inside a TLSConn write: Write appends to out
	out       []byte     // gathered records
	in        []byte     // read-ahead buffer
	inPos     int        // in[inPos:inEnd] is unread
	inEnd     int
}

const (
	gatherMax = 256 << 10 // gathered bytes beyond this are written at once
	readAhead = 256 << 10
)

// gather starts (on) or ends (off) gathering, writing what was gathered.
func (r *rawConn) gather(on bool) error {
	r.omu.Lock()
	defer r.omu.Unlock()
	r.gathering = on
	if on {
		return nil
	}
	return r.flush()
}

// flush writes what was gathered; omu is held.
func (r *rawConn) flush() error {
	if len(r.out) == 0 {
		return nil
	}
	_, err := r.write(r.out)
	if cap(r.out) > 4*gatherMax { // a one-off giant write does not pin its buffer
		r.out = nil
	} else {
		r.out = r.out[:0]
	}
	return err
}

// buffered is how many read-ahead bytes are unread.
func (r *rawConn) buffered() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inEnd - r.inPos
}

// Read serves from the read-ahead buffer, refilling it with one system call when empty;
// a read as large as the buffer goes straight to the socket.
func (r *rawConn) Read(p []byte) (int, error) {
	r.mu.Lock()
	if r.inPos < r.inEnd {
		n := copy(p, r.in[r.inPos:r.inEnd])
		r.inPos += n
		r.mu.Unlock()
		return n, nil
	}
	r.mu.Unlock()
	if len(p) >= readAhead {
		return r.read(p)
	}
	if r.in == nil {
		r.in = make([]byte, readAhead)
	}
	n, err := r.read(r.in)
	r.mu.Lock()
	r.inPos, r.inEnd = 0, n
	m := copy(p, r.in[:n])
	r.inPos = m
	r.mu.Unlock()
	return m, err
}

func (r *rawConn) read(p []byte) (int, error) {
	fc, ok := r.c.(*FDConn)
	r.mu.Lock()
	d := r.rd
	r.mu.Unlock()
	if !ok || d.IsZero() {
		return r.c.Read(p)
	}
	for {
		if err := fc.timeoutUntil(unix.SO_RCVTIMEO, d); err != nil {
			return 0, err
		}
		n, err := unix.Read(fc.fd, p)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return 0, os.ErrDeadlineExceeded
		case err != nil:
			return 0, err
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (r *rawConn) Write(p []byte) (int, error) {
	r.omu.Lock()
	defer r.omu.Unlock()
	if r.gathering {
		if len(r.out)+len(p) > gatherMax {
			if err := r.flush(); err != nil {
				return 0, err
			}
		}
		r.out = append(r.out, p...) // tls reuses p for its next record
		return len(p), nil
	}
	return r.write(p)
}

func (r *rawConn) write(p []byte) (int, error) {
	fc, ok := r.c.(*FDConn)
	r.mu.Lock()
	d := r.wd
	r.mu.Unlock()
	if !ok || d.IsZero() {
		return r.c.Write(p)
	}
	done := 0
	for done < len(p) {
		if err := fc.timeoutUntil(unix.SO_SNDTIMEO, d); err != nil {
			return done, err
		}
		n, err := unix.Write(fc.fd, p[done:])
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return done, os.ErrDeadlineExceeded
		case err != nil:
			return done, err
		}
		done += n
	}
	return done, nil
}

// Close closes the connection underneath once, when it is ours (tls.Conn.Close calls it).
func (r *rawConn) Close() error {
	if !r.owns {
		return nil
	}
	r.once.Do(func() { r.closed = r.c.Close() })
	return r.closed
}

func (r *rawConn) SetDeadline(t time.Time) error {
	if err := r.SetReadDeadline(t); err != nil {
		return err
	}
	return r.SetWriteDeadline(t)
}

func (r *rawConn) SetReadDeadline(t time.Time) error {
	if s, ok := r.c.(interface{ SetReadDeadline(time.Time) error }); ok { // a socket with deadlines of its own
		return s.SetReadDeadline(t)
	}
	return r.setDeadline(&r.rd, t)
}

func (r *rawConn) SetWriteDeadline(t time.Time) error {
	if s, ok := r.c.(interface{ SetWriteDeadline(time.Time) error }); ok {
		return s.SetWriteDeadline(t)
	}
	return r.setDeadline(&r.wd, t)
}

// setDeadline records t for an FDConn; the socket's own timeouts are saved when a first
// deadline is set and put back once none is left.
func (r *rawConn) setDeadline(dst *time.Time, t time.Time) error {
	fc, ok := r.c.(*FDConn)
	if !ok {
		if t.IsZero() {
			return nil
		}
		return fmt.Errorf("wire: %T cannot bound a TLS handshake", r.c)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !t.IsZero() && r.saved == nil {
		var s [2]unix.Timeval
		for i, opt := range []int{unix.SO_RCVTIMEO, unix.SO_SNDTIMEO} {
			tv, err := unix.GetsockoptTimeval(fc.fd, unix.SOL_SOCKET, opt)
			if err != nil {
				return err
			}
			s[i] = *tv
		}
		r.saved = &s
	}
	*dst = t
	if r.rd.IsZero() && r.wd.IsZero() && r.saved != nil {
		for i, opt := range []int{unix.SO_RCVTIMEO, unix.SO_SNDTIMEO} {
			if err := unix.SetsockoptTimeval(fc.fd, unix.SOL_SOCKET, opt, &r.saved[i]); err != nil {
				return err
			}
		}
		r.saved = nil
	}
	return nil
}

// timeoutUntil sets the socket's timeout opt to what is left before d.
func (c *FDConn) timeoutUntil(opt int, d time.Time) error {
	left := time.Until(d)
	if left <= 0 {
		return os.ErrDeadlineExceeded
	}
	if left < time.Millisecond {
		left = time.Millisecond // 0 would mean no timeout at all
	}
	tv := unix.NsecToTimeval(left.Nanoseconds())
	return unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, opt, &tv)
}

func (r *rawConn) LocalAddr() net.Addr  { return r.addr(unix.Getsockname) }
func (r *rawConn) RemoteAddr() net.Addr { return r.addr(unix.Getpeername) }

func (r *rawConn) addr(get func(int) (unix.Sockaddr, error)) net.Addr {
	if fc, ok := r.c.(*FDConn); ok {
		if sa, err := get(fc.fd); err == nil {
			switch a := sa.(type) {
			case *unix.SockaddrInet4:
				return &net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}
			case *unix.SockaddrInet6:
				return &net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}
			}
		}
	}
	return sockAddr{}
}

type sockAddr struct{}

func (sockAddr) Network() string { return "socket" }
func (sockAddr) String() string  { return "socket" }

// Fingerprint is a certificate's SHA-256 over its DER bytes, as "sha256:" and 64 hex digits.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ParseFingerprint reads "sha256:HEX" (colons between bytes and upper case accepted, the
// prefix optional) into the form Fingerprint gives.
func ParseFingerprint(s string) (string, error) {
	h := strings.TrimSpace(s)
	if p, rest, ok := strings.Cut(h, ":"); ok && strings.EqualFold(p, "sha256") {
		h = rest
	}
	h = strings.ToLower(strings.ReplaceAll(h, ":", ""))
	if b, err := hex.DecodeString(h); err != nil || len(b) != sha256.Size {
		return "", fmt.Errorf("fingerprint %q: want sha256: and 64 hex digits, as `vgpu serve` prints", s)
	}
	return "sha256:" + h, nil
}
