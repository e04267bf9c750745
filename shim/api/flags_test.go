package api

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A sync or query row names what it waits for by its first argument: a stream, an event, or
// nothing (the whole device or context); the remote client and the server rely on it.
func TestSyncAndQueryRowsNameWhatTheyWaitFor(t *testing.T) {
	waits := map[string]bool{"cudaStream_t": true, "CUstream": true, "cudaEvent_t": true, "CUevent": true}
	var syncs, queries int
	for i := range Functions {
		f := &Functions[i]
		if !f.Has("sync") && !f.Has("query") {
			continue
		}
		if f.Has("sync") {
			syncs++
		} else {
			queries++
		}
		assert.False(t, f.Has("sync") && f.Has("query"), "%s is both", f.Name)
		assert.True(t, len(f.Args) == 0 || waits[f.Args[0].CType], "%s waits for a %s", f.Name, f.Args)
	}
	// cu/cuda Ctx/Device, Stream and Event Synchronize; Stream and Event Query; the
	// runtime's and the driver's per-thread stream forms of Stream Synchronize and Query.
	assert.Equal(t, 8, syncs)
	assert.Equal(t, 6, queries)
}

// A row that hands out a new stream or event through its first argument declares it
// (new:stream, new:event): the remote client answers an idle sync on its own handles itself,
// and only on those. A creation row without the flag would send every sync on its handles
// to the server; this catches one added without it.
func TestCreationsOfStreamsAndEventsAreDeclared(t *testing.T) {
	kinds := map[string]string{"cudaStream_t *": "stream", "CUstream *": "stream", "cudaEvent_t *": "event", "CUevent *": "event"}
	var creates int
	for i := range Functions {
		f := &Functions[i]
		if len(f.Args) == 0 || f.Args[0].Dir != "out" {
			continue
		}
		if kind, ok := kinds[f.Args[0].CType]; ok {
			creates++
			assert.True(t, f.Has("new:"+kind), "%s writes a new %s: flag it new:%s", f.Name, kind, kind)
		}
	}
	assert.GreaterOrEqual(t, creates, 7, "cuda/cu Stream and Event Create and their variants")
}
