package remote

import (
	"unsafe"

	"vgpu/cuda"
	"vgpu/shim"
)

// Driver-API modules over the connection: the image is recorded in the client, as the
// runtime's fat binaries are, and shipped to the server on the first launch of one of its
// kernels. The server checks the context then, so these need none here.

// ModuleLoadData is cuModuleLoadData.
func ModuleLoadData(out unsafe.Pointer, image uintptr) int32 {
	return int32(cuda.RecordImage(out, image))
}

// ModuleUnload is cuModuleUnload; the server's copy goes when the client does.
func ModuleUnload(h uintptr) int32 { return int32(cuda.UnloadModule(h)) }

// ModuleGetFunction is cuModuleGetFunction.
func ModuleGetFunction(out unsafe.Pointer, h uintptr, name unsafe.Pointer) int32 {
	m, n, r := cuda.FunctionName(out, h, name)
	if r != cuda.Success {
		return int32(r)
	}
	// The client reads the image's kernels (an image it cannot read is asked of the server:
	// shim.AskKernel). A name that is no kernel leaves none behind, so the module's count and
	// enumeration stay its kernels.
	k := m.FindKernel(n)
	if k == nil {
		return int32(cuda.ErrorNotFound)
	}
	var st shim.Status
	if _, known := m.DefinedKernels(); known {
		// The image names the kernel: the server resolves it at its first use (launch,
		// attribute, graph node; shipped). Only the image is shipped now, once, so that one
		// the server's driver refuses fails here as its load would. NVIDIA's runtime looks up
		// every kernel of cuBLAS this way at start-up: a round trip each was 25,000 of them.
		st = shipModule(m)
	} else {
		_, st = shipped(k) // the server's driver says whether the image defines it
	}
	if st != shim.OK {
		m.Forget(k)
		if st == shim.ErrInvalidDeviceFunction || st == shim.ErrNotFound {
			return int32(cuda.ErrorNotFound)
		}
		return int32(cuda.From(st))
	}
	shim.PutPtr(out, k.Handle)
	return int32(cuda.Success)
}

// LaunchFunction is cuLaunchKernel, with its parameters in slots (kernelParams) or in one
// buffer already laid out as the kernel's parameter block (extra).
func LaunchFunction(f uintptr, gx, gy, gz, bx, by, bz, shared uint32, stream uintptr, params, extra uintptr) int32 {
	k, ok := shim.Lookup[*shim.Kernel](shim.KindFunction, f)
	if !ok {
		return int32(cuda.ErrorInvalidHandle)
	}
	lc := shim.LaunchConfig{Grid: shim.Dim3{X: gx, Y: gy, Z: gz}, Block: shim.Dim3{X: bx, Y: by, Z: bz}, Shared: uint64(shared), Stream: stream}
	if extra == 0 {
		return int32(cuda.From(launch(k, lc, params)))
	}
	if params != 0 {
		return int32(cuda.ErrorInvalidValue) // one form or the other
	}
	packed, ok := extraBuffer(extra)
	if !ok {
		return int32(cuda.ErrorInvalidValue)
	}
	return int32(cuda.From(launchWith(k, lc, 0, packed)))
}

// The keys of cuLaunchKernel's extra array (CU_LAUNCH_PARAM_*).
const (
	launchParamEnd           = 0
	launchParamBufferPointer = 1
	launchParamBufferSize    = 2
)

// extraBuffer reads the (key, value) pairs of an extra array: the buffer and its size.
func extraBuffer(extra uintptr) ([]byte, bool) {
	var buf, size uintptr
	for i := 0; i < 64; i += 2 {
		kv := unsafe.Slice((*uintptr)(unsafe.Pointer(extra+uintptr(8*i))), 2)
		switch kv[0] {
		case launchParamEnd:
			if buf == 0 || size == 0 {
				return nil, false
			}
			n := *(*uint64)(unsafe.Pointer(size))
			if n > 1<<20 {
				return nil, false
			}
			return append([]byte(nil), shim.View(unsafe.Pointer(buf), int(n))...), true
		case launchParamBufferPointer:
			buf = kv[1]
		case launchParamBufferSize:
			size = kv[1]
		default:
			return nil, false
		}
	}
	return nil, false
}
