package wire

import (
	"errors"
	"io"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// RingConn carries the protocol's byte stream through two rings in memory the client and a
// server on its host both map (a sealed memfd the client passed), one each way, instead of
// through the socket. A round trip then needs no system call while both ends are awake: a
// reader spins on the other side's head for up to its spin time, as NVIDIA's runtime spins
// on a sync, and only then sleeps in recv(2) on the socket, whose bytes are nothing but
// doorbells from then on (and the descriptors that travel with them). A writer rings the
// doorbell only when the other side says it sleeps.
//
// The region is shared with a process this one may not trust. Each side keeps its own
// positions privately and only publishes them; what it reads of the other side's (a head to
// read up to, a tail to write up to) is checked against the ring's size before use, and
// bytes are copied out before anything parses them. A peer that breaks the rules breaks its
// own connection only.
//
// Reads are not concurrent with each other, nor writes with writes (both ends serialise
// them already); a read and a write may run at once. Only Read, Writev and TakeFD read the
// socket (a write may wait for room there), so a side whose reads and writes come from one
// thread, and whose other threads only TrySend, has one thread on the socket at a time.
type RingConn struct {
	sock  *FDConn
	mem   []byte
	rx    ring   // the peer writes, this side reads
	tx    ring   // this side writes
	me    *int32 // this side's "asleep" flag
	peer  *int32 // the other side's
	txPos uint64 // bytes ever written into tx (private: never read back from the region)
	shown uint64 // how many of them the head shows the peer
	rxPos uint64 // bytes ever read out of rx
	spin  time.Duration

	headSeen uint64   // rx's head at the last PeerSpoke
	bell     [64]byte // doorbells read (by the reading side only)
}

type ring struct {
	head, tail *uint64 // bytes ever written, ever read
	data       []byte
}

// The region: a header page (per side an asleep flag; per ring a head and a tail, each on a
// cache line of its own), then the client-to-server ring, then the server-to-client ring.
const (
	RingHeader  = 4096
	MinRingSize = 64 << 10
	MaxRingSize = 16 << 20

	ringAsleep = 0   // + 64 × side (0 client, 1 server)
	ringHead   = 256 // + 256 × ring (0 client to server, 1 server to client)
	ringTail   = 384 // + 256 × ring
)

var errRingBroken = errors.New("wire: the shared ring's positions are out of bounds")

// RingRegionSize is the size of a region holding two rings of n bytes each.
func RingRegionSize(n int) int { return RingHeader + 2*n }

// RingSizeOf is the size of each ring in a region of size bytes, or 0 when size is not a
// region's: rings are powers of two between MinRingSize and MaxRingSize.
func RingSizeOf(size uint64) int {
	if size < RingHeader || (size-RingHeader)%2 != 0 {
		return 0
	}
	n := (size - RingHeader) / 2
	if n < MinRingSize || n > MaxRingSize || n&(n-1) != 0 {
		return 0
	}
	return int(n)
}

// NewRingConn takes over sock for a region mem that RingSizeOf accepts; server is which
// side this is. The region must be fresh (zero) or left as the other side set it up.
func NewRingConn(sock *FDConn, mem []byte, server bool, spin time.Duration) (*RingConn, error) {
	n := RingSizeOf(uint64(len(mem)))
	if n == 0 {
		return nil, errors.New("wire: not a ring region")
	}
	at := func(off int) unsafe.Pointer { return unsafe.Pointer(&mem[off]) }
	mk := func(i int) ring {
		return ring{head: (*uint64)(at(ringHead + 256*i)), tail: (*uint64)(at(ringTail + 256*i)),
			data: mem[RingHeader+n*i : RingHeader+n*(i+1) : RingHeader+n*(i+1)]}
	}
	c := &RingConn{sock: sock, mem: mem, spin: spin}
	me, other := 0, 1
	c.tx, c.rx = mk(0), mk(1)
	if server {
		me, other = 1, 0
		c.tx, c.rx = mk(1), mk(0)
	}
	c.me, c.peer = (*int32)(at(ringAsleep+64*me)), (*int32)(at(ringAsleep+64*other))
	sock.SetSpin(0) // the spinning is on the ring; the socket is slept on
	return c, nil
}

var _ Conn = (*RingConn)(nil)

// Socket is the connection the doorbells travel on.
func (c *RingConn) Socket() *FDConn { return c.sock }

// PeerWaiting reports whether the other side has read everything written to it and
// spins for more: a write now reaches it at once and with no system call.
func (c *RingConn) PeerWaiting() bool {
	return atomic.LoadInt32(c.peer) == awake && atomic.LoadUint64(c.tx.tail) == c.shown
}

// available is how many bytes wait in rx, or an error when the peer's head is impossible.
func (c *RingConn) available() (uint64, error) {
	n := atomic.LoadUint64(c.rx.head) - c.rxPos
	if n > uint64(len(c.rx.data)) {
		return 0, errRingBroken
	}
	return n, nil
}

// room is how many bytes tx can take now.
func (c *RingConn) room() (uint64, error) {
	used := c.txPos - atomic.LoadUint64(c.tx.tail)
	if used > uint64(len(c.tx.data)) {
		return 0, errRingBroken
	}
	return uint64(len(c.tx.data)) - used, nil
}

func (c *RingConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := c.available()
		if err != nil {
			return 0, err
		}
		if n > 0 {
			n = min(n, uint64(len(p)))
			size := uint64(len(c.rx.data))
			at := c.rxPos % size
			k := copy(p[:n], c.rx.data[at:])
			copy(p[k:n], c.rx.data)
			c.rxPos += n
			atomic.StoreUint64(c.rx.tail, c.rxPos)
			if atomic.LoadInt32(c.peer) == asleepForRoom {
				c.ring()
			}
			return int(n), nil
		}
		if err := c.wait(asleepForData, func() bool { n, err := c.available(); return n > 0 || err != nil }); err != nil {
			return 0, err
		}
	}
}

func (c *RingConn) Write(p []byte) (int, error) {
	if err := c.Writev(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Writev writes bufs as one stretch of the stream, published at the end (or whenever the
// ring fills), so a frame written from its parts costs the reader one wake-up at most.
func (c *RingConn) Writev(bufs ...[]byte) error {
	for _, b := range bufs {
		for len(b) > 0 {
			free, err := c.room()
			if err != nil {
				return err
			}
			if free == 0 {
				c.publish()
				if err := c.wait(asleepForRoom, func() bool { n, err := c.room(); return n > 0 || err != nil }); err != nil {
					return err
				}
				continue
			}
			n := min(free, uint64(len(b)))
			size := uint64(len(c.tx.data))
			at := c.txPos % size
			k := copy(c.tx.data[at:], b[:n])
			copy(c.tx.data, b[k:n])
			c.txPos += n
			b = b[n:]
		}
	}
	c.publish()
	return nil
}

// TrySend writes b only if the ring has room for all of it now: a KindBusy frame is
// skipped when the peer is not reading, as on a socket. It never waits: the room is read
// once, so a peer that moves its tail back meanwhile (its own unread bytes overwritten)
// cannot send the caller, another goroutine than the reader's, to sleep on the socket.
func (c *RingConn) TrySend(b []byte) error {
	free, err := c.room()
	if err != nil {
		return err
	}
	if free < uint64(len(b)) {
		return nil
	}
	at := c.txPos % uint64(len(c.tx.data))
	k := copy(c.tx.data[at:], b)
	copy(c.tx.data, b[k:])
	c.txPos += uint64(len(b))
	c.publish()
	return nil
}

// PeerSpoke reports whether the peer wrote since the last time it was asked.
func (c *RingConn) PeerSpoke() bool {
	h := atomic.LoadUint64(c.rx.head)
	grew := h != c.headSeen
	c.headSeen = h
	return grew
}

// TakeFD hands over a descriptor the peer passed with SendFD. It came with a doorbell
// byte sent before the request that uses it, so it is already on the socket: read what is
// there without waiting.
func (c *RingConn) TakeFD() (int, bool) {
	if fd, ok := c.sock.TakeFD(); ok {
		return fd, true
	}
	for {
		n, err := c.sock.recv(c.bell[:], unix.MSG_DONTWAIT)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			break
		}
	}
	return c.sock.TakeFD()
}

// SendFD writes b, passing fd on the socket first, so that the peer has the descriptor
// by the time it reads b.
func (c *RingConn) SendFD(b []byte, fd int) error {
	if err := c.sock.SendFD([]byte{0}, fd); err != nil {
		return err
	}
	return c.Writev(b)
}

// Close closes the socket; the region stays mapped (its owner unmaps it once nothing can
// touch it), and the peer sees the connection end.
func (c *RingConn) Close() error { return c.sock.Close() }

// What a side's asleep flag says: it sleeps in recv(2) until the other side rings.
const (
	awake         = 0
	asleepForData = 1 // rung by a write
	asleepForRoom = 2 // rung by a write too (a busy frame keeps a stalled writer's timeout
	// from running out, as on a socket) and by a read that makes room
)

// publish shows the peer what was written, and wakes it if it sleeps.
func (c *RingConn) publish() {
	if c.shown == c.txPos {
		return
	}
	c.shown = c.txPos
	atomic.StoreUint64(c.tx.head, c.txPos)
	if atomic.LoadInt32(c.peer) != awake {
		c.ring()
	}
}

var doorbell = []byte{1}

// ring sends the peer a doorbell byte. It never blocks: a socket too full to take one
// already holds doorbells the peer has yet to read.
func (c *RingConn) ring() {
	for {
		_, err := unix.SendmsgN(c.sock.fd, doorbell, nil, nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
		if err != unix.EINTR {
			return
		}
	}
}

// wait returns once ready says so: at first it spins (no system call), then it sleeps on
// the socket until rung, with the flag (why) set so that the peer knows to ring. The
// socket's receive timeout, and the peer closing it, end the wait with an error.
func (c *RingConn) wait(why int32, ready func() bool) error {
	if c.spin > 0 {
		start := time.Now()
		for i := 1; ; i++ {
			if ready() {
				return nil
			}
			if i%64 == 0 && time.Since(start) >= c.spin {
				break
			}
		}
	}
	for {
		atomic.StoreInt32(c.me, why)
		if ready() { // the peer may have written before it could see the flag
			atomic.StoreInt32(c.me, awake)
			return nil
		}
		n, err := c.sock.recv(c.bell[:], 0)
		atomic.StoreInt32(c.me, awake)
		switch {
		case err == unix.EINTR:
		case err != nil:
			return err
		case n == 0:
			return io.EOF
		case ready():
			return nil
		}
	}
}
