package shim

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProfilesHaveRealFigures(t *testing.T) {
	ps, err := Profiles()
	require.NoError(t, err)
	byID := map[string]*Profile{}
	for _, p := range ps {
		byID[p.ID] = p
		assert.NotZero(t, p.Attrs[AttrWarpSize], p.ID)
		assert.Equal(t, int32(32), p.Attrs[AttrWarpSize], p.ID)
		assert.Equal(t, int32(p.SMs), p.Attrs[AttrMultiprocessorCount], p.ID)
		assert.Equal(t, int32(p.CC[0]), p.Attrs[AttrComputeCapabilityMajor], p.ID)
		assert.Less(t, p.Memory, p.NVMLTotal(), p.ID)
	}
	for _, id := range []string{"h100-sxm-80gb", "h100-pcie-80gb", "h200-sxm-141gb", "a100-sxm4-80gb", "l4", "rtx-4090", "t4"} {
		require.Contains(t, byID, id)
	}
	// The H100 vector was read from a real card: spot-check it.
	h := byID["h100-sxm-80gb"]
	assert.Equal(t, "NVIDIA H100 80GB HBM3", h.Name)
	assert.Equal(t, uint64(85017493504), h.Memory)
	assert.Equal(t, uint64(85520809984), h.NVMLTotal())
	assert.Equal(t, int32(232448), h.Attrs[AttrMaxSharedMemPerBlockOptin])
	assert.Equal(t, int32(1980000), h.Attrs[AttrClockRate])
	assert.Equal(t, int32(1), h.Attrs[AttrVirtualMemoryManagement])
	assert.Equal(t, int32(0x233010de), h.Attrs[AttrGPUPCIDeviceID])
	// Architecture deltas apply.
	assert.Equal(t, int32(65536), byID["t4"].Attrs[AttrMaxSharedMemoryPerSM])
	assert.Equal(t, int32(1536), byID["l4"].Attrs[AttrMaxThreadsPerSM])
	assert.Equal(t, int32(0), byID["a100-sxm4-80gb"].Attrs[AttrClusterLaunch])
}

func TestFindProfile(t *testing.T) {
	p, err := FindProfile("H100")
	require.NoError(t, err)
	assert.Equal(t, "h100-sxm-80gb", p.ID)
	p, err = FindProfile("NVIDIA L4")
	require.NoError(t, err)
	assert.Equal(t, "l4", p.ID)
	_, err = FindProfile("voodoo2")
	assert.ErrorContains(t, err, "unknown profile")
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigDefaultsAndEnv(t *testing.T) {
	c, err := LoadConfig(env(nil))
	require.NoError(t, err)
	assert.Equal(t, "h100-sxm-80gb", c.Profile)
	assert.Len(t, c.DeviceList(), 1)
	assert.Equal(t, 13000, c.CUDAVersion)
	assert.Equal(t, "580", c.DriverVersion[:3])

	c, err = LoadConfig(env(map[string]string{"VGPU_DEVICES": "3", "VGPU_PROFILE": "t4", "VGPU_CUDA_VERSION": "12080", "VGPU_MEMORY": "16GiB"}))
	require.NoError(t, err)
	ds := c.DeviceList()
	require.Len(t, ds, 3)
	assert.Equal(t, "t4", ds[2].Profile)
	assert.Equal(t, "16GiB", ds[1].Memory)
	assert.Equal(t, 12080, c.CUDAVersion)

	for _, bad := range []map[string]string{
		{"VGPU_DEVICES": "-1"}, {"VGPU_DEVICES": "x"}, {"VGPU_DEVICES": "65"}, {"VGPU_BACKEND": "quantum"},
		{"VGPU_SIM_LAUNCH": "maybe"}, {"VGPU_CUDA_VERSION": "13"}, {"VGPU_MEMORY": "lots"}, {"VGPU_CONFIG": "/nonexistent"},
	} {
		_, err := LoadConfig(env(bad))
		assert.Error(t, err, "%v", bad)
	}
}

func TestConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vgpu.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`
driver_version: "570.86.15"
cuda_driver_version: 12080
devices:
  - profile: a100
  - profile: l4
    name: "Renamed L4"
    memory: 8GiB
`), 0o644))
	c, err := LoadConfig(env(map[string]string{"VGPU_CONFIG": path}))
	require.NoError(t, err)
	ds := c.DeviceList()
	require.Len(t, ds, 2)
	d, err := NewDevice(1, ds[1], &c)
	require.NoError(t, err)
	assert.Equal(t, "Renamed L4", d.Name)
	assert.Equal(t, uint64(8<<30), d.Memory)
	assert.Equal(t, "570.86.15", c.DriverVersion)
}

func TestConfigFileRejectsUnknownKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vgpu.yaml")
	require.NoError(t, os.WriteFile(path, []byte("profil: t4\n"), 0o644))
	_, err := LoadConfig(env(map[string]string{"VGPU_CONFIG": path}))
	require.ErrorContains(t, err, "profil")
	require.NoError(t, os.WriteFile(path, nil, 0o644)) // an empty file is the defaults
	_, err = LoadConfig(env(map[string]string{"VGPU_CONFIG": path}))
	require.NoError(t, err)
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]uint64{"1024": 1024, "16GiB": 16 << 30, "80GB": 80e9, "1.5 MiB": 1.5 * (1 << 20)} {
		got, err := ParseSize(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "-1", "0", "GiB", "1e30"} {
		_, err := ParseSize(bad)
		assert.Error(t, err, bad)
	}
}

func devices(t *testing.T, n int, seed string) []*Device {
	c := DefaultConfig()
	c.Count, c.UUIDSeed = n, seed
	var out []*Device
	for i, dc := range c.DeviceList() {
		d, err := NewDevice(i, dc, &c)
		require.NoError(t, err)
		out = append(out, d)
	}
	return out
}

func TestIdentityDeterministicAndUnique(t *testing.T) {
	a, b := devices(t, 8, "vgpu"), devices(t, 8, "vgpu")
	seen := map[string]bool{}
	for i := range a {
		assert.Equal(t, a[i].UUIDString(), b[i].UUIDString(), "same config, same UUID")
		assert.Equal(t, a[i].PCIBusID(), b[i].PCIBusID())
		assert.False(t, seen[a[i].UUIDString()] || seen[a[i].PCIBusID()], "duplicate identity")
		seen[a[i].UUIDString()], seen[a[i].PCIBusID()] = true, true
		assert.Regexp(t, `^GPU-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, a[i].UUIDString())
		assert.Regexp(t, `^[0-9]{13}$`, a[i].Serial)
	}
	c := devices(t, 1, "other-host")
	assert.NotEqual(t, a[0].UUIDString(), c[0].UUIDString(), "the seed changes UUIDs")
	assert.True(t, a[1].MatchesBusID(a[1].NVMLBusID()))
	assert.True(t, a[1].MatchesBusID(a[1].PCIBusID()))
	assert.False(t, a[1].MatchesBusID(a[2].PCIBusID()))
}

func TestCUDAVisibleDevices(t *testing.T) {
	ds := devices(t, 4, "vgpu")
	assert.Equal(t, ds, ApplyVisible(ds, "", false), "unset: all")
	assert.Empty(t, ApplyVisible(ds, "", true), "empty: none")
	assert.Equal(t, []*Device{ds[2], ds[0]}, ApplyVisible(ds, "2,0", true))
	assert.Equal(t, []*Device{ds[1]}, ApplyVisible(ds, "1,7,2", true), "stops at an invalid index")
	assert.Equal(t, []*Device{ds[1]}, ApplyVisible(ds, "1,1", true), "stops at a repeat")
	assert.Equal(t, []*Device{ds[3], ds[1]}, ApplyVisible(ds, ds[3].UUIDString()+","+ds[1].UUIDString()[:10], true), "UUID and prefix")
	assert.Empty(t, ApplyVisible(ds, "GPU-", true))
	assert.Empty(t, ApplyVisible(ds, "MIG-xyz", true))
}

func TestHandles(t *testing.T) {
	s := &Stream{}
	h := NewHandle(KindStream, s)
	got, ok := Lookup[*Stream](KindStream, h)
	assert.True(t, ok)
	assert.Same(t, s, got)
	_, ok = Lookup[*Event](KindEvent, h)
	assert.False(t, ok, "wrong kind")
	_, ok = Lookup[*Stream](KindStream, 0x1234)
	assert.False(t, ok, "wild value")
	assert.True(t, Release(KindStream, h))
	assert.False(t, Release(KindStream, h), "double release")
	_, ok = Lookup[*Stream](KindStream, h)
	assert.False(t, ok, "use after release")
}

func TestMemTableInnermost(t *testing.T) {
	m := NewMemTable()
	res := &Alloc{Base: 0x100000, Size: 0x100000, Kind: MemReserved}
	m.Add(res)
	p1 := &Alloc{Base: 0x100000, Size: 0x1000, Kind: MemMapped}
	p2 := &Alloc{Base: 0x101000, Size: 0x1000, Kind: MemMapped}
	m.Add(p1)
	m.Add(p2)
	other := &Alloc{Base: 0x300000, Size: 0x10, Kind: MemDevice}
	m.Add(other)
	assert.Same(t, p1, m.Find(0x100010))
	assert.Same(t, p2, m.Find(0x101fff))
	assert.Same(t, res, m.Find(0x150000))
	assert.Same(t, other, m.Find(0x30000f))
	assert.Nil(t, m.Find(0x300010))
	assert.Nil(t, m.Find(0xff))
	assert.Same(t, p1, m.Exact(0x100000, MemMapped))
	assert.Same(t, res, m.Exact(0x100000, MemReserved))
	assert.True(t, m.Remove(p1))
	assert.False(t, m.Remove(p1))
}

func TestAccountingConcurrent(t *testing.T) {
	d := devices(t, 1, "vgpu")[0]
	d.Memory = 1 << 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if d.Charge(64 << 10) {
				mu.Lock()
				granted++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 16, granted, "exactly what fits")
	assert.Zero(t, d.Free())
	assert.False(t, d.Charge(1))
	d.Refund(64 << 10)
	assert.Equal(t, uint64(64<<10), d.Free())
}

func TestStateFromEnvironment(t *testing.T) {
	t.Setenv("VGPU_DEVICES", "2")
	t.Setenv("CUDA_VISIBLE_DEVICES", "1")
	Reset()
	defer Reset()
	s := S()
	require.NoError(t, s.Err)
	assert.Len(t, s.Physical, 2)
	require.Len(t, s.Visible, 1)
	assert.Same(t, s.Physical[1], s.Visible[0])
	assert.Equal(t, 0, s.Ordinal(s.Physical[1]))
	assert.Equal(t, -1, s.Ordinal(s.Physical[0]))
}

func TestMulAdd(t *testing.T) {
	v, ok := MulAdd(512, 1<<20, 7)
	require.True(t, ok)
	require.Equal(t, uint64(512<<20+7), v)
	_, ok = MulAdd(1<<40, 1<<24, 0) // the product wraps to 0
	require.False(t, ok)
	_, ok = MulAdd(1<<63, 1, 1<<63) // the sum carries out
	require.False(t, ok)
}

func TestInRange(t *testing.T) {
	for _, c := range []struct {
		p    uintptr
		n    uint64
		want bool
	}{
		{0x1000, 0x1000, true}, {0x1800, 0x800, true}, {0x1800, 0x801, false}, {0xfff, 1, false},
		{0x2000, 0, true}, {0x2000, 1, false}, {0x1010, ^uint64(0) - 8, false}, // a length whose sum with p would wrap
	} {
		require.Equal(t, c.want, InRange(0x1000, 0x1000, c.p, c.n), "%#x+%#x", c.p, c.n)
	}
}
