package server

import (
	"encoding/binary"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"vgpu/shim"
	"vgpu/wire"
)

// coopBlock is the block size of these tests' launches: a number no other test launches
// with, so the sim backend's hook counts only these.
const coopBlock = 224

// gridFrame is an OpLaunchAttrs request for a launch of fn, grid x coopBlock, with attrs.
func gridFrame(fn uint64, grid uint32, attrs []shim.LaunchAttr) []byte {
	le := binary.LittleEndian
	b := le.AppendUint64(nil, fn)
	for _, v := range []uint32{grid, 1, 1, coopBlock, 1, 1} {
		b = le.AppendUint32(b, v)
	}
	b = le.AppendUint64(le.AppendUint64(b, 0), 0)
	return shim.AppendLaunchAttrs(le.AppendUint32(b, uint32(len(attrs))), attrs)
}

// A cooperative launch (cudaLaunchCooperativeKernel, cuLaunchCooperativeKernel, or the
// cooperative attribute of cuLaunchKernelEx) reaches the server's backend with
// CU_LAUNCH_ATTRIBUTE_COOPERATIVE set, so a GPU backend launches it cooperatively (a grid
// sync fails otherwise); and a grid with more blocks than can be co-resident is refused
// with the cooperative-launch-too-large error, as NVIDIA's driver refuses it.
func TestCooperativeLaunchesReachTheBackendAsCooperativeAndTooLargeGridsAreRefused(t *testing.T) {
	s := startServer(t, Options{})
	var mu sync.Mutex
	var kinds []bool // per launch the backend got: cooperative or not
	shim.SetSimLaunchHook(func(lc shim.LaunchConfig) {
		if lc.Block.X == coopBlock {
			mu.Lock()
			kinds = append(kinds, lc.Cooperative())
			mu.Unlock()
		}
	})
	t.Cleanup(func() { shim.SetSimLaunchHook(nil) })
	c := s.dial(t)
	defer c.close()
	fn := kernelOnServer(t, c)

	d := shim.S().Device(0)
	k, ok := shim.Lookup[*shim.Kernel](shim.KindFunction, uintptr(fn))
	if !ok {
		k = &shim.Kernel{} // the server's handles are per client; the model's figures are the same
	}
	fits := uint32(shim.BlocksPerSM(k, d, coopBlock, 0)) * uint32(d.Attrs[shim.AttrMultiprocessorCount])
	require.NotZero(t, fits)
	coop := shim.CooperativeAttr()

	st, _ := c.op(wire.OpLaunchAttrs, gridFrame(fn, fits, []shim.LaunchAttr{coop}))
	plain, _ := c.op(wire.OpLaunchAttrs, gridFrame(fn, fits+1, []shim.LaunchAttr{{ID: shim.LaunchAttrPriority}}))
	require.Equal(t, plain, st, "a co-resident cooperative grid launches as a plain one does")
	st, _ = c.op(wire.OpLaunchAttrs, gridFrame(fn, fits+1, []shim.LaunchAttr{coop}))
	require.Equal(t, shim.ErrCooperativeTooLarge, st, "one block more than can be co-resident")
	off := shim.LaunchAttr{ID: shim.LaunchAttrCooperative} // value 0: not cooperative
	st, _ = c.op(wire.OpLaunchAttrs, gridFrame(fn, fits+1, []shim.LaunchAttr{off}))
	require.Equal(t, plain, st, "a cooperative attribute of 0 is a plain launch")

	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []bool{true, false, false}, kinds, "the backend is told which launches are cooperative; the refused one never reaches it")
}
