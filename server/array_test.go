package server

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/shim"
	"vgpu/wire"
)

// arrayDriver stands for a GPU backend with real arrays and texture objects: its arrays sit
// behind ranges of its own, its objects' values are its own small numbers, and it records
// what it was asked.
type arrayDriver struct {
	*shim.SimBackend
	mu        sync.Mutex
	next      uint64
	live      map[uint64]bool // texture and surface objects, by value
	destroyed []uint64
	ranges    map[uintptr]uint64
}

func (d *arrayDriver) ArrayAlloc(dev *shim.Device, a *shim.Array, size uint64) (uintptr, uintptr, shim.Status) {
	base, err := shim.MapAnon(size, 3)
	if err != nil {
		return 0, 0, shim.ErrOutOfMemory
	}
	d.mu.Lock()
	d.ranges[base] = size
	d.mu.Unlock()
	return base, 0xa0000 + base&0xffff, shim.OK
}

func (d *arrayDriver) DeviceFree(a *shim.Alloc) error {
	d.mu.Lock()
	size, ok := d.ranges[a.Base]
	delete(d.ranges, a.Base)
	d.mu.Unlock()
	if ok {
		return shim.Unmap(a.Base, size)
	}
	return d.SimBackend.DeviceFree(a)
}

func (d *arrayDriver) object() (uint64, shim.Status) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.next++
	d.live[d.next] = true
	return d.next, shim.OK
}

func (d *arrayDriver) destroy(v uint64) shim.Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.live[v] {
		return shim.ErrInvalidValue
	}
	delete(d.live, v)
	d.destroyed = append(d.destroyed, v)
	return shim.OK
}

func (d *arrayDriver) TexObjectCreate(res, tex, view []byte) (uint64, shim.Status) { return d.object() }
func (d *arrayDriver) TexObjectDestroy(v uint64) shim.Status                       { return d.destroy(v) }
func (d *arrayDriver) SurfObjectCreate(res []byte) (uint64, shim.Status)           { return d.object() }
func (d *arrayDriver) SurfObjectDestroy(v uint64) shim.Status                      { return d.destroy(v) }
func (d *arrayDriver) MipmapAlloc(*shim.Device, []*shim.Array, []uint64) (uintptr, []uintptr, []uintptr, shim.Status) {
	return 0, nil, nil, shim.ErrNotSupported
}
func (d *arrayDriver) MipmapFree(uintptr) shim.Status { return shim.ErrInvalidValue }

func (d *arrayDriver) state() (live int, destroyed []uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.live), append([]uint64(nil), d.destroyed...)
}

// Over the connection, a client's texture and surface objects are the backend's driver's
// values (what its kernels read from their parameters), its array's storage is the driver's
// range; another client can neither use nor destroy them, and they go with their client.
func TestRemoteTextureObjectsAreTheBackendDriversValues(t *testing.T) {
	drv := &arrayDriver{SimBackend: shim.S().Backend.(*shim.SimBackend), live: map[uint64]bool{}, ranges: map[uintptr]uint64{}}
	withBackend(t, drv)
	s := startServer(t, Options{})
	a, b := s.dial(t), s.dial(t)
	defer b.close()
	le := binary.LittleEndian
	desc := make([]byte, 20)
	le.PutUint32(desc, 32)
	le.PutUint32(desc[16:], shim.ChanFloat)
	r, outs := a.call("cudaMallocArray", wire.Value{U: 1}, wire.Value{B: desc}, wire.Value{U: 64}, wire.Value{U: 16}, wire.Value{U: shim.ArraySurfaceLS})
	require.Zero(t, r)
	arr := le.Uint64(outs[0])
	layout, err := a.request(wire.OpArrayLayout, u64s(arr)) // u32 error, then base, pitch, ...
	require.NoError(t, err)
	require.Len(t, layout, 44)
	require.Zero(t, le.Uint32(layout))
	drv.mu.Lock()
	_, isDrivers := drv.ranges[uintptr(le.Uint64(layout[4:]))]
	drv.mu.Unlock()
	assert.True(t, isDrivers, "the array's storage is the range the backend gave")

	res := make([]byte, shim.ResDescSize)
	le.PutUint64(res[8:], arr)
	r, outs = a.call("cudaCreateTextureObject", wire.Value{U: 1}, wire.Value{B: res}, wire.Value{B: make([]byte, shim.TexDescSize)}, wire.Value{})
	require.Zero(t, r)
	tex := le.Uint64(outs[0])
	r, outs = a.call("cudaCreateSurfaceObject", wire.Value{U: 1}, wire.Value{B: res})
	require.Zero(t, r)
	surf := le.Uint64(outs[0])
	assert.Equal(t, []uint64{1, 2}, []uint64{tex, surf}, "the driver's values reach the client")

	r, _ = b.call("cudaDestroyTextureObject", wire.Value{U: tex})
	assert.NotZero(t, r, "another client's texture")
	r, _ = b.call("cudaDestroySurfaceObject", wire.Value{U: surf})
	assert.NotZero(t, r, "another client's surface")
	r, _ = b.call("cudaGetTextureObjectResourceDesc", wire.Value{U: 1}, wire.Value{U: tex})
	assert.NotZero(t, r)
	layout, err = b.request(wire.OpArrayLayout, u64s(arr))
	require.NoError(t, err)
	assert.NotZero(t, le.Uint32(layout), "another client's array")
	live, destroyed := drv.state()
	assert.Equal(t, 2, live)
	assert.Empty(t, destroyed)

	r, _ = a.call("cudaDestroyTextureObject", wire.Value{U: tex})
	require.Zero(t, r)
	_, destroyed = drv.state()
	assert.Equal(t, []uint64{tex}, destroyed, "destroy reaches the driver")

	a.close()
	assert.Eventually(t, func() bool {
		live, _ := drv.state()
		drv.mu.Lock()
		n := len(drv.ranges)
		drv.mu.Unlock()
		return live == 0 && n == 0
	}, 5*time.Second, 10*time.Millisecond, "the client's surface and array went with it")
}
