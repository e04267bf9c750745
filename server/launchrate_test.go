package server

import (
	"encoding/binary"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"vgpu/shim"
	"vgpu/shim/api"
	"vgpu/wire"
)

// A stand-in for the driver's cuLaunchKernel on the sim backend: each launch the server hands
// its backend busy-waits driverCost, about what NVIDIA's driver costs the CPU per launch on an
// H200 (BENCHMARKS.md, issue 12).
const driverCost = 2500 * time.Nanosecond

// simDriver makes the sim backend's launches succeed after cost (0: at once), until the test ends.
func simDriver(tb testing.TB, cost time.Duration) {
	st := shim.S()
	old := st.Config.SimLaunch
	st.Config.SimLaunch = "noop"
	if cost > 0 {
		n := int(float64(cost.Nanoseconds()) * spinRate())
		shim.SetSimLaunchHook(func(shim.LaunchConfig) { spinFor(n) })
	}
	tb.Cleanup(func() { shim.SetSimLaunchHook(nil); st.Config.SimLaunch = old })
}

// The driver's work is CPU work: a loop of a calibrated length rather than a wait on the clock
// (on a loaded machine a preempted wait would count time the CPU spent elsewhere).
var spinSink int

//go:noinline
func spinFor(n int) {
	x := 0
	for i := 0; i < n; i++ {
		x += i ^ x
	}
	spinSink = x
}

// spinRate is spinFor's iterations per nanosecond, from its fastest of several runs.
func spinRate() float64 {
	best := 0.0
	for range 7 {
		t := time.Now()
		spinFor(2_000_000)
		best = max(best, 2e6/float64(time.Since(t).Nanoseconds()))
	}
	return best
}

// cpuTime is the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// postedLaunches is n posted OpLaunch frames of fn (1 block of 32 threads, legacy stream) in one
// buffer, as a client's batch carries them.
func postedLaunches(fn uint64, n int) []byte {
	le := binary.LittleEndian
	p := le.AppendUint64(nil, fn)
	for _, v := range []uint32{1, 1, 1, 32, 1, 1} {
		p = le.AppendUint32(p, v)
	}
	p = le.AppendUint64(le.AppendUint64(p, 0), 0)
	var b []byte
	for i := 0; i < n; i++ {
		b, _ = wire.AppendFrame(b, wire.Header{Kind: wire.KindPost, Op: wire.OpLaunch}, p)
	}
	return b
}

// syncFunc is cudaDeviceSynchronize (looked up once: the list's map is built per call).
var syncFunc = api.ByName()["cudaDeviceSynchronize"]

// launchRun sends the batch and waits for a synchronising call's answer, which comes once the
// server has run every launch before it.
func launchRun(tb testing.TB, c *testClient, batch []byte) {
	_, err := c.c.Write(batch)
	require.NoError(tb, err)
	p, err := c.request(uint32(syncFunc.Op), nil)
	require.NoError(tb, err)
	r, _, err := wire.DecodeResponse(syncFunc, p)
	require.NoError(tb, err)
	require.Zero(tb, r, "the launches and the sync succeed")
}

// BenchmarkPostedLaunchesThroughTheServer reports launches/s of posted launches through a real
// server session (unix socket, sim backend) whose backend call costs driverCost, and the ratio to
// the stand-in driver alone (1/driverCost): the launch path's throughput against the driver's.
func BenchmarkPostedLaunchesThroughTheServer(b *testing.B) {
	for _, cost := range []time.Duration{0, driverCost} {
		b.Run("driver="+cost.String(), func(b *testing.B) {
			srv := startServer(b, Options{})
			c := srv.dial(b)
			simDriver(b, cost)
			fn := kernelOnServer(b, c)
			const per = 2000
			batch := postedLaunches(fn, per)
			launchRun(b, c, batch) // warm
			b.ResetTimer()
			start, cpu := time.Now(), cpuTime()
			for i := 0; i < b.N; i++ {
				launchRun(b, c, batch)
			}
			el, cpu := time.Since(start), cpuTime()-cpu
			rate := float64(b.N*per) / el.Seconds()
			b.ReportMetric(rate, "launches/s")
			b.ReportMetric(float64(el.Nanoseconds())/float64(b.N*per), "ns/launch")
			// The process's CPU per launch (server and this test's client, which only writes
			// the batch): less noisy than the wall time on a shared machine.
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*per), "cpu_ns/launch")
			if cost > 0 {
				b.ReportMetric(rate*cost.Seconds(), "x_driver_alone")
			}
		})
	}
}

// A posted launch costs the server no allocation: at hundreds of thousands of launches a
// second, each one would be garbage the collector takes CPU from the launches to sweep.
func TestAPostedLaunchAllocatesNothingOnTheServer(t *testing.T) {
	srv := startServer(t, Options{})
	c := srv.dial(t)
	simDriver(t, 0)
	fn := kernelOnServer(t, c)
	const n = 5000
	batch := postedLaunches(fn, n)
	launchRun(t, c, batch) // warm: buffers sized, the stream made
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	launchRun(t, c, batch)
	runtime.ReadMemStats(&after)
	perLaunch := float64(after.Mallocs-before.Mallocs) / n
	// The sync request and its answer allocate a few times; spread over n launches that is far
	// below 0.05 a launch, while one allocation per launch would read 1.
	require.Less(t, perLaunch, 0.05, "allocations per posted launch")
}

// A batch of posted launches is timed once, not launch by launch, yet every launch is counted:
// the server's counters and the session's own hold each call, and the batch's time.
func TestABatchOfPostedLaunchesIsCountedCallByCall(t *testing.T) {
	srv := startServer(t, Options{})
	c := srv.dial(t)
	simDriver(t, 0)
	fn := kernelOnServer(t, c)
	launch := stats.counter(wire.OpLaunch, nil)
	syncs := stats.counter(uint32(syncFunc.Op), syncFunc)
	calls, nanos, synced := launch.calls.Load(), launch.nanos.Load(), syncs.calls.Load()
	const n = 3000
	launchRun(t, c, postedLaunches(fn, n))
	require.Equal(t, uint64(n), launch.calls.Load()-calls, "every posted launch counted")
	require.Positive(t, launch.nanos.Load()-nanos, "and the time they took")
	require.Equal(t, uint64(1), syncs.calls.Load()-synced, "the sync after them counted on its own")
}

// withPipeline turns the launch thread (pipeline.go) on or off for sessions started after.
func withPipeline(t *testing.T, on bool) {
	old := pipelineLaunches
	pipelineLaunches = on
	t.Cleanup(func() { pipelineLaunches = old })
}

// badLaunch is a posted launch the model refuses (a block of zero threads).
func badLaunch(fn uint64) []byte {
	le := binary.LittleEndian
	p := le.AppendUint64(nil, fn)
	for _, v := range []uint32{1, 1, 1, 0, 1, 1} {
		p = le.AppendUint32(p, v)
	}
	p = le.AppendUint64(le.AppendUint64(p, 0), 0)
	b, _ := wire.AppendFrame(nil, wire.Header{Kind: wire.KindPost, Op: wire.OpLaunch}, p)
	return b
}

// syncResult sends batch and returns what the next cudaDeviceSynchronize answers.
func syncResult(t *testing.T, c *testClient, batch []byte) uint64 {
	_, err := c.c.Write(batch)
	require.NoError(t, err)
	p, err := c.request(uint32(syncFunc.Op), nil)
	require.NoError(t, err)
	r, _, err := wire.DecodeResponse(syncFunc, p)
	require.NoError(t, err)
	return r
}

// With launches on a thread of their own, a synchronising call reports what it reports when
// the session runs them itself: the first failure in the order the launches were posted (the
// backend's refusal of launch 1 before the model's refusal of launch 3), then success once
// reported.
func TestPipelinedLaunchesReportTheSameFirstFailureInTheSameOrder(t *testing.T) {
	results := map[bool][]uint64{}
	for _, on := range []bool{false, true} {
		withPipeline(t, on)
		srv := startServer(t, Options{})
		c := srv.dial(t)
		fn := kernelOnServer(t, c)
		// The sim backend refuses to run a kernel unless VGPU_SIM_LAUNCH=noop.
		st := shim.S()
		old := st.Config.SimLaunch
		st.Config.SimLaunch = ""
		failing := append(postedLaunches(fn, 2), badLaunch(fn)...)
		results[on] = append(results[on], syncResult(t, c, failing))
		st.Config.SimLaunch = "noop"
		results[on] = append(results[on], syncResult(t, c, badLaunch(fn)))
		results[on] = append(results[on], syncResult(t, c, postedLaunches(fn, 300)))
		st.Config.SimLaunch = old
	}
	require.NotZero(t, results[false][0], "the backend's refusal is reported")
	require.NotEqual(t, results[false][0], results[false][1], "the backend's and the model's refusals differ")
	require.Zero(t, results[false][2])
	require.Equal(t, results[false], results[true])
}
