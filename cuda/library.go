package cuda

import (
	"encoding/binary"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"vgpu/shim"
)

// Libraries and kernels (cuLibrary*, cuKernel*): the context-independent form of modules and
// functions that NVIDIA's CUDA 12 and 13 runtimes load programs through.
//
// A CUlibrary wraps one module image (shim.Module, as cuModuleLoadData records it); its
// module is what cuLibraryGetModule returns. The model keeps no per-context copies of code
// (modules are not bound to a context in it), so a CUkernel is the kernel's CUfunction
// handle itself: cuKernelGetFunction answers the same handle in every context, and a CUkernel
// passed to cuLaunchKernel, as the driver allows, launches that kernel.

// Library is a loaded CUlibrary.
type Library struct {
	Handle uintptr
	Module *shim.Module
	data   []byte // the file's bytes (cuLibraryLoadFromFile), kept alive for the module
}

// ClientCode is set in a remote client (VGPU_BACKEND=remote): its modules, libraries and
// kernels are records of the client's own (shipped to the server at their first launch), so
// looking them up needs no context here; the server checks its context when the work
// reaches it, as for cuModuleLoadData.
var ClientCode atomic.Bool

// codeReady gates the calls on code handles: cuInit first, unless the code is a client's.
func codeReady() Result {
	if ClientCode.Load() {
		return Success
	}
	_, r := ready()
	return r
}

// codeContext gates the calls that need a current context, as codeReady does.
func codeContext() Result {
	if ClientCode.Load() {
		return Success
	}
	_, r := current()
	return r
}

// codeDevice is the device a kernel attribute is checked against: the current context's,
// or in a remote client, the client's model of the current device.
func codeDevice() (*shim.Device, Result) {
	if ClientCode.Load() {
		if c := shim.CurrentContext(); c != nil {
			return c.Dev, Success
		}
		if d := shim.S().Device(0); d != nil {
			return d, Success
		}
		return nil, ErrorInvalidContext
	}
	return ctxDevice()
}

// codeOrdinal resolves a CUdevice for the kernel calls that name one.
func codeOrdinal(dev int32) (*shim.Device, Result) {
	if ClientCode.Load() {
		if d := shim.S().Device(int(dev)); d != nil {
			return d, Success
		}
		return nil, ErrorInvalidDevice
	}
	return device(dev)
}

var (
	librariesMu sync.Mutex
	libraryOf   = map[*shim.Module]*Library{}
)

// nvcc's fat binary wrapper, which NVIDIA's runtime may hand over in place of the fat binary.
const fatbinWrapperMagic = 0x466243b1

// options checks an option array and its values: both given, or a zero count.
func options(opts, vals uintptr, n uint32) bool {
	return n == 0 || (opts != 0 && vals != 0 && n <= 64)
}

// The CUlibraryOption values: the first takes a value (a table's address), the second is a
// flag without one.
const (
	libraryHostUniversalTable = 0
	libraryBinaryIsPreserved  = 1
)

// libraryOptions checks cuLibraryLoad*'s library options: each a known option; the values
// array may be null only when no option takes a value (cuBLAS 12 passes
// CU_LIBRARY_BINARY_IS_PRESERVED alone that way, for every image it loads).
func libraryOptions(opts, vals uintptr, n uint32) bool {
	if n == 0 {
		return true
	}
	if opts == 0 || n > 64 {
		return false
	}
	for i := uintptr(0); i < uintptr(n); i++ {
		switch binary.LittleEndian.Uint32(shim.Bytes(opts+4*i, 4)) {
		case libraryBinaryIsPreserved:
		case libraryHostUniversalTable:
			if vals == 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// LibraryLoadData is cuLibraryLoadData.
func LibraryLoadData(out unsafe.Pointer, code uintptr, jitOpts, jitVals uintptr, nJit uint32, libOpts, libVals uintptr, nLib uint32) Result {
	if r := codeReady(); r != Success {
		return r
	}
	if out == nil || code == 0 || !options(jitOpts, jitVals, nJit) || !libraryOptions(libOpts, libVals, nLib) {
		return ErrorInvalidValue
	}
	if binary.LittleEndian.Uint32(shim.Bytes(code, 4)) == fatbinWrapperMagic {
		code = uintptr(binary.LittleEndian.Uint64(shim.Bytes(code+8, 8)))
		if code == 0 {
			return ErrorInvalidImage
		}
	}
	return newLibrary(out, shim.LoadImage(code), nil)
}

// LibraryLoadFromFile is cuLibraryLoadFromFile: the file's bytes become the library's image.
func LibraryLoadFromFile(out unsafe.Pointer, name unsafe.Pointer, jitOpts, jitVals uintptr, nJit uint32, libOpts, libVals uintptr, nLib uint32) Result {
	if r := codeReady(); r != Success {
		return r
	}
	if out == nil || !options(jitOpts, jitVals, nJit) || !libraryOptions(libOpts, libVals, nLib) {
		return ErrorInvalidValue
	}
	m, data, r := fileModule(name)
	if r != Success {
		return r
	}
	return newLibrary(out, m, data)
}

func newLibrary(out unsafe.Pointer, m *shim.Module, data []byte) Result {
	l := &Library{Module: m, data: data}
	l.Handle = shim.NewHandle(shim.KindLibrary, l)
	librariesMu.Lock()
	libraryOf[m] = l
	librariesMu.Unlock()
	shim.PutPtr(out, l.Handle)
	return Success
}

func library(h uintptr) (*Library, Result) {
	if r := codeReady(); r != Success {
		return nil, r
	}
	l, ok := shim.Lookup[*Library](shim.KindLibrary, h)
	if !ok {
		return nil, ErrorInvalidHandle
	}
	return l, Success
}

// LibraryUnload is cuLibraryUnload: the library, its module and its kernels go.
func LibraryUnload(h uintptr) Result {
	l, r := library(h)
	if r != Success {
		return r
	}
	librariesMu.Lock()
	delete(libraryOf, l.Module)
	librariesMu.Unlock()
	l.Module.Unregister(shim.KindModule)
	shim.Release(shim.KindLibrary, h)
	return Success
}

// LibraryGetKernel is cuLibraryGetKernel.
func LibraryGetKernel(out unsafe.Pointer, h uintptr, name unsafe.Pointer) Result {
	l, r := library(h)
	if r != Success {
		return r
	}
	n, ok := shim.GoString(name, 4096)
	if out == nil || !ok || n == "" {
		return ErrorInvalidValue
	}
	k := l.Module.FindKernel(n)
	if k == nil {
		return ErrorNotFound
	}
	shim.PutPtr(out, k.Handle)
	return Success
}

// LibraryGetModule is cuLibraryGetModule.
func LibraryGetModule(out unsafe.Pointer, h uintptr) Result {
	l, r := library(h)
	if r != Success {
		return r
	}
	if r := codeContext(); r != Success {
		return r
	}
	if out == nil {
		return ErrorInvalidValue
	}
	shim.PutPtr(out, l.Module.Handle)
	return Success
}

// LibraryGetKernelCount is cuLibraryGetKernelCount: the kernels the library's image defines
// (and any a program found by name in an image vgpu cannot read).
func LibraryGetKernelCount(count unsafe.Pointer, h uintptr) Result {
	l, r := library(h)
	if r != Success {
		return r
	}
	if count == nil {
		return ErrorInvalidValue
	}
	shim.PutU32(count, uint32(len(moduleKernels(l.Module))))
	return Success
}

// LibraryEnumerateKernels is cuLibraryEnumerateKernels: up to n of the library's kernels.
func LibraryEnumerateKernels(out unsafe.Pointer, n uint32, h uintptr) Result {
	l, r := library(h)
	if r != Success {
		return r
	}
	ks := moduleKernels(l.Module)
	if out == nil || n == 0 || int(n) > len(ks) {
		return ErrorInvalidValue
	}
	for i := range ks[:n] {
		shim.PutPtr(unsafe.Add(out, 8*i), ks[i].Handle)
	}
	return Success
}

// moduleKernels registers every kernel m's image defines (shim.ImageKernels: its cubins'
// entry symbols, or its PTX's .entry directives), then lists m's kernels.
func moduleKernels(m *shim.Module) []*shim.Kernel {
	names, _ := m.DefinedKernels()
	for _, n := range names {
		m.FindKernel(n)
	}
	return m.KernelList()
}

// LibraryGetGlobal is cuLibraryGetGlobal: the variable in the current context.
func LibraryGetGlobal(dptr, size unsafe.Pointer, h uintptr, name unsafe.Pointer) Result {
	l, r := library(h)
	if r != Success {
		return r
	}
	return ModuleGetGlobal(dptr, size, l.Module.Handle, name)
}

// LibraryGetManaged is cuLibraryGetManaged: __managed__ variables are device variables the
// host may also address; the model has no unified memory of its own, so it finds them as
// globals.
func LibraryGetManaged(dptr, size unsafe.Pointer, h uintptr, name unsafe.Pointer) Result {
	return LibraryGetGlobal(dptr, size, h, name)
}

// LibraryGetUnifiedFunction is cuLibraryGetUnifiedFunction: vgpu's images hold no unified
// (host-callable) functions.
func LibraryGetUnifiedFunction(out unsafe.Pointer, h uintptr, name unsafe.Pointer) Result {
	if _, r := library(h); r != Success {
		return r
	}
	if n, ok := shim.GoString(name, 4096); out == nil || !ok || n == "" {
		return ErrorInvalidValue
	}
	return ErrorNotFound
}

// kernelOf resolves a CUkernel or CUfunction (the same handles here).
func kernelOf(h uintptr) (*shim.Kernel, Result) {
	if r := codeReady(); r != Success {
		return nil, r
	}
	k, ok := shim.Lookup[*shim.Kernel](shim.KindFunction, h)
	if !ok {
		return nil, ErrorInvalidHandle
	}
	return k, Success
}

// KernelGetFunction is cuKernelGetFunction: the kernel's function in the current context.
func KernelGetFunction(out unsafe.Pointer, h uintptr) Result {
	k, r := kernelOf(h)
	if r != Success {
		return r
	}
	if r := codeContext(); r != Success {
		return r
	}
	if out == nil {
		return ErrorInvalidValue
	}
	shim.PutPtr(out, k.Handle)
	return Success
}

// KernelGetLibrary is cuKernelGetLibrary.
func KernelGetLibrary(out unsafe.Pointer, h uintptr) Result {
	k, r := kernelOf(h)
	if r != Success {
		return r
	}
	if out == nil {
		return ErrorInvalidValue
	}
	librariesMu.Lock()
	l := libraryOf[k.Module]
	librariesMu.Unlock()
	if l == nil {
		return ErrorInvalidHandle // a module's function, not a library's kernel
	}
	shim.PutPtr(out, l.Handle)
	return Success
}

// KernelGetAttribute is cuKernelGetAttribute for device dev.
func KernelGetAttribute(pi unsafe.Pointer, attr int32, h uintptr, dev int32) Result {
	k, r := kernelOf(h)
	if r != Success {
		return r
	}
	d, r := codeOrdinal(dev)
	if r != Success {
		return r
	}
	if pi == nil {
		return ErrorInvalidValue
	}
	v, ok := shim.KernelAttribute(k, d, attr)
	if !ok {
		return ErrorInvalidValue
	}
	shim.PutI32(pi, v)
	return Success
}

// KernelSetAttribute is cuKernelSetAttribute for device dev.
func KernelSetAttribute(attr, value int32, h uintptr, dev int32) Result {
	k, r := kernelOf(h)
	if r != Success {
		return r
	}
	d, r := codeOrdinal(dev)
	if r != Success {
		return r
	}
	return From(shim.SetKernelAttribute(k, d, attr, value))
}

// The CUfunc_cache preferences: none, shared, L1, equal.
const funcCacheLast = 3

// KernelSetCacheConfig is cuKernelSetCacheConfig: a preference the model accepts and need
// not act on (the driver documents it as a hint).
func KernelSetCacheConfig(h uintptr, config int32, dev int32) Result {
	if _, r := kernelOf(h); r != Success {
		return r
	}
	if _, r := codeOrdinal(dev); r != Success {
		return r
	}
	if config < 0 || config > funcCacheLast {
		return ErrorInvalidValue
	}
	return Success
}

// KernelGetName is cuKernelGetName: the kernel's mangled name.
func KernelGetName(out unsafe.Pointer, h uintptr) Result {
	k, r := kernelOf(h)
	if r != Success {
		return r
	}
	if out == nil {
		return ErrorInvalidValue
	}
	shim.PutPtr(out, uintptr(shim.CStr(k.Name)))
	return Success
}

// KernelGetParamInfo is cuKernelGetParamInfo: parameter i's offset and size in the kernel's
// parameter block, from the cubin's parameter table.
func KernelGetParamInfo(h uintptr, i uint64, offset, size unsafe.Pointer) Result {
	k, r := kernelOf(h)
	if r != Success {
		return r
	}
	if offset == nil && size == nil {
		return ErrorInvalidValue
	}
	params := k.Params
	if params == nil && k.Module != nil && k.Module.Image != 0 {
		params = paramTable(shim.Bytes(k.Module.Image, k.Module.Size), k.Name)
	}
	if i >= uint64(len(params)) {
		return ErrorInvalidValue
	}
	if offset != nil {
		shim.PutU64(offset, uint64(params[i].Offset))
	}
	if size != nil {
		shim.PutU64(size, uint64(params[i].Size))
	}
	return Success
}

// FuncGetName is cuFuncGetName.
func FuncGetName(out unsafe.Pointer, h uintptr) Result { return KernelGetName(out, h) }

// FuncGetParamInfo is cuFuncGetParamInfo.
func FuncGetParamInfo(h uintptr, i uint64, offset, size unsafe.Pointer) Result {
	return KernelGetParamInfo(h, i, offset, size)
}

// FuncGetModule is cuFuncGetModule.
func FuncGetModule(out unsafe.Pointer, h uintptr) Result {
	k, r := kernelOf(h)
	if r != Success {
		return r
	}
	if out == nil {
		return ErrorInvalidValue
	}
	if k.Module == nil || k.Module.Handle == 0 {
		return ErrorInvalidHandle
	}
	shim.PutPtr(out, k.Module.Handle)
	return Success
}

// FuncSetAttribute is cuFuncSetAttribute.
func FuncSetAttribute(h uintptr, attr, value int32) Result {
	k, r := kernelOf(h)
	if r != Success {
		return r
	}
	d, r := codeDevice()
	if r != Success {
		return r
	}
	return From(shim.SetKernelAttribute(k, d, attr, value))
}

// FuncSetCacheConfig is cuFuncSetCacheConfig (a hint).
func FuncSetCacheConfig(h uintptr, config int32) Result {
	if _, r := kernelOf(h); r != Success {
		return r
	}
	if config < 0 || config > funcCacheLast {
		return ErrorInvalidValue
	}
	return Success
}

// FuncSetSharedMemConfig is cuFuncSetSharedMemConfig: a bank-size hint (default, 4 or 8
// bytes) that devices since Volta ignore.
func FuncSetSharedMemConfig(h uintptr, config int32) Result {
	if _, r := kernelOf(h); r != Success {
		return r
	}
	if config < 0 || config > 2 {
		return ErrorInvalidValue
	}
	return Success
}

// FuncIsLoaded is cuFuncIsLoaded: functions are loaded when their handle is made
// (CU_FUNCTION_LOADING_STATE_LOADED is 1).
func FuncIsLoaded(state unsafe.Pointer, h uintptr) Result {
	if _, r := kernelOf(h); r != Success {
		return r
	}
	if state == nil {
		return ErrorInvalidValue
	}
	shim.PutI32(state, 1)
	return Success
}

// FuncLoad is cuFuncLoad: nothing is left to load.
func FuncLoad(h uintptr) Result {
	_, r := kernelOf(h)
	return r
}

// ModuleGetLoadingMode is cuModuleGetLoadingMode: eager (1), as CUDA_MODULE_LOADING unset
// once meant; the model loads nothing lazily.
func ModuleGetLoadingMode(mode unsafe.Pointer) Result {
	if r := codeReady(); r != Success {
		return r
	}
	if mode == nil {
		return ErrorInvalidValue
	}
	shim.PutI32(mode, 1)
	return Success
}

func module(h uintptr) (*shim.Module, Result) {
	if r := codeReady(); r != Success {
		return nil, r
	}
	m, ok := shim.Lookup[*shim.Module](shim.KindModule, h)
	if !ok {
		return nil, ErrorInvalidHandle
	}
	return m, Success
}

// ModuleGetFunctionCount is cuModuleGetFunctionCount.
func ModuleGetFunctionCount(count unsafe.Pointer, h uintptr) Result {
	m, r := module(h)
	if r != Success {
		return r
	}
	if count == nil {
		return ErrorInvalidValue
	}
	shim.PutU32(count, uint32(len(moduleKernels(m))))
	return Success
}

// ModuleEnumerateFunctions is cuModuleEnumerateFunctions.
func ModuleEnumerateFunctions(out unsafe.Pointer, n uint32, h uintptr) Result {
	m, r := module(h)
	if r != Success {
		return r
	}
	ks := moduleKernels(m)
	if out == nil || n == 0 || int(n) > len(ks) {
		return ErrorInvalidValue
	}
	for i := range ks[:n] {
		shim.PutPtr(unsafe.Add(out, 8*i), ks[i].Handle)
	}
	return Success
}

// ModuleLoadFatBinary is cuModuleLoadFatBinary.
func ModuleLoadFatBinary(out unsafe.Pointer, image uintptr) Result {
	return ModuleLoadDataEx(out, image, 0, 0, 0)
}

// ModuleLoadDataEx is cuModuleLoadDataEx: JIT options do not apply to the model.
func ModuleLoadDataEx(out unsafe.Pointer, image uintptr, n uint32, opts, vals uintptr) Result {
	if r := codeContext(); r != Success {
		return r
	}
	if !options(opts, vals, n) {
		return ErrorInvalidValue
	}
	return RecordImage(out, image)
}

// fileImages keeps the bytes of modules loaded from files alive while the process runs
// (a module's image is an address the backends read when they ship or search it).
var (
	fileImagesMu sync.Mutex
	fileImages   = map[*shim.Module][]byte{}
)

// fileModule reads a module image from a file: cubin, fat binary or PTX.
func fileModule(name unsafe.Pointer) (*shim.Module, []byte, Result) {
	path, ok := shim.GoString(name, 4096)
	if !ok || path == "" {
		return nil, nil, ErrorInvalidValue
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, ErrorFileNotFound
	}
	if len(data) < 16 {
		return nil, nil, ErrorInvalidImage
	}
	data = append(data, make([]byte, 64)...) // a NUL after PTX text, and room for a header read
	m := &shim.Module{Image: uintptr(unsafe.Pointer(&data[0])), Size: uint64(len(data) - 64)}
	m.Handle = shim.NewHandle(shim.KindModule, m)
	return m, data, Success
}

// ModuleLoad is cuModuleLoad: a module from a file.
func ModuleLoad(out unsafe.Pointer, name unsafe.Pointer) Result {
	if r := codeContext(); r != Success {
		return r
	}
	if out == nil {
		return ErrorInvalidValue
	}
	m, data, r := fileModule(name)
	if r != Success {
		return r
	}
	fileImagesMu.Lock()
	fileImages[m] = data
	fileImagesMu.Unlock()
	shim.PutPtr(out, m.Handle)
	return Success
}
