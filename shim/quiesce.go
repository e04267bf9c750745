package shim

import (
	"sync"
	"sync/atomic"
	"time"
)

// Calls in flight, for freeing memory another client had mapped by IPC handle. A client's
// copy validates its range and then touches it; if the exporter frees the memory in
// between (from its own session, concurrently), the backend must not release it, or its
// addresses could be handed to a third client whose data the copy would then read or
// overwrite. Revocation stops every new call from reaching the memory; the free itself
// waits until every call that was already in flight, in any session, has returned. No fixed
// grace period is long enough: a copy of a large allocation can take seconds.

// CallSlot marks one session's calls: its counter is odd while a call runs.
type CallSlot struct{ seq atomic.Uint64 }

var callSlots = struct {
	sync.Mutex
	m map[*CallSlot]struct{}
}{m: map[*CallSlot]struct{}{}}

// NewCallSlot registers a session; Close it when the session ends.
func NewCallSlot() *CallSlot {
	s := &CallSlot{}
	callSlots.Lock()
	callSlots.m[s] = struct{}{}
	callSlots.Unlock()
	return s
}

// Enter and Leave bracket one call.
func (s *CallSlot) Enter() { s.seq.Add(1) }
func (s *CallSlot) Leave() { s.seq.Add(1) }

// Close ends the session's slot, also after a call ended by a panic (the call is over).
func (s *CallSlot) Close() {
	callSlots.Lock()
	delete(callSlots.m, s)
	callSlots.Unlock()
	if s.seq.Load()%2 == 1 {
		s.seq.Add(1)
	}
}

// afterCallsInFlight runs f once every call in flight now has returned.
func afterCallsInFlight(f func()) {
	type busy struct {
		s   *CallSlot
		seq uint64
	}
	var wait []busy
	callSlots.Lock()
	for s := range callSlots.m {
		if q := s.seq.Load(); q%2 == 1 {
			wait = append(wait, busy{s, q})
		}
	}
	callSlots.Unlock()
	go func() {
		for _, b := range wait {
			for b.s.seq.Load() == b.seq {
				time.Sleep(2 * time.Millisecond)
			}
		}
		f()
	}()
}
