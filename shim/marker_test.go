package shim

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeMarker is a backend whose work runs later (as the local backend's GPU): its marks stay
// unreached, and its work busy, until the test says the GPU got there.
type fakeMarker struct {
	Backend
	mu      sync.Mutex
	next    uintptr
	devs    map[uintptr]int // live marks -> device
	reached map[uintptr]bool
	busy    bool
}

func (f *fakeMarker) Mark(dev int) (uintptr, Status) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	f.devs[f.next] = dev
	return f.next, OK
}
func (f *fakeMarker) Reached(m uintptr) Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.reached[m] {
		return OK
	}
	return ErrNotReady
}
func (f *fakeMarker) Unmark(m uintptr) { f.mu.Lock(); delete(f.devs, m); f.mu.Unlock() }
func (f *fakeMarker) Busy() Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.busy {
		return ErrNotReady
	}
	return OK
}
func (f *fakeMarker) live() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.devs) }

// On a backend whose work runs after the call (a real GPU), an event query answers "not
// ready" until the work before the record is done, and so does the elapsed time between
// events; a stream query answers "not ready" while the work still runs. Each record holds one
// mark in the backend, released at the next record or when the event goes.
func TestQueriesReflectTheBackendsProgress(t *testing.T) {
	Reset()
	t.Cleanup(Reset)
	f := &fakeMarker{Backend: S().Backend, devs: map[uintptr]int{}, reached: map[uintptr]bool{}}
	S().Backend = f
	d := S().Device(0)
	s := NewStream(d, 1, 0)
	start, end := NewEvent(0), NewEvent(0)

	require.Equal(t, OK, start.Poll(), "an event never recorded is complete")
	require.Equal(t, OK, start.Record(s))
	f.busy = true
	require.Equal(t, OK, end.Record(s))
	require.Equal(t, 2, f.live(), "one mark per recorded event")
	require.Equal(t, ErrNotReady, end.Poll(), "the GPU has not got to the record")
	require.Equal(t, ErrNotReady, s.Poll(), "the stream's work still runs")
	_, st := Elapsed(start, end)
	require.Equal(t, ErrNotReady, st, "elapsed time with a pending event")

	f.reached[start.mark], f.reached[end.mark], f.busy = true, true, false
	require.Equal(t, OK, end.Poll())
	require.Equal(t, OK, s.Poll())
	_, st = Elapsed(start, end)
	require.Equal(t, OK, st)

	require.Equal(t, OK, end.Record(s))
	require.Equal(t, 2, f.live(), "a second record replaces the first's mark")
	require.Equal(t, ErrNotReady, end.Poll(), "and is itself pending")
	start.Close()
	end.Close()
	require.Equal(t, 0, f.live(), "a destroyed event holds no mark")
}
