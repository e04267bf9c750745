package remote

import (
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"vgpu/shim"
	"vgpu/shim/api"
)

// The client's side of the profile (VGPU_STATS=1): how often the program called each
// function and how long its threads spent in vgpu for it, logged every statsEvery while
// calls come. The server logs its side (requests, posts, server time) when a client goes.
const statsEvery = time.Second

var (
	statsOnce sync.Once
	statsOn   bool
	opCalls   = make([]atomic.Int64, len(api.Functions))
	opNanos   = make([]atomic.Int64, len(api.Functions))
)

// StatsBegin starts timing one forwarded call; 0 when statistics are off.
func StatsBegin() int64 {
	statsOnce.Do(func() {
		statsOn = os.Getenv("VGPU_STATS") == "1"
		if statsOn {
			armExitStats()
			go logStats()
		}
	})
	if !statsOn {
		return 0
	}
	return sinceEpoch()
}

// StatsEnd accounts the call to function i of api.Functions that began at t.
func StatsEnd(i int, t int64) {
	if t == 0 {
		return
	}
	opCalls[i].Add(1)
	opNanos[i].Add(sinceEpoch() - t)
}

func logStats() {
	var last int64
	for range time.Tick(statsEvery) {
		type row struct {
			i        int
			n, nanos int64
		}
		var rows []row
		var total int64
		for i := range opCalls {
			if n := opCalls[i].Load(); n > 0 {
				rows = append(rows, row{i, n, opNanos[i].Load()})
				total += n
			}
		}
		if total == last {
			continue
		}
		last = total
		sort.Slice(rows, func(a, b int) bool { return rows[a].nanos > rows[b].nanos })
		top := make([]string, 0, 16)
		for _, r := range rows[:min(16, len(rows))] {
			top = append(top, fmt.Sprintf("%s %d %.1fms %.1fus", api.Functions[r.i].Name, r.n,
				float64(r.nanos)/1e6, float64(r.nanos)/float64(r.n)/1e3))
		}
		shim.Log().Infow("calls so far: count, time in vgpu, mean", "calls", total, "top", top)
	}
}
