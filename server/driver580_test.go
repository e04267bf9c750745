package server

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/cuda"
	"vgpu/shim"
	"vgpu/shim/api"
	"vgpu/wire"
)

// call sends one request for op as a client would, and decodes the answer.
func call580(t *testing.T, op uint32, vals []wire.Value) (uint64, [][]byte) {
	t.Helper()
	byOp := opTable()
	f := byOp[op]
	require.NotNil(t, f)
	req, err := wire.EncodeRequest(f, vals)
	require.NoError(t, err)
	res, outs, err := wire.DecodeResponse(f, answer(op, req, byOp))
	require.NoError(t, err)
	return res, outs
}

// A client's CUdevResource reaches the server as bytes it wrote: one naming SMs past the
// device, or claiming a count its set does not have, is refused; a group count past the
// protocol's bound is refused before anything is sized from it.
func TestServerRefusesForgedDeviceResources(t *testing.T) {
	require.Equal(t, cuda.Success, cuda.Init(0))
	var res []byte
	shim.AsClient(580, func() {
		r, outs := call580(t, 14000, []wire.Value{{U: 0}, {U: 1}, {U: 1}})
		require.Equal(t, uint64(0), r)
		res = append([]byte(nil), outs[1]...)
	})
	require.Len(t, res, 144)
	le := binary.LittleEndian
	split := func(in []byte, nb uint32) uint64 {
		var r uint64
		shim.AsClient(580, func() {
			r, _ = call580(t, 14003, []wire.Value{{U: 0}, {U: 1, B: le.AppendUint32(nil, nb)}, {U: 1, B: in}, {U: 0}, {U: 0}, {U: 8}})
		})
		return r
	}
	assert.Equal(t, uint64(0), split(res, 0), "the device's own resource")
	past := append([]byte(nil), res...)
	past[20+31] = 0x80 // SM 255 of a 132-SM device
	assert.Equal(t, uint64(cuda.ErrorInvalidResourceConfig), split(past, 0))
	count := append([]byte(nil), res...)
	le.PutUint32(count[96:], 200)
	assert.Equal(t, uint64(cuda.ErrorInvalidResourceConfig), split(count, 0))
	shim.AsClient(580, func() {
		byOp := opTable()
		f := byOp[14003]
		req, err := wire.EncodeRequest(f, []wire.Value{{U: 1}, {U: 1, B: le.AppendUint32(nil, ^uint32(0))}, {U: 1, B: res}, {U: 0}, {U: 0}, {U: 8}})
		require.NoError(t, err)
		// A malformed request is answered by its status alone.
		r, _, err := wire.DecodeResponse(&api.Func{}, answer(14003, req, byOp))
		require.NoError(t, err)
		assert.Equal(t, uint64(cuda.ErrorInvalidValue), r, "4 billion groups of 144 bytes are not allocated")
	})
	shim.ReleaseOwned(580)
}
