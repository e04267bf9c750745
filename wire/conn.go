package wire

// Conn is one end of the protocol's byte stream: a plain socket on blocking system calls
// (FDConn), or a TLS session over one. Both ends write whole frames, sometimes from where
// the bytes lie (Writev), and ask whether the peer is still sending while a write stalls.
type Conn interface {
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	Writev(bufs ...[]byte) error
	PeerSpoke() bool
	TrySend(b []byte) error
	Close() error
}

var _ Conn = (*FDConn)(nil)
