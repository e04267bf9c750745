// Package wire is the remote protocol's encoding: frames on a byte stream, and calls whose
// layout is derived from the declarative function list (shim/api), never written by hand
// per function. Every length is bounded, and decoding untrusted bytes returns an error,
// never a panic.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// Version is the protocol version; peers with another version are refused at the handshake.
// 4: rings (OpRingAttach), which a client asks for at connect with a descriptor that a
// server of version 3 would leave queued ahead of the next request's.
const Version = 4

// Frame kinds.
const (
	KindHello    = 1 // client -> server, first frame
	KindWelcome  = 2 // server -> client, answer to Hello
	KindRequest  = 3
	KindResponse = 4
	KindPost     = 5 // a request that gets no response: its error, if any, comes with the next synchronising call
	KindBusy     = 6 // server -> client, empty: a call is still running, so a waiting client keeps waiting
	// A response that also says everything posted before its request has completed without
	// error (a download waits for it): the client's next synchronisation has nothing to wait for.
	KindDrained = 7
)

// BusyInterval is how often a server that is still working says so. A client's timeout
// then measures a silent server, not a long kernel or a large first-touch memset.
const BusyInterval = time.Second

const (
	magic     = 0x7647 // "vG"
	headerLen = 16
	// MaxPayload bounds one frame. Bulk copies are split into frames below it.
	MaxPayload = 64 << 20
	// MaxHello bounds the frames of a connection not yet authenticated (its hello): a
	// stranger makes the server allocate no more than this.
	MaxHello = 64 << 10
)

// Header precedes every frame.
type Header struct {
	Version uint8
	Kind    uint8
	Op      uint32 // function opcode for requests and responses
	Seq     uint32 // matches a response to its request
	Len     uint32 // payload bytes
}

var (
	ErrMagic    = errors.New("wire: not a vgpu frame")
	ErrVersion  = errors.New("wire: protocol version mismatch")
	ErrTooLarge = errors.New("wire: frame larger than the protocol allows")
)

// WriteFrame writes one frame.
func WriteFrame(w io.Writer, h Header, payload []byte) error {
	// One write per frame: one system call, one wake-up on the other side.
	b, err := AppendFrame(make([]byte, 0, headerLen+len(payload)), h, payload)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// AppendFrame appends one frame to b, for writers that batch several frames in one write.
func AppendFrame(b []byte, h Header, payload []byte) ([]byte, error) {
	if len(payload) > MaxPayload {
		return b, ErrTooLarge
	}
	return append(AppendHeader(b, h, len(payload)), payload...), nil
}

// AppendHeader appends the header of a frame whose payload is n bytes, for writers that
// send the payload from where it lies (Writev).
func AppendHeader(b []byte, h Header, n int) []byte {
	b = binary.LittleEndian.AppendUint16(b, magic)
	b = append(b, Version, h.Kind)
	b = binary.LittleEndian.AppendUint32(b, h.Op)
	b = binary.LittleEndian.AppendUint32(b, h.Seq)
	return binary.LittleEndian.AppendUint32(b, uint32(n))
}

// ReadFrame reads one frame, refusing foreign, mismatched or oversized ones before
// allocating for them.
func ReadFrame(r io.Reader) (Header, []byte, error) { return ReadFrameLimit(r, MaxPayload) }

// ReadFrameLimit is ReadFrame for frames of at most limit payload bytes: a larger header is
// refused before anything is allocated or read for its payload.
func ReadFrameLimit(r io.Reader, limit uint32) (Header, []byte, error) {
	h, err := ReadHeader(r)
	if err != nil {
		return h, nil, err
	}
	if h.Len > limit {
		return h, nil, ErrTooLarge
	}
	payload := make([]byte, h.Len)
	if _, err := io.ReadFull(r, payload); err != nil {
		return h, nil, err
	}
	return h, payload, nil
}

// ReadHeader reads a frame's header and checks it; the caller reads h.Len payload bytes,
// where it wants them.
func ReadHeader(r io.Reader) (Header, error) {
	var b [headerLen]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return Header{}, err
	}
	return ParseHeader(b[:])
}

// HeaderLen is the size of a frame's header.
const HeaderLen = headerLen

// ParseHeader checks and decodes a frame's header from its HeaderLen bytes (a reader that
// has them buffered parses them in place, with no copy).
func ParseHeader(b []byte) (Header, error) {
	if binary.LittleEndian.Uint16(b[0:]) != magic {
		return Header{}, ErrMagic
	}
	h := Header{Version: b[2], Kind: b[3], Op: binary.LittleEndian.Uint32(b[4:]),
		Seq: binary.LittleEndian.Uint32(b[8:]), Len: binary.LittleEndian.Uint32(b[12:])}
	if h.Version != Version {
		return h, fmt.Errorf("%w: peer speaks %d, this side %d", ErrVersion, h.Version, Version)
	}
	if h.Len > MaxPayload {
		return h, ErrTooLarge
	}
	return h, nil
}
