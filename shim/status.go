package shim

// Status is the model's own outcome. cuda, cudart, cublas and nvml each map it to their
// API's codes, so one rule ("a copy past the end of an allocation is invalid") answers the
// same way everywhere.
type Status uint8

const (
	OK                          Status = iota
	ErrInvalidValue                    // bad argument
	ErrOutOfMemory                     // device memory exhausted
	ErrNotInitialized                  // configuration rejected
	ErrNoDevice                        // no visible device
	ErrInvalidDevice                   // ordinal out of range
	ErrInvalidHandle                   // unknown or wrong-kind handle
	ErrInvalidContext                  // no or dead context
	ErrInvalidDevicePointer            // pointer is not device memory of the right extent
	ErrInvalidMemcpyDirection          // kind disagrees with the pointers
	ErrNotSupported                    // the sim backend does not do this
	ErrNotReady                        // async work or event not complete
	ErrInvalidConfiguration            // launch dimensions out of range
	ErrInvalidDeviceFunction           // unknown kernel
	ErrIllegalState                    // call out of order (capture not begun, ...)
	ErrCaptureUnsupported              // operation not allowed while capturing
	ErrCaptureInvalidated              // capture was broken by an illegal operation
	ErrCaptureUnmatched                // capture ended on another stream
	ErrPeerAccessUnsupported           // peer access between these devices
	ErrPeerAccessAlreadyEnabled        // enabling twice
	ErrPeerAccessNotEnabled            // disabling what was never enabled
	ErrHostMemoryAlreadyRegistered
	ErrHostMemoryNotRegistered
	ErrNotFound // named symbol not found
	ErrGraphUpdate
	ErrAlreadyMapped
	ErrNotMapped
	ErrNotPermitted
	ErrInvalidKernelImage   // the driver rejected a shipped image
	ErrLaunchOutOfResources // too many registers or too much shared memory for the block
	ErrLaunchFailure        // a kernel faulted
	ErrInvalidClusterSize   // a cluster shape the kernel or device cannot launch
	ErrCooperativeTooLarge  // a cooperative grid with more blocks than can be co-resident
	ErrCaptureUnjoined      // a capture ended with a forked stream never joined back

	// StatusLast is the last status, for tables that must cover them all.
	StatusLast = ErrCaptureUnjoined
)
