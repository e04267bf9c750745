package remote

import "unsafe"

// RtLibraryGetManaged is cudaLibraryGetManaged over the connection: cuLibraryGetManaged's
// request; the driver's codes it can answer (invalid value 1, handle 400, not found 500)
// have the same numbers in the runtime.
func RtLibraryGetManaged(dptr, size unsafe.Pointer, h uintptr, name unsafe.Pointer) int32 {
	return LibraryGetManaged(dptr, size, h, name)
}
