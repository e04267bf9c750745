package local

/*
#include "cctx.h"
void cu_fake_driver(void);
int cu_fake_last(unsigned *grid, int *nattr, unsigned *ids, int *vals);
void cu_fake_pending(int r);
void cu_fake_events(int *made, int *freed);
void cu_fake_cost(long iters);
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

// setFakeCost makes each fake launch spin iters iterations (the driver's CPU work; 0: none).
func setFakeCost(iters int) { C.cu_fake_cost(C.long(iters)) }
