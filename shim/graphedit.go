package shim

// More editing and inspection of graphs built by hand or captured, for the driver's and the
// runtime's forms alike.

// RemoveDependency takes the edge from -> to out of g; an edge that is not there, or nodes
// of another graph, are an invalid value (cuGraphRemoveDependencies).
func (g *Graph) RemoveDependency(from, to *GraphNode) Status {
	g.mu.Lock()
	defer g.mu.Unlock()
	if from == nil || to == nil || from.Graph != g || to.Graph != g {
		return ErrInvalidValue
	}
	for i, d := range to.Deps {
		if d == from {
			to.Deps = append(to.Deps[:i:i], to.Deps[i+1:]...)
			g.flattenLocked()
			return OK
		}
	}
	return ErrInvalidValue
}

// Roots returns g's nodes that wait for none (cuGraphGetRootNodes).
func (g *Graph) Roots() []*GraphNode {
	var out []*GraphNode
	for _, n := range g.GraphNodes() {
		if len(n.Dependencies()) == 0 {
			out = append(out, n)
		}
	}
	return out
}

// FindInClone returns the node of clone that was cloned from orig, or nil
// (cuGraphNodeFindInClone).
func (g *Graph) FindInClone(orig *GraphNode) *GraphNode {
	for _, n := range g.GraphNodes() {
		if n.Origin == orig {
			return n
		}
	}
	return nil
}
