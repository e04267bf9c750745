package local

/*
#include <stddef.h>
#include "cctx.h"
int cu_capture_begin(struct cctx *c);
int cu_capture_end(struct cctx *c, int ok, void **exec);
int cu_capture_update(struct cctx *c, int ok, void *exec);
int cu_memset_on(void *st, unsigned long long d, unsigned char v, size_t n);
int cu_memset_words_on(void *st, unsigned long long d, unsigned v, unsigned size, size_t count);
int cu_dtod_on(void *st, unsigned long long d, unsigned long long s, size_t n);
int cu_graph_launch(void *exec, void *st);
int cu_graph_launch_timed(struct cctx *c, void *exec, void *st, float *run, float *gap);
int cu_graph_destroy(void *exec);
*/
import "C"

import (
	"os"
	"slices"
	"sync"
	"time"
	"unsafe"

	"vgpu/shim"
)

// BuildGraph records a client graph's nodes into a CUDA graph by stream capture: its
// kernels, device copies and memsets, and its cuBLAS calls. A node that cannot be recorded
// (a copy from or to host memory, host work) leaves the graph to node-by-node replay.
func (b *Backend) BuildGraph(d *shim.Device, nodes []shim.Node) (uintptr, shim.Status) {
	c := b.caller()
	cc, st := b.ctxFor(c, d.Index)
	if st != shim.OK {
		return 0, st
	}
	all, st, begun := b.capture(c, cc, nodes)
	if !begun {
		return 0, st
	}
	var exec unsafe.Pointer
	if r := C.cu_capture_end(cc, all, &exec); r != 0 {
		shim.Log().Infow("graph instantiation failed", "result", int(r), "nodes", len(nodes))
		return 0, shim.ErrNotSupported
	}
	if st != shim.OK {
		return 0, st
	}
	c.addGraph(uintptr(exec), cc)
	return uintptr(exec), shim.OK
}

// capture starts recording on cc and records nodes, for BuildGraph and UpdateGraph to end
// the recording once begun: all is 1 when every node was recorded, else st says what
// stopped it.
func (b *Backend) capture(c *client, cc *C.struct_cctx, nodes []shim.Node) (all C.int, st shim.Status, begun bool) {
	if r := C.cu_capture_begin(cc); r != 0 {
		shim.Log().Infow("graph capture could not start", "result", int(r))
		return 0, shim.ErrNotSupported, false
	}
	for i := range nodes {
		if st = b.record(c, cc, &nodes[i]); st != shim.OK {
			return 0, st, true
		}
	}
	return 1, shim.OK, true
}

// record enqueues one node on cc's capturing stream. A kernel must be the client's, loaded
// in that context.
func (b *Backend) record(c *client, cc *C.struct_cctx, n *shim.Node) shim.Status {
	switch n.Kind {
	case shim.NodeKernel:
		if n.Kernel == nil || n.Kernel.Native == 0 {
			return shim.ErrNotSupported
		}
		if in, ok := c.function(n.Kernel.Native); !ok || in != cc {
			return shim.ErrInvalidDeviceFunction
		}
		return launchIn(cc, cc.stream, n.Kernel.Native, n.Kernel.Params, n.Launch, n.ArgBlock)
	case shim.NodeMemset, shim.NodeMemcpy:
		// A copy to or from a CUDA array is cuMemcpy3D (array.go): such a graph is replayed
		// node by node, each copy through Copy.
		if b.arrays.at(n.Dst, n.N) != nil || (n.Kind == shim.NodeMemcpy && b.arrays.at(n.Src, n.N) != nil) {
			return shim.ErrNotSupported
		}
	}
	switch n.Kind {
	case shim.NodeMemset:
		if n.Elem == 2 || n.Elem == 4 {
			return status(C.cu_memset_words_on(cc.stream, C.ulonglong(n.Dst), C.uint(n.Pattern), C.uint(n.Elem), C.size_t(n.N/uint64(n.Elem))))
		}
		return status(C.cu_memset_on(cc.stream, C.ulonglong(n.Dst), C.uchar(n.Value), C.size_t(n.N)))
	case shim.NodeMemcpy:
		if n.Copy != shim.DeviceToDevice {
			return shim.ErrNotSupported
		}
		return status(C.cu_dtod_on(cc.stream, C.ulonglong(n.Dst), C.ulonglong(n.Src), C.size_t(n.N)))
	case shim.NodeEventRecord, shim.NodeEventWait: // a linear graph is ordered already
		return shim.OK
	case shim.NodeHost:
		if !n.Capturable || n.Run == nil {
			return shim.ErrNotSupported
		}
		return n.Run()
	}
	return shim.ErrNotSupported
}

// LaunchGraph launches one of the caller's recorded graphs on the issuing stream's driver
// stream, after the work before it there.
// UpdateGraph records nodes again and updates g, which BuildGraph made, from them
// (shim.GraphUpdater): the client's graph kept its topology (cudaGraphExecUpdate), so the
// driver's executable graph stays, with no new instantiation.
func (b *Backend) UpdateGraph(d *shim.Device, g uintptr, nodes []shim.Node) shim.Status {
	c := b.caller()
	cc, ok := c.graph(g, false)
	if !ok {
		return shim.ErrInvalidHandle
	}
	if home, st := b.ctxFor(c, d.Index); st != shim.OK || home != cc {
		return shim.ErrInvalidValue
	}
	all, st, begun := b.capture(c, cc, nodes)
	if !begun {
		return st
	}
	if r := C.cu_capture_update(cc, all, unsafe.Pointer(g)); r != 0 && st == shim.OK {
		st = shim.ErrNotSupported
	}
	return st
}

func (b *Backend) LaunchGraph(d *shim.Device, g uintptr) shim.Status {
	c := b.caller()
	cc, ok := c.graph(g, false)
	if !ok {
		return shim.ErrInvalidHandle
	}
	if st := bind(cc); st != shim.OK {
		return st
	}
	rs, st := c.streamIn(cc)
	if st != shim.OK {
		return st
	}
	var r C.int
	if graphTiming {
		r = timedGraphLaunch(cc, g, rs)
	} else {
		r = C.cu_graph_launch(unsafe.Pointer(g), rs)
	}
	if r != 0 {
		shim.Log().Warnw("cuGraphLaunch failed", "result", int(r))
		return launchStatus(r)
	}
	return shim.OK
}

// DestroyGraph frees one of the caller's recorded graphs.
func (b *Backend) DestroyGraph(g uintptr) {
	c := b.existing(shim.Thread().Owner)
	if c == nil {
		return
	}
	if cc, ok := c.graph(g, true); ok && bind(cc) == shim.OK {
		C.cu_graph_destroy(unsafe.Pointer(g))
	}
}

// With VGPU_STATS=1 the server times its graph launches on the GPU: how long each graph ran
// and how long the GPU then sat idle before the next one, which is the part of a token a
// client's round trips can lengthen. Meaningful with one client at a time.
var (
	graphTiming = os.Getenv("VGPU_STATS") == "1"
	timingMu    sync.Mutex
	runs, gaps  []float32
	intervals   []float32 // host time between consecutive launches
	lastLaunch  time.Time
	timingLog   sync.Once
)

func timedGraphLaunch(cc *C.struct_cctx, g uintptr, rs unsafe.Pointer) C.int {
	timingMu.Lock()
	defer timingMu.Unlock()
	timingLog.Do(func() { go logGraphTimes() })
	var run, gap C.float
	if now := time.Now(); !lastLaunch.IsZero() && len(intervals) < 1<<20 {
		intervals = append(intervals, float32(now.Sub(lastLaunch).Seconds()*1e3))
		lastLaunch = now
	} else {
		lastLaunch = now
	}
	r := C.cu_graph_launch_timed(cc, unsafe.Pointer(g), rs, &run, &gap)
	if run >= 0 && len(runs) < 1<<20 {
		runs, gaps = append(runs, float32(run)), append(gaps, float32(gap))
	}
	return r
}

func logGraphTimes() {
	last := 0
	for range time.Tick(time.Second) {
		timingMu.Lock()
		r, g, iv := slices.Clone(runs), slices.Clone(gaps), slices.Clone(intervals)
		timingMu.Unlock()
		if len(r) == last {
			continue
		}
		last = len(r)
		shim.Log().Infow("graph launches timed on the GPU (ms)", "graphs", len(r),
			"run_p50", shim.Percentile(r, 50), "run_mean", mean(r), "gap_p10", shim.Percentile(g, 10), "gap_p50", shim.Percentile(g, 50), "gap_p90", shim.Percentile(g, 90),
			"between_launches_p10", shim.Percentile(iv, 10), "between_launches_p50", shim.Percentile(iv, 50))
	}
}

func mean(v []float32) float32 {
	var s float64
	for _, x := range v {
		s += float64(x)
	}
	return float32(s / float64(len(v)))
}
