package shim

// record adds one captured operation to c's graph. A capture into an existing graph
// (cudaStreamBeginCaptureToGraph) makes it a node of that graph after the previous one (or,
// first, after the dependencies the capture began with): capture is linear per stream.
func (c *Capture) record(n Node) {
	if !c.into {
		c.Graph.add(n)
		return
	}
	c.tailMu.Lock()
	defer c.tailMu.Unlock()
	for _, d := range c.tail {
		if !c.Graph.holds(d) {
			c.Invalidated = true
			return
		}
	}
	gn, st := c.Graph.AddNode(nodeType(n.Kind), []Node{n}, c.tail, nil)
	if st != OK {
		// A dependency was removed from the graph while the capture ran: NVIDIA's runtime
		// invalidates such a capture.
		c.Invalidated = true
		return
	}
	c.tail = []*GraphNode{gn}
}

// holds reports whether n is still one of g's nodes (cuGraphDestroyNode takes it out).
func (g *Graph) holds(n *GraphNode) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, b := range g.built {
		if b == n {
			return true
		}
	}
	return false
}
