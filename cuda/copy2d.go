package cuda

import (
	"unsafe"

	"vgpu/shim"
)

// Pitched copies through the driver API's descriptors (CUDA_MEMCPY2D, CUDA_MEMCPY3D): each
// side is host, device or unified memory at a byte offset (x, y, z) into a pitched buffer, or
// a CUDA array (shim/array.go) at byte x, row y, slice z, its pitch and rows the array's own.
// An array is resolved through an ArrayResolver: in process, the caller's own (owner-aware);
// a remote client asks the server, which answers for that client's arrays only.

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

// ArrayResolver finds the caller's array's layout: here, or on the server.
type ArrayResolver func(h uintptr) (shim.ArrayLayout, Result)

// LocalArrays resolves the calling client's own arrays in this process.
func LocalArrays(h uintptr) (shim.ArrayLayout, Result) {
	a, ok := shim.LookupArray(h)
	if !ok {
		return shim.ArrayLayout{}, ErrorInvalidHandle
	}
	return a.Layout(), Success
}

// end is one side of a descriptor: its base address and memory type; for an array, its layout.
type end struct {
	base  uintptr
	mtype int32
	arr   *shim.ArrayLayout
}

// side reads one side of a descriptor: its memory type at t, host pointer at host, device
// pointer at host+8, array at host+16.
func side(b []byte, t, host int, res ArrayResolver) (end, Result) {
	switch mt := int32(shim.Le.Uint32(b[t:])); mt {
	case memHost:
		return end{base: uintptr(shim.Le.Uint64(b[host:])), mtype: mt}, Success
	case memDevice, memUnified:
		return end{base: uintptr(shim.Le.Uint64(b[host+8:])), mtype: mt}, Success
	case memArray:
		l, r := res(uintptr(shim.Le.Uint64(b[host+16:])))
		if r != Success {
			return end{}, r
		}
		return end{base: uintptr(l.Base), mtype: memDevice, arr: &l}, Success
	}
	return end{}, ErrorInvalidValue
}

// fit places a w-byte by h-row by d-slice block at byte x, row y, slice z of an end: an
// array's own pitch and rows, the whole block inside it; else the descriptor's pitch and
// height. It returns the block's first address, pitch and rows per slice.
func (e end) fit(x, y, z, w, h, d, pitch, height uint64) (uintptr, uint64, uint64, bool) {
	if a := e.arr; a != nil {
		if x > a.Pitch || w > a.Pitch-x || y > a.Rows || h > a.Rows-y || z > a.Depth || d > a.Depth-z {
			return 0, 0, 0, false
		}
		return e.base + uintptr(z*a.Rows*a.Pitch+y*a.Pitch+x), a.Pitch, a.Rows, true
	}
	off, ok := offset(x, y, z, pitch, height)
	return e.base + uintptr(off), pitch, height, ok
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
func Copy2DAt(p unsafe.Pointer, res ArrayResolver) (Copy2D, Result) {
	if p == nil {
		return Copy2D{}, ErrorInvalidValue
	}
	b := shim.View(p, 128)
	src, r := side(b, 16, 24, res)
	if r != Success {
		return Copy2D{}, r
	}
	dst, r := side(b, 72, 80, res)
	if r != Success {
		return Copy2D{}, r
	}
	w, h := shim.Le.Uint64(b[112:]), shim.Le.Uint64(b[120:])
	sp, dp := shim.Le.Uint64(b[48:]), shim.Le.Uint64(b[104:])
	// One row needs no pitch: a zero pitch stands for the row's width. A pitch narrower than the
	// row is refused even then, as NVIDIA's driver does (INVALID_VALUE, seen on an H200).
	if h <= 1 && sp == 0 {
		sp = w
	}
	if h <= 1 && dp == 0 {
		dp = w
	}
	sa, sp, _, ok1 := src.fit(shim.Le.Uint64(b[0:]), shim.Le.Uint64(b[8:]), 0, w, h, 1, sp, 0)
	da, dp, _, ok2 := dst.fit(shim.Le.Uint64(b[56:]), shim.Le.Uint64(b[64:]), 0, w, h, 1, dp, 0)
	if !ok1 || !ok2 || w > sp || w > dp {
		return Copy2D{}, ErrorInvalidValue
	}
	return Copy2D{Dst: da, Src: sa, DPitch: dp, SPitch: sp, W: w, H: h, Kind: copyKind(dst.mtype, src.mtype)}, Success
}

// Copy3DAt reads a CUDA_MEMCPY3D (200 bytes; CUDA_MEMCPY3D_PEER has the same layout, its
// contexts where this one reserves a pointer) as one pitched copy per slice: per side x
// (0/88), y (8/96), z (16/104), memory type (32/120), host, device and array pointers
// (40/128...), pitch (72/160) and height (80/168); then width (176), height (184) and
// depth (192).
func Copy3DAt(p unsafe.Pointer, res ArrayResolver) ([]Copy2D, Result) {
	if p == nil {
		return nil, ErrorInvalidValue
	}
	b := shim.View(p, 200)
	src, r := side(b, 32, 40, res)
	if r != Success {
		return nil, r
	}
	dst, r := side(b, 120, 128, res)
	if r != Success {
		return nil, r
	}
	w, h, d := shim.Le.Uint64(b[176:]), shim.Le.Uint64(b[184:]), shim.Le.Uint64(b[192:])
	sp, sh, dp, dh := shim.Le.Uint64(b[72:]), shim.Le.Uint64(b[80:]), shim.Le.Uint64(b[160:]), shim.Le.Uint64(b[168:])
	if h <= 1 && d <= 1 {
		sp, dp = max(sp, w), max(dp, w)
	}
	if d > 1<<20 {
		return nil, ErrorInvalidValue
	}
	sa, sp, sh, ok1 := src.fit(shim.Le.Uint64(b[0:]), shim.Le.Uint64(b[8:]), shim.Le.Uint64(b[16:]), w, h, max(d, 1), sp, sh)
	da, dp, dh, ok2 := dst.fit(shim.Le.Uint64(b[88:]), shim.Le.Uint64(b[96:]), shim.Le.Uint64(b[104:]), w, h, max(d, 1), dp, dh)
	if !ok1 || !ok2 || w > sp || w > dp || (d > 1 && (h > sh || h > dh)) {
		return nil, ErrorInvalidValue
	}
	var out []Copy2D
	for z := uint64(0); z < d && w > 0 && h > 0; z++ {
		so, ok1 := shim.MulAdd(z, sh*sp, 0) // sh*sp: checked against the buffers' sizes by the copy
		do, ok2 := shim.MulAdd(z, dh*dp, 0)
		if !ok1 || !ok2 || (sh != 0 && sp > ^uint64(0)/sh) || (dh != 0 && dp > ^uint64(0)/dh) {
			return nil, ErrorInvalidValue
		}
		out = append(out, Copy2D{Dst: da + uintptr(do), Src: sa + uintptr(so), DPitch: dp, SPitch: sp, W: w, H: h, Kind: copyKind(dst.mtype, src.mtype)})
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
	c, r := Copy2DAt(p, LocalArrays)
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
	cs, r := Copy3DAt(p, LocalArrays)
	if r != Success {
		return r
	}
	return copies(cs, h)
}

// MemcpyCU is cuMemcpy (unified addresses; the name the remote client's form shares).
func MemcpyCU(dst, src uint64, n uint64) Result { return Memcpy(dst, src, n) }

// MemcpyAsyncCU is cuMemcpyAsync.
func MemcpyAsyncCU(dst, src uint64, n uint64, h uintptr) Result { return MemcpyAsync(dst, src, n, h) }

// The pre-3.2 descriptors (what the unversioned cuMemcpy2D, cuMemcpy2DAsync,
// cuMemcpy2DUnaligned, cuMemcpy3D and cuMemcpy3DAsync take): offsets, pitches, heights and
// extents are unsigned int and CUdeviceptr is 32 bits, so the layout differs from the v2
// structs. Widened field by field into the current form, the copy follows the same rules.
//   CUDA_MEMCPY2D (pre-3.2), 96 bytes: per side x, y, memory type (0/44, 4/48, 8/52), host
//   pointer (16/56), 32-bit device pointer (24/64), array (32/72), pitch (40/80); width 84,
//   height 88.
//   CUDA_MEMCPY3D (pre-3.2), 144 bytes: per side x, y, z, lod, memory type (0..16 / 64..80),
//   host pointer (24/88), 32-bit device pointer (32/96), array (40/104), reserved (48/112),
//   pitch and height (56, 60 / 120, 124); width 128, height 132, depth 136.

// field is one field's offset in the old form, its size there (4 or 8) and its offset now.
type field struct{ from, size, to int }

var (
	old2D = []field{{0, 4, 0}, {4, 4, 8}, {8, 4, 16}, {16, 8, 24}, {24, 4, 32}, {32, 8, 40}, {40, 4, 48},
		{44, 4, 56}, {48, 4, 64}, {52, 4, 72}, {56, 8, 80}, {64, 4, 88}, {72, 8, 96}, {80, 4, 104}, {84, 4, 112}, {88, 4, 120}}
	old3D = []field{{0, 4, 0}, {4, 4, 8}, {8, 4, 16}, {12, 4, 24}, {16, 4, 32}, {24, 8, 40}, {32, 4, 48}, {40, 8, 56}, {56, 4, 72}, {60, 4, 80},
		{64, 4, 88}, {68, 4, 96}, {72, 4, 104}, {76, 4, 112}, {80, 4, 120}, {88, 8, 128}, {96, 4, 136}, {104, 8, 144}, {120, 4, 160}, {124, 4, 168},
		{128, 4, 176}, {132, 4, 184}, {136, 4, 192}}
)

// widen copies an old descriptor of n bytes at p into the current form (nil for nil).
func widen(p unsafe.Pointer, n int, fs []field) unsafe.Pointer {
	if p == nil {
		return nil
	}
	b, out := shim.View(p, n), make([]byte, 200)
	for _, f := range fs {
		if f.size == 4 {
			shim.Le.PutUint64(out[f.to:], uint64(shim.Le.Uint32(b[f.from:])))
		} else {
			shim.Le.PutUint64(out[f.to:], shim.Le.Uint64(b[f.from:]))
		}
	}
	return unsafe.Pointer(&out[0])
}

// Widen2D is a pre-3.2 CUDA_MEMCPY2D in the current form; Widen3D a pre-3.2 CUDA_MEMCPY3D.
func Widen2D(p unsafe.Pointer) unsafe.Pointer { return widen(p, 96, old2D) }
func Widen3D(p unsafe.Pointer) unsafe.Pointer { return widen(p, 144, old3D) }

// Memcpy2D32 is cuMemcpy2D and cuMemcpy2DUnaligned (pre-3.2 descriptors).
func Memcpy2D32(p unsafe.Pointer) Result { return Memcpy2DCU(Widen2D(p)) }

// Memcpy2DAsync32 is cuMemcpy2DAsync.
func Memcpy2DAsync32(p unsafe.Pointer, h uintptr) Result { return Memcpy2DAsyncCU(Widen2D(p), h) }

// Memcpy3D32 is cuMemcpy3D.
func Memcpy3D32(p unsafe.Pointer) Result { return Memcpy3DCU(Widen3D(p)) }

// Memcpy3DAsync32 is cuMemcpy3DAsync.
func Memcpy3DAsync32(p unsafe.Pointer, h uintptr) Result { return Memcpy3DAsyncCU(Widen3D(p), h) }

// PeerContexts checks a CUDA_MEMCPY3D_PEER's two contexts (at 64 and 152): each must be one
// of the caller's. With one device per process, the copy is then a 3D copy.
func PeerContexts(p unsafe.Pointer) Result {
	if p == nil {
		return ErrorInvalidValue
	}
	b := shim.View(p, 200)
	for _, off := range []int{64, 152} {
		if _, ok := shim.Lookup[*shim.Context](shim.KindContext, uintptr(shim.Le.Uint64(b[off:]))); !ok {
			return ErrorInvalidContext
		}
	}
	return Success
}

// Memcpy3DPeerCU is cuMemcpy3DPeer.
func Memcpy3DPeerCU(p unsafe.Pointer) Result { return Memcpy3DPeerAsyncCU(p, 0) }

// Memcpy3DPeerAsyncCU is cuMemcpy3DPeerAsync.
func Memcpy3DPeerAsyncCU(p unsafe.Pointer, h uintptr) Result {
	if _, r := ctxDevice(); r != Success {
		return r
	}
	if r := PeerContexts(p); r != Success {
		return r
	}
	return Memcpy3DAsyncCU(p, h)
}

// Memcpy3DPeerPtdsCU is cuMemcpy3DPeer_ptds.
func Memcpy3DPeerPtdsCU(p unsafe.Pointer) Result {
	return ptds(func(h uintptr) Result { return Memcpy3DPeerAsyncCU(p, h) })
}

// Memcpy3DPeerAsyncPtszCU is cuMemcpy3DPeerAsync_ptsz.
func Memcpy3DPeerAsyncPtszCU(p unsafe.Pointer, h uintptr) Result {
	return Memcpy3DPeerAsyncCU(p, ptsz(h))
}
