package nvml

import (
	"time"
	"unsafe"

	"vgpu/shim"
)

// MIG is disabled on every vgpu device (whole GPUs only), so NVML's documented answer for
// GPU- and compute-instance calls is "not supported" on MIG-capable parts, after the
// arguments are checked; no GPU or compute instance handle is ever valid.

// migDevice resolves a device for the GPU-instance calls.
func migDevice(h uintptr, ptrs ...unsafe.Pointer) Return {
	if _, r := dev(h, ptrs...); r != Success {
		return r
	}
	return NotSupported
}

// DeviceSetMigMode is nvmlDeviceSetMigMode.
func DeviceSetMigMode(h uintptr, mode uint32, status unsafe.Pointer) Return {
	d, r := dev(h, status)
	if r != Success {
		return r
	}
	if !d.Profile.MIG {
		return NotSupported
	}
	if mode > 1 {
		return InvalidArgument
	}
	if !privileged() {
		return NoPermission
	}
	// vgpu keeps whole GPUs: enabling MIG would need instances the backends cannot carve.
	if mode == 1 {
		w32(status, uint32(NotSupported))
		return NotSupported
	}
	w32(status, uint32(Success))
	return Success
}

// DeviceCreateGpuInstance is nvmlDeviceCreateGpuInstance.
func DeviceCreateGpuInstance(h uintptr, profile uint32, out unsafe.Pointer) Return {
	return migDevice(h, out)
}

// DeviceCreateGpuInstanceWithPlacement is nvmlDeviceCreateGpuInstanceWithPlacement.
func DeviceCreateGpuInstanceWithPlacement(h uintptr, profile uint32, placement, out unsafe.Pointer) Return {
	return migDevice(h, placement, out)
}

// DeviceGetGpuInstanceById is nvmlDeviceGetGpuInstanceById.
func DeviceGetGpuInstanceById(h uintptr, id uint32, out unsafe.Pointer) Return {
	return migDevice(h, out)
}

// DeviceGetGpuInstanceProfileInfo is nvmlDeviceGetGpuInstanceProfileInfo(V).
func DeviceGetGpuInstanceProfileInfo(h uintptr, profile uint32, out unsafe.Pointer) Return {
	return migDevice(h, out)
}

// DeviceGetGpuInstanceRemainingCapacity is nvmlDeviceGetGpuInstanceRemainingCapacity.
func DeviceGetGpuInstanceRemainingCapacity(h uintptr, profile uint32, out unsafe.Pointer) Return {
	return migDevice(h, out)
}

// DeviceGetGpuInstancePossiblePlacements is nvmlDeviceGetGpuInstancePossiblePlacements(_v2).
func DeviceGetGpuInstancePossiblePlacements(h uintptr, profile uint32, placements, count unsafe.Pointer) Return {
	return migDevice(h, count)
}

// DeviceGetGpuInstances is nvmlDeviceGetGpuInstances.
func DeviceGetGpuInstances(h uintptr, profile uint32, gis, count unsafe.Pointer) Return {
	return migDevice(h, count)
}

// DeviceGetMigDeviceHandleByIndex is nvmlDeviceGetMigDeviceHandleByIndex: there are none.
func DeviceGetMigDeviceHandleByIndex(h uintptr, index uint32, out unsafe.Pointer) Return {
	d, r := dev(h, out)
	if r != Success {
		return r
	}
	if !d.Profile.MIG {
		return NotSupported
	}
	return NotFound
}

// DeviceGetDeviceHandleFromMigDeviceHandle is nvmlDeviceGetDeviceHandleFromMigDeviceHandle:
// a whole GPU's handle is not a MIG device handle.
func DeviceGetDeviceHandleFromMigDeviceHandle(h uintptr, out unsafe.Pointer) Return {
	if _, r := dev(h, out); r != Success {
		return r
	}
	return InvalidArgument
}

// DeviceGetGpuInstanceId is nvmlDeviceGetGpuInstanceId (and ...ComputeInstanceId): only
// MIG devices have one.
func DeviceGetGpuInstanceId(h uintptr, out unsafe.Pointer) Return {
	if _, r := dev(h, out); r != Success {
		return r
	}
	return NotSupported
}

// NoInstance answers every call on a GPU or compute instance handle: none exists.
func NoInstance(h uint64) Return {
	if r := ready(); r != Success {
		return r
	}
	return InvalidArgument
}

// GpuInstanceCall answers GPU/compute instance calls with one more scalar and an output.
func GpuInstanceCall(h uint64, _ uint32, _ unsafe.Pointer) Return { return NoInstance(h) }

// GpuInstanceCall2 answers those with two more arguments besides the handle.
func GpuInstanceCall2(h uint64, _ uint32, _, _ unsafe.Pointer) Return { return NoInstance(h) }

// GpuInstanceGetInfo answers nvmlGpuInstanceGetInfo and nvmlComputeInstanceGetInfo(_v2).
func GpuInstanceGetInfo(h uint64, _ unsafe.Pointer) Return { return NoInstance(h) }

// GpuInstanceGetComputeInstanceProfileInfo answers nvmlGpuInstanceGetComputeInstanceProfileInfo(V).
func GpuInstanceGetComputeInstanceProfileInfo(h uint64, _, _ uint32, _ unsafe.Pointer) Return {
	return NoInstance(h)
}

// GPM (GPU performance monitoring) is Hopper's: samples of the device's counters, from which
// metrics are computed over an interval.

type gpmSample struct {
	dev  *shim.Device
	when time.Time
}

// gpm resolves a GPM-capable device.
func gpm(h uintptr, ptrs ...unsafe.Pointer) (*shim.Device, Return) {
	d, r := dev(h, ptrs...)
	if r != Success {
		return nil, r
	}
	if !ccAtLeast(d, 9, 0) {
		return nil, NotSupported
	}
	return d, Success
}

// GpmQueryDeviceSupport is nvmlGpmQueryDeviceSupport (nvmlGpmSupport_t, version 1).
func GpmQueryDeviceSupport(h uintptr, out unsafe.Pointer) Return {
	d, r := dev(h, out)
	if r != Success {
		return r
	}
	b := shim.View(out, 8)
	if shim.Le.Uint32(b) != 1 {
		return ArgumentVersion
	}
	shim.Le.PutUint32(b[4:], b2u(ccAtLeast(d, 9, 0)))
	return Success
}

// GpmQueryIfStreamingEnabled is nvmlGpmQueryIfStreamingEnabled.
func GpmQueryIfStreamingEnabled(h uintptr, out unsafe.Pointer) Return {
	d, r := gpm(h, out)
	if r != Success {
		return r
	}
	w32(out, read(d, func(s *settings) uint32 { return s.gpmStream }))
	return Success
}

// GpmSetStreamingEnabled is nvmlGpmSetStreamingEnabled.
func GpmSetStreamingEnabled(h uintptr, state uint32) Return {
	d, r := gpm(h)
	if r != Success {
		return r
	}
	if state > 1 {
		return InvalidArgument
	}
	s := stateOf(d)
	s.mu.Lock()
	s.gpmStream = state
	s.mu.Unlock()
	return Success
}

// GpmSampleAlloc is nvmlGpmSampleAlloc. Samples share the event-set handle kind; lookups
// are typed, so neither is accepted for the other.
func GpmSampleAlloc(out unsafe.Pointer) Return {
	if r := nonNil(out); r != Success {
		return r
	}
	shim.PutPtr(out, shim.NewHandle(shim.KindEventSet, &gpmSample{}))
	return Success
}

func sample(h uintptr) (*gpmSample, Return) {
	if r := ready(); r != Success {
		return nil, r
	}
	s, ok := shim.Lookup[*gpmSample](shim.KindEventSet, h)
	if !ok {
		return nil, InvalidArgument
	}
	return s, Success
}

// GpmSampleFree is nvmlGpmSampleFree.
func GpmSampleFree(h uint64) Return {
	if _, r := sample(uintptr(h)); r != Success {
		return r
	}
	shim.Release(shim.KindEventSet, uintptr(h))
	return Success
}

// GpmSampleGet is nvmlGpmSampleGet: takes a sample of the device now.
func GpmSampleGet(h uintptr, sh uint64) Return {
	d, r := gpm(h)
	if r != Success {
		return r
	}
	s, r := sample(uintptr(sh))
	if r != Success {
		return r
	}
	s.dev, s.when = d, time.Now()
	return Success
}

// GpmMigSampleGet is nvmlGpmMigSampleGet: there are no GPU instances to sample.
func GpmMigSampleGet(h uintptr, gi uint32, sh uint64) Return {
	if _, r := gpm(h); r != Success {
		return r
	}
	if _, r := sample(uintptr(sh)); r != Success {
		return r
	}
	return NotFound
}

// GPM metrics: nvmlGpmMetricsGet_t is {version, numMetrics, sample1, sample2,
// metrics[98]}; each nvmlGpmMetric_t is {metricId, nvmlReturn, double value, three name
// pointers} (40 bytes).
const (
	gpmMetricsVersion = 1
	gpmMetricMax      = 98
	gpmMetricSize     = 40
	gpmMetricsSize    = 24 + gpmMetricMax*gpmMetricSize
)

// gpmMetricIDs are the metric ids NVML defines below gpmMetricMax: utilisations, pipe
// activity, DRAM bandwidth, PCIe and NVLink rates, and the NVDEC/NVJPG/OFA engines.
func gpmMetricKnown(id uint32) bool {
	switch {
	case id >= 1 && id <= 13, id >= 20 && id <= 21, id >= 30 && id <= 37, id >= 40 && id <= 47, id == 50, id >= 60 && id <= gpmMetricMax-1:
		return true
	}
	return false
}

// GpmMetricsGet is nvmlGpmMetricsGet: the model is idle between any two samples, so every
// known metric is 0 (utilisations in percent, rates per second).
func GpmMetricsGet(p unsafe.Pointer) Return {
	if r := nonNil(p); r != Success {
		return r
	}
	b := shim.View(p, gpmMetricsSize)
	if shim.Le.Uint32(b) != gpmMetricsVersion {
		return ArgumentVersion
	}
	n := shim.Le.Uint32(b[4:])
	if n > gpmMetricMax {
		return InvalidArgument
	}
	s1, r := sample(uintptr(shim.Le.Uint64(b[8:])))
	if r != Success {
		return r
	}
	s2, r := sample(uintptr(shim.Le.Uint64(b[16:])))
	if r != Success {
		return r
	}
	if s1.dev == nil || s2.dev == nil || s1.dev != s2.dev || !s2.when.After(s1.when) {
		return InvalidArgument
	}
	for i := 0; i < int(n); i++ {
		m := b[24+gpmMetricSize*i : 24+gpmMetricSize*(i+1)]
		st := Success
		if !gpmMetricKnown(shim.Le.Uint32(m)) {
			st = InvalidArgument
		}
		shim.Le.PutUint32(m[4:], uint32(st))
		clear(m[8:])
	}
	return Success
}
