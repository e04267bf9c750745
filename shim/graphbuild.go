package shim

import "unsafe"

// Graphs built by hand (cudaGraphAdd*Node, cudaGraphAddDependencies) and the node view of
// captured ones. A graph node is one or more of the model's operations (a 2D memset is a
// row each) with the nodes it depends on. The graph keeps its operations flattened in a
// topological order (Graph.Nodes), which is what instantiation replays: any order that
// respects the edges is a valid serialisation of CUDA's graph.

// cudaGraphNodeType values.
const (
	GraphNodeKernel      = 0
	GraphNodeMemcpy      = 1
	GraphNodeMemset      = 2
	GraphNodeHost        = 3
	GraphNodeGraph       = 4
	GraphNodeEmpty       = 5
	GraphNodeWaitEvent   = 6
	GraphNodeEventRecord = 7
)

// GraphNode is one node of a graph (a cudaGraphNode_t).
type GraphNode struct {
	Handle uintptr
	Graph  *Graph
	Type   int32
	Ops    []Node
	Deps   []*GraphNode
	// Params keeps what the program gave a kernel node (cudaKernelNodeParams' bytes), for
	// cudaGraphKernelNodeGetParams.
	Params []byte
	Origin *GraphNode // the node this one is a clone of (cuGraphNodeFindInClone)
	order  int        // insertion order: ties in the topological sort keep it
}

// structureLocked gives a captured graph its node view: one node per operation, each
// depending on the one before (capture is linear per stream). g.mu is held.
func (g *Graph) structureLocked() {
	if g.built != nil || len(g.Nodes) == 0 {
		return
	}
	var prev *GraphNode
	for i, n := range g.Nodes {
		gn := &GraphNode{Graph: g, Type: nodeType(n.Kind), Ops: []Node{n}, order: i}
		if n.ViewType != 0 {
			gn.Type, gn.Params = n.ViewType, append([]byte(nil), n.ViewParams...)
		}
		if prev != nil {
			gn.Deps = []*GraphNode{prev}
		}
		gn.Handle = NewHandle(KindGraphNode, gn)
		g.built = append(g.built, gn)
		prev = gn
	}
}

func nodeType(k NodeKind) int32 {
	switch k {
	case NodeKernel:
		return GraphNodeKernel
	case NodeMemcpy:
		return GraphNodeMemcpy
	case NodeMemset:
		return GraphNodeMemset
	case NodeEventRecord:
		return GraphNodeEventRecord
	case NodeEventWait:
		return GraphNodeWaitEvent
	}
	return GraphNodeHost
}

// GraphNodes returns g's nodes in the order they were added.
func (g *Graph) GraphNodes() []*GraphNode {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.structureLocked()
	return append([]*GraphNode(nil), g.built...)
}

// AddNode adds a node of typ doing ops after deps, which must be distinct nodes of g.
func (g *Graph) AddNode(typ int32, ops []Node, deps []*GraphNode, params []byte) (*GraphNode, Status) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.structureLocked()
	for i, d := range deps {
		if d == nil || d.Graph != g {
			return nil, ErrInvalidValue
		}
		for _, e := range deps[:i] {
			if e == d {
				return nil, ErrInvalidValue
			}
		}
	}
	gn := &GraphNode{Graph: g, Type: typ, Ops: ops, Deps: append([]*GraphNode(nil), deps...), Params: params, order: g.seq()}
	gn.Handle = NewHandle(KindGraphNode, gn)
	g.built = append(g.built, gn)
	g.flattenLocked()
	return gn, OK
}

// seq is the next insertion number; g.mu is held.
func (g *Graph) seq() int {
	if len(g.built) == 0 {
		return 0
	}
	return g.built[len(g.built)-1].order + 1
}

// AddDependency makes to wait for from. An edge already there, a node of another graph,
// a node depending on itself, or an edge that would close a cycle is an invalid value.
func (g *Graph) AddDependency(from, to *GraphNode) Status {
	g.mu.Lock()
	defer g.mu.Unlock()
	if from == nil || to == nil || from.Graph != g || to.Graph != g || from == to {
		return ErrInvalidValue
	}
	for _, d := range to.Deps {
		if d == from {
			return ErrInvalidValue
		}
	}
	if reaches(from, to) {
		return ErrInvalidValue // to already runs before from: the edge would close a cycle
	}
	to.Deps = append(to.Deps, from)
	g.flattenLocked()
	return OK
}

// reaches reports whether a depends, directly or not, on b.
func reaches(a, b *GraphNode) bool {
	seen := map[*GraphNode]bool{}
	stack := []*GraphNode{a}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, d := range n.Deps {
			if d == b {
				return true
			}
			if !seen[d] {
				seen[d] = true
				stack = append(stack, d)
			}
		}
	}
	return false
}

// Edges returns g's edges as (from, to) pairs, in node order.
func (g *Graph) Edges() (from, to []*GraphNode) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.structureLocked()
	for _, n := range g.built {
		for _, d := range n.Deps {
			from, to = append(from, d), append(to, n)
		}
	}
	return from, to
}

// flattenLocked lays the nodes' operations out in a topological order, earlier-added
// nodes first among those ready. g.mu is held.
func (g *Graph) flattenLocked() {
	done := map[*GraphNode]bool{}
	var ops []Node
	for len(done) < len(g.built) {
		progressed := false
		for _, n := range g.built {
			if done[n] {
				continue
			}
			ready := true
			for _, d := range n.Deps {
				ready = ready && done[d]
			}
			if ready {
				done[n] = true
				ops = append(ops, n.Ops...)
				progressed = true
				break // rescan from the start: the earliest ready node goes next
			}
		}
		if !progressed {
			return // a cycle, which AddDependency refuses: never reached
		}
	}
	g.Nodes = ops
}

// SetOps replaces a node's operations (cudaGraphKernelNodeSetParams).
func (n *GraphNode) SetOps(ops []Node, params []byte) {
	g := n.Graph
	g.mu.Lock()
	defer g.mu.Unlock()
	n.Ops, n.Params = ops, params
	g.flattenLocked()
}

// Clone copies g with nodes of its own (cudaGraphClone).
func (g *Graph) Clone() *Graph {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.structureLocked()
	c := NewGraph()
	m := map[*GraphNode]*GraphNode{}
	for _, n := range g.built {
		cn := &GraphNode{Graph: c, Type: n.Type, Ops: append([]Node(nil), n.Ops...), Params: append([]byte(nil), n.Params...), Origin: n, order: n.order}
		for _, d := range n.Deps {
			cn.Deps = append(cn.Deps, m[d])
		}
		cn.Handle = NewHandle(KindGraphNode, cn)
		m[n] = cn
		c.built = append(c.built, cn)
	}
	c.Nodes = append([]Node(nil), g.Nodes...)
	c.Handle = NewHandle(KindGraph, c)
	return c
}

// ReleaseNodes releases the handles of g's nodes (cudaGraphDestroy).
func (g *Graph) ReleaseNodes() {
	defer OwnerGone(g.Handle) // its user objects' references (shim/graphnodes.go)
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, n := range g.built {
		Release(KindGraphNode, n.Handle)
	}
	g.built = nil
}

// layoutLocked is where each node's operations sit in g.Nodes. g.mu is held.
func (g *Graph) layoutLocked() map[*GraphNode]int {
	if g.built == nil {
		return nil
	}
	at := map[*GraphNode]int{}
	done := map[*GraphNode]bool{}
	i := 0
	for len(done) < len(g.built) {
		progressed := false
		for _, n := range g.built {
			if done[n] {
				continue
			}
			ready := true
			for _, d := range n.Deps {
				ready = ready && done[d]
			}
			if ready {
				done[n], at[n] = true, i
				i += len(n.Ops)
				progressed = true
				break
			}
		}
		if !progressed {
			break
		}
	}
	return at
}

// SetNodeOps changes the operations of node n (of the graph x was instantiated from) in
// x only (cudaGraphExec*NodeSetParams). The node keeps its shape: as many operations of the
// same kinds, and a kernel node its function (CUDA allows no change of function here).
func (x *GraphExec) SetNodeOps(n *GraphNode, ops []Node) Status {
	if x.SetDisabledOps(n, ops) {
		return OK // a disabled node takes the new parameters when enabled again
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	at, ok := x.layout[n]
	if !ok || len(ops) != len(n.Ops) || at+len(ops) > len(x.Nodes) {
		return ErrInvalidValue
	}
	for i := range ops {
		old := x.Nodes[at+i]
		if n.Type == GraphNodeMemset {
			continue // a fill's operation kind follows its value (a byte fill or a pattern)
		}
		if ops[i].Kind != old.Kind || (old.Kind == NodeKernel && ops[i].Kernel != old.Kernel) {
			return ErrInvalidValue
		}
	}
	copy(x.Nodes[at:], ops)
	x.dropNative()
	return OK
}

// Dependencies returns the nodes n waits for.
func (n *GraphNode) Dependencies() []*GraphNode {
	n.Graph.mu.Lock()
	defer n.Graph.mu.Unlock()
	return append([]*GraphNode(nil), n.Deps...)
}

// Dependents returns the nodes that wait for n.
func (n *GraphNode) Dependents() []*GraphNode {
	g := n.Graph
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []*GraphNode
	for _, m := range g.built {
		for _, d := range m.Deps {
			if d == n {
				out = append(out, m)
			}
		}
	}
	return out
}

// Remove takes n and its edges out of its graph (cudaGraphDestroyNode).
func (n *GraphNode) Remove() {
	g := n.Graph
	g.mu.Lock()
	defer g.mu.Unlock()
	kept := g.built[:0]
	for _, m := range g.built {
		if m == n {
			continue
		}
		deps := m.Deps[:0]
		for _, d := range m.Deps {
			if d != n {
				deps = append(deps, d)
			}
		}
		m.Deps = deps
		kept = append(kept, m)
	}
	g.built = kept
	Release(KindGraphNode, n.Handle)
	g.flattenLocked()
}

// Record runs op on a stand-in stream of d that captures, and returns the operations it
// issued: a node built by hand is checked and laid out exactly as the same call on a
// capturing stream would be.
func Record(d *Device, op func(s *Stream) Status) ([]Node, Status) {
	s := &Stream{Dev: d}
	s.capture.Store(&Capture{Mode: CaptureRelaxed, Origin: s, Graph: NewGraph()})
	if st := op(s); st != OK {
		return nil, st
	}
	return s.capture.Load().Graph.Snapshot(), OK
}

// NodesAt reads n node handles at p, each the caller's and of g: the dependency lists of
// cuGraphAdd*Node and cudaGraphAdd*Node. Anything else is an invalid value.
func (g *Graph) NodesAt(p unsafe.Pointer, n uint64) ([]*GraphNode, Status) {
	if n == 0 {
		return nil, OK
	}
	if p == nil || n > 1<<20 {
		return nil, ErrInvalidValue
	}
	out := make([]*GraphNode, n)
	for i := range out {
		node, ok := Lookup[*GraphNode](KindGraphNode, *(*uintptr)(unsafe.Add(p, 8*i)))
		if !ok || node.Graph != g {
			return nil, ErrInvalidValue
		}
		out[i] = node
	}
	return out, OK
}
