// Package cuda is the semantics of the CUDA driver API (libcuda.so.1): what each cu*
// function checks, returns and changes in the device model.
package cuda

import (
	"strconv"
	"strings"

	"vgpu/shim"
)

// Result is CUresult.
type Result int32

// The CUresult codes vgpu returns (values are the driver API's).
const (
	Success                  Result = 0
	ErrorInvalidValue        Result = 1
	ErrorOutOfMemory         Result = 2
	ErrorNotInitialized      Result = 3
	ErrorDeinitialized       Result = 4
	ErrorNoDevice            Result = 100
	ErrorInvalidDevice       Result = 101
	ErrorInvalidImage        Result = 200
	ErrorInvalidContext      Result = 201
	ErrorFileNotFound        Result = 301
	ErrorAlreadyMapped       Result = 208
	ErrorNotMapped           Result = 211
	ErrorPeerUnsupported     Result = 217
	ErrorInvalidHandle       Result = 400
	ErrorIllegalState        Result = 401
	ErrorNotFound            Result = 500
	ErrorNotReady            Result = 600
	ErrorPeerAlreadyEnabled  Result = 704
	ErrorPeerNotEnabled      Result = 705
	ErrorPrimaryCtxActive    Result = 708
	ErrorHostAlreadyReg      Result = 712
	ErrorHostNotReg          Result = 713
	ErrorNotPermitted        Result = 800
	ErrorNotSupported        Result = 801
	ErrorCaptureUnsupported  Result = 900
	ErrorCaptureInvalidated  Result = 901
	ErrorCaptureUnmatched    Result = 903
	ErrorCaptureUnjoined     Result = 904
	ErrorCooperativeTooLarge Result = 720
	ErrorGraphExecUpdate     Result = 910
	ErrorInvalidClusterSize  Result = 912
	ErrorLaunchOutOfRes      Result = 701
	ErrorLaunchFailed        Result = 719
	ErrorUnknown             Result = 999
)

var fromStatus = [...]Result{
	shim.OK:                             Success,
	shim.ErrInvalidValue:                ErrorInvalidValue,
	shim.ErrOutOfMemory:                 ErrorOutOfMemory,
	shim.ErrNotInitialized:              ErrorNotInitialized,
	shim.ErrNoDevice:                    ErrorNoDevice,
	shim.ErrInvalidDevice:               ErrorInvalidDevice,
	shim.ErrInvalidHandle:               ErrorInvalidHandle,
	shim.ErrInvalidContext:              ErrorInvalidContext,
	shim.ErrInvalidDevicePointer:        ErrorInvalidValue,
	shim.ErrInvalidMemcpyDirection:      ErrorInvalidValue,
	shim.ErrNotSupported:                ErrorNotSupported,
	shim.ErrNotReady:                    ErrorNotReady,
	shim.ErrInvalidConfiguration:        ErrorInvalidValue,
	shim.ErrInvalidDeviceFunction:       ErrorInvalidHandle,
	shim.ErrIllegalState:                ErrorIllegalState,
	shim.ErrCaptureUnsupported:          ErrorCaptureUnsupported,
	shim.ErrCaptureInvalidated:          ErrorCaptureInvalidated,
	shim.ErrCaptureUnmatched:            ErrorCaptureUnmatched,
	shim.ErrPeerAccessUnsupported:       ErrorPeerUnsupported,
	shim.ErrPeerAccessAlreadyEnabled:    ErrorPeerAlreadyEnabled,
	shim.ErrPeerAccessNotEnabled:        ErrorPeerNotEnabled,
	shim.ErrHostMemoryAlreadyRegistered: ErrorHostAlreadyReg,
	shim.ErrHostMemoryNotRegistered:     ErrorHostNotReg,
	shim.ErrNotFound:                    ErrorNotFound,
	shim.ErrGraphUpdate:                 ErrorInvalidValue,
	shim.ErrAlreadyMapped:               ErrorAlreadyMapped,
	shim.ErrNotMapped:                   ErrorNotMapped,
	shim.ErrNotPermitted:                ErrorNotPermitted,
	shim.ErrInvalidKernelImage:          ErrorInvalidImage,
	shim.ErrLaunchOutOfResources:        ErrorLaunchOutOfRes,
	shim.ErrLaunchFailure:               ErrorLaunchFailed,
	shim.ErrInvalidClusterSize:          ErrorInvalidClusterSize,
	shim.ErrCooperativeTooLarge:         ErrorCooperativeTooLarge,
	shim.ErrCaptureUnjoined:             ErrorCaptureUnjoined,
}

// From maps a model status to CUresult.
func From(s shim.Status) Result {
	if int(s) < len(fromStatus) {
		return fromStatus[s]
	}
	return ErrorUnknown
}

// Name is the C name of r, e.g. CUDA_ERROR_OUT_OF_MEMORY.
func (r Result) Name() (string, bool) {
	n, ok := resultNames[r]
	return n, ok
}

func (r Result) String() string {
	if n, ok := r.Name(); ok {
		return n
	}
	return "CUresult(" + strconv.Itoa(int(r)) + ")"
}

// descriptions are vgpu's own wording for the codes programs print most.
var descriptions = map[Result]string{
	Success:                 "no error",
	ErrorInvalidValue:       "invalid argument",
	ErrorOutOfMemory:        "out of memory",
	ErrorNotInitialized:     "initialization error: cuInit has not been called",
	ErrorNoDevice:           "no CUDA-capable device is detected",
	ErrorInvalidDevice:      "invalid device ordinal",
	ErrorInvalidContext:     "invalid device context",
	ErrorInvalidHandle:      "invalid resource handle",
	ErrorNotFound:           "named symbol not found",
	ErrorNotReady:           "device not ready",
	ErrorNotSupported:       "operation not supported",
	ErrorIllegalState:       "the operation is not allowed in the current state",
	ErrorCaptureUnsupported: "operation not permitted when stream is capturing",
	ErrorCaptureInvalidated: "operation failed due to a previous error during capture",
}

// Description is the cuGetErrorString text: vgpu's wording, derived from the code's name
// when it has none of its own.
func (r Result) Description() (string, bool) {
	if d, ok := descriptions[r]; ok {
		return d, true
	}
	n, ok := r.Name()
	if !ok {
		return "", false
	}
	n = strings.TrimPrefix(strings.TrimPrefix(n, "CUDA_ERROR_"), "CUDA_")
	return strings.ToLower(strings.ReplaceAll(n, "_", " ")), true
}
