package shim

import (
	"encoding/binary"
	"sync/atomic"
)

// LaunchAttr is one launch attribute of cudaLaunchKernelExC / cuLaunchKernelEx: its id and
// the 64 bytes of its value union, as the program wrote them. The runtime's and the
// driver's attribute structs are laid out alike: a 32-bit id, 4 bytes of padding, the value.
type LaunchAttr struct {
	ID    uint32
	Value [LaunchAttrValueSize]byte
}

const (
	// LaunchAttrSize is one attribute struct in the program's array.
	LaunchAttrSize = 8 + LaunchAttrValueSize
	// LaunchAttrValueSize is the value union (NVIDIA pads it to 64 bytes).
	LaunchAttrValueSize = 64
	// MaxLaunchAttrs bounds one launch's attributes: each id means something once, and
	// CUDA 12 knows 15 of them.
	MaxLaunchAttrs = 16
)

// Launch attribute ids (the same numbers in the runtime and the driver API).
const (
	LaunchAttrIgnore                  = 0
	LaunchAttrAccessPolicyWindow      = 1
	LaunchAttrCooperative             = 2
	LaunchAttrSynchronizationPolicy   = 3
	LaunchAttrClusterDimension        = 4
	LaunchAttrClusterSchedulingPolicy = 5
	LaunchAttrProgrammaticStreamSer   = 6 // programmatic dependent launch, as newer ggml uses it
	LaunchAttrProgrammaticEvent       = 7
	LaunchAttrPriority                = 8
	LaunchAttrMemSyncDomainMap        = 9
	LaunchAttrMemSyncDomain           = 10
	LaunchAttrPreferredClusterDim     = 11
	LaunchAttrLaunchCompletionEvent   = 12
	LaunchAttrDeviceUpdatableNode     = 13
	LaunchAttrPreferredSharedCarveout = 14
)

// CooperativeAttr is the attribute that makes a launch cooperative: what
// cudaLaunchCooperativeKernel and cuLaunchCooperativeKernel mean, carried to the backend as
// cuLaunchKernelEx's CU_LAUNCH_ATTRIBUTE_COOPERATIVE (an int 1 at the start of the value).
func CooperativeAttr() LaunchAttr {
	a := LaunchAttr{ID: LaunchAttrCooperative}
	a.Value[0] = 1
	return a
}

// Cooperative reports whether lc carries a cooperative attribute with a non-zero value.
func (lc LaunchConfig) Cooperative() bool {
	for _, a := range lc.Attrs {
		if a.ID == LaunchAttrCooperative && binary.LittleEndian.Uint32(a.Value[:]) != 0 {
			return true
		}
	}
	return false
}

// WithCooperative is lc with the cooperative attribute added.
func (lc LaunchConfig) WithCooperative() LaunchConfig {
	lc.Attrs = append(append([]LaunchAttr(nil), lc.Attrs...), CooperativeAttr())
	return lc
}

// ParseLaunchAttrs reads n attribute structs from b, which must hold exactly them.
func ParseLaunchAttrs(b []byte, n int) ([]LaunchAttr, Status) {
	if n < 0 || n > MaxLaunchAttrs || len(b) != n*LaunchAttrSize {
		return nil, ErrInvalidValue
	}
	if n == 0 {
		return nil, OK
	}
	out := make([]LaunchAttr, n)
	for i := range out {
		r := b[i*LaunchAttrSize:]
		out[i].ID = binary.LittleEndian.Uint32(r)
		copy(out[i].Value[:], r[8:LaunchAttrSize])
	}
	return out, OK
}

// AppendLaunchAttrs appends attrs in the program's layout (padding zero).
func AppendLaunchAttrs(b []byte, attrs []LaunchAttr) []byte {
	for _, a := range attrs {
		b = binary.LittleEndian.AppendUint32(b, a.ID)
		b = append(b, 0, 0, 0, 0)
		b = append(b, a.Value[:]...)
	}
	return b
}

// SplitLaunchAttrs validates a launch's attributes and separates the two that name an
// event (programmatic event, launch completion event) from those a backend applies as they
// are. An event is a handle of this process's model, meaningless to the driver: it is
// resolved here (the caller's own only) and recorded on the stream after the launch, which
// is when both attributes let it fire at the latest. Unknown ids are invalid values, as
// NVIDIA's runtime answers; a device-updatable node exists only for graphs built node by
// node, which vgpu does not model, and is refused as not supported.
func SplitLaunchAttrs(attrs []LaunchAttr) (device []LaunchAttr, events []*Event, st Status) {
	if st := CheckLaunchAttrIDs(attrs); st != OK {
		return nil, nil, st
	}
	for _, a := range attrs {
		switch a.ID {
		case LaunchAttrProgrammaticEvent, LaunchAttrLaunchCompletionEvent:
			e, ok := Lookup[*Event](KindEvent, uintptr(binary.LittleEndian.Uint64(a.Value[:])))
			if !ok {
				return nil, nil, ErrInvalidHandle
			}
			events = append(events, e)
		case LaunchAttrIgnore:
		default:
			device = append(device, a)
		}
	}
	return device, events, OK
}

// CheckLaunchAttrIDs is the part of SplitLaunchAttrs that needs no handle: the count and
// the ids (what a remote client can check before it posts the launch).
func CheckLaunchAttrIDs(attrs []LaunchAttr) Status {
	if len(attrs) > MaxLaunchAttrs {
		return ErrInvalidValue
	}
	for _, a := range attrs {
		switch {
		case a.ID == LaunchAttrDeviceUpdatableNode:
			return ErrNotSupported
		case a.ID > LaunchAttrPreferredSharedCarveout:
			return ErrInvalidValue
		}
	}
	return OK
}

// EnqueueKernel enqueues a kernel node on s, then records the events its launch attributes
// named (SplitLaunchAttrs). n.Launch.Attrs must hold only the attributes a backend applies.
func (s *Stream) EnqueueKernel(n Node, events []*Event) Status {
	return s.EnqueueKernelAs(nil, n, events)
}

// EnqueueKernelAs is EnqueueKernel for a caller holding its thread's state (ts; nil: look it
// up), as a server session does once for all its launches.
func (s *Stream) EnqueueKernelAs(ts *ThreadState, n Node, events []*Event) Status {
	if st := s.enqueueAs(ts, n); st != OK {
		return st
	}
	for _, e := range events {
		if st := e.Record(s); st != OK {
			return st
		}
	}
	return OK
}

// simLaunchHook sees each launch the sim backend is given, attributes included (tests).
var simLaunchHook atomic.Pointer[func(LaunchConfig)]

// SetSimLaunchHook lets a test watch the sim backend's launches; nil stops it.
func SetSimLaunchHook(f func(LaunchConfig)) {
	if f == nil {
		simLaunchHook.Store(nil)
		return
	}
	simLaunchHook.Store(&f)
}
