package shim

import (
	"sync"
	"sync/atomic"
	"time"
)

// Special stream handles every CUDA program may pass.
const (
	StreamLegacy    = uintptr(1) // cudaStreamLegacy / CU_STREAM_LEGACY
	StreamPerThread = uintptr(2) // cudaStreamPerThread / CU_STREAM_PER_THREAD
)

// Capture modes (cudaStreamCaptureMode).
const (
	CaptureGlobal      = 0
	CaptureThreadLocal = 1
	CaptureRelaxed     = 2
)

// Stream is an ordered queue of work on one device. The sim backend completes work as it
// is issued, so order holds trivially; what the model enforces is capture.
type Stream struct {
	Handle   uintptr
	Dev      *Device
	Flags    uint32
	Priority int32
	Default  bool
	ID       uint64 // cudaStreamGetId: unique in the process, never reused

	mu sync.Mutex
	// The capture s belongs to, or nil; changed under mu, read without it (every launch asks,
	// and almost always of a stream that is not capturing).
	capture atomic.Pointer[Capture]
	attrs   map[uint32][LaunchAttrValueSize]byte // cudaStreamSetAttribute's values
}

// Attr returns the value set for stream attribute id, if any.
func (s *Stream) Attr(id uint32) ([LaunchAttrValueSize]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.attrs[id]
	return v, ok
}

// SetAttr sets stream attribute id.
func (s *Stream) SetAttr(id uint32, v [LaunchAttrValueSize]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.attrs == nil {
		s.attrs = map[uint32][LaunchAttrValueSize]byte{}
	}
	s.attrs[id] = v
}

// Capture is one stream capture in progress.
type Capture struct {
	ID          uint64
	Mode        int32
	Origin      *Stream
	Graph       *Graph
	Invalidated bool
	joined      []*Stream
	// Fork and join bookkeeping: how many operations each forked stream has issued into the
	// capture, and how many of them the rest of the capture has waited for (an event
	// recorded after them and waited on elsewhere in the capture). A forked stream with work
	// nobody waited for is an unjoined fork, which ends the capture with an error.
	forkMu sync.Mutex
	issued map[*Stream]uint64
	waited map[*Stream]uint64
	// A capture into an existing graph (shim/capturegraph.go): each operation becomes a node
	// of it after tail, the nodes the capture's next operation depends on.
	into   bool
	tailMu sync.Mutex
	tail   []*GraphNode
}

// noteIssued counts one operation of s into c (the origin's need no join).
func (c *Capture) noteIssued(s *Stream) uint64 {
	c.forkMu.Lock()
	defer c.forkMu.Unlock()
	if s == c.Origin {
		return 0
	}
	if c.issued == nil {
		c.issued = map[*Stream]uint64{}
	}
	c.issued[s]++
	return c.issued[s]
}

// issuedBy is how many operations s has issued into c so far.
func (c *Capture) issuedBy(s *Stream) uint64 {
	c.forkMu.Lock()
	defer c.forkMu.Unlock()
	return c.issued[s]
}

// noteWaited records that the capture waited for s's first n operations.
func (c *Capture) noteWaited(s *Stream, n uint64) {
	c.forkMu.Lock()
	defer c.forkMu.Unlock()
	if c.waited == nil {
		c.waited = map[*Stream]uint64{}
	}
	c.waited[s] = max(c.waited[s], n)
}

// unjoined reports whether a forked stream of c has work the capture never waited for.
func (c *Capture) unjoined() bool {
	c.forkMu.Lock()
	defer c.forkMu.Unlock()
	for s, n := range c.issued {
		if n > c.waited[s] {
			return true
		}
	}
	return false
}

var (
	defaultStreams sync.Map // *Device -> *Stream
	streamIDs      atomic.Uint64
	captureSeq     uint64
	captureMu      sync.Mutex
)

// DefaultStream is the device's NULL (legacy) stream. Handles 0 and 1 map here.
func DefaultStream(d *Device) *Stream {
	if v, ok := defaultStreams.Load(d); ok {
		return v.(*Stream)
	}
	v, _ := defaultStreams.LoadOrStore(d, &Stream{Dev: d, Default: true, ID: streamIDs.Add(1)})
	return v.(*Stream)
}

// NewStream creates a stream on d.
func NewStream(d *Device, flags uint32, priority int32) *Stream {
	s := &Stream{Dev: d, Flags: flags, Priority: priority, ID: streamIDs.Add(1)}
	s.Handle = NewHandle(KindStream, s)
	return s
}

// PerThreadStream is the calling thread's own default stream on d (cudaStreamPerThread):
// unlike the legacy stream it may be captured, and one thread's capture of it records
// nothing another thread issues to its own. On a server it is the client session's (a
// session runs on one thread), so all threads of one remote client share one.
func PerThreadStream(d *Device) *Stream {
	ts := Thread()
	if s := ts.perThread[d]; s != nil {
		return s
	}
	if ts.perThread == nil {
		ts.perThread = map[*Device]*Stream{}
	}
	s := &Stream{Handle: StreamPerThread, Dev: d, ID: streamIDs.Add(1)}
	ts.perThread[d] = s
	return s
}

// ResolveStream maps a stream handle to its stream; dev is the current device for the
// special handles.
func ResolveStream(h uintptr, dev *Device) (*Stream, Status) { return ResolveStreamAs(nil, h, dev) }

// ResolveStreamAs is ResolveStream for a caller holding its thread's state (LookupAs; nil:
// look it up).
func ResolveStreamAs(ts *ThreadState, h uintptr, dev *Device) (*Stream, Status) {
	if h == 0 || h == StreamLegacy || h == StreamPerThread {
		if dev == nil {
			return nil, ErrInvalidContext
		}
		if h == StreamPerThread {
			return PerThreadStream(dev), OK
		}
		return DefaultStream(dev), OK
	}
	s, ok := LookupAs[*Stream](ts, KindStream, h)
	if !ok {
		return nil, ErrInvalidHandle
	}
	return s, OK
}

// Capturing returns the capture s belongs to, or nil.
func (s *Stream) Capturing() *Capture { return s.capture.Load() }

// BeginCapture starts recording s into a new graph.
func (s *Stream) BeginCapture(mode int32) Status {
	if mode < CaptureGlobal || mode > CaptureRelaxed {
		return ErrInvalidValue
	}
	if s.Default {
		return ErrCaptureUnsupported // the legacy stream synchronises with everything
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.capture.Load() != nil {
		return ErrIllegalState
	}
	captureMu.Lock()
	captureSeq++
	id := captureSeq
	captureMu.Unlock()
	s.capture.Store(&Capture{ID: id, Mode: mode, Origin: s, Graph: NewGraph()})
	return OK
}

// BeginCaptureToGraph starts recording s into g, its first operation after deps (nodes of g).
func (s *Stream) BeginCaptureToGraph(mode int32, g *Graph, deps []*GraphNode) Status {
	if st := s.BeginCapture(mode); st != OK {
		return st
	}
	s.mu.Lock()
	c := s.capture.Load()
	c.Graph, c.into, c.tail = g, true, deps
	s.mu.Unlock()
	return OK
}

// EndCapture stops the capture s started and returns its graph.
func (s *Stream) EndCapture() (*Graph, Status) {
	s.mu.Lock()
	c := s.capture.Load()
	if c == nil {
		s.mu.Unlock()
		return nil, ErrIllegalState
	}
	if c.Origin != s {
		s.mu.Unlock()
		return nil, ErrCaptureUnmatched
	}
	s.capture.Store(nil)
	s.mu.Unlock()
	for _, j := range c.joined {
		j.mu.Lock()
		if j.capture.Load() == c {
			j.capture.Store(nil)
		}
		j.mu.Unlock()
	}
	if c.Invalidated {
		return nil, ErrCaptureInvalidated
	}
	if c.unjoined() {
		return nil, ErrCaptureUnjoined // NVIDIA's runtime ends the capture and returns no graph
	}
	if !c.into {
		c.Graph.Handle = NewHandle(KindGraph, c.Graph)
	}
	return c.Graph, OK
}

// join makes s part of capture c (a stream waiting on an event recorded in c).
func (s *Stream) join(c *Capture) {
	s.mu.Lock()
	if s.capture.Load() == nil {
		s.capture.Store(c)
		c.joined = append(c.joined, s)
	}
	s.mu.Unlock()
}

// invalidate breaks the capture s belongs to: the operation was illegal during capture.
func (s *Stream) invalidate() {
	s.mu.Lock()
	if c := s.capture.Load(); c != nil {
		c.Invalidated = true
	}
	s.mu.Unlock()
}

// Synchronize waits for s: for the backend's work, where it runs asynchronously (s's own,
// where the backend runs streams apart). A capturing stream cannot be waited on.
func (s *Stream) Synchronize() Status {
	if s.Capturing() != nil {
		s.invalidate()
		return ErrCaptureUnsupported
	}
	if sb, ok := streamBackend(); ok {
		return sb.SyncStream(s)
	}
	return WaitBackend()
}

// Close releases what the backend holds for s (StreamBackend): at its destroy, or when its
// client has gone.
func (s *Stream) Close() {
	if sb, ok := streamBackend(); ok && !s.Default {
		sb.EndStream(s)
	}
}

// Enqueue issues node on s: recorded when s is capturing, executed otherwise.
func (s *Stream) Enqueue(n Node) Status { return s.enqueueAs(nil, n) }

// enqueueAs is Enqueue for the thread whose state is ts (nil: the calling thread's, looked up
// when needed).
func (s *Stream) enqueueAs(ts *ThreadState, n Node) Status {
	if c := s.Capturing(); c != nil {
		if c.Invalidated {
			return ErrCaptureInvalidated
		}
		c.record(n)
		c.noteIssued(s)
		return OK
	}
	if sb, ok := streamBackend(); ok { // as issuing does, without a closure per operation
		if ts == nil {
			ts = Thread()
		}
		if il, ok := sb.(IssuingLauncher); ok && n.Kind == NodeKernel && n.Kernel.Native != 0 {
			return il.LaunchPackedOn(ts, s, n.Kernel.Native, n.Kernel.Params, n.Launch, n.ArgBlock)
		}
		prev := ts.Issuing
		ts.Issuing = s
		st := execute(s.Dev, n)
		ts.Issuing = prev
		return st
	}
	return execute(s.Dev, n)
}

// Event marks a point in a stream.
type Event struct {
	Handle   uintptr
	Flags    uint32
	Recorded bool
	When     time.Time
	capture  *Capture
	// Within a capture: the stream it was recorded on and how many operations that stream
	// had issued into the capture then (waiting on it joins those back).
	captureFrom *Stream
	captureAt   uint64
	mark        uintptr // the backend's mark of the last record (Marker), or 0
	mu          sync.Mutex
}

// remark replaces e's backend mark (e.mu held): one after the caller's work so far on d, or
// none when d is nil.
func (e *Event) remark(d *Device) {
	m, ok := S().Backend.(Marker)
	if !ok {
		return
	}
	if e.mark != 0 {
		m.Unmark(e.mark)
		e.mark = 0
	}
	if d != nil {
		if mk, st := m.Mark(d.Index); st == OK {
			e.mark = mk
		}
	}
}

// Close releases what e holds in the backend (its mark): at its destroy, or when its client
// has gone.
func (e *Event) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.remark(nil)
}

// reached is OK once the backend got to e's mark (or e has none), else ErrNotReady or what
// the work ran into.
func (e *Event) reached() Status {
	e.mu.Lock()
	mark := e.mark
	e.mu.Unlock()
	if m, ok := S().Backend.(Marker); ok && mark != 0 {
		return m.Reached(mark)
	}
	return OK
}

// Event flags (cudaEventDisableTiming).
const EventDisableTiming = 0x2

// NewEvent creates an event.
func NewEvent(flags uint32) *Event {
	e := &Event{Flags: flags}
	e.Handle = NewHandle(KindEvent, e)
	return e
}

// Record marks e at the current end of s.
func (e *Event) Record(s *Stream) Status { return e.RecordWith(s, false) }

// RecordWith is Record; external is cudaEventRecordExternal. Within a capture, a record
// only marks a point other captured streams may join (an edge of the graph, as NVIDIA's
// capture makes it), unless external: then it is an event record node each replay runs.
func (e *Event) RecordWith(s *Stream, external bool) Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := s.Capturing(); c != nil {
		e.capture = c
		if external { // each replay records it; a plain record in a capture is a dependency only
			c.record(Node{Kind: NodeEventRecord, Run: e.MarkRecorded})
		}
		e.captureFrom, e.captureAt = s, c.issuedBy(s)
		return OK
	}
	e.capture = nil
	e.Recorded = true
	e.When = time.Now()
	return issuing(s, func() Status { // after s's work:
		e.remark(s.Dev)
		return ipcEventRecorded(e, s.Dev) // an interprocess event's driver event too (ipcevents.go)
	})
}

// liveCapture is the capture e was last recorded in while it is still under way (e.mu held):
// a capture's records are edges of its graph, not replayed, so once the capture has ended
// the event is as it was before.
func (e *Event) liveCapture() *Capture {
	c := e.capture
	if c == nil || c.Origin.Capturing() != c {
		return nil
	}
	return c
}

// MarkRecorded records e now: what replaying a graph's event record node does, in the
// graph's order with its other work.
func (e *Event) MarkRecorded() Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.capture = nil
	e.Recorded = true
	e.When = time.Now()
	if _, ok := streamBackend(); ok && Thread().Issuing != nil {
		e.remark(Thread().Issuing.Dev) // replayed on a stream: the mark follows its work there
		return OK
	}
	e.remark(nil) // a graph's record: a query waits for the backend as before
	return OK
}

// WaitOn makes s wait for e; waiting on an event recorded inside a capture joins s to it.
func (s *Stream) WaitOn(e *Event) Status {
	e.mu.Lock()
	c, from, at := e.liveCapture(), e.captureFrom, e.captureAt
	e.mu.Unlock()
	if c != nil {
		if s.Default {
			// The default stream is every server client's and synchronises with all work:
			// it joins no capture (joined, others' work on it would be recorded, not run).
			c.Origin.invalidate()
			return ErrCaptureUnsupported
		}
		if s.Capturing() == c && from != nil && from != s {
			// A join: s now depends on from's work up to the record; s's own dependencies
			// changed, which a later join of s must cover in turn.
			c.noteWaited(from, at)
			c.noteIssued(s)
			return OK
		}
		s.join(c)
		return OK
	}
	if sc := s.Capturing(); sc != nil {
		sc.record(Node{Kind: NodeEventWait})
		return OK
	}
	if st := s.waitOnMark(e); st != OK {
		return st
	}
	// Another process's record of it orders this stream too (its driver stream's work).
	return issuing(s, func() Status { return ipcEventWaited(e, s.Dev) })
}

// waitOnMark makes s's later work wait for the work before e's record, wherever that runs
// (a StreamBackend's streams run apart). The event's lock keeps its mark from being released
// meanwhile.
func (s *Stream) waitOnMark(e *Event) Status {
	sb, ok := streamBackend()
	if !ok {
		return OK
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.mark != 0 {
		return sb.WaitMark(s, e.mark)
	}
	if e.Recorded { // recorded where the backend placed no mark: order by waiting for all
		return WaitBackend()
	}
	return OK
}

// Query reports whether e has completed: it has once the backend's work up to now has.
func (e *Event) Query() Status {
	e.mu.Lock()
	capturing, recorded := e.liveCapture() != nil, e.Recorded
	e.mu.Unlock()
	if capturing {
		return ErrCaptureUnsupported
	}
	if st, ok := ipcEventQuery(e, true); ok { // recorded here or in another process
		return st
	}
	if !recorded {
		return OK // never-recorded events count as complete, as in CUDA
	}
	return WaitBackend()
}

// Poll is cudaEventQuery: Query without waiting, where the backend can tell (Marker) whether
// its work got to the record: ErrNotReady until then.
func (e *Event) Poll() Status {
	e.mu.Lock()
	capturing, recorded, mark := e.liveCapture() != nil, e.Recorded, e.mark
	e.mu.Unlock()
	if capturing {
		return ErrCaptureUnsupported
	}
	if st, ok := ipcEventQuery(e, false); ok { // recorded here or in another process
		return st
	}
	if !recorded {
		return OK
	}
	if mark != 0 {
		return e.reached()
	}
	return WaitBackend()
}

// Poll is cudaStreamQuery: ErrNotReady while the backend (Marker) still runs the caller's
// work, else what Synchronize reports. A backend that runs streams apart (StreamBackend)
// answers for s's own work; otherwise any of the caller's work still running makes every
// one of its streams busy.
func (s *Stream) Poll() Status {
	if s.Capturing() == nil {
		if sb, ok := streamBackend(); ok {
			if st := sb.StreamBusy(s); st != OK {
				return st
			}
		} else if m, ok := S().Backend.(Marker); ok {
			if st := m.Busy(); st != OK {
				return st
			}
		}
	}
	return s.Synchronize()
}

// Elapsed returns milliseconds from start to end.
func Elapsed(start, end *Event) (float32, Status) {
	start.mu.Lock()
	s, sflags, srec := start.When, start.Flags, start.Recorded
	start.mu.Unlock()
	end.mu.Lock()
	e, eflags, erec := end.When, end.Flags, end.Recorded
	end.mu.Unlock()
	if sflags&EventDisableTiming != 0 || eflags&EventDisableTiming != 0 {
		return 0, ErrInvalidHandle
	}
	if !srec || !erec {
		return 0, ErrInvalidHandle
	}
	for _, ev := range []*Event{start, end} {
		if st := ev.reached(); st != OK {
			return 0, st // cudaErrorNotReady while the backend has not got to it
		}
	}
	return float32(e.Sub(s).Nanoseconds()) / 1e6, OK
}
