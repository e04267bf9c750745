package local

/*
#include "cctx.h"
void cu_fake_driver(void);
int cu_fake_last(unsigned *grid, int *nattr, unsigned *ids, int *vals);
void cu_fake_pending(int r);
void cu_fake_events(int *made, int *freed);
int cu_fake_log(const char **ops, void **sts, void **evs, int max);
void cu_fake_log_reset(void);
void cu_fake_streams(int *made, int *freed);
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

// hostAddr is the address of a test's host buffer; ptr makes a fake driver handle.
func hostAddr(b *[16]byte) uintptr { return uintptr(unsafe.Pointer(b)) }
func ptr(v uintptr) unsafe.Pointer { return unsafe.Pointer(v) }
