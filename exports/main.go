// Package main is the C ABI of vgpu: the //export functions generated from
// shim/api/functions.txt, and nothing else. Built with -buildmode=c-shared into one file
// that answers to every NVIDIA library name.
package main

/*
#include <stdlib.h>
void *vgpu_proc_lookup(const char *name);
*/
import "C"

import (
	"unsafe"

	"vgpu/cuda"
)

func init() {
	cuda.ProcLookup = func(name string) uintptr {
		cs := C.CString(name)
		defer C.free(unsafe.Pointer(cs))
		return uintptr(C.vgpu_proc_lookup(cs))
	}
}

func main() {}
