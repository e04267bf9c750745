package shim

import (
	"fmt"
	"os"
	"strings"
)

// The DOT description of a graph that cudaGraphDebugDotPrint and cuGraphDebugDotPrint
// write: nodes by type, then edges. The caller gathers the nodes, their types and the edges
// through its own API (in process, or over a connection: a server never opens a path a
// client chose); this writes the file.

var dotNodeTypeNames = []string{"KERNEL", "MEMCPY", "MEMSET", "HOST", "GRAPH", "EMPTY", "WAIT_EVENT", "EVENT_RECORD"}

// WriteGraphDot writes the description to path.
func WriteGraphDot(path string, nodes []uintptr, types []int32, from, to []uintptr) error {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph dot {\n  subgraph cluster_1 {\n    label=\"graph_1\";\n")
	index := map[uintptr]int{}
	for i, nd := range nodes {
		name := "UNKNOWN"
		if t := types[i]; t >= 0 && int(t) < len(dotNodeTypeNames) {
			name = dotNodeTypeNames[t]
		}
		index[nd] = i
		fmt.Fprintf(&b, "    \"graph_1_node_%d\" [label=\"%s\\nnode %d\"];\n", i, name, i)
	}
	for i := range from {
		fmt.Fprintf(&b, "    \"graph_1_node_%d\" -> \"graph_1_node_%d\";\n", index[from[i]], index[to[i]])
	}
	b.WriteString("  }\n}\n")
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
