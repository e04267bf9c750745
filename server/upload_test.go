package server

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"vgpu/shim"
	"vgpu/wire"
)

// A GPU backend's upload from the session's pinned stage returns before its DMA has read the
// stage (the DMA waits behind the client's kernels in stream order). lateDMA stands for such a
// backend on the sim: it registers host memory, and an upload from registered memory lands
// only when the test lets the DMA run.
type lateDMA struct {
	*shim.SimBackend
	mu      sync.Mutex
	pending map[uintptr]func() // mark -> the DMA still to run
	next    uintptr
	pinned  map[uintptr]bool // host memory registered with this backend

	unpinned, unpinnedEarly bool
}

func (b *lateDMA) RegisterHost(p uintptr, n uint64) shim.Status {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pinned[p] = true
	return shim.OK
}

// UnregisterHost notes a stage unpinned while a DMA from it was still to run. Only memory
// registered with this backend counts: an earlier test's session may still be ending, and
// unpins what it registered with another.
func (b *lateDMA) UnregisterHost(p uintptr) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.pinned[p] {
		return
	}
	delete(b.pinned, p)
	if len(b.pending) > 0 {
		b.unpinnedEarly = true
	}
	b.unpinned = true
}

// Wait is the GPU finishing the client's work: every pending DMA runs.
func (b *lateDMA) Wait() shim.Status {
	b.runDMAs()
	return shim.OK
}

func (b *lateDMA) UploadPinned(dst, src uintptr, n uint64) (uintptr, shim.Status) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next++
	b.pending[b.next] = func() { copy(shim.Bytes(dst, n), shim.Bytes(src, n)) }
	return b.next, shim.OK
}

func (b *lateDMA) Mark(int) (uintptr, shim.Status) { return 0, shim.OK }
func (b *lateDMA) Reached(m uintptr) shim.Status {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending[m] != nil {
		return shim.ErrNotReady
	}
	return shim.OK
}
func (b *lateDMA) Unmark(uintptr)    {}
func (b *lateDMA) Busy() shim.Status { return shim.OK }

// runDMAs lets every pending upload's DMA read its source now.
func (b *lateDMA) runDMAs() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for m, dma := range b.pending {
		dma()
		delete(b.pending, m)
	}
}

func withLateDMA(t *testing.T) *lateDMA {
	st := shim.S()
	old := st.Backend
	sim, ok := old.(*shim.SimBackend)
	require.True(t, ok)
	b := &lateDMA{SimBackend: sim, pending: map[uintptr]func(){}, pinned: map[uintptr]bool{}}
	st.Backend = b
	t.Cleanup(func() { st.Backend = old })
	return b
}

// Uploads read from the socket land in the session's pinned stages and go to the device
// without waiting for the GPU; while a stage's last upload has not been read by its DMA, it
// is not taken again: with both stages still being read, the next upload gets a buffer of
// its own, so no upload's bytes are overwritten before they were copied. Once read, the
// stages serve uploads again.
func TestAStagedUploadIsNeverOverwrittenBeforeItsDMAReadIt(t *testing.T) {
	dma := withLateDMA(t)
	srv := startServer(t, Options{})
	c := srv.dial(t)
	const n = 256 << 10
	dev := c.malloc(4 * n)
	post := func(dst uint64, b []byte) {
		c.seq++
		require.NoError(t, wire.WriteFrame(c.c, wire.Header{Kind: wire.KindPost, Op: wire.OpPut, Seq: c.seq}, append(u64s(dst), b...)))
	}
	answered := func() { // a request after the posts: once answered, they were handled
		st, _ := c.op(wire.OpIsDevice, u64s(dev))
		require.Equal(t, shim.Status(1), st)
	}
	pending := func() int {
		dma.mu.Lock()
		defer dma.mu.Unlock()
		return len(dma.pending)
	}
	data := func(v byte) []byte { return bytes.Repeat([]byte{v}, n) }
	post(dev, data(0xa))
	post(dev+n, data(0xb))   // the other stage
	post(dev+2*n, data(0xc)) // both still being read: a buffer of its own
	answered()
	require.Equal(t, 2, pending(), "two uploads went from the stages without waiting; the third from a buffer of its own")
	dma.runDMAs()
	for i, v := range []byte{0xa, 0xb, 0xc} {
		require.Equal(t, data(v), shim.Bytes(uintptr(dev)+uintptr(i*n), n), "upload %d's bytes were still in its stage when its DMA read them", i)
	}

	post(dev+3*n, data(0xd)) // the stages are free again
	answered()
	require.Equal(t, 1, pending(), "the stages serve uploads again once read")
	dma.runDMAs()
	require.Equal(t, data(0xd), shim.Bytes(uintptr(dev+3*n), n))
}

// endWithAnUploadQueued runs a session that posts one staged upload, whose DMA then waits,
// and ends it.
func endWithAnUploadQueued(t *testing.T, dma *lateDMA) {
	srv := startServer(t, Options{})
	c := srv.dial(t)
	dev := c.malloc(1 << 20)
	c.seq++
	require.NoError(t, wire.WriteFrame(c.c, wire.Header{Kind: wire.KindPost, Op: wire.OpPut, Seq: c.seq}, append(u64s(dev), make([]byte, 256<<10)...)))
	st, _ := c.op(wire.OpIsDevice, u64s(dev))
	require.Equal(t, shim.Status(1), st)
	dma.mu.Lock()
	require.Len(t, dma.pending, 1)
	dma.mu.Unlock()
	c.close()
}

// wasUnpinned reports whether a stage was unpinned, and whether one was while its DMA was
// still to run.
func (b *lateDMA) wasUnpinned() (unpinned, early bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.unpinned, b.unpinnedEarly
}

// A session that ends with an upload's DMA still queued (behind a long kernel, say) waits for
// the client's work before it unpins and unmaps the stage: a DMA must never read pages that
// were unpinned and may be another tenant's by then.
func TestASessionEndingWithAnUploadInFlightWaitsBeforeUnpinningTheStage(t *testing.T) {
	dma := withLateDMA(t)
	endWithAnUploadQueued(t, dma)
	require.Eventually(t, func() bool { u, _ := dma.wasUnpinned(); return u }, 10*time.Second, 10*time.Millisecond, "the stage was released")
	_, early := dma.wasUnpinned()
	require.False(t, early, "unpinned while its DMA was still to run")
}

// failingWait is lateDMA whose Wait returns early, as the local backend's does at the first
// of a client's contexts that faulted, while a DMA queued on another is still to run.
type failingWait struct{ *lateDMA }

func (b failingWait) Wait() shim.Status { return shim.ErrLaunchFailure }

// A session whose wait for its client's work fails early still does not unpin a stage under
// a queued DMA: it asks the DMA's mark again, and releases the stage once the DMA has run.
func TestAStageIsNotUnpinnedWhenTheWaitForItsDMAFailsEarly(t *testing.T) {
	dma := withLateDMA(t)
	shim.S().Backend = failingWait{dma}
	endWithAnUploadQueued(t, dma)
	time.Sleep(300 * time.Millisecond)
	unpinned, _ := dma.wasUnpinned()
	require.False(t, unpinned, "unpinned while its DMA was still to run")
	dma.runDMAs() // the GPU gets there
	require.Eventually(t, func() bool { u, _ := dma.wasUnpinned(); return u }, 5*time.Second, 10*time.Millisecond, "released once its DMA ran")
	_, early := dma.wasUnpinned()
	require.False(t, early)
}
