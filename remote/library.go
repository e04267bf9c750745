package remote

import (
	"encoding/binary"
	"unsafe"

	"vgpu/cuda"
	"vgpu/cudart"
	"vgpu/shim"
	"vgpu/shim/api"
	"vgpu/wire"
)

// The driver API's libraries, kernels and module globals over the connection. Libraries,
// modules and kernels are the client's records (cuda.ClientCode); what only the server's
// driver knows comes from it: a kernel's attributes and parameter layout (after shipping its
// module, as its first launch would) and a module variable's device address.

// FuncGetAttribute is cuFuncGetAttribute with the server's figures.
func FuncGetAttribute(pi unsafe.Pointer, attr int32, f uintptr) int32 {
	return kernelAttribute(pi, attr, f, func() cuda.Result {
		if c := shim.CurrentContext(); c != nil || shim.S().Device(0) != nil {
			return cuda.KernelGetAttribute(pi, attr, f, 0)
		}
		return cuda.ErrorInvalidContext
	})
}

// KernelGetAttribute is cuKernelGetAttribute with the server's figures.
func KernelGetAttribute(pi unsafe.Pointer, attr int32, k uintptr, dev int32) int32 {
	return kernelAttribute(pi, attr, k, func() cuda.Result { return cuda.KernelGetAttribute(pi, attr, k, dev) })
}

// kernelAttribute checks the call against the client's records and model (model), then
// replaces the model's figure with the server's where its backend has one.
func kernelAttribute(pi unsafe.Pointer, attr int32, h uintptr, model func() cuda.Result) int32 {
	if r := model(); r != cuda.Success {
		return int32(r)
	}
	k, _ := shim.Lookup[*shim.Kernel](shim.KindFunction, h)
	if attr < 0 || int(attr) >= shim.KernelAttrCount {
		return int32(cuda.Success) // cluster attributes: the model's answer stands
	}
	if v, e := query(k, 0, 0, 0, 0); e == 0 && len(v) == shim.KernelAttrCount {
		val := v[attr]
		if attr == shim.KernelAttrMaxDynShared && k.MaxDynShared > val {
			val = k.MaxDynShared // raised by the program: the server's function learns it at launch
		}
		shim.PutI32(pi, val)
	}
	return int32(cuda.Success)
}

// FuncGetParamInfo is cuFuncGetParamInfo with the server's parameter layout.
func FuncGetParamInfo(f uintptr, i uint64, offset, size unsafe.Pointer) int32 {
	return KernelGetParamInfo(f, i, offset, size)
}

// KernelGetParamInfo is cuKernelGetParamInfo: the layout the server's driver reports for
// the kernel, else the one the client reads in the cubin.
func KernelGetParamInfo(h uintptr, i uint64, offset, size unsafe.Pointer) int32 {
	k, ok := shim.Lookup[*shim.Kernel](shim.KindFunction, h)
	if !ok {
		return int32(cuda.ErrorInvalidHandle)
	}
	if offset == nil && size == nil {
		return int32(cuda.ErrorInvalidValue)
	}
	if rk, st := shipped(k); st == shim.OK && len(rk.params) > 0 {
		if i >= uint64(len(rk.params)) {
			return int32(cuda.ErrorInvalidValue)
		}
		shim.PutU64(offset, uint64(rk.params[i].Offset))
		shim.PutU64(size, uint64(rk.params[i].Size))
		return int32(cuda.Success)
	}
	return int32(cuda.KernelGetParamInfo(h, i, offset, size))
}

// ModuleGetGlobal is cuModuleGetGlobal_v2 over the connection: the module is shipped (once)
// and the server resolves the variable in it. Where the client's image shows the variable's
// size and initialiser, they travel with the request (the sim server allocates and fills
// it); where it does not (a compressed image), the server's driver says the size.
func ModuleGetGlobal(dptr, size unsafe.Pointer, h uintptr, name unsafe.Pointer) int32 {
	m, ok := shim.Lookup[*shim.Module](shim.KindModule, h)
	if !ok {
		return int32(cuda.ErrorInvalidHandle)
	}
	n, ok := shim.GoString(name, 4096)
	if !ok || n == "" || (dptr == nil && size == nil) {
		return int32(cuda.ErrorInvalidValue)
	}
	var image []byte
	if m.Image != 0 && m.Size != 0 {
		image = shim.Bytes(m.Image, m.Size)
	}
	sz, init, found := cuda.GlobalInImage(image, n)
	if !found {
		return int32(cuda.ErrorNotFound)
	}
	codeMu.Lock()
	mh, st := shipModuleLocked(m)
	codeMu.Unlock()
	if st != shim.OK {
		return int32(cuda.From(st))
	}
	if init == nil && sz > 0 {
		init = make([]byte, sz)
	}
	le := binary.LittleEndian
	req := le.AppendUint64(nil, mh)
	req = le.AppendUint64(req, sz)
	req = le.AppendUint32(req, uint32(len(n)))
	req = append(req, n...)
	resp, err := roundTrip(OpGlobal, req, init)
	if err != nil {
		return int32(cuda.ErrorNotSupported)
	}
	if st := status(resp); st != shim.OK {
		return int32(cuda.From(st))
	}
	var g [2]uint64 // address, size
	switch {
	case sz > 0 && len(resp) == 9:
		g = [2]uint64{le.Uint64(resp[1:]), sz}
	case sz == 0 && len(resp) == 17: // the server's size
		g = [2]uint64{le.Uint64(resp[1:]), le.Uint64(resp[9:])}
	default:
		return int32(cuda.ErrorInvalidValue)
	}
	shim.PutU64(dptr, g[0])
	shim.PutU64(size, g[1])
	return int32(cuda.Success)
}

// LibraryGetGlobal is cuLibraryGetGlobal over the connection.
func LibraryGetGlobal(dptr, size unsafe.Pointer, h uintptr, name unsafe.Pointer) int32 {
	l, ok := shim.Lookup[*cuda.Library](shim.KindLibrary, h)
	if !ok {
		return int32(cuda.ErrorInvalidHandle)
	}
	return ModuleGetGlobal(dptr, size, l.Module.Handle, name)
}

// LibraryGetManaged is cuLibraryGetManaged over the connection (see cuda.LibraryGetManaged).
func LibraryGetManaged(dptr, size unsafe.Pointer, h uintptr, name unsafe.Pointer) int32 {
	return LibraryGetGlobal(dptr, size, h, name)
}

// cuStreamSynchronize over the connection: it also checks the handle.
func cuStreamSync(stream uintptr) cuda.Result {
	for i := range api.Functions {
		if api.Functions[i].Name == "cuStreamSynchronize" {
			return cuda.Result(Forward(i, []wire.Value{{U: uint64(stream)}}))
		}
	}
	return cuda.ErrorNotSupported
}

// LaunchHostFuncCU is cuLaunchHostFunc over the connection: the stream's work so far
// completes on the server, then fn runs here on another thread; the call returns after it.
func LaunchHostFuncCU(stream, fn, data uintptr) int32 {
	if fn == 0 {
		return int32(cuda.ErrorInvalidValue)
	}
	if st, captured := captureHostFunc(stream, fn, data); captured {
		return int32(cuda.From(st))
	}
	if r := cuStreamSync(stream); r != cuda.Success {
		return int32(r)
	}
	shim.RunHostFunc(fn, data)
	return int32(cuda.Success)
}

// StreamAddCallbackCU is cuStreamAddCallback over the connection.
func StreamAddCallbackCU(stream, fn, data uintptr, flags uint32) int32 {
	if fn == 0 || flags != 0 {
		return int32(cuda.ErrorInvalidValue)
	}
	if captures.Load() > 0 {
		return int32(cuda.ErrorCaptureUnsupported)
	}
	if r := cuStreamSync(stream); r != cuda.Success {
		return int32(r)
	}
	shim.RunStreamCallback(fn, stream, data)
	return int32(cuda.Success)
}

// LaunchCooperativeKernel is cuLaunchCooperativeKernel over the connection.
func LaunchCooperativeKernel(f uintptr, gx, gy, gz, bx, by, bz, shared uint32, stream uintptr, params uintptr) int32 {
	k, ok := shim.Lookup[*shim.Kernel](shim.KindFunction, f)
	if !ok {
		return int32(cuda.ErrorInvalidHandle)
	}
	lc := shim.LaunchConfig{Grid: shim.Dim3{X: gx, Y: gy, Z: gz}, Block: shim.Dim3{X: bx, Y: by, Z: bz}, Shared: uint64(shared), Stream: stream}
	return int32(cuda.From(launch(k, lc.WithCooperative(), params)))
}

// LaunchKernelEx is cuLaunchKernelEx over the connection, its attributes with it.
func LaunchKernelEx(cfg uintptr, f uintptr, params, extra uintptr) int32 {
	lc, r := cuda.LaunchConfigAt(unsafe.Pointer(cfg))
	if r != cuda.Success {
		return int32(r)
	}
	k, ok := shim.Lookup[*shim.Kernel](shim.KindFunction, f)
	if !ok {
		return int32(cuda.ErrorInvalidHandle)
	}
	if extra == 0 {
		return int32(cuda.From(launch(k, lc, params)))
	}
	if params != 0 {
		return int32(cuda.ErrorInvalidValue)
	}
	packed, ok := extraBuffer(extra)
	if !ok {
		return int32(cuda.ErrorInvalidValue)
	}
	return int32(cuda.From(launchWith(k, lc, 0, packed)))
}

// OccupancyMaxActiveBlocksCU is cuOccupancyMaxActiveBlocksPerMultiprocessor
// with the server's figure.
func OccupancyMaxActiveBlocksCU(n unsafe.Pointer, f uintptr, blockSize int32, shared uint64) int32 {
	return OccupancyMaxActiveBlocksWithFlagsCU(n, f, blockSize, shared, 0)
}

// OccupancyMaxActiveBlocksWithFlagsCU answers with the server's driver
// where its backend has one, else the client's model.
func OccupancyMaxActiveBlocksWithFlagsCU(n unsafe.Pointer, f uintptr, blockSize int32, shared uint64, flags uint32) int32 {
	if r := cuda.OccupancyMaxActiveBlocksWithFlagsCU(n, f, blockSize, shared, flags); r != cuda.Success {
		return int32(r)
	}
	k, _ := shim.Lookup[*shim.Kernel](shim.KindFunction, f)
	if v, e := query(k, 1, blockSize, shared, flags); e == 0 && len(v) >= 1 {
		shim.PutI32(n, v[0])
	}
	return int32(cuda.Success)
}

// driverResult maps a runtime status from the runtime's copy path to the driver's code.
func driverResult(e cudart.Error) int32 {
	switch e {
	case cudart.Success:
		return int32(cuda.Success)
	case cudart.ErrorMemoryAllocation:
		return int32(cuda.ErrorOutOfMemory)
	case cudart.ErrorInvalidResourceHandle:
		return int32(cuda.ErrorInvalidHandle)
	case cudart.ErrorNotSupported:
		return int32(cuda.ErrorNotSupported)
	}
	return int32(cuda.ErrorInvalidValue)
}

func copies2D(cs []cuda.Copy2D, async bool, stream uintptr) int32 {
	if len(cs) == 0 {
		return driverResult(checkStream(async, stream))
	}
	for _, c := range cs {
		if e := memcpy2D(c.Dst, c.DPitch, c.Src, c.SPitch, c.W, c.H, c.Kind, async, stream); e != cudart.Success {
			return driverResult(e)
		}
	}
	return int32(cuda.Success)
}

// Memcpy2DCU is cuMemcpy2D_v2 over the connection (the runtime's pitched copy path).
func Memcpy2DCU(p unsafe.Pointer) int32 { return memcpy2DCU(p, false, 0) }

// Memcpy2DAsyncCU is cuMemcpy2DAsync_v2 over the connection.
func Memcpy2DAsyncCU(p unsafe.Pointer, stream uintptr) int32 { return memcpy2DCU(p, true, stream) }

func memcpy2DCU(p unsafe.Pointer, async bool, stream uintptr) int32 {
	c, r := cuda.Copy2DAt(p, driverArrays)
	if r != cuda.Success {
		return int32(r)
	}
	return copies2D([]cuda.Copy2D{c}, async, stream)
}

// Memcpy3DCU is cuMemcpy3D_v2 over the connection: one pitched copy per slice.
func Memcpy3DCU(p unsafe.Pointer) int32 { return memcpy3DCU(p, false, 0) }

// Memcpy3DAsyncCU is cuMemcpy3DAsync_v2 over the connection.
func Memcpy3DAsyncCU(p unsafe.Pointer, stream uintptr) int32 { return memcpy3DCU(p, true, stream) }

func memcpy3DCU(p unsafe.Pointer, async bool, stream uintptr) int32 {
	cs, r := cuda.Copy3DAt(p, driverArrays)
	if r != cuda.Success {
		return int32(r)
	}
	return copies2D(cs, async, stream)
}

// MemcpyCU is cuMemcpy over the connection: unified addresses, the direction inferred.
func MemcpyCU(dst, src uint64, n uint64) int32 {
	return driverResult(cudart.From(memcpy(uintptr(dst), uintptr(src), n, shim.CopyDefault, false, 0)))
}

// MemcpyAsyncCU is cuMemcpyAsync over the connection.
func MemcpyAsyncCU(dst, src uint64, n uint64, stream uintptr) int32 {
	return driverResult(cudart.From(memcpy(uintptr(dst), uintptr(src), n, shim.CopyDefault, true, stream)))
}

// MemPoolGetAttributeCU is cuMemPoolGetAttribute over the connection (the value's size
// depends on the attribute: OpPoolAttr).
func MemPoolGetAttributeCU(pool uintptr, attr int32, value uintptr) int32 {
	return driverResult(poolAttr(pool, attr, value, false))
}

// MemPoolSetAttributeCU is cuMemPoolSetAttribute over the connection.
func MemPoolSetAttributeCU(pool uintptr, attr int32, value uintptr) int32 {
	return driverResult(poolAttr(pool, attr, value, true))
}
