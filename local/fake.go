package local

/*
#include <stdint.h>
#include "cctx.h"
void cu_fake_driver(void);
int cu_fake_last(unsigned *grid, int *nattr, unsigned *ids, int *vals);
void cu_fake_pending(int r);
void cu_fake_events(int *made, int *freed);
int cu_fake_log(const char **ops, void **sts, void **evs, int max);
void cu_fake_log_reset(void);
void cu_fake_streams(int *made, int *freed);
void cu_fake_graphs(int *built, int *launched);
int cu_fake_updates(void);

int cu_fake_hostreg(uintptr_t p, int *unregs);
#include "array.h"
void cu_fake_arrays_on(void);
void cu_fake_mipmaps(int *made, int *freed, unsigned *levels);
void cu_fake_arrays(int *counts, struct vg_array3d *ad, struct vg_memcpy3d *cp, unsigned char *res, unsigned char *tex, unsigned long long *freed);
void cu_fake_cost(long iters);
*/
import "C"

import "unsafe"

// fakeLaunch is what the stand-in driver (cu_fake_driver in cu.c) was last asked to launch.
type fakeLaunch struct {
	Entry string // "cuLaunchKernel" or "cuLaunchKernelEx"
	Grid  uint32
	Attrs map[uint32]int32 // cuLaunchKernelEx's attributes: id -> the int at the start of the value
}

// useFakeDriver replaces the driver's context and launch entry points with recorders (tests
// on machines without NVIDIA's driver), and returns a context to launch in.
func useFakeDriver() *cctxT {
	C.cu_fake_driver()
	return C.cc_new()
}

// lastFakeLaunch reads the recorder.
func lastFakeLaunch() fakeLaunch {
	var grid C.uint
	var n C.int
	var ids [16]C.uint
	var vals [16]C.int
	kind := C.cu_fake_last(&grid, &n, &ids[0], &vals[0])
	l := fakeLaunch{Grid: uint32(grid), Attrs: map[uint32]int32{}}
	switch kind {
	case 1:
		l.Entry = "cuLaunchKernel"
	case 2:
		l.Entry = "cuLaunchKernelEx"
	}
	for i := 0; i < int(n) && i < len(ids); i++ {
		l.Attrs[uint32(ids[i])] = int32(vals[i])
	}
	return l
}

// setFakePending makes every fake event and stream query answer r (0 done, 600 not ready).
func setFakePending(r int) { C.cu_fake_pending(C.int(r)) }

// fakeEvents is how many fake driver events were made and destroyed.
func fakeEvents() (made, freed int) {
	var m, f C.int
	C.cu_fake_events(&m, &f)
	return int(m), int(f)
}

// fakeCall is one driver call the stand-in driver logged: what it did ("launch", "memset",
// "htod", "dtoh", "dtod", "gemm", "graph", "record", "wait", "sync", "ctxsync", "query",
// "create", "destroy"), the stream it named (0: the NULL stream) and the event, if any.
type fakeCall struct {
	Op     string
	Stream uintptr
	Event  uintptr
}

// fakeLog is what the stand-in driver was asked since useFakeDriver or resetFakeLog.
func fakeLog() []fakeCall {
	const max = 512
	var ops [max]*C.char
	var sts, evs [max]unsafe.Pointer
	n := int(C.cu_fake_log(&ops[0], &sts[0], &evs[0], max))
	out := make([]fakeCall, 0, n)
	for i := 0; i < n && i < max; i++ {
		out = append(out, fakeCall{C.GoString(ops[i]), uintptr(sts[i]), uintptr(evs[i])})
	}
	return out
}

func resetFakeLog() { C.cu_fake_log_reset() }

// fakeStreams is how many fake driver streams were made and destroyed.
func fakeStreams() (made, freed int) {
	var m, f C.int
	C.cu_fake_streams(&m, &f)
	return int(m), int(f)
}

// hostAddr is the address of a test's host buffer.
func hostAddr(b *[16]byte) uintptr { return uintptr(unsafe.Pointer(b)) }

// fakeGraphs is how many fake driver graphs were instantiated and launched.
// fakeUpdates is how many driver graphs the fake driver updated in place (cuGraphExecUpdate).
func fakeUpdates() int { return int(C.cu_fake_updates()) }

func fakeGraphs() (built, launched int) {
	var b, l C.int
	C.cu_fake_graphs(&b, &l)
	return int(b), int(l)
}

// fakeDevMap is what the fake driver adds to a host address to map it for the device.
const fakeDevMap = 0x100000000000

// fakeHostReg is the flags the fake driver has [p, ...) registered with (-1: none), and how
// many ranges it has seen unregistered.
func fakeHostReg(p uintptr) (flags, unregs int) {
	var u C.int
	f := C.cu_fake_hostreg(C.uintptr_t(p), &u)
	return int(f), int(u)
}

// fakeArrays is what the stand-in driver was asked about arrays and texture and surface
// objects: how many copies, arrays, textures and surfaces it made and destroyed, and the last
// array descriptor, cuMemcpy3D descriptor, resource and texture descriptions and destroyed
// object it was given.
type fakeArrays struct {
	Copies, ArraysMade, ArraysFreed, TexMade, TexFreed, SurfMade, SurfFreed int
	Desc                                                                    arrayDesc
	Copy                                                                    memcpy3D
	Res                                                                     [144]byte
	Tex                                                                     [104]byte
	LastFreed                                                               uint64
}

// useFakeArrays adds the array, copy, object and primary-context entry points to the fake
// driver.
func useFakeArrays() { C.cu_fake_arrays_on() }

func readFakeArrays() fakeArrays {
	var f fakeArrays
	var counts [7]C.int
	var freed C.ulonglong
	var ad C.struct_vg_array3d
	var cp C.struct_vg_memcpy3d
	C.cu_fake_arrays(&counts[0], &ad, &cp, (*C.uchar)(&f.Res[0]), (*C.uchar)(&f.Tex[0]), &freed)
	f.Desc = arrayDesc{uint64(ad.w), uint64(ad.h), uint64(ad.d), uint32(ad.format), uint32(ad.channels), uint32(ad.flags)}
	side := func(s C.struct_vg_side) copySide {
		return copySide{X: uint64(s.x), Y: uint64(s.y), Z: uint64(s.z), Type: uint32(s.mtype), Host: uintptr(s.host),
			Dev: uint64(s.dev), Array: uintptr(s.array), Pitch: uint64(s.pitch)}
	}
	f.Copy = memcpy3D{Src: side(cp.src), Dst: side(cp.dst), Width: uint64(cp.width), Height: uint64(cp.height), Depth: uint64(cp.depth)}
	f.Copies, f.ArraysMade, f.ArraysFreed = int(counts[0]), int(counts[1]), int(counts[2])
	f.TexMade, f.TexFreed, f.SurfMade, f.SurfFreed = int(counts[3]), int(counts[4]), int(counts[5]), int(counts[6])
	f.LastFreed = uint64(freed)
	return f
}

// arrayDesc is a CUDA_ARRAY3D_DESCRIPTOR as the fake driver got it.
type arrayDesc struct {
	W, H, D                 uint64
	Format, Channels, Flags uint32
}

// memcpy3D is a CUDA_MEMCPY3D as the fake driver got it.
type memcpy3D struct {
	Src, Dst             copySide
	Width, Height, Depth uint64
}

type copySide struct {
	X, Y, Z uint64
	Type    uint32 // 1 host, 2 device, 3 array
	Host    uintptr
	Dev     uint64
	Array   uintptr
	Pitch   uint64
}

// fakeMipmaps is how many mipmapped arrays the fake driver made and destroyed, and the last
// one's level count.
func fakeMipmaps() (made, freed int, levels uint32) {
	var m, f C.int
	var l C.uint
	C.cu_fake_mipmaps(&m, &f, &l)
	return int(m), int(f), uint32(l)
}

// setFakeCost makes each fake launch spin iters iterations (the driver's CPU work; 0: none).
func setFakeCost(iters int) { C.cu_fake_cost(C.long(iters)) }
