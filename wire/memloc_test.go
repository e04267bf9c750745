package wire

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/shim/api"
)

// An array of cudaMemLocation in an [in] buffer reaches the server byte for byte, whatever
// its entries: a host location first (type 2, id 0, so the buffer starts 02 00 00 00 00 00
// 00 00) once arrived as zeros, a report this guards against.
func TestAnArrayOfMemLocationsArrivesIntact(t *testing.T) {
	for _, name := range []string{"cudaMemPrefetchBatchAsync", "cudaMemDiscardAndPrefetchBatchAsync"} {
		f := api.ByName()[name]
		require.NotNil(t, f, name)
		le := binary.LittleEndian
		ptrs := le.AppendUint64(le.AppendUint64(nil, 0x7f0000001000), 0x7f0000002000)
		sizes := le.AppendUint64(le.AppendUint64(nil, 4096), 8192)
		var locs []byte
		for _, v := range []uint32{2, 0, 1, 0} { // host, then device 0
			locs = le.AppendUint32(locs, v)
		}
		idxs := le.AppendUint64(le.AppendUint64(nil, 0), 1)
		args := []Value{{B: ptrs}, {B: sizes}, {U: 2}, {B: locs}, {B: idxs}, {U: 2}, {U: 0}, {U: 0}}
		req, err := EncodeRequest(f, args)
		require.NoError(t, err)
		got, err := DecodeRequest(f, req)
		require.NoError(t, err)
		assert.Equal(t, ptrs, got[0].B, name)
		assert.Equal(t, sizes, got[1].B, name)
		assert.Equal(t, locs, got[3].B, "%s: the locations, host first", name)
		assert.Equal(t, idxs, got[4].B, name)
		n, err := BufSize(f, f.Args[3], got)
		require.NoError(t, err)
		assert.Equal(t, 16, n, "two 8-byte locations")
	}
}
