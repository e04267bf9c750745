package remote

/*
extern void vgpu_remote_stats_arm(void);
*/
import "C"

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync/atomic"

	"vgpu/shim/api"
)

// What the connection carried: round trips (a request the caller waits for) and posts (no
// reply), in total and, with VGPU_STATS=1, by opcode. A remote call's cost is its round
// trips; these say how many each of a program's calls made, which per-call timings cannot
// (tests/bench/drvlaunch.sh divides them by the launches and GEMMs a program made). With
// VGPU_STATS=1 the totals and the busiest opcodes are logged when the program exits too.
var (
	roundTrips atomic.Int64
	posts      atomic.Int64
	wireByOp   = map[uint32]*[2]int64{} // op -> round trips, posts; guarded by mu, kept with VGPU_STATS=1
)

// WireCounts reports the round trips and posts this process has made so far.
func WireCounts() (trips, posted int64) { return roundTrips.Load(), posts.Load() }

// countWireLocked accounts one frame of op; mu is held.
func countWireLocked(op uint32, post bool) {
	ctxSeeLocked(op)
	if post {
		posts.Add(1)
	} else {
		roundTrips.Add(1)
	}
	if !statsOn {
		return
	}
	c := wireByOp[op]
	if c == nil {
		c = new([2]int64)
		wireByOp[op] = c
	}
	if post {
		c[1]++
	} else {
		c[0]++
	}
}

// wireSummary is the totals and the n opcodes with the most frames: "name trips/posts".
func wireSummary(n int) (int64, int64, []string) {
	mu.Lock()
	type row struct {
		op uint32
		c  [2]int64
	}
	rows := make([]row, 0, len(wireByOp))
	for op, c := range wireByOp {
		rows = append(rows, row{op, *c})
	}
	mu.Unlock()
	sort.Slice(rows, func(a, b int) bool {
		if rows[a].c[0] != rows[b].c[0] {
			return rows[a].c[0] > rows[b].c[0]
		}
		return rows[a].c[1] > rows[b].c[1]
	})
	names := opNames()
	top := make([]string, 0, n)
	for _, r := range rows[:min(n, len(rows))] {
		name := names[r.op]
		if name == "" {
			name = fmt.Sprintf("op 0x%x", r.op)
		}
		top = append(top, fmt.Sprintf("%s %d/%d", name, r.c[0], r.c[1]))
	}
	return roundTrips.Load(), posts.Load(), top
}

var opNameMap map[uint32]string

func opNames() map[uint32]string {
	if opNameMap == nil {
		m := map[uint32]string{OpFunction: "vgpu_function", OpLoadModule: "vgpu_load_module", OpLaunch: "vgpu_launch",
			OpLaunchAttrs: "vgpu_launch_attrs", OpPut: "vgpu_put", OpGet: "vgpu_get", OpFuncQuery: "vgpu_func_query"}
		for _, f := range api.Functions {
			m[uint32(f.Op)] = f.Name
		}
		opNameMap = m
	}
	return opNameMap
}

// armExitStats has the process's exit log the wire counts (VGPU_STATS=1).
func armExitStats() { C.vgpu_remote_stats_arm() }

//export vgpuRemoteStatsAtExit
func vgpuRemoteStatsAtExit() {
	trips, posted, top := wireSummary(20)
	// To stderr whatever the log level: a measurement reads it (tests/bench/drvlaunch.sh).
	fmt.Fprintf(os.Stderr, "vgpu stats: wire at exit: round_trips=%d posts=%d top (trips/posts): %s\n", trips, posted, strings.Join(top, ", "))
}
