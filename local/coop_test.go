package local

import (
	"testing"

	"github.com/stretchr/testify/require"

	"vgpu/shim"
)

// A cooperative launch reaches NVIDIA's driver as cuLaunchKernelEx with
// CU_LAUNCH_ATTRIBUTE_COOPERATIVE (2) set to 1, which is what cuLaunchCooperativeKernel
// means; a plain launch stays cuLaunchKernel. (On the H200 a grid sync launched with plain
// cuLaunchKernel failed with 719.)
func TestACooperativeLaunchReachesTheDriverWithTheCooperativeAttribute(t *testing.T) {
	cc := useFakeDriver()
	lc := shim.LaunchConfig{Grid: shim.Dim3{X: 264, Y: 1, Z: 1}, Block: shim.Dim3{X: 256, Y: 1, Z: 1}}
	require.Equal(t, shim.OK, launchIn(cc, nil, 0x1000, nil, lc.WithCooperative(), nil))
	got := lastFakeLaunch()
	require.Equal(t, "cuLaunchKernelEx", got.Entry)
	require.Equal(t, uint32(264), got.Grid)
	require.Equal(t, map[uint32]int32{shim.LaunchAttrCooperative: 1}, got.Attrs)

	lc.Grid.X = 7
	require.Equal(t, shim.OK, launchIn(cc, nil, 0x1000, nil, lc, nil))
	got = lastFakeLaunch()
	require.Equal(t, "cuLaunchKernel", got.Entry, "a plain launch")
	require.Equal(t, uint32(7), got.Grid)
}

// The driver's refusal of a cooperative grid larger than can be co-resident (720) is the
// model's cooperative-launch-too-large, not out of resources.
func TestTheDriversCooperativeTooLargeIsKeptApart(t *testing.T) {
	require.Equal(t, shim.ErrCooperativeTooLarge, launchStatus(cInt(720)))
	require.Equal(t, shim.ErrLaunchOutOfResources, launchStatus(cInt(701)))
}
