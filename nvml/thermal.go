package nvml

import (
	"time"
	"unsafe"

	"vgpu/shim"
)

// An idle card: 32 C on the GPU sensor, fans (where there are any) at 30%.
const (
	gpuTempC   = 32
	fanPercent = 30
)

// Temperature thresholds (nvmlTemperatureThresholds_t): shutdown, slowdown, memory maximum
// and GPU maximum operating temperature, as the H100 and H200 report them.
var thresholds = map[int32]uint32{0: 92, 1: 89, 2: 95, 3: 87}

// DeviceGetTemperatureThreshold is nvmlDeviceGetTemperatureThreshold. The acoustic and
// GPS thresholds (4-7) exist only on boards with those controls.
func DeviceGetTemperatureThreshold(h uintptr, t int32, out unsafe.Pointer) Return {
	if _, r := dev(h, out); r != Success {
		return r
	}
	v, ok := thresholds[t]
	switch {
	case ok:
		w32(out, v)
		return Success
	case t >= 4 && t <= 7:
		return NotSupported
	}
	return InvalidArgument
}

// DeviceSetTemperatureThreshold is nvmlDeviceSetTemperatureThreshold: only the acoustic
// threshold is settable, and the modelled boards have none.
func DeviceSetTemperatureThreshold(h uintptr, t int32, temp unsafe.Pointer) Return {
	if _, r := dev(h, temp); r != Success {
		return r
	}
	if t < 0 || t > 7 {
		return InvalidArgument
	}
	return NotSupported
}

// DeviceGetThermalSettings is nvmlDeviceGetThermalSettings: one sensor, the GPU's internal
// one (controller GPU_INTERNAL, target GPU); index 15 is NVML_THERMAL_TARGET_ALL.
func DeviceGetThermalSettings(h uintptr, index uint32, out unsafe.Pointer) Return {
	if _, r := dev(h, out); r != Success {
		return r
	}
	if index != 0 && index != 15 {
		return InvalidArgument
	}
	b := zeroed(out, 4+3*20)
	shim.Le.PutUint32(b, 1)
	for i, v := range []int32{1, 0, int32(thresholds[3]), gpuTempC, 1} {
		shim.Le.PutUint32(b[4+4*i:], uint32(v))
	}
	return Success
}

// DeviceGetNumFans is nvmlDeviceGetNumFans: zero on passively cooled parts.
func DeviceGetNumFans(h uintptr, out unsafe.Pointer) Return {
	d, r := dev(h, out)
	if r != Success {
		return r
	}
	w32(out, uint32(d.Profile.Fans))
	return Success
}

// fan resolves a fan index: not supported without fans, invalid beyond the last.
func fan(h uintptr, i uint32, ptrs ...unsafe.Pointer) (*shim.Device, Return) {
	d, r := dev(h, ptrs...)
	if r != Success {
		return nil, r
	}
	if d.Profile.Fans == 0 {
		return nil, NotSupported
	}
	if i >= uint32(d.Profile.Fans) {
		return nil, InvalidArgument
	}
	return d, Success
}

// FanSpeedV2 is nvmlDeviceGetFanSpeed_v2.
func FanSpeedV2(h uintptr, i uint32, out unsafe.Pointer) Return {
	if _, r := fan(h, i, out); r != Success {
		return r
	}
	w32(out, fanPercent)
	return Success
}

// DeviceGetTargetFanSpeed is nvmlDeviceGetTargetFanSpeed.
func DeviceGetTargetFanSpeed(h uintptr, i uint32, out unsafe.Pointer) Return {
	return FanSpeedV2(h, i, out)
}

// DeviceGetMinMaxFanSpeed is nvmlDeviceGetMinMaxFanSpeed.
func DeviceGetMinMaxFanSpeed(h uintptr, lo, hi unsafe.Pointer) Return {
	if _, r := fan(h, 0, lo, hi); r != Success {
		return r
	}
	w32(lo, fanPercent)
	w32(hi, 100)
	return Success
}

// DeviceGetFanControlPolicy is nvmlDeviceGetFanControlPolicy: automatic (temperature
// driven, NVML_FAN_POLICY_TEMPERATURE_CONTINOUS_SW).
func DeviceGetFanControlPolicy(h uintptr, i uint32, out unsafe.Pointer) Return {
	if _, r := fan(h, i, out); r != Success {
		return r
	}
	w32(out, 0)
	return Success
}

// DeviceSetFanControlPolicy is nvmlDeviceSetFanControlPolicy.
func DeviceSetFanControlPolicy(h uintptr, i uint32, policy uint32) Return {
	d, r := fan(h, i)
	if r != Success {
		return r
	}
	if policy > 1 {
		return InvalidArgument
	}
	return change(d, func(*settings) Return { return Success })
}

// DeviceSetFanSpeed is nvmlDeviceSetFanSpeed.
func DeviceSetFanSpeed(h uintptr, i uint32, speed uint32) Return {
	d, r := fan(h, i)
	if r != Success {
		return r
	}
	if speed > 100 {
		return InvalidArgument
	}
	return change(d, func(*settings) Return { return Success })
}

// DeviceSetDefaultFanSpeed is nvmlDeviceSetDefaultFanSpeed.
func DeviceSetDefaultFanSpeed(h uintptr, i uint32) Return {
	d, r := fan(h, i)
	if r != Success {
		return r
	}
	return change(d, func(*settings) Return { return Success })
}

// DeviceGetPowerManagementMode is nvmlDeviceGetPowerManagementMode: enabled.
func DeviceGetPowerManagementMode(h uintptr, out unsafe.Pointer) Return {
	return putU32(h, out, func(*shim.Device) uint32 { return 1 })
}

// DeviceGetPowerSource is nvmlDeviceGetPowerSource: AC.
func DeviceGetPowerSource(h uintptr, out unsafe.Pointer) Return {
	return putU32(h, out, func(*shim.Device) uint32 { return 0 })
}

// DeviceSetPowerManagementLimit is nvmlDeviceSetPowerManagementLimit: within the constraints.
func DeviceSetPowerManagementLimit(h uintptr, limit uint32) Return {
	d, r := dev(h)
	if r != Success {
		return r
	}
	if limit < uint32(d.Profile.PowerW)*2000/7 || limit > uint32(d.Profile.PowerW)*1000 {
		return InvalidArgument
	}
	return change(d, func(s *settings) Return { s.powerLimit = limit; return Success })
}

// nvmlPowerValue_v2 is sizeof(nvmlPowerValue_v2_t) | 2<<24: {version, powerScope, powerValueMw}.
const powerValueV2 = 12 | 2<<24

// PowerLimitV2 is nvmlDeviceSetPowerManagementLimit_v2 (GPU scope).
func PowerLimitV2(h uintptr, v unsafe.Pointer) Return {
	if _, r := dev(h, v); r != Success {
		return r
	}
	b := shim.View(v, 12)
	if shim.Le.Uint32(b) != powerValueV2 {
		return ArgumentVersion
	}
	if b[4] != 0 { // NVML_POWER_SCOPE_GPU; the modelled boards have no module or memory scope
		return NotSupported
	}
	return DeviceSetPowerManagementLimit(h, shim.Le.Uint32(b[8:]))
}

// engineUtil answers the media-engine utilisations: idle, sampled every 167 ms, on parts
// that have the engine (the H100 and H200 have no NVENC).
func engineUtil(h uintptr, engine int, util, period unsafe.Pointer) Return {
	d, r := dev(h, util, period)
	if r != Success {
		return r
	}
	if d.Profile.Engines[engine] == 0 {
		return NotSupported
	}
	w32(util, 0)
	w32(period, 167000)
	return Success
}

// DeviceGetEncoderUtilization is nvmlDeviceGetEncoderUtilization.
func DeviceGetEncoderUtilization(h uintptr, u, p unsafe.Pointer) Return {
	return engineUtil(h, 0, u, p)
}

// DeviceGetDecoderUtilization is nvmlDeviceGetDecoderUtilization.
func DeviceGetDecoderUtilization(h uintptr, u, p unsafe.Pointer) Return {
	return engineUtil(h, 1, u, p)
}

// DeviceGetJpgUtilization is nvmlDeviceGetJpgUtilization.
func DeviceGetJpgUtilization(h uintptr, u, p unsafe.Pointer) Return { return engineUtil(h, 2, u, p) }

// DeviceGetOfaUtilization is nvmlDeviceGetOfaUtilization.
func DeviceGetOfaUtilization(h uintptr, u, p unsafe.Pointer) Return { return engineUtil(h, 3, u, p) }

// DeviceGetEncoderCapacity is nvmlDeviceGetEncoderCapacity: H.264, HEVC and AV1 each have
// the whole encoder free.
func DeviceGetEncoderCapacity(h uintptr, t int32, out unsafe.Pointer) Return {
	d, r := dev(h, out)
	if r != Success {
		return r
	}
	if t < 0 || t > 2 {
		return InvalidArgument
	}
	if d.Profile.Engines[0] == 0 {
		return NotSupported
	}
	w32(out, 100)
	return Success
}

// DeviceGetEncoderStats is nvmlDeviceGetEncoderStats: no sessions.
func DeviceGetEncoderStats(h uintptr, count, fps, latency unsafe.Pointer) Return {
	d, r := dev(h, count, fps, latency)
	if r != Success {
		return r
	}
	if d.Profile.Engines[0] == 0 {
		return NotSupported
	}
	w32(count, 0)
	w32(fps, 0)
	w32(latency, 0)
	return Success
}

// DeviceGetEncoderSessions is nvmlDeviceGetEncoderSessions: no sessions.
func DeviceGetEncoderSessions(h uintptr, count, infos unsafe.Pointer) Return {
	d, r := dev(h, count)
	if r != Success {
		return r
	}
	if d.Profile.Engines[0] == 0 {
		return NotSupported
	}
	return countedList(count, infos, 0, nil)
}

// DeviceGetFBCStats is nvmlDeviceGetFBCStats: no frame-buffer capture sessions.
func DeviceGetFBCStats(h uintptr, out unsafe.Pointer) Return {
	if _, r := dev(h, out); r != Success {
		return r
	}
	zeroed(out, 12)
	return Success
}

// NoSessions answers the session and process lists that are empty on a vgpu device:
// frame-buffer capture sessions, graphics processes, MPS clients.
func NoSessions(h uintptr, count, infos unsafe.Pointer) Return {
	if _, r := dev(h, count); r != Success {
		return r
	}
	return countedList(count, infos, 0, nil)
}

// DeviceGetPcieThroughput is nvmlDeviceGetPcieThroughput (KB/s): an idle link, TX or RX.
func DeviceGetPcieThroughput(h uintptr, counter int32, out unsafe.Pointer) Return {
	if _, r := dev(h, out); r != Success {
		return r
	}
	if counter != 0 && counter != 1 {
		return InvalidArgument
	}
	w32(out, 0)
	return Success
}

// DeviceGetPcieReplayCounter is nvmlDeviceGetPcieReplayCounter.
func DeviceGetPcieReplayCounter(h uintptr, out unsafe.Pointer) Return {
	return putU32(h, out, func(*shim.Device) uint32 { return 0 })
}

// DeviceGetPcieSpeed is nvmlDeviceGetPcieSpeed: the link runs at its maximum.
func DeviceGetPcieSpeed(h uintptr, out unsafe.Pointer) Return {
	return DeviceGetPcieLinkMaxSpeed(h, out)
}

// DeviceGetGpuMaxPcieLinkGeneration is nvmlDeviceGetGpuMaxPcieLinkGeneration: the GPU's own
// maximum, the same as the link's here (no slower slot).
func DeviceGetGpuMaxPcieLinkGeneration(h uintptr, out unsafe.Pointer) Return {
	return DeviceGetMaxPcieLinkGeneration(h, out)
}

// sampleValue is the current value of an nvmlSamplingType_t and its nvmlValueType_t.
func sampleValue(d *shim.Device, t int32) (uint32, Return) {
	switch t {
	case 0: // total power, mW
		return uint32(d.Profile.PowerW) * 100, Success
	case 1, 2: // GPU and memory utilisation
		return 0, Success
	case 3, 4: // encoder, decoder utilisation
		if d.Profile.Engines[t-3] == 0 {
			return 0, NotSupported
		}
		return 0, Success
	case 5: // processor clock
		v, _ := currentClock(d, clockGraphics)
		return v, Success
	case 6: // memory clock
		v, _ := currentClock(d, clockMem)
		return v, Success
	case 7: // module power: the modelled boards are not modules with their own sensor
		return 0, NotSupported
	}
	return 0, InvalidArgument
}

// DeviceGetSamples is nvmlDeviceGetSamples: one sample, now. With samples NULL it says how
// many entries to allocate.
func DeviceGetSamples(h uintptr, t int32, last uint64, valType, count, samples unsafe.Pointer) Return {
	d, r := dev(h, valType, count)
	if r != Success {
		return r
	}
	v, r := sampleValue(d, t)
	if r != Success {
		return r
	}
	w32(valType, 1) // NVML_VALUE_TYPE_UNSIGNED_INT
	if samples == nil {
		w32(count, 1)
		return Success
	}
	now := uint64(time.Now().UnixMicro())
	if r32(count) == 0 {
		return InsufficientSize
	}
	if last >= now {
		w32(count, 0)
		return NotFound
	}
	b := zeroed(samples, 16)
	shim.Le.PutUint64(b, now)
	shim.Le.PutUint32(b[8:], v)
	w32(count, 1)
	return Success
}
