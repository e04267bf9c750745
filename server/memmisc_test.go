package server

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/wire"
)

// Pointer queries carried to the server answer for the caller's own memory only: a second
// client asking about the first's allocation gets exactly what an address nobody allocated
// gets (the driver's answer for unknown memory), and cannot set attributes on it.
func TestPointerQueriesTreatAnotherClientsMemoryAsUnknown(t *testing.T) {
	s := startServer(t, Options{})
	a, b := s.dial(t), s.dial(t)
	for _, c := range []*testClient{a, b} {
		driver(c)
	}
	const n = 1 << 20
	r, outs := a.call("cuMemAlloc_v2", wire.Value{U: 1}, wire.Value{U: n})
	require.Zero(t, r)
	ptr := binary.LittleEndian.Uint64(outs[0])
	r, outs = b.call("cuMemAlloc_v2", wire.Value{U: 1}, wire.Value{U: n})
	require.Zero(t, r)
	wild := binary.LittleEndian.Uint64(outs[0])
	r, _ = b.call("cuMemFree_v2", wire.Value{U: wild})
	require.Zero(t, r) // wild: an address that was device memory, and is no one's now

	// The owner sees its allocation.
	r, outs = a.call("cuPointerGetAttribute", wire.Value{U: 1}, wire.Value{U: 12}, wire.Value{U: ptr + 4096})
	require.Zero(t, r)
	assert.Equal(t, uint64(n), binary.LittleEndian.Uint64(outs[0]), "range size")
	r, outs = a.call("cudaPointerGetAttributes", wire.Value{U: 1}, wire.Value{U: ptr})
	require.Zero(t, r)
	assert.Equal(t, uint32(2), binary.LittleEndian.Uint32(outs[0]), "cudaMemoryTypeDevice")
	one := binary.LittleEndian.AppendUint32(nil, 1)
	r, _ = a.call("cuPointerSetAttribute", wire.Value{B: one}, wire.Value{U: 6}, wire.Value{U: ptr})
	require.Zero(t, r)

	// The other client: each answer equals the wild address's, and nothing is written out.
	for _, attr := range []uint64{1, 2, 3, 6, 8, 9, 11, 12, 13} {
		rw, ow := b.call("cuPointerGetAttribute", wire.Value{U: 1}, wire.Value{U: attr}, wire.Value{U: wild})
		ra, oa := b.call("cuPointerGetAttribute", wire.Value{U: 1}, wire.Value{U: attr}, wire.Value{U: ptr})
		assert.NotZero(t, rw, "attribute %d of an unknown address", attr)
		assert.Equal(t, rw, ra, "attribute %d", attr)
		assert.Equal(t, ow, oa, "attribute %d", attr)
	}
	rw, ow := b.call("cudaPointerGetAttributes", wire.Value{U: 1}, wire.Value{U: wild})
	ra, oa := b.call("cudaPointerGetAttributes", wire.Value{U: 1}, wire.Value{U: ptr})
	assert.Equal(t, rw, ra)
	assert.Equal(t, uint32(0), binary.LittleEndian.Uint32(oa[0]), "cudaMemoryTypeUnregistered")
	assert.Equal(t, ow[0][:8], oa[0][:8], "type and device as for unknown memory")
	rw, _ = b.call("cuPointerSetAttribute", wire.Value{B: one}, wire.Value{U: 6}, wire.Value{U: wild})
	ra, _ = b.call("cuPointerSetAttribute", wire.Value{B: one}, wire.Value{U: 6}, wire.Value{U: ptr})
	assert.NotZero(t, rw)
	assert.Equal(t, rw, ra, "setting an attribute on another client's memory")
	rw, _ = b.call("cuMemGetAddressRange_v2", wire.Value{U: 1}, wire.Value{U: 1}, wire.Value{U: wild})
	ra, _ = b.call("cuMemGetAddressRange_v2", wire.Value{U: 1}, wire.Value{U: 1}, wire.Value{U: ptr})
	assert.Equal(t, rw, ra)

	// The owner's flag is still its own, set once, by itself.
	r, outs = a.call("cuPointerGetAttribute", wire.Value{U: 1}, wire.Value{U: 6}, wire.Value{U: ptr})
	require.Zero(t, r)
	assert.Equal(t, uint32(1), binary.LittleEndian.Uint32(outs[0]), "SYNC_MEMOPS")
}

// The legacy 32-bit names cannot hand out an address above 4 GiB: cuMemAlloc fails with
// CUDA_ERROR_OUT_OF_MEMORY (2) and leaves nothing allocated behind; a 32-bit address names
// no allocation, so a copy or fill through it is CUDA_ERROR_INVALID_VALUE (1).
func TestLegacy32BitMemoryNamesAnswerHonestlyOverTheWire(t *testing.T) {
	s := startServer(t, Options{})
	c := s.dial(t)
	driver(c)
	free := func() uint64 {
		r, outs := c.call("cuMemGetInfo_v2", wire.Value{U: 1}, wire.Value{U: 1})
		require.Zero(t, r)
		return binary.LittleEndian.Uint64(outs[0])
	}
	before := free()
	r, outs := c.call("cuMemAlloc", wire.Value{U: 1}, wire.Value{U: 1 << 20})
	if r == 0 {
		p := binary.LittleEndian.Uint32(outs[0])
		assert.NotZero(t, p, "a 32-bit address, if one is handed out")
		r, _ = c.call("cuMemFree", wire.Value{U: uint64(p)})
		assert.Zero(t, r)
	} else {
		assert.Equal(t, uint64(2), r, "CUDA_ERROR_OUT_OF_MEMORY")
	}
	assert.Equal(t, before, free(), "nothing stays allocated")
	r, _ = c.call("cuMemsetD8", wire.Value{U: 0x1000}, wire.Value{U: 7}, wire.Value{U: 16})
	assert.Equal(t, uint64(1), r)
	r, _ = c.call("cuMemsetD2D32", wire.Value{U: 0x1000}, wire.Value{U: 64}, wire.Value{U: 7}, wire.Value{U: 16}, wire.Value{U: 2})
	assert.Equal(t, uint64(1), r)
	r, _ = c.call("cuMemGetAddressRange", wire.Value{U: 1}, wire.Value{U: 1}, wire.Value{U: 0x1000})
	assert.NotZero(t, r)
}

// driver initialises the driver API for c and makes a context of its own current.
func driver(c *testClient) {
	c.t.Helper()
	r, _ := c.call("cuInit", wire.Value{})
	require.Zero(c.t, r)
	r, _ = c.call("cuCtxCreate_v2", wire.Value{U: 1}, wire.Value{}, wire.Value{})
	require.Zero(c.t, r)
}

// A pool belongs to the client that created it: another client naming its handle is told
// what a handle nobody issued gets, and cannot allocate from it, change its access, make it
// current or destroy it.
func TestPoolsAreTheirCreatorsOnly(t *testing.T) {
	s := startServer(t, Options{})
	a, b := s.dial(t), s.dial(t)
	driver(a)
	driver(b)
	props := make([]byte, 88)
	binary.LittleEndian.PutUint32(props[0:], 1) // pinned
	binary.LittleEndian.PutUint32(props[8:], 1) // a device location, device 0
	r, outs := a.call("cuMemPoolCreate", wire.Value{U: 1}, wire.Value{B: props})
	require.Zero(t, r)
	pool := binary.LittleEndian.Uint64(outs[0])
	r, outs = b.call("cuMemPoolCreate", wire.Value{U: 1}, wire.Value{B: props})
	require.Zero(t, r)
	wild := binary.LittleEndian.Uint64(outs[0])
	r, _ = b.call("cuMemPoolDestroy", wire.Value{U: wild})
	require.Zero(t, r)

	desc := make([]byte, 12)
	binary.LittleEndian.PutUint32(desc[0:], 1)
	binary.LittleEndian.PutUint32(desc[8:], 3)
	loc := desc[:8]
	for _, h := range []uint64{wild, pool} {
		r, _ := b.call("cuMemAllocFromPoolAsync", wire.Value{U: 1}, wire.Value{U: 4096}, wire.Value{U: h}, wire.Value{})
		assert.Equal(t, uint64(1), r, "allocation from pool %#x", h)
		r, _ = b.call("cuMemPoolSetAccess", wire.Value{U: h}, wire.Value{B: desc}, wire.Value{U: 1})
		assert.Equal(t, uint64(1), r, "access to pool %#x", h)
		r, _ = b.call("cuMemPoolGetAccess", wire.Value{U: 1}, wire.Value{U: h}, wire.Value{B: loc})
		assert.Equal(t, uint64(1), r, "access of pool %#x", h)
		r, _ = b.call("cuDeviceSetMemPool", wire.Value{}, wire.Value{U: h})
		assert.Equal(t, uint64(1), r, "pool %#x made current", h)
		r, _ = b.call("cudaMemPoolDestroy", wire.Value{U: h})
		assert.Equal(t, uint64(1), r, "runtime destruction of pool %#x", h)
		r, _ = b.call("cuMemPoolDestroy", wire.Value{U: h})
		assert.Equal(t, uint64(1), r, "destruction of pool %#x", h)
	}
	// B's current pool is still its default; A's pool still serves A.
	r, outs = b.call("cuDeviceGetMemPool", wire.Value{U: 1}, wire.Value{})
	require.Zero(t, r)
	assert.NotEqual(t, pool, binary.LittleEndian.Uint64(outs[0]))
	r, _ = a.call("cuMemAllocFromPoolAsync", wire.Value{U: 1}, wire.Value{U: 4096}, wire.Value{U: pool}, wire.Value{})
	assert.Zero(t, r)
	r, _ = a.call("cuMemPoolDestroy", wire.Value{U: pool})
	assert.Zero(t, r)
}

// Managed-memory calls carried to the server reach the caller's own ranges only: advice,
// prefetches, attachment and range queries on another client's managed memory are refused
// as for an address nobody allocated, and the owner's records are unchanged by them.
func TestManagedHintsAreTheOwnersOnly(t *testing.T) {
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
	wild := binary.LittleEndian.Uint64(outs[0])
	r, _ = b.call("cuMemFree_v2", wire.Value{U: wild})
	require.Zero(t, r)
	host := make([]byte, 8)
	binary.LittleEndian.PutUint32(host, 2)
	for _, p := range []uint64{wild, m} {
		r, _ := b.call("cuMemAdvise", wire.Value{U: p}, wire.Value{U: n}, wire.Value{U: 1}, wire.Value{})
		assert.Equal(t, uint64(1), r, "advice on %#x", p)
		r, _ = b.call("cuMemPrefetchAsync_v2", wire.Value{U: p}, wire.Value{U: n}, wire.Value{B: host}, wire.Value{}, wire.Value{})
		assert.Equal(t, uint64(1), r, "prefetch of %#x", p)
		r, _ = b.call("cuStreamAttachMemAsync", wire.Value{}, wire.Value{U: p}, wire.Value{}, wire.Value{U: 1})
		assert.Equal(t, uint64(1), r, "attachment of %#x", p)
		r, _ = b.call("cuMemRangeGetAttribute", wire.Value{U: 1}, wire.Value{U: 4}, wire.Value{U: 1}, wire.Value{U: p}, wire.Value{U: n})
		assert.Equal(t, uint64(1), r, "range attribute of %#x", p)
	}
	r, outs = a.call("cuMemRangeGetAttribute", wire.Value{U: 1}, wire.Value{U: 4}, wire.Value{U: 1}, wire.Value{U: m}, wire.Value{U: n})
	require.Zero(t, r)
	assert.Equal(t, uint32(0), binary.LittleEndian.Uint32(outs[0]), "not read-mostly: B's advice did not land")
	r, outs = a.call("cuMemRangeGetAttribute", wire.Value{U: 1}, wire.Value{U: 4}, wire.Value{U: 4}, wire.Value{U: m}, wire.Value{U: n})
	require.Zero(t, r)
	assert.Equal(t, uint32(0xfffffffe), binary.LittleEndian.Uint32(outs[0]), "never prefetched")
}

// Another client cannot retain (and so keep alive or release) the physical memory mapped at
// one client's address, nor read the properties of its handle.
func TestVMMHandlesAreTheOwnersOnly(t *testing.T) {
	s := startServer(t, Options{})
	a, b := s.dial(t), s.dial(t)
	driver(a)
	driver(b)
	prop := make([]byte, 32)
	binary.LittleEndian.PutUint32(prop[0:], 1)
	binary.LittleEndian.PutUint32(prop[8:], 1)
	const sz = 2 << 20
	r, outs := a.call("cuMemCreate", wire.Value{U: 1}, wire.Value{U: sz}, wire.Value{B: prop}, wire.Value{})
	require.Zero(t, r)
	h := binary.LittleEndian.Uint64(outs[0])
	r, outs = a.call("cuMemAddressReserve", wire.Value{U: 1}, wire.Value{U: sz}, wire.Value{}, wire.Value{}, wire.Value{})
	require.Zero(t, r)
	va := binary.LittleEndian.Uint64(outs[0])
	r, _ = a.call("cuMemMap", wire.Value{U: va}, wire.Value{U: sz}, wire.Value{}, wire.Value{U: h}, wire.Value{})
	require.Zero(t, r)

	r, _ = b.call("cuMemRetainAllocationHandle", wire.Value{U: 1}, wire.Value{U: va})
	assert.Equal(t, uint64(1), r, "retaining another client's mapping")
	r, _ = b.call("cuMemGetAllocationPropertiesFromHandle", wire.Value{U: 1}, wire.Value{U: h})
	assert.Equal(t, uint64(1), r, "the properties of another client's handle")
	r, _ = b.call("cuMemRelease", wire.Value{U: h})
	assert.Equal(t, uint64(1), r, "releasing another client's handle")

	r, outs = a.call("cuMemRetainAllocationHandle", wire.Value{U: 1}, wire.Value{U: va + 4096})
	require.Zero(t, r)
	assert.Equal(t, h, binary.LittleEndian.Uint64(outs[0]))
	for i := 0; i < 2; i++ {
		r, _ = a.call("cuMemRelease", wire.Value{U: h})
		assert.Zero(t, r, "reference %d", i)
	}
	r, _ = a.call("cuMemUnmap", wire.Value{U: va}, wire.Value{U: sz})
	assert.Zero(t, r)
}
