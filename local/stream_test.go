package local

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"vgpu/shim"
)

// These run on the stand-in driver (cu_fake_driver), which logs the stream each call named.

const testFn = uintptr(0x7f0000002000)

// pinnedHost is host memory at an address that stays put (a goroutine's stack moves).
var pinnedHost [16]byte

// devA and devB stand for device memory: the stand-in driver fills and copies it for real.
var devA, devB [16]byte

// capturing stands for a driver stream under capture.
var capturing byte

var oneBlock = shim.LaunchConfig{Grid: shim.Dim3{X: 1, Y: 1, Z: 1}, Block: shim.Dim3{X: 1, Y: 1, Z: 1}}

// fakeClient is the calling client with a context on its home device and one kernel in it.
func fakeClient(t *testing.T, b *Backend) (*client, *cctxT) {
	cc := useFakeDriver()
	c := b.caller()
	c.primary = true
	c.mu.Lock()
	c.ctxs[c.home] = cc
	c.mu.Unlock()
	c.homeCC.Store(cc)
	c.addFunction(0x7f0000001000, testFn, cc)
	return c, cc
}

// on runs fn with s named as the stream its work is issued on, as shim.Stream.Enqueue does.
func on(s *shim.Stream, fn func()) {
	ts := shim.Thread()
	prev := ts.Issuing
	ts.Issuing = s
	defer func() { ts.Issuing = prev }()
	fn()
}

// streamsOf lists the streams the logged calls of kind op named, in order.
func streamsOf(log []fakeCall, op string) []uintptr {
	var out []uintptr
	for _, c := range log {
		if c.Op == op {
			out = append(out, c.Stream)
		}
	}
	return out
}

// Two streams' work goes to two driver streams of their own, made at their first work, and
// the legacy stream's (or work that names no stream) to the context's NULL stream.
func TestEachStreamsWorkGoesToADriverStreamOfItsOwn(t *testing.T) {
	shim.AsClient(41, func() {
		b := &Backend{}
		_, _ = fakeClient(t, b)
		a, c2, legacy := &shim.Stream{}, &shim.Stream{}, &shim.Stream{Default: true}
		host := &pinnedHost
		on(a, func() {
			require.Equal(t, shim.OK, b.LaunchPacked(testFn, nil, oneBlock, nil))
			require.Equal(t, shim.OK, b.Set(hostAddr(&devA), 1, 16))
			require.Equal(t, shim.OK, b.Copy(hostAddr(host), hostAddr(&devA), 16, shim.DeviceToHost))
			require.Equal(t, shim.OK, b.Copy(hostAddr(&devA), hostAddr(&devB), 16, shim.DeviceToDevice))
		})
		on(c2, func() { require.Equal(t, shim.OK, b.LaunchPacked(testFn, nil, oneBlock, nil)) })
		on(legacy, func() { require.Equal(t, shim.OK, b.LaunchPacked(testFn, nil, oneBlock, nil)) })
		require.Equal(t, shim.OK, b.LaunchPacked(testFn, nil, oneBlock, nil), "no stream named")

		log := fakeLog()
		made := streamsOf(log, "create")
		require.Len(t, made, 2, "one driver stream per stream, made at its first work")
		sa, sb := made[0], made[1]
		require.NotEqual(t, sa, sb)
		require.Equal(t, []uintptr{sa, sb, 0, 0}, streamsOf(log, "launch"))
		require.Equal(t, []uintptr{sa}, streamsOf(log, "memset"))
		require.Equal(t, []uintptr{sa}, streamsOf(log, "dtoh"), "a download in the stream's order")
		require.Equal(t, []uintptr{sa}, streamsOf(log, "sync"), "and waited for on that stream alone")
		require.Equal(t, []uintptr{sa}, streamsOf(log, "dtod"))
		b.EndClient(41)
	})
}

// Work on one stream costs one driver call per operation: the driver stream is made once,
// and nothing else is asked per launch (the Ollama path: one stream, many launches).
func TestOneStreamsLaunchesAreOneDriverCallEach(t *testing.T) {
	shim.AsClient(42, func() {
		b := &Backend{}
		fakeClient(t, b)
		s := &shim.Stream{}
		on(s, func() {
			require.Equal(t, shim.OK, b.LaunchPacked(testFn, nil, oneBlock, nil))
			resetFakeLog()
			for range 100 {
				require.Equal(t, shim.OK, b.LaunchPacked(testFn, nil, oneBlock, nil))
			}
		})
		log := fakeLog()
		require.Len(t, log, 100)
		for _, c := range log {
			require.Equal(t, "launch", c.Op)
			require.Equal(t, log[0].Stream, c.Stream)
		}
		b.EndClient(42)
	})
}

// An event recorded on one stream is a driver event recorded on that stream's driver stream;
// another stream waiting on it waits on its driver stream for that same driver event; a
// stream's synchronisation and query are its own driver stream's, the legacy stream's the
// context's.
func TestEventsAndQueriesAreAboutTheStreamsOwnWork(t *testing.T) {
	shim.AsClient(43, func() {
		b := &Backend{}
		fakeClient(t, b)
		a, w, legacy := &shim.Stream{}, &shim.Stream{}, &shim.Stream{Default: true}
		var mk uintptr
		on(a, func() {
			require.Equal(t, shim.OK, b.LaunchPacked(testFn, nil, oneBlock, nil))
			var st shim.Status
			mk, st = b.Mark(0)
			require.Equal(t, shim.OK, st)
		})
		require.Equal(t, shim.OK, b.WaitMark(w, mk))
		require.Equal(t, shim.OK, b.WaitMark(legacy, mk))
		log := fakeLog()
		sa := streamsOf(log, "launch")[0]
		var rec, waits []fakeCall
		for _, c := range log {
			switch c.Op {
			case "record":
				rec = append(rec, c)
			case "wait":
				waits = append(waits, c)
			}
		}
		require.Len(t, rec, 1)
		require.Equal(t, sa, rec[0].Stream, "the mark follows stream a's work")
		require.Len(t, waits, 2)
		sw := streamsOf(log, "create")[1]
		require.Equal(t, fakeCall{"wait", sw, rec[0].Event}, waits[0], "w's driver stream waits for the mark")
		require.Equal(t, fakeCall{"wait", 0, rec[0].Event}, waits[1], "the legacy stream's wait is the NULL stream's")

		resetFakeLog()
		require.Equal(t, shim.OK, b.SyncStream(a))
		require.Equal(t, []fakeCall{{"sync", sa, 0}}, fakeLog(), "a stream's sync waits for its driver stream only")
		resetFakeLog()
		setFakePending(600)
		require.Equal(t, shim.ErrNotReady, b.StreamBusy(a))
		require.Equal(t, []uintptr{sa}, streamsOf(fakeLog(), "query"))
		setFakePending(0)
		require.Equal(t, shim.OK, b.StreamBusy(&shim.Stream{}), "a stream with no work yet is idle")
		resetFakeLog()
		require.Equal(t, shim.OK, b.SyncStream(legacy))
		require.Equal(t, []string{"ctxsync"}, ops(fakeLog()), "the legacy stream's sync waits for the context")
		b.Unmark(mk)
		b.EndClient(43)
	})
}

// A destroyed stream's driver stream is destroyed; the client's end destroys the rest.
func TestDriverStreamsGoWithTheirStreamAndTheirClient(t *testing.T) {
	shim.AsClient(44, func() {
		b := &Backend{}
		fakeClient(t, b)
		a, s2 := &shim.Stream{}, &shim.Stream{}
		on(a, func() { require.Equal(t, shim.OK, b.Set(hostAddr(&devA), 0, 4)) })
		on(s2, func() { require.Equal(t, shim.OK, b.Set(hostAddr(&devA), 0, 4)) })
		made0, freed0 := fakeStreams()
		b.EndStream(a)
		_, freed := fakeStreams()
		require.Equal(t, freed0+1, freed)
		on(a, func() { require.Equal(t, shim.OK, b.Set(hostAddr(&devA), 0, 4)) }) // (a model stream is not reused; this shows the mapping went)
		made, _ := fakeStreams()
		require.Equal(t, made0+1, made)
		b.EndClient(44)
		_, freed = fakeStreams()
		require.Equal(t, freed0+3, freed, "the client's end destroys its remaining driver streams")
	})
}

// cuBLAS calls and graph launches go to the issuing stream's driver stream; a graph being
// recorded takes its work on the capturing stream whatever stream is named.
func TestCublasGraphsAndRecordingFollowTheStream(t *testing.T) {
	shim.AsClient(45, func() {
		b := &Backend{}
		c, cc := fakeClient(t, b)
		blas.once.Do(func() {})
		blas.loaded = true
		t.Cleanup(func() { blas.loaded = false })
		graph, st := b.BuildGraph(&shim.Device{Index: c.home}, nil)
		require.Equal(t, shim.OK, st)
		resetFakeLog()
		s := &shim.Stream{}
		on(s, func() {
			require.Equal(t, shim.OK, b.Gemm(&shim.GemmCall{Fn: shim.GemmSgemm, M: 1, N: 1, K: 1}))
			require.Equal(t, shim.OK, b.LaunchGraph(nil, graph))
			cc.stream = unsafe.Pointer(&capturing) // BuildGraph's capturing stream
			require.Equal(t, shim.OK, b.LaunchPacked(testFn, nil, oneBlock, nil))
			cc.stream = nil
		})
		log := fakeLog()
		ss := streamsOf(log, "create")[0]
		require.Equal(t, []uintptr{ss}, streamsOf(log, "gemm"), "cublasSetStream to the stream's driver stream")
		require.Equal(t, []uintptr{ss}, streamsOf(log, "graph"))
		require.Equal(t, []uintptr{uintptr(unsafe.Pointer(&capturing))}, streamsOf(log, "launch"))
		b.DestroyGraph(graph)
		b.EndClient(45)
	})
}

func ops(log []fakeCall) []string {
	var out []string
	for _, c := range log {
		out = append(out, c.Op)
	}
	return out
}

// A download into pinned memory left running on the NULL stream (a copy naming no stream) is
// waited for by the next stream synchronisation too: the client reads the memory after any.
func TestAStreamsSyncWaitsForADownloadLeftOnTheNullStream(t *testing.T) {
	shim.AsClient(46, func() {
		b := &Backend{}
		c, _ := fakeClient(t, b)
		host := &pinnedHost
		c.mu.Lock()
		c.pinned[hostAddr(host)] = 16
		c.mu.Unlock()
		a := &shim.Stream{}
		on(a, func() { require.Equal(t, shim.OK, b.Set(hostAddr(&devA), 0, 4)) })
		sa := streamsOf(fakeLog(), "create")[0]
		require.Equal(t, shim.OK, b.CopyAsync(hostAddr(host), hostAddr(&devA), 16, shim.DeviceToHost))
		resetFakeLog()
		require.Equal(t, shim.OK, b.SyncStream(a))
		require.Equal(t, []fakeCall{{"sync", 0, 0}, {"sync", sa, 0}}, fakeLog())
		resetFakeLog()
		require.Equal(t, shim.OK, b.SyncStream(a))
		require.Equal(t, []fakeCall{{"sync", sa, 0}}, fakeLog(), "once")
		c.mu.Lock()
		c.pinned = map[uintptr]uint64{}
		c.mu.Unlock()
		b.EndClient(46)
	})
}

// 2- and 4-byte fills (cuMemsetD16/D32Async) go to the issuing stream's driver stream too,
// and fill as asked; the legacy stream's to the NULL stream.
func TestWordFillsGoToTheIssuingStream(t *testing.T) {
	shim.AsClient(47, func() {
		b := &Backend{}
		fakeClient(t, b)
		a, legacy := &shim.Stream{}, &shim.Stream{Default: true}
		devA = [16]byte{}
		on(a, func() { require.Equal(t, shim.OK, b.SetWords(hostAddr(&devA), 0x11223344, 4, 2)) })
		on(legacy, func() { require.Equal(t, shim.OK, b.SetWords(hostAddr(&devA)+8, 0xaabb, 2, 2)) })
		log := fakeLog()
		sa := streamsOf(log, "create")[0]
		require.Equal(t, []uintptr{sa, 0}, streamsOf(log, "memset"))
		require.Equal(t, [16]byte{0x44, 0x33, 0x22, 0x11, 0x44, 0x33, 0x22, 0x11, 0xbb, 0xaa, 0xbb, 0xaa}, devA)
		b.EndClient(47)
	})
}

// An interprocess event recorded or waited for on a stream is the driver's record or wait on
// that stream's driver stream, after or before that stream's work alone.
func TestInterprocessEventsFollowTheIssuingStream(t *testing.T) {
	shim.AsClient(48, func() {
		b := &Backend{}
		fakeClient(t, b)
		useFakeIPCEvents(0)
		ev, _, st := b.IPCEventExport(0)
		require.Equal(t, shim.OK, st)
		a, w := &shim.Stream{}, &shim.Stream{}
		on(a, func() { require.Equal(t, shim.OK, b.IPCEventRecord(ev, 0)) })
		sa := streamsOf(fakeLog(), "create")[0]
		require.Equal(t, sa, fakeIPCStream(), "recorded after stream a's work")
		on(w, func() { require.Equal(t, shim.OK, b.IPCEventWait(ev, 0)) })
		sw := streamsOf(fakeLog(), "create")[1]
		require.Equal(t, sw, fakeIPCStream(), "waited for by stream w's later work")
		require.Equal(t, shim.OK, b.IPCEventWait(ev, 0))
		require.Equal(t, uintptr(0), fakeIPCStream(), "no stream named: the NULL stream")
		b.IPCEventFree(48, ev, 0)
		b.EndClient(48)
	})
}

// A kernel a stream enqueues reaches the driver on that stream's driver stream: the stream
// and the thread's state go to the backend with the launch (shim.IssuingLauncher), as the
// server's launch path hands them, and the launch lands where one issued on that stream does.
func TestAStreamsEnqueuedLaunchGoesToItsOwnDriverStream(t *testing.T) {
	b := withFakeGPU(t)
	shim.AsClient(43, func() {
		fakeClient(t, b)
		a, other := &shim.Stream{}, &shim.Stream{}
		k := &shim.Kernel{Native: testFn}
		on(other, func() { // what the thread names as issuing is not the launch's stream
			require.Equal(t, shim.OK, a.EnqueueKernel(shim.Node{Kind: shim.NodeKernel, Kernel: k, Launch: oneBlock}, nil))
			require.Equal(t, shim.OK, a.EnqueueKernelAs(shim.Thread(), shim.Node{Kind: shim.NodeKernel, Kernel: k, Launch: oneBlock}, nil))
		})
		on(a, func() { require.Equal(t, shim.OK, b.LaunchPacked(testFn, nil, oneBlock, nil)) })
		launches := streamsOf(fakeLog(), "launch")
		require.Len(t, launches, 3)
		require.NotZero(t, launches[0], "a stream of the program's own, not the NULL stream")
		require.Equal(t, []uintptr{launches[0], launches[0], launches[0]}, launches)
		b.EndClient(43)
	})
}
