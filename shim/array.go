package shim

// CUDA arrays, shared by the driver API (cuArrayCreate, cuda/array.go) and the runtime
// (cudaMallocArray, cudart/array.go): one model, so an array made through either API is the
// same KindArray handle to both. An array's storage is a MemArray range of its owner's device
// memory, rows packed (pitch = width in bytes), resolved owner-aware like every handle, so a
// server's client can neither name nor free another's.

// Array is one CUDA array.
type Array struct {
	Storage              *Alloc
	Desc                 [5]int32 // cudaChannelFormatDesc: x, y, z, w (bits), f (kind)
	Format, Channels     uint32   // the driver's CUarray_format and NumChannels for the same element
	Width, Height, Depth uint64   // as created, in elements (0: the dimension is absent)
	Flags                uint32
	Elem                 uint64  // bytes per element
	Level                bool    // one level of a mipmapped array: freed with it, not alone
	Real                 uintptr // the driver's CUarray on a GPU backend (ArrayBackend), else 0
}

// ArrayLayout is where an array's elements lie: the storage's address, its row pitch in bytes
// (rows are packed), rows per slice and slices, and the element size. A remote client gets it
// from the server (OpArrayLayout) to move host memory itself.
type ArrayLayout struct {
	Base, Pitch, Rows, Depth, Elem uint64
}

// Layout is a's layout.
func (a *Array) Layout() ArrayLayout {
	return ArrayLayout{Base: uint64(a.Storage.Base), Pitch: a.Width * a.Elem, Rows: max(a.Height, 1), Depth: max(a.Depth, 1), Elem: a.Elem}
}

// LookupArray resolves the caller's array h.
func LookupArray(h uintptr) (*Array, bool) { return Lookup[*Array](KindArray, h) }

// Array flags (CUDA_ARRAY3D_* / cudaArray*): layered, surface load/store, cubemap, texture gather.
const (
	ArrayLayered      = 1
	ArraySurfaceLS    = 2
	ArrayCubemap      = 4
	ArrayTextureGathr = 8
	arrayKnown        = 0xf
)

// ArrayDimsOK applies the H100's texture limits to an array of w x h x depth elements (0 for
// an absent dimension) with flags: 1D 131072; 2D 131072 x 65536; 3D 16384 per side; layered
// 32768 per side and 2048 layers; cubemaps square with 6 faces (per layer).
func ArrayDimsOK(w, h, depth uint64, flags uint32) bool {
	switch {
	case w == 0 || flags&^arrayKnown != 0 || (h == 0 && depth != 0 && flags&ArrayLayered == 0):
		return false
	case flags&ArrayCubemap != 0 && (w != h || depth == 0 || depth%6 != 0 || (flags&ArrayLayered == 0 && depth != 6)):
		return false
	case flags&ArrayLayered != 0 && (depth == 0 || depth > 2048 || w > 32768 || h > 32768):
		return false
	case flags&(ArrayLayered|ArrayCubemap) == 0 && depth != 0 && (w > 16384 || h > 16384 || depth > 16384):
		return false
	case w > 131072 || h > 65536:
		return false
	}
	return true
}

// NewArray gives a (its element, dimensions and flags already checked with ArrayDimsOK)
// storage on d and returns its handle.
func NewArray(d *Device, a *Array) (uintptr, Status) {
	size := a.Width * a.Elem * max(a.Height, 1) * max(a.Depth, 1) // at most 2^17 * 8 * 2^16 * 2^14: no overflow
	s, st := allocArray(d, a, size)
	if st != OK {
		return 0, st
	}
	a.Storage = s
	return NewHandle(KindArray, a), OK
}

// DestroyArray frees the caller's array h: its handle first, so no other call reaches it.
func DestroyArray(h uintptr) Status {
	a, ok := LookupArray(h)
	if !ok || a.Level || !Release(KindArray, h) {
		return ErrInvalidHandle
	}
	return FreeArrayStorage(a.Storage)
}

// Mipmap is a mipmapped array: its levels are arrays, each half the size of the one before
// in every dimension that is not a layer count, down to 1.
type Mipmap struct {
	Levels []uintptr
	Real   uintptr // the driver's CUmipmappedArray on a GPU backend (ArrayBackend), else 0
}

// MipmapLevels is how many levels an array of w x h x depth elements (flags: layered arrays
// and cubemaps keep their depth) can have: down to 1 x 1 x 1.
func MipmapLevels(w, h, depth uint64, flags uint32) uint32 {
	m := max(w, h)
	if flags&(ArrayLayered|ArrayCubemap) == 0 {
		m = max(m, depth)
	}
	n := uint32(1)
	for m > 1 {
		m >>= 1
		n++
	}
	return n
}

// NewMipmap makes a mipmapped array of levels levels whose level 0 is base (checked with
// ArrayDimsOK); false when levels is 0 or more than MipmapLevels allows.
func NewMipmap(d *Device, base *Array, levels uint32) (uintptr, Status) {
	if levels == 0 || levels > MipmapLevels(base.Width, base.Height, base.Depth, base.Flags) {
		return 0, ErrInvalidValue
	}
	m := &Mipmap{}
	var all []*Array
	for i := range levels {
		a := *base
		a.Level, a.Storage = true, nil
		a.Width = max(base.Width>>i, 1)
		if base.Height != 0 {
			a.Height = max(base.Height>>i, 1)
		}
		if base.Depth != 0 && base.Flags&(ArrayLayered|ArrayCubemap) == 0 {
			a.Depth = max(base.Depth>>i, 1)
		}
		if ab := arrayBackend(); ab != nil {
			all = append(all, &a)
			continue
		}
		h, st := NewArray(d, &a)
		if st != OK {
			freeLevels(m)
			return 0, st
		}
		m.Levels = append(m.Levels, h)
	}
	if ab := arrayBackend(); ab != nil {
		return newRealMipmap(ab, d, m, all)
	}
	return NewHandle(KindMipmap, m), OK
}

func freeLevels(m *Mipmap) {
	for _, h := range m.Levels {
		if a, ok := LookupArray(h); ok && Release(KindArray, h) {
			FreeArrayStorage(a.Storage)
		}
	}
}

// LookupMipmap resolves the caller's mipmapped array h.
func LookupMipmap(h uintptr) (*Mipmap, bool) { return Lookup[*Mipmap](KindMipmap, h) }

// DestroyMipmap frees the caller's mipmapped array h and its levels.
func DestroyMipmap(h uintptr) Status {
	m, ok := LookupMipmap(h)
	if !ok || !Release(KindMipmap, h) {
		return ErrInvalidHandle
	}
	freeLevels(m)
	m.Close()
	return OK
}

// MipmapLevel is the array of level i of the caller's mipmapped array h.
func MipmapLevel(h uintptr, i uint32) (uintptr, Status) {
	m, ok := LookupMipmap(h)
	if !ok {
		return 0, ErrInvalidHandle
	}
	if uint64(i) >= uint64(len(m.Levels)) {
		return 0, ErrInvalidValue
	}
	return m.Levels[i], OK
}

// Channel format kinds (cudaChannelFormatKind).
const (
	ChanSigned   = 0
	ChanUnsigned = 1
	ChanFloat    = 2
	ChanNone     = 3
)

// Driver array formats (CUarray_format) whose element the model knows.
const (
	FmtU8   = 0x01
	FmtU16  = 0x02
	FmtU32  = 0x03
	FmtS8   = 0x08
	FmtS16  = 0x09
	FmtS32  = 0x0a
	FmtHalf = 0x10
	FmtF32  = 0x20
	// CU_AD_FORMAT_{UNORM,SNORM}_INT{8,16}X{1,2,4}: 0xc0..0xcb, in the order of the runtime's
	// normalized channel kinds 5..16.
	FmtNormFirst = 0xc0
	FmtNormLast  = 0xcb
)

// fmtBits maps the plain driver formats to a channel's bits and kind.
var fmtBits = map[uint32][2]int32{
	FmtU8: {8, ChanUnsigned}, FmtU16: {16, ChanUnsigned}, FmtU32: {32, ChanUnsigned},
	FmtS8: {8, ChanSigned}, FmtS16: {16, ChanSigned}, FmtS32: {32, ChanSigned},
	FmtHalf: {16, ChanFloat}, FmtF32: {32, ChanFloat},
}

// normChannels is how many channels each normalized kind (index kind-5) has.
var normChannels = [6]uint32{1, 2, 4, 1, 2, 4}

// DescOfFormat is the channel descriptor of a driver format with n channels, and the bytes of
// one element; false for a format or channel count the driver refuses (channels: 1, 2 or 4;
// a normalized format's count is part of its name).
func DescOfFormat(format, n uint32) ([5]int32, uint64, bool) {
	var d [5]int32
	if format >= FmtNormFirst && format <= FmtNormLast {
		i := format - FmtNormFirst
		if n != normChannels[i%6] {
			return d, 0, false
		}
		d[4] = int32(5 + i)
		return d, []uint64{1, 2, 4, 2, 4, 8}[i%6], true
	}
	bk, ok := fmtBits[format]
	if !ok || (n != 1 && n != 2 && n != 4) {
		return d, 0, false
	}
	for i := range n {
		d[i] = bk[0]
	}
	d[4] = bk[1]
	return d, uint64(n) * uint64(bk[0]/8), true
}

// FormatOfDesc is the driver format and channel count of a (valid) channel descriptor.
func FormatOfDesc(d [5]int32) (format, n uint32) {
	if k := d[4]; k >= 5 && k <= 16 {
		return FmtNormFirst + uint32(k-5), normChannels[(k-5)%6]
	}
	for _, c := range d[:4] {
		if c != 0 {
			n++
		}
	}
	for f, bk := range fmtBits {
		if bk[0] == d[0] && bk[1] == d[4] {
			return f, n
		}
	}
	return 0, n
}
