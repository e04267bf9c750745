package nvml

import (
	"fmt"
	"os"
	"strings"
	"time"
	"unsafe"

	"vgpu/shim"
)

// Accounting: off by default; a privileged caller may turn it on, after which the
// processes holding memory on the device are accounted.

// accountingBuffer is how many processes the driver keeps accounting records for.
const accountingBuffer = 4000

// DeviceGetAccountingBufferSize is nvmlDeviceGetAccountingBufferSize.
func DeviceGetAccountingBufferSize(h uintptr, out unsafe.Pointer) Return {
	return putU32(h, out, func(*shim.Device) uint32 { return accountingBuffer })
}

// DeviceGetAccountingMode is nvmlDeviceGetAccountingMode.
func DeviceGetAccountingMode(h uintptr, out unsafe.Pointer) Return {
	return putU32(h, out, func(d *shim.Device) uint32 { return read(d, func(s *settings) uint32 { return s.accounting }) })
}

// DeviceSetAccountingMode is nvmlDeviceSetAccountingMode.
func DeviceSetAccountingMode(h uintptr, mode int32) Return {
	d, r := dev(h)
	if r != Success {
		return r
	}
	if mode != 0 && mode != 1 {
		return InvalidArgument
	}
	return change(d, func(s *settings) Return { s.accounting = uint32(mode); return Success })
}

// DeviceClearAccountingPids is nvmlDeviceClearAccountingPids.
func DeviceClearAccountingPids(h uintptr) Return {
	d, r := dev(h)
	if r != Success {
		return r
	}
	return change(d, func(*settings) Return { return Success })
}

// accounted is the caller's process and its memory, when accounting is on and it holds some.
func accounted(d *shim.Device) (pid int, used uint64, on bool) {
	if read(d, func(s *settings) uint32 { return s.accounting }) == 0 {
		return 0, 0, false
	}
	pid, used = os.Getpid(), d.Used()
	if shim.CallerOwner() != 0 {
		pid, used = shim.CallerPID(), shim.UsedByCaller(d)
	}
	return pid, used, true
}

// DeviceGetAccountingPids is nvmlDeviceGetAccountingPids.
func DeviceGetAccountingPids(h uintptr, count, pids unsafe.Pointer) Return {
	d, r := dev(h, count)
	if r != Success {
		return r
	}
	pid, used, on := accounted(d)
	if !on {
		return NotSupported
	}
	n := b2u(used > 0)
	return countedList(count, pids, n, func() { w32(pids, uint32(pid)) })
}

// DeviceGetAccountingStats is nvmlDeviceGetAccountingStats: idle utilisation, the memory
// held, running since the library loaded.
func DeviceGetAccountingStats(h uintptr, pid uint32, out unsafe.Pointer) Return {
	d, r := dev(h, out)
	if r != Success {
		return r
	}
	self, used, on := accounted(d)
	if !on {
		return NotSupported
	}
	if used == 0 || uint32(self) != pid {
		return NotFound
	}
	b := zeroed(out, 56)
	shim.Le.PutUint64(b[8:], used)
	shim.Le.PutUint64(b[16:], uint64(time.Since(loaded).Milliseconds()))
	shim.Le.PutUint64(b[24:], uint64(loaded.UnixMicro()))
	shim.Le.PutUint32(b[32:], 1)
	return Success
}

// DeviceGetProcessUtilization is nvmlDeviceGetProcessUtilization: one idle sample for each
// process holding memory; NOT_FOUND when none does, as when no samples exist.
func DeviceGetProcessUtilization(h uintptr, samples, count unsafe.Pointer, last uint64) Return {
	d, r := dev(h, count)
	if r != Success {
		return r
	}
	self, used := pid(), d.Used()
	if shim.CallerOwner() != 0 {
		self, used = shim.CallerPID(), shim.UsedByCaller(d)
	}
	now := uint64(time.Now().UnixMicro())
	if used == 0 || last >= now {
		w32(count, 0)
		return NotFound
	}
	if samples == nil || r32(count) < 1 {
		w32(count, 1)
		return InsufficientSize
	}
	b := zeroed(samples, 32)
	shim.Le.PutUint32(b, uint32(self))
	shim.Le.PutUint64(b[8:], now)
	w32(count, 1)
	return Success
}

// SystemGetProcessName is nvmlSystemGetProcessName: the program's path, from /proc
// (answered where the process runs).
func SystemGetProcessName(pid uint32, buf unsafe.Pointer, n uint32) Return {
	if r := localReady(); r != Success {
		return r
	}
	if buf == nil || n == 0 {
		return InvalidArgument
	}
	cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	name, _, _ := strings.Cut(string(cmd), "\x00")
	if err != nil || name == "" {
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil {
			return NotFound
		}
		name = strings.TrimSpace(string(comm))
	}
	if !shim.PutStringTrunc(buf, int(n), name) {
		return InvalidArgument
	}
	return Success
}

// Units are S-class enclosures; no modelled system has one.

// UnitGetCount is nvmlUnitGetCount.
func UnitGetCount(out unsafe.Pointer) Return {
	if r := nonNil(out); r != Success {
		return r
	}
	w32(out, 0)
	return Success
}

// UnitGetHandleByIndex is nvmlUnitGetHandleByIndex: every index is past the last unit.
func UnitGetHandleByIndex(i uint32, out unsafe.Pointer) Return {
	if r := ready(); r != Success {
		return r
	}
	return InvalidArgument
}

// NoUnit answers the calls on a unit handle: none is valid.
func NoUnit(h uint64, _ unsafe.Pointer) Return { return NoInstance(h) }

// UnitGetDevices is nvmlUnitGetDevices.
func UnitGetDevices(h uint64, _, _ unsafe.Pointer) Return { return NoInstance(h) }

// UnitGetTemperature is nvmlUnitGetTemperature.
func UnitGetTemperature(h uint64, _ uint32, _ unsafe.Pointer) Return { return NoInstance(h) }

// UnitSetLedState is nvmlUnitSetLedState.
func UnitSetLedState(h uint64, _ int32) Return { return NoInstance(h) }

// Excluded (formerly blacklisted) devices: none are excluded.

// GetExcludedDeviceCount is nvmlGetExcludedDeviceCount (and nvmlGetBlacklistDeviceCount).
func GetExcludedDeviceCount(out unsafe.Pointer) Return { return UnitGetCount(out) }

// GetExcludedDeviceInfoByIndex is nvmlGetExcludedDeviceInfoByIndex (and ...Blacklist...).
func GetExcludedDeviceInfoByIndex(i uint32, out unsafe.Pointer) Return {
	if r := nonNil(out); r != Success {
		return r
	}
	return InvalidArgument
}

// SystemGetHicVersion is nvmlSystemGetHicVersion: no host interface cards (S-class only).
func SystemGetHicVersion(count, entries unsafe.Pointer) Return {
	if r := nonNil(count); r != Success {
		return r
	}
	return countedList(count, entries, 0, nil)
}

// Confidential computing: Hopper can run it; the modelled systems have it off.

// SystemGetConfComputeCapabilities is nvmlSystemGetConfComputeCapabilities: no CPU TEE
// (cpuCaps NONE), GPUs capable when every device is a Hopper.
func SystemGetConfComputeCapabilities(out unsafe.Pointer) Return {
	if r := nonNil(out); r != Success {
		return r
	}
	capable := len(devices()) > 0
	for _, d := range devices() {
		capable = capable && ccAtLeast(d, 9, 0)
	}
	b := zeroed(out, 8)
	shim.Le.PutUint32(b[4:], b2u(capable))
	return Success
}

// SystemGetConfComputeState is nvmlSystemGetConfComputeState: environment unavailable,
// feature and dev-tools mode off.
func SystemGetConfComputeState(out unsafe.Pointer) Return {
	if r := nonNil(out); r != Success {
		return r
	}
	zeroed(out, 12)
	return Success
}

// SystemGetConfComputeGpusReadyState is nvmlSystemGetConfComputeGpusReadyState: only with
// confidential computing on.
func SystemGetConfComputeGpusReadyState(out unsafe.Pointer) Return {
	if r := nonNil(out); r != Success {
		return r
	}
	return NotSupported
}

// SystemSetConfComputeGpusReadyState is nvmlSystemSetConfComputeGpusReadyState.
func SystemSetConfComputeGpusReadyState(state uint32) Return {
	if r := ready(); r != Success {
		return r
	}
	if state > 1 {
		return InvalidArgument
	}
	return NotSupported
}

// ConfComputeOff answers the per-device confidential-computing queries: not supported with
// the feature off.
func ConfComputeOff(h uintptr, out unsafe.Pointer) Return {
	if _, r := dev(h, out); r != Success {
		return r
	}
	return NotSupported
}

// DeviceGetConfComputeMemSizeInfo is nvmlDeviceGetConfComputeMemSizeInfo: with the feature
// off all memory is unprotected (KiB).
func DeviceGetConfComputeMemSizeInfo(h uintptr, out unsafe.Pointer) Return {
	d, r := dev(h, out)
	if r != Success {
		return r
	}
	if !ccAtLeast(d, 9, 0) {
		return NotSupported
	}
	b := zeroed(out, 16)
	shim.Le.PutUint64(b[8:], (d.Memory+d.Reserved)>>10)
	return Success
}

// DeviceSetConfComputeUnprotectedMemSize is nvmlDeviceSetConfComputeUnprotectedMemSize.
func DeviceSetConfComputeUnprotectedMemSize(h uintptr, kib uint64) Return {
	d, r := dev(h)
	if r != Success {
		return r
	}
	if !ccAtLeast(d, 9, 0) {
		return NotSupported
	}
	return change(d, func(*settings) Return { return NotSupported })
}

// busDevice finds the device an nvmlPciInfo_t names by its busId.
func busDevice(pci unsafe.Pointer) (*shim.Device, Return) {
	if r := nonNil(pci); r != Success {
		return nil, r
	}
	id, ok := shim.GoString(unsafe.Add(pci, 36), 32)
	if !ok {
		return nil, InvalidArgument
	}
	for _, d := range devices() {
		if d.MatchesBusID(id) {
			return d, Success
		}
	}
	return nil, NotFound
}

// DeviceQueryDrainState is nvmlDeviceQueryDrainState: no device is being drained.
func DeviceQueryDrainState(pci, out unsafe.Pointer) Return {
	if r := nonNil(out); r != Success {
		return r
	}
	if _, r := busDevice(pci); r != Success {
		return r
	}
	w32(out, 0)
	return Success
}

// DeviceModifyDrainState is nvmlDeviceModifyDrainState: root only.
func DeviceModifyDrainState(pci unsafe.Pointer, state int32) Return {
	d, r := busDevice(pci)
	if r != Success {
		return r
	}
	if state != 0 && state != 1 {
		return InvalidArgument
	}
	return change(d, func(*settings) Return { return Success })
}

// DeviceRemoveGpu is nvmlDeviceRemoveGpu(_v2): hot-removing a GPU is root's, and a vgpu
// device cannot be removed from its backend.
func DeviceRemoveGpu(pci unsafe.Pointer, gpuState, linkState int32) Return {
	d, r := busDevice(pci)
	if r != Success {
		return r
	}
	return change(d, func(*settings) Return { return InUse })
}

// DeviceRemoveGpuV1 is the original nvmlDeviceRemoveGpu.
func DeviceRemoveGpuV1(pci unsafe.Pointer) Return { return DeviceRemoveGpu(pci, 0, 0) }

// InUse is NVML_ERROR_IN_USE.
const InUse Return = 19

// DeviceDiscoverGpus is nvmlDeviceDiscoverGpus: rescanning the bus is root's; the bus holds
// nothing new.
func DeviceDiscoverGpus(pci unsafe.Pointer) Return {
	if r := nonNil(pci); r != Success {
		return r
	}
	if !privileged() {
		return NoPermission
	}
	return Success
}

// EventSetWaitV1 is nvmlEventSetWait (the 24-byte nvmlEventData_t of old).
func EventSetWaitV1(h uintptr, data unsafe.Pointer, timeoutMs uint32) Return {
	return EventSetWait(h, data, timeoutMs)
}
