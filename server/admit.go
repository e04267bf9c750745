package server

import (
	"strconv"
	"sync"
	"time"

	"vgpu/shim"
)

// gate counts connections: strangers cannot make the server hold more than maxPending
// unauthenticated ones, nor anyone more than maxTotal in all.
type gate struct {
	mu                   sync.Mutex
	pending, total       int
	maxPending, maxTotal int
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
func (g *gate) enter() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.total >= g.maxTotal:
		return "too many connections (limit " + strconv.Itoa(g.maxTotal) + ")"
	case g.pending >= g.maxPending:
		return "too many unauthenticated connections (limit " + strconv.Itoa(g.maxPending) + ")"
	}
	g.pending++
	g.total++
	return ""
}

// authenticated ends a connection's handshake, admitted or not.
func (g *gate) authenticated() {
	g.mu.Lock()
	g.pending--
	g.mu.Unlock()
}

// leave forgets a connection that has gone.
func (g *gate) leave() {
	g.mu.Lock()
	g.total--
	g.mu.Unlock()
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
