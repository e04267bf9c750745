package wire

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGraphNodeRequestsReadBackAsWritten(t *testing.T) {
	for _, r := range []GraphNodeReq{
		{What: GraphAddKernel, Graph: 1, Deps: []uint64{2, 3}, Func: 4, Dims: [6]uint32{1, 2, 3, 4, 5, 6}, Shared: 7, Args: []byte{8, 9}},
		{What: GraphExecSetKernel, Graph: 1, Node: 2, Func: 4, Args: []byte{}},
		{What: GraphAddHost, Graph: 1, Deps: []uint64{5}, Fn: 6, Data: 7},
		{What: GraphExecSetCopy, Graph: 1, Node: 2, Fn: 0xC1 << 56},
	} {
		got, err := DecodeGraphNodeReq(r.Encode())
		require.NoError(t, err)
		if len(r.Args) == 0 {
			r.Args = got.Args
		}
		assert.Equal(t, r, *got)
	}
}

func TestGraphNodeRequestsPastTheirBoundsAreRefused(t *testing.T) {
	many := (&GraphNodeReq{What: GraphAddHost, Fn: 1}).Encode()
	many[20], many[21], many[22] = 0xff, 0xff, 0x01 // 131071 dependencies, none in the frame
	for name, p := range map[string][]byte{
		"short":           {1, 0, 0, 0},
		"unknown request": (&GraphNodeReq{What: graphNodeWhatLatest + 1, Fn: 1}).Encode(),
		"dependencies":    many,
		"too many args":   (&GraphNodeReq{What: GraphAddKernel, Args: make([]byte, MaxGraphNodeArgs+1)}).Encode(),
		"host, truncated": (&GraphNodeReq{What: GraphAddHost, Fn: 1}).Encode()[:30],
		"kernel, no dims": (&GraphNodeReq{What: GraphAddKernel}).Encode()[:40],
	} {
		_, err := DecodeGraphNodeReq(p)
		assert.Error(t, err, name)
	}
	_, _, _, err := DecodeLaunchPart(make([]byte, 19))
	assert.Error(t, err)
	_, _, _, _, err = DecodeLaunchPartReply(make([]byte, 20))
	assert.Error(t, err)
}
