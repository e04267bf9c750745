package server

import (
	"encoding/binary"
	"testing"

	"vgpu/shim"
	"vgpu/wire"
)

// The server's own protocol ops (bulk copies, code, shared memory) never panic on hostile
// payloads: they answer with an error status.
func FuzzProtocolOps(f *testing.F) {
	u := func(vs ...uint64) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint64(b, v)
		}
		return b
	}
	f.Add(uint8(0), u(0x1000))
	f.Add(uint8(9), u(0, 0, 1<<63, 2, 0))    // OpPut2D whose width*rows wraps to the payload's size
	f.Add(uint8(10), u(0, 16, 1<<62, 4))     // OpGet2D, huge
	f.Add(uint8(11), u(1, 2, 3, 4, 5, 6, 7)) // OpCopy2D
	f.Add(uint8(7), u(0, 0, 0, 0))           // OpFuncQuery
	f.Add(uint8(13), u(0, 0, 8, 8))          // OpPutShm
	f.Add(uint8(14), u(0, 1<<21, 1<<21))     // OpGetShm at the area's end
	f.Add(uint8(6), append(u(0), make([]byte, 48)...))
	byOp := opTable()
	// A window as attach leaves it, over plain memory: offsets and lengths come from the fuzzer.
	b := make([]byte, 4<<20)
	half := (len(b) - shmHeader) / 2
	window := &shmWindow{b: b, ring: b[shmHeader : shmHeader+half], download: b[shmHeader+half:]}
	s := shim.S()
	if s.Err != nil {
		f.Skip(s.Err)
	}
	f.Fuzz(func(t *testing.T, which uint8, payload []byte) {
		op := uint32(wire.OpPut) + uint32(which)%15
		switch op {
		case wire.OpShmAttach: // needs a socket: covered by the CI's clients
			return
		case wire.OpPutShm, wire.OpGetShm:
			var none shmWindow
			none.op(op, payload)
			window.op(op, payload)
		default:
			answer(op, payload, byOp)
		}
	})
}
