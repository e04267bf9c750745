// Package probe talks to whatever CUDA and NVML libraries the loader finds, through their C
// APIs, the way programs do: vgpu smi and vgpu doctor read devices through it. It declares
// the few functions it needs itself and loads everything with dlopen.
package probe

/*
#cgo LDFLAGS: -ldl
#include <stdlib.h>
#include "calls.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Lib is one dlopen'ed library.
type Lib struct {
	h    unsafe.Pointer
	Name string
}

// Open dlopens name with RTLD_NOW, returning dlerror's own text on failure.
func Open(name string) (*Lib, error) {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	var buf [1024]C.char
	h := C.open_lib(cs, &buf[0], 1024)
	if h == nil {
		return nil, fmt.Errorf("%s", C.GoString(&buf[0]))
	}
	return &Lib{h: h, Name: name}, nil
}

func (l *Lib) sym(name string) unsafe.Pointer {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return C.sym(l.h, cs)
}

// Has reports whether the library exports name.
func (l *Lib) Has(name string) bool { return l.sym(name) != nil }

func cstr(b []C.char) string { return C.GoString(&b[0]) }

// errMissing is what a call returns when the symbol is absent.
const errMissing = -1000

// Call errors carry the API's status code.
type CallError struct {
	Fn   string
	Code int
}

func (e *CallError) Error() string {
	if e.Code == errMissing {
		return e.Fn + ": symbol not exported"
	}
	return fmt.Sprintf("%s returned %d", e.Fn, e.Code)
}

func check(fn string, r C.int) error {
	if r != 0 {
		return &CallError{fn, int(r)}
	}
	return nil
}
