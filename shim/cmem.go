package shim

/*
#include <stdlib.h>
*/
import "C"

import (
	"encoding/binary"
	"sync"
	"unsafe"
)

// Helpers for reading arguments and writing results through C pointers. The exports layer
// has already rejected nothing: callers check for NULL with these before writing.

// PutI32 stores v at p; false when p is NULL.
func PutI32(p unsafe.Pointer, v int32) bool {
	if p == nil {
		return false
	}
	*(*int32)(p) = v
	return true
}

// PutU32 stores v at p; false when p is NULL.
func PutU32(p unsafe.Pointer, v uint32) bool {
	if p == nil {
		return false
	}
	*(*uint32)(p) = v
	return true
}

// PutU64 stores v at p; false when p is NULL.
func PutU64(p unsafe.Pointer, v uint64) bool {
	if p == nil {
		return false
	}
	*(*uint64)(p) = v
	return true
}

// PutPtr stores the address v at p; false when p is NULL.
func PutPtr(p unsafe.Pointer, v uintptr) bool {
	if p == nil {
		return false
	}
	*(*uintptr)(p) = v
	return true
}

// PutString copies s and a NUL into the n-byte buffer at p. It reports false when p is
// NULL or the buffer is too small; then nothing is written.
func PutString(p unsafe.Pointer, n int, s string) bool {
	if p == nil || n <= len(s) {
		return false
	}
	buf := unsafe.Slice((*byte)(p), len(s)+1)
	copy(buf, s)
	buf[len(s)] = 0
	return true
}

// PutStringTrunc copies as much of s as fits, NUL-terminated (as cuDeviceGetName does).
func PutStringTrunc(p unsafe.Pointer, n int, s string) bool {
	if p == nil || n <= 0 {
		return false
	}
	if len(s) >= n {
		s = s[:n-1]
	}
	return PutString(p, n, s)
}

// GoString reads a NUL-terminated C string of at most max bytes; ok is false for NULL.
func GoString(p unsafe.Pointer, max int) (string, bool) {
	if p == nil {
		return "", false
	}
	var n int
	for n < max && *(*byte)(unsafe.Add(p, n)) != 0 {
		n++
	}
	return string(unsafe.Slice((*byte)(p), n)), true
}

var cstrings sync.Map // string -> *C.char, never freed: callers keep the pointers forever

// CStr returns a C copy of s that lives as long as the process, for APIs that hand out
// const char* (error strings).
func CStr(s string) unsafe.Pointer {
	if v, ok := cstrings.Load(s); ok {
		return v.(unsafe.Pointer)
	}
	p := unsafe.Pointer(C.CString(s))
	v, loaded := cstrings.LoadOrStore(s, p)
	if loaded {
		C.free(p)
	}
	return v.(unsafe.Pointer)
}

// View returns n bytes at p as a slice, or nil when p is NULL.
func View(p unsafe.Pointer, n int) []byte {
	if p == nil {
		return nil
	}
	return unsafe.Slice((*byte)(p), n)
}

// Le is the byte order of every struct vgpu reads or fills.
var Le = binary.LittleEndian
