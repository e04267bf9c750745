// Package nvml is the semantics of NVML (libnvidia-ml.so.1) over the same device model as
// CUDA, so memory, names, UUIDs and PCI ids agree across the three APIs.
package nvml

import (
	"strconv"
	"sync"
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

// Device handles are stable per device for the life of the process.
var (
	handlesMu sync.Mutex
	handles   = map[*shim.Device]uintptr{}
)

func handleOf(d *shim.Device) uintptr {
	handlesMu.Lock()
	defer handlesMu.Unlock()
	h, ok := handles[d]
	if !ok {
		h = shim.NewHandle(shim.KindNVMLDevice, d)
		handles[d] = h
	}
	return h
}

func device(h uintptr) (*shim.Device, Return) {
	if r := ready(); r != Success {
		return nil, r
	}
	d, ok := shim.Lookup[*shim.Device](shim.KindNVMLDevice, h)
	if !ok {
		return nil, InvalidArgument
	}
	return d, Success
}

// devices is what NVML enumerates. Real NVML ignores CUDA_VISIBLE_DEVICES; vgpu applies it
// so that all three APIs agree on one list (see README).
func devices() []*shim.Device { return shim.S().Visible }

func putString(p unsafe.Pointer, n uint32, s string) Return {
	if p == nil {
		return InvalidArgument
	}
	if !shim.PutString(p, int(n), s) {
		return InsufficientSize
	}
	return Success
}
