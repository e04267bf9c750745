package remote

import (
	"runtime"
	"strings"
	"unsafe"

	"vgpu/cudart"
	"vgpu/shim"
	"vgpu/shim/api"
	"vgpu/wire"
)

// cudaStreamPerThread over the connection. The server runs all of a client's calls on one
// thread, so its own per-thread stream would be one for all of the client's threads: one
// thread's capture of it would record another's work. Instead each client thread gets a
// server stream of its own (flags 0: ordered with the legacy stream, as the per-thread
// stream is) the first time it names cudaStreamPerThread, and every call that carries a
// stream sends that stream's handle in its place. The _ptsz/_ptds forms name it with the
// handle 0 too. A thread's stream lives as long as the connection.

// ptStreamArgs lists, per opcode, the stream arguments to translate; ptZero marks the rows
// whose handle 0 means the per-thread stream too.
var (
	ptStreamArgs = map[int][]int{}
	ptZero       = map[int]bool{}
	createIdx    = -1
)

// afterResult sees every forwarded call's result, success or not.
var afterResult = map[int]func(res uint64){}

func init() {
	// Pipelined calls whose flags are checked here, so a bad one fails at once as it does
	// in process, instead of at the next synchronisation.
	for _, name := range []string{"cudaEventRecordWithFlags", "cudaEventRecordWithFlags_ptsz", "cudaStreamWaitEvent", "cudaStreamWaitEvent_ptsz",
		"cuEventRecordWithFlags", "cuEventRecordWithFlags_ptsz", "cuStreamWaitEvent", "cuStreamWaitEvent_ptsz"} {
		for i := range api.Functions {
			if f := &api.Functions[i]; f.Name == name {
				beforePost[f.Op] = func(_ *api.Func, v []wire.Value) uint64 {
					if v[2].U&^1 != 0 {
						return uint64(cudart.ErrorInvalidValue)
					}
					return 0
				}
			}
		}
	}
	for i := range api.Functions {
		f := &api.Functions[i]
		if f.Name == "cudaStreamCreateWithFlags" {
			createIdx = i
		}
		// A destroy of cudaStreamPerThread must reach the server as the special handle, which
		// it refuses, and not destroy the thread's stream.
		if strings.Contains(f.Name, "StreamDestroy") {
			continue
		}
		for j, a := range f.Args {
			if a.CType == "cudaStream_t" || a.CType == "CUstream" {
				ptStreamArgs[f.Op] = append(ptStreamArgs[f.Op], j)
			}
		}
		if strings.HasSuffix(f.Name, "_ptsz") || strings.HasSuffix(f.Name, "_ptds") {
			ptZero[f.Op] = true
		}
		if strings.HasSuffix(f.Name, "_ptds") && !f.Has("manual") {
			beforeCall[f.Op] = func(*api.Func, []wire.Value) (uint64, bool) {
				e := ptdsCheck()
				return uint64(e), e != cudart.Success
			}
		}
	}
}

// perThread is the server stream standing for h when h names this thread's per-thread
// stream; any other handle is returned as it is.
func perThread(h uintptr) uintptr {
	if h != shim.StreamPerThread || createIdx < 0 {
		return h
	}
	ts := shim.Thread()
	dev := ts.Device
	if s, ok := ts.RemoteStreams[dev]; ok {
		return s
	}
	out := new(uint64)
	if r := Forward(createIdx, []wire.Value{{U: uint64(uintptr(unsafe.Pointer(out)))}, {U: 0}}); r != 0 {
		return h // the server answers the special handle itself, with the error it deserves
	}
	runtime.KeepAlive(out)
	if ts.RemoteStreams == nil {
		ts.RemoteStreams = map[int]uintptr{}
	}
	ts.RemoteStreams[dev] = uintptr(*out)
	return uintptr(*out)
}

// translatePerThread rewrites the stream arguments of a forwarded call.
func translatePerThread(f *api.Func, vals []wire.Value) {
	for _, j := range ptStreamArgs[f.Op] {
		h := uintptr(vals[j].U)
		if h == 0 && ptZero[f.Op] {
			h = shim.StreamPerThread
		}
		vals[j].U = uint64(perThread(h))
	}
}

// ptdsCheck is what a synchronous _ptds call meets on a capturing per-thread stream: it
// cannot join the capture, so it fails and invalidates it (a synchronisation of the stream
// does exactly that on the server).
func ptdsCheck() cudart.Error {
	if captures.Load() == 0 {
		return cudart.Success
	}
	h := perThread(shim.StreamPerThread)
	var st int32
	for i := range api.Functions {
		if api.Functions[i].Name == "cudaStreamIsCapturing" {
			if r := Forward(i, []wire.Value{{U: uint64(h)}, {U: uint64(uintptr(unsafe.Pointer(&st)))}}); r != 0 {
				return cudart.Error(r)
			}
		}
	}
	if st == 0 {
		return cudart.Success
	}
	return streamSync(h)
}
