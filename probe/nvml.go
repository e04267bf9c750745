package probe

/*
#include <stdlib.h>
#include "calls.h"
*/
import "C"

import "unsafe"

// GPU is what NVML says about one device.
type GPU struct {
	Index                 int
	Name, UUID, BusID     string
	Serial, VBIOS         string
	MemTotal, MemUsed     uint64
	MemFree               uint64
	CCMajor, CCMinor      int
	PCIDeviceID           uint32
	TempC                 uint32
	PowerMW, PowerLimitMW uint32
	UtilGPU, UtilMem      uint32
	MaxSMClock, MaxMemClk uint32
	Processes             []Process
}

// Process is one process NVML lists on a device.
type Process struct {
	PID  uint32
	Used uint64
}

// System is what NVML reports for the machine.
type System struct {
	Driver      string
	CUDAVersion int
	GPUs        []GPU
}

// ReadNVML loads NVML by name (as nvidia-smi does) and reads every device.
func ReadNVML(name string) (*System, error) {
	l, err := Open(name)
	if err != nil {
		return nil, err
	}
	if err := check("nvmlInit_v2", C.call_v(l.sym("nvmlInit_v2"))); err != nil {
		return nil, err
	}
	defer C.call_v(l.sym("nvmlShutdown"))
	s := &System{}
	var buf [256]C.char
	if err := check("nvmlSystemGetDriverVersion", C.call_p_u(l.sym("nvmlSystemGetDriverVersion"), unsafe.Pointer(&buf[0]), 256)); err != nil {
		return nil, err
	}
	s.Driver = cstr(buf[:])
	var cv C.int
	C.call_p(l.sym("nvmlSystemGetCudaDriverVersion_v2"), unsafe.Pointer(&cv))
	s.CUDAVersion = int(cv)
	var n C.uint
	if err := check("nvmlDeviceGetCount_v2", C.call_p(l.sym("nvmlDeviceGetCount_v2"), unsafe.Pointer(&n))); err != nil {
		return nil, err
	}
	for i := 0; i < int(n); i++ {
		var h unsafe.Pointer
		if err := check("nvmlDeviceGetHandleByIndex_v2", C.call_ui_p(l.sym("nvmlDeviceGetHandleByIndex_v2"), C.uint(i), unsafe.Pointer(&h))); err != nil {
			return nil, err
		}
		g := GPU{Index: i}
		str := func(fn string) string {
			var b [256]C.char
			if C.call_h_pu(l.sym(fn), h, unsafe.Pointer(&b[0]), 256) != 0 {
				return "[N/A]"
			}
			return cstr(b[:])
		}
		g.Name, g.UUID, g.Serial, g.VBIOS = str("nvmlDeviceGetName"), str("nvmlDeviceGetUUID"), str("nvmlDeviceGetSerial"), str("nvmlDeviceGetVbiosVersion")
		var pci C.pci_t
		if C.call_pp(l.sym("nvmlDeviceGetPciInfo_v3"), h, unsafe.Pointer(&pci)) == 0 {
			g.BusID, g.PCIDeviceID = C.GoString(&pci.bus_id[0]), uint32(pci.pci_device_id)
		}
		// nvidia-smi reports v2's used (the driver's reserve excluded); v1 where v2 is absent.
		var m2 struct {
			version, _                  uint32
			total, reserved, free, used uint64
		}
		m2.version = 40 | 2<<24
		if C.call_pp(l.sym("nvmlDeviceGetMemoryInfo_v2"), h, unsafe.Pointer(&m2)) == 0 {
			g.MemTotal, g.MemFree, g.MemUsed = m2.total, m2.free, m2.used
		} else {
			var m C.mem_t
			if err := check("nvmlDeviceGetMemoryInfo", C.call_pp(l.sym("nvmlDeviceGetMemoryInfo"), h, unsafe.Pointer(&m))); err != nil {
				return nil, err
			}
			g.MemTotal, g.MemFree, g.MemUsed = uint64(m.total), uint64(m.free), uint64(m.used)
		}
		var ma, mi C.int
		C.call_ppp(l.sym("nvmlDeviceGetCudaComputeCapability"), h, unsafe.Pointer(&ma), unsafe.Pointer(&mi))
		g.CCMajor, g.CCMinor = int(ma), int(mi)
		u32 := func(fn string, arg int, withArg bool) uint32 {
			var v C.uint
			var r C.int
			if withArg {
				r = C.call_h_ip(l.sym(fn), h, C.int(arg), unsafe.Pointer(&v))
			} else {
				r = C.call_pp(l.sym(fn), h, unsafe.Pointer(&v))
			}
			if r != 0 {
				return 0
			}
			return uint32(v)
		}
		g.TempC = u32("nvmlDeviceGetTemperature", 0, true)
		g.PowerMW = u32("nvmlDeviceGetPowerUsage", 0, false)
		g.PowerLimitMW = u32("nvmlDeviceGetPowerManagementLimit", 0, false)
		g.MaxSMClock = u32("nvmlDeviceGetMaxClockInfo", 1, true)
		g.MaxMemClk = u32("nvmlDeviceGetMaxClockInfo", 2, true)
		var ut C.util_t
		if C.call_pp(l.sym("nvmlDeviceGetUtilizationRates"), h, unsafe.Pointer(&ut)) == 0 {
			g.UtilGPU, g.UtilMem = uint32(ut.gpu), uint32(ut.memory)
		}
		// nvmlProcessInfo_t: pid, (pad), usedGpuMemory, gpuInstanceId, computeInstanceId.
		var procs [64]struct {
			pid    uint32
			_      uint32
			used   uint64
			gi, ci uint32
		}
		cnt := C.uint(len(procs))
		if C.call_ppp(l.sym("nvmlDeviceGetComputeRunningProcesses_v3"), h, unsafe.Pointer(&cnt), unsafe.Pointer(&procs[0])) == 0 {
			for _, p := range procs[:min(int(cnt), len(procs))] {
				g.Processes = append(g.Processes, Process{PID: p.pid, Used: p.used})
			}
		}
		s.GPUs = append(s.GPUs, g)
	}
	return s, nil
}
