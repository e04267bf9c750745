package shim

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeStreams is a backend that runs streams apart (as the local backend does): it notes the
// stream each operation was issued on, and what was asked of each stream.
type fakeStreams struct {
	*fakeMarker
	log []string
	on  []*Stream
}

func (f *fakeStreams) note(what string, s *Stream) {
	f.log, f.on = append(f.log, what), append(f.on, s)
}
func (f *fakeStreams) Set(dst uintptr, v byte, n uint64) Status {
	f.note("set", Thread().Issuing)
	return OK
}
func (f *fakeStreams) Mark(dev int) (uintptr, Status) {
	f.note("mark", Thread().Issuing)
	return f.fakeMarker.Mark(dev)
}
func (f *fakeStreams) SyncStream(s *Stream) Status             { f.note("sync", s); return OK }
func (f *fakeStreams) StreamBusy(s *Stream) Status             { f.note("busy", s); return ErrNotReady }
func (f *fakeStreams) WaitMark(s *Stream, mark uintptr) Status { f.note("wait", s); return OK }
func (f *fakeStreams) EndStream(s *Stream)                     { f.note("end", s) }

// With a backend that runs streams apart, the shim names the stream each operation and
// event record is issued on, and a stream's synchronisation, query, wait on an event and
// destruction reach the backend for that stream.
func TestTheShimNamesTheStreamOfEachOperationToAStreamBackend(t *testing.T) {
	Reset()
	t.Cleanup(Reset)
	f := &fakeStreams{fakeMarker: &fakeMarker{Backend: S().Backend, devs: map[uintptr]int{}, reached: map[uintptr]bool{}}}
	S().Backend = f
	d := S().Device(0)
	a, b := NewStream(d, 0, 0), NewStream(d, 0, 0)
	e := NewEvent(0)
	buf, st := AllocDevice(d, 64, MemDevice)
	require.Equal(t, OK, st)

	require.Equal(t, OK, a.Enqueue(Node{Kind: NodeMemset, Dst: buf.Base, N: 64}))
	require.Equal(t, OK, e.Record(a))
	require.Equal(t, OK, b.WaitOn(e))
	require.Equal(t, OK, b.Enqueue(Node{Kind: NodeMemset, Dst: buf.Base, N: 64}))
	require.Equal(t, OK, a.Synchronize())
	require.Equal(t, ErrNotReady, b.Poll(), "b's own work, as the backend says")
	require.True(t, Release(KindStream, a.Handle))

	require.Equal(t, []string{"set", "mark", "wait", "set", "sync", "busy", "end"}, f.log)
	require.Equal(t, []*Stream{a, a, b, b, a, b, a}, f.on)
	require.Nil(t, Thread().Issuing, "named only while the backend has the operation")

	// A graph's event record node replayed on b marks the event after b's work there.
	f.log, f.on = nil, nil
	require.Equal(t, OK, b.Enqueue(Node{Kind: NodeEventRecord, Run: e.MarkRecorded}))
	require.Equal(t, []string{"mark"}, f.log)
	require.Equal(t, []*Stream{b}, f.on)
}
