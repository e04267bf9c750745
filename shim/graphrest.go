package shim

import "sync"

// More of the hand-built graph model: edge queries and nodes disabled in an executable graph
// (removing edges and root nodes are in graphedit.go).

// HasDependency reports whether the edge from -> to exists.
func (g *Graph) HasDependency(from, to *GraphNode) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, d := range to.Deps {
		if d == from {
			return true
		}
	}
	return false
}

// A disabled node of an executable graph keeps its place with operations that do nothing
// (an event wait: the model's device runs in order), its own kept aside until it is enabled.
var (
	disabledMu sync.Mutex
	disabled   = map[*GraphExec]map[*GraphNode][]Node{}
)

// NodeEnabled reports whether n runs when x is launched; ok is false when x was not
// instantiated from n's graph.
func (x *GraphExec) NodeEnabled(n *GraphNode) (on, ok bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	at, ok := x.layout[n]
	if !ok || at+len(n.Ops) > len(x.Nodes) {
		return false, false
	}
	disabledMu.Lock()
	saved, off := disabled[x][n]
	disabledMu.Unlock()
	// An update since (cudaGraphExecUpdate) put operations of the node's kind back.
	return !off || len(saved) == 0 || x.Nodes[at].Kind == saved[0].Kind, true
}

// SetNodeEnabled disables or enables n in x (cudaGraphNodeSetEnabled).
func (x *GraphExec) SetNodeEnabled(n *GraphNode, on bool) Status {
	x.mu.Lock()
	defer x.mu.Unlock()
	at, ok := x.layout[n]
	if !ok || at+len(n.Ops) > len(x.Nodes) {
		return ErrInvalidValue
	}
	disabledMu.Lock()
	defer disabledMu.Unlock()
	m := disabled[x]
	saved, off := m[n]
	if off && len(saved) > 0 && x.Nodes[at].Kind == saved[0].Kind {
		off = false // updated since: what is in place is the node's own
		delete(m, n)
	}
	switch {
	case on && off:
		copy(x.Nodes[at:], saved)
		delete(m, n)
	case !on && !off:
		if m == nil {
			m = map[*GraphNode][]Node{}
			disabled[x] = m
		}
		span := x.Nodes[at : at+len(n.Ops)]
		m[n] = append([]Node(nil), span...)
		for i := range span {
			span[i] = Node{Kind: NodeEventWait}
		}
	default:
		return OK
	}
	x.dropNative()
	return OK
}

// ForgetDisabled drops what x kept for its disabled nodes (cudaGraphExecDestroy).
func (x *GraphExec) ForgetDisabled() {
	disabledMu.Lock()
	delete(disabled, x)
	disabledMu.Unlock()
}

// SetDisabledOps changes the operations a disabled n runs in x once enabled again
// (cudaGraphExec*NodeSetParams on a disabled node); false if n is not disabled in x.
func (x *GraphExec) SetDisabledOps(n *GraphNode, ops []Node) bool {
	disabledMu.Lock()
	defer disabledMu.Unlock()
	saved, off := disabled[x][n]
	if !off || len(saved) != len(ops) {
		return false
	}
	for i := range ops {
		if n.Type == GraphNodeMemset {
			continue // a fill's operation kind follows its value (a byte fill or a pattern)
		}
		if ops[i].Kind != saved[i].Kind || (ops[i].Kind == NodeKernel && ops[i].Kernel != saved[i].Kernel) {
			return false
		}
	}
	copy(saved, ops)
	return true
}
