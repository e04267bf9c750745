package local

/*
#include "cctx.h"
int cu_retain(void **ctx, int d);
int cu_graph_destroy(void *exec);
int cu_modunload(void *m);
int cu_hostunreg(uintptr_t p);
*/
import "C"

import (
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"vgpu/shim"
)

// Each client of `vgpu serve --backend local` has its own state here: the modules, kernels,
// graphs and pinned windows it made (no other client's call can use them), a cuBLAS handle,
// a capturing stream and timing events; EndClient releases them when its session ends.
//
// Where its work runs: by default in the devices' primary contexts, shared by all clients.
// With VGPU_CLIENT_CONTEXTS=1 each client gets contexts of its own (cuCtxCreate at its first
// GPU work, cuCtxDestroy at its end). Measured on an H200 with driver 580 (docs/security-gpu.md),
// contexts of one process share one GPU address space and one fault domain: a client's kernel
// still read another's memory by address, and one client's faulting kernel still left every
// context of the process, new ones included, failing with 700. They also cost about 520 MiB
// of device memory and 130-230 ms each, and two busy clients' round trips rose from 35 to
// 270 us (the GPU time-slices between contexts). So they are off: what separates tenants on
// the GPU is a process per client, not a context. The switch stays for measuring this again
// on other drivers.
//
// A private server (VGPU_BACKEND=local: `vgpu serve --fd N`, one client, which is such a
// process per client) and calls outside any client (owner 0) always use primary contexts.

// client is one server client's GPU state.
type client struct {
	owner   uint64
	home    int  // the device whose context runs work that names no device (copies, modules)
	primary bool // runs in primary contexts, which outlive it
	homeCC  atomic.Pointer[C.struct_cctx]

	mu      sync.Mutex
	ctxs    map[int]*C.struct_cctx     // by physical device index
	modules map[uintptr]*C.struct_cctx // the client's loaded modules, by the context they live in
	fns     map[uintptr]*C.struct_cctx // their kernels
	modFns  map[uintptr][]uintptr      // the kernels found in each module
	graphs  map[uintptr]*C.struct_cctx // recorded graphs
	pinned  map[uintptr]uint64         // host ranges registered for this client
	blasMu  sync.Mutex                 // a GEMM's modes go with the GEMM (owner 0 may call from many threads)
	streams sync.Map                   // streamKey -> the driver stream (unsafe.Pointer) of one of its streams (stream.go)
	// nullDownload: a download into host memory left running on a NULL stream (CopyAsync
	// naming no stream) since the last synchronisation of one; a stream's synchronisation
	// waits for it too, since the client reads the memory after any of them.
	nullDownload atomic.Bool
}

// privateServer reports whether this process is VGPU_BACKEND=local's private server, which
// serves the one client on an inherited socket (`vgpu serve --fd N`).
func privateServer(args []string) bool {
	for i, a := range args {
		if i == 0 {
			continue
		}
		if a == "--fd" || a == "-fd" || strings.HasPrefix(a, "--fd=") || strings.HasPrefix(a, "-fd=") {
			return true
		}
	}
	return false
}

var (
	isPrivateServer = privateServer(os.Args)
	clientContexts  = os.Getenv("VGPU_CLIENT_CONTEXTS") == "1"
)

// usesPrimary reports whether owner's work runs in the primary contexts.
func usesPrimary(owner uint64) bool { return owner == 0 || isPrivateServer || !clientContexts }

// caller is the client whose call this thread runs, made at its first call; it holds no
// context until it needs one.
func (b *Backend) caller() *client { return b.callerOf(shim.Thread()) }

// callerOf is caller for the calling thread's state, when the caller has it already.
func (b *Backend) callerOf(ts *shim.ThreadState) *client {
	owner := ts.Owner
	if v, ok := b.clients.Load(owner); ok {
		return v.(*client)
	}
	c := &client{owner: owner, primary: usesPrimary(owner), ctxs: map[int]*C.struct_cctx{},
		modules: map[uintptr]*C.struct_cctx{}, fns: map[uintptr]*C.struct_cctx{}, modFns: map[uintptr][]uintptr{},
		graphs: map[uintptr]*C.struct_cctx{}, pinned: map[uintptr]uint64{}}
	if v := ts.View; len(v) > 0 { // the client's first device (its CUDA_VISIBLE_DEVICES)
		c.home = v[0].Index
	}
	v, _ := b.clients.LoadOrStore(owner, c)
	return v.(*client)
}

// existing is owner's client if it has one; nothing is made.
func (b *Backend) existing(owner uint64) *client {
	if v, ok := b.clients.Load(owner); ok {
		return v.(*client)
	}
	return nil
}

// ctxFor is c's context on device dev, made (and current) at its first use.
func (b *Backend) ctxFor(c *client, dev int) (*C.struct_cctx, shim.Status) {
	if dev == c.home {
		if cc := c.homeCC.Load(); cc != nil {
			return cc, bind(cc)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cc := c.ctxs[dev]; cc != nil {
		return cc, bind(cc)
	}
	if dev < 0 || dev >= len(b.devices) {
		return nil, shim.ErrInvalidDevice
	}
	cc := C.cc_new()
	if cc == nil {
		return nil, shim.ErrOutOfMemory
	}
	if c.primary {
		ctx, st := b.primary(dev)
		if st != shim.OK {
			C.cc_free(cc)
			return nil, st
		}
		cc.ctx = ctx
	} else {
		start := time.Now()
		if r := C.cu_ctx_create(cc, C.int(dev)); r != 0 {
			C.cc_free(cc)
			shim.Log().Warnw("cuCtxCreate for a client failed", "client", c.owner, "device", dev, "result", int(r))
			return nil, status(r)
		}
		shim.Log().Infow("client context created", "client", c.owner, "device", dev, "took", time.Since(start))
	}
	c.ctxs[dev] = cc
	if dev == c.home {
		c.homeCC.Store(cc)
	}
	return cc, bind(cc)
}

// homeCtx is c's context on its home device, current.
func (b *Backend) homeCtx(c *client) (*C.struct_cctx, shim.Status) { return b.ctxFor(c, c.home) }

// bind makes cc's context current on this thread.
func bind(cc *C.struct_cctx) shim.Status {
	if r := C.cu_bind(cc); r != 0 {
		return status(r)
	}
	return shim.OK
}

// primary is device dev's primary context, retained at its first use.
func (b *Backend) primary(dev int) (unsafe.Pointer, shim.Status) {
	b.primaryMu.Lock()
	defer b.primaryMu.Unlock()
	if b.primaries[dev] == nil {
		var ctx unsafe.Pointer
		if r := C.cu_retain(&ctx, C.int(dev)); r != 0 {
			shim.Log().Warnw("cuDevicePrimaryCtxRetain failed", "device", dev, "result", int(r))
			return nil, status(r)
		}
		b.primaries[dev] = ctx
	}
	return b.primaries[dev], shim.OK
}

// Ownership of what the driver handed out in a client's contexts. The shim's handles already
// resolve only for their owner; these tables keep the backend from ever using one client's
// module, kernel or graph in another's call, whatever value reaches it.

func (c *client) addModule(mod uintptr, cc *C.struct_cctx) {
	c.mu.Lock()
	c.modules[mod] = cc
	c.mu.Unlock()
}

func (c *client) module(mod uintptr) (*C.struct_cctx, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cc, ok := c.modules[mod]
	return cc, ok
}

// dropModule forgets mod and its kernels, reporting the context it lived in.
func (c *client) dropModule(mod uintptr) (*C.struct_cctx, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cc, ok := c.modules[mod]
	if ok {
		for _, f := range c.modFns[mod] {
			delete(c.fns, f)
		}
		delete(c.modules, mod)
		delete(c.modFns, mod)
	}
	return cc, ok
}

func (c *client) addFunction(mod, fn uintptr, cc *C.struct_cctx) {
	c.mu.Lock()
	if _, ok := c.fns[fn]; !ok {
		c.fns[fn] = cc
		c.modFns[mod] = append(c.modFns[mod], fn)
	}
	c.mu.Unlock()
}

func (c *client) function(fn uintptr) (*C.struct_cctx, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cc, ok := c.fns[fn]
	return cc, ok
}

func (c *client) addGraph(g uintptr, cc *C.struct_cctx) {
	c.mu.Lock()
	c.graphs[g] = cc
	c.mu.Unlock()
}

func (c *client) graph(g uintptr, drop bool) (*C.struct_cctx, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cc, ok := c.graphs[g]
	if drop {
		delete(c.graphs, g)
	}
	return cc, ok
}

// EndClient ends a server client's GPU state once its session is over (shim.EndClient, after
// its memory and handles were released): whatever it left loaded or registered is released,
// with its cuBLAS handle, capturing stream and timing events; contexts of its own are then
// destroyed, which frees all that lived in them even where a fault made frees fail (the shim
// refunded the memory when it freed the allocations).
func (b *Backend) EndClient(owner uint64) {
	v, ok := b.clients.LoadAndDelete(owner)
	if !ok {
		return
	}
	c := v.(*client)
	c.mu.Lock()
	defer c.mu.Unlock()
	for g, cc := range c.graphs {
		if bind(cc) == shim.OK {
			C.cu_graph_destroy(unsafe.Pointer(g))
		}
	}
	for m, cc := range c.modules {
		if bind(cc) == shim.OK {
			C.cu_modunload(unsafe.Pointer(m))
		}
	}
	if home := c.ctxs[c.home]; home != nil {
		for p := range c.pinned {
			if bind(home) == shim.OK {
				C.cu_hostunreg(C.uintptr_t(p))
			}
		}
	}
	left := len(c.graphs) + len(c.modules) + len(c.pinned)
	c.graphs, c.modules, c.fns, c.modFns, c.pinned = nil, nil, nil, nil, nil
	c.homeCC.Store(nil)
	for dev, cc := range c.ctxs {
		c.endStreams(cc)
		if r := C.cu_ctx_end(cc, boolInt(!c.primary)); r != 0 {
			shim.Log().Warnw("cuCtxDestroy for a client failed", "client", owner, "device", dev, "result", int(r))
		} else if !c.primary {
			shim.Log().Infow("client context destroyed", "client", owner, "device", dev, "released_with_it", left)
		}
		C.cc_free(cc)
	}
	c.ctxs = nil
}

func boolInt(v bool) C.int {
	if v {
		return 1
	}
	return 0
}

// cctxT and cInt name the C types for code that cannot (the tests).
type cctxT = C.struct_cctx

func cInt(v int) C.int { return C.int(v) }
