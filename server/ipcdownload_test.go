package server

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"vgpu/shim"
	"vgpu/wire"
)

// A download the sim answers from device memory is written from there after its request was
// checked. If that memory is another client's, mapped by IPC handle, and its owner frees it
// meanwhile, the memory must outlive the write: released under it, the addresses could hold
// a third client's data by the time the socket takes them. Here the reader stalls, so the
// 8 MiB reply is still being written when the owner frees the memory; the reader then gets
// every byte as it was.
func TestADownloadFromIPCMemoryOutlivesItsOwnersFree(t *testing.T) {
	s := startServer(t, Options{})
	owner, reader := s.dial(t), s.dial(t)
	const size = 8 << 20
	p := owner.malloc(size)
	want := bytes.Repeat([]byte("ipc-mapped bytes"), size/16)
	for off := 0; off < size; off += 1 << 20 {
		require.Equal(t, shim.OK, owner.put(p+uint64(off), want[off:off+1<<20]))
	}
	r, outs := owner.call("cudaIpcGetMemHandle", wire.Value{U: 1}, wire.Value{U: p})
	require.Zero(t, r)
	r, outs = reader.call("cudaIpcOpenMemHandle", wire.Value{U: 1}, wire.Value{U: 1, B: outs[0]}, wire.Value{U: 1})
	require.Zero(t, r)
	mapped := binary.LittleEndian.Uint64(outs[0])

	reader.seq++
	require.NoError(t, wire.WriteFrame(reader.c, wire.Header{Kind: wire.KindRequest, Op: wire.OpGet, Seq: reader.seq}, u64s(mapped, size)))
	time.Sleep(100 * time.Millisecond) // the server is writing, the socket full
	r, _ = owner.call("cudaFree", wire.Value{U: p})
	require.Zero(t, r)
	time.Sleep(100 * time.Millisecond) // time enough to release it, were it not in use

	var h wire.Header
	for {
		var err error
		h, err = wire.ReadHeader(reader.c)
		require.NoError(t, err)
		if h.Kind != wire.KindBusy {
			break
		}
	}
	require.Equal(t, reader.seq, h.Seq)
	got := make([]byte, h.Len)
	_, err := io.ReadFull(reader.c, got)
	require.NoError(t, err, "the reply was cut short")
	require.Equal(t, byte(shim.OK), got[0])
	require.True(t, bytes.Equal(want, got[1:]), "the bytes changed under the write")
}
