package shim

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A capture ends only when every stream forked from it has been joined back: each forked
// stream's work must be waited for by the rest of the capture (an event recorded after the
// work, waited on by a stream whose own work the origin in turn waits for). Otherwise
// EndCapture answers "unjoined", returns no graph and leaves no stream capturing.
func TestACaptureEndsOnlyWithEveryForkJoinedBack(t *testing.T) {
	Reset()
	t.Cleanup(Reset)
	d := S().Device(0)
	work := Node{Kind: NodeMemset, Run: func() Status { return OK }}
	fork := func(from, to *Stream, ev func() *Event) {
		e := ev()
		require.Equal(t, OK, e.Record(from))
		require.Equal(t, OK, to.WaitOn(e))
	}
	cases := []struct {
		name     string
		body     func(o, a, b *Stream, ev func() *Event)
		unjoined bool
	}{
		{"fork with work, never joined", func(o, a, b *Stream, ev func() *Event) {
			fork(o, a, ev)
			require.Equal(t, OK, a.Enqueue(work))
		}, true},
		{"fork with work, joined", func(o, a, b *Stream, ev func() *Event) {
			fork(o, a, ev)
			require.Equal(t, OK, a.Enqueue(work))
			fork(a, o, ev)
		}, false},
		{"work after the join point", func(o, a, b *Stream, ev func() *Event) {
			fork(o, a, ev)
			fork(a, o, ev)
			require.Equal(t, OK, a.Enqueue(work))
		}, true},
		{"a fork of a fork, joined through it", func(o, a, b *Stream, ev func() *Event) {
			fork(o, a, ev)
			fork(a, b, ev)
			require.Equal(t, OK, b.Enqueue(work))
			fork(b, a, ev)
			fork(a, o, ev)
		}, false},
		{"a fork of a fork, its parent joined before it", func(o, a, b *Stream, ev func() *Event) {
			fork(o, a, ev)
			fork(a, b, ev)
			fork(a, o, ev)
			require.Equal(t, OK, b.Enqueue(work))
		}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, a, b := NewStream(d, 1, 0), NewStream(d, 1, 0), NewStream(d, 1, 0)
			require.Equal(t, OK, o.BeginCapture(CaptureGlobal))
			tc.body(o, a, b, func() *Event { return NewEvent(EventDisableTiming) })
			g, st := o.EndCapture()
			if tc.unjoined {
				require.Equal(t, ErrCaptureUnjoined, st)
				require.Nil(t, g)
			} else {
				require.Equal(t, OK, st)
				require.NotNil(t, g)
			}
			for _, s := range []*Stream{o, a, b} {
				require.Nil(t, s.Capturing(), "no stream is left capturing")
			}
		})
	}
}
