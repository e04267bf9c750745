package shim

import (
	"math"
	"sync"
)

// Graph nodes of a remote client that name its own memory (issue 13): a host node's function
// runs in the client's process, in the graph's order. The server keeps such a node as a
// marker (Node.ClientFn) and launches an executable graph in parts, stopping at each marker
// for the client to run the function (wire.OpGraphLaunchPart).

// ClientHostNode is the operation of a remote client's host node: nothing to run here.
func ClientHostNode(fn, data uintptr) Node {
	return Node{Kind: NodeHost, ClientFn: fn, ClientData: data}
}

// LaunchPart launches x's operations on s from index from up to its next client host node.
// It returns the index after that node, and the node's function and data, once s's work
// before the node is complete; next is -1 when the rest of the graph was launched. A stream
// that captures records the markers with the rest: its graph stops at them in turn.
func (x *GraphExec) LaunchPart(s *Stream, from int) (next int, fn, data uintptr, st Status) {
	x.mu.Lock()
	nodes := append([]Node(nil), x.Nodes...)
	x.mu.Unlock()
	if from < 0 || from > len(nodes) {
		return -1, 0, 0, ErrInvalidValue
	}
	capturing := s.Capturing() != nil
	if from == 0 && (capturing || !hasClientHost(nodes)) {
		return -1, 0, 0, x.Launch(s) // as one unit of work where the backend can
	}
	for i := from; i < len(nodes); i++ {
		n := nodes[i]
		if n.Kind == NodeHost && n.ClientFn != 0 && !capturing {
			if st := s.Synchronize(); st != OK {
				return -1, 0, 0, st
			}
			return i + 1, n.ClientFn, n.ClientData, OK
		}
		if st := stillMapped(n); st != OK {
			return -1, 0, 0, st
		}
		if st := s.Enqueue(n); st != OK {
			return -1, 0, 0, st
		}
	}
	return -1, 0, 0, OK
}

func hasClientHost(nodes []Node) bool {
	for _, n := range nodes {
		if n.Kind == NodeHost && n.ClientFn != 0 {
			return true
		}
	}
	return false
}

// ---- kernel node attributes (cuGraphKernelNodeGetAttribute and the runtime's form) ----

var (
	nodeAttrMu sync.Mutex
	nodeAttrs  = map[*GraphNode]map[int32][LaunchAttrValueSize]byte{}
)

// kernelNodeAttrKnown: the launch attributes a kernel node carries.
func kernelNodeAttrKnown(attr int32) bool {
	switch attr {
	case LaunchAttrAccessPolicyWindow, LaunchAttrCooperative, LaunchAttrClusterDimension,
		LaunchAttrClusterSchedulingPolicy, LaunchAttrPriority, LaunchAttrMemSyncDomainMap,
		LaunchAttrMemSyncDomain, LaunchAttrPreferredClusterDim, LaunchAttrDeviceUpdatableNode,
		LaunchAttrPreferredSharedCarveout:
		return true
	}
	return false
}

// KernelNodeAttribute is what was set on kernel node n, else zero (no window, not
// cooperative, no cluster, priority 0, the default domain).
func KernelNodeAttribute(n *GraphNode, attr int32) ([LaunchAttrValueSize]byte, Status) {
	if n.Type != GraphNodeKernel || !kernelNodeAttrKnown(attr) {
		return [LaunchAttrValueSize]byte{}, ErrInvalidValue
	}
	nodeAttrMu.Lock()
	defer nodeAttrMu.Unlock()
	return nodeAttrs[n][attr], OK
}

// SetKernelNodeAttribute checks a value as a launch attribute is checked (a window within the
// device's limit and a hit ratio in [0, 1], a domain of 0 or 1, a flag of 0 or 1, a cluster
// that divides nothing it cannot) and keeps it.
func SetKernelNodeAttribute(n *GraphNode, d *Device, attr int32, v [LaunchAttrValueSize]byte) Status {
	if n.Type != GraphNodeKernel || !kernelNodeAttrKnown(attr) {
		return ErrInvalidValue
	}
	switch attr {
	case LaunchAttrAccessPolicyWindow:
		ratio := math.Float32frombits(Le.Uint32(v[16:]))
		if d == nil || Le.Uint64(v[8:]) > uint64(d.Attrs[AttrMaxAccessPolicyWindow]) || !(ratio >= 0 && ratio <= 1) {
			return ErrInvalidValue
		}
	case LaunchAttrCooperative, LaunchAttrDeviceUpdatableNode, LaunchAttrMemSyncDomain:
		if Le.Uint32(v[:]) > 1 {
			return ErrInvalidValue
		}
	case LaunchAttrClusterDimension, LaunchAttrPreferredClusterDim:
		x, y, z := Le.Uint32(v[:]), Le.Uint32(v[4:]), Le.Uint32(v[8:])
		if uint64(x)*uint64(y)*uint64(z) > 16 { // clusters of at most 16 blocks (non-portable)
			return ErrInvalidValue
		}
	case LaunchAttrPriority:
		Le.PutUint32(v[:], uint32(min(max(int32(Le.Uint32(v[:])), -5), 0)))
	case LaunchAttrPreferredSharedCarveout:
		if c := int32(Le.Uint32(v[:])); c != -1 && (c < 0 || c > 100) {
			return ErrInvalidValue
		}
	}
	nodeAttrMu.Lock()
	defer nodeAttrMu.Unlock()
	m := nodeAttrs[n]
	if m == nil {
		m = map[int32][LaunchAttrValueSize]byte{}
		nodeAttrs[n] = m
	}
	m[attr] = v
	return OK
}

// CopyKernelNodeAttributes gives dst every attribute of src; both must be kernel nodes.
func CopyKernelNodeAttributes(dst, src *GraphNode) Status {
	if dst.Type != GraphNodeKernel || src.Type != GraphNodeKernel {
		return ErrInvalidValue
	}
	nodeAttrMu.Lock()
	defer nodeAttrMu.Unlock()
	m := map[int32][LaunchAttrValueSize]byte{}
	for k, v := range nodeAttrs[src] {
		m[k] = v
	}
	nodeAttrs[dst] = m
	return OK
}

// ---- user objects (cuUserObjectCreate and the runtime's form) ----

// UserObject is a reference-counted object whose destructor, a host function of the
// program's, runs in the program's process when the last reference goes.
type UserObject struct {
	Handle   uintptr
	ptr, fn  uintptr
	mu       sync.Mutex
	refs     uint64
	finished bool
}

// MaxUserObjectRefs bounds one object's count (NVIDIA's is a 32-bit count).
const MaxUserObjectRefs = 1<<31 - 1

// NewUserObject makes an object with refs references, the caller's.
func NewUserObject(ptr, fn uintptr, refs uint32) *UserObject {
	o := &UserObject{ptr: ptr, fn: fn, refs: uint64(refs)}
	o.Handle = NewHandle(KindUserObject, o)
	return o
}

// Retain adds n references.
func (o *UserObject) Retain(n uint32) Status {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.finished || n == 0 || o.refs+uint64(n) > MaxUserObjectRefs {
		return ErrInvalidValue
	}
	o.refs += uint64(n)
	return OK
}

// Release drops n references; the last one runs the destructor (on another thread, as
// NVIDIA's driver runs it) and forgets the handle. Releasing more than are held is an
// invalid value, and changes nothing.
func (o *UserObject) Release(n uint32) Status {
	o.mu.Lock()
	if o.finished || n == 0 || uint64(n) > o.refs {
		o.mu.Unlock()
		return ErrInvalidValue
	}
	o.refs -= uint64(n)
	last := o.refs == 0
	if last {
		o.finished = true
	}
	o.mu.Unlock()
	if last {
		Release(KindUserObject, o.Handle)
		RunHostFunc(o.fn, o.ptr)
	}
	return OK
}

// References a graph or an executable graph owns, by its handle (the server's, for a remote
// client: it keeps them in its own process).
var (
	ownedMu   sync.Mutex
	ownedRefs = map[uintptr]map[*UserObject]uint32{}
)

// OwnerRetain moves n of the caller's references (move) or new ones into owner's.
func OwnerRetain(owner uintptr, o *UserObject, n uint32, move bool) Status {
	if !move {
		if st := o.Retain(n); st != OK {
			return st
		}
	}
	ownedMu.Lock()
	defer ownedMu.Unlock()
	m := ownedRefs[owner]
	if m == nil {
		m = map[*UserObject]uint32{}
		ownedRefs[owner] = m
	}
	m[o] += n
	return OK
}

// OwnerRelease gives n of owner's references back; owner must hold that many.
func OwnerRelease(owner uintptr, o *UserObject, n uint32) Status {
	ownedMu.Lock()
	m := ownedRefs[owner]
	if n == 0 || m[o] < n {
		ownedMu.Unlock()
		return ErrInvalidValue
	}
	if m[o] -= n; m[o] == 0 {
		delete(m, o)
	}
	ownedMu.Unlock()
	return o.Release(n)
}

// OwnerCopy gives to a reference to each object from holds (an instantiation: the
// executable graph keeps the graph's objects alive).
func OwnerCopy(from, to uintptr) {
	ownedMu.Lock()
	var objs []*UserObject
	for o := range ownedRefs[from] {
		objs = append(objs, o)
	}
	ownedMu.Unlock()
	for _, o := range objs {
		OwnerRetain(to, o, 1, false)
	}
}

// OwnerGone releases everything owner holds (its graph or executable graph was destroyed).
func OwnerGone(owner uintptr) {
	ownedMu.Lock()
	m := ownedRefs[owner]
	delete(ownedRefs, owner)
	ownedMu.Unlock()
	for o, n := range m {
		o.Release(n)
	}
}

// ---- graph memory (allocation and free nodes) ----

// GraphMem is what allocation nodes hold on each device, for cudaDeviceGetGraphMemAttribute.
var (
	graphMemMu   sync.Mutex
	graphMemUsed = map[int]uint64{}
	graphMemHigh = map[int]uint64{}
	graphAllocs  = map[uintptr]*graphAlloc{}
)

type graphAlloc struct {
	dev   int
	size  uint64
	owner *Graph
}

// GraphMemAlloc reserves size bytes of d's memory for an allocation node of g: the address
// is fixed when the node is made, as NVIDIA's is, and valid from the node to its free.
func GraphMemAlloc(d *Device, g *Graph, size uint64) (uintptr, Status) {
	if size == 0 {
		return 0, ErrInvalidValue
	}
	a, st := AllocDevice(d, size, MemDevice)
	if st != OK {
		return 0, st
	}
	graphMemMu.Lock()
	defer graphMemMu.Unlock()
	graphAllocs[a.Base] = &graphAlloc{dev: d.Index, size: size, owner: g}
	graphMemUsed[d.Index] += size
	graphMemHigh[d.Index] = max(graphMemHigh[d.Index], graphMemUsed[d.Index])
	return a.Base, OK
}

// IsGraphAlloc reports whether p is the start of a graph allocation.
func IsGraphAlloc(p uintptr) bool {
	graphMemMu.Lock()
	defer graphMemMu.Unlock()
	return graphAllocs[p] != nil
}

// GraphMemUsage is the bytes graph allocations hold on device dev, and the high-water mark.
func GraphMemUsage(dev int) (used, high uint64) {
	graphMemMu.Lock()
	defer graphMemMu.Unlock()
	return graphMemUsed[dev], graphMemHigh[dev]
}

// ResetGraphMemHigh sets the high-water mark to the current figure.
func ResetGraphMemHigh(dev int) {
	graphMemMu.Lock()
	defer graphMemMu.Unlock()
	graphMemHigh[dev] = graphMemUsed[dev]
}

// ---- conditional handles (cudaGraphConditionalHandleCreate) ----

// ConditionalHandle is a graph's condition value, set by device code in a real graph.
type ConditionalHandle struct {
	Graph   *Graph
	Default uint32
	Flags   uint32
}

// NewConditionalHandle makes a handle of g.
func NewConditionalHandle(g *Graph, def, flags uint32) uintptr {
	return NewHandle(KindConditional, &ConditionalHandle{Graph: g, Default: def, Flags: flags})
}

// A child node's graph, made when first asked for (cuGraphChildGraphNodeGetGraph and the
// runtime's form): the child's operations as the node took them. The node owns it.
var (
	childMu     sync.Mutex
	childGraphs = map[*GraphNode]*Graph{}
)

// ChildGraphOf returns child node n's graph.
func ChildGraphOf(n *GraphNode) *Graph {
	childMu.Lock()
	defer childMu.Unlock()
	g := childGraphs[n]
	if g == nil {
		g = NewGraph()
		g.Nodes = append([]Node(nil), n.Ops...)
		g.Handle = NewHandle(KindGraph, g)
		childGraphs[n] = g
	}
	return g
}
