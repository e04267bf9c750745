package cuda

import (
	"unsafe"

	"vgpu/shim"
)

// ProcLookup finds an exported driver entry point by its symbol name. The exports layer
// sets it from the generated table.
var ProcLookup func(symbol string) uintptr

// procVersions says which symbol serves a base name from which CUDA version on, for the
// names whose ABI changed (cuGetProcAddress semantics). Names absent here map to themselves.
// CUDA 11's runtime asks for the primary-context calls at 7000, before their _v2 renames.
var procVersions = map[string][]struct {
	since int32
	sym   string
}{
	"cuMemAlloc":                     {{3020, "cuMemAlloc_v2"}},
	"cuMemFree":                      {{3020, "cuMemFree_v2"}},
	"cuMemGetInfo":                   {{3020, "cuMemGetInfo_v2"}},
	"cuMemAllocHost":                 {{3020, "cuMemAllocHost_v2"}},
	"cuMemcpyHtoD":                   {{3020, "cuMemcpyHtoD_v2"}},
	"cuMemcpyDtoH":                   {{3020, "cuMemcpyDtoH_v2"}},
	"cuMemcpyDtoD":                   {{3020, "cuMemcpyDtoD_v2"}},
	"cuMemcpyHtoDAsync":              {{3020, "cuMemcpyHtoDAsync_v2"}},
	"cuMemcpyDtoHAsync":              {{3020, "cuMemcpyDtoHAsync_v2"}},
	"cuMemsetD8":                     {{3020, "cuMemsetD8_v2"}},
	"cuMemsetD32":                    {{3020, "cuMemsetD32_v2"}},
	"cuMemGetAddressRange":           {{3020, "cuMemGetAddressRange_v2"}},
	"cuModuleGetGlobal":              {{3020, "cuModuleGetGlobal_v2"}},
	"cuDeviceTotalMem":               {{2000, "cuDeviceTotalMem"}, {3020, "cuDeviceTotalMem_v2"}},
	"cuCtxCreate":                    {{2000, "cuCtxCreate"}, {3020, "cuCtxCreate_v2"}, {11040, ""}},
	"cuCtxDestroy":                   {{4000, "cuCtxDestroy_v2"}},
	"cuCtxPushCurrent":               {{4000, "cuCtxPushCurrent_v2"}},
	"cuCtxPopCurrent":                {{4000, "cuCtxPopCurrent_v2"}},
	"cuStreamDestroy":                {{4000, "cuStreamDestroy_v2"}},
	"cuEventDestroy":                 {{4000, "cuEventDestroy_v2"}},
	"cuMemHostRegister":              {{6050, "cuMemHostRegister_v2"}},
	"cuDevicePrimaryCtxRelease":      {{7000, "cuDevicePrimaryCtxRelease"}, {11000, "cuDevicePrimaryCtxRelease_v2"}},
	"cuDevicePrimaryCtxReset":        {{7000, "cuDevicePrimaryCtxReset"}, {11000, "cuDevicePrimaryCtxReset_v2"}},
	"cuDevicePrimaryCtxSetFlags":     {{7000, "cuDevicePrimaryCtxSetFlags"}, {11000, "cuDevicePrimaryCtxSetFlags_v2"}},
	"cuDeviceGetUuid":                {{9020, "cuDeviceGetUuid"}, {11040, "cuDeviceGetUuid_v2"}},
	"cuGetProcAddress":               {{11030, "cuGetProcAddress"}, {12000, "cuGetProcAddress_v2"}},
	"cuEventElapsedTime":             {{2000, "cuEventElapsedTime"}, {12080, "cuEventElapsedTime_v2"}},
	"cuMemHostGetDevicePointer":      {{3020, "cuMemHostGetDevicePointer_v2"}},
	"cuMemAllocPitch":                {{3020, "cuMemAllocPitch_v2"}},
	"cuMemcpyDtoDAsync":              {{3020, "cuMemcpyDtoDAsync_v2"}},
	"cuMemsetD16":                    {{3020, "cuMemsetD16_v2"}},
	"cuMemcpy2D":                     {{3020, "cuMemcpy2D_v2"}},
	"cuMemcpy2DUnaligned":            {{3020, "cuMemcpy2DUnaligned_v2"}},
	"cuMemcpy2DAsync":                {{3020, "cuMemcpy2DAsync_v2"}},
	"cuMemcpy3D":                     {{3020, "cuMemcpy3D_v2"}},
	"cuMemcpy3DAsync":                {{3020, "cuMemcpy3DAsync_v2"}},
	"cuMemsetD2D8":                   {{3020, "cuMemsetD2D8_v2"}},
	"cuMemsetD2D16":                  {{3020, "cuMemsetD2D16_v2"}},
	"cuMemsetD2D32":                  {{3020, "cuMemsetD2D32_v2"}},
	"cuStreamBeginCapture":           {{10000, "cuStreamBeginCapture"}, {10010, "cuStreamBeginCapture_v2"}},
	"cuStreamGetCaptureInfo":         {{10010, "cuStreamGetCaptureInfo"}, {11030, "cuStreamGetCaptureInfo_v2"}, {12030, "cuStreamGetCaptureInfo_v3"}},
	"cuGraphInstantiate":             {{10000, "cuGraphInstantiate_v2"}, {12000, "cuGraphInstantiateWithFlags"}},
	"cuGraphExecUpdate":              {{10020, "cuGraphExecUpdate"}, {12000, "cuGraphExecUpdate_v2"}},
	"cuGraphAddKernelNode":           {{10000, "cuGraphAddKernelNode"}, {12000, "cuGraphAddKernelNode_v2"}},
	"cuGraphKernelNodeGetParams":     {{10000, "cuGraphKernelNodeGetParams"}, {12000, "cuGraphKernelNodeGetParams_v2"}},
	"cuGraphKernelNodeSetParams":     {{10000, "cuGraphKernelNodeSetParams"}, {12000, "cuGraphKernelNodeSetParams_v2"}},
	"cuGraphExecKernelNodeSetParams": {{10010, "cuGraphExecKernelNodeSetParams"}, {12000, "cuGraphExecKernelNodeSetParams_v2"}},
	"cuGraphAddDependencies":         {{10000, "cuGraphAddDependencies"}, {12030, "cuGraphAddDependencies_v2"}},
}

// cuGetProcAddress flags and results.
const (
	procPerThreadStream = 2
	procFound           = 0
	procNotFound        = 1
	procVersionLow      = 2
)

// resolveProc picks the symbol serving name at cudaVersion, or "" with the reason.
func resolveProc(name string, cudaVersion int32) (string, int32) {
	sym := name
	if vs, ok := procVersions[name]; ok {
		sym = ""
		for _, v := range vs {
			if cudaVersion >= v.since {
				sym = v.sym
			}
		}
		if sym == "" {
			if cudaVersion < vs[0].since {
				return "", procVersionLow
			}
			return "", procNotFound // a newer ABI than vgpu implements
		}
	}
	return sym, procFound
}

// GetProcAddress is cuGetProcAddress_v2.
func GetProcAddress(symbol unsafe.Pointer, pfn unsafe.Pointer, cudaVersion int32, flags uint64, status unsafe.Pointer) Result {
	name, ok := shim.GoString(symbol, 256)
	if !ok || pfn == nil || flags > 2 {
		return ErrorInvalidValue
	}
	sym, st := resolveProc(name, cudaVersion)
	var fn uintptr
	if sym != "" && ProcLookup != nil {
		if flags&procPerThreadStream != 0 {
			// The per-thread default stream form of a stream-ordered or synchronous call.
			if fn = ProcLookup(sym + "_ptsz"); fn == 0 {
				fn = ProcLookup(sym + "_ptds")
			}
		}
		if fn == 0 {
			fn = ProcLookup(sym)
		}
	}
	if fn == 0 && st == procFound {
		st = procNotFound
	}
	shim.PutPtr(pfn, fn)
	if status != nil {
		shim.PutI32(status, st)
	}
	if fn == 0 {
		// Which names a runtime asks for that vgpu lacks (VGPU_LOG_LEVEL=debug).
		shim.DebugOnce("proc:"+name, "cuGetProcAddress: no entry point", "symbol", name, "version", cudaVersion)
		return ErrorNotFound
	}
	return Success
}

// GetProcAddressV1 is the CUDA 11 cuGetProcAddress, without the status output.
func GetProcAddressV1(symbol unsafe.Pointer, pfn unsafe.Pointer, cudaVersion int32, flags uint64) Result {
	return GetProcAddress(symbol, pfn, cudaVersion, flags, nil)
}
