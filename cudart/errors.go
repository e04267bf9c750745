// Package cudart is the semantics of the CUDA runtime API (libcudart.so.12 and .13): what
// each cuda* function checks, returns and changes, per CUDA major where the ABIs differ.
package cudart

import (
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"vgpu/shim"
)

// Error is cudaError_t.
type Error int32

// The codes vgpu returns (values are the runtime API's).
const (
	Success                     Error = 0
	ErrorInvalidValue           Error = 1
	ErrorMemoryAllocation       Error = 2
	ErrorInitializationError    Error = 3
	ErrorInvalidConfiguration   Error = 9
	ErrorInvalidPitchValue      Error = 12
	ErrorInvalidSymbol          Error = 13
	ErrorInvalidDevicePointer   Error = 17
	ErrorInvalidMemcpyDirection Error = 21
	ErrorInvalidDeviceFunction  Error = 98
	ErrorNoDevice               Error = 100
	ErrorInvalidDevice          Error = 101
	ErrorInvalidKernelImage     Error = 200
	ErrorPeerAccessUnsupported  Error = 217
	ErrorInvalidResourceHandle  Error = 400
	ErrorIllegalState           Error = 401
	ErrorSymbolNotFound         Error = 500
	ErrorNotReady               Error = 600
	ErrorIllegalAddress         Error = 700
	ErrorLaunchOutOfResources   Error = 701
	ErrorPeerAlreadyEnabled     Error = 704
	ErrorPeerNotEnabled         Error = 705
	ErrorSetOnActiveProcess     Error = 708
	ErrorHostAlreadyRegistered  Error = 712
	ErrorHostNotRegistered      Error = 713
	ErrorLaunchFailure          Error = 719
	ErrorNotPermitted           Error = 800
	ErrorNotSupported           Error = 801
	ErrorCaptureUnsupported     Error = 900
	ErrorCaptureInvalidated     Error = 901
	ErrorCaptureUnmatched       Error = 903
	ErrorCaptureUnjoined        Error = 904
	ErrorCooperativeTooLarge    Error = 720
	ErrorGraphExecUpdateFailure Error = 910
	ErrorUnknown                Error = 999
)

var fromStatus = [...]Error{
	shim.OK:                             Success,
	shim.ErrInvalidValue:                ErrorInvalidValue,
	shim.ErrOutOfMemory:                 ErrorMemoryAllocation,
	shim.ErrNotInitialized:              ErrorInitializationError,
	shim.ErrNoDevice:                    ErrorNoDevice,
	shim.ErrInvalidDevice:               ErrorInvalidDevice,
	shim.ErrInvalidHandle:               ErrorInvalidResourceHandle,
	shim.ErrInvalidContext:              ErrorInvalidDevice,
	shim.ErrInvalidDevicePointer:        ErrorInvalidValue,
	shim.ErrInvalidMemcpyDirection:      ErrorInvalidMemcpyDirection,
	shim.ErrNotSupported:                ErrorNotSupported,
	shim.ErrNotReady:                    ErrorNotReady,
	shim.ErrInvalidConfiguration:        ErrorInvalidConfiguration,
	shim.ErrInvalidDeviceFunction:       ErrorInvalidDeviceFunction,
	shim.ErrIllegalState:                ErrorIllegalState,
	shim.ErrCaptureUnsupported:          ErrorCaptureUnsupported,
	shim.ErrCaptureInvalidated:          ErrorCaptureInvalidated,
	shim.ErrCaptureUnmatched:            ErrorCaptureUnmatched,
	shim.ErrPeerAccessUnsupported:       ErrorPeerAccessUnsupported,
	shim.ErrPeerAccessAlreadyEnabled:    ErrorPeerAlreadyEnabled,
	shim.ErrPeerAccessNotEnabled:        ErrorPeerNotEnabled,
	shim.ErrHostMemoryAlreadyRegistered: ErrorHostAlreadyRegistered,
	shim.ErrHostMemoryNotRegistered:     ErrorHostNotRegistered,
	shim.ErrNotFound:                    ErrorSymbolNotFound,
	shim.ErrGraphUpdate:                 ErrorGraphExecUpdateFailure,
	shim.ErrAlreadyMapped:               ErrorInvalidValue,
	shim.ErrNotMapped:                   ErrorInvalidValue,
	shim.ErrNotPermitted:                ErrorNotPermitted,
	shim.ErrInvalidKernelImage:          ErrorInvalidKernelImage,
	shim.ErrLaunchOutOfResources:        ErrorLaunchOutOfResources,
	shim.ErrLaunchFailure:               ErrorLaunchFailure,
	shim.ErrInvalidClusterSize:          ErrorInvalidClusterSize,
	shim.ErrCooperativeTooLarge:         ErrorCooperativeTooLarge,
	shim.ErrCaptureUnjoined:             ErrorCaptureUnjoined,
}

// From maps a model status to cudaError_t.
func From(s shim.Status) Error {
	if int(s) < len(fromStatus) {
		return fromStatus[s]
	}
	return ErrorUnknown
}

// Name is the C name of e, e.g. cudaErrorMemoryAllocation.
func (e Error) Name() (string, bool) {
	n, ok := errorNames[e]
	return n, ok
}

func (e Error) String() string {
	if n, ok := e.Name(); ok {
		return n
	}
	return "cudaError(" + strconv.Itoa(int(e)) + ")"
}

var descriptions = map[Error]string{
	Success:                    "no error",
	ErrorInvalidValue:          "invalid argument",
	ErrorMemoryAllocation:      "out of memory",
	ErrorInitializationError:   "initialization error",
	ErrorInvalidConfiguration:  "invalid configuration argument",
	ErrorInvalidDeviceFunction: "invalid device function",
	ErrorNoDevice:              "no CUDA-capable device is detected",
	ErrorInvalidDevice:         "invalid device ordinal",
	ErrorInvalidResourceHandle: "invalid resource handle",
	ErrorNotReady:              "device not ready",
	ErrorNotSupported:          "operation not supported",
	ErrorCaptureUnsupported:    "operation not permitted when stream is capturing",
	ErrorCaptureInvalidated:    "operation failed due to a previous error during capture",
}

// unknownText is what cudaGetErrorString and cudaGetErrorName say for codes that do not exist.
const unknownText = "unrecognized error code"

// Description is the cudaGetErrorString text: vgpu's wording, derived from the name when
// it has none of its own.
func (e Error) Description() string {
	if d, ok := descriptions[e]; ok {
		return d
	}
	n, ok := e.Name()
	if !ok {
		return unknownText
	}
	n = strings.TrimPrefix(n, "cudaError")
	var b strings.Builder
	for i, r := range n {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return strings.ToLower(b.String())
}

// Errors that corrupt the context: once one happens every later call returns it, and
// cudaGetLastError does not clear it (CUDA's "sticky" errors).
var stickyCodes = map[Error]bool{
	ErrorIllegalAddress: true, ErrorLaunchFailure: true, 214: true, 714: true, 715: true,
	716: true, 717: true, 718: true, 710: true,
}

var sticky atomic.Int32

// RecordError notes a failed call: it becomes the calling thread's last error, and a
// sticky one poisons the process.
func RecordError(code int32) {
	e := Error(code)
	if e == ErrorNotReady {
		return // a query's "not ready" is no error: NVIDIA's runtime leaves the last error alone
	}
	if stickyCodes[e] && sticky.CompareAndSwap(0, code) {
		shim.DisableFast()
	}
	shim.SetLastError(code)
}

// Sticky returns the sticky error, if any.
func Sticky() Error { return Error(sticky.Load()) }

// GetLastError is cudaGetLastError: returns and clears the thread's last error, except that
// a sticky error is returned and stays.
func GetLastError() Error {
	if s := Sticky(); s != Success {
		return s
	}
	e := Error(shim.LastError())
	shim.SetLastError(0)
	return e
}

// PeekAtLastError is cudaPeekAtLastError: the same, without clearing.
func PeekAtLastError() Error {
	if s := Sticky(); s != Success {
		return s
	}
	return Error(shim.LastError())
}

// GetErrorString is cudaGetErrorString.
func GetErrorString(code int32) unsafe.Pointer { return shim.CStr(Error(code).Description()) }

// GetErrorName is cudaGetErrorName.
func GetErrorName(code int32) unsafe.Pointer {
	n, ok := Error(code).Name()
	if !ok {
		n = unknownText
	}
	return shim.CStr(n)
}
