package nvml

import (
	"fmt"
	"time"
	"unsafe"

	"vgpu/shim"
)

// NVIDIA vGPU: a vgpu device is a GPU passed through to its user (virtualization mode
// PASSTHROUGH), not a vGPU host, so the host-side vGPU calls answer as they do on a GPU
// without the vGPU manager: not supported; there are no vGPU types or instances, so ids
// naming one are invalid (types) or not found (instances).

// VgpuHostOnly answers per-device vGPU host queries with one output or list.
func VgpuHostOnly(h uintptr, a unsafe.Pointer) Return {
	if _, r := dev(h, a); r != Success {
		return r
	}
	return NotSupported
}

// VgpuHostOnly2 answers per-device vGPU host queries with two pointers.
func VgpuHostOnly2(h uintptr, a, b unsafe.Pointer) Return {
	if _, r := dev(h, a, b); r != Success {
		return r
	}
	return NotSupported
}

// DeviceGetVgpuCapabilities is nvmlDeviceGetVgpuCapabilities.
func DeviceGetVgpuCapabilities(h uintptr, c int32, out unsafe.Pointer) Return {
	return VgpuHostOnly(h, out)
}

// DeviceGetVgpuUtilization is nvmlDeviceGetVgpuUtilization.
func DeviceGetVgpuUtilization(h uintptr, last uint64, valType, count, samples unsafe.Pointer) Return {
	return VgpuHostOnly2(h, valType, count)
}

// DeviceGetVgpuProcessUtilization is nvmlDeviceGetVgpuProcessUtilization.
func DeviceGetVgpuProcessUtilization(h uintptr, last uint64, count, samples unsafe.Pointer) Return {
	return VgpuHostOnly(h, count)
}

// DeviceSetVgpuSchedulerState is nvmlDeviceSetVgpuSchedulerState.
func DeviceSetVgpuSchedulerState(h uintptr, state unsafe.Pointer) Return {
	return VgpuHostOnly(h, state)
}

// DeviceSetVirtualizationMode is nvmlDeviceSetVirtualizationMode: a passed-through GPU's
// mode is the hypervisor's to set.
func DeviceSetVirtualizationMode(h uintptr, mode int32) Return {
	if _, r := dev(h); r != Success {
		return r
	}
	if mode < 0 || mode > 4 {
		return InvalidArgument
	}
	return NotSupported
}

// GetVgpuCompatibility is nvmlGetVgpuCompatibility.
func GetVgpuCompatibility(vm, pgpu, out unsafe.Pointer) Return {
	if r := nonNil(vm, pgpu, out); r != Success {
		return r
	}
	return NotSupported
}

// GetVgpuDriverCapabilities is nvmlGetVgpuDriverCapabilities.
func GetVgpuDriverCapabilities(c int32, out unsafe.Pointer) Return {
	if r := nonNil(out); r != Success {
		return r
	}
	return NotSupported
}

// GetVgpuVersion is nvmlGetVgpuVersion.
func GetVgpuVersion(supported, current unsafe.Pointer) Return {
	if r := nonNil(supported, current); r != Success {
		return r
	}
	return NotSupported
}

// SetVgpuVersion is nvmlSetVgpuVersion.
func SetVgpuVersion(v unsafe.Pointer) Return {
	if r := nonNil(v); r != Success {
		return r
	}
	return NotSupported
}

// NoVgpuType answers the calls on a vGPU type id: there are none.
func NoVgpuType(id uint32, _ unsafe.Pointer) Return {
	if r := ready(); r != Success {
		return r
	}
	return InvalidArgument
}

// NoVgpuType2 answers vGPU type calls with two outputs (or a buffer and its size).
func NoVgpuType2(id uint32, _, _ unsafe.Pointer) Return { return NoVgpuType(id, nil) }

// VgpuTypeGetCapabilities is nvmlVgpuTypeGetCapabilities.
func VgpuTypeGetCapabilities(id uint32, c int32, out unsafe.Pointer) Return {
	return NoVgpuType(id, out)
}

// VgpuTypeGetResolution is nvmlVgpuTypeGetResolution.
func VgpuTypeGetResolution(id uint32, head uint32, x, y unsafe.Pointer) Return {
	return NoVgpuType(id, x)
}

// VgpuTypeGetMaxInstances is nvmlVgpuTypeGetMaxInstances(device, type, *count).
func VgpuTypeGetMaxInstances(h uintptr, id uint32, out unsafe.Pointer) Return {
	if _, r := dev(h, out); r != Success {
		return r
	}
	return InvalidArgument
}

// NoVgpuInstance answers the calls on a vGPU instance: none is active.
func NoVgpuInstance(id uint32, _ unsafe.Pointer) Return {
	if r := ready(); r != Success {
		return r
	}
	return NotFound
}

// NoVgpuInstance2 answers vGPU instance calls with two pointers.
func NoVgpuInstance2(id uint32, _, _ unsafe.Pointer) Return { return NoVgpuInstance(id, nil) }

// NoVgpuInstance3 answers vGPU instance calls with three pointers.
func NoVgpuInstance3(id uint32, _, _, _ unsafe.Pointer) Return { return NoVgpuInstance(id, nil) }

// NoVgpuInstance0 answers vGPU instance calls with no pointer.
func NoVgpuInstance0(id uint32) Return { return NoVgpuInstance(id, nil) }

// VgpuInstanceGetAccountingStats is nvmlVgpuInstanceGetAccountingStats.
func VgpuInstanceGetAccountingStats(id uint32, pid uint32, out unsafe.Pointer) Return {
	return NoVgpuInstance(id, out)
}

// VgpuInstanceSetEncoderCapacity is nvmlVgpuInstanceSetEncoderCapacity.
func VgpuInstanceSetEncoderCapacity(id uint32, c uint32) Return { return NoVgpuInstance(id, nil) }

// VgpuInstanceGetLicenseInfo is nvmlVgpuInstanceGetLicenseInfo(_v2).
func VgpuInstanceGetLicenseInfo(id uint32, out unsafe.Pointer) Return { return NoVgpuInstance(id, out) }

// Grid licensable features: a passed-through data-centre GPU without vGPU software
// licensing reports no licensable features: isGridLicenseSupported 0 and a count of 0, the
// first 8 bytes of every version; the feature array after them is not touched.
func gridFeatures(h uintptr, out unsafe.Pointer, version int) Return {
	if _, r := dev(h, out); r != Success {
		return r
	}
	zeroed(out, 8)
	return Success
}

// DeviceGetGridLicensableFeatures is nvmlDeviceGetGridLicensableFeatures.
func DeviceGetGridLicensableFeatures(h uintptr, out unsafe.Pointer) Return {
	return gridFeatures(h, out, 1)
}

// GridFeaturesV2 is nvmlDeviceGetGridLicensableFeatures_v2.
func GridFeaturesV2(h uintptr, out unsafe.Pointer) Return { return gridFeatures(h, out, 2) }

// GridFeaturesV3 is nvmlDeviceGetGridLicensableFeatures_v3.
func GridFeaturesV3(h uintptr, out unsafe.Pointer) Return { return gridFeatures(h, out, 3) }

// GridFeaturesV4 is nvmlDeviceGetGridLicensableFeatures_v4.
func GridFeaturesV4(h uintptr, out unsafe.Pointer) Return { return gridFeatures(h, out, 4) }

// Field values (nvmlFieldValue_t, 40 bytes: fieldId, scopeId, timestamp, latencyUsec,
// valueType, nvmlReturn, value). The fields vgpu answers, by NVML_FI_DEV_* id.
func fieldValue(d *shim.Device, id, scope uint32) (uint64, uint32, Return) {
	const u32, u64 = 1, 3 // NVML_VALUE_TYPE_UNSIGNED_INT, _LONG_LONG
	ecc := func(v uint64, t uint32) (uint64, uint32, Return) {
		if !d.Profile.ECC {
			return 0, 0, NotSupported
		}
		return v, t, Success
	}
	// Power fields have a scope: the GPU (0); the modelled boards have no module or
	// separately measured memory power.
	power := func(mw uint32) (uint64, uint32, Return) {
		if scope != 0 {
			return 0, 0, NotSupported
		}
		return uint64(mw), u32, Success
	}
	full := uint32(d.Profile.PowerW) * 1000
	switch {
	case id == 1: // ECC_CURRENT
		return ecc(1, u32)
	case id == 2: // ECC_PENDING
		return ecc(uint64(read(d, func(s *settings) uint32 { return s.eccPending })), u32)
	case id >= 3 && id <= 6: // ECC single/double bit, volatile/aggregate totals
		return ecc(0, u64)
	case id == 82: // MEMORY_TEMP
		return gpuTempC, u32, Success
	case id == 83: // TOTAL_ENERGY_CONSUMPTION (mJ)
		return uint64(d.Profile.PowerW) * 100 * uint64(uptimeSeconds()), u64, Success
	case id == 91: // NVLINK_LINK_COUNT
		return uint64(d.Profile.NVLinks), u32, Success
	case id == 94, id == 95: // PCIE_REPLAY_COUNTER, PCIE_REPLAY_ROLLOVER_COUNTER
		return 0, u32, Success
	case id == 185, id == 186: // POWER_AVERAGE, POWER_INSTANT
		return power(uint32(d.Profile.PowerW) * 100)
	case id == 187: // POWER_MIN_LIMIT
		return power(full * 2 / 7)
	case id == 188, id == 189: // POWER_MAX_LIMIT, POWER_DEFAULT_LIMIT
		return power(full)
	case id == 190, id == 192: // POWER_CURRENT_LIMIT, POWER_REQUESTED_LIMIT
		return power(powerLimit(d))
	case id >= 193 && id <= 196: // TEMPERATURE_{SHUTDOWN,SLOWDOWN,MEM_MAX,GPU_MAX}_TLIMIT
		return uint64(thresholds[int32(id-193)]), u32, Success
	case id >= 1 && id < 200:
		return 0, 0, NotSupported
	}
	return 0, 0, InvalidArgument
}

// DeviceGetFieldValues is nvmlDeviceGetFieldValues: each entry carries its own status.
func DeviceGetFieldValues(h uintptr, n int32, values unsafe.Pointer) Return {
	d, r := dev(h, values)
	if r != Success {
		return r
	}
	if n <= 0 {
		return InvalidArgument
	}
	now := time.Now().UnixMicro()
	b := shim.View(values, 40*int(n))
	for i := 0; i < int(n); i++ {
		e := b[40*i : 40*(i+1)]
		v, t, st := fieldValue(d, shim.Le.Uint32(e), shim.Le.Uint32(e[4:]))
		if st == NotSupported {
			shim.DebugOnce(fmt.Sprintf("nvml-field:%d", shim.Le.Uint32(e)), "NVML field not modelled", "field", shim.Le.Uint32(e))
		}
		shim.Le.PutUint64(e[8:], uint64(now))
		shim.Le.PutUint64(e[16:], 0)
		shim.Le.PutUint32(e[24:], t)
		shim.Le.PutUint32(e[28:], uint32(st))
		shim.Le.PutUint64(e[32:], v)
	}
	return Success
}

// DeviceClearFieldValues is nvmlDeviceClearFieldValues: clearing counters is root's.
func DeviceClearFieldValues(h uintptr, n int32, values unsafe.Pointer) Return {
	d, r := dev(h, values)
	if r != Success {
		return r
	}
	if n <= 0 {
		return InvalidArgument
	}
	return change(d, func(*settings) Return {
		b := shim.View(values, 40*int(n))
		for i := 0; i < int(n); i++ {
			_, _, st := fieldValue(d, shim.Le.Uint32(b[40*i:]), shim.Le.Uint32(b[40*i+4:]))
			shim.Le.PutUint32(b[40*i+28:], uint32(st))
		}
		return Success
	})
}

// NoVgpuTypeLicense answers nvmlVgpuTypeGetLicense.
func NoVgpuTypeLicense(id uint32, buf unsafe.Pointer, n uint32) Return { return NoVgpuType(id, buf) }

// NoVgpuInstanceStr answers the vGPU instance string queries (UUID, mdev UUID, VM driver).
func NoVgpuInstanceStr(id uint32, buf unsafe.Pointer, n uint32) Return {
	return NoVgpuInstance(id, buf)
}

// NoVgpuInstanceVmID answers nvmlVgpuInstanceGetVmID.
func NoVgpuInstanceVmID(id uint32, buf unsafe.Pointer, n uint32, t unsafe.Pointer) Return {
	return NoVgpuInstance(id, buf)
}

// VgpuHostList answers the per-device vGPU lists (active instances, creatable and supported types).
func VgpuHostList(h uintptr, count, _ unsafe.Pointer) Return { return VgpuHostOnly(h, count) }
