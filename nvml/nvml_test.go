package nvml

import (
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/shim"
)

func TestVersionedStructs(t *testing.T) {
	assert.Equal(t, 0x02000028, memoryV2, "nvmlMemory_v2 = sizeof | 2<<24")
}

func TestReferenceCountedInit(t *testing.T) {
	assert.Equal(t, Uninitialized, Shutdown())
	assert.Equal(t, Success, Init())
	assert.Equal(t, Success, Init())
	assert.Equal(t, Success, Shutdown())
	assert.Equal(t, Success, ready(), "one reference left")
	assert.Equal(t, Success, Shutdown())
	assert.Equal(t, Uninitialized, ready())
}

// The rules below hold for the default device, an H100 80GB HBM3 (SXM).

func p[T any](v *T) unsafe.Pointer { return unsafe.Pointer(v) }

func firstDevice(t *testing.T) uintptr {
	t.Helper()
	require.Equal(t, Success, Init())
	t.Cleanup(func() { Shutdown() })
	var h uintptr
	require.Equal(t, Success, DeviceGetHandleByIndex(0, p(&h)))
	return h
}

// asRoot runs f as a privileged caller would, and restores the device's settings after.
func asRoot(t *testing.T, f func()) {
	saved := privileged
	privileged = func() bool { return true }
	defer func() {
		privileged = saved
		settingsMu.Lock()
		settingsOf = map[*shim.Device]*settings{}
		settingsMu.Unlock()
	}()
	f()
}

// asUser runs f as an unprivileged caller (or a server's client).
func asUser(t *testing.T, f func()) {
	saved := privileged
	privileged = func() bool { return false }
	defer func() { privileged = saved }()
	f()
}

func TestClocksStayWithinTheirMaximum(t *testing.T) {
	h := firstDevice(t)
	for typ := int32(0); typ <= 3; typ++ {
		var cur, max, app, def, boost, byID uint32
		require.Equal(t, Success, DeviceGetClockInfo(h, typ, p(&cur)))
		require.Equal(t, Success, DeviceGetMaxClockInfo(h, typ, p(&max)))
		require.Equal(t, Success, DeviceGetApplicationsClock(h, typ, p(&app)))
		require.Equal(t, Success, DeviceGetDefaultApplicationsClock(h, typ, p(&def)))
		require.Equal(t, Success, DeviceGetMaxCustomerBoostClock(h, typ, p(&boost)))
		assert.LessOrEqual(t, cur, max, "type %d", typ)
		assert.LessOrEqual(t, app, max)
		assert.LessOrEqual(t, def, max)
		assert.Equal(t, max, boost)
		for id, want := range []uint32{cur, app, def, boost} {
			require.Equal(t, Success, DeviceGetClock(h, typ, int32(id), p(&byID)))
			assert.Equal(t, want, byID, "clock id %d agrees with its own call", id)
		}
	}
	var v uint32
	assert.Equal(t, InvalidArgument, DeviceGetClockInfo(h, 4, p(&v)), "unknown clock type")
	assert.Equal(t, InvalidArgument, DeviceGetClock(h, 0, 9, p(&v)), "unknown clock id")
	assert.Equal(t, InvalidArgument, DeviceGetApplicationsClock(h, 0, nil))
}

func TestSupportedClocksListTheMaximumFirstAndSayHowManyTheyNeed(t *testing.T) {
	h := firstDevice(t)
	var mem, maxGfx uint32
	require.Equal(t, Success, DeviceGetMaxClockInfo(h, clockMem, p(&mem)))
	require.Equal(t, Success, DeviceGetMaxClockInfo(h, clockGraphics, p(&maxGfx)))
	var n uint32
	assert.Equal(t, InsufficientSize, DeviceGetSupportedMemoryClocks(h, p(&n), nil))
	require.Equal(t, uint32(1), n)
	var mems [1]uint32
	require.Equal(t, Success, DeviceGetSupportedMemoryClocks(h, p(&n), p(&mems)))
	assert.Equal(t, mem, mems[0])

	n = 0
	require.Equal(t, InsufficientSize, DeviceGetSupportedGraphicsClocks(h, mem, p(&n), nil))
	require.Greater(t, n, uint32(1))
	gfx := make([]uint32, n)
	require.Equal(t, Success, DeviceGetSupportedGraphicsClocks(h, mem, p(&n), unsafe.Pointer(&gfx[0])))
	assert.Equal(t, maxGfx, gfx[0])
	for i := 1; i < len(gfx); i++ {
		assert.Less(t, gfx[i], gfx[i-1], "descending")
	}
	var lo, hi uint32
	require.Equal(t, Success, DeviceGetMinMaxClockOfPState(h, clockGraphics, 0, p(&lo), p(&hi)))
	assert.Equal(t, maxGfx, hi, "P0 reaches the top of the list")
	assert.LessOrEqual(t, lo, gfx[len(gfx)-1], "and its floor is at or below the list's lowest")
	assert.Equal(t, NotFound, DeviceGetSupportedGraphicsClocks(h, mem+1, p(&n), nil), "a memory clock the part lacks")
	assert.Equal(t, NotSupported, DeviceGetMinMaxClockOfPState(h, clockGraphics, 8, p(&lo), p(&hi)), "only P0")
}

func TestPowerLimitsAreConsistentAndOnlyRootChangesThem(t *testing.T) {
	h := firstDevice(t)
	var lo, hi, limit, enforced, def, usage uint32
	require.Equal(t, Success, DeviceGetPowerManagementLimitConstraints(h, p(&lo), p(&hi)))
	require.Equal(t, Success, DeviceGetPowerManagementLimit(h, p(&limit)))
	require.Equal(t, Success, DeviceGetPowerManagementDefaultLimit(h, p(&def)))
	require.Equal(t, Success, DeviceGetPowerUsage(h, p(&usage)))
	assert.True(t, lo <= limit && limit <= hi, "%d <= %d <= %d", lo, limit, hi)
	assert.Equal(t, def, limit, "unchanged")
	assert.Less(t, usage, limit)

	asUser(t, func() { assert.Equal(t, NoPermission, DeviceSetPowerManagementLimit(h, lo)) })
	asRoot(t, func() {
		assert.Equal(t, InvalidArgument, DeviceSetPowerManagementLimit(h, hi+1))
		require.Equal(t, Success, DeviceSetPowerManagementLimit(h, lo))
		require.Equal(t, Success, DeviceGetPowerManagementLimit(h, p(&limit)))
		require.Equal(t, Success, DeviceGetPowerManagementLimit(h, p(&enforced)))
		assert.Equal(t, lo, limit)
		assert.Equal(t, lo, enforced)
		v := [3]uint32{powerValueV2, 0, hi}
		require.Equal(t, Success, PowerLimitV2(h, p(&v)))
		require.Equal(t, Success, DeviceGetPowerManagementLimit(h, p(&limit)))
		assert.Equal(t, hi, limit)
		v[0] = 1
		assert.Equal(t, ArgumentVersion, PowerLimitV2(h, p(&v)))
	})
}

func TestSettersNeedRootAndTheirEffectIsVisible(t *testing.T) {
	h := firstDevice(t)
	asUser(t, func() {
		for name, r := range map[string]Return{
			"persistence": DeviceSetPersistenceMode(h, 0), "compute mode": DeviceSetComputeMode(h, 3),
			"ecc": DeviceSetEccMode(h, 0), "accounting": DeviceSetAccountingMode(h, 1),
			"locked clocks": DeviceSetGpuLockedClocks(h, minClockMHz, minClockMHz), "reset app clocks": DeviceResetApplicationsClocks(h),
		} {
			assert.Equal(t, NoPermission, r, name)
		}
	})
	asRoot(t, func() {
		var v, cur, pend uint32
		require.Equal(t, Success, DeviceSetComputeMode(h, 3))
		require.Equal(t, Success, DeviceGetComputeMode(h, p(&v)))
		assert.Equal(t, uint32(3), v)
		assert.Equal(t, InvalidArgument, DeviceSetComputeMode(h, 7))
		require.Equal(t, Success, DeviceSetEccMode(h, 0))
		require.Equal(t, Success, DeviceGetEccMode(h, p(&cur), p(&pend)))
		assert.Equal(t, [2]uint32{1, 0}, [2]uint32{cur, pend}, "the new mode is pending until reset")
		require.Equal(t, Success, DeviceSetGpuLockedClocks(h, minClockMHz, 1005))
		require.Equal(t, Success, DeviceGetClockInfo(h, clockSM, p(&v)))
		assert.Equal(t, uint32(1005), v, "a locked range caps the running clock")
		assert.Equal(t, InvalidArgument, DeviceSetGpuLockedClocks(h, 1005, minClockMHz))
	})
}

func TestThermalThresholdsAreOrdered(t *testing.T) {
	h := firstDevice(t)
	var temp, shutdown, slowdown, gpuMax uint32
	require.Equal(t, Success, DeviceGetTemperature(h, 0, p(&temp)))
	require.Equal(t, Success, DeviceGetTemperatureThreshold(h, 0, p(&shutdown)))
	require.Equal(t, Success, DeviceGetTemperatureThreshold(h, 1, p(&slowdown)))
	require.Equal(t, Success, DeviceGetTemperatureThreshold(h, 3, p(&gpuMax)))
	assert.True(t, temp < gpuMax && gpuMax < slowdown && slowdown < shutdown, "%d < %d < %d < %d", temp, gpuMax, slowdown, shutdown)
	assert.Equal(t, NotSupported, DeviceGetTemperatureThreshold(h, 5, p(&temp)), "no acoustic control")
	assert.Equal(t, InvalidArgument, DeviceGetTemperatureThreshold(h, 99, p(&temp)))
	var ts [16]uint32
	require.Equal(t, Success, DeviceGetThermalSettings(h, 15, p(&ts)))
	assert.Equal(t, uint32(1), ts[0], "one sensor")
	assert.Equal(t, temp, ts[4], "its current temperature is the GPU's")
}

func TestAPassivelyCooledH100HasNoFansAndNoEncoder(t *testing.T) {
	h := firstDevice(t)
	var n, v, period uint32
	require.Equal(t, Success, DeviceGetNumFans(h, p(&n)))
	assert.Zero(t, n)
	assert.Equal(t, NotSupported, FanSpeedV2(h, 0, p(&v)))
	assert.Equal(t, NotSupported, DeviceGetFanSpeed(h, p(&v)))
	assert.Equal(t, NotSupported, DeviceGetEncoderUtilization(h, p(&v), p(&period)))
	require.Equal(t, Success, DeviceGetDecoderUtilization(h, p(&v), p(&period)))
	assert.Greater(t, period, uint32(0))
	require.Equal(t, Success, DeviceGetJpgUtilization(h, p(&v), p(&period)))
}

func TestHbmPartsRemapRowsInsteadOfRetiringPages(t *testing.T) {
	h := firstDevice(t)
	var n, a, b, c, d uint32
	assert.Equal(t, NotSupported, DeviceGetRetiredPages(h, 0, p(&n), nil))
	assert.Equal(t, NotSupported, DeviceGetRetiredPagesPendingStatus(h, p(&n)))
	require.Equal(t, Success, DeviceGetRemappedRows(h, p(&a), p(&b), p(&c), p(&d)))
	assert.Equal(t, [4]uint32{}, [4]uint32{a, b, c, d})
	var counts [4]uint64
	require.Equal(t, Success, DeviceGetDetailedEccErrors(h, 0, 1, p(&counts)))
	var total uint64
	require.Equal(t, Success, DeviceGetTotalEccErrors(h, 0, 1, p(&total)))
	assert.Equal(t, counts[0]+counts[1]+counts[2]+counts[3], total, "the detail adds up to the total")
	assert.Equal(t, InvalidArgument, DeviceGetMemoryErrorCounter(h, 0, 0, 8, p(&total)))
}

func TestSxmHopperHasEighteenNvLinksToSwitches(t *testing.T) {
	h := firstDevice(t)
	var v, kind uint32
	for l := uint32(0); l < 18; l++ {
		require.Equal(t, Success, DeviceGetNvLinkState(h, l, p(&v)))
		assert.Equal(t, uint32(1), v)
		require.Equal(t, Success, DeviceGetNvLinkRemoteDeviceType(h, l, p(&kind)))
		assert.Equal(t, uint32(2), kind)
	}
	require.Equal(t, Success, DeviceGetNvLinkVersion(h, 0, p(&v)))
	assert.Equal(t, uint32(4), v)
	assert.Equal(t, InvalidArgument, DeviceGetNvLinkState(h, 18, p(&v)))
	vals := [2][10]uint32{{91}, {1}}
	require.Equal(t, Success, DeviceGetFieldValues(h, 2, p(&vals)))
	assert.Equal(t, uint32(Success), vals[0][7])
	assert.Equal(t, uint32(18), vals[0][8], "NVML_FI_DEV_NVLINK_LINK_COUNT agrees")
	var cur, pend uint32
	require.Equal(t, Success, DeviceGetEccMode(h, p(&cur), p(&pend)))
	assert.Equal(t, cur, vals[1][8], "NVML_FI_DEV_ECC_CURRENT agrees with the ECC mode")
}

func TestMigIsDisabledAndInstanceCallsSayNotSupported(t *testing.T) {
	h := firstDevice(t)
	var cur, pend, max uint32 = 9, 9, 0
	require.Equal(t, Success, DeviceGetMigMode(h, p(&cur), p(&pend)))
	assert.Equal(t, [2]uint32{0, 0}, [2]uint32{cur, pend})
	require.Equal(t, Success, DeviceGetMaxMigDeviceCount(h, p(&max)))
	assert.Equal(t, uint32(7), max)
	var gi uint64
	assert.Equal(t, NotSupported, DeviceCreateGpuInstance(h, 0, p(&gi)))
	assert.Equal(t, InvalidArgument, DeviceCreateGpuInstance(h, 0, nil), "arguments are checked first")
	assert.Equal(t, InvalidArgument, NoInstance(0x1234), "no instance handle is valid")
	var md uintptr
	assert.Equal(t, NotFound, DeviceGetMigDeviceHandleByIndex(h, 0, p(&md)))
}

func TestGpmMetricsNeedTwoSamplesInOrder(t *testing.T) {
	h := firstDevice(t)
	sup := [2]uint32{1, 0}
	require.Equal(t, Success, GpmQueryDeviceSupport(h, p(&sup)))
	assert.Equal(t, uint32(1), sup[1], "Hopper has GPM")
	var s1, s2 uint64
	require.Equal(t, Success, GpmSampleAlloc(p(&s1)))
	require.Equal(t, Success, GpmSampleAlloc(p(&s2)))
	defer GpmSampleFree(s1)
	defer GpmSampleFree(s2)
	require.Equal(t, Success, GpmSampleGet(h, s1))
	time.Sleep(time.Millisecond)
	require.Equal(t, Success, GpmSampleGet(h, s2))
	buf := make([]byte, gpmMetricsSize)
	shim.Le.PutUint32(buf, gpmMetricsVersion)
	shim.Le.PutUint32(buf[4:], 2)
	shim.Le.PutUint64(buf[8:], s1)
	shim.Le.PutUint64(buf[16:], s2)
	shim.Le.PutUint32(buf[24:], 2)                 // SM utilisation
	shim.Le.PutUint32(buf[24+gpmMetricSize:], 999) // no such metric
	require.Equal(t, Success, GpmMetricsGet(unsafe.Pointer(&buf[0])))
	assert.Equal(t, uint32(Success), shim.Le.Uint32(buf[28:]))
	assert.Equal(t, uint32(InvalidArgument), shim.Le.Uint32(buf[28+gpmMetricSize:]))
	shim.Le.PutUint64(buf[16:], s1)
	assert.Equal(t, InvalidArgument, GpmMetricsGet(unsafe.Pointer(&buf[0])), "one sample twice is no interval")
}

func TestEveryCallAnswersUninitializedBeforeInit(t *testing.T) {
	var v uint32
	assert.Equal(t, Uninitialized, DeviceGetApplicationsClock(handleOf(0), 0, p(&v)))
	assert.Equal(t, Uninitialized, UnitGetCount(p(&v)))
	assert.Equal(t, Uninitialized, NoVgpuType(1, p(&v)))
	assert.Equal(t, Uninitialized, NoInstance(1))
	assert.Equal(t, Uninitialized, SystemGetNvlinkBwMode(p(&v)))
}

func TestTopologyOfADeviceWithItself(t *testing.T) {
	h := firstDevice(t)
	var level, n uint32 = 99, 0
	require.Equal(t, Success, DeviceGetTopologyCommonAncestor(h, h, p(&level)))
	assert.Equal(t, uint32(topoInternal), level)
	require.Equal(t, Success, DeviceGetTopologyNearestGpus(h, topoSystem, p(&n), nil))
	assert.Equal(t, uint32(len(devices())-1), n, "every other device is within the system")
	var mask [16]uint64
	require.Equal(t, Success, DeviceGetCpuAffinity(h, 16, p(&mask)))
	assert.NotZero(t, mask[0]|mask[1], "some CPU is near")
	assert.Equal(t, InvalidArgument, DeviceGetCpuAffinity(h, 0, p(&mask)))
}

func TestVersionedStructsFromNewerDriversAreCheckedAndAgree(t *testing.T) {
	h := firstDevice(t)
	m := [2]uint32{8 | 1<<24}
	require.Equal(t, Success, DeviceGetMarginTemperature(h, p(&m)))
	assert.Equal(t, thresholds[3]-gpuTempC, m[1])
	m[0] = 8 | 2<<24
	assert.Equal(t, ArgumentVersion, DeviceGetMarginTemperature(h, p(&m)))

	d, _ := device(h)
	var u [13]uint32
	u[0], u[1] = 52|1<<24, 2
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&u[2])), 16), d.UUID[:])
	var got uintptr
	require.Equal(t, Success, DeviceGetHandleByUUIDV(p(&u), p(&got)))
	assert.Equal(t, h, got, "binary UUID")
	u[1] = 3
	assert.Equal(t, InvalidArgument, DeviceGetHandleByUUIDV(p(&u), p(&got)), "unknown UUID type")

	var fabric [10]uint32
	fabric[0] = 40 | 3<<24
	require.Equal(t, Success, DeviceGetGpuFabricInfoV(h, p(&fabric)))
	assert.Equal(t, uint32(3), fabric[7]&0xff, "fabric state COMPLETED after the version word")
	var enc [2]uint32
	assert.Equal(t, NotSupported, BlackwellOnly2(h, p(&enc), p(&enc)), "DRAM encryption is Blackwell's")
}

func TestPowerAndTemperatureFieldsAgreeWithTheirCalls(t *testing.T) {
	h := firstDevice(t)
	type field struct {
		id, scope uint32
		ts, lat   int64
		typ, ret  uint32
		v         uint64
	}
	fs := []field{{id: 187}, {id: 188}, {id: 190}, {id: 193}, {id: 196}, {id: 190, scope: 1}}
	require.Equal(t, Success, DeviceGetFieldValues(h, int32(len(fs)), unsafe.Pointer(&fs[0])))
	var lo, hi, limit, shutdown, gpuMax uint32
	DeviceGetPowerManagementLimitConstraints(h, p(&lo), p(&hi))
	DeviceGetPowerManagementLimit(h, p(&limit))
	DeviceGetTemperatureThreshold(h, 0, p(&shutdown))
	DeviceGetTemperatureThreshold(h, 3, p(&gpuMax))
	for i, want := range []uint32{lo, hi, limit, shutdown, gpuMax} {
		assert.Equal(t, uint32(Success), fs[i].ret, "field %d", fs[i].id)
		assert.Equal(t, uint64(want), fs[i].v, "field %d", fs[i].id)
	}
	assert.Equal(t, uint32(NotSupported), fs[5].ret, "no module power scope")
}
