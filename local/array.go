package local

/*
#include <stdint.h>
#include "array.h"
int cu_array_create(void **a, const struct vg_array3d *d);
int cu_array_destroy(void *a);
int cu_memcpy3d(const struct vg_memcpy3d *p);
int cu_tex_create(unsigned long long *o, const void *res, const void *tex, const void *view);
int cu_tex_destroy(unsigned long long o);
int cu_surf_create(unsigned long long *o, const void *res);
int cu_surf_destroy(unsigned long long o);
int cu_mipmap_create(void **m, const struct vg_array3d *d, unsigned levels);
int cu_mipmap_level(void **a, void *m, unsigned level);
int cu_mipmap_destroy(void *m);
*/
import "C"

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"vgpu/shim"
)

// CUDA arrays, texture and surface objects on the GPU (shim.ArrayBackend). The model gives
// each array an address range for its storage (rows packed), which its copies address; here
// that range is a reservation of the server's own address space that nothing can use (so no
// device or host pointer ever falls in it), standing for the driver's CUarray: a copy the
// model asks for to or from the range becomes cuMemcpy3D with the array, row by row. Texture
// and surface objects are the driver's, made in the caller's context; their values are what
// the program gets (a kernel reads them from its parameters).

// devArray is one driver array behind a storage range.
type devArray struct {
	base        uintptr
	size        uint64
	arr         unsafe.Pointer // the CUarray
	pitch, rows uint64         // bytes per row, rows per slice
	level       bool           // a mipmapped array's level: destroyed with it (MipmapFree)
	cc          *C.struct_cctx // the context it was made in, where its copies run
}

// arrayTable finds the array behind a storage address.
type arrayTable struct {
	n       atomic.Int32 // live arrays: copies look no further while there are none
	mu      sync.RWMutex
	list    map[uintptr]*devArray // by base
	objs    map[object]*C.struct_cctx
	mipmaps map[uintptr]mipmap // mipmapped arrays, with the context they were made in
}

// object is a texture (surf false) or surface object's value.
type object struct {
	surf bool
	v    uint64
}

func (t *arrayTable) add(a *devArray) {
	t.mu.Lock()
	if t.list == nil {
		t.list = map[uintptr]*devArray{}
	}
	t.list[a.base] = a
	t.n.Add(1)
	t.mu.Unlock()
}

func (t *arrayTable) take(base uintptr) *devArray {
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.list[base]
	if a != nil {
		delete(t.list, base)
		t.n.Add(-1)
	}
	return a
}

// at is the array whose range holds [p, p+n), or nil.
func (t *arrayTable) at(p uintptr, n uint64) *devArray {
	if t.n.Load() == 0 {
		return nil
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, a := range t.list {
		if shim.InRange(a.base, a.size, p, n) {
			return a
		}
	}
	return nil
}

// ArrayAlloc makes the driver's array for a in the caller's context on d, and reserves the
// range that stands for it.
func (b *Backend) ArrayAlloc(d *shim.Device, a *shim.Array, size uint64) (uintptr, uintptr, shim.Status) {
	cc, st := b.ctxFor(b.caller(), d.Index)
	if st != shim.OK {
		return 0, 0, st
	}
	desc := C.struct_vg_array3d{w: C.size_t(a.Width), h: C.size_t(a.Height), d: C.size_t(a.Depth),
		format: C.uint(a.Format), channels: C.uint(a.Channels), flags: C.uint(a.Flags)}
	var arr unsafe.Pointer
	if r := C.cu_array_create(&arr, &desc); r != 0 {
		shim.Log().Warnw("cuArray3DCreate failed", "result", int(r))
		return 0, 0, status(r)
	}
	base, err := shim.MapAnon((size+4095)&^4095, 0) // PROT_NONE: an address range only
	if err != nil {
		C.cu_array_destroy(arr)
		return 0, 0, shim.ErrOutOfMemory
	}
	b.arrays.add(&devArray{base: base, size: size, arr: arr, pitch: a.Width * a.Elem, rows: max(a.Height, 1), cc: cc})
	return base, uintptr(arr), shim.OK
}

// MipmapAlloc makes the driver's mipmapped array in the caller's context on d, and reserves
// a range for each level.
func (b *Backend) MipmapAlloc(d *shim.Device, levels []*shim.Array, sizes []uint64) (uintptr, []uintptr, []uintptr, shim.Status) {
	cc, st := b.ctxFor(b.caller(), d.Index)
	if st != shim.OK {
		return 0, nil, nil, st
	}
	a := levels[0]
	desc := C.struct_vg_array3d{w: C.size_t(a.Width), h: C.size_t(a.Height), d: C.size_t(a.Depth),
		format: C.uint(a.Format), channels: C.uint(a.Channels), flags: C.uint(a.Flags)}
	var m unsafe.Pointer
	if r := C.cu_mipmap_create(&m, &desc, C.uint(len(levels))); r != 0 {
		shim.Log().Warnw("cuMipmappedArrayCreate failed", "result", int(r))
		return 0, nil, nil, status(r)
	}
	fail := func(st shim.Status, made []*devArray) (uintptr, []uintptr, []uintptr, shim.Status) {
		for _, da := range made {
			b.arrays.take(da.base)
			shim.Unmap(da.base, (da.size+4095)&^4095)
		}
		C.cu_mipmap_destroy(m)
		return 0, nil, nil, st
	}
	var arrays, bases []uintptr
	var made []*devArray
	for i, l := range levels {
		var arr unsafe.Pointer
		if r := C.cu_mipmap_level(&arr, m, C.uint(i)); r != 0 {
			return fail(status(r), made)
		}
		base, err := shim.MapAnon((sizes[i]+4095)&^4095, 0)
		if err != nil {
			return fail(shim.ErrOutOfMemory, made)
		}
		da := &devArray{base: base, size: sizes[i], arr: arr, pitch: l.Width * l.Elem, rows: max(l.Height, 1), level: true, cc: cc}
		b.arrays.add(da)
		made = append(made, da)
		arrays, bases = append(arrays, uintptr(arr)), append(bases, base)
	}
	b.arrays.mu.Lock()
	if b.arrays.mipmaps == nil {
		b.arrays.mipmaps = map[uintptr]mipmap{}
	}
	b.arrays.mipmaps[uintptr(m)] = mipmap{m, cc}
	b.arrays.mu.Unlock()
	return uintptr(m), arrays, bases, shim.OK
}

// MipmapFree destroys a mipmapped array this backend made, with its levels, in its context.
func (b *Backend) MipmapFree(m uintptr) shim.Status {
	b.arrays.mu.Lock()
	mm, ok := b.arrays.mipmaps[m]
	delete(b.arrays.mipmaps, m)
	b.arrays.mu.Unlock()
	if !ok {
		return shim.ErrInvalidValue
	}
	if st := bind(mm.cc); st != shim.OK {
		return st
	}
	return status(C.cu_mipmap_destroy(mm.p))
}

type mipmap struct {
	p  unsafe.Pointer // the CUmipmappedArray
	cc *C.struct_cctx
}

// freeArray destroys the array behind a's range, if it is one (DeviceFree, in a's context).
func (b *Backend) freeArray(a *shim.Alloc) bool {
	if a.Kind != shim.MemArray {
		return false
	}
	da := b.arrays.take(a.Base)
	if da == nil {
		return false
	}
	if da.level {
		shim.Unmap(da.base, (da.size+4095)&^4095)
		return true
	}
	if r := C.cu_array_destroy(da.arr); r != 0 {
		shim.Log().Warnw("cuArrayDestroy failed", "result", int(r))
	}
	shim.Unmap(da.base, (da.size+4095)&^4095)
	return true
}

// dropArray forgets the array behind a's range without calling the driver: its context is
// gone, and the array with it.
func (b *Backend) dropArray(a *shim.Alloc) {
	if a.Kind != shim.MemArray {
		return
	}
	if da := b.arrays.take(a.Base); da != nil {
		shim.Unmap(da.base, (da.size+4095)&^4095)
	}
}

// memType is CUmemorytype: 1 host, 2 device, 3 array.
const (
	memHost   = 1
	memDevice = 2
	memArray  = 3
)

// arrayCopy makes a copy of n bytes whose dst or src lies in an array's range; false when
// neither does. Each piece within one row of every array side is one cuMemcpy3D.
func (b *Backend) arrayCopy(dst, src uintptr, n uint64, kind int32) (shim.Status, bool) {
	da, sa := b.arrays.at(dst, n), b.arrays.at(src, n)
	if da == nil && sa == nil {
		return shim.OK, false
	}
	if kind == shim.HostToHost {
		return shim.ErrInvalidValue, true
	}
	// In the array's own context (its device's): the destination's, else the source's.
	home := da
	if home == nil {
		home = sa
	}
	if st := bind(home.cc); st != shim.OK {
		return st, true
	}
	dstDev := kind == shim.HostToDevice || kind == shim.DeviceToDevice
	srcDev := kind == shim.DeviceToHost || kind == shim.DeviceToDevice
	for off := uint64(0); off < n; {
		chunk := n - off
		var p C.struct_vg_memcpy3d
		for _, s := range []struct {
			side *C.struct_vg_side
			arr  *devArray
			addr uintptr
			dev  bool
		}{{&p.dst, da, dst + uintptr(off), dstDev}, {&p.src, sa, src + uintptr(off), srcDev}} {
			switch {
			case s.arr != nil:
				pos := uint64(s.addr - s.arr.base)
				x := pos % s.arr.pitch
				chunk = min(chunk, s.arr.pitch-x)
				s.side.mtype, s.side.array = memArray, s.arr.arr
				s.side.x, s.side.y, s.side.z = C.size_t(x), C.size_t(pos/s.arr.pitch%s.arr.rows), C.size_t(pos/(s.arr.pitch*s.arr.rows))
			case s.dev:
				s.side.mtype, s.side.dev = memDevice, C.ulonglong(s.addr)
			default:
				s.side.mtype, s.side.host = memHost, C.uintptr_t(s.addr)
			}
		}
		p.width, p.height, p.depth = C.size_t(chunk), 1, 1
		for _, s := range []*C.struct_vg_side{&p.dst, &p.src} {
			if s.mtype != memArray {
				s.pitch, s.height = C.size_t(chunk), 1
			}
		}
		if r := C.cu_memcpy3d(&p); r != 0 {
			return status(r), true
		}
		off += chunk
	}
	return shim.OK, true
}

// TexObjectCreate makes the driver's texture object in the caller's context.
func (b *Backend) TexObjectCreate(res, tex, view []byte) (uint64, shim.Status) {
	cc, st := b.homeCtx(b.caller())
	if st != shim.OK {
		return 0, st
	}
	var v C.ulonglong
	var vp unsafe.Pointer
	if view != nil {
		vp = unsafe.Pointer(&view[0])
	}
	if r := C.cu_tex_create(&v, unsafe.Pointer(&res[0]), unsafe.Pointer(&tex[0]), vp); r != 0 {
		shim.Log().Warnw("cuTexObjectCreate failed", "result", int(r))
		return 0, status(r)
	}
	return b.arrays.note(object{false, uint64(v)}, cc, func() { C.cu_tex_destroy(v) })
}

// SurfObjectCreate makes the driver's surface object in the caller's context.
func (b *Backend) SurfObjectCreate(res []byte) (uint64, shim.Status) {
	cc, st := b.homeCtx(b.caller())
	if st != shim.OK {
		return 0, st
	}
	var v C.ulonglong
	if r := C.cu_surf_create(&v, unsafe.Pointer(&res[0])); r != 0 {
		shim.Log().Warnw("cuSurfObjectCreate failed", "result", int(r))
		return 0, status(r)
	}
	return b.arrays.note(object{true, uint64(v)}, cc, func() { C.cu_surf_destroy(v) })
}

// note records object v as made in cc; a value already recorded (another context's, with
// contexts per client) is refused and the new object destroyed.
func (t *arrayTable) note(o object, cc *C.struct_cctx, destroy func()) (uint64, shim.Status) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.objs == nil {
		t.objs = map[object]*C.struct_cctx{}
	}
	if _, taken := t.objs[o]; taken {
		destroy()
		return 0, shim.ErrNotSupported
	}
	t.objs[o] = cc
	return o.v, shim.OK
}

// forget drops object v's record and binds the context it was made in; false when unknown.
func (t *arrayTable) forget(o object) bool {
	t.mu.Lock()
	cc, ok := t.objs[o]
	delete(t.objs, o)
	t.mu.Unlock()
	return ok && bind(cc) == shim.OK
}

// TexObjectDestroy destroys a texture object this backend made, in its context (the model
// has checked that the caller owns it).
func (b *Backend) TexObjectDestroy(v uint64) shim.Status {
	if !b.arrays.forget(object{false, v}) {
		return shim.ErrInvalidValue
	}
	return status(C.cu_tex_destroy(C.ulonglong(v)))
}

// SurfObjectDestroy destroys a surface object this backend made.
func (b *Backend) SurfObjectDestroy(v uint64) shim.Status {
	if !b.arrays.forget(object{true, v}) {
		return shim.ErrInvalidValue
	}
	return status(C.cu_surf_destroy(C.ulonglong(v)))
}

var _ shim.ArrayBackend = (*Backend)(nil)
