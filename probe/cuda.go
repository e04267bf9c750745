package probe

/*
#include <stdlib.h>
#include "calls.h"
*/
import "C"

import "unsafe"

// CUDADevice is one device as the driver and runtime APIs report it.
type CUDADevice struct {
	Name         string
	BusID        string // cuDeviceGetPCIBusId
	RuntimeBusID string // cudaDeviceGetPCIBusId
	CCMajor      int
	CCMinor      int
	Total        uint64 // cuDeviceTotalMem_v2
	Free         uint64 // cudaMemGetInfo
}

// CUDAView is the driver's and the runtime's view of the machine.
type CUDAView struct {
	DriverVersion int
	DriverCount   int
	RuntimeCount  int
	Devices       []CUDADevice
}

// ReadCUDA loads the driver and runtime by name, as a CUDA program would.
func ReadCUDA(driver, runtime string) (*CUDAView, error) {
	cu, err := Open(driver)
	if err != nil {
		return nil, err
	}
	rt, err := Open(runtime)
	if err != nil {
		return nil, err
	}
	v := &CUDAView{}
	var n, dv C.int
	C.call_p(cu.sym("cuDriverGetVersion"), unsafe.Pointer(&dv))
	v.DriverVersion = int(dv)
	if err := check("cuInit", C.call_u(cu.sym("cuInit"), 0)); err != nil {
		return v, err
	}
	if err := check("cuDeviceGetCount", C.call_p(cu.sym("cuDeviceGetCount"), unsafe.Pointer(&n))); err != nil {
		return v, err
	}
	v.DriverCount = int(n)
	var rn C.int
	C.call_p(rt.sym("cudaGetDeviceCount"), unsafe.Pointer(&rn))
	v.RuntimeCount = int(rn)
	for i := 0; i < int(n); i++ {
		var d CUDADevice
		var buf [256]C.char
		C.call_pii(cu.sym("cuDeviceGetName"), unsafe.Pointer(&buf[0]), 256, C.int(i))
		d.Name = cstr(buf[:])
		C.call_pii(cu.sym("cuDeviceGetPCIBusId"), unsafe.Pointer(&buf[0]), 256, C.int(i))
		d.BusID = cstr(buf[:])
		C.call_pii(rt.sym("cudaDeviceGetPCIBusId"), unsafe.Pointer(&buf[0]), 256, C.int(i))
		d.RuntimeBusID = cstr(buf[:])
		var ma, mi C.int
		C.call_pii(cu.sym("cuDeviceGetAttribute"), unsafe.Pointer(&ma), 75, C.int(i))
		C.call_pii(cu.sym("cuDeviceGetAttribute"), unsafe.Pointer(&mi), 76, C.int(i))
		d.CCMajor, d.CCMinor = int(ma), int(mi)
		var total, free, t2 C.size_t
		C.call_pi(cu.sym("cuDeviceTotalMem_v2"), unsafe.Pointer(&total), C.int(i))
		d.Total = uint64(total)
		if C.call_u(rt.sym("cudaSetDevice"), C.uint(i)) == 0 {
			C.call_pp(rt.sym("cudaMemGetInfo"), unsafe.Pointer(&free), unsafe.Pointer(&t2))
		}
		d.Free = uint64(free)
		v.Devices = append(v.Devices, d)
	}
	return v, nil
}
