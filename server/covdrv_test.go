package server

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/shim/api"
	"vgpu/wire"
)

func u64le(vs ...uint64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return b
}

// memLocation is a CUmemLocation's 8 bytes.
func memLocation(typ, id uint32) []byte {
	return binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, typ), id)
}

// CUDA 13's pools by location reach the caller's pools only: another client's pool cannot
// be made a location's current pool (it is refused as a handle nobody issued is), and one
// client's choice does not change the pool another client's location answers.
func TestLocationPoolsAreTheCallersOnly(t *testing.T) {
	s := startServer(t, Options{})
	a, b := s.dial(t), s.dial(t)
	driver(a)
	driver(b)
	dev0 := memLocation(1, 0)
	props := make([]byte, 88)
	binary.LittleEndian.PutUint32(props[0:], 1)
	binary.LittleEndian.PutUint32(props[8:], 1)
	r, outs := a.call("cuMemPoolCreate", wire.Value{U: 1}, wire.Value{B: props})
	require.Zero(t, r)
	pool := binary.LittleEndian.Uint64(outs[0])
	r, outs = b.call("cuMemGetMemPool", wire.Value{U: 1}, wire.Value{B: dev0}, wire.Value{U: 1})
	require.Zero(t, r)
	bDefault := binary.LittleEndian.Uint64(outs[0])

	r, _ = b.call("cuMemSetMemPool", wire.Value{B: dev0}, wire.Value{U: 1}, wire.Value{U: pool})
	assert.Equal(t, uint64(1), r, "another client's pool")
	r, _ = a.call("cuMemSetMemPool", wire.Value{B: dev0}, wire.Value{U: 1}, wire.Value{U: pool})
	require.Zero(t, r)
	r, outs = a.call("cuMemGetMemPool", wire.Value{U: 1}, wire.Value{B: dev0}, wire.Value{U: 1})
	require.Zero(t, r)
	assert.Equal(t, pool, binary.LittleEndian.Uint64(outs[0]), "the owner's location has its pool")
	r, outs = b.call("cuMemGetMemPool", wire.Value{U: 1}, wire.Value{B: dev0}, wire.Value{U: 1})
	require.Zero(t, r)
	assert.Equal(t, bDefault, binary.LittleEndian.Uint64(outs[0]), "the other client's is unchanged")

	// Hostile locations: an unknown type, a device far out of range, a negative one.
	for _, c := range []struct {
		loc  []byte
		want uint64
	}{{memLocation(0xffffffff, 0), 1}, {memLocation(1, 1<<30), 101}, {memLocation(1, 0xffffffff), 101}, {memLocation(2, 0), 801}} {
		r, _ := b.call("cuMemGetDefaultMemPool", wire.Value{U: 1}, wire.Value{B: c.loc}, wire.Value{U: 1})
		assert.Equal(t, c.want, r, "location %x", c.loc)
		r, _ = b.call("cuMemSetMemPool", wire.Value{B: c.loc}, wire.Value{U: 1}, wire.Value{U: bDefault})
		assert.Equal(t, c.want, r, "location %x", c.loc)
	}
	s.works(t)
}

// The batched prefetch and discard reach the caller's managed memory only, and a batch
// whose counts disagree with what it sends, or are absurd, is refused without harm.
func TestManagedBatchesAreTheOwnersOnly(t *testing.T) {
	s := startServer(t, Options{})
	a, b := s.dial(t), s.dial(t)
	driver(a)
	driver(b)
	const n = 1 << 16
	r, outs := a.call("cuMemAllocManaged", wire.Value{U: 1}, wire.Value{U: n}, wire.Value{U: 1})
	require.Zero(t, r)
	m := binary.LittleEndian.Uint64(outs[0])
	r, outs = b.call("cuMemAllocManaged", wire.Value{U: 1}, wire.Value{U: n}, wire.Value{U: 1})
	require.Zero(t, r)
	own := binary.LittleEndian.Uint64(outs[0])
	dev0, idx := memLocation(1, 0), u64le(0)
	for _, p := range []uint64{m, own} {
		want := uint64(1)
		if p == own {
			want = 0
		}
		r, _ := b.call("cuMemPrefetchBatchAsync", wire.Value{B: u64le(p)}, wire.Value{B: u64le(n)}, wire.Value{U: 1},
			wire.Value{B: dev0}, wire.Value{B: idx}, wire.Value{U: 1}, wire.Value{}, wire.Value{})
		assert.Equal(t, want, r, "prefetch of %#x", p)
		r, _ = b.call("cuMemDiscardBatchAsync", wire.Value{B: u64le(p)}, wire.Value{B: u64le(n)}, wire.Value{U: 1}, wire.Value{}, wire.Value{})
		assert.Equal(t, want, r, "discard of %#x", p)
		r, _ = b.call("cuMemDiscardAndPrefetchBatchAsync", wire.Value{B: u64le(p)}, wire.Value{B: u64le(n)}, wire.Value{U: 1},
			wire.Value{B: dev0}, wire.Value{B: idx}, wire.Value{U: 1}, wire.Value{}, wire.Value{})
		assert.Equal(t, want, r, "discard and prefetch of %#x", p)
	}
	r, outs = a.call("cuMemRangeGetAttribute", wire.Value{U: 1}, wire.Value{U: 4}, wire.Value{U: 4}, wire.Value{U: m}, wire.Value{U: n})
	require.Zero(t, r)
	assert.Equal(t, uint32(0xfffffffe), binary.LittleEndian.Uint32(outs[0]), "the owner's range was never prefetched")

	// More ranges claimed than sent, and an absurd count.
	for _, count := range []uint64{2, 1 << 40} {
		req, err := wire.EncodeRequest(apiFn(t, "cuMemDiscardBatchAsync"), []wire.Value{{B: u64le(own)}, {B: u64le(n)}, {U: count}, {}, {}})
		if err != nil {
			continue // the codec refuses to build it: nothing reaches the server
		}
		p, err := b.request(uint32(apiFn(t, "cuMemDiscardBatchAsync").Op), req)
		if err == nil {
			res, _, derr := wire.DecodeResponse(apiFn(t, "cuMemDiscardBatchAsync"), p)
			if derr == nil {
				assert.NotZero(t, res, "count %d", count)
			}
		}
	}
	s.works(t)
}

// A conditional handle needs the caller's own graph and context: another client's are
// refused as handles nobody issued are.
func TestConditionalHandlesNeedTheCallersGraphAndContext(t *testing.T) {
	s := startServer(t, Options{})
	a, b := s.dial(t), s.dial(t)
	driver(a)
	driver(b)
	mk := func(c *testClient, name string, args ...wire.Value) uint64 {
		r, outs := c.call(name, append([]wire.Value{{U: 1}}, args...)...)
		require.Zero(t, r, name)
		return binary.LittleEndian.Uint64(outs[0])
	}
	ga := mk(a, "cuGraphCreate", wire.Value{})
	gb := mk(b, "cuGraphCreate", wire.Value{})
	ctxa := a.create("cuCtxGetCurrent")
	ctxb := b.create("cuCtxGetCurrent")
	r, outs := a.call("cuGraphConditionalHandleCreate", wire.Value{U: 1}, wire.Value{U: ga}, wire.Value{U: ctxa}, wire.Value{U: 1}, wire.Value{U: 1})
	require.Zero(t, r)
	assert.NotZero(t, binary.LittleEndian.Uint64(outs[0]))
	r, _ = b.call("cuGraphConditionalHandleCreate", wire.Value{U: 1}, wire.Value{U: ga}, wire.Value{U: ctxb}, wire.Value{}, wire.Value{})
	assert.Equal(t, uint64(1), r, "another client's graph")
	r, _ = b.call("cuGraphConditionalHandleCreate", wire.Value{U: 1}, wire.Value{U: gb}, wire.Value{U: ctxa}, wire.Value{}, wire.Value{})
	assert.Equal(t, uint64(201), r, "another client's context")
	r, _ = b.call("cuGraphConditionalHandleCreate", wire.Value{U: 1}, wire.Value{U: gb}, wire.Value{U: ctxb}, wire.Value{}, wire.Value{})
	assert.Zero(t, r)
}

// Capture dependencies with edge data: non-default edges are refused, and counts larger than
// what was sent never make the server read past it.
func TestCaptureDependenciesV2RefuseHostileInput(t *testing.T) {
	s := startServer(t, Options{})
	c := s.dial(t)
	driver(c)
	r, outs := c.call("cuStreamCreate", wire.Value{U: 1}, wire.Value{U: 1})
	require.Zero(t, r)
	st := binary.LittleEndian.Uint64(outs[0])
	r, _ = c.call("cuStreamBeginCapture_v2", wire.Value{U: st}, wire.Value{U: 2})
	require.Zero(t, r)
	edge := make([]byte, 8)
	edge[2] = 1
	r, _ = c.call("cuStreamUpdateCaptureDependencies_v2", wire.Value{U: st}, wire.Value{B: u64le(0x1234)}, wire.Value{B: edge}, wire.Value{U: 1}, wire.Value{})
	assert.Equal(t, uint64(1), r, "a non-default edge")
	r, _ = c.call("cuStreamUpdateCaptureDependencies_v2", wire.Value{U: st}, wire.Value{}, wire.Value{}, wire.Value{}, wire.Value{U: 1})
	assert.Zero(t, r, "an empty set")
	f := apiFn(t, "cuStreamUpdateCaptureDependencies_v2")
	if req, err := wire.EncodeRequest(f, []wire.Value{{U: st}, {B: u64le(1)}, {B: make([]byte, 8)}, {U: 1 << 40}, {}}); err == nil {
		if p, err := c.request(uint32(f.Op), req); err == nil {
			if res, _, err := wire.DecodeResponse(f, p); err == nil {
				assert.NotZero(t, res)
			}
		}
	}
	s.works(t)
}

func apiFn(t *testing.T, name string) *api.Func {
	t.Helper()
	f := api.ByName()[name]
	require.NotNil(t, f, name)
	return f
}

// Sparse-array mapping names arrays: another client's array is a handle nobody issued, and an
// entry count larger than what was sent never makes the server read past it. A dma-buf export
// of another client's memory is refused as for an unknown range.
func TestMapArrayAndDmaBufReachOnlyTheCallersObjects(t *testing.T) {
	s := startServer(t, Options{})
	a, b := s.dial(t), s.dial(t)
	driver(a)
	driver(b)
	desc := make([]byte, 24)
	binary.LittleEndian.PutUint64(desc[0:], 64)
	binary.LittleEndian.PutUint64(desc[8:], 64)
	binary.LittleEndian.PutUint32(desc[16:], 1)
	binary.LittleEndian.PutUint32(desc[20:], 1)
	r, outs := a.call("cuArrayCreate_v2", wire.Value{U: 1}, wire.Value{B: desc})
	require.Zero(t, r)
	arr := binary.LittleEndian.Uint64(outs[0])
	info := make([]byte, 96)
	binary.LittleEndian.PutUint64(info[8:], arr)
	r, _ = a.call("cuMemMapArrayAsync", wire.Value{B: info}, wire.Value{U: 1}, wire.Value{})
	assert.Equal(t, uint64(1), r, "the owner's array is not sparse")
	r, _ = b.call("cuMemMapArrayAsync", wire.Value{B: info}, wire.Value{U: 1}, wire.Value{})
	assert.Equal(t, uint64(400), r, "another client's array")
	f := apiFn(t, "cuMemMapArrayAsync")
	for _, count := range []uint64{2, 1 << 31} {
		req, err := wire.EncodeRequest(f, []wire.Value{{B: info}, {U: count}, {}})
		if err != nil {
			continue
		}
		if p, err := a.request(uint32(f.Op), req); err == nil {
			if res, _, err := wire.DecodeResponse(f, p); err == nil {
				assert.NotZero(t, res, "count %d", count)
			}
		}
	}

	r, outs = a.call("cuMemAlloc_v2", wire.Value{U: 1}, wire.Value{U: 1 << 20})
	require.Zero(t, r)
	p := binary.LittleEndian.Uint64(outs[0])
	r, _ = a.call("cuMemGetHandleForAddressRange", wire.Value{U: 1}, wire.Value{U: p}, wire.Value{U: 1 << 16}, wire.Value{U: 1}, wire.Value{})
	assert.Equal(t, uint64(801), r, "the owner's range: checked, then not supported")
	r, _ = b.call("cuMemGetHandleForAddressRange", wire.Value{U: 1}, wire.Value{U: p}, wire.Value{U: 1 << 16}, wire.Value{U: 1}, wire.Value{})
	assert.Equal(t, uint64(1), r, "another client's range")
	s.works(t)
}
