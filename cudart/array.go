package cudart

import (
	"unsafe"

	"vgpu/shim"
)

// CUDA arrays (issue 13): device memory with a layout. An array's storage is a MemArray
// range of its owner's device memory, rows packed (pitch = width in bytes); the array itself
// is a KindArray handle, resolved owner-aware like every handle, so a server's client can
// neither name nor free another's. Copies to and from arrays are pitched copies of that
// storage; only cudaFreeArray releases it (cudaFree refuses it).

// More of cudaError_t, for arrays and textures.
const (
	ErrorInvalidTexture           Error = 18
	ErrorInvalidChannelDescriptor Error = 20
)

// Array and ArrayLayout are the model's (shim/array.go), shared with the driver API.
type (
	Array       = shim.Array
	ArrayLayout = shim.ArrayLayout
)

// LayoutOf resolves the caller's array h (cudaErrorInvalidResourceHandle for anything else).
func LayoutOf(h uintptr) (ArrayLayout, Error) {
	if _, e := begin(); e != Success {
		return ArrayLayout{}, e
	}
	a, ok := shim.Lookup[*Array](shim.KindArray, h)
	if !ok {
		return ArrayLayout{}, ErrorInvalidResourceHandle
	}
	return a.Layout(), Success
}

// ChannelElem checks a cudaChannelFormatDesc as cudaMallocArray does (shim.ChannelElem) and
// returns the bytes of one element.
func ChannelElem(d [5]int32) (uint64, Error) {
	n, ok := shim.ChannelElem(d)
	if !ok {
		return 0, ErrorInvalidChannelDescriptor
	}
	return n, Success
}

func readDesc(p unsafe.Pointer) [5]int32 {
	b := shim.View(p, 20)
	var d [5]int32
	for i := range d {
		d[i] = int32(shim.Le.Uint32(b[4*i:]))
	}
	return d
}

func putDesc(p unsafe.Pointer, d [5]int32) {
	b := shim.View(p, 20)
	for i, v := range d {
		shim.Le.PutUint32(b[4*i:], uint32(v))
	}
}

// Array flags (cudaArray*): layered, surface load/store, cubemap, texture gather.
const (
	arrayLayered = shim.ArrayLayered
	arrayCubemap = shim.ArrayCubemap
)

// newArray makes an array of w x h x depth elements (0 for an absent dimension).
func newArray(out, desc unsafe.Pointer, w, h, depth uint64, flags uint32) Error {
	dev, e := currentDevice()
	if e != Success {
		return e
	}
	if out == nil || desc == nil {
		return ErrorInvalidValue
	}
	d := readDesc(desc)
	elem, e := ChannelElem(d)
	if e != Success {
		return e
	}
	if !shim.ArrayDimsOK(w, h, depth, flags) {
		return ErrorInvalidValue
	}
	f, n := shim.FormatOfDesc(d)
	arr := &Array{Desc: d, Format: f, Channels: n, Width: w, Height: h, Depth: depth, Flags: flags, Elem: elem}
	hd, st := shim.NewArray(dev, arr)
	if st != shim.OK {
		return From(st)
	}
	shim.PutPtr(out, hd)
	return Success
}

// MallocArray is cudaMallocArray: a 1D (height 0) or 2D array.
func MallocArray(out, desc unsafe.Pointer, width, height uint64, flags uint32) Error {
	if flags&arrayLayered != 0 || flags&arrayCubemap != 0 {
		return ErrorInvalidValue
	}
	return newArray(out, desc, width, height, 0, flags)
}

// extent reads a cudaExtent (width, height, depth).
func extent(p unsafe.Pointer) (w, h, d uint64) {
	b := shim.View(p, 24)
	return shim.Le.Uint64(b), shim.Le.Uint64(b[8:]), shim.Le.Uint64(b[16:])
}

// Malloc3DArray is cudaMalloc3DArray: 1D, 2D, 3D, layered or cubemap arrays.
func Malloc3DArray(out, desc, ext unsafe.Pointer, flags uint32) Error {
	if ext == nil { // passed by value in C; a remote client's frame may still carry none
		return ErrorInvalidValue
	}
	w, h, d := extent(ext)
	return newArray(out, desc, w, h, d, flags)
}

// FreeArray is cudaFreeArray: NULL is a no-op, as cudaFree's.
func FreeArray(h uintptr) Error {
	if _, e := begin(); e != Success {
		return e
	}
	if h == 0 {
		return Success
	}
	if st := shim.DestroyArray(h); st != shim.OK {
		return ErrorInvalidResourceHandle
	}
	return Success
}

// ArrayGetInfo is cudaArrayGetInfo: any output may be NULL.
func ArrayGetInfo(desc, ext, flags unsafe.Pointer, h uintptr) Error {
	if _, e := begin(); e != Success {
		return e
	}
	a, ok := shim.Lookup[*Array](shim.KindArray, h)
	if !ok {
		return ErrorInvalidResourceHandle
	}
	if desc != nil {
		putDesc(desc, a.Desc)
	}
	if ext != nil {
		b := shim.View(ext, 24)
		shim.Le.PutUint64(b, a.Width)
		shim.Le.PutUint64(b[8:], a.Height)
		shim.Le.PutUint64(b[16:], a.Depth)
	}
	if flags != nil {
		shim.PutU32(flags, a.Flags)
	}
	return Success
}

// GetChannelDesc is cudaGetChannelDesc.
func GetChannelDesc(desc unsafe.Pointer, h uintptr) Error {
	if desc == nil {
		return ErrorInvalidValue
	}
	return ArrayGetInfo(desc, nil, nil, h)
}

// CreateChannelDesc is cudaCreateChannelDesc: the struct of its arguments, unchecked.
func CreateChannelDesc(out unsafe.Pointer, x, y, z, w, f int32) {
	if out != nil {
		putDesc(out, [5]int32{x, y, z, w, f})
	}
}

// Copier2D makes one pitched copy: in process on a stream, or over a remote connection.
type Copier2D func(dst uintptr, dpitch uint64, src uintptr, spitch, w, h uint64, kind int32) Error

// Resolver finds the caller's array's layout: here, or on the server.
type Resolver func(h uintptr) (ArrayLayout, Error)

// region is the address of a w-byte by h-row block at byte x, row y of slice 0, or an error when
// the block leaves the array.
func region(l ArrayLayout, x, y, w, h uint64) (uintptr, Error) {
	if x > l.Pitch || w > l.Pitch-x || y > l.Rows || h > l.Rows-y {
		return 0, ErrorInvalidValue
	}
	return uintptr(l.Base + y*l.Pitch + x), Success
}

// towardArray and fromArray hold a copy's kind to its direction: an array is device memory.
func towardArray(kind int32) bool {
	return kind == shim.HostToDevice || kind == shim.DeviceToDevice || kind == shim.CopyDefault
}
func fromArray(kind int32) bool {
	return kind == shim.DeviceToHost || kind == shim.DeviceToDevice || kind == shim.CopyDefault
}

// ToArray2D is cudaMemcpy2DToArray's rule over any resolver and copier: width bytes by height
// rows from src (pitch spitch) to byte wOffset, row hOffset of the array.
func ToArray2D(res Resolver, cp Copier2D, dst uintptr, wOff, hOff uint64, src uintptr, spitch, width, height uint64, kind int32) Error {
	l, e := res(dst)
	if e != Success {
		return e
	}
	if !towardArray(kind) {
		return ErrorInvalidMemcpyDirection
	}
	if width > spitch {
		return ErrorInvalidPitchValue
	}
	p, e := region(l, wOff, hOff, width, height)
	if e != Success || width == 0 || height == 0 {
		return e
	}
	return cp(p, l.Pitch, src, spitch, width, height, kind)
}

// FromArray2D is cudaMemcpy2DFromArray's rule.
func FromArray2D(res Resolver, cp Copier2D, dst uintptr, dpitch uint64, src uintptr, wOff, hOff, width, height uint64, kind int32) Error {
	l, e := res(src)
	if e != Success {
		return e
	}
	if !fromArray(kind) {
		return ErrorInvalidMemcpyDirection
	}
	if width > dpitch {
		return ErrorInvalidPitchValue
	}
	p, e := region(l, wOff, hOff, width, height)
	if e != Success || width == 0 || height == 0 {
		return e
	}
	return cp(dst, dpitch, p, l.Pitch, width, height, kind)
}

// linear is the address count bytes from byte x, row y onward, read row after row through the
// whole array (rows are packed, so that is contiguous), or an error when it runs past the end.
func linear(l ArrayLayout, x, y, count uint64) (uintptr, Error) {
	total := l.Pitch * l.Rows * l.Depth
	if x >= l.Pitch || y >= l.Rows*l.Depth {
		return 0, ErrorInvalidValue
	}
	off := y*l.Pitch + x
	if count > total-off {
		return 0, ErrorInvalidValue
	}
	return uintptr(l.Base + off), Success
}

// ToArrayLinear is cudaMemcpyToArray's rule: count bytes into the array from (wOffset, hOffset).
func ToArrayLinear(res Resolver, cp Copier2D, dst uintptr, wOff, hOff uint64, src uintptr, count uint64, kind int32) Error {
	l, e := res(dst)
	if e != Success {
		return e
	}
	if !towardArray(kind) {
		return ErrorInvalidMemcpyDirection
	}
	p, e := linear(l, wOff, hOff, count)
	if e != Success || count == 0 {
		return e
	}
	return cp(p, count, src, count, count, 1, kind)
}

// FromArrayLinear is cudaMemcpyFromArray's rule.
func FromArrayLinear(res Resolver, cp Copier2D, dst uintptr, src uintptr, wOff, hOff, count uint64, kind int32) Error {
	l, e := res(src)
	if e != Success {
		return e
	}
	if !fromArray(kind) {
		return ErrorInvalidMemcpyDirection
	}
	p, e := linear(l, wOff, hOff, count)
	if e != Success || count == 0 {
		return e
	}
	return cp(dst, count, p, count, count, 1, kind)
}

// localResolver resolves arrays in this process (or, on a server, the calling client's).
func localResolver(h uintptr) (ArrayLayout, Error) { return LayoutOf(h) }

// onStream is a Copier2D on stream h of the current device.
func onStream(h uintptr) (Copier2D, Error) {
	s, e := resolveStream(h)
	if e != Success {
		return nil, e
	}
	return func(dst uintptr, dpitch uint64, src uintptr, spitch, w, rows uint64, kind int32) Error {
		return From(shim.Memcpy2D(s, dst, dpitch, src, spitch, w, rows, kind))
	}, Success
}

// Memcpy2DToArrayAsync is cudaMemcpy2DToArrayAsync.
func Memcpy2DToArrayAsync(dst uintptr, wOff, hOff uint64, src uintptr, spitch, width, height uint64, kind int32, stream uintptr) Error {
	cp, e := onStream(stream)
	if e != Success {
		return e
	}
	return ToArray2D(localResolver, cp, dst, wOff, hOff, src, spitch, width, height, kind)
}

// Memcpy2DToArray is cudaMemcpy2DToArray.
func Memcpy2DToArray(dst uintptr, wOff, hOff uint64, src uintptr, spitch, width, height uint64, kind int32) Error {
	return Memcpy2DToArrayAsync(dst, wOff, hOff, src, spitch, width, height, kind, 0)
}

// Memcpy2DFromArrayAsync is cudaMemcpy2DFromArrayAsync.
func Memcpy2DFromArrayAsync(dst uintptr, dpitch uint64, src uintptr, wOff, hOff, width, height uint64, kind int32, stream uintptr) Error {
	cp, e := onStream(stream)
	if e != Success {
		return e
	}
	return FromArray2D(localResolver, cp, dst, dpitch, src, wOff, hOff, width, height, kind)
}

// Memcpy2DFromArray is cudaMemcpy2DFromArray.
func Memcpy2DFromArray(dst uintptr, dpitch uint64, src uintptr, wOff, hOff, width, height uint64, kind int32) Error {
	return Memcpy2DFromArrayAsync(dst, dpitch, src, wOff, hOff, width, height, kind, 0)
}

// MemcpyToArrayAsync is cudaMemcpyToArrayAsync (deprecated by NVIDIA, still exported).
func MemcpyToArrayAsync(dst uintptr, wOff, hOff uint64, src uintptr, count uint64, kind int32, stream uintptr) Error {
	cp, e := onStream(stream)
	if e != Success {
		return e
	}
	return ToArrayLinear(localResolver, cp, dst, wOff, hOff, src, count, kind)
}

// MemcpyToArray is cudaMemcpyToArray.
func MemcpyToArray(dst uintptr, wOff, hOff uint64, src uintptr, count uint64, kind int32) Error {
	return MemcpyToArrayAsync(dst, wOff, hOff, src, count, kind, 0)
}

// MemcpyFromArrayAsync is cudaMemcpyFromArrayAsync.
func MemcpyFromArrayAsync(dst uintptr, src uintptr, wOff, hOff, count uint64, kind int32, stream uintptr) Error {
	cp, e := onStream(stream)
	if e != Success {
		return e
	}
	return FromArrayLinear(localResolver, cp, dst, src, wOff, hOff, count, kind)
}

// MemcpyFromArray is cudaMemcpyFromArray.
func MemcpyFromArray(dst uintptr, src uintptr, wOff, hOff, count uint64, kind int32) Error {
	return MemcpyFromArrayAsync(dst, src, wOff, hOff, count, kind, 0)
}

// Memcpy2DArrayToArray is cudaMemcpy2DArrayToArray: both ends are the caller's arrays, so the
// copy stays on the device (a server answers it whole).
func Memcpy2DArrayToArray(dst uintptr, wOffDst, hOffDst uint64, src uintptr, wOffSrc, hOffSrc, width, height uint64, kind int32) Error {
	cp, e := onStream(0)
	if e != Success {
		return e
	}
	dl, e := LayoutOf(dst)
	if e != Success {
		return e
	}
	sl, e := LayoutOf(src)
	if e != Success {
		return e
	}
	if kind != shim.DeviceToDevice && kind != shim.CopyDefault {
		return ErrorInvalidMemcpyDirection
	}
	dp, e := region(dl, wOffDst, hOffDst, width, height)
	if e != Success {
		return e
	}
	sp, e := region(sl, wOffSrc, hOffSrc, width, height)
	if e != Success || width == 0 || height == 0 {
		return e
	}
	return cp(dp, dl.Pitch, sp, sl.Pitch, width, height, shim.DeviceToDevice)
}

// MemcpyArrayToArray is cudaMemcpyArrayToArray: count bytes, row after row.
func MemcpyArrayToArray(dst uintptr, wOffDst, hOffDst uint64, src uintptr, wOffSrc, hOffSrc, count uint64, kind int32) Error {
	cp, e := onStream(0)
	if e != Success {
		return e
	}
	dl, e := LayoutOf(dst)
	if e != Success {
		return e
	}
	sl, e := LayoutOf(src)
	if e != Success {
		return e
	}
	if kind != shim.DeviceToDevice && kind != shim.CopyDefault {
		return ErrorInvalidMemcpyDirection
	}
	dp, e := linear(dl, wOffDst, hOffDst, count)
	if e != Success {
		return e
	}
	sp, e := linear(sl, wOffSrc, hOffSrc, count)
	if e != Success || count == 0 {
		return e
	}
	return cp(dp, count, sp, count, count, 1, shim.DeviceToDevice)
}

// Malloc3D is cudaMalloc3D: a pitched volume (rows padded to 512 bytes, as cudaMallocPitch),
// returned as a cudaPitchedPtr {ptr, pitch, xsize, ysize}.
func Malloc3D(out, ext unsafe.Pointer) Error {
	if out == nil || ext == nil {
		return ErrorInvalidValue
	}
	w, h, d := extent(ext)
	if w > 1<<40 || h > 1<<40 || d > 1<<40 {
		return ErrorInvalidValue
	}
	pitch := (w + 511) &^ 511
	rows, ok := shim.MulAdd(h, d, 0)
	size, ok2 := shim.MulAdd(pitch, rows, 0)
	if !ok || !ok2 {
		return ErrorMemoryAllocation
	}
	var p uintptr
	if e := alloc(unsafe.Pointer(&p), size, shim.MemDevice); e != Success {
		return e
	}
	b := shim.View(out, 32)
	shim.Le.PutUint64(b, uint64(p))
	shim.Le.PutUint64(b[8:], pitch)
	shim.Le.PutUint64(b[16:], w)
	shim.Le.PutUint64(b[24:], h)
	return Success
}

// MallocMipmappedArray is cudaMallocMipmappedArray (shim/array.go's model, which the driver's
// cuMipmappedArrayCreate shares).
func MallocMipmappedArray(out, desc, ext unsafe.Pointer, levels, flags uint32) Error {
	dev, e := currentDevice()
	if e != Success {
		return e
	}
	if out == nil || desc == nil || ext == nil {
		return ErrorInvalidValue
	}
	d := readDesc(desc)
	elem, e := ChannelElem(d)
	if e != Success {
		return e
	}
	w, h, depth := extent(ext)
	if !shim.ArrayDimsOK(w, h, depth, flags) {
		return ErrorInvalidValue
	}
	f, n := shim.FormatOfDesc(d)
	hd, st := shim.NewMipmap(dev, &Array{Desc: d, Format: f, Channels: n, Width: w, Height: h, Depth: depth, Flags: flags, Elem: elem}, levels)
	if st != shim.OK {
		return From(st)
	}
	shim.PutPtr(out, hd)
	return Success
}

// FreeMipmappedArray is cudaFreeMipmappedArray: NULL is a no-op, as cudaFreeArray's.
func FreeMipmappedArray(h uintptr) Error {
	if _, e := begin(); e != Success {
		return e
	}
	if h == 0 {
		return Success
	}
	if shim.DestroyMipmap(h) != shim.OK {
		return ErrorInvalidResourceHandle
	}
	return Success
}

// GetMipmappedArrayLevel is cudaGetMipmappedArrayLevel.
func GetMipmappedArrayLevel(out unsafe.Pointer, h uintptr, level uint32) Error {
	if _, e := begin(); e != Success {
		return e
	}
	if out == nil {
		return ErrorInvalidValue
	}
	a, st := shim.MipmapLevel(h, level)
	if st == shim.ErrInvalidHandle {
		return ErrorInvalidResourceHandle
	}
	if st != shim.OK {
		return ErrorInvalidValue
	}
	shim.PutPtr(out, a)
	return Success
}

// MipmappedArrayGetMemoryRequirements is cudaMipmappedArrayGetMemoryRequirements: only
// deferred-mapping mipmapped arrays have requirements; vgpu makes none.
func MipmappedArrayGetMemoryRequirements(out unsafe.Pointer, h uintptr, device int32) Error {
	if _, e := begin(); e != Success {
		return e
	}
	if _, ok := shim.LookupMipmap(h); !ok {
		return ErrorInvalidResourceHandle
	}
	if _, e := deviceAt(device); e != Success {
		return e
	}
	return ErrorInvalidValue
}

// MipmappedArrayGetSparseProperties is cudaMipmappedArrayGetSparseProperties: none is sparse.
func MipmappedArrayGetSparseProperties(out unsafe.Pointer, h uintptr) Error {
	if _, e := begin(); e != Success {
		return e
	}
	if _, ok := shim.LookupMipmap(h); !ok {
		return ErrorInvalidResourceHandle
	}
	return ErrorInvalidValue
}
