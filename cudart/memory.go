package cudart

import (
	"unsafe"

	"vgpu/shim"
)

// MemGetInfo is cudaMemGetInfo: free and total of the current device, as cuMemGetInfo and
// NVML report them.
func MemGetInfo(free, total unsafe.Pointer) Error {
	d, e := currentDevice()
	if e != Success {
		return e
	}
	if free == nil || total == nil {
		return ErrorInvalidValue
	}
	shim.PutU64(free, d.Free())
	shim.PutU64(total, d.Total())
	return Success
}

func alloc(out unsafe.Pointer, size uint64, kind shim.MemKind) Error {
	d, e := currentDevice()
	if e != Success {
		return e
	}
	if out == nil {
		return ErrorInvalidValue
	}
	if size == 0 { // CUDA succeeds with a NULL pointer
		shim.PutPtr(out, 0)
		return Success
	}
	a, st := shim.AllocDevice(d, size, kind)
	if st != shim.OK {
		return From(st)
	}
	shim.PutPtr(out, a.Base)
	return Success
}

// Malloc is cudaMalloc.
func Malloc(out unsafe.Pointer, size uint64) Error { return alloc(out, size, shim.MemDevice) }

// MallocManaged is cudaMallocManaged: device memory the host may also touch.
func MallocManaged(out unsafe.Pointer, size uint64, flags uint32) Error {
	if flags != 1 && flags != 2 { // cudaMemAttachGlobal, cudaMemAttachHost
		return ErrorInvalidValue
	}
	return alloc(out, size, shim.MemManaged)
}

// MallocAsync is cudaMallocAsync; sim allocation is immediate, and on a capturing stream
// it is a memory allocation node of the capture's graph (captureAlloc).
func MallocAsync(out unsafe.Pointer, size uint64, stream uintptr) Error {
	s, e := resolveStream(stream)
	if e != Success {
		return e
	}
	if s.Capturing() != nil {
		return captureAlloc(out, size, s)
	}
	d, e := currentDevice()
	if e != Success {
		return e
	}
	return mallocFrom(out, size, shim.CurrentPool(d))
}

// mallocFrom is a stream-ordered allocation from pool p (shim.AllocFromPool).
func mallocFrom(out unsafe.Pointer, size uint64, p *shim.MemPool) Error {
	if out == nil || size == 0 {
		return ErrorInvalidValue
	}
	a, st := shim.AllocFromPool(p, size)
	if st != shim.OK {
		return From(st)
	}
	shim.PutPtr(out, a.Base)
	return Success
}

// captureAlloc is a stream-ordered allocation on capturing stream s: a memory allocation
// node whose address is fixed now (shim.Stream.CaptureAlloc).
func captureAlloc(out unsafe.Pointer, size uint64, s *shim.Stream) Error {
	if out == nil || size == 0 {
		return ErrorInvalidValue
	}
	p, st := s.CaptureAlloc(size)
	if st != shim.OK {
		return From(st)
	}
	shim.PutPtr(out, p)
	return Success
}

// MallocPitch is cudaMallocPitch: rows padded to 512 bytes.
func MallocPitch(out, pitch unsafe.Pointer, width, height uint64) Error {
	if pitch == nil || width > 1<<40 || height > 1<<40 {
		return ErrorInvalidValue
	}
	p := (width + 511) &^ 511
	size, ok := shim.MulAdd(p, height, 0)
	if !ok {
		return ErrorMemoryAllocation
	}
	if e := alloc(out, size, shim.MemDevice); e != Success {
		return e
	}
	shim.PutU64(pitch, p)
	return Success
}

// Free is cudaFree: NULL is a no-op; anything not returned by cudaMalloc is InvalidValue.
func Free(p uintptr) Error {
	if _, e := begin(); e != Success {
		return e
	}
	if p == 0 {
		return Success
	}
	shim.PoolForget(p) // before the address can be reused by another allocation
	return From(shim.FreeDevice(p))
}

// FreeAsync is cudaFreeAsync.
func FreeAsync(p uintptr, stream uintptr) Error {
	s, e := resolveStream(stream)
	if e != Success {
		return e
	}
	if s.Capturing() != nil { // a memory free node of the capture's graph
		return From(s.CaptureFree(p))
	}
	return Free(p)
}

// HostAlloc is cudaHostAlloc.
func HostAlloc(out unsafe.Pointer, size uint64, flags uint32) Error {
	if _, e := currentDevice(); e != Success {
		return e
	}
	if out == nil || flags&^0xf != 0 {
		return ErrorInvalidValue
	}
	if size == 0 {
		shim.PutPtr(out, 0)
		return Success
	}
	a, st := shim.AllocHost(size, flags)
	if st != shim.OK {
		return From(st)
	}
	shim.PutPtr(out, a.Base)
	return Success
}

// MallocHost is cudaMallocHost.
func MallocHost(out unsafe.Pointer, size uint64) Error { return HostAlloc(out, size, 0) }

// FreeHost is cudaFreeHost.
func FreeHost(p uintptr) Error {
	if _, e := begin(); e != Success {
		return e
	}
	if p == 0 {
		return Success
	}
	return From(shim.FreeHost(p))
}

// HostGetDevicePointer is cudaHostGetDevicePointer: unified addressing maps pinned memory
// at the same address.
func HostGetDevicePointer(out unsafe.Pointer, host uintptr, flags uint32) Error {
	if _, e := currentDevice(); e != Success {
		return e
	}
	a := shim.S().Mem.Find(host)
	if out == nil || flags != 0 || a == nil || (a.Kind != shim.MemHost && a.Kind != shim.MemRegistered) {
		return ErrorInvalidValue
	}
	shim.PutPtr(out, shim.HostDevicePointer(a, host))
	return Success
}

// HostRegister is cudaHostRegister.
func HostRegister(p uintptr, size uint64, flags uint32) Error {
	if _, e := currentDevice(); e != Success {
		return e
	}
	if flags&^0xf != 0 {
		return ErrorInvalidValue
	}
	return From(shim.RegisterHost(p, size, flags))
}

// HostUnregister is cudaHostUnregister.
func HostUnregister(p uintptr) Error {
	if _, e := begin(); e != Success {
		return e
	}
	return From(shim.UnregisterHost(p))
}

// Memset is cudaMemset.
func Memset(p uintptr, value int32, n uint64) Error { return MemsetAsync(p, value, n, 0) }

// MemsetAsync is cudaMemsetAsync.
func MemsetAsync(p uintptr, value int32, n uint64, stream uintptr) Error {
	s, e := resolveStream(stream)
	if e != Success {
		return e
	}
	return From(shim.Memset(s, p, byte(value), n))
}

// Memcpy is cudaMemcpy.
func Memcpy(dst, src uintptr, n uint64, kind int32) Error { return MemcpyAsync(dst, src, n, kind, 0) }

// MemcpyAsync is cudaMemcpyAsync.
func MemcpyAsync(dst, src uintptr, n uint64, kind int32, stream uintptr) Error {
	s, e := resolveStream(stream)
	if e != Success {
		return e
	}
	return From(shim.Memcpy(s, dst, src, n, kind))
}

// Memcpy2D is cudaMemcpy2D.
func Memcpy2D(dst uintptr, dpitch uint64, src uintptr, spitch, width, height uint64, kind int32) Error {
	return Memcpy2DAsync(dst, dpitch, src, spitch, width, height, kind, 0)
}

// Pitches2D checks the pitches of a cudaMemcpy2D (in-process and remote alike). Over rows,
// both must cover the width (cudaErrorInvalidPitchValue). One row: NVIDIA's runtime leaves
// them to the driver, which takes a zero pitch as the row's width and refuses a narrower one
// with INVALID_VALUE (as seen on an H200), so the runtime answers cudaErrorInvalidValue.
func Pitches2D(dpitch, spitch, width, height uint64) (uint64, uint64, Error) {
	if height <= 1 {
		if dpitch == 0 {
			dpitch = width
		}
		if spitch == 0 {
			spitch = width
		}
		if width > dpitch || width > spitch {
			return 0, 0, ErrorInvalidValue
		}
	}
	if width > dpitch || width > spitch {
		return 0, 0, ErrorInvalidPitchValue
	}
	return dpitch, spitch, Success
}

// Memcpy2DAsync is cudaMemcpy2DAsync.
func Memcpy2DAsync(dst uintptr, dpitch uint64, src uintptr, spitch, width, height uint64, kind int32, stream uintptr) Error {
	s, e := resolveStream(stream)
	if e != Success {
		return e
	}
	dpitch, spitch, e = Pitches2D(dpitch, spitch, width, height)
	if e != Success {
		return e
	}
	return From(shim.Memcpy2D(s, dst, dpitch, src, spitch, width, height, kind))
}

// MemcpyPeer is cudaMemcpyPeer.
func MemcpyPeer(dst uintptr, dstDev int32, src uintptr, srcDev int32, n uint64) Error {
	return MemcpyPeerAsync(dst, dstDev, src, srcDev, n, 0)
}

// MemcpyPeerAsync is cudaMemcpyPeerAsync: a device-to-device copy between two devices.
func MemcpyPeerAsync(dst uintptr, dstDev int32, src uintptr, srcDev int32, n uint64, stream uintptr) Error {
	if _, e := deviceAt(dstDev); e != Success {
		return e
	}
	if _, e := deviceAt(srcDev); e != Success {
		return e
	}
	return MemcpyAsync(dst, src, n, shim.DeviceToDevice, stream)
}

// Offsets in cudaMemcpy3DParms / cudaMemcpy3DPeerParms (identical in CUDA 12 and 13).
type copy3D struct {
	srcArray, srcPos, srcPtr, dstArray, dstPos, dstPtr, extent int
	srcDev, dstDev, kind                                       int
}

var (
	layout3D     = copy3D{0, 8, 32, 64, 72, 96, 128, -1, -1, 152}
	layout3DPeer = copy3D{0, 8, 32, 72, 80, 104, 144, 64, 136, -1}
)

func memcpy3D(p unsafe.Pointer, l copy3D, size int, stream uintptr) Error {
	s, e := resolveStream(stream)
	if e != Success {
		return e
	}
	return Slices3D(p, l == layout3DPeer, localResolver, func(dst uintptr, dpitch uint64, src uintptr, spitch, w, h uint64, kind int32) Error {
		return From(shim.Memcpy2D(s, dst, dpitch, src, spitch, w, h, kind))
	})
}

// end3D is one side of a 3D copy: a pitched pointer, or a CUDA array seen as one.
type end3D struct {
	ptr             uintptr
	pitch, rows     uint64
	x, y, z         uint64 // position in bytes, rows, slices
	arr             bool
	arrRows, arrDep uint64
}

// Slices3D checks a cudaMemcpy3DParms (or, with peer, a cudaMemcpy3DPeerParms) and makes
// the copy one pitched 2D copy per z slice, through slice. Either end may be a CUDA array
// (res finds its layout); then the extent and that end's x are in elements, and the block
// must lie inside the array.
func Slices3D(p unsafe.Pointer, peer bool, res Resolver, slice func(dst uintptr, dpitch uint64, src uintptr, spitch, w, h uint64, kind int32) Error) Error {
	l, size := layout3D, 160
	if peer {
		l, size = layout3DPeer, 168
	}
	if p == nil {
		return ErrorInvalidValue
	}
	b := shim.View(p, size)
	u := func(off int) uint64 { return shim.Le.Uint64(b[off:]) }
	kind := int32(shim.CopyDefault)
	if l.kind >= 0 {
		kind = int32(shim.Le.Uint32(b[l.kind:]))
	} else {
		for _, off := range []int{l.srcDev, l.dstDev} {
			if _, e := deviceAt(int32(shim.Le.Uint32(b[off:]))); e != Success {
				return e
			}
		}
	}
	elem := uint64(1)
	side := func(arrOff, posOff, ptrOff int) (end3D, Error) {
		pos := end3D{x: u(posOff), y: u(posOff + 8), z: u(posOff + 16)}
		h := uintptr(u(arrOff))
		if h == 0 {
			pos.ptr, pos.pitch, pos.rows = uintptr(u(ptrOff)), u(ptrOff+8), u(ptrOff+24)
			return pos, Success
		}
		if u(ptrOff) != 0 { // an array and a pointer on one side
			return pos, ErrorInvalidValue
		}
		al, e := res(h)
		if e != Success {
			return pos, e
		}
		if elem != 1 && elem != al.Elem {
			return pos, ErrorInvalidValue
		}
		elem = al.Elem
		pos.arr, pos.ptr, pos.pitch, pos.rows, pos.arrRows, pos.arrDep = true, uintptr(al.Base), al.Pitch, al.Rows, al.Rows, al.Depth
		return pos, Success
	}
	src, e := side(l.srcArray, l.srcPos, l.srcPtr)
	if e != Success {
		return e
	}
	dst, e := side(l.dstArray, l.dstPos, l.dstPtr)
	if e != Success {
		return e
	}
	w, h, depth := u(l.extent), u(l.extent+8), u(l.extent+16)
	if w == 0 || h == 0 || depth == 0 {
		return Success
	}
	w, wok := shim.MulAdd(w, elem, 0)
	if !wok || w > src.pitch || w > dst.pitch || h > 1<<32 || depth > 1<<32 {
		return ErrorInvalidValue
	}
	for _, end := range []*end3D{&src, &dst} {
		if !end.arr {
			// Slices lie rows apart: with fewer rows than the block, they overlap (with none,
			// every slice is the first, and a depth of 2^32 copies one slice 2^32 times).
			if depth > 1 && (end.y > end.rows || h > end.rows-end.y) {
				return ErrorInvalidValue
			}
			continue
		}
		x, ok := shim.MulAdd(end.x, elem, 0)
		if !ok || x > end.pitch || w > end.pitch-x || end.y > end.arrRows || h > end.arrRows-end.y || end.z > end.arrDep || depth > end.arrDep-end.z {
			return ErrorInvalidValue
		}
		end.x = x
	}
	for z := uint64(0); z < depth; z++ {
		so, sok := offset3D(src.x, src.y, src.z, z, src.pitch, src.rows)
		do, dok := offset3D(dst.x, dst.y, dst.z, z, dst.pitch, dst.rows)
		if !sok || !dok {
			return ErrorInvalidValue
		}
		if e := slice(dst.ptr+uintptr(do), dst.pitch, src.ptr+uintptr(so), src.pitch, w, h, kind); e != Success {
			return e
		}
	}
	return Success
}

// offset3D is the byte offset of slice dz past position (x, y, z) in a pitched volume of
// rows rows per slice, or false when it does not fit in 64 bits.
func offset3D(x, y, z, dz, pitch, rows uint64) (uint64, bool) {
	z, ok0 := shim.MulAdd(z, 1, dz)
	slice, ok1 := shim.MulAdd(pitch, rows, 0)
	row, ok2 := shim.MulAdd(y, pitch, x)
	off, ok3 := shim.MulAdd(z, slice, row)
	return off, ok0 && ok1 && ok2 && ok3
}

// Memcpy3D is cudaMemcpy3D: pitched pointers or CUDA arrays.
func Memcpy3D(p unsafe.Pointer) Error { return memcpy3D(p, layout3D, 160, 0) }

// Memcpy3DAsync is cudaMemcpy3DAsync.
func Memcpy3DAsync(p unsafe.Pointer, stream uintptr) Error { return memcpy3D(p, layout3D, 160, stream) }

// Memcpy3DPeer is cudaMemcpy3DPeer.
func Memcpy3DPeer(p unsafe.Pointer) Error { return memcpy3D(p, layout3DPeer, 168, 0) }

// Memcpy3DPeerAsync is cudaMemcpy3DPeerAsync.
func Memcpy3DPeerAsync(p unsafe.Pointer, stream uintptr) Error {
	return memcpy3D(p, layout3DPeer, 168, stream)
}

// PointerGetAttributes is cudaPointerGetAttributes. Only the 24 bytes both majors share
// are written: CUDA 13 appended reserved space a CUDA 12 caller does not have.
func PointerGetAttributes(attr unsafe.Pointer, p uintptr) Error {
	if _, e := begin(); e != Success {
		return e
	}
	if attr == nil {
		return ErrorInvalidValue
	}
	b := shim.View(attr, 24)
	for i := range b {
		b[i] = 0
	}
	device := int32(-1)
	a := shim.S().Mem.Find(p)
	var typ uint32 // cudaMemoryTypeUnregistered
	var devPtr, hostPtr uint64
	switch {
	case a == nil:
		hostPtr = uint64(p)
	case a.Kind == shim.MemManaged:
		typ, devPtr, hostPtr = 3, uint64(p), uint64(p)
		device = int32(shim.S().Ordinal(a.Dev))
	case a.OnDevice():
		typ, devPtr = 2, uint64(p)
		device = int32(shim.S().Ordinal(a.Dev))
	case a.Kind == shim.MemHost || a.Kind == shim.MemRegistered:
		typ, devPtr, hostPtr = 1, uint64(shim.HostDevicePointer(a, p)), uint64(p)
		device = 0
	default:
		return ErrorInvalidValue
	}
	shim.Le.PutUint32(b[0:], typ)
	shim.Le.PutUint32(b[4:], uint32(device))
	shim.Le.PutUint64(b[8:], devPtr)
	shim.Le.PutUint64(b[16:], hostPtr)
	return Success
}
