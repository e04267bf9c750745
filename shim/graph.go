package shim

import (
	"slices"
	"sync"
)

// NodeKind is the kind of one graph node.
type NodeKind uint8

const (
	NodeKernel NodeKind = iota + 1
	NodeMemcpy
	NodeMemset
	NodeEventRecord
	NodeEventWait
	NodeHost // work with no device effect (e.g. a cuBLAS call captured in sim)
)

// Node is one recorded operation.
type Node struct {
	Kind   NodeKind
	Dst    uintptr
	Src    uintptr
	N      uint64
	Value  byte
	Copy   int32 // NodeMemcpy: the copy kind, resolved (never CopyDefault)
	Kernel *Kernel
	Launch LaunchConfig
	Args   uintptr
	// ArgBlock holds a shipped kernel's packed parameters, for as long as a graph keeps the node.
	ArgBlock []byte
	Run      func() Status // NodeHost: what replaying the node does
	// Capturable: Run only enqueues device work on the backend's current stream (a cuBLAS
	// call), so a backend may record it into a graph of its own.
	Capturable bool
	// ClientFn, ClientData: a remote client's host node (NodeHost), kept as numbers to hand
	// back at the graph's launch (shim/graphnodes.go); never called here.
	ClientFn, ClientData uintptr
	// ViewType, ViewParams: the node view's type and parameters where they are not the
	// kind's (a captured stream-ordered allocation or free: an allocation or free node, a
	// no-op at replay; shim/capturemem.go).
	ViewType   int32
	ViewParams []byte
	// Elem, Pattern: a NodeMemset of 2- or 4-byte elements (cuMemsetD16/D32) fills its N
	// bytes with Pattern's low Elem bytes, on a backend that fills so itself (WordSetter);
	// Elem 0 is a byte fill of Value.
	Elem    uint8
	Pattern uint32
}

// GraphBackend is a backend that runs an instantiated graph as one unit of device work, as
// CUDA does: one launch instead of one per node.
type GraphBackend interface {
	// BuildGraph records nodes into the backend's own executable graph on d.
	BuildGraph(d *Device, nodes []Node) (uintptr, Status)
	// LaunchGraph runs it, in order with the backend's other work.
	LaunchGraph(d *Device, g uintptr) Status
	DestroyGraph(g uintptr)
}

// GraphUpdater is a GraphBackend that can update a graph it built from new nodes of the same
// topology (cudaGraphExecUpdate) instead of building it again.
type GraphUpdater interface {
	UpdateGraph(d *Device, g uintptr, nodes []Node) Status
}

// Graph is a captured or built sequence of nodes. Capture is linear per stream, so a slice
// keeps CUDA's order.
type Graph struct {
	Handle uintptr
	mu     sync.Mutex
	Nodes  []Node
	built  []*GraphNode // the node view (graphbuild.go); nil until asked for or built by hand
}

// NewGraph returns an empty graph (without a handle; callers register it when it escapes).
func NewGraph() *Graph { return &Graph{} }

func (g *Graph) add(n Node) {
	g.mu.Lock()
	g.Nodes = append(g.Nodes, n)
	g.mu.Unlock()
}

// Snapshot copies the nodes.
func (g *Graph) Snapshot() []Node {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Node(nil), g.Nodes...)
}

// GraphExec is an instantiated graph.
type GraphExec struct {
	Handle uintptr
	mu     sync.Mutex
	Nodes  []Node
	// The backend's own graph of Nodes (on nativeDev), built at the first launch after an
	// instantiation, as the driver's instantiation would have (a graph replayed node by node
	// first, then built, made a program's graph cost the driver's instantiation a launch
	// later, on top of a replay: ggml's last ubatch of a prompt paid it in a request of its
	// own). After a change the backend could not follow in place (an update it has no
	// GraphUpdater for, a node's parameters set) it is built at the second launch: a
	// program that changes its graph before every launch is replayed, not rebuilt each time.
	native      uintptr
	nativeDev   *Device
	launches    int
	changed     bool // the backend's graph was dropped for a change since the instantiation
	unbuildable bool
	layout      map[*GraphNode]int // where each node of the graph's node view starts in Nodes
	// The instantiated graph's nodes and their shape (types, functions, edges), which
	// cudaGraphExecUpdate compares a graph with.
	tmpl  []*GraphNode
	shape []nodeShape
	Flags uint64 // the cudaGraphInstantiateFlags it was made with
}

// Close destroys the backend's graph (cudaGraphExecDestroy, or the client went).
func (x *GraphExec) Close() {
	defer OwnerGone(x.Handle) // its user objects' references (shim/graphnodes.go)
	x.mu.Lock()
	defer x.mu.Unlock()
	x.dropNative()
	x.ForgetDisabled()
}

// dropNative forgets the backend's graph; x.mu is held.
func (x *GraphExec) dropNative() {
	if x.native != 0 {
		if gb, ok := S().Backend.(GraphBackend); ok {
			gb.DestroyGraph(x.native)
		}
		x.native, x.changed = 0, true
	}
	x.launches, x.unbuildable = 0, false
}

// Instantiate freezes g.
func Instantiate(g *Graph) *GraphExec {
	g.mu.Lock()
	g.structureLocked()
	x := &GraphExec{Nodes: append([]Node(nil), g.Nodes...), layout: g.layoutLocked(),
		tmpl: append([]*GraphNode(nil), g.built...), shape: shapeOf(g.built)}
	g.mu.Unlock()
	x.Handle = NewHandle(KindGraphExec, x)
	OwnerCopy(g.Handle, x.Handle) // the graph's user objects live as long as x too
	return x
}

// nodeShape is what cudaGraphExecUpdate requires of a graph node to stay the same: its type,
// a kernel node's function, and its dependencies (as indices in the graph's node order).
type nodeShape struct {
	typ    int32
	kernel *Kernel
	deps   []int
}

// shapeOf is the shape of nodes (a graph's node view; its mutex held).
func shapeOf(nodes []*GraphNode) []nodeShape {
	at := make(map[*GraphNode]int, len(nodes))
	for i, n := range nodes {
		at[n] = i
	}
	out := make([]nodeShape, len(nodes))
	for i, n := range nodes {
		out[i].typ = n.Type
		if len(n.Ops) > 0 && n.Ops[0].Kind == NodeKernel {
			out[i].kernel = n.Ops[0].Kernel
		}
		for _, d := range n.Deps {
			out[i].deps = append(out[i].deps, at[d])
		}
	}
	return out
}

// Update takes g's parameters if its topology matches the instantiated graph's (as many
// nodes, the same edges, types and kernel functions); otherwise it reports why, as
// cudaGraphExecUpdateResult: 2 topology changed, 3 a node's type, 4 a kernel's function.
func (x *GraphExec) Update(g *Graph) (ok bool, why int32) {
	g.mu.Lock()
	g.structureLocked()
	nodes := append([]Node(nil), g.Nodes...)
	built := append([]*GraphNode(nil), g.built...)
	shape, layout := shapeOf(built), g.layoutLocked()
	g.mu.Unlock()
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(shape) != len(x.shape) {
		return false, 2 // cudaGraphExecUpdateErrorTopologyChanged
	}
	for i := range shape {
		if !slices.Equal(shape[i].deps, x.shape[i].deps) {
			return false, 2
		}
	}
	for i := range shape {
		if shape[i].typ != x.shape[i].typ {
			return false, 3 // ...NodeTypeChanged
		}
		if shape[i].kernel != x.shape[i].kernel {
			return false, 4 // ...FunctionChanged
		}
	}
	x.Nodes = nodes
	// The instantiated graph's nodes now stand for g's, where g's operations now sit.
	x.layout = layout
	for i, n := range x.tmpl {
		if at, ok := layout[built[i]]; ok && x.layout != nil {
			x.layout[n] = at
		}
	}
	// The backend's graph follows in place where it can: built again, it would cost a
	// node-by-node replay and a new instantiation (ggml updates its graph at every request).
	if gu, ok := S().Backend.(GraphUpdater); ok && x.native != 0 && gu.UpdateGraph(x.nativeDev, x.native, nodes) == OK {
		return true, 0
	}
	x.dropNative()
	return true, 0
}

// Launch replays the graph on s: as the backend's own graph where it has them, else node
// by node.
func (x *GraphExec) Launch(s *Stream) Status {
	x.mu.Lock()
	if gb, ok := S().Backend.(GraphBackend); ok && s.Capturing() == nil && !x.unbuildable {
		x.launches++
		if x.native == 0 && (x.launches >= 2 || !x.changed) {
			g, st := gb.BuildGraph(s.Dev, x.Nodes)
			x.nativeDev = s.Dev
			if st != OK {
				x.unbuildable = true // replayed node by node from now on
				Log().Infow("graph replayed node by node: the backend could not build it", "nodes", len(x.Nodes), "status", st)
			} else {
				x.native = g
				Log().Infow("graph recorded as one backend graph", "nodes", len(x.Nodes))
			}
		}
		if x.native != 0 {
			defer x.mu.Unlock()
			return issuing(s, func() Status { return gb.LaunchGraph(s.Dev, x.native) })
		}
	}
	nodes := append([]Node(nil), x.Nodes...)
	x.mu.Unlock()
	for _, n := range nodes {
		if st := stillMapped(n); st != OK {
			return st
		}
		if st := s.Enqueue(n); st != OK {
			return st
		}
	}
	return OK
}

// stillMapped checks a replayed copy's or set's device memory again: it was checked when
// recorded, and may have been freed since (and its addresses handed to someone else). A
// device's memory is host memory on the sim, so this replay would otherwise write wherever
// the address now points.
func stillMapped(n Node) Status {
	var dev []uintptr
	switch {
	case n.Kind == NodeMemset:
		dev = []uintptr{n.Dst}
	case n.Kind == NodeMemcpy && n.Copy == HostToDevice:
		dev = []uintptr{n.Dst}
	case n.Kind == NodeMemcpy && n.Copy == DeviceToHost:
		dev = []uintptr{n.Src}
	case n.Kind == NodeMemcpy && n.Copy == DeviceToDevice:
		dev = []uintptr{n.Dst, n.Src}
	}
	for _, p := range dev {
		if _, st := DeviceRange(p, n.N); st != OK {
			return ErrInvalidValue
		}
	}
	return OK
}

// execute performs one node now.
func execute(d *Device, n Node) Status {
	b := S().Backend
	switch n.Kind {
	case NodeMemcpy:
		return b.Copy(n.Dst, n.Src, n.N, n.Copy)
	case NodeMemset:
		if n.Elem > 1 {
			ws, ok := b.(WordSetter)
			if !ok {
				return ErrNotSupported
			}
			return ws.SetWords(n.Dst, n.Pattern, uint64(n.Elem), n.N/uint64(n.Elem))
		}
		return b.Set(n.Dst, n.Value, n.N)
	case NodeKernel:
		if cb, ok := b.(CodeBackend); ok && n.Kernel.Native != 0 {
			return cb.LaunchPacked(n.Kernel.Native, n.Kernel.Params, n.Launch, n.ArgBlock)
		}
		return b.Launch(n.Kernel, n.Launch, n.Args)
	case NodeHost, NodeEventRecord: // an event record node marks its event (Event.MarkRecorded)
		if n.Run != nil {
			return n.Run()
		}
	}
	return OK
}
