package cuda

import (
	"unsafe"

	"vgpu/shim"
)

// PointerAttrSize is the size of the value cuPointerGetAttribute writes for attr (0: an
// attribute the model does not answer). A remote client receives the value into a buffer of
// the largest size and copies only these bytes back: the caller's variable may be smaller.
func PointerAttrSize(attr int32) int {
	switch attr {
	case ptrAttrContext, ptrAttrDevicePtr, ptrAttrHostPtr, ptrAttrRangeStart, ptrAttrRangeSize:
		return 8
	case ptrAttrMemoryType, ptrAttrSyncMemops, ptrAttrIsManaged, ptrAttrOrdinal, ptrAttrMapped:
		return 4
	}
	return 0
}

// PointerSetAttribute is cuPointerSetAttribute. Only CU_POINTER_ATTRIBUTE_SYNC_MEMOPS may be
// set (an unsigned int, 0 or 1), on memory the caller allocated or registered; the model's
// synchronous copies already complete before they return, so the flag is recorded for
// cuPointerGetAttribute to report.
func PointerSetAttribute(value unsafe.Pointer, attr int32, p uint64) Result {
	if r := hostReady(); r != Success {
		return r
	}
	if value == nil || attr != ptrAttrSyncMemops {
		return ErrorInvalidValue
	}
	v := *(*uint32)(value)
	a := shim.S().Mem.Find(uintptr(p))
	if a == nil || a.Kind == shim.MemReserved || v > 1 {
		return ErrorInvalidValue
	}
	a.SyncMemops = v == 1
	return Success
}

// hostContext is the gate of a host-memory call that needs a current context (HostGate:
// the server's state under remote).
func hostContext() Result { return HostGate(true) }

// hostReady is the gate of a host-memory call that needs only cuInit.
func hostReady() Result { return HostGate(false) }
