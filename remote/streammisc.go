package remote

import (
	"unsafe"

	"vgpu/cuda"
)

// RtLibraryGetManaged is cudaLibraryGetManaged over the connection: cuLibraryGetManaged's
// request; the driver's codes it can answer (invalid value 1, handle 400, not found 500)
// have the same numbers in the runtime.
func RtLibraryGetManaged(dptr, size unsafe.Pointer, h uintptr, name unsafe.Pointer) int32 {
	return LibraryGetManaged(dptr, size, h, name)
}

// RtLibraryGetGlobal is cudaLibraryGetGlobal over the connection: cuLibraryGetGlobal's
// request, whose codes are the runtime's too.
func RtLibraryGetGlobal(dptr, size unsafe.Pointer, h uintptr, name unsafe.Pointer) int32 {
	return LibraryGetGlobal(dptr, size, h, name)
}

// LaunchCooperativeKernelMultiDevice is cuLaunchCooperativeKernelMultiDevice over the
// connection: checked here, then one cooperative launch per entry, each as
// cuLaunchCooperativeKernel sends it.
func LaunchCooperativeKernelMultiDevice(list uintptr, n, flags uint32) int32 {
	return int32(cuda.LaunchMultiDevice(list, n, flags, func(f uintptr, gx, gy, gz, bx, by, bz, shared uint32, h, params uintptr) cuda.Result {
		return cuda.Result(LaunchCooperativeKernel(f, gx, gy, gz, bx, by, bz, shared, h, params))
	}))
}
