package shim

import "math"

// Stream attributes (cudaStreamGetAttribute / cuStreamGetAttribute and their Set and Copy
// forms), shared by the runtime and the driver: the 64-byte launch attribute union, keyed by
// the launch attribute ids that apply to streams.

// StreamAttrKnown says whether attr is one a stream carries.
func StreamAttrKnown(attr int32) bool {
	switch attr {
	case LaunchAttrAccessPolicyWindow, LaunchAttrSynchronizationPolicy, LaunchAttrPriority, LaunchAttrMemSyncDomainMap, LaunchAttrMemSyncDomain:
		return true
	}
	return false
}

// StreamAttribute is what was set, else the defaults: no access policy window, automatic
// synchronisation, the stream's priority, the default memory synchronisation domain.
func StreamAttribute(s *Stream, attr int32) ([LaunchAttrValueSize]byte, Status) {
	if !StreamAttrKnown(attr) {
		return [LaunchAttrValueSize]byte{}, ErrInvalidValue
	}
	v, ok := s.Attr(uint32(attr))
	if !ok {
		switch attr {
		case LaunchAttrSynchronizationPolicy:
			Le.PutUint32(v[:], 1) // automatic
		case LaunchAttrPriority:
			Le.PutUint32(v[:], uint32(s.Priority))
		}
	}
	return v, OK
}

// SetStreamAttribute checks a value as NVIDIA documents it (a window no larger than the
// device allows with a hit ratio in [0, 1], a synchronisation policy of 1-4, a domain of 0
// or 1; a priority is clamped to the range) and sets it. The legacy stream is every
// program's (every client's, on a server): its attributes are not one caller's to change,
// and setting them is an invalid handle.
func SetStreamAttribute(s *Stream, d *Device, attr int32, v [LaunchAttrValueSize]byte) Status {
	if !StreamAttrKnown(attr) {
		return ErrInvalidValue
	}
	if s.Default {
		return ErrInvalidHandle
	}
	switch attr {
	case LaunchAttrAccessPolicyWindow:
		n := Le.Uint64(v[8:])
		ratio := math.Float32frombits(Le.Uint32(v[16:]))
		if d == nil || n > uint64(d.Attrs[AttrMaxAccessPolicyWindow]) || !(ratio >= 0 && ratio <= 1) {
			return ErrInvalidValue
		}
	case LaunchAttrSynchronizationPolicy:
		if p := Le.Uint32(v[:]); p < 1 || p > 4 {
			return ErrInvalidValue
		}
	case LaunchAttrMemSyncDomain:
		if Le.Uint32(v[:]) > 1 {
			return ErrInvalidValue
		}
	case LaunchAttrPriority:
		p := min(max(int32(Le.Uint32(v[:])), -5), 0)
		s.Priority = p
		Le.PutUint32(v[:], uint32(p))
	}
	s.SetAttr(uint32(attr), v)
	return OK
}

// CopyStreamAttributes gives dst every attribute of src (cuStreamCopyAttributes): what src
// had set, and its defaults where it had set nothing.
func CopyStreamAttributes(dst, src *Stream, d *Device) Status {
	if dst.Default {
		return ErrInvalidHandle
	}
	for _, attr := range []int32{LaunchAttrAccessPolicyWindow, LaunchAttrSynchronizationPolicy, LaunchAttrPriority, LaunchAttrMemSyncDomainMap, LaunchAttrMemSyncDomain} {
		v, _ := StreamAttribute(src, attr)
		if st := SetStreamAttribute(dst, d, attr, v); st != OK {
			return st
		}
	}
	return OK
}
