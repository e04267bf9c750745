package nvml

import (
	"hash/crc32"
	"strings"
	"unsafe"

	"vgpu/shim"
)

// eccDevice resolves a device whose memory has ECC.
func eccDevice(h uintptr, ptrs ...unsafe.Pointer) (*shim.Device, Return) {
	d, r := dev(h, ptrs...)
	if r != Success {
		return nil, r
	}
	if !d.Profile.ECC {
		return nil, NotSupported
	}
	return d, Success
}

// validCounter checks nvmlMemoryErrorType_t (corrected, uncorrected) and nvmlEccCounterType_t
// (volatile, aggregate).
func validCounter(errType, counter int32) bool {
	return errType >= 0 && errType <= 1 && counter >= 0 && counter <= 1
}

// DeviceGetDefaultEccMode is nvmlDeviceGetDefaultEccMode: on, where there is ECC.
func DeviceGetDefaultEccMode(h uintptr, out unsafe.Pointer) Return {
	if _, r := eccDevice(h, out); r != Success {
		return r
	}
	w32(out, 1)
	return Success
}

// DeviceGetDetailedEccErrors is nvmlDeviceGetDetailedEccErrors: no errors in L1, L2,
// device memory or the register file.
func DeviceGetDetailedEccErrors(h uintptr, errType, counter int32, out unsafe.Pointer) Return {
	if _, r := eccDevice(h, out); r != Success {
		return r
	}
	if !validCounter(errType, counter) {
		return InvalidArgument
	}
	zeroed(out, 32)
	return Success
}

// DeviceGetMemoryErrorCounter is nvmlDeviceGetMemoryErrorCounter: none at any location
// (nvmlMemoryLocation_t L1 through SRAM).
func DeviceGetMemoryErrorCounter(h uintptr, errType, counter, loc int32, out unsafe.Pointer) Return {
	if _, r := eccDevice(h, out); r != Success {
		return r
	}
	if !validCounter(errType, counter) || loc < 0 || loc > 7 {
		return InvalidArgument
	}
	w64(out, 0)
	return Success
}

// nvmlEccSramErrorStatus_v1 is sizeof(nvmlEccSramErrorStatus_t) | 1<<24.
const sramEccV1 = 104 | 1<<24

// DeviceGetSramEccErrorStatus is nvmlDeviceGetSramEccErrorStatus: Ampere and later, no errors.
func DeviceGetSramEccErrorStatus(h uintptr, out unsafe.Pointer) Return {
	d, r := eccDevice(h, out)
	if r != Success {
		return r
	}
	b := shim.View(out, 104)
	if shim.Le.Uint32(b) != sramEccV1 {
		return ArgumentVersion
	}
	if !ccAtLeast(d, 8, 0) {
		return NotSupported
	}
	clear(b[4:])
	return Success
}

// DeviceClearEccErrorCounts is nvmlDeviceClearEccErrorCounts.
func DeviceClearEccErrorCounts(h uintptr, counter int32) Return {
	d, r := eccDevice(h)
	if r != Success {
		return r
	}
	if counter < 0 || counter > 1 {
		return InvalidArgument
	}
	return change(d, func(*settings) Return { return Success })
}

// DeviceSetEccMode is nvmlDeviceSetEccMode: the new mode is pending until a reset.
func DeviceSetEccMode(h uintptr, mode int32) Return {
	d, r := eccDevice(h)
	if r != Success {
		return r
	}
	if mode != 0 && mode != 1 {
		return InvalidArgument
	}
	return change(d, func(s *settings) Return { s.eccPending = uint32(mode); return Success })
}

// pageRetirement resolves a device that retires pages: ECC parts before Ampere's HBM row
// remapping (the T4 among the models).
func pageRetirement(h uintptr, ptrs ...unsafe.Pointer) (*shim.Device, Return) {
	d, r := eccDevice(h, ptrs...)
	if r != Success {
		return nil, r
	}
	if ccAtLeast(d, 8, 0) {
		return nil, NotSupported
	}
	return d, Success
}

// DeviceGetRetiredPages is nvmlDeviceGetRetiredPages: none retired, for either cause.
func DeviceGetRetiredPages(h uintptr, cause int32, count, addrs unsafe.Pointer) Return {
	if _, r := pageRetirement(h, count); r != Success {
		return r
	}
	if cause != 0 && cause != 1 {
		return InvalidArgument
	}
	return countedList(count, addrs, 0, nil)
}

// DeviceGetRetiredPagesV2 is nvmlDeviceGetRetiredPages_v2 (with timestamps).
func DeviceGetRetiredPagesV2(h uintptr, cause int32, count, addrs, times unsafe.Pointer) Return {
	return DeviceGetRetiredPages(h, cause, count, addrs)
}

// DeviceGetRetiredPagesPendingStatus is nvmlDeviceGetRetiredPagesPendingStatus.
func DeviceGetRetiredPagesPendingStatus(h uintptr, out unsafe.Pointer) Return {
	if _, r := pageRetirement(h, out); r != Success {
		return r
	}
	w32(out, 0)
	return Success
}

// rowRemapping resolves a device that remaps rows (HBM parts with ECC).
func rowRemapping(h uintptr, ptrs ...unsafe.Pointer) (*shim.Device, Return) {
	d, r := eccDevice(h, ptrs...)
	if r != Success {
		return nil, r
	}
	if !hbm(d) {
		return nil, NotSupported
	}
	return d, Success
}

// DeviceGetRemappedRows is nvmlDeviceGetRemappedRows: none remapped, none pending.
func DeviceGetRemappedRows(h uintptr, corr, unc, pending, failed unsafe.Pointer) Return {
	if _, r := rowRemapping(h, corr, unc, pending, failed); r != Success {
		return r
	}
	for _, p := range []unsafe.Pointer{corr, unc, pending, failed} {
		w32(p, 0)
	}
	return Success
}

// DeviceGetRowRemapperHistogram is nvmlDeviceGetRowRemapperHistogram: every bank (one per
// 32 MiB) still has all its spare rows.
func DeviceGetRowRemapperHistogram(h uintptr, out unsafe.Pointer) Return {
	d, r := rowRemapping(h, out)
	if r != Success {
		return r
	}
	b := zeroed(out, 20)
	shim.Le.PutUint32(b, uint32(d.Memory>>25))
	return Success
}

// DeviceGetBoardId is nvmlDeviceGetBoardId: unique per board, from its PCI address.
func DeviceGetBoardId(h uintptr, out unsafe.Pointer) Return {
	return putU32(h, out, func(d *shim.Device) uint32 {
		return uint32(d.PCIDomain)<<16 | uint32(d.PCIBus)<<8 | uint32(d.PCIDev)<<3
	})
}

// DeviceGetBoardPartNumber is nvmlDeviceGetBoardPartNumber.
func DeviceGetBoardPartNumber(h uintptr, buf unsafe.Pointer, n uint32) Return {
	d, r := dev(h)
	if r != Success {
		return r
	}
	if d.Profile.PartNumber == "" {
		return NotSupported
	}
	return putString(buf, n, d.Profile.PartNumber)
}

// inforomImage is the InfoROM image version, which follows the board: 692-2G520-0200-000
// carries G520.0200.00.05.
func inforomImage(d *shim.Device) (string, bool) {
	f := strings.Split(d.Profile.PartNumber, "-")
	if len(f) != 4 || len(f[1]) != 5 {
		return "", false
	}
	return f[1][1:] + "." + f[2] + ".00.05", true
}

// DeviceGetInforomImageVersion is nvmlDeviceGetInforomImageVersion.
func DeviceGetInforomImageVersion(h uintptr, buf unsafe.Pointer, n uint32) Return {
	d, r := dev(h)
	if r != Success {
		return r
	}
	v, ok := inforomImage(d)
	if !ok {
		return NotSupported
	}
	return putString(buf, n, v)
}

// DeviceGetInforomVersion is nvmlDeviceGetInforomVersion: the OEM and ECC objects; the
// power object is absent on the modelled boards, as on the H100.
func DeviceGetInforomVersion(h uintptr, object int32, buf unsafe.Pointer, n uint32) Return {
	d, r := dev(h)
	if r != Success {
		return r
	}
	switch {
	case object == 0:
		return putString(buf, n, "2.1")
	case object == 1 && d.Profile.ECC:
		return putString(buf, n, "7.16")
	case object == 1 || object == 2:
		return NotSupported
	}
	return InvalidArgument
}

// DeviceGetInforomConfigurationChecksum is nvmlDeviceGetInforomConfigurationChecksum.
func DeviceGetInforomConfigurationChecksum(h uintptr, out unsafe.Pointer) Return {
	return putU32(h, out, func(d *shim.Device) uint32 {
		return crc32.ChecksumIEEE([]byte(d.Profile.PartNumber + "/" + d.Profile.VBIOS))
	})
}

// DeviceGetBridgeChipInfo is nvmlDeviceGetBridgeChipInfo: the modelled boards carry no PLX
// or BR04 bridge, and NVML answers not supported for them.
func DeviceGetBridgeChipInfo(h uintptr, out unsafe.Pointer) Return {
	if _, r := dev(h, out); r != Success {
		return r
	}
	return NotSupported
}

// DeviceGetBusType is nvmlDeviceGetBusType: PCIe.
func DeviceGetBusType(h uintptr, out unsafe.Pointer) Return {
	return putU32(h, out, func(*shim.Device) uint32 { return 2 })
}

// DeviceGetIrqNum is nvmlDeviceGetIrqNum: an MSI vector, stable per device.
func DeviceGetIrqNum(h uintptr, out unsafe.Pointer) Return {
	return putU32(h, out, func(d *shim.Device) uint32 { return 128 + uint32(d.Index) })
}

// DeviceGetModuleId is nvmlDeviceGetModuleId: the board's slot, counted from 1.
func DeviceGetModuleId(h uintptr, out unsafe.Pointer) Return {
	return putU32(h, out, func(d *shim.Device) uint32 { return uint32(d.Index) + 1 })
}

// gsp is whether the driver runs the GPU System Processor firmware: data-centre parts
// from Turing on.
func gsp(d *shim.Device) bool { return ccAtLeast(d, 7, 5) && !geforce(d) }

// DeviceGetGspFirmwareMode is nvmlDeviceGetGspFirmwareMode.
func DeviceGetGspFirmwareMode(h uintptr, enabled, deflt unsafe.Pointer) Return {
	d, r := dev(h, enabled, deflt)
	if r != Success {
		return r
	}
	w32(enabled, b2u(gsp(d)))
	w32(deflt, b2u(gsp(d)))
	return Success
}

// DeviceGetGspFirmwareVersion is nvmlDeviceGetGspFirmwareVersion: the driver's version
// (buffer of NVML_GSP_FIRMWARE_VERSION_BUF_SIZE, 64 bytes).
func DeviceGetGspFirmwareVersion(h uintptr, buf unsafe.Pointer) Return {
	d, r := dev(h, buf)
	if r != Success {
		return r
	}
	if !gsp(d) {
		return NotSupported
	}
	return putString(buf, 64, shim.S().Config.DriverVersion)
}

// DeviceGetHandleBySerial is nvmlDeviceGetHandleBySerial.
func DeviceGetHandleBySerial(serial unsafe.Pointer, out unsafe.Pointer) Return {
	if r := ready(); r != Success {
		return r
	}
	s, ok := shim.GoString(serial, 96)
	if !ok || out == nil {
		return InvalidArgument
	}
	for i, d := range devices() {
		if d.Serial == s {
			shim.PutPtr(out, handleOf(i))
			return Success
		}
	}
	return NotFound
}

// NotSupportedPair answers queries that have no meaning on Linux data-centre parts: the
// driver model (Windows) and the GPU operation mode (GK110 Tesla boards). Either output may
// be NULL (nvidia-smi asks for one at a time); both NULL is an invalid call.
func NotSupportedPair(h uintptr, a, b unsafe.Pointer) Return {
	if _, r := dev(h); r != Success {
		return r
	}
	if a == nil && b == nil {
		return InvalidArgument
	}
	return NotSupported
}

// NotSupportedSet answers the setters of those.
func NotSupportedSet(h uintptr, mode int32) Return {
	if _, r := dev(h); r != Success {
		return r
	}
	return NotSupported
}

// DeviceSetDriverModel is nvmlDeviceSetDriverModel (Windows only).
func DeviceSetDriverModel(h uintptr, model int32, flags uint32) Return {
	return NotSupportedSet(h, model)
}

// DeviceSetDefaultAutoBoostedClocksEnabled is nvmlDeviceSetDefaultAutoBoostedClocksEnabled.
func DeviceSetDefaultAutoBoostedClocksEnabled(h uintptr, enabled int32, flags uint32) Return {
	return SetAutoBoost(h, enabled)
}

// DeviceGetAPIRestriction is nvmlDeviceGetAPIRestriction: setting applications clocks is
// root-only by default; auto boost does not exist on the modelled parts.
func DeviceGetAPIRestriction(h uintptr, api int32, out unsafe.Pointer) Return {
	d, r := dev(h, out)
	if r != Success {
		return r
	}
	switch api {
	case 0:
		w32(out, read(d, func(s *settings) uint32 { return s.restricted }))
		return Success
	case 1:
		return NotSupported
	}
	return InvalidArgument
}

// DeviceSetAPIRestriction is nvmlDeviceSetAPIRestriction.
func DeviceSetAPIRestriction(h uintptr, api, state int32) Return {
	d, r := dev(h)
	if r != Success {
		return r
	}
	if api == 1 {
		return NotSupported
	}
	if api != 0 || state < 0 || state > 1 {
		return InvalidArgument
	}
	return change(d, func(s *settings) Return { s.restricted = uint32(state); return Success })
}

// DeviceSetPersistenceMode is nvmlDeviceSetPersistenceMode.
func DeviceSetPersistenceMode(h uintptr, mode int32) Return {
	d, r := dev(h)
	if r != Success {
		return r
	}
	if mode != 0 && mode != 1 {
		return InvalidArgument
	}
	return change(d, func(s *settings) Return { s.persistence = uint32(mode); return Success })
}

// DeviceSetComputeMode is nvmlDeviceSetComputeMode: Default, Exclusive_Thread (deprecated,
// refused), Prohibited, Exclusive_Process.
func DeviceSetComputeMode(h uintptr, mode int32) Return {
	d, r := dev(h)
	if r != Success {
		return r
	}
	if mode < 0 || mode > 3 || mode == 1 {
		return InvalidArgument
	}
	return change(d, func(s *settings) Return { s.computeMode = uint32(mode); return Success })
}

// DeviceGetAttributes is nvmlDeviceGetAttributes(_v2): NVML answers it for MIG device
// handles only, and vgpu hands out whole GPUs.
func DeviceGetAttributes(h uintptr, out unsafe.Pointer) Return {
	if _, r := dev(h, out); r != Success {
		return r
	}
	return NotSupported
}
