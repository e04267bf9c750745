package local

/*
#include <stdint.h>
#include "cctx.h"
void cu_fake_driver(void);
int cu_fake_last(unsigned *grid, int *nattr, unsigned *ids, int *vals);
void cu_fake_pending(int r);
void cu_fake_events(int *made, int *freed);
void cu_fake_graphs(int *built, int *launched);

int cu_fake_hostreg(uintptr_t p, int *unregs);
*/
import "C"

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

// fakeGraphs is how many fake driver graphs were instantiated and launched.
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
