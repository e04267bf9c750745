package cudart

import (
	"unsafe"

	"vgpu/cuda"
	"vgpu/shim"
)

// kernelAt finds the kernel registered for a host stub address.
func kernelAt(fn uintptr) (*shim.Kernel, Error) {
	if _, e := begin(); e != Success {
		return nil, e
	}
	k := shim.KernelByHost(fn)
	if k == nil {
		return nil, ErrorInvalidDeviceFunction
	}
	return k, Success
}

// FuncSetAttribute is cudaFuncSetAttribute.
func FuncSetAttribute(fn uintptr, attr int32, value int32) Error {
	k, e := kernelAt(fn)
	if e != Success {
		return e
	}
	d, e := currentDevice()
	if e != Success {
		return e
	}
	return From(shim.SetKernelAttribute(k, d, attr, value))
}

// FuncGetAttributes is cudaFuncGetAttributes (144 bytes in CUDA 12 and 13).
func FuncGetAttributes(attr unsafe.Pointer, fn uintptr) Error {
	k, e := kernelAt(fn)
	if e != Success {
		return e
	}
	d, e := currentDevice()
	if e != Success {
		return e
	}
	if attr == nil {
		return ErrorInvalidValue
	}
	b := shim.View(attr, 144)
	for i := range b {
		b[i] = 0
	}
	get := func(a int32) uint32 { v, _ := shim.KernelAttribute(k, d, a); return uint32(v) }
	shim.Le.PutUint32(b[24:], get(0)) // maxThreadsPerBlock
	shim.Le.PutUint32(b[28:], get(4)) // numRegs
	shim.Le.PutUint32(b[32:], get(5)) // ptxVersion
	shim.Le.PutUint32(b[36:], get(6)) // binaryVersion
	shim.Le.PutUint32(b[44:], get(8)) // maxDynamicSharedSizeBytes
	shim.Le.PutUint32(b[48:], get(9)) // preferredShmemCarveout
	return Success
}

// OccupancyMaxActiveBlocksPerMultiprocessor is cudaOccupancyMaxActiveBlocksPerMultiprocessor.
func OccupancyMaxActiveBlocksPerMultiprocessor(n unsafe.Pointer, fn uintptr, blockSize int32, shared uint64) Error {
	return OccupancyMaxActiveBlocksPerMultiprocessorWithFlags(n, fn, blockSize, shared, 0)
}

// OccupancyMaxActiveBlocksPerMultiprocessorWithFlags computes occupancy from the device's
// per-SM limits for a kernel using 32 registers a thread and no static shared memory.
func OccupancyMaxActiveBlocksPerMultiprocessorWithFlags(n unsafe.Pointer, fn uintptr, blockSize int32, shared uint64, flags uint32) Error {
	k, e := kernelAt(fn)
	if e != Success {
		return e
	}
	d, e := currentDevice()
	if e != Success {
		return e
	}
	if n == nil || blockSize <= 0 || flags > 1 {
		return ErrorInvalidValue
	}
	shim.PutI32(n, shim.BlocksPerSM(k, d, blockSize, shared))
	return Success
}

// launch validates, then captures or runs k.
func launch(k *shim.Kernel, lc shim.LaunchConfig, args uintptr) Error {
	d, e := currentDevice()
	if e != Success {
		return e
	}
	s, e := resolveStream(lc.Stream)
	if e != Success {
		return e
	}
	if st := shim.CheckLaunch(d, k, lc); st != shim.OK {
		return From(st)
	}
	attrs, events, st := shim.SplitLaunchAttrs(lc.Attrs)
	if st != shim.OK {
		return From(st)
	}
	lc.Attrs = attrs
	return From(s.EnqueueKernel(shim.Node{Kind: shim.NodeKernel, Kernel: k, Launch: lc, Args: args}, events))
}

// LaunchKernel is cudaLaunchKernel (what CUDA 12's <<<>>> stubs call) and the cooperative form.
func LaunchKernel(fn uintptr, grid, block shim.Dim3, args uintptr, shared uint64, stream uintptr) Error {
	k, e := kernelAt(fn)
	if e != Success {
		return e
	}
	return launch(k, shim.LaunchConfig{Grid: grid, Block: block, Shared: shared, Stream: stream}, args)
}

// LaunchCooperative is cudaLaunchCooperativeKernel: a launch whose blocks must all be
// resident at once. It carries the cooperative launch attribute, so a GPU backend launches
// it cooperatively (a grid-wide sync needs that) and the model refuses a grid too large.
func LaunchCooperative(fn uintptr, grid, block shim.Dim3, args uintptr, shared uint64, stream uintptr) Error {
	k, e := kernelAt(fn)
	if e != Success {
		return e
	}
	return launch(k, shim.LaunchConfig{Grid: grid, Block: block, Shared: shared, Stream: stream}.WithCooperative(), args)
}

// GetKernel is __cudaGetKernel (CUDA 13 stubs): the kernel handle for a host stub.
func GetKernel(out unsafe.Pointer, fn uintptr) Error {
	k, e := kernelAt(fn)
	if e != Success {
		return e
	}
	if out == nil {
		return ErrorInvalidValue
	}
	shim.PutPtr(out, k.Handle)
	return Success
}

// LaunchKernelHandle is __cudaLaunchKernel (CUDA 13 stubs): launch by kernel handle.
func LaunchKernelHandle(h uintptr, grid, block shim.Dim3, args uintptr, shared uint64, stream uintptr) Error {
	if _, e := begin(); e != Success {
		return e
	}
	k, ok := shim.Lookup[*shim.Kernel](shim.KindFunction, h)
	if !ok {
		return ErrorInvalidDeviceFunction
	}
	return HandleLaunchError(launch(k, shim.LaunchConfig{Grid: grid, Block: block, Shared: shared, Stream: stream}, args))
}

// HandleLaunchError is how CUDA 13's launch by kernel handle reports a configuration out of
// the device's limits: invalid value, where cudaLaunchKernel says invalid configuration
// (measured with NVIDIA's runtime 13 on driver 580; tests/cuda/kernels.cu).
func HandleLaunchError(e Error) Error {
	if e == ErrorInvalidConfiguration {
		return ErrorInvalidValue
	}
	return e
}

// LaunchKernelExC is cudaLaunchKernelExC: its launch attributes travel with the launch (the
// sim backend has nothing to apply them to; a GPU backend applies them).
func LaunchKernelExC(cfg unsafe.Pointer, fn uintptr, args uintptr) Error {
	if cfg == nil {
		return ErrorInvalidValue
	}
	k, e := kernelAt(fn)
	if e != Success {
		return e
	}
	lc, e := LaunchConfigAt(cfg)
	if e != Success {
		return e
	}
	return launch(k, lc, args)
}

// LaunchConfigAt reads a cudaLaunchConfig_t: grid and block (dim3 at 0 and 12), dynamic
// shared memory (24), stream (32), and the attributes array (pointer at 40, count at 48).
// More than shim.MaxLaunchAttrs attributes, or a count with no array, is an invalid value.
func LaunchConfigAt(cfg unsafe.Pointer) (shim.LaunchConfig, Error) {
	b := shim.View(cfg, 56)
	dim := func(off int) shim.Dim3 {
		return shim.Dim3{X: shim.Le.Uint32(b[off:]), Y: shim.Le.Uint32(b[off+4:]), Z: shim.Le.Uint32(b[off+8:])}
	}
	lc := shim.LaunchConfig{Grid: dim(0), Block: dim(12), Shared: shim.Le.Uint64(b[24:]), Stream: uintptr(shim.Le.Uint64(b[32:]))}
	n := shim.Le.Uint32(b[48:])
	if n == 0 {
		return lc, Success
	}
	at := uintptr(shim.Le.Uint64(b[40:]))
	if at == 0 || n > shim.MaxLaunchAttrs {
		return lc, ErrorInvalidValue
	}
	attrs, st := shim.ParseLaunchAttrs(shim.Bytes(at, uint64(n)*shim.LaunchAttrSize), int(n))
	if st != shim.OK {
		return lc, From(st)
	}
	lc.Attrs = attrs
	return lc, Success
}

// PushCallConfiguration is __cudaPushCallConfiguration, the first half of <<<>>>.
func PushCallConfiguration(grid, block shim.Dim3, shared uint64, stream uintptr) uint32 {
	ts := shim.Thread()
	ts.Launch = append(ts.Launch, shim.LaunchConfig{Grid: grid, Block: block, Shared: shared, Stream: stream})
	return 0
}

// PopCallConfiguration is __cudaPopCallConfiguration, called by the kernel's host stub.
func PopCallConfiguration(grid, block, shared, stream unsafe.Pointer) Error {
	ts := shim.Thread()
	if len(ts.Launch) == 0 {
		return ErrorMissingConfiguration
	}
	lc := ts.Launch[len(ts.Launch)-1]
	ts.Launch = ts.Launch[:len(ts.Launch)-1]
	put3 := func(p unsafe.Pointer, d shim.Dim3) {
		if p != nil {
			b := shim.View(p, 12)
			shim.Le.PutUint32(b, d.X)
			shim.Le.PutUint32(b[4:], d.Y)
			shim.Le.PutUint32(b[8:], d.Z)
		}
	}
	put3(grid, lc.Grid)
	put3(block, lc.Block)
	if shared != nil {
		shim.PutU64(shared, lc.Shared)
	}
	if stream != nil {
		shim.PutPtr(stream, lc.Stream)
	}
	return Success
}

// ErrorMissingConfiguration is cudaErrorMissingConfiguration.
const ErrorMissingConfiguration Error = 52

// RegisterFatBinary is __cudaRegisterFatBinary: records the module; the handle is opaque.
func RegisterFatBinary(wrapper uintptr) uintptr { return shim.RegisterFatBinary(wrapper).Handle }

// RegisterFatBinaryEnd is __cudaRegisterFatBinaryEnd.
func RegisterFatBinaryEnd(handle uintptr) {}

// UnregisterFatBinary is __cudaUnregisterFatBinary, run by the program's destructors.
func UnregisterFatBinary(handle uintptr) {
	if m, ok := shim.Lookup[*shim.Module](shim.KindFatBinary, handle); ok {
		symbolsMu.Lock()
		for _, v := range m.Vars {
			if y := symbols[v.HostVar]; y != nil && y.Module == m {
				delete(symbols, v.HostVar)
			}
		}
		symbolsMu.Unlock()
		m.Unregister(shim.KindFatBinary)
	}
}

// RegisterFunction is __cudaRegisterFunction: host stub -> device function name.
func RegisterFunction(handle, hostFun uintptr, deviceFun, deviceName unsafe.Pointer, threadLimit int32, tid, bid, bDim, gDim, wSize uintptr) {
	m, ok := shim.Lookup[*shim.Module](shim.KindFatBinary, handle)
	if !ok {
		shim.WarnOnce("regfn-badhandle", "__cudaRegisterFunction with an unknown fat binary handle")
		return
	}
	name, _ := shim.GoString(deviceName, 4096)
	if name == "" {
		name, _ = shim.GoString(deviceFun, 4096)
	}
	m.AddKernel(hostFun, name)
}

// RegisterVar is __cudaRegisterVar.
func RegisterVar(handle, hostVar uintptr, deviceAddress, deviceName unsafe.Pointer, ext int32, size uint64, constant, global int32) {
	if m, ok := shim.Lookup[*shim.Module](shim.KindFatBinary, handle); ok {
		name, _ := shim.GoString(deviceName, 4096)
		v := shim.Var{HostVar: hostVar, Name: name, Size: size, Const: constant != 0}
		m.AddVar(v)
		if hostVar != 0 {
			symbolsMu.Lock()
			symbols[hostVar] = &Symbol{Module: m, Var: v}
			symbolsMu.Unlock()
		}
	}
}

// RegisterManagedVar is __cudaRegisterManagedVar.
func RegisterManagedVar(handle, hostVarPtr uintptr, deviceAddress, deviceName unsafe.Pointer, ext int32, size uint64, constant, global int32) {
	RegisterVar(handle, hostVarPtr, deviceAddress, deviceName, ext, size, constant, global)
}

// InitModule is __cudaInitModule: 1 means initialised.
func InitModule(handle uintptr) int8 { return 1 }

// GetDriverEntryPoint is cudaGetDriverEntryPoint: the driver's cuGetProcAddress at the
// configured CUDA version.
func GetDriverEntryPoint(symbol, fn unsafe.Pointer, flags uint64, status unsafe.Pointer) Error {
	return GetDriverEntryPointByVersion(symbol, fn, uint32(shim.S().Config.CUDAVersion), flags, status)
}

// GetDriverEntryPointByVersion is cudaGetDriverEntryPointByVersion.
func GetDriverEntryPointByVersion(symbol, fn unsafe.Pointer, version uint32, flags uint64, status unsafe.Pointer) Error {
	if _, e := begin(); e != Success {
		return e
	}
	switch cuda.GetProcAddress(symbol, fn, int32(version), flags, status) {
	case cuda.Success:
		return Success
	case cuda.ErrorNotFound:
		return Success // reported through status, as the runtime does
	}
	return ErrorInvalidValue
}
