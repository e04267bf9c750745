package nvml

/*
const void *vgpu_nvml_export_table(void);
*/
import "C"

import (
	"fmt"
	"unsafe"

	"vgpu/shim"
)

// SystemGetDriverVersion is nvmlSystemGetDriverVersion, e.g. "580.95.05".
func SystemGetDriverVersion(buf unsafe.Pointer, n uint32) Return {
	if r := ready(); r != Success {
		return r
	}
	return putString(buf, n, shim.S().Config.DriverVersion)
}

// SystemGetNVMLVersion is nvmlSystemGetNVMLVersion: "<cuda major>.<driver>".
func SystemGetNVMLVersion(buf unsafe.Pointer, n uint32) Return {
	if r := ready(); r != Success {
		return r
	}
	c := shim.S().Config
	return putString(buf, n, fmt.Sprintf("%d.%s", c.CUDAVersion/1000, c.DriverVersion))
}

// SystemGetCudaDriverVersion is nvmlSystemGetCudaDriverVersion(_v2).
func SystemGetCudaDriverVersion(v unsafe.Pointer) Return {
	if r := ready(); r != Success {
		return r
	}
	if !shim.PutI32(v, int32(shim.S().Config.CUDAVersion)) {
		return InvalidArgument
	}
	return Success
}

// DeviceGetCount is nvmlDeviceGetCount(_v2).
func DeviceGetCount(count unsafe.Pointer) Return {
	if r := ready(); r != Success {
		return r
	}
	if !shim.PutU32(count, uint32(len(devices()))) {
		return InvalidArgument
	}
	return Success
}

// DeviceGetHandleByIndex is nvmlDeviceGetHandleByIndex(_v2).
func DeviceGetHandleByIndex(i uint32, out unsafe.Pointer) Return {
	if r := ready(); r != Success {
		return r
	}
	ds := devices()
	if out == nil || int(i) >= len(ds) {
		return InvalidArgument
	}
	shim.PutPtr(out, handleOf(int(i)))
	return Success
}

// DeviceGetHandleByUUID is nvmlDeviceGetHandleByUUID: the full GPU-… string.
func DeviceGetHandleByUUID(uuid unsafe.Pointer, out unsafe.Pointer) Return {
	if r := ready(); r != Success {
		return r
	}
	s, ok := shim.GoString(uuid, 96)
	if !ok || out == nil {
		return InvalidArgument
	}
	for i, d := range devices() {
		if d.UUIDString() == s {
			shim.PutPtr(out, handleOf(i))
			return Success
		}
	}
	return NotFound
}

// DeviceGetHandleByPciBusId is nvmlDeviceGetHandleByPciBusId(_v2).
func DeviceGetHandleByPciBusId(id unsafe.Pointer, out unsafe.Pointer) Return {
	if r := ready(); r != Success {
		return r
	}
	s, ok := shim.GoString(id, 96)
	if !ok || out == nil {
		return InvalidArgument
	}
	i, found := shim.S().OrdinalByBusID(s)
	if !found {
		return NotFound
	}
	shim.PutPtr(out, handleOf(i))
	return Success
}

// InternalGetExportTable is nvmlInternalGetExportTable. The tables are private; vgpu hands
// out one with no entries (nvml/exporttable.c), which is what nvidia-smi needs to start, and
// logs which table was asked for.
func InternalGetExportTable(table unsafe.Pointer, id unsafe.Pointer) Return {
	if table == nil || id == nil {
		return InvalidArgument
	}
	shim.PutPtr(table, uintptr(C.vgpu_nvml_export_table()))
	uuid := fmt.Sprintf("%x", shim.View(id, 16))
	shim.DebugOnce("nvml-export-table:"+uuid, "NVML private export table requested; vgpu's has no entries", "id", uuid)
	return Success
}
