package remote

import (
	"testing"

	"github.com/stretchr/testify/require"

	"vgpu/shim/api"
	"vgpu/wire"
)

// A stream's synchronisation waits for that stream's work only (the local backend runs each
// stream on a driver stream of its own): it may be answered here, without the server, only
// when nothing was posted since that same stream's last synchronisation, or since a wait for
// all of the client's work. Another stream's synchronisation says nothing about it.
func TestAStreamSyncIsAnsweredLocallyOnlyAfterItsOwnSync(t *testing.T) {
	f := api.ByName()["cudaStreamSynchronize"]
	before, after := beforeCall[f.Op], afterCall[f.Op]
	require.NotNil(t, before)
	require.NotNil(t, after)
	const a, b = uint64(0x7f00000100000001), uint64(0x7f00000100000002)
	ownHandles.Store(a, struct{}{})
	ownHandles.Store(b, struct{}{})
	mu.Lock()
	postsSinceSync, postSeq, lastAnyPost = 1, 5, 5
	clear(syncedAt)
	clear(syncStart)
	clear(lastPostOn)
	mu.Unlock()
	t.Cleanup(func() {
		ownHandles.Delete(a)
		ownHandles.Delete(b)
		mu.Lock()
		postsSinceSync, postSeq, lastAnyPost = 0, 0, 0
		clear(syncedAt)
		clear(syncStart)
		clear(lastPostOn)
		mu.Unlock()
	})
	sync := func(h uint64) bool { // reports whether it was answered here
		v := []wire.Value{{U: h}}
		_, local := before(f, v)
		if !local {
			after(v) // the server answered it
		}
		return local
	}
	post := func() { mu.Lock(); postedLocked(anyStream); mu.Unlock() }
	postOnStream := func(h uint64) { mu.Lock(); postedLocked(h); mu.Unlock() }

	require.False(t, sync(a), "work was posted: the server waits for it")
	require.True(t, sync(a), "nothing posted since a's own sync")
	require.False(t, sync(b), "a's sync did not wait for b's work")
	require.True(t, sync(b))
	post()
	require.False(t, sync(a), "a post since")
	require.False(t, sync(0), "the legacy stream's sync")
	require.True(t, sync(b), "waited for everything: every stream is idle")

	// A drained download on a stream waited for that stream's work, as its synchronisation
	// would; one on the legacy stream, for everything.
	post()
	mu.Lock()
	drainedLocked(drainOf(uintptr(a)))
	mu.Unlock()
	require.True(t, sync(a), "a download on a since")
	require.False(t, sync(b))
	mu.Lock()
	drainedLocked(drainOf(0))
	mu.Unlock()
	require.True(t, sync(b))

	// Work posted on one stream is not another's to wait for: ggml's token launches its graph
	// on a stream of its own, then uploads inputs on the per-thread stream and syncs that.
	postOnStream(a)
	require.True(t, sync(b), "only a has work")
	require.False(t, sync(a))
	require.True(t, sync(a))
	// Work on the legacy stream, or on a stream the client cannot tell, is every stream's.
	postOnStream(0)
	require.False(t, sync(b), "the legacy stream's work")
	post()
	require.False(t, sync(a), "a post of unknown stream")

	// A sync answered here leaves nothing behind: the next one that reaches the server
	// vouches for the posts before it, not before an earlier local answer.
	require.True(t, sync(a))
	postOnStream(a)
	require.False(t, sync(a))
	require.True(t, sync(a), "the server's answer covered every post before it")
}
