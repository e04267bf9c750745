package server

import (
	"crypto/subtle"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"vgpu/shim"
	"vgpu/shim/api"
	"vgpu/wire"
)

// Metrics counts what the server does, for Prometheus (vgpu serve --metrics ADDR).
type metrics struct {
	connected atomic.Int64
	bytesIn   atomic.Uint64 // host -> device payload
	launches  atomic.Uint64 // kernels launched for clients
	modules   atomic.Int64  // images clients shipped, loaded now
	bytesOut  atomic.Uint64 // device -> host payload
	byOp      sync.Map      // op -> *opCounter: every call counts here, so no lock is shared by clients
	mu        sync.Mutex
	pids      map[uint64]int // client id -> pid
}

// opCounter is one operation's calls and time, named once.
type opCounter struct {
	name  string
	calls atomic.Uint64
	nanos atomic.Int64
}

var stats = &metrics{pids: map[uint64]int{}}

// counter is op's counter, made at its first call.
func (m *metrics) counter(op uint32, f *api.Func) *opCounter {
	v, ok := m.byOp.Load(op)
	if !ok {
		v, _ = m.byOp.LoadOrStore(op, &opCounter{name: opName(op, f)})
	}
	return v.(*opCounter)
}

func (c *opCounter) add(n uint64, d time.Duration) {
	c.calls.Add(n)
	c.nanos.Add(int64(d))
}

// opTally is where one session counts its calls of one op: the server's counter and the
// session's own. A session keeps the last op's (a launch loop is one op, many times over), so
// that a call of the same op as the last costs no map lookup.
type opTally struct {
	op     uint32
	f      *api.Func
	server *opCounter
	own    *callStat
}

// tally counts n calls of op that took d together, through t when op is t's.
func (t *opTally) tally(op uint32, byOp map[uint32]*api.Func, calls callStats, post bool, n uint64, d time.Duration) {
	if t.server == nil || t.op != op {
		f := byOp[op]
		*t = opTally{op: op, f: f, server: stats.counter(op, f), own: calls.entry(op)}
	}
	t.server.add(n, d)
	t.own.add(post, n, d)
}

// postRun is a run of posted calls of one op that a session read from its buffer back to
// back (a launch loop's batch): they are timed and counted once, when the run ends, since a
// clock read and the shared counters for each launch were a fifth of a posted launch's
// server CPU (BenchmarkPostedLaunchesThroughTheServer: 237 -> 193 ns).
type postRun struct {
	op    uint32
	n     uint64
	start time.Duration // when the run's first call began (since monoEpoch)
}

// end times and counts the run as ending at end, beside one more call (the one that ended it
// and read the clock), and returns where that call's own time begins: the span is shared
// evenly among the run's calls and that one.
func (r *postRun) end(t *opTally, byOp map[uint32]*api.Func, calls callStats, end time.Duration) (next time.Duration) {
	share := (end - r.start) / time.Duration(r.n+1)
	t.tally(r.op, byOp, calls, true, r.n, share*time.Duration(r.n))
	r.n = 0
	return end - share
}

func (m *metrics) client(id uint64, pid int, on bool) {
	shim.SetClientPID(id, pid) // NVML shows a client its own process (0 on leaving forgets it)
	m.mu.Lock()
	if on {
		m.pids[id] = pid
		m.connected.Add(1)
	} else {
		delete(m.pids, id)
		m.connected.Add(-1)
	}
	m.mu.Unlock()
}

// MetricsOptions shape the /metrics endpoint (vgpu serve --metrics).
type MetricsOptions struct {
	// PIDs labels each client's series with its process id. Off by default: a PID tells
	// whoever reads the metrics which processes of which tenant use the GPU.
	PIDs bool
	// Token, when set, must come with every request as "Authorization: Bearer TOKEN".
	Token string
}

// MetricsAddr is where --metrics ADDR listens: a bare ":port" (or "port") is loopback's.
func MetricsAddr(addr string) string {
	if !strings.Contains(addr, ":") {
		addr = ":" + addr
	}
	if strings.HasPrefix(addr, ":") {
		return "127.0.0.1" + addr
	}
	return addr
}

// ListenMetrics binds addr (see MetricsAddr) now, so that a bind failure stops the server
// before it serves anyone, and answers GET /metrics there in Prometheus's text format in the
// background. It returns the address bound.
func ListenMetrics(addr string, o MetricsOptions) (net.Addr, error) {
	ln, err := net.Listen("tcp", MetricsAddr(addr))
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		if o.Token != "" && !bearer(r, o.Token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vgpu"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		stats.write(w, o)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	go srv.Serve(ln)
	return ln.Addr(), nil
}

// bearer reports whether r carries the token, compared in constant time.
func bearer(r *http.Request, token string) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}

func (m *metrics) write(w io.Writer, o MetricsOptions) {
	fmt.Fprintf(w, "# HELP vgpu_clients Connected clients.\n# TYPE vgpu_clients gauge\nvgpu_clients %d\n", m.connected.Load())
	used := map[uint64]uint64{}
	for _, a := range shim.S().Mem.EveryOwner() { // the server's own view: every client's ranges
		if a.Owner != 0 {
			used[a.Owner] += a.Charged
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintf(w, "# HELP vgpu_client_memory_bytes Device memory each client holds.\n# TYPE vgpu_client_memory_bytes gauge\n")
	var ids []uint64
	for id := range m.pids {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		if o.PIDs {
			fmt.Fprintf(w, "vgpu_client_memory_bytes{client=\"%d\",pid=\"%d\"} %d\n", id, m.pids[id], used[id])
		} else {
			fmt.Fprintf(w, "vgpu_client_memory_bytes{client=\"%d\"} %d\n", id, used[id])
		}
	}
	for _, d := range shim.S().Visible {
		fmt.Fprintf(w, "vgpu_device_memory_free_bytes{uuid=%q} %d\n", d.UUIDString(), d.Free())
	}
	fmt.Fprintf(w, "# HELP vgpu_bytes_total Bytes copied between clients' host memory and devices.\n# TYPE vgpu_bytes_total counter\n")
	fmt.Fprintf(w, "vgpu_bytes_total{direction=\"h2d\"} %d\nvgpu_bytes_total{direction=\"d2h\"} %d\n", m.bytesIn.Load(), m.bytesOut.Load())
	fmt.Fprintf(w, "vgpu_launches_total %d\nvgpu_modules_loaded %d\n", m.launches.Load(), m.modules.Load())
	fmt.Fprintf(w, "# HELP vgpu_calls_total Calls answered, by function.\n# TYPE vgpu_calls_total counter\n")
	fmt.Fprintf(w, "# HELP vgpu_call_seconds Time spent answering calls, by function.\n# TYPE vgpu_call_seconds summary\n")
	// Ops that share a name (unknown ones) add up under it.
	calls, nanos := map[string]uint64{}, map[string]int64{}
	m.byOp.Range(func(_, v any) bool {
		c := v.(*opCounter)
		calls[c.name] += c.calls.Load()
		nanos[c.name] += c.nanos.Load()
		return true
	})
	var names []string
	for n := range calls {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "vgpu_calls_total{function=%q} %d\n", n, calls[n])
		fmt.Fprintf(w, "vgpu_call_seconds_sum{function=%q} %g\nvgpu_call_seconds_count{function=%q} %d\n", n, time.Duration(nanos[n]).Seconds(), n, calls[n])
	}
}

// opName names a request for the metrics.
func opName(op uint32, f *api.Func) string {
	if f != nil {
		return f.Name
	}
	if name, ok := protocolOps[op]; ok {
		return name
	}
	return "unknown"
}

// protocolOps names the protocol's own ops (wire.OpPut..wire.OpLast).
var protocolOps = map[uint32]string{
	wire.OpPut: "vgpu_put", wire.OpGet: "vgpu_get", wire.OpIsDevice: "vgpu_is_device", wire.OpCopyD2D: "vgpu_copy_d2d",
	wire.OpLoadModule: "vgpu_load_module", wire.OpFunction: "vgpu_function", wire.OpLaunch: "vgpu_launch", wire.OpLaunchAttrs: "vgpu_launch_attrs",
	wire.OpFuncQuery: "vgpu_func_query", wire.OpCopyD2DAsync: "vgpu_copy_d2d_async", wire.OpPut2D: "vgpu_put_2d",
	wire.OpGet2D: "vgpu_get_2d", wire.OpCopy2D: "vgpu_copy_2d", wire.OpShmAttach: "vgpu_shm_attach", wire.OpShmFileAttach: "vgpu_shm_file_attach", wire.OpRingAttach: "vgpu_ring_attach",
	wire.OpPutShm: "vgpu_put_shm", wire.OpGetShm: "vgpu_get_shm", wire.OpHostShare: "vgpu_host_share", wire.OpHostShareFile: "vgpu_host_share_file",
	wire.OpHostUnshare: "vgpu_host_unshare", wire.OpPutHost: "vgpu_put_host", wire.OpGetHost: "vgpu_get_host",
	wire.OpArrayLayout: "vgpu_array_layout",
}

// callStats is what one client's calls cost this server, by function: logged when the
// client goes, it says where a slow remote program spends its round trips.
type callStats map[uint32]*callStat

type callStat struct {
	requests, posts uint64
	ns              int64
}

// entry is op's record, made at its first call.
func (c callStats) entry(op uint32) *callStat {
	s := c[op]
	if s == nil {
		s = &callStat{}
		c[op] = s
	}
	return s
}

func (s *callStat) add(post bool, n uint64, d time.Duration) {
	if post {
		s.posts += n
	} else {
		s.requests += n
	}
	s.ns += int64(d)
}

// top lists the n functions with the most calls: name requests/posts server-ms.
func (c callStats) top(n int, byOp map[uint32]*api.Func) []string {
	ops := make([]uint32, 0, len(c))
	for op := range c {
		ops = append(ops, op)
	}
	sort.Slice(ops, func(i, j int) bool {
		a, b := c[ops[i]], c[ops[j]]
		return a.requests+a.posts > b.requests+b.posts
	})
	var out []string
	for i, op := range ops {
		if i == n {
			break
		}
		s := c[op]
		out = append(out, fmt.Sprintf("%s %d/%d %.1fms", opName(op, byOp[op]), s.requests, s.posts, float64(s.ns)/1e6))
	}
	return out
}

// opGraphLaunch is cudaGraphLaunch's opcode.
var opGraphLaunch = func() uint32 {
	for _, f := range api.Functions {
		if f.Name == "cudaGraphLaunch" {
			return uint32(f.Op)
		}
	}
	return 0
}()

// turnaround times, with VGPU_STATS=1, what lies between a client's graph launches besides
// the GPU: from each response to the next frame read (the client's own time, both wake-ups
// included) and from that frame to the graph launch it leads to (this server's work first).
type turnaround struct {
	on              bool
	respAt, firstAt time.Time
	think, lead     []float64 // microseconds
}

func (t *turnaround) responded() {
	if t.on {
		t.respAt, t.firstAt = time.Now(), time.Time{}
	}
}

func (t *turnaround) read() {
	if t.on && !t.respAt.IsZero() && t.firstAt.IsZero() {
		t.firstAt = time.Now()
	}
}

func (t *turnaround) graphLaunch() {
	if t.on && !t.firstAt.IsZero() && len(t.think) < 1<<20 {
		t.think = append(t.think, float64(t.firstAt.Sub(t.respAt).Microseconds()))
		t.lead = append(t.lead, float64(time.Since(t.firstAt).Microseconds()))
		t.respAt = time.Time{}
	}
}

func (t *turnaround) log(log interface{ Infow(string, ...any) }) {
	if len(t.think) == 0 {
		return
	}
	log.Infow("before each graph launch (us): the client's turn after a response, then this server's",
		"launches", len(t.think), "client_p10", shim.Percentile(t.think, 10), "client_p50", shim.Percentile(t.think, 50),
		"server_p10", shim.Percentile(t.lead, 10), "server_p50", shim.Percentile(t.lead, 50), "server_p90", shim.Percentile(t.lead, 90))
}
