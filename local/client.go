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

// Every client of `vgpu serve --backend local` runs in CUDA contexts of its own, one per
// device it uses, made at its first GPU work and destroyed when its session ends. Kernels are
// arbitrary code: in one shared context a tenant's kernel could read or write another's memory
// by address, and a kernel's fault would leave a sticky error every tenant then meets. Each
// context has its own GPU address space, so another tenant's address faults, and a fault ends
// the faulting context alone.
//
// A private server (VGPU_BACKEND=local: `vgpu serve --fd N`, one client) runs its client in
// the devices' primary contexts instead: there is no other tenant to keep apart, and a primary
// context is made once per device where a created one would cost another context's setup and
// device memory (see docs/security-gpu.md). Calls made outside any client (owner 0: the vgpu
// binary's own use of the local backend) run there too.

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

var isPrivateServer = privateServer(os.Args)

// caller is the client whose call this thread runs, made at its first call; it holds no
// context until it needs one.
func (b *Backend) caller() *client {
	owner := shim.Thread().Owner
	if v, ok := b.clients.Load(owner); ok {
		return v.(*client)
	}
	c := &client{owner: owner, primary: owner == 0 || isPrivateServer, ctxs: map[int]*C.struct_cctx{},
		modules: map[uintptr]*C.struct_cctx{}, fns: map[uintptr]*C.struct_cctx{}, modFns: map[uintptr][]uintptr{},
		graphs: map[uintptr]*C.struct_cctx{}, pinned: map[uintptr]uint64{}}
	if v := shim.Thread().View; len(v) > 0 { // the client's first device (its CUDA_VISIBLE_DEVICES)
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
// then its contexts are destroyed. Destroying a context frees all that lived in it, so a
// client whose context a fault left unusable (its frees fail) still leaves nothing behind;
// the shim refunded its memory when it freed the allocations.
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
