package local

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"vgpu/shim"
)

// A launch through the backend allocates nothing: at hundreds of thousands of launches a
// second, garbage per launch is collector work taken from the launches.
func TestALaunchAllocatesNothingInTheBackend(t *testing.T) {
	cc := useFakeDriver()
	params := []shim.ParamInfo{{Offset: 0, Size: 8}, {Offset: 8, Size: 4}}
	args := make([]byte, 12)
	lc := shim.LaunchConfig{Grid: shim.Dim3{X: 1, Y: 1, Z: 1}, Block: shim.Dim3{X: 32, Y: 1, Z: 1}}
	allocs := testing.AllocsPerRun(1000, func() {
		if launchIn(cc, nil, 0x1000, params, lc, args) != shim.OK {
			t.Fatal("launch failed")
		}
	})
	require.Zero(t, allocs, "allocations per launch")
	require.Equal(t, uint32(1), lastFakeLaunch().Grid, "the launch reached the driver")
}

// BenchmarkLaunchInOnTheFakeDriver is the backend's own cost per launch (cgo call, context
// check, parameter slots) with a driver that costs nothing: the stage local/ adds to the
// driver's cuLaunchKernel.
func BenchmarkLaunchInOnTheFakeDriver(b *testing.B) {
	cc := useFakeDriver()
	setFakeCost(0)
	args := make([]byte, 12)
	params := []shim.ParamInfo{{Offset: 0, Size: 8}, {Offset: 8, Size: 4}}
	lc := shim.LaunchConfig{Grid: shim.Dim3{X: 1, Y: 1, Z: 1}, Block: shim.Dim3{X: 32, Y: 1, Z: 1}}
	b.ReportAllocs()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		launchIn(cc, nil, 0x1000, params, lc, args)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "launches/s")
}
