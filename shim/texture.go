package shim

// Texture and surface objects, shared by the runtime (cudaCreateTextureObject, cudart/
// texture.go) and the driver API (cuTexObjectCreate, cuda/texture.go): one object kind, so a
// CUtexObject is a cudaTextureObject_t. Kernels do not sample in the sim, so what a program
// observes is the checking of the descriptors, the objects' lifetime and the getters returning
// what was set. The rules are written once, over the runtime's descriptor layout; a driver
// descriptor is converted to it for checking, and each object keeps both forms, so each API's
// getter returns its own struct exactly as that API's caller passed it (or the conversion of
// what the other API passed).
//
// Runtime layouts (NVIDIA's ABI, CUDA 12 and 13):
//   cudaResourceDesc, 64 bytes read: u32 resType at 0, the union at 8: array / mipmap handle
//   at 8; linear {devPtr 8, desc 16..36, sizeInBytes 40}; pitch2D {devPtr 8, desc 16..36,
//   width 40, height 48, pitchInBytes 56}.
//   cudaTextureDesc, 72 bytes: addressMode[3] 0..12, filterMode 12, readMode 16, sRGB 20,
//   borderColor[4] 24..40, normalizedCoords 40, maxAnisotropy 44, mipmapFilterMode 48,
//   mipmapLevelBias 52, min/maxMipmapLevelClamp 56/60, disableTrilinearOptimization 64,
//   seamlessCubemap 68.
//   cudaResourceViewDesc, 48 bytes: format 0, width 8, height 16, depth 24, first/last mipmap
//   level 32/36, first/last layer 40/44.
// Driver layouts:
//   CUDA_RESOURCE_DESC, 144 bytes: u32 resType 0; union at 8 (128 bytes): hArray /
//   hMipmappedArray 8; linear {devPtr 8, format 16, numChannels 20, sizeInBytes 24}; pitch2D
//   {devPtr 8, format 16, numChannels 20, width 24, height 32, pitchInBytes 40}; u32 flags 136.
//   CUDA_TEXTURE_DESC, 104 bytes: addressMode[3] 0..12, filterMode 12, flags 16 (1 read as
//   integer, 2 normalized coordinates, 0x10 sRGB, 0x20 no trilinear optimization, 0x40
//   seamless cubemap), maxAnisotropy 20, mipmapFilterMode 24, mipmapLevelBias 28,
//   min/maxMipmapLevelClamp 32/36, borderColor[4] 40..56, reserved to 104.
//   CUDA_RESOURCE_VIEW_DESC, 112 bytes: the runtime's 48 (same offsets), then reserved.

// Descriptor sizes, runtime and driver.
const (
	ResDescSize   = 64
	TexDescSize   = 72
	ViewDescSize  = 48
	DResDescSize  = 144
	DTexDescSize  = 104
	DViewDescSize = 112
)

// Resource types (cudaResourceType and CUresourcetype agree).
const (
	ResArray   = 0
	ResMipmap  = 1
	ResLinear  = 2
	ResPitch2D = 3

	texAlign   = 512 // textureAlignment
	pitchAlign = 32  // texturePitchAlignment
)

// TexFault is why a description was refused: each API names it in its own codes.
type TexFault uint8

const (
	TexOK          TexFault = iota
	TexBadValue             // an invalid value
	TexBadChannels          // an invalid channel descriptor (the runtime's own code)
	TexUnsupported          // valid, but the GPU backend's driver could not make it
)

// Texture is a texture object: its descriptors in both APIs' forms (views nil when none).
type Texture struct {
	Res, Tex, View    []byte
	DRes, DTex, DView []byte
	real              uint64 // the driver's object on a GPU backend: its handle's value
}

// Surface is a surface object.
type Surface struct {
	Res, DRes []byte
	real      uint64
}

// ChannelElem checks a cudaChannelFormatDesc as cudaMallocArray does and returns the bytes of
// one element: channels of 8, 16 or 32 bits (float: 16 or 32), all the same size, 1, 2 or 4
// of them from x on; or one of the normalized 8/16-bit kinds, whose size the kind names.
func ChannelElem(d [5]int32) (uint64, bool) {
	switch k := d[4]; {
	case k == ChanSigned || k == ChanUnsigned || k == ChanFloat:
		n, bits := 0, d[0]
		for i, c := range d[:4] {
			switch {
			case c == 0:
				continue
			case c != bits || i != n: // a channel after a missing one, or of another size
				return 0, false
			}
			n++
		}
		okBits := bits == 8 || bits == 16 || bits == 32
		if k == ChanFloat {
			okBits = bits == 16 || bits == 32
		}
		if !okBits || n == 3 {
			return 0, false
		}
		return uint64(n) * uint64(bits/8), true
	case k >= 5 && k <= 16:
		// cudaChannelFormatKind{Uns,S}ignedNormalized{8,16}X{1,2,4}: 5..10 unsigned, 11..16 signed.
		i := (k - 5) % 6
		return []uint64{1, 2, 4, 2, 4, 8}[i], true
	}
	return 0, false
}

func descAt(b []byte) [5]int32 {
	var d [5]int32
	for i := range d {
		d[i] = int32(Le.Uint32(b[4*i:]))
	}
	return d
}

// CheckResource checks a runtime-form resource description for a texture (surf: a surface,
// over an array) and returns its channel kind and bits.
func CheckResource(b []byte, surf bool) (kind, bits int32, f TexFault) {
	u64 := func(off int) uint64 { return Le.Uint64(b[off:]) }
	switch t := Le.Uint32(b); {
	case t == ResArray:
		a, ok := LookupArray(uintptr(u64(8)))
		// A surface over an array made without the surface load/store flag is still created:
		// NVIDIA's runtime 13 on driver 580 answers success (tests/programs/arrays.cu).
		if !ok {
			return 0, 0, TexBadValue
		}
		return a.Desc[4], a.Desc[0], TexOK
	case surf:
		return 0, 0, TexBadValue
	case t == ResMipmap:
		m, ok := LookupMipmap(uintptr(u64(8)))
		if !ok {
			return 0, 0, TexBadValue
		}
		a, ok := LookupArray(m.Levels[0])
		if !ok {
			return 0, 0, TexBadValue
		}
		return a.Desc[4], a.Desc[0], TexOK
	case t == ResLinear:
		d := descAt(b[16:])
		elem, ok := ChannelElem(d)
		if !ok {
			return 0, 0, TexBadChannels
		}
		p, n := uintptr(u64(8)), u64(40)
		// The H100's maxTexture1DLinear: 2^28 elements.
		if p%texAlign != 0 || n == 0 || n > elem<<28 {
			return 0, 0, TexBadValue
		}
		if _, st := DeviceRange(p, n); st != OK {
			return 0, 0, TexBadValue
		}
		return d[4], d[0], TexOK
	case t == ResPitch2D:
		d := descAt(b[16:])
		elem, ok := ChannelElem(d)
		if !ok {
			return 0, 0, TexBadChannels
		}
		p, w, h, pitch := uintptr(u64(8)), u64(40), u64(48), u64(56)
		// maxTexture2DLinear: 131072 x 65000.
		if p%texAlign != 0 || pitch%pitchAlign != 0 || w == 0 || h == 0 || w > 131072 || h > 65000 || w*elem > pitch || pitch > 1<<40 {
			return 0, 0, TexBadValue
		}
		if _, st := DeviceRange(p, pitch*(h-1)+w*elem); st != OK {
			return 0, 0, TexBadValue
		}
		return d[4], d[0], TexOK
	}
	return 0, 0, TexBadValue
}

// CheckTexDesc checks a runtime-form texture description against its resource's channel
// kind and bits.
func CheckTexDesc(tb []byte, kind, bits int32) TexFault {
	u32 := func(off int) uint32 { return Le.Uint32(tb[off:]) }
	for i := 0; i < 3; i++ {
		if u32(4*i) > 3 { // wrap, clamp, mirror, border
			return TexBadValue
		}
	}
	filter, read := u32(12), u32(16)
	if filter > 1 || read > 1 || u32(48) > 1 || u32(44) > 16 {
		return TexBadValue
	}
	integer := kind == ChanSigned || kind == ChanUnsigned
	if integer && read == 0 && filter == 1 { // linear filtering returns floats
		return TexBadValue
	}
	if integer && read == 1 && bits == 32 { // 32-bit integers have no normalized-float form
		return TexBadValue
	}
	return TexOK
}

// CheckView checks a resource view: only over an array, within its extent, one level.
func CheckView(rb, vb []byte) TexFault {
	if Le.Uint32(rb) != ResArray {
		return TexBadValue
	}
	a, ok := LookupArray(uintptr(Le.Uint64(rb[8:])))
	if !ok {
		return TexBadValue
	}
	u64 := func(off int) uint64 { return Le.Uint64(vb[off:]) }
	u32 := func(off int) uint32 { return Le.Uint32(vb[off:]) }
	layers := max(a.Depth, 1)
	if u32(0) > 0x22 || u64(8) > a.Width || u64(16) > a.Height || u64(24) > a.Depth ||
		u32(32) != 0 || u32(36) != 0 || u32(40) > u32(44) || uint64(u32(44)) >= layers {
		return TexBadValue
	}
	return TexOK
}

// NewTexture checks runtime-form descriptors (view may be nil) and makes a texture object,
// dres, dtex and dview being the driver's forms when the driver made it (else converted).
func NewTexture(res, tex, view, dres, dtex, dview []byte) (uintptr, TexFault) {
	kind, bits, f := CheckResource(res, false)
	if f != TexOK {
		return 0, f
	}
	if f := CheckTexDesc(tex, kind, bits); f != TexOK {
		return 0, f
	}
	if view != nil {
		if f := CheckView(res, view); f != TexOK {
			return 0, f
		}
	}
	t := &Texture{Res: clone(res), Tex: clone(tex), View: clone(view), DRes: dres, DTex: dtex, DView: dview}
	if t.DRes == nil {
		t.DRes, t.DTex = DriverRes(res), DriverTex(tex, kind)
		if view != nil {
			t.DView = append(clone(view), make([]byte, DViewDescSize-ViewDescSize)...)
		}
	}
	if ab := arrayBackend(); ab != nil {
		h, _, st := realTexture(ab, t)
		if st != OK {
			Log().Warnw("the GPU backend could not make a texture object", "status", st)
			return 0, TexUnsupported
		}
		return h, TexOK
	}
	return NewHandle(KindTexture, t), TexOK
}

// NewSurface checks a runtime-form resource description and makes a surface object.
func NewSurface(res, dres []byte) (uintptr, TexFault) {
	if _, _, f := CheckResource(res, true); f != TexOK {
		return 0, f
	}
	if dres == nil {
		dres = DriverRes(res)
	}
	s := &Surface{Res: clone(res), DRes: dres}
	if ab := arrayBackend(); ab != nil {
		h, st := realSurface(ab, s)
		if st != OK {
			Log().Warnw("the GPU backend could not make a surface object", "status", st)
			return 0, TexUnsupported
		}
		return h, TexOK
	}
	return NewHandle(KindSurface, s), TexOK
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

// LookupTexture and LookupSurface resolve the caller's objects.
func LookupTexture(h uint64) (*Texture, bool) { return Lookup[*Texture](KindTexture, uintptr(h)) }
func LookupSurface(h uint64) (*Surface, bool) { return Lookup[*Surface](KindSurface, uintptr(h)) }

// RuntimeRes converts a driver resource description to the runtime's form: the format and
// channel count become a channel descriptor (an unknown format one no check accepts).
func RuntimeRes(d []byte) []byte {
	r := make([]byte, ResDescSize)
	copy(r[:16], d[:16]) // type, and the handle or device pointer
	switch Le.Uint32(d) {
	case ResLinear, ResPitch2D:
		cd, _, ok := DescOfFormat(Le.Uint32(d[16:]), Le.Uint32(d[20:]))
		if !ok {
			cd = [5]int32{0, 0, 0, 0, -1}
		}
		for i, v := range cd {
			Le.PutUint32(r[16+4*i:], uint32(v))
		}
		copy(r[40:64], d[24:48]) // linear size; or pitch2D width, height, pitch
	}
	return r
}

// DriverRes converts a runtime resource description to the driver's form.
func DriverRes(r []byte) []byte {
	d := make([]byte, DResDescSize)
	copy(d[:16], r[:16])
	switch Le.Uint32(r) {
	case ResLinear, ResPitch2D:
		f, n := FormatOfDesc(descAt(r[16:]))
		Le.PutUint32(d[16:], f)
		Le.PutUint32(d[20:], n)
		copy(d[24:48], r[40:64])
	default:
		clear(d[16:]) // an array's handle only
	}
	return d
}

// Driver texture flags (CU_TRSF_*).
const (
	trsfReadAsInteger = 1
	trsfNormalized    = 2
	trsfSRGB          = 0x10
	trsfNoTrilinear   = 0x20
	trsfSeamless      = 0x40
)

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// RuntimeTex converts a driver texture description to the runtime's form. Integer data is
// read as normalized floats unless the flags say integers; 32-bit integers have no such form,
// so the driver reads those as integers whatever the flag.
func RuntimeTex(d []byte, kind, bits int32) []byte {
	r := make([]byte, TexDescSize)
	copy(r[:16], d[:16]) // address modes, filter mode
	fl := Le.Uint32(d[16:])
	integer := kind == ChanSigned || kind == ChanUnsigned
	Le.PutUint32(r[16:], b2u(fl&trsfReadAsInteger == 0 && integer && bits != 32))
	Le.PutUint32(r[20:], b2u(fl&trsfSRGB != 0))
	copy(r[24:40], d[40:56])
	Le.PutUint32(r[40:], b2u(fl&trsfNormalized != 0))
	copy(r[44:64], d[20:40]) // anisotropy, mipmap filter, bias, clamps
	Le.PutUint32(r[64:], b2u(fl&trsfNoTrilinear != 0))
	Le.PutUint32(r[68:], b2u(fl&trsfSeamless != 0))
	return r
}

// DriverTex converts a runtime texture description to the driver's form.
func DriverTex(r []byte, kind int32) []byte {
	d := make([]byte, DTexDescSize)
	copy(d[:16], r[:16])
	u := func(off int) bool { return Le.Uint32(r[off:]) != 0 }
	var fl uint32
	if !u(16) && (kind == ChanSigned || kind == ChanUnsigned) {
		fl |= trsfReadAsInteger
	}
	for _, m := range []struct {
		off  int
		flag uint32
	}{{40, trsfNormalized}, {20, trsfSRGB}, {64, trsfNoTrilinear}, {68, trsfSeamless}} {
		if u(m.off) {
			fl |= m.flag
		}
	}
	Le.PutUint32(d[16:], fl)
	copy(d[20:40], r[44:64])
	copy(d[40:56], r[24:40])
	return d
}
