package remote

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"vgpu/shim"
	"vgpu/shim/api"
	"vgpu/wire"
)

// A synchronising call (cudaStreamSynchronize and the like) needs the server only for what
// pipelined calls may have run into: the server runs a client's work in order, and every
// call that reads results waits for it already. With nothing posted since the last
// synchronisation (or since a download the server said waited for all of it: KindDrained),
// the call answers at once: ggml synchronises several times per token,
// and each round trip would cost more than the token's kernels. Uploads do not count: their
// bytes left the caller's buffer when the call returned, so a sync after one (ggml syncs
// after every tensor upload) has nothing to wait for; an upload to a bad address is
// reported by the next synchronisation that reaches the server.
var (
	syncOps        = map[uint32]bool{}
	fullSyncOps    = map[uint32]bool{} // the sync ops that wait for all of the client's work
	postsSinceSync uint64              // guarded by mu: posts since the last wait for all work
	// A stream's or event's synchronisation waits for its own work only (the local backend
	// runs each stream on a driver stream of its own), so it answers for that handle alone:
	// postSeq counts posts, syncedAt is postSeq when a handle's last synchronisation was
	// sent (its work was all done once it answered), syncStart the same for one under way.
	// A handle synchronised again with no post since is idle. All guarded by mu.
	postSeq   uint64
	syncedAt  = map[uint64]uint64{}
	syncStart = map[uint64]uint64{}
	// Which posts a stream's synchronisation waits for: those on the stream itself
	// (lastPostOn, postSeq after its last one) and those whose stream is unknown or the legacy
	// stream, which every blocking stream waits for (lastAnyPost). ggml uploads its inputs on
	// the per-thread stream and syncs that after each, while the token's graph launch is on a
	// stream of its own: those syncs need no round trip. All guarded by mu.
	lastPostOn  = map[uint64]uint64{}
	lastAnyPost uint64
	captures    atomic.Int32 // stream captures under way: a sync must then reach the server to fail there
	// The streams and events this client created: a sync on any other handle goes to the
	// server, which answers it with the error it deserves.
	ownHandles sync.Map
)

// anyStream stands for a post whose stream the client does not know.
const anyStream = ^uint64(0)

// postedLocked counts a post of work on stream (a server handle, or anyStream). mu is held.
func postedLocked(stream uint64) {
	postsSinceSync++
	postSeq++
	if stream <= uint64(shim.StreamPerThread) || stream == anyStream {
		lastAnyPost = postSeq // the legacy stream's work, or work on a stream not known here
		return
	}
	lastPostOn[stream] = postSeq
}

// streamOf is the stream (a server handle) call f's work is on: its one stream argument
// (ptStreamArgs), or anyStream when it names none or more than one.
func streamOf(f *api.Func, vals []wire.Value) uint64 {
	if args := ptStreamArgs[f.Op]; len(args) == 1 {
		return vals[args[0]].U
	}
	return anyStream
}

// idleLocked reports whether a synchronisation of the program's own stream h has nothing to
// wait for: no post since its last one on it, on the legacy stream or on a stream unknown.
// mu is held.
func idleLocked(h uint64) bool {
	at, ok := syncedAt[h]
	return ok && at >= lastAnyPost && at >= lastPostOn[h]
}

// drainOf is what a download's KindDrained answer vouches for: on the legacy stream (0), all
// of the client's work; on a stream of the program's own, that stream's work, as its
// synchronisation would (drainedLocked).
func drainOf(stream uintptr) uint64 {
	if stream == shim.StreamLegacy {
		return 0
	}
	return uint64(stream)
}

// drainedLocked takes a KindDrained answer to a request about scope (drainOf): every post
// before it was sent is done, and none came since (mu was held). mu is held.
func drainedLocked(scope uint64) {
	if scope == 0 {
		postsSinceSync = 0
		return
	}
	syncedAt[scope] = postSeq
}

// known reports whether a stream or event handle is one the server will accept.
func known(h uint64, stream bool) bool {
	if stream && h <= 2 { // the legacy stream, cudaStreamLegacy and cudaStreamPerThread
		return true
	}
	_, ok := ownHandles.Load(h)
	return ok
}

func init() {
	for i := range api.Functions {
		f := &api.Functions[i]
		if f.Has("sync") {
			syncOps[uint32(f.Op)] = true
			// What it waits for is its first argument's kind: a stream, an event, or (none)
			// the whole device or context.
			var stream, event bool
			if len(f.Args) > 0 {
				stream = f.Args[0].CType == "cudaStream_t" || f.Args[0].CType == "CUstream"
				event = f.Args[0].CType == "cudaEvent_t" || f.Args[0].CType == "CUevent"
			}
			if !stream && !event {
				fullSyncOps[uint32(f.Op)] = true
			}
			beforeCall[f.Op] = func(_ *api.Func, v []wire.Value) (uint64, bool) {
				if (stream || event) && !known(v[0].U, stream) {
					return 0, false
				}
				mu.Lock()
				defer mu.Unlock()
				idle := postsSinceSync == 0
				own := stream && v[0].U > uint64(shim.StreamLegacy) || event
				if own {
					if at, ok := syncedAt[v[0].U]; ok && at == postSeq || stream && idleLocked(v[0].U) {
						idle = true
					}
				}
				local := idle && dead == nil && captures.Load() == 0
				if own && !local {
					// Where postSeq stood when this sync left: its answer vouches for the posts
					// before it (the earliest, when two threads sync one handle at once).
					if at, ok := syncStart[v[0].U]; !ok || postSeq < at {
						syncStart[v[0].U] = postSeq
					}
				}
				return 0, local
			}
			afterCall[f.Op] = func(v []wire.Value) {
				mu.Lock()
				defer mu.Unlock()
				switch {
				case stream && v[0].U <= uint64(shim.StreamLegacy): // the legacy stream's waits for everything
					postsSinceSync = 0
				case stream || event:
					if at, ok := syncStart[v[0].U]; ok {
						syncedAt[v[0].U] = at
						delete(syncStart, v[0].U)
					}
				}
			}
		}
		// functions.txt declares which calls create, destroy or capture on a stream or event.
		switch {
		case f.Has("new:stream"), f.Has("new:event"):
			afterCall[f.Op] = func(v []wire.Value) { ownHandles.Store(*(*uint64)(unsafe.Pointer(uintptr(v[0].U))), struct{}{}) }
		case f.Has("free:stream"), f.Has("free:event"):
			afterCall[f.Op] = func(v []wire.Value) {
				ownHandles.Delete(v[0].U)
				mu.Lock()
				delete(syncedAt, v[0].U)
				delete(syncStart, v[0].U)
				delete(lastPostOn, v[0].U)
				mu.Unlock()
			}
		case f.Has("capture:begin"):
			afterCall[f.Op] = func([]wire.Value) { captures.Add(1) }
		case f.Has("capture:end"):
			// An invalidated capture ends too (901, cudaErrorStreamCaptureInvalidated and
			// CUDA_ERROR_STREAM_CAPTURE_INVALIDATED alike), and so does an unjoined one (904).
			afterResult[f.Op] = func(res uint64) {
				if res == 0 || res == 901 || res == 904 {
					captures.Add(-1)
				}
			}
		}
	}
}
