package cuda

import (
	"unsafe"

	"vgpu/shim"
)

// ModuleLoadData is cuModuleLoadData: the image is recorded for an execution backend.
func ModuleLoadData(out unsafe.Pointer, image uintptr) Result {
	if _, r := ctxDevice(); r != Success {
		return r
	}
	return RecordImage(out, image)
}

// RecordImage registers a module image and returns its handle in out.
func RecordImage(out unsafe.Pointer, image uintptr) Result {
	if out == nil || image == 0 {
		return ErrorInvalidValue
	}
	shim.PutPtr(out, shim.LoadImage(image).Handle)
	return Success
}

// ModuleUnload is cuModuleUnload.
func ModuleUnload(h uintptr) Result {
	if _, r := ready(); r != Success {
		return r
	}
	return UnloadModule(h)
}

// UnloadModule forgets module h and its kernels.
func UnloadModule(h uintptr) Result {
	m, ok := shim.Lookup[*shim.Module](shim.KindModule, h)
	if !ok {
		return ErrorInvalidHandle
	}
	m.Unregister(shim.KindModule)
	fileImagesMu.Lock()
	delete(fileImages, m)
	fileImagesMu.Unlock()
	return Success
}

// ModuleGetFunction is cuModuleGetFunction.
func ModuleGetFunction(out unsafe.Pointer, h uintptr, name unsafe.Pointer) Result {
	if _, r := ready(); r != Success {
		return r
	}
	m, n, r := FunctionName(out, h, name)
	if r != Success {
		return r
	}
	k := m.FindKernel(n)
	if k == nil {
		return ErrorNotFound
	}
	shim.PutPtr(out, k.Handle)
	return Success
}

// FunctionName validates cuModuleGetFunction's arguments: the module behind h and the name.
func FunctionName(out unsafe.Pointer, h uintptr, name unsafe.Pointer) (*shim.Module, string, Result) {
	m, ok := shim.Lookup[*shim.Module](shim.KindModule, h)
	if !ok {
		return nil, "", ErrorInvalidHandle
	}
	n, ok := shim.GoString(name, 4096)
	if !ok || out == nil {
		return nil, "", ErrorInvalidValue
	}
	return m, n, Success
}

// LaunchFunction is cuLaunchKernel: validated, then captured or handed to the backend.
func LaunchFunction(f uintptr, gx, gy, gz, bx, by, bz, shared uint32, sh uintptr, params, extra uintptr) Result {
	return launchFunction(f, gx, gy, gz, bx, by, bz, shared, sh, params, false)
}

// launchFunction is cuLaunchKernel, and cuLaunchCooperativeKernel when cooperative.
func launchFunction(f uintptr, gx, gy, gz, bx, by, bz, shared uint32, sh uintptr, params uintptr, cooperative bool) Result {
	d, r := ctxDevice()
	if r != Success {
		return r
	}
	k, ok := shim.Lookup[*shim.Kernel](shim.KindFunction, f)
	if !ok {
		return ErrorInvalidHandle
	}
	s, r := stream(sh)
	if r != Success {
		return r
	}
	lc := shim.LaunchConfig{Grid: shim.Dim3{X: gx, Y: gy, Z: gz}, Block: shim.Dim3{X: bx, Y: by, Z: bz}, Shared: uint64(shared), Stream: sh}
	if cooperative {
		lc = lc.WithCooperative()
	}
	if st := shim.CheckLaunch(d, k, lc); st != shim.OK {
		return From(st)
	}
	return From(s.Enqueue(shim.Node{Kind: shim.NodeKernel, Kernel: k, Launch: lc, Args: params}))
}

// FuncGetAttribute is cuFuncGetAttribute.
func FuncGetAttribute(pi unsafe.Pointer, attr int32, f uintptr) Result {
	if _, r := ready(); r != Success {
		return r
	}
	k, ok := shim.Lookup[*shim.Kernel](shim.KindFunction, f)
	if !ok {
		return ErrorInvalidHandle
	}
	if pi == nil {
		return ErrorInvalidValue
	}
	d, r := ctxDevice()
	if r != Success {
		return r
	}
	v, ok := shim.KernelAttribute(k, d, attr)
	if !ok {
		return ErrorInvalidValue
	}
	shim.PutI32(pi, v)
	return Success
}
