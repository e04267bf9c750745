// Package nvml is the semantics of NVML (libnvidia-ml.so.1) over the same device model as
// CUDA, so memory, names, UUIDs and PCI ids agree across the three APIs.
package nvml

import (
	"strconv"
	"sync/atomic"
	"unsafe"

	"vgpu/shim"
)

// Return is nvmlReturn_t.
type Return int32

// NVML return codes.
const (
	Success          Return = 0
	Uninitialized    Return = 1
	InvalidArgument  Return = 2
	NotSupported     Return = 3
	NotFound         Return = 6
	InsufficientSize Return = 7
	DriverNotLoaded  Return = 9
	ArgumentVersion  Return = 25
	Unknown          Return = 999
)

func (r Return) String() string {
	if n, ok := returnNames[r]; ok {
		return n
	}
	return "nvmlReturn(" + strconv.Itoa(int(r)) + ")"
}

var descriptions = map[Return]string{
	Success:          "Success",
	Uninitialized:    "Uninitialized",
	InvalidArgument:  "Invalid Argument",
	NotSupported:     "Not Supported",
	NotFound:         "Not Found",
	InsufficientSize: "Insufficient Size",
	DriverNotLoaded:  "Driver Not Loaded",
	ArgumentVersion:  "Argument Version Mismatch",
	Unknown:          "Unknown Error",
}

// ErrorString is nvmlErrorString.
func ErrorString(r int32) unsafe.Pointer {
	d, ok := descriptions[Return(r)]
	if !ok {
		if n, known := returnNames[Return(r)]; known {
			d = n
		} else {
			d = "Unknown Error"
		}
	}
	return shim.CStr(d)
}

var refs atomic.Int64

// Init is nvmlInit_v2 (and nvmlInit): reference-counted, as NVML is.
func Init() Return { return InitWithFlags(0) }

// InitWithFlags is nvmlInitWithFlags.
func InitWithFlags(flags uint32) Return {
	s := shim.S()
	if s.Err != nil {
		shim.WarnOnce("nvml-config", "NVML: configuration rejected", "err", s.Err)
		return DriverNotLoaded
	}
	refs.Add(1)
	return Success
}

// Shutdown is nvmlShutdown.
func Shutdown() Return {
	for {
		n := refs.Load()
		if n == 0 {
			return Uninitialized
		}
		if refs.CompareAndSwap(n, n-1) {
			return Success
		}
	}
}

func ready() Return {
	if refs.Load() == 0 {
		return Uninitialized
	}
	return Success
}

// Device handles encode the device's index, so resolving one costs an array access: NVML
// is polled in loops (nvidia-smi dmon, schedulers). They sit in the range vgpu's other
// handles use, so a stray value is still rejected.
const handleBase = uintptr(0x7e5a) << 40 // see shim/handles.go

func handleOf(i int) uintptr { return handleBase | uintptr(shim.KindNVMLDevice)<<32 | uintptr(i+1)<<4 }

func device(h uintptr) (*shim.Device, Return) {
	if r := ready(); r != Success {
		return nil, r
	}
	return lookup(h)
}

// lookup resolves a device handle without asking whether NVML was initialised.
func lookup(h uintptr) (*shim.Device, Return) {
	i := int(h&0xffffffff)>>4 - 1
	ds := devices()
	if h&^0xffffffff != handleBase|uintptr(shim.KindNVMLDevice)<<32 || h&0xf != 0 || i < 0 || i >= len(ds) {
		return nil, InvalidArgument
	}
	return ds[i], Success
}

// devices is what NVML enumerates. Real NVML ignores CUDA_VISIBLE_DEVICES; vgpu applies it
// so that all three APIs agree on one list (see README).
func devices() []*shim.Device { return shim.S().Devices() }

func putString(p unsafe.Pointer, n uint32, s string) Return {
	if p == nil {
		return InvalidArgument
	}
	if !shim.PutString(p, int(n), s) {
		return InsufficientSize
	}
	return Success
}
