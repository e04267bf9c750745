package cuda

import (
	"unsafe"

	"vgpu/shim"
)

// Pitched copies through the driver API's descriptors (CUDA_MEMCPY2D, CUDA_MEMCPY3D): each
// side is host, device or unified memory at a byte offset (x, y, z) into a pitched buffer.
// The model has no CUDA arrays, so a side that names one is not supported.

// CUmemorytype values.
const (
	memHost    = 1
	memDevice  = 2
	memArray   = 3
	memUnified = 4
)

// Copy2D is one pitched copy, as shim.Memcpy2D takes it.
type Copy2D struct {
	Dst, Src             uintptr
	DPitch, SPitch, W, H uint64
	Kind                 int32
}

// side reads one side of a descriptor: its memory type at t, host pointer at host, device
// pointer at host+8, array at host+16; returns the base address and whether it is device
// (or unified) memory.
func side(b []byte, t, host int) (uintptr, int32, Result) {
	switch shim.Le.Uint32(b[t:]) {
	case memHost:
		return uintptr(shim.Le.Uint64(b[host:])), memHost, Success
	case memDevice:
		return uintptr(shim.Le.Uint64(b[host+8:])), memDevice, Success
	case memUnified:
		return uintptr(shim.Le.Uint64(b[host+8:])), memUnified, Success
	case memArray:
		return 0, 0, ErrorNotSupported
	}
	return 0, 0, ErrorInvalidValue
}

// copyKind is the cudaMemcpyKind of a copy between two memory types (unified: inferred).
func copyKind(dst, src int32) int32 {
	if dst == memUnified || src == memUnified {
		return shim.CopyDefault
	}
	return map[[2]int32]int32{{memHost, memHost}: shim.HostToHost, {memDevice, memHost}: shim.HostToDevice,
		{memHost, memDevice}: shim.DeviceToHost, {memDevice, memDevice}: shim.DeviceToDevice}[[2]int32{dst, src}]
}

// offset is x + y*pitch (+ z*height*pitch), or false when it overflows.
func offset(x, y, z, pitch, height uint64) (uint64, bool) {
	rows, ok := shim.MulAdd(z, height, y)
	if !ok {
		return 0, false
	}
	return shim.MulAdd(rows, pitch, x)
}

// Copy2DAt reads a CUDA_MEMCPY2D (128 bytes): per side x (0/56), y (8/64), memory type
// (16/72), host, device and array pointers (24/80...), pitch (48/104); then width (112) and
// height (120).
func Copy2DAt(p unsafe.Pointer) (Copy2D, Result) {
	if p == nil {
		return Copy2D{}, ErrorInvalidValue
	}
	b := shim.View(p, 128)
	src, st, r := side(b, 16, 24)
	if r != Success {
		return Copy2D{}, r
	}
	dst, dt, r := side(b, 72, 80)
	if r != Success {
		return Copy2D{}, r
	}
	c := Copy2D{SPitch: shim.Le.Uint64(b[48:]), DPitch: shim.Le.Uint64(b[104:]), W: shim.Le.Uint64(b[112:]), H: shim.Le.Uint64(b[120:]), Kind: copyKind(dt, st)}
	// One row needs no pitch: a zero pitch stands for the row's width. A pitch narrower than the
	// row is refused even then, as NVIDIA's driver does (INVALID_VALUE, seen on an H200).
	if c.H <= 1 && c.SPitch == 0 {
		c.SPitch = c.W
	}
	if c.H <= 1 && c.DPitch == 0 {
		c.DPitch = c.W
	}
	so, ok1 := offset(shim.Le.Uint64(b[0:]), shim.Le.Uint64(b[8:]), 0, c.SPitch, 0)
	do, ok2 := offset(shim.Le.Uint64(b[56:]), shim.Le.Uint64(b[64:]), 0, c.DPitch, 0)
	if !ok1 || !ok2 || c.W > c.SPitch || c.W > c.DPitch {
		return Copy2D{}, ErrorInvalidValue
	}
	c.Src, c.Dst = src+uintptr(so), dst+uintptr(do)
	return c, Success
}

// Copy3DAt reads a CUDA_MEMCPY3D (200 bytes) as one pitched copy per slice: per side x
// (0/88), y (8/96), z (16/104), memory type (32/120), host, device and array pointers
// (40/128...), pitch (72/160) and height (80/168); then width (176), height (184) and
// depth (192).
func Copy3DAt(p unsafe.Pointer) ([]Copy2D, Result) {
	if p == nil {
		return nil, ErrorInvalidValue
	}
	b := shim.View(p, 200)
	src, st, r := side(b, 32, 40)
	if r != Success {
		return nil, r
	}
	dst, dt, r := side(b, 120, 128)
	if r != Success {
		return nil, r
	}
	w, h, d := shim.Le.Uint64(b[176:]), shim.Le.Uint64(b[184:]), shim.Le.Uint64(b[192:])
	sp, sh, dp, dh := shim.Le.Uint64(b[72:]), shim.Le.Uint64(b[80:]), shim.Le.Uint64(b[160:]), shim.Le.Uint64(b[168:])
	if h <= 1 && d <= 1 {
		sp, dp = max(sp, w), max(dp, w)
	}
	if w > sp || w > dp || (d > 1 && (h > sh || h > dh)) || d > 1<<20 {
		return nil, ErrorInvalidValue
	}
	var out []Copy2D
	for z := uint64(0); z < d && w > 0 && h > 0; z++ {
		so, ok1 := offset(shim.Le.Uint64(b[0:]), shim.Le.Uint64(b[8:]), shim.Le.Uint64(b[16:])+z, sp, sh)
		do, ok2 := offset(shim.Le.Uint64(b[88:]), shim.Le.Uint64(b[96:]), shim.Le.Uint64(b[104:])+z, dp, dh)
		if !ok1 || !ok2 {
			return nil, ErrorInvalidValue
		}
		out = append(out, Copy2D{Dst: dst + uintptr(do), Src: src + uintptr(so), DPitch: dp, SPitch: sp, W: w, H: h, Kind: copyKind(dt, st)})
	}
	return out, Success
}

func copies(cs []Copy2D, h uintptr) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	for _, c := range cs {
		if st := shim.Memcpy2D(s, c.Dst, c.DPitch, c.Src, c.SPitch, c.W, c.H, c.Kind); st != shim.OK {
			return From(st)
		}
	}
	return Success
}

// Memcpy2DCU is cuMemcpy2D_v2 (and cuMemcpy2DUnaligned_v2: the model needs no alignment).
func Memcpy2DCU(p unsafe.Pointer) Result { return Memcpy2DAsyncCU(p, 0) }

// Memcpy2DAsyncCU is cuMemcpy2DAsync_v2.
func Memcpy2DAsyncCU(p unsafe.Pointer, h uintptr) Result {
	if _, r := ctxDevice(); r != Success {
		return r
	}
	c, r := Copy2DAt(p)
	if r != Success {
		return r
	}
	return copies([]Copy2D{c}, h)
}

// Memcpy3DCU is cuMemcpy3D_v2.
func Memcpy3DCU(p unsafe.Pointer) Result { return Memcpy3DAsyncCU(p, 0) }

// Memcpy3DAsyncCU is cuMemcpy3DAsync_v2.
func Memcpy3DAsyncCU(p unsafe.Pointer, h uintptr) Result {
	if _, r := ctxDevice(); r != Success {
		return r
	}
	cs, r := Copy3DAt(p)
	if r != Success {
		return r
	}
	return copies(cs, h)
}

// MemcpyCU is cuMemcpy (unified addresses; the name the remote client's form shares).
func MemcpyCU(dst, src uint64, n uint64) Result { return Memcpy(dst, src, n) }

// MemcpyAsyncCU is cuMemcpyAsync.
func MemcpyAsyncCU(dst, src uint64, n uint64, h uintptr) Result { return MemcpyAsync(dst, src, n, h) }
