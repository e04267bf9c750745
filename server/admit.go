package server

import (
	"strconv"
	"sync"
	"time"

	"vgpu/shim"
	"vgpu/wire"
)

// gate counts connections: strangers cannot make the server hold more than about
// maxPending unauthenticated ones, nor anyone more than maxTotal in all. When the
// unauthenticated ones are at their limit, a newcomer makes the oldest of them give up its
// handshake at once: a flood of idle strangers then cannot lock out a client that completes
// its handshake in milliseconds.
type gate struct {
	mu                   sync.Mutex
	pending              []*admission // oldest first
	total                int
	maxPending, maxTotal int
}

// admission is one connection's place in the gate while it is unauthenticated.
type admission struct {
	mu      sync.Mutex
	pc      *wire.PollConn // its socket, once handshake has it on the poller
	evicted bool
}

func newGate(maxPending, maxTotal int) *gate {
	if maxPending <= 0 {
		maxPending = DefaultMaxPending
	}
	if maxTotal <= 0 {
		maxTotal = DefaultMaxConns
	}
	return &gate{maxPending: maxPending, maxTotal: maxTotal}
}

// enter admits one more connection, or says why not.
func (g *gate) enter() (*admission, string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.total >= g.maxTotal {
		return nil, "too many connections (limit " + strconv.Itoa(g.maxTotal) + ")"
	}
	if len(g.pending) >= g.maxPending {
		// Evicted connections leave within moments; until they have, twice the limit is
		// the hard bound.
		if len(g.pending) >= 2*g.maxPending {
			return nil, "too many unauthenticated connections (limit " + strconv.Itoa(g.maxPending) + ")"
		}
		for _, old := range g.pending {
			if old.evict() {
				break
			}
		}
	}
	a := &admission{}
	g.pending = append(g.pending, a)
	g.total++
	return a, ""
}

// authenticated ends a connection's handshake, admitted or not.
func (g *gate) authenticated(a *admission) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, p := range g.pending {
		if p == a {
			g.pending = append(g.pending[:i], g.pending[i+1:]...)
			return
		}
	}
}

// leave forgets a connection that has gone.
func (g *gate) leave() {
	g.mu.Lock()
	g.total--
	g.mu.Unlock()
}

// expired is a deadline already past: whatever the connection waits for fails at once.
var expired = time.Unix(1, 0)

// evict makes the connection's handshake fail now; false if it was evicted already.
func (a *admission) evict() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.evicted {
		return false
	}
	a.evicted = true
	if a.pc != nil {
		a.pc.SetDeadline(expired)
	}
	return true
}

// admitted takes the connection out of eviction's reach: it has authenticated.
func (a *admission) admitted() {
	if a == nil {
		return
	}
	a.mu.Lock()
	a.evicted, a.pc = true, nil
	a.mu.Unlock()
}

// deadline bounds the handshake on pc by d, or at once if the connection was evicted. Safe
// on a nil admission (a connection outside any gate).
func (a *admission) deadline(pc *wire.PollConn, d time.Time) {
	if a == nil {
		pc.SetDeadline(d)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pc = pc
	if a.evicted {
		d = expired
	}
	pc.SetDeadline(d)
}

// refusalLog writes at most perSecond lines a second about refused connections, and then
// how many it left out: a flood of strangers cannot flood the log.
type refusalLog struct {
	mu         sync.Mutex
	perSecond  int
	window     time.Time // start of the current second
	written    int       // lines written in it
	suppressed int
	flushing   bool
	warn       func(msg string, kv ...any) // shim's logger; tests count lines
}

var refusals = &refusalLog{perSecond: 5, warn: func(msg string, kv ...any) { shim.Log().Warnw(msg, kv...) }}

// LogRefusal logs a refused connection through the server's one rate limit, for listeners
// that refuse peers before the server sees them (a unix socket's --allow-uid).
func LogRefusal(msg string, kv ...any) { refusals.log(msg, kv...) }

func (r *refusalLog) log(msg string, kv ...any) {
	r.mu.Lock()
	now := time.Now()
	if now.Sub(r.window) >= time.Second {
		r.window, r.written = now, 0
	}
	if r.written < r.perSecond {
		r.written++
		warn := r.warn
		r.mu.Unlock()
		warn(msg, kv...)
		return
	}
	r.suppressed++
	if !r.flushing { // one report for the lines left out, a second after the first of them
		r.flushing = true
		time.AfterFunc(time.Second, r.flush)
	}
	r.mu.Unlock()
}

func (r *refusalLog) flush() {
	r.mu.Lock()
	n, warn := r.suppressed, r.warn
	r.suppressed, r.flushing = 0, false
	r.mu.Unlock()
	if n > 0 {
		warn("refused connections not logged one by one", "count", n, "within", "1s")
	}
}
