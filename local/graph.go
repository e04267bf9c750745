package local

/*
#include <stddef.h>
int cu_capture_begin(void);
int cu_capture_end(int ok, void **exec);
int cu_memset_cur(unsigned long long d, unsigned char v, size_t n);
int cu_dtod_cur(unsigned long long d, unsigned long long s, size_t n);
int cu_graph_launch(void *exec);
int cu_graph_destroy(void *exec);
int cu_setcur(void *ctx);
*/
import "C"

import (
	"unsafe"

	"vgpu/shim"
)

// BuildGraph records a client graph's nodes into a CUDA graph by stream capture: its
// kernels, device copies and memsets, and its cuBLAS calls. A node that cannot be recorded
// (a copy from or to host memory, host work) leaves the graph to node-by-node replay.
func (b *Backend) BuildGraph(d *shim.Device, nodes []shim.Node) (uintptr, shim.Status) {
	C.cu_setcur(b.ctx[d.Index])
	if r := C.cu_capture_begin(); r != 0 {
		shim.Log().Infow("graph capture could not start", "result", int(r))
		return 0, shim.ErrNotSupported
	}
	st := shim.OK
	for i := range nodes {
		if st = b.record(&nodes[i]); st != shim.OK {
			break
		}
	}
	var exec unsafe.Pointer
	ok := C.int(0)
	if st == shim.OK {
		ok = 1
	}
	if r := C.cu_capture_end(ok, &exec); r != 0 {
		shim.Log().Infow("graph instantiation failed", "result", int(r), "nodes", len(nodes))
		return 0, shim.ErrNotSupported
	}
	if st != shim.OK {
		return 0, st
	}
	return uintptr(exec), shim.OK
}

// record enqueues one node on the capturing stream.
func (b *Backend) record(n *shim.Node) shim.Status {
	switch n.Kind {
	case shim.NodeKernel:
		if n.Kernel == nil || n.Kernel.Native == 0 {
			return shim.ErrNotSupported
		}
		return b.LaunchPacked(n.Kernel.Native, n.Kernel.Params, n.Launch, n.ArgBlock)
	case shim.NodeMemset:
		return status(C.cu_memset_cur(C.ulonglong(n.Dst), C.uchar(n.Value), C.size_t(n.N)))
	case shim.NodeMemcpy:
		if n.Copy != shim.DeviceToDevice {
			return shim.ErrNotSupported
		}
		return status(C.cu_dtod_cur(C.ulonglong(n.Dst), C.ulonglong(n.Src), C.size_t(n.N)))
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

// LaunchGraph launches a recorded graph on the legacy stream, after the work before it.
func (b *Backend) LaunchGraph(d *shim.Device, g uintptr) shim.Status {
	C.cu_setcur(b.ctx[d.Index])
	if r := C.cu_graph_launch(unsafe.Pointer(g)); r != 0 {
		shim.Log().Warnw("cuGraphLaunch failed", "result", int(r))
		return shim.ErrLaunchFailure
	}
	return shim.OK
}

// DestroyGraph frees a recorded graph.
func (b *Backend) DestroyGraph(g uintptr) {
	b.bind()
	C.cu_graph_destroy(unsafe.Pointer(g))
}
