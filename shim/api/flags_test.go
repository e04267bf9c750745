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
	// runtime's per-thread stream forms of Stream Synchronize and Query.
	assert.Equal(t, 7, syncs)
	assert.Equal(t, 5, queries)
}
