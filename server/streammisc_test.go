package server

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"

	"vgpu/cuda"
	"vgpu/shim/api"
	"vgpu/wire"
)

// A stream wait polls only the caller's own memory, gives up in bounded time, and while one
// client's wait polls, other clients are served.
func TestStreamWaitsAreOwnedAndBounded(t *testing.T) {
	old := cuda.WaitValueTimeout
	cuda.WaitValueTimeout = 300 * time.Millisecond
	t.Cleanup(func() { cuda.WaitValueTimeout = old })
	s := startServer(t, Options{})
	base := s.baseline(t)
	owner, other := s.dial(t), s.dial(t)
	p := owner.malloc(64)
	other.malloc(64)
	server := uint64(uintptr(unsafe.Pointer(&serverSecret[0])))
	for _, at := range []uint64{p, p + 64, server, 0x400000} {
		r, _ := other.call("cuStreamWaitValue32", wire.Value{U: 0}, wire.Value{U: at}, wire.Value{U: 0}, wire.Value{U: 1})
		require.Equal(t, uint64(cuda.ErrorInvalidValue), r, "another client's or no memory at %#x", at)
	}
	r, _ := owner.call("cuStreamWaitValue32", wire.Value{U: 0}, wire.Value{U: p}, wire.Value{U: 0}, wire.Value{U: 1})
	require.Zero(t, r, "the owner's zeroed word equals 0")

	var wg sync.WaitGroup
	wg.Add(1)
	start := time.Now()
	go func() {
		defer wg.Done()
		r, _ := owner.call("cuStreamWaitValue64", wire.Value{U: 0}, wire.Value{U: p}, wire.Value{U: 7}, wire.Value{U: 1})
		require.Equal(t, uint64(cuda.ErrorNotReady), r, "a word nobody writes: not ready")
	}()
	s.works(t) // served while the wait polls
	wg.Wait()
	require.Less(t, time.Since(start), 5*time.Second)
	owner.close()
	other.close()
	s.recovered(t, base)
}

// A batch's array is as long as its count says, and the count is bounded: a short array or a
// huge count is refused without reading past the frame.
func TestBatchMemOpArraysAreBounded(t *testing.T) {
	s := startServer(t, Options{})
	base := s.baseline(t)
	c := s.dial(t)
	p := c.malloc(64)
	op := make([]byte, 48)
	binary.LittleEndian.PutUint32(op[0:], 2) // write32
	binary.LittleEndian.PutUint64(op[8:], p)
	binary.LittleEndian.PutUint64(op[16:], 9)
	r, _ := c.call("cuStreamBatchMemOp", wire.Value{U: 0}, wire.Value{U: 1}, wire.Value{B: op}, wire.Value{U: 0})
	require.Zero(t, r)
	st, got := c.get(p, 4)
	require.Zero(t, st)
	require.Equal(t, uint32(9), binary.LittleEndian.Uint32(got))
	for _, count := range []uint64{2, 257, 1 << 31} {
		f := api.ByName()["cuStreamBatchMemOp"]
		req, err := wire.EncodeRequest(f, []wire.Value{{U: 0}, {U: count}, {B: op}, {U: 0}})
		if err != nil {
			t.Logf("count %d: encoder refuses: %v", count, err)
			continue // the encoder itself refuses a count its bytes do not fill
		}
		resp, err := c.request(uint32(f.Op), req)
		if err != nil {
			t.Logf("count %d: connection ended: %v", count, err)
			c = s.dial(t) // the server may end a connection that sent a malformed frame
			continue
		}
		res, _, err := wire.DecodeResponse(f, resp)
		require.NoError(t, err)
		require.NotZero(t, res, "count %d with one operation's bytes", count)
	}
	c.close()
	s.works(t)
	s.recovered(t, base)
}
