package server

import (
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"vgpu/shim"
	"vgpu/wire"
)

// busyWriter owns a client's socket for writing. While the server works through what the
// client sent, it tells the client so every wire.BusyInterval: a client waiting on a long
// synchronisation (a slow kernel, a first-touch memset of gigabytes) keeps waiting, and one
// whose server went silent still fails within its timeout.
type busyWriter struct {
	mu    sync.Mutex // one frame at a time on the socket
	c     wire.Conn
	since atomic.Int64 // when the current stretch of work began (unix ns); 0 while idle
	done  chan struct{}
	shut  bool // set under mu by stop: the socket may be closed and its number reused
}

// busyEvery is wire.BusyInterval, shortened by tests.
var busyEvery = wire.BusyInterval

func newBusyWriter(c wire.Conn) *busyWriter {
	w := &busyWriter{c: c, done: make(chan struct{})}
	go w.watch()
	return w
}

// working marks the start of work on received frames; idle marks a wait for more.
func (w *busyWriter) working() {
	if w.since.Load() == 0 {
		w.since.Store(time.Now().UnixNano())
	}
}
func (w *busyWriter) idle() { w.since.Store(0) }

// respond writes one response frame.
func (w *busyWriter) respond(h wire.Header, payload, more []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	// Written from where they lie: no copy of a large download.
	return w.c.Writev(wire.AppendHeader(nil, h, len(payload)+len(more)), payload, more)
}

// use moves the writer onto c (the client's rings, after the socket answered their attach).
func (w *busyWriter) use(c wire.Conn) {
	w.mu.Lock()
	w.c = c
	w.mu.Unlock()
}

func (w *busyWriter) stop() {
	w.mu.Lock()
	w.shut = true
	w.mu.Unlock()
	close(w.done)
}

func (w *busyWriter) watch() {
	// On rings in a shared file this goroutine writes into memory a process on the host could
	// shrink under it: a fault then ends these frames, not the server (the session's own
	// thread meets it too and ends the session).
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			shim.Log().Warnw("busy frames stopped by a fault in the client's shared memory", "panic", fmt.Sprint(r))
		}
	}()
	frame, _ := wire.AppendFrame(nil, wire.Header{Kind: wire.KindBusy}, nil)
	t := time.NewTicker(busyEvery / 2) // a busy stretch is reported at most 1.5 intervals after it began
	defer t.Stop()
	for {
		select {
		case <-w.done:
			return
		case now := <-t.C:
			s := w.since.Load()
			if s == 0 || now.UnixNano()-s < int64(busyEvery) {
				continue
			}
			w.mu.Lock()
			if w.shut {
				w.mu.Unlock()
				return
			}
			// Skipped when the client is not reading: it is then writing, and the bytes
			// already queued for it show it that the server is alive.
			err := w.c.TrySend(frame)
			w.mu.Unlock()
			if err != nil {
				return
			}
		}
	}
}
