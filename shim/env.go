package shim

/*
#include <stdlib.h>
*/
import "C"

import "unsafe"

// lookupCEnv reads the C environment. Go's copy of it is taken when the library loads, but a
// program may setenv() CUDA_VISIBLE_DEVICES or VGPU_* later, before its first CUDA call, as
// CUDA allows (cuInit reads them).
func lookupCEnv(key string) (string, bool) {
	k := C.CString(key)
	defer C.free(unsafe.Pointer(k))
	v := C.getenv(k)
	if v == nil {
		return "", false
	}
	return C.GoString(v), true
}

func getCEnv(key string) string {
	v, _ := lookupCEnv(key)
	return v
}
