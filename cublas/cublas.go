// Package cublas is the semantics of cuBLAS (libcublas.so.12 and .13): handles, stream,
// math and pointer modes, workspace, and GEMMs. The sim backend computes GEMMs on the host
// over device memory (which it keeps host-addressable), so results are real; on a capturing
// stream the call is recorded and runs when the graph is launched.
package cublas

import (
	"strconv"
	"unsafe"

	"vgpu/shim"
)

// Status is cublasStatus_t.
type Status int32

// cuBLAS status codes.
const (
	Success        Status = 0
	NotInitialized Status = 1
	AllocFailed    Status = 3
	InvalidValue   Status = 7
	ArchMismatch   Status = 8
	ExecFailed     Status = 13
	InternalError  Status = 14
	NotSupported   Status = 15
)

func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return "cublasStatus(" + strconv.Itoa(int(s)) + ")"
}

var descriptions = map[Status]string{
	Success:        "the operation completed successfully",
	NotInitialized: "the library was not initialized",
	AllocFailed:    "the resource allocation failed",
	InvalidValue:   "an invalid numeric value was used as an argument",
	ArchMismatch:   "an absent device architectural feature is required",
	ExecFailed:     "the GPU program failed to execute",
	InternalError:  "an internal operation failed",
	NotSupported:   "the functionality requested is not supported",
}

// PointerModeDevice is CUBLAS_POINTER_MODE_DEVICE: alpha and beta are device addresses.
const PointerModeDevice = 1

// Version is what cublasGetVersion reports: 13.0.0 as 130000.
const Version = 130000

// Handle is one cuBLAS context.
type Handle struct {
	Dev         *shim.Device
	Stream      uintptr
	Math        int32
	PointerMode int32
	Workspace   uintptr
	WorkSize    uint64
}

func handle(h uintptr) (*Handle, Status) {
	v, ok := shim.Lookup[*Handle](shim.KindBlas, h)
	if !ok {
		return nil, NotInitialized
	}
	return v, Success
}

// Create is cublasCreate_v2: the handle belongs to the current device.
func Create(out unsafe.Pointer) Status {
	if out == nil {
		return InvalidValue
	}
	s := shim.S()
	if s.Err != nil || len(s.Devices()) == 0 {
		return NotInitialized
	}
	shim.MarkInitialized()
	d := s.Device(shim.Thread().Device)
	if c := shim.CurrentContext(); c != nil {
		d = c.Dev
	}
	if d == nil {
		return NotInitialized
	}
	h := &Handle{Dev: d}
	shim.PutPtr(out, shim.NewHandle(shim.KindBlas, h))
	return Success
}

// Destroy is cublasDestroy_v2.
func Destroy(h uintptr) Status {
	if !shim.Release(shim.KindBlas, h) {
		return NotInitialized
	}
	return Success
}

// SetStream is cublasSetStream_v2.
func SetStream(h, stream uintptr) Status {
	b, st := handle(h)
	if st != Success {
		return st
	}
	if _, s := shim.ResolveStream(stream, b.Dev); s != shim.OK {
		return InvalidValue
	}
	b.Stream = stream
	return Success
}

// GetStream is cublasGetStream_v2.
func GetStream(h uintptr, out unsafe.Pointer) Status {
	b, st := handle(h)
	if st != Success {
		return st
	}
	if !shim.PutPtr(out, b.Stream) {
		return InvalidValue
	}
	return Success
}

// SetMathMode is cublasSetMathMode.
func SetMathMode(h uintptr, mode int32) Status {
	b, st := handle(h)
	if st != Success {
		return st
	}
	if mode&^0x1f != 0 {
		return InvalidValue
	}
	b.Math = mode
	return Success
}

// GetMathMode is cublasGetMathMode.
func GetMathMode(h uintptr, out unsafe.Pointer) Status {
	b, st := handle(h)
	if st != Success {
		return st
	}
	if !shim.PutI32(out, b.Math) {
		return InvalidValue
	}
	return Success
}

// SetPointerMode is cublasSetPointerMode_v2: 0 host, 1 device.
func SetPointerMode(h uintptr, mode int32) Status {
	b, st := handle(h)
	if st != Success {
		return st
	}
	if mode != 0 && mode != 1 {
		return InvalidValue
	}
	b.PointerMode = mode
	return Success
}

// GetPointerMode is cublasGetPointerMode_v2.
func GetPointerMode(h uintptr, out unsafe.Pointer) Status {
	b, st := handle(h)
	if st != Success {
		return st
	}
	if !shim.PutI32(out, b.PointerMode) {
		return InvalidValue
	}
	return Success
}

// SetWorkspace is cublasSetWorkspace_v2: the buffer must be device memory of that size.
func SetWorkspace(h, ws uintptr, size uint64) Status {
	b, st := handle(h)
	if st != Success {
		return st
	}
	if size > 0 {
		if _, s := shim.DeviceRange(ws, size); s != shim.OK {
			return InvalidValue
		}
	}
	b.Workspace, b.WorkSize = ws, size
	return Success
}

// GetVersion is cublasGetVersion_v2.
func GetVersion(h uintptr, out unsafe.Pointer) Status {
	if _, st := handle(h); st != Success {
		return st
	}
	if !shim.PutI32(out, Version) {
		return InvalidValue
	}
	return Success
}

// GetStatusString is cublasGetStatusString.
func GetStatusString(s int32) unsafe.Pointer {
	d, ok := descriptions[Status(s)]
	if !ok {
		d = "unknown error"
	}
	return shim.CStr(d)
}

// GetStatusName is cublasGetStatusName.
func GetStatusName(s int32) unsafe.Pointer {
	n, ok := statusNames[Status(s)]
	if !ok {
		n = "CUBLAS_STATUS_UNKNOWN"
	}
	return shim.CStr(n)
}
