// Package local is the backend that executes on the machine's real GPU through NVIDIA's
// driver, loaded with dlopen. `vgpu serve --backend local` uses it: memory, copies, memsets
// and the kernels remote clients ship run on the GPU.
package local

/*
#cgo LDFLAGS: -ldl
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include "cctx.h"
int cu_open(const char *name, char *err, int n);
int cu_init(void);
int cu_count(int *n);
int cu_name(char *b, int n, int d);
int cu_total(size_t *t, int d);
int cu_attr(int *v, int a, int d);
int cu_uuid(unsigned char *u, int d);
int cu_retain(void **ctx, int d);
int cu_setcur(void *ctx);
int cu_stream_sync(struct cctx *c, void *st);
int cu_alloc(unsigned long long *p, size_t n);
int cu_free(unsigned long long p);
int cu_htod(unsigned long long d, uintptr_t s, size_t n);
int cu_htod_staged(void *st, unsigned long long d, uintptr_t s, size_t n);
int cu_htod_on(void *st, unsigned long long d, uintptr_t s, size_t n);
int cu_dtoh_on(void *st, uintptr_t d, unsigned long long s, size_t n);
int cu_memset_on(void *st, unsigned long long d, unsigned char v, size_t n);
int cu_dtod_on(void *st, unsigned long long d, unsigned long long s, size_t n);
int cu_dtoh(uintptr_t d, unsigned long long s, size_t n);
int cu_dtoh_async(void *st, uintptr_t d, unsigned long long s, size_t n);
int cu_dtod(unsigned long long d, unsigned long long s, size_t n);
int cu_memset(unsigned long long d, unsigned char v, size_t n);
int cu_memset_words(unsigned long long d, unsigned v, unsigned size, size_t count);
int cu_memset_words_on(void *st, unsigned long long d, unsigned v, unsigned size, size_t count);
int cu_sync(void);
int cu_modload(void **m, const void *img);
int cu_modunload(void *m);
int cu_getfn(void **f, void *m, const char *name);
int cu_getglobal(unsigned long long *p, size_t *n, void *m, const char *name);
int cu_paraminfo(void *f, size_t i, size_t *off, size_t *size);
int cu_launch(uintptr_t cp, uintptr_t stp, uintptr_t fp, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned shared,
	uintptr_t args, uintptr_t layout, int n, uintptr_t attrs, int nattr);
*/
import "C"

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"vgpu/shim"
)

// Backend runs the model's operations on real devices, each server client's in contexts of
// its own (client.go).
type Backend struct {
	devices   []shim.DeviceRecord
	clients   sync.Map // owner -> *client
	primaryMu sync.Mutex
	primaries []unsafe.Pointer // primary context per device, retained at its first use
	arrays    arrayTable       // CUDA arrays and texture/surface objects (array.go)
}

func init() { shim.LocalDevices, shim.HasLocal = open, true }

// open loads the driver and describes its devices in the model's terms.
func open(c *shim.Config) ([]shim.DeviceRecord, shim.Backend, error) {
	var errb [512]C.char
	name := C.CString("libcuda.so.1")
	defer C.free(unsafe.Pointer(name))
	switch C.cu_open(name, &errb[0], 512) {
	case 1:
		return nil, nil, fmt.Errorf("NVIDIA's driver: %s", C.GoString(&errb[0]))
	case 2:
		return nil, nil, fmt.Errorf("libcuda.so.1 on this loader path is vgpu itself; the local backend needs NVIDIA's driver")
	case 3:
		return nil, nil, fmt.Errorf("NVIDIA's driver lacks %s", C.GoString(&errb[0]))
	}
	if r := C.cu_init(); r != 0 {
		return nil, nil, fmt.Errorf("cuInit: %d", r)
	}
	var n C.int
	C.cu_count(&n)
	b := &Backend{}
	var recs []shim.DeviceRecord
	for i := C.int(0); i < n; i++ {
		var nb [256]C.char
		var total C.size_t
		C.cu_name(&nb[0], 256, i)
		C.cu_total(&total, i)
		r := shim.DeviceRecord{Name: C.GoString(&nb[0]), Memory: uint64(total), Attrs: make([]int32, shim.AttrMax)}
		for a := 1; a < shim.AttrMax; a++ {
			var v C.int
			if C.cu_attr(&v, C.int(a), i) == 0 {
				r.Attrs[a] = int32(v)
			}
		}
		C.cu_uuid((*C.uchar)(unsafe.Pointer(&r.UUID[0])), i)
		r.PCIDomain, r.PCIBus, r.PCIDev = int(r.Attrs[shim.AttrPCIDomainID]), int(r.Attrs[shim.AttrPCIBusID]), int(r.Attrs[shim.AttrPCIDeviceID])
		// VMM is not carried yet: report it off, so that clients such as ggml use plain
		// allocations, which the backend runs on the GPU.
		r.Attrs[shim.AttrVirtualMemoryManagement] = 0
		r.Profile = nearestProfile(r)
		if p, err := shim.FindProfile(r.Profile); err == nil {
			r.Reserved = p.NVMLReserved
		}
		recs = append(recs, r)
	}
	b.devices, b.primaries = recs, make([]unsafe.Pointer, len(recs))
	// Clients run in the primary contexts: made now, so that the first client does not wait
	// for them (and a driver that cannot make one is reported at start). With contexts per
	// client, a primary context would only hold device memory.
	if (!clientContexts || isPrivateServer) && !DescribeOnly {
		for i := range recs {
			if _, st := b.primary(i); st != shim.OK {
				return nil, nil, fmt.Errorf("cuDevicePrimaryCtxRetain(%d): %v", i, st)
			}
		}
	}
	return recs, b, nil
}

// DescribeOnly, set before the device model is built, keeps this process from making any
// context: a server whose clients are each served by a worker process only describes the
// devices (each context would hold about 520 MiB of device memory for nothing).
var DescribeOnly bool

// nearestProfile names the built-in profile closest to a real device (for the figures
// the driver does not report, such as the NVML reserve and the VBIOS).
func nearestProfile(r shim.DeviceRecord) string {
	cc := [2]int32{r.Attrs[shim.AttrComputeCapabilityMajor], r.Attrs[shim.AttrComputeCapabilityMinor]}
	switch {
	case strings.Contains(r.Name, "H200"):
		return "h200-sxm-141gb"
	case strings.Contains(r.Name, "H100 PCIe"):
		return "h100-pcie-80gb"
	case cc == [2]int32{9, 0}:
		return "h100-sxm-80gb"
	case cc == [2]int32{8, 0}:
		return "a100-sxm4-80gb"
	case strings.Contains(r.Name, "4090"):
		return "rtx-4090"
	case cc == [2]int32{8, 9}:
		return "l4"
	case cc == [2]int32{7, 5}:
		return "t4"
	}
	return "h100-sxm-80gb"
}

// status maps a driver result onto the model's. A kernel's fault (700 illegal address, 719
// launch failed and their kin) is sticky: every later call in that context returns it, and
// the client sees a launch failure, as CUDA would report it.
func status(r C.int) shim.Status {
	switch {
	case r == 0:
		return shim.OK
	case r == 2:
		return shim.ErrOutOfMemory
	case r == 1:
		return shim.ErrInvalidValue
	case r == 101:
		return shim.ErrInvalidDevice
	case r == 201 || r == 709: // CUDA_ERROR_INVALID_CONTEXT, CUDA_ERROR_CONTEXT_IS_DESTROYED
		return shim.ErrInvalidContext
	case r >= 700 && r <= 720 && r != 701 && r != 702:
		return shim.ErrLaunchFailure
	}
	return shim.ErrNotSupported
}

// Wait is what synchronising calls for all work do: waiting for the client's contexts waits
// for the work of every stream of theirs.
func (b *Backend) Wait() shim.Status {
	c := b.caller()
	ccs := c.contexts()
	for _, cc := range ccs {
		if st := bind(cc); st != shim.OK {
			return st
		}
		if r := C.cu_sync(); r != 0 {
			return launchStatus(r)
		}
	}
	return shim.OK
}

// Name is "local".
func (b *Backend) Name() string { return "local" }

// DeviceAlloc allocates on the real device.
func (b *Backend) DeviceAlloc(d *shim.Device, size uint64) (uintptr, error) {
	if _, st := b.ctxFor(b.caller(), d.Index); st != shim.OK {
		return 0, fmt.Errorf("no context for the client on device %d: %v", d.Index, st)
	}
	var p C.ulonglong
	if r := C.cu_alloc(&p, C.size_t(size)); r != 0 {
		return 0, fmt.Errorf("cuMemAlloc: %d", r)
	}
	return uintptr(p), nil
}

// DeviceFree frees on the real device, in the context of the client that allocated it. A
// context of the client's own that is gone took the memory with it.
func (b *Backend) DeviceFree(a *shim.Alloc) error {
	var cc *C.struct_cctx
	if c := b.existing(a.Owner); c != nil {
		c.mu.Lock()
		cc = c.ctxs[a.Dev.Index]
		c.mu.Unlock()
	}
	switch {
	case cc != nil:
		if st := bind(cc); st != shim.OK {
			return fmt.Errorf("cuCtxSetCurrent: %v", st)
		}
	case usesPrimary(a.Owner): // the primary context outlives the client: free it there
		ctx, st := b.primary(a.Dev.Index)
		if st == shim.OK && C.cu_setcur(ctx) != 0 {
			st = shim.ErrInvalidContext
		}
		if st != shim.OK {
			return fmt.Errorf("primary context: %v", st)
		}
	default:
		b.dropArray(a)
		return nil
	}
	if b.freeArray(a) {
		return nil
	}
	if r := C.cu_free(C.ulonglong(a.Base)); r != 0 {
		return fmt.Errorf("cuMemFree: %d", r)
	}
	return nil
}

// HostAlloc and HostFree: the server's own host memory.
func (b *Backend) HostAlloc(size uint64) (uintptr, error) { return shim.MapAnon((size+4095)&^4095, 3) }
func (b *Backend) HostFree(a *shim.Alloc) error {
	return shim.Unmap(a.Base, (uint64(a.Size)+4095)&^4095)
}

// Copy moves bytes through the driver, in the caller's context.
func (b *Backend) Copy(dst, src uintptr, n uint64, kind int32) shim.Status {
	if st, ok := b.arrayCopy(dst, src, n, kind); ok {
		return st
	}
	if kind == shim.HostToHost {
		copy(shim.Bytes(dst, n), shim.Bytes(src, n))
		return shim.OK
	}
	c := b.caller()
	cc, st := b.homeCtx(c)
	if st != shim.OK {
		return st
	}
	return b.copyIn(c, cc, dst, src, n, kind)
}

func (b *Backend) copyIn(c *client, cc *C.struct_cctx, dst, src uintptr, n uint64, kind int32) shim.Status {
	rs, st := c.streamIn(cc)
	if st != shim.OK {
		return st
	}
	if rs != nil { // on the issuing stream's own driver stream, in its order
		switch kind {
		case shim.HostToDevice:
			if c.isPinned(src, n) {
				return status(C.cu_htod_on(rs, C.ulonglong(dst), C.uintptr_t(src), C.size_t(n)))
			}
			return status(C.cu_htod_staged(rs, C.ulonglong(dst), C.uintptr_t(src), C.size_t(n)))
		case shim.DeviceToHost:
			return status(C.cu_dtoh_on(rs, C.uintptr_t(dst), C.ulonglong(src), C.size_t(n)))
		case shim.DeviceToDevice:
			return status(C.cu_dtod_on(rs, C.ulonglong(dst), C.ulonglong(src), C.size_t(n)))
		}
		return shim.ErrInvalidMemcpyDirection
	}
	switch kind {
	case shim.HostToDevice:
		if c.isPinned(src, n) { // the DMA reads it later: return only when it has
			return status(C.cu_htod(C.ulonglong(dst), C.uintptr_t(src), C.size_t(n)))
		}
		return status(C.cu_htod_staged(nil, C.ulonglong(dst), C.uintptr_t(src), C.size_t(n)))
	case shim.DeviceToHost:
		return status(C.cu_dtoh(C.uintptr_t(dst), C.ulonglong(src), C.size_t(n)))
	case shim.DeviceToDevice:
		return status(C.cu_dtod(C.ulonglong(dst), C.ulonglong(src), C.size_t(n)))
	}
	return shim.ErrInvalidMemcpyDirection
}

// CopyAsync leaves a copy between the device and registered host memory (a client's shared
// pinned allocation) to the stream; anything else is copied as Copy does.
func (b *Backend) CopyAsync(dst, src uintptr, n uint64, kind int32) shim.Status {
	if st, ok := b.arrayCopy(dst, src, n, kind); ok {
		return st
	}
	if kind == shim.HostToHost {
		return b.Copy(dst, src, n, kind)
	}
	c := b.caller()
	cc, rs, st := b.homeStream(c)
	if st != shim.OK {
		return st
	}
	switch {
	case kind == shim.HostToDevice && c.isPinned(src, n):
		return status(C.cu_htod_staged(rs, C.ulonglong(dst), C.uintptr_t(src), C.size_t(n)))
	case kind == shim.DeviceToHost && c.isPinned(dst, n):
		if rs == nil {
			c.nullDownload.Store(true)
		}
		return status(C.cu_dtoh_async(rs, C.uintptr_t(dst), C.ulonglong(src), C.size_t(n)))
	}
	return b.copyIn(c, cc, dst, src, n, kind)
}

// UploadPinned copies registered memory at src to dst in the caller's stream order without
// waiting, and marks where the DMA will have read it (shim.PinnedUploader). An array, or a
// source not registered, is copied as Copy does (mark 0: done).
func (b *Backend) UploadPinned(dst, src uintptr, n uint64) (uintptr, shim.Status) {
	if st, ok := b.arrayCopy(dst, src, n, shim.HostToDevice); ok {
		return 0, st
	}
	c := b.caller()
	cc, rs, st := b.homeStream(c)
	if st != shim.OK {
		return 0, st
	}
	if !c.isPinned(src, n) {
		return 0, b.copyIn(c, cc, dst, src, n, shim.HostToDevice)
	}
	if r := C.cu_htod_staged(rs, C.ulonglong(dst), C.uintptr_t(src), C.size_t(n)); r != 0 {
		return 0, status(r)
	}
	if id, st := markIn(cc, rs); st == shim.OK {
		return id, shim.OK
	}
	return 0, status(C.cu_stream_sync(cc, rs)) // no mark: the source is free once the stream is
}

// Set fills device memory.
func (b *Backend) Set(dst uintptr, v byte, n uint64) shim.Status {
	if b.arrays.at(dst, n) != nil { // an array's elements are set by copies only
		return shim.ErrInvalidValue
	}
	c := b.caller()
	_, rs, st := b.homeStream(c)
	if st != shim.OK {
		return st
	}
	if rs != nil {
		return status(C.cu_memset_on(rs, C.ulonglong(dst), C.uchar(v), C.size_t(n)))
	}
	return status(C.cu_memset(C.ulonglong(dst), C.uchar(v), C.size_t(n)))
}

// SetWords fills count elements of size bytes (2 or 4) with value's low bytes: the device's
// cuMemsetD16/D32, since device memory is not the server's to write from the host.
func (b *Backend) SetWords(dst uintptr, value uint32, size, count uint64) shim.Status {
	if size != 2 && size != 4 {
		return shim.ErrInvalidValue
	}
	c := b.caller()
	_, rs, st := b.homeStream(c)
	if st != shim.OK {
		return st
	}
	if rs != nil { // on the issuing stream's own driver stream, as Set
		return status(C.cu_memset_words_on(rs, C.ulonglong(dst), C.uint(value), C.uint(size), C.size_t(count)))
	}
	return status(C.cu_memset_words(C.ulonglong(dst), C.uint(value), C.uint(size), C.size_t(count)))
}

// Launch is for kernels registered in this process; a server's kernels come through
// LaunchPacked.
func (b *Backend) Launch(k *shim.Kernel, lc shim.LaunchConfig, args uintptr) shim.Status {
	shim.WarnOnce("local-launch", "the local backend launches only kernels shipped by remote clients", "kernel", k.Name)
	return shim.ErrNotSupported
}

// LoadModule hands a shipped image to the driver, which copies it, into the caller's context:
// a module is the context's, and no other client's call can reach it.
func (b *Backend) LoadModule(image []byte) (uintptr, shim.Status) {
	if len(image) == 0 {
		return 0, shim.ErrInvalidValue
	}
	c := b.caller()
	cc, st := b.homeCtx(c)
	if st != shim.OK {
		return 0, st
	}
	var m unsafe.Pointer
	if r := C.cu_modload(&m, unsafe.Pointer(&image[0])); r != 0 {
		shim.Log().Warnw("cuModuleLoadData failed", "result", int(r), "bytes", len(image))
		if st := status(r); st == shim.ErrLaunchFailure || st == shim.ErrOutOfMemory {
			return 0, st // the context's sticky error, or no room: not the image's fault
		}
		return 0, shim.ErrInvalidKernelImage
	}
	c.addModule(uintptr(m), cc)
	return uintptr(m), shim.OK
}

// UnloadModule unloads one of the caller's modules (its client went, or unloaded it).
func (b *Backend) UnloadModule(mod uintptr) {
	c := b.existing(shim.Thread().Owner)
	if c == nil {
		return
	}
	if cc, ok := c.dropModule(mod); ok && bind(cc) == shim.OK {
		C.cu_modunload(unsafe.Pointer(mod))
	}
}

// Global finds a __device__ or __constant__ variable of one of the caller's modules: its
// address and size, from the driver that loaded the module with its initial values.
func (b *Backend) Global(mod uintptr, name string) (uintptr, uint64, shim.Status) {
	c := b.caller()
	cc, ok := c.module(mod)
	if !ok {
		return 0, 0, shim.ErrInvalidHandle
	}
	if st := bind(cc); st != shim.OK {
		return 0, 0, st
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var p C.ulonglong
	var n C.size_t
	if r := C.cu_getglobal(&p, &n, unsafe.Pointer(mod), cname); r == 500 { // CUDA_ERROR_NOT_FOUND
		return 0, 0, shim.ErrNotFound
	} else if r != 0 {
		return 0, 0, status(r)
	}
	return uintptr(p), uint64(n), shim.OK
}

// Function finds a kernel of one of the caller's modules and asks the driver for its
// parameter layout.
func (b *Backend) Function(mod uintptr, name string) (uintptr, []shim.ParamInfo, shim.Status) {
	c := b.caller()
	cc, ok := c.module(mod)
	if !ok {
		return 0, nil, shim.ErrInvalidHandle
	}
	if st := bind(cc); st != shim.OK {
		return 0, nil, st
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var f unsafe.Pointer
	if r := C.cu_getfn(&f, unsafe.Pointer(mod), cname); r != 0 {
		return 0, nil, shim.ErrInvalidDeviceFunction
	}
	var params []shim.ParamInfo
	for i := 0; i < 4096; i++ {
		var off, size C.size_t
		r := C.cu_paraminfo(f, C.size_t(i), &off, &size)
		if r == 801 {
			return 0, nil, shim.ErrNotSupported
		}
		if r != 0 { // past the last parameter
			break
		}
		params = append(params, shim.ParamInfo{Offset: uint32(off), Size: uint32(size)})
	}
	c.addFunction(mod, uintptr(f), cc)
	return uintptr(f), params, shim.OK
}

// LaunchPacked launches fn with the packed parameters. The driver copies them during the
// call, so the bytes and the layout are handed over where they are, with no copy per launch.
func (b *Backend) LaunchPacked(fn uintptr, params []shim.ParamInfo, lc shim.LaunchConfig, args []byte) shim.Status {
	ts := shim.Thread() // once: each look-up of the thread's state is a call into C
	return b.LaunchPackedOn(ts, ts.Issuing, fn, params, lc, args)
}

// LaunchPackedOn is LaunchPacked for a caller that has the thread's state (ts) and the stream
// the launch is issued on (s) at hand (shim.IssuingLauncher).
func (b *Backend) LaunchPackedOn(ts *shim.ThreadState, s *shim.Stream, fn uintptr, params []shim.ParamInfo, lc shim.LaunchConfig, args []byte) shim.Status {
	c := b.callerOf(ts)
	cc, ok := c.function(fn)
	if !ok {
		return shim.ErrInvalidDeviceFunction
	}
	rs, st := c.streamOf(cc, s)
	if st != shim.OK {
		return st
	}
	return launchIn(cc, rs, fn, params, lc, args)
}

// launchIn launches fn in cc on driver stream rs (cu_launch makes its context current).
func launchIn(cc *C.struct_cctx, rs unsafe.Pointer, fn uintptr, params []shim.ParamInfo, lc shim.LaunchConfig, args []byte) shim.Status {
	for _, p := range params {
		if uint64(p.Offset)+uint64(p.Size) > uint64(len(args)) {
			return shim.ErrInvalidValue
		}
	}
	// Every pointer goes to C as an address: cgo checks each pointer argument with a heap
	// lookup, six per launch. The argument block, its layout and the attributes hold no Go
	// pointers and stay where they are until the call returns; the rest is C's memory.
	var argp, layout, attrp uintptr // layout: shim.ParamInfo is two uint32s, the (offset, size) pairs cu_launch reads
	if len(args) > 0 {
		argp = uintptr(unsafe.Pointer(&args[0]))
	}
	if len(params) > 0 {
		layout = uintptr(unsafe.Pointer(&params[0]))
	}
	// Launch attributes go to cuLaunchKernelEx in the program's own layout.
	if len(lc.Attrs) > shim.MaxLaunchAttrs {
		return shim.ErrInvalidValue
	}
	var packed []byte
	if len(lc.Attrs) > 0 {
		packed = shim.AppendLaunchAttrs(make([]byte, 0, len(lc.Attrs)*shim.LaunchAttrSize), lc.Attrs)
		attrp = uintptr(unsafe.Pointer(&packed[0]))
	}
	g, bl := lc.Grid, lc.Block
	r := C.cu_launch(C.uintptr_t(uintptr(unsafe.Pointer(cc))), C.uintptr_t(uintptr(rs)), C.uintptr_t(fn), C.uint(g.X), C.uint(g.Y), C.uint(g.Z), C.uint(bl.X), C.uint(bl.Y), C.uint(bl.Z), C.uint(lc.Shared),
		C.uintptr_t(argp), C.uintptr_t(layout), C.int(len(params)), C.uintptr_t(attrp), C.int(len(lc.Attrs)))
	runtime.KeepAlive(args)
	runtime.KeepAlive(params)
	runtime.KeepAlive(packed)
	if r != 0 {
		shim.Log().Warnw("cuLaunchKernel failed", "result", int(r), "attributes", len(lc.Attrs))
		return launchStatus(r)
	}
	return shim.OK
}

// launchStatus maps the driver's launch errors onto the model's.
func launchStatus(r C.int) shim.Status {
	switch r {
	case 1:
		return shim.ErrInvalidValue
	case 701: // CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES
		return shim.ErrLaunchOutOfResources
	case 720: // CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE: the GPU's occupancy is below the model's
		return shim.ErrCooperativeTooLarge
	case 801: // CUDA_ERROR_NOT_SUPPORTED: attributes with no cuLaunchKernelEx, or one the GPU lacks
		return shim.ErrNotSupported
	case 912: // CUDA_ERROR_INVALID_CLUSTER_SIZE: a cluster attribute the grid does not divide into
		return shim.ErrInvalidValue
	}
	return shim.ErrLaunchFailure
}

// homeStream is c's home context and, in it, the driver stream of the stream the work is
// issued on (nil: the context's NULL stream).
func (b *Backend) homeStream(c *client) (*C.struct_cctx, unsafe.Pointer, shim.Status) {
	cc, st := b.homeCtx(c)
	if st != shim.OK {
		return nil, nil, st
	}
	rs, st := c.streamIn(cc)
	return cc, rs, st
}

// contexts is a snapshot of c's contexts, to wait on without holding c.mu.
func (c *client) contexts() []*C.struct_cctx {
	c.mu.Lock()
	defer c.mu.Unlock()
	ccs := make([]*C.struct_cctx, 0, len(c.ctxs))
	for _, cc := range c.ctxs {
		ccs = append(ccs, cc)
	}
	return ccs
}
