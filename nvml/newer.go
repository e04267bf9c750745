package nvml

import (
	"bytes"
	"fmt"
	"strings"
	"unsafe"

	"vgpu/shim"
)

// Calls added to NVML after driver 535 (the 550-580 drivers). Most take a versioned
// struct: its first word is sizeof | version<<24, and a wrong one is refused.

// versioned checks a versioned struct's header and returns its bytes.
func versioned(p unsafe.Pointer, size int, version uint32) ([]byte, Return) {
	b := shim.View(p, size)
	if shim.Le.Uint32(b) != uint32(size)|version<<24 {
		return nil, ArgumentVersion
	}
	return b, Success
}

// DeviceGetMarginTemperature is nvmlDeviceGetMarginTemperature: degrees left before the
// GPU's maximum operating temperature.
func DeviceGetMarginTemperature(h uintptr, out unsafe.Pointer) Return {
	if _, r := dev(h, out); r != Success {
		return r
	}
	b, r := versioned(out, 8, 1)
	if r != Success {
		return r
	}
	shim.Le.PutUint32(b[4:], thresholds[3]-gpuTempC)
	return Success
}

// DeviceGetFanSpeedRPM is nvmlDeviceGetFanSpeedRPM ({version, fan, speed}).
func DeviceGetFanSpeedRPM(h uintptr, out unsafe.Pointer) Return {
	if _, r := dev(h, out); r != Success {
		return r
	}
	b, r := versioned(out, 12, 1)
	if r != Success {
		return r
	}
	if _, r := fan(h, shim.Le.Uint32(b[4:])); r != Success {
		return r
	}
	shim.Le.PutUint32(b[8:], fanPercent*50) // 30% of a 5000 RPM fan
	return Success
}

// DeviceGetCoolerInfo is nvmlDeviceGetCoolerInfo: coolers are the fans.
func DeviceGetCoolerInfo(h uintptr, out unsafe.Pointer) Return {
	if _, r := dev(h, out); r != Success {
		return r
	}
	b, r := versioned(out, 16, 1)
	if r != Success {
		return r
	}
	if _, r := fan(h, shim.Le.Uint32(b[4:])); r != Success {
		return r
	}
	shim.Le.PutUint32(b[8:], 2)  // NVML_COOLER_CONTROL_VARIABLE
	shim.Le.PutUint32(b[12:], 7) // cools the GPU, memory and power supply
	return Success
}

// DeviceGetClockOffsets is nvmlDeviceGetClockOffsets: GeForce boards only, offsets at 0.
func DeviceGetClockOffsets(h uintptr, out unsafe.Pointer) Return {
	d, r := dev(h, out)
	if r != Success {
		return r
	}
	b, r := versioned(out, 24, 1)
	if r != Success {
		return r
	}
	if !geforce(d) {
		return NotSupported
	}
	t := int32(shim.Le.Uint32(b[4:]))
	if _, ok := maxClock(d, t); !ok || shim.Le.Uint32(b[8:]) > 15 {
		return InvalidArgument
	}
	lo, hi := int32(-1000), int32(1000)
	if t == clockMem {
		hi = 1500
	}
	shim.Le.PutUint32(b[12:], 0)
	shim.Le.PutUint32(b[16:], uint32(lo))
	shim.Le.PutUint32(b[20:], uint32(hi))
	return Success
}

// DeviceSetClockOffsets is nvmlDeviceSetClockOffsets.
func DeviceSetClockOffsets(h uintptr, in unsafe.Pointer) Return {
	d, r := dev(h, in)
	if r != Success {
		return r
	}
	b, r := versioned(in, 24, 1)
	if r != Success {
		return r
	}
	if !geforce(d) {
		return NotSupported
	}
	if off := int32(shim.Le.Uint32(b[12:])); off < -1000 || off > 1500 {
		return InvalidArgument
	}
	return change(d, func(*settings) Return { return Success })
}

// perfString fills a {version, char str[2048]} struct.
func perfString(h uintptr, out unsafe.Pointer, f func(d *shim.Device) string) Return {
	d, r := dev(h, out)
	if r != Success {
		return r
	}
	b, r := versioned(out, 4+2048, 1)
	if r != Success {
		return r
	}
	clear(b[4:])
	copy(b[4:4+2047], f(d))
	return Success
}

// DeviceGetPerformanceModes is nvmlDeviceGetPerformanceModes: P0's clock ranges.
func DeviceGetPerformanceModes(h uintptr, out unsafe.Pointer) Return {
	return perfString(h, out, func(d *shim.Device) string {
		return fmt.Sprintf("perf=0, nvclock=%d, nvclockmin=%d, nvclockmax=%d, memclock=%d, memclockmin=%d, memclockmax=%d",
			d.Profile.ClockMHz, minClockMHz, d.Profile.ClockMHz, d.Profile.MemClockMHz, d.Profile.MemClockMHz, d.Profile.MemClockMHz)
	})
}

// DeviceGetCurrentClockFreqs is nvmlDeviceGetCurrentClockFreqs.
func DeviceGetCurrentClockFreqs(h uintptr, out unsafe.Pointer) Return {
	return perfString(h, out, func(d *shim.Device) string {
		g, _ := currentClock(d, clockGraphics)
		m, _ := currentClock(d, clockMem)
		return fmt.Sprintf("nvclock=%d, memclock=%d", g, m)
	})
}

// DeviceGetCapabilities is nvmlDeviceGetCapabilities: no extended GPU memory (a Grace feature).
func DeviceGetCapabilities(h uintptr, out unsafe.Pointer) Return {
	if _, r := dev(h, out); r != Success {
		return r
	}
	b, r := versioned(out, 8, 1)
	if r != Success {
		return r
	}
	shim.Le.PutUint32(b[4:], 0)
	return Success
}

// DeviceGetRepairStatus is nvmlDeviceGetRepairStatus: no channel or TPC repair pending.
func DeviceGetRepairStatus(h uintptr, out unsafe.Pointer) Return {
	if _, r := dev(h, out); r != Success {
		return r
	}
	b, r := versioned(out, 12, 1)
	if r != Success {
		return r
	}
	clear(b[4:])
	return Success
}

// DeviceGetAddressingMode is nvmlDeviceGetAddressingMode: neither HMM nor ATS is modelled.
func DeviceGetAddressingMode(h uintptr, out unsafe.Pointer) Return {
	if _, r := dev(h, out); r != Success {
		return r
	}
	b, r := versioned(out, 8, 1)
	if r != Success {
		return r
	}
	shim.Le.PutUint32(b[4:], 0)
	return Success
}

// DeviceGetUnrepairableMemoryFlag is nvmlDeviceGetUnrepairableMemoryFlag_v1: memory is fine.
func DeviceGetUnrepairableMemoryFlag(h uintptr, out unsafe.Pointer) Return {
	if _, r := dev(h, out); r != Success {
		return r
	}
	w32(out, 0)
	return Success
}

// DeviceGetC2cModeInfo is nvmlDeviceGetC2cModeInfoV: no chip-to-chip link (a Grace Hopper feature).
func DeviceGetC2cModeInfo(h uintptr, out unsafe.Pointer) Return {
	if _, r := dev(h, out); r != Success {
		return r
	}
	w32(out, 0)
	return Success
}

// DeviceGetNumaNodeId is nvmlDeviceGetNumaNodeId: GPU memory is a NUMA node only on
// coherent (C2C) systems.
func DeviceGetNumaNodeId(h uintptr, out unsafe.Pointer) Return {
	if _, r := dev(h, out); r != Success {
		return r
	}
	return NotSupported
}

// DeviceGetLastBBXFlushTime is nvmlDeviceGetLastBBXFlushTime: the black box recorder was last
// flushed when the driver loaded (here: the library), instantly.
func DeviceGetLastBBXFlushTime(h uintptr, ts, dur unsafe.Pointer) Return {
	if _, r := dev(h, ts, dur); r != Success {
		return r
	}
	w64(ts, uint64(loaded.UnixMicro()))
	w64(dur, 0)
	return Success
}

// BlackwellOnly answers the calls for features that arrived with Blackwell (DRAM
// encryption, NVLink bandwidth modes, workload power profiles, power smoothing, rack
// platform info): not supported on the modelled Hopper, Ampere, Ada and Turing parts.
func BlackwellOnly(h uintptr, out unsafe.Pointer) Return {
	if _, r := dev(h, out); r != Success {
		return r
	}
	return NotSupported
}

// BlackwellOnly2 answers those with two structs.
func BlackwellOnly2(h uintptr, a, b unsafe.Pointer) Return {
	if _, r := dev(h, a, b); r != Success {
		return r
	}
	return NotSupported
}

// DeviceGetNvLinkInfo is nvmlDeviceGetNvLinkInfo: NVLink encryption (NVLE) is off.
func DeviceGetNvLinkInfo(h uintptr, out unsafe.Pointer) Return {
	d, r := dev(h, out)
	if r != Success {
		return r
	}
	if d.Profile.NVLinks == 0 {
		return NotSupported
	}
	v := shim.Le.Uint32(shim.View(out, 4))
	if v != 8|1<<24 {
		return ArgumentVersion
	}
	w32(unsafe.Add(out, 4), 0)
	return Success
}

// DeviceGetGpuFabricInfoV is nvmlDeviceGetGpuFabricInfoV, versions 2 and 3: the v1 layout
// after a version word, then a health mask (36 bytes); version 3's health summary after
// that is left as the caller set it.
func DeviceGetGpuFabricInfoV(h uintptr, out unsafe.Pointer) Return {
	d, r := dev(h, out)
	if r != Success {
		return r
	}
	if v := shim.Le.Uint32(shim.View(out, 4)); v != 36|2<<24 && v != 40|3<<24 {
		return ArgumentVersion
	}
	if d.Profile.NVLinks == 0 {
		return NotSupported
	}
	clear(shim.View(out, 36)[4:])
	return DeviceGetGpuFabricInfo(h, unsafe.Add(out, 4))
}

// DeviceGetHandleByUUIDV is nvmlDeviceGetHandleByUUIDV: an nvmlUUID_t holding the UUID as
// text (type 1) or as 16 bytes (type 2).
func DeviceGetHandleByUUIDV(uuid, out unsafe.Pointer) Return {
	if r := nonNil(uuid, out); r != Success {
		return r
	}
	b, r := versioned(uuid, 52, 1)
	if r != Success {
		return r
	}
	for i, d := range devices() {
		var match bool
		switch shim.Le.Uint32(b[4:]) {
		case 1:
			s, _, _ := strings.Cut(string(b[8:49]), "\x00")
			match = s == d.UUIDString()
		case 2:
			match = bytes.Equal(b[8:24], d.UUID[:])
		default:
			return InvalidArgument
		}
		if match {
			shim.PutPtr(out, handleOf(i))
			return Success
		}
	}
	return NotFound
}

// SystemGetDriverBranch is nvmlSystemGetDriverBranch: r580_00 for driver 580.x.
func SystemGetDriverBranch(out unsafe.Pointer, n uint32) Return {
	if r := nonNil(out); r != Success {
		return r
	}
	b, r := versioned(out, 84, 1)
	if r != Success {
		return r
	}
	major, _, _ := strings.Cut(shim.S().Config.DriverVersion, ".")
	branch := "r" + major + "_00"
	if n < uint32(len(branch))+1 {
		return InsufficientSize
	}
	clear(b[4:])
	copy(b[4:83], branch)
	return Success
}

// SystemGetConfComputeSettings is nvmlSystemGetConfComputeSettings: all off.
func SystemGetConfComputeSettings(out unsafe.Pointer) Return {
	if r := nonNil(out); r != Success {
		return r
	}
	b, r := versioned(out, 20, 1)
	if r != Success {
		return r
	}
	clear(b[4:])
	return Success
}

// ConfComputeSystemOff answers the system-wide confidential-computing calls that need it on.
func ConfComputeSystemOff(p unsafe.Pointer) Return {
	if r := nonNil(p); r != Success {
		return r
	}
	return NotSupported
}

// DeviceGetPowerMizerMode is nvmlDeviceGetPowerMizerMode_v1: GeForce boards run adaptive (0)
// and offer adaptive, prefer-maximum and auto.
func DeviceGetPowerMizerMode(h uintptr, out unsafe.Pointer) Return {
	d, r := dev(h, out)
	if r != Success {
		return r
	}
	if !geforce(d) {
		return NotSupported
	}
	b := zeroed(out, 12)
	shim.Le.PutUint32(b[8:], 0x7)
	return Success
}

// DeviceSetPowerMizerMode is nvmlDeviceSetPowerMizerMode_v1.
func DeviceSetPowerMizerMode(h uintptr, in unsafe.Pointer) Return {
	d, r := dev(h, in)
	if r != Success {
		return r
	}
	if !geforce(d) {
		return NotSupported
	}
	if m := shim.Le.Uint32(shim.View(unsafe.Add(in, 4), 4)); m > 2 {
		return InvalidArgument
	}
	return change(d, func(*settings) Return { return Success })
}

// DeviceGetPdi is nvmlDeviceGetPdi: a per-device identifier, stable for the board.
func DeviceGetPdi(h uintptr, out unsafe.Pointer) Return {
	d, r := dev(h, out)
	if r != Success {
		return r
	}
	b, r := versioned(out, 16, 1)
	if r != Success {
		return r
	}
	shim.Le.PutUint64(b[8:], shim.Le.Uint64(d.UUID[8:]))
	return Success
}

// NoGpuInstanceStruct answers GPU-instance calls that take one struct.
func NoGpuInstanceStruct(h uint64, _ unsafe.Pointer) Return { return NoInstance(h) }

// DeviceGetGpuInstanceProfileInfoByIdV is nvmlDeviceGetGpuInstanceProfileInfoByIdV.
func DeviceGetGpuInstanceProfileInfoByIdV(h uintptr, id uint32, out unsafe.Pointer) Return {
	return migDevice(h, out)
}

// DeviceGetVgpuTypePlacements answers nvmlDeviceGetVgpuType{Supported,Creatable}Placements.
func DeviceGetVgpuTypePlacements(h uintptr, id uint32, out unsafe.Pointer) Return {
	return VgpuHostOnly(h, out)
}

// DeviceSetVgpuCapabilities is nvmlDeviceSetVgpuCapabilities.
func DeviceSetVgpuCapabilities(h uintptr, c, state int32) Return {
	if _, r := dev(h); r != Success {
		return r
	}
	return NotSupported
}

// VgpuTypeGetMaxInstancesPerGpuInstance is nvmlVgpuTypeGetMaxInstancesPerGpuInstance: the
// struct names the type, and there are none.
func VgpuTypeGetMaxInstancesPerGpuInstance(p unsafe.Pointer) Return {
	if r := nonNil(p); r != Success {
		return r
	}
	return InvalidArgument
}
