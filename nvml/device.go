package nvml

import (
	"unsafe"

	"vgpu/shim"
)

// DeviceGetName is nvmlDeviceGetName.
func DeviceGetName(h uintptr, buf unsafe.Pointer, n uint32) Return {
	d, r := device(h)
	if r != Success {
		return r
	}
	return putString(buf, n, d.Name)
}

// DeviceGetUUID is nvmlDeviceGetUUID.
func DeviceGetUUID(h uintptr, buf unsafe.Pointer, n uint32) Return {
	d, r := device(h)
	if r != Success {
		return r
	}
	return putString(buf, n, d.UUIDString())
}

// DeviceGetSerial is nvmlDeviceGetSerial.
func DeviceGetSerial(h uintptr, buf unsafe.Pointer, n uint32) Return {
	d, r := device(h)
	if r != Success {
		return r
	}
	return putString(buf, n, d.Serial)
}

// DeviceGetVbiosVersion is nvmlDeviceGetVbiosVersion.
func DeviceGetVbiosVersion(h uintptr, buf unsafe.Pointer, n uint32) Return {
	d, r := device(h)
	if r != Success {
		return r
	}
	return putString(buf, n, d.Profile.VBIOS)
}

// DeviceGetIndex is nvmlDeviceGetIndex.
func DeviceGetIndex(h uintptr, out unsafe.Pointer) Return {
	d, r := device(h)
	if r != Success {
		return r
	}
	if !shim.PutU32(out, uint32(shim.S().Ordinal(d))) {
		return InvalidArgument
	}
	return Success
}

// DeviceGetMinorNumber is nvmlDeviceGetMinorNumber: /dev/nvidiaN's N.
func DeviceGetMinorNumber(h uintptr, out unsafe.Pointer) Return {
	d, r := device(h)
	if r != Success {
		return r
	}
	if !shim.PutU32(out, uint32(d.Index)) {
		return InvalidArgument
	}
	return Success
}

// DeviceGetPciInfo is nvmlDeviceGetPciInfo (all versions share the 68-byte layout).
func DeviceGetPciInfo(h uintptr, out unsafe.Pointer) Return {
	d, r := device(h)
	if r != Success {
		return r
	}
	if out == nil {
		return InvalidArgument
	}
	b := shim.View(out, 68)
	for i := range b {
		b[i] = 0
	}
	copy(b[0:15], d.NVMLLegacyBusID())
	shim.Le.PutUint32(b[16:], uint32(d.PCIDomain))
	shim.Le.PutUint32(b[20:], uint32(d.PCIBus))
	shim.Le.PutUint32(b[24:], uint32(d.PCIDev))
	shim.Le.PutUint32(b[28:], uint32(d.Profile.PCIDeviceID)<<16|0x10de)
	shim.Le.PutUint32(b[32:], uint32(d.Profile.PCISubsystemID)<<16|0x10de)
	copy(b[36:67], d.NVMLBusID())
	return Success
}

// DeviceGetMemoryInfo is nvmlDeviceGetMemoryInfo (v1): total includes the driver's reserve,
// used counts it, and free is exactly what CUDA reports as free.
func DeviceGetMemoryInfo(h uintptr, out unsafe.Pointer) Return {
	d, r := device(h)
	if r != Success {
		return r
	}
	if out == nil {
		return InvalidArgument
	}
	b := shim.View(out, 24)
	free, total := d.Free(), d.Total()
	shim.Le.PutUint64(b[0:], total+d.Reserved)
	shim.Le.PutUint64(b[8:], free)
	shim.Le.PutUint64(b[16:], total+d.Reserved-free)
	return Success
}

// nvmlMemory_v2 is sizeof(nvmlMemory_v2_t) | 2<<24.
const memoryV2 = 40 | 2<<24

// MemoryInfoV2 is nvmlDeviceGetMemoryInfo_v2: reserved is reported apart from used.
func MemoryInfoV2(h uintptr, out unsafe.Pointer) Return {
	d, r := device(h)
	if r != Success {
		return r
	}
	if out == nil {
		return InvalidArgument
	}
	b := shim.View(out, 40)
	if shim.Le.Uint32(b) != memoryV2 {
		return ArgumentVersion
	}
	free, total := d.Free(), d.Total()
	shim.Le.PutUint64(b[8:], total+d.Reserved)
	shim.Le.PutUint64(b[16:], d.Reserved)
	shim.Le.PutUint64(b[24:], free)
	shim.Le.PutUint64(b[32:], total-free)
	return Success
}

// DeviceGetBAR1MemoryInfo is nvmlDeviceGetBAR1MemoryInfo: BAR1 as large as the memory,
// rounded up to a power of two, as on data-centre parts.
func DeviceGetBAR1MemoryInfo(h uintptr, out unsafe.Pointer) Return {
	d, r := device(h)
	if r != Success {
		return r
	}
	if out == nil {
		return InvalidArgument
	}
	total := uint64(1)
	for total < d.Memory {
		total <<= 1
	}
	used := uint64(2 << 20)
	b := shim.View(out, 24)
	shim.Le.PutUint64(b[0:], total)
	shim.Le.PutUint64(b[8:], total-used)
	shim.Le.PutUint64(b[16:], used)
	return Success
}

// DeviceGetCudaComputeCapability is nvmlDeviceGetCudaComputeCapability.
func DeviceGetCudaComputeCapability(h uintptr, major, minor unsafe.Pointer) Return {
	d, r := device(h)
	if r != Success {
		return r
	}
	if major == nil || minor == nil {
		return InvalidArgument
	}
	shim.PutI32(major, int32(d.Profile.CC[0]))
	shim.PutI32(minor, int32(d.Profile.CC[1]))
	return Success
}

// DeviceGetUtilizationRates is nvmlDeviceGetUtilizationRates: the sim device is idle.
func DeviceGetUtilizationRates(h uintptr, out unsafe.Pointer) Return {
	if _, r := device(h); r != Success {
		return r
	}
	if out == nil {
		return InvalidArgument
	}
	b := shim.View(out, 8)
	shim.Le.PutUint64(b, 0)
	return Success
}

func putU32(h uintptr, out unsafe.Pointer, v func(d *shim.Device) uint32) Return {
	d, r := device(h)
	if r != Success {
		return r
	}
	if !shim.PutU32(out, v(d)) {
		return InvalidArgument
	}
	return Success
}

// DeviceGetTemperature is nvmlDeviceGetTemperature: an idle card's 32 C for the GPU sensor.
func DeviceGetTemperature(h uintptr, sensor int32, out unsafe.Pointer) Return {
	if sensor != 0 {
		return InvalidArgument
	}
	return putU32(h, out, func(*shim.Device) uint32 { return 32 })
}

// DeviceGetPowerUsage is nvmlDeviceGetPowerUsage (milliwatts): about a tenth of the limit, idle.
func DeviceGetPowerUsage(h uintptr, out unsafe.Pointer) Return {
	return putU32(h, out, func(d *shim.Device) uint32 { return uint32(d.Profile.PowerW) * 100 })
}

// DeviceGetPowerManagementLimit is nvmlDeviceGetPowerManagementLimit (milliwatts): the
// default unless a privileged caller set another; the enforced limit is the same.
func DeviceGetPowerManagementLimit(h uintptr, out unsafe.Pointer) Return {
	return putU32(h, out, powerLimit)
}

func powerLimit(d *shim.Device) uint32 {
	if l := read(d, func(s *settings) uint32 { return s.powerLimit }); l != 0 {
		return l
	}
	return uint32(d.Profile.PowerW) * 1000
}

// DeviceGetPowerManagementDefaultLimit is nvmlDeviceGetPowerManagementDefaultLimit.
func DeviceGetPowerManagementDefaultLimit(h uintptr, out unsafe.Pointer) Return {
	return putU32(h, out, func(d *shim.Device) uint32 { return uint32(d.Profile.PowerW) * 1000 })
}

// RunningProcesses is nvmlDeviceGetComputeRunningProcesses(_v3): this process, when it holds
// memory on the device (24-byte nvmlProcessInfo_t entries).
func RunningProcesses(h uintptr, count, infos unsafe.Pointer) Return {
	return processes(h, count, infos, 24)
}

// RunningProcessesV1 is the legacy nvmlDeviceGetComputeRunningProcesses (16-byte entries).
func RunningProcessesV1(h uintptr, count, infos unsafe.Pointer) Return {
	return processes(h, count, infos, 16)
}

func processes(h uintptr, count, infos unsafe.Pointer, size int) Return {
	d, r := device(h)
	if r != Success {
		return r
	}
	if count == nil {
		return InvalidArgument
	}
	// A program sees itself; a server's client sees itself too, with its own memory, never
	// the server or another client.
	self, used := pid(), d.Used()
	if owner := shim.CallerOwner(); owner != 0 {
		self, used = shim.CallerPID(), shim.UsedByCaller(d)
	}
	n := uint32(0)
	if used > 0 {
		n = 1
	}
	have := *(*uint32)(count)
	*(*uint32)(count) = n
	if have < n {
		return InsufficientSize
	}
	if n == 1 {
		if infos == nil {
			return InvalidArgument
		}
		b := shim.View(infos, size)
		for i := range b {
			b[i] = 0
		}
		shim.Le.PutUint32(b, uint32(self))
		shim.Le.PutUint64(b[8:], used)
		if size == 24 {
			shim.Le.PutUint32(b[16:], 0xffffffff) // no MIG instance
			shim.Le.PutUint32(b[20:], 0xffffffff)
		}
	}
	return Success
}

// GraphicsRunningProcesses is nvmlDeviceGetGraphicsRunningProcesses_v3: none.
func GraphicsRunningProcesses(h uintptr, count, infos unsafe.Pointer) Return {
	if _, r := device(h); r != Success {
		return r
	}
	if count == nil {
		return InvalidArgument
	}
	*(*uint32)(count) = 0
	return Success
}

// DeviceGetFanSpeed is nvmlDeviceGetFanSpeed: passively cooled parts have no fan.
func DeviceGetFanSpeed(h uintptr, out unsafe.Pointer) Return {
	d, r := dev(h, out)
	if r != Success {
		return r
	}
	if d.Profile.Fans == 0 {
		return NotSupported
	}
	w32(out, fanPercent)
	return Success
}

// DeviceGetPerformanceState is nvmlDeviceGetPerformanceState: P0.
func DeviceGetPerformanceState(h uintptr, out unsafe.Pointer) Return {
	return putU32(h, out, func(*shim.Device) uint32 { return 0 })
}

// DeviceGetPersistenceMode is nvmlDeviceGetPersistenceMode: enabled unless changed.
func DeviceGetPersistenceMode(h uintptr, out unsafe.Pointer) Return {
	return putU32(h, out, func(d *shim.Device) uint32 { return read(d, func(s *settings) uint32 { return s.persistence }) })
}

// DeviceGetComputeMode is nvmlDeviceGetComputeMode: Default unless changed.
func DeviceGetComputeMode(h uintptr, out unsafe.Pointer) Return {
	return putU32(h, out, func(d *shim.Device) uint32 { return read(d, func(s *settings) uint32 { return s.computeMode }) })
}

// DeviceGetEccMode is nvmlDeviceGetEccMode.
func DeviceGetEccMode(h uintptr, current, pending unsafe.Pointer) Return {
	d, r := device(h)
	if r != Success {
		return r
	}
	if current == nil || pending == nil {
		return InvalidArgument
	}
	v := uint32(0)
	if d.Profile.ECC {
		v = 1
	}
	shim.PutU32(current, v)
	shim.PutU32(pending, read(d, func(s *settings) uint32 { return s.eccPending }))
	return Success
}

// nvmlBrandType_t values.
var brands = map[string]uint32{"tesla": 2, "geforce": 5, "nvidia": 14, "geforce_rtx": 15}

// DeviceGetBrand is nvmlDeviceGetBrand.
func DeviceGetBrand(h uintptr, out unsafe.Pointer) Return {
	return putU32(h, out, func(d *shim.Device) uint32 { return brands[d.Profile.Brand] })
}

// DeviceGetArchitecture is nvmlDeviceGetArchitecture (NVML_DEVICE_ARCH_*).
func DeviceGetArchitecture(h uintptr, out unsafe.Pointer) Return {
	return putU32(h, out, func(d *shim.Device) uint32 {
		switch d.Profile.CC {
		case [2]int{7, 5}:
			return 6 // Turing
		case [2]int{8, 0}, [2]int{8, 6}:
			return 7 // Ampere
		case [2]int{8, 9}:
			return 8 // Ada
		case [2]int{9, 0}:
			return 9 // Hopper
		}
		return 0xffffffff
	})
}

// DeviceGetMemoryBusWidth is nvmlDeviceGetMemoryBusWidth.
func DeviceGetMemoryBusWidth(h uintptr, out unsafe.Pointer) Return {
	return putU32(h, out, func(d *shim.Device) uint32 { return uint32(d.Profile.BusWidth) })
}

// DeviceGetNumGpuCores is nvmlDeviceGetNumGpuCores.
func DeviceGetNumGpuCores(h uintptr, out unsafe.Pointer) Return {
	return putU32(h, out, func(d *shim.Device) uint32 { return uint32(d.Profile.SMs * d.Profile.CoresPerSM) })
}

// DeviceGetPcieLinkMaxSpeed is nvmlDeviceGetPcieLinkMaxSpeed (MB/s per lane, NVML's units).
func DeviceGetPcieLinkMaxSpeed(h uintptr, out unsafe.Pointer) Return {
	return putU32(h, out, func(d *shim.Device) uint32 {
		return map[int]uint32{3: 8000, 4: 16000, 5: 32000}[d.Profile.PCIe[0]]
	})
}

// DeviceGetMaxPcieLinkGeneration is nvmlDeviceGetMaxPcieLinkGeneration.
func DeviceGetMaxPcieLinkGeneration(h uintptr, out unsafe.Pointer) Return {
	return putU32(h, out, func(d *shim.Device) uint32 { return uint32(d.Profile.PCIe[0]) })
}

// DeviceGetMaxPcieLinkWidth is nvmlDeviceGetMaxPcieLinkWidth.
func DeviceGetMaxPcieLinkWidth(h uintptr, out unsafe.Pointer) Return {
	return putU32(h, out, func(d *shim.Device) uint32 { return uint32(d.Profile.PCIe[1]) })
}

// MaxPcieLinkGeneration serves the current link generation: an idle link runs at max here.
func MaxPcieLinkGeneration(h uintptr, out unsafe.Pointer) Return {
	return DeviceGetMaxPcieLinkGeneration(h, out)
}

// MaxPcieLinkWidth serves the current link width.
func MaxPcieLinkWidth(h uintptr, out unsafe.Pointer) Return { return DeviceGetMaxPcieLinkWidth(h, out) }

// Disabled answers the enable-state queries that are off on a headless data-centre card.
func Disabled(h uintptr, out unsafe.Pointer) Return {
	return putU32(h, out, func(*shim.Device) uint32 { return 0 })
}

// DeviceGetMigMode is nvmlDeviceGetMigMode: disabled on parts that offer MIG (vgpu hands
// out whole GPUs), not supported on the others.
func DeviceGetMigMode(h uintptr, current, pending unsafe.Pointer) Return {
	d, r := dev(h, current, pending)
	if r != Success {
		return r
	}
	if !d.Profile.MIG {
		return NotSupported
	}
	w32(current, 0)
	w32(pending, 0)
	return Success
}

// DeviceGetTotalEnergyConsumption is nvmlDeviceGetTotalEnergyConsumption (mJ since load).
func DeviceGetTotalEnergyConsumption(h uintptr, out unsafe.Pointer) Return {
	d, r := device(h)
	if r != Success {
		return r
	}
	if !shim.PutU64(out, uint64(d.Profile.PowerW)*100*uint64(uptimeSeconds())) {
		return InvalidArgument
	}
	return Success
}

// DeviceGetCurrentClocksEventReasons is nvmlDeviceGetCurrentClocksEventReasons: idle (0x1).
func DeviceGetCurrentClocksEventReasons(h uintptr, out unsafe.Pointer) Return {
	if _, r := device(h); r != Success {
		return r
	}
	if !shim.PutU64(out, 1) {
		return InvalidArgument
	}
	return Success
}

// DeviceGetMultiGpuBoard is nvmlDeviceGetMultiGpuBoard.
func DeviceGetMultiGpuBoard(h uintptr, out unsafe.Pointer) Return {
	return putU32(h, out, func(*shim.Device) uint32 { return 0 })
}

// DeviceGetVirtualizationMode is nvmlDeviceGetVirtualizationMode: passthrough (1), which is
// what a GPU handed to a VM reports.
func DeviceGetVirtualizationMode(h uintptr, out unsafe.Pointer) Return {
	return putU32(h, out, func(*shim.Device) uint32 { return 1 })
}

// DeviceValidateInforom is nvmlDeviceValidateInforom: a simulated InfoROM is always valid.
func DeviceValidateInforom(h uintptr) Return {
	_, r := device(h)
	return r
}

// DeviceIsMigDeviceHandle is nvmlDeviceIsMigDeviceHandle: vgpu hands out whole GPUs.
func DeviceIsMigDeviceHandle(h uintptr, out unsafe.Pointer) Return {
	return putU32(h, out, func(*shim.Device) uint32 { return 0 })
}

// DeviceGetMaxMigDeviceCount is nvmlDeviceGetMaxMigDeviceCount: seven slices on MIG parts.
func DeviceGetMaxMigDeviceCount(h uintptr, out unsafe.Pointer) Return {
	return putU32(h, out, func(d *shim.Device) uint32 { return 7 * b2u(d.Profile.MIG) })
}

// DeviceGetTotalEccErrors is nvmlDeviceGetTotalEccErrors: none, on parts with ECC.
func DeviceGetTotalEccErrors(h uintptr, errType, counter int32, out unsafe.Pointer) Return {
	d, r := device(h)
	if r != Success {
		return r
	}
	if !d.Profile.ECC {
		return NotSupported
	}
	if errType < 0 || errType > 1 || counter < 0 || counter > 1 || !shim.PutU64(out, 0) {
		return InvalidArgument
	}
	return Success
}

// DeviceGetPowerManagementLimitConstraints is nvmlDeviceGetPowerManagementLimitConstraints:
// the minimum is 2/7 of the default limit, as on the H100 and H200 (200 W of 700 W).
func DeviceGetPowerManagementLimitConstraints(h uintptr, lo, hi unsafe.Pointer) Return {
	d, r := device(h)
	if r != Success {
		return r
	}
	if lo == nil || hi == nil {
		return InvalidArgument
	}
	shim.PutU32(lo, uint32(d.Profile.PowerW)*2000/7)
	shim.PutU32(hi, uint32(d.Profile.PowerW)*1000)
	return Success
}

// nvmlTemperature_v1 is sizeof(nvmlTemperature_t) | 1<<24: {version, sensorType, temperature}.
const temperatureV1 = 12 | 1<<24

// DeviceGetTemperatureV is nvmlDeviceGetTemperatureV.
func DeviceGetTemperatureV(h uintptr, t unsafe.Pointer) Return {
	if _, r := device(h); r != Success {
		return r
	}
	if t == nil {
		return InvalidArgument
	}
	b := shim.View(t, 12)
	if shim.Le.Uint32(b) != temperatureV1 {
		return ArgumentVersion
	}
	if shim.Le.Uint32(b[4:]) != 0 { // NVML_TEMPERATURE_GPU
		return NotSupported
	}
	shim.Le.PutUint32(b[8:], 32)
	return Success
}

// nvmlPciInfoExt_v1 is sizeof(nvmlPciInfoExt_t) | 1<<24.
const pciInfoExtV1 = 64 | 1<<24

// DeviceGetPciInfoExt is nvmlDeviceGetPciInfoExt, which newer nvidia-smi reads pci.bus_id from.
// Data-centre parts are 3D controllers (class 03, subclass 02), GeForce cards VGA (03, 00).
func DeviceGetPciInfoExt(h uintptr, out unsafe.Pointer) Return {
	d, r := device(h)
	if r != Success {
		return r
	}
	if out == nil {
		return InvalidArgument
	}
	b := shim.View(out, 64)
	if shim.Le.Uint32(b) != pciInfoExtV1 {
		return ArgumentVersion
	}
	for i := 4; i < 64; i++ {
		b[i] = 0
	}
	sub := uint32(2)
	if d.Profile.Brand == "geforce_rtx" {
		sub = 0
	}
	for i, v := range []uint32{uint32(d.PCIDomain), uint32(d.PCIBus), uint32(d.PCIDev),
		uint32(d.Profile.PCIDeviceID)<<16 | 0x10de, uint32(d.Profile.PCISubsystemID)<<16 | 0x10de, 3, sub} {
		shim.Le.PutUint32(b[4+4*i:], v)
	}
	copy(b[32:63], d.NVMLBusID())
	return Success
}
