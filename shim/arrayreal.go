package shim

// CUDA arrays, texture and surface objects on a GPU backend. The model keeps every check and
// all the bookkeeping (handles, owners, the getters' descriptors), but a kernel on a real GPU
// reads a texture or surface object's value from its parameters and samples the driver's
// array: so with an ArrayBackend the array is the driver's, its storage range in the model is
// an address range standing for it (copies to and from it reach the array), and an object's
// handle is the driver's own value, registered owner-aware like every handle.

// ArrayBackend is a backend that makes real CUDA arrays and texture and surface objects.
type ArrayBackend interface {
	// ArrayAlloc makes the driver's array for a (element, dimensions and flags checked, as a
	// CUDA_ARRAY3D_DESCRIPTOR: a.Width, a.Height, a.Depth, a.Format, a.Channels, a.Flags) on
	// d. It returns the driver's array and the address range of size bytes that stands for it:
	// rows packed (pitch Width*Elem, max(Height,1) rows, max(Depth,1) slices); a copy the
	// backend is asked to make to or from that range moves the array's elements. DeviceFree of
	// the range (a MemArray Alloc) destroys the array.
	ArrayAlloc(d *Device, a *Array, size uint64) (base, real uintptr, st Status)
	// TexObjectCreate and SurfObjectCreate make the driver's objects from driver-form
	// descriptors (CUDA_RESOURCE_DESC, CUDA_TEXTURE_DESC, CUDA_RESOURCE_VIEW_DESC or nil)
	// whose arrays are the driver's; they return the driver's value.
	TexObjectCreate(res, tex, view []byte) (uint64, Status)
	TexObjectDestroy(obj uint64) Status
	SurfObjectCreate(res []byte) (uint64, Status)
	SurfObjectDestroy(obj uint64) Status
	// MipmapAlloc makes the driver's mipmapped array whose level 0 is levels[0] (each
	// level's dimensions as the model made them, sizes[i] bytes packed) and returns it and,
	// per level, the driver's array and the range standing for it. A level's range is freed
	// with DeviceFree, which leaves the level to MipmapFree.
	MipmapAlloc(d *Device, levels []*Array, sizes []uint64) (real uintptr, arrays, bases []uintptr, st Status)
	MipmapFree(real uintptr) Status
}

// arrayBackend is the backend as an ArrayBackend, or nil.
func arrayBackend() ArrayBackend {
	ab, _ := S().Backend.(ArrayBackend)
	return ab
}

// allocArray gives a its storage: device memory on the sim, the driver's array on a GPU
// backend (charged to d and the caller's quota alike).
func allocArray(d *Device, a *Array, size uint64) (*Alloc, Status) {
	ab := arrayBackend()
	if ab == nil {
		return AllocDevice(d, size, MemArray)
	}
	return allocWith(d, size, MemArray, func() (uintptr, Status) {
		base, real, st := ab.ArrayAlloc(d, a, size)
		a.Real = real
		return base, st
	})
}

// newRealMipmap is NewMipmap on an ArrayBackend: the levels are the driver's mipmapped
// array's, each a MemArray range charged as the model's levels are.
func newRealMipmap(ab ArrayBackend, d *Device, m *Mipmap, levels []*Array) (uintptr, Status) {
	sizes := make([]uint64, len(levels))
	for i, a := range levels {
		sizes[i] = a.Width * a.Elem * max(a.Height, 1) * max(a.Depth, 1)
	}
	real, arrays, bases, st := ab.MipmapAlloc(d, levels, sizes)
	if st != OK {
		return 0, st
	}
	m.Real = real
	for i, a := range levels {
		s, st := allocWith(d, sizes[i], MemArray, func() (uintptr, Status) { return bases[i], OK })
		if st != OK {
			for _, b := range bases[i:] { // ranges no Alloc holds yet: freed as a level's are
				S().Backend.DeviceFree(&Alloc{Base: b, Kind: MemArray, Dev: d, Owner: CallerOwner()})
			}
			freeLevels(m)
			m.Close()
			return 0, st
		}
		a.Storage, a.Real = s, arrays[i]
		m.Levels = append(m.Levels, NewHandle(KindArray, a))
	}
	return NewHandle(KindMipmap, m), OK
}

// Close destroys the driver's mipmapped array, once (destroy, or its client gone).
func (m *Mipmap) Close() {
	if v := m.Real; v != 0 {
		m.Real = 0
		if ab := arrayBackend(); ab != nil {
			ab.MipmapFree(v)
		}
	}
}

// driverRes is a driver-form resource description with the model's array (or mipmapped
// array) handle at offset 8 replaced by the driver's; false when there is none.
func driverRes(dres []byte) ([]byte, bool) {
	r := clone(dres)
	h := uintptr(Le.Uint64(r[8:]))
	switch Le.Uint32(r) {
	case ResArray:
		a, ok := LookupArray(h)
		if !ok || a.Real == 0 {
			return nil, false
		}
		Le.PutUint64(r[8:], uint64(a.Real))
	case ResMipmap:
		m, ok := LookupMipmap(h)
		if !ok || m.Real == 0 {
			return nil, false
		}
		Le.PutUint64(r[8:], uint64(m.Real))
	}
	return r, true
}

// realTexture makes the driver's texture object for t and registers t under its value.
func realTexture(ab ArrayBackend, t *Texture) (uintptr, TexFault, Status) {
	res, ok := driverRes(t.DRes)
	if !ok {
		return 0, TexOK, ErrNotSupported
	}
	v, st := ab.TexObjectCreate(res, t.DTex, t.DView)
	if st != OK {
		return 0, TexOK, st
	}
	t.real = v
	if !NewHandleAt(KindTexture, uintptr(v), t) {
		ab.TexObjectDestroy(v)
		return 0, TexOK, ErrNotSupported
	}
	return uintptr(v), TexOK, OK
}

// realSurface is realTexture for a surface.
func realSurface(ab ArrayBackend, s *Surface) (uintptr, Status) {
	res, ok := driverRes(s.DRes)
	if !ok {
		return 0, ErrNotSupported
	}
	v, st := ab.SurfObjectCreate(res)
	if st != OK {
		return 0, st
	}
	s.real = v
	if !NewHandleAt(KindSurface, uintptr(v), s) {
		ab.SurfObjectDestroy(v)
		return 0, ErrNotSupported
	}
	return uintptr(v), OK
}

// DestroyTexture releases the caller's texture object h (and the driver's); false for
// anything else.
func DestroyTexture(h uint64) bool {
	t, ok := LookupTexture(h)
	if !ok || !Release(KindTexture, uintptr(h)) {
		return false
	}
	t.Close()
	return true
}

// DestroySurface releases the caller's surface object h.
func DestroySurface(h uint64) bool {
	s, ok := LookupSurface(h)
	if !ok || !Release(KindSurface, uintptr(h)) {
		return false
	}
	s.Close()
	return true
}

// Close destroys the driver's texture object, once (destroy, or its client gone).
func (t *Texture) Close() {
	if v := t.real; v != 0 {
		t.real = 0
		if ab := arrayBackend(); ab != nil {
			ab.TexObjectDestroy(v)
		}
	}
}

// Close destroys the driver's surface object, once.
func (s *Surface) Close() {
	if v := s.real; v != 0 {
		s.real = 0
		if ab := arrayBackend(); ab != nil {
			ab.SurfObjectDestroy(v)
		}
	}
}
