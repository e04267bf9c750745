package wire

import (
	"encoding/binary"
	"errors"
)

// Graph nodes whose parameters point into the client's memory (issue 13): a kernel node's
// argument array, a host node's function. The client resolves them and sends what the
// server can keep: the kernel's packed argument block, or the host function's address and
// data as two numbers the server stores and hands back but never calls.
const (
	// OpGraphNode: a GraphNodeReq -> status, u64 node (adds) or status (sets).
	OpGraphNode = 0xF0A0
	// OpGraphLaunchPart: u64 exec, u64 stream, u32 from -> status, u32 next, u64 fn, u64 data.
	// The server launches the executable graph's operations from index `from` up to its next
	// client host node; it then waits for the stream and answers that node's function and
	// data, and next (the index after it). next == GraphLaunchDone: the rest was launched.
	OpGraphLaunchPart = 0xF0A1

	GraphLaunchDone = 0xFFFFFFFF
	// MaxGraphNodeDeps bounds a dependency list a client sends; MaxGraphNodeArgs a packed
	// argument block (CUDA's limit on a kernel's parameters is 32 KiB).
	MaxGraphNodeDeps = 1 << 16
	MaxGraphNodeArgs = 32 << 10
)

// What an OpGraphNode does.
const (
	GraphAddKernel     = 1 // a kernel node in Graph after Deps
	GraphSetKernel     = 2 // Node's parameters in its graph
	GraphExecSetKernel = 3 // Node's parameters in the executable graph Graph
	GraphAddHost       = 4
	GraphSetHost       = 5
	GraphExecSetHost   = 6
	// A copy that involves the client's host memory: a memcpy node whose work the client
	// does itself when a launch in parts reaches it (Fn: the client's token for it).
	GraphAddCopy     = 7
	GraphSetCopy     = 8
	GraphExecSetCopy = 9
	// A host function launched on the capturing stream Graph (cudaLaunchHostFunc during a
	// capture): a host node of the capture the client runs when a launch in parts reaches
	// it. A stream that is not capturing answers an illegal state.
	GraphCaptureHost = 10
	// A copy into the client's host memory on the capturing stream Graph: a memcpy node of
	// the capture the client makes itself when a launch in parts reaches it (Fn: its token).
	GraphCaptureCopy    = 11
	graphNodeWhatLatest = GraphCaptureCopy
)

// GraphNodeReq is an OpGraphNode request. Layout: u32 what, u64 graph (or exec), u64 node,
// u32 count, count u64 dependencies, then for kernels u64 function, u32 grid[3], block[3],
// u32 shared bytes, the packed arguments to the end; for host nodes u64 fn, u64 data.
type GraphNodeReq struct {
	What        uint32
	Graph, Node uint64
	Deps        []uint64
	Func        uint64
	Dims        [6]uint32 // grid x y z, block x y z
	Shared      uint32
	Args        []byte
	Fn, Data    uint64
}

// Kernel reports whether r is one of the kernel forms.
func (r *GraphNodeReq) Kernel() bool { return r.What >= GraphAddKernel && r.What <= GraphExecSetKernel }

// Encode lays r out.
func (r *GraphNodeReq) Encode() []byte {
	le := binary.LittleEndian
	b := le.AppendUint32(nil, r.What)
	b = le.AppendUint64(le.AppendUint64(b, r.Graph), r.Node)
	b = le.AppendUint32(b, uint32(len(r.Deps)))
	for _, d := range r.Deps {
		b = le.AppendUint64(b, d)
	}
	if r.Kernel() {
		b = le.AppendUint64(b, r.Func)
		for _, v := range r.Dims {
			b = le.AppendUint32(b, v)
		}
		return append(le.AppendUint32(b, r.Shared), r.Args...)
	}
	return le.AppendUint64(le.AppendUint64(b, r.Fn), r.Data)
}

var errGraphNode = errors.New("malformed graph node request")

// DecodeGraphNodeReq reads a request; counts past the bounds or the frame are refused
// before anything is allocated for them.
func DecodeGraphNodeReq(p []byte) (*GraphNodeReq, error) {
	le := binary.LittleEndian
	if len(p) < 24 {
		return nil, errGraphNode
	}
	r := &GraphNodeReq{What: le.Uint32(p), Graph: le.Uint64(p[4:]), Node: le.Uint64(p[12:])}
	if r.What == 0 || r.What > graphNodeWhatLatest {
		return nil, errGraphNode
	}
	n := uint64(le.Uint32(p[20:]))
	p = p[24:]
	if n > MaxGraphNodeDeps || n*8 > uint64(len(p)) {
		return nil, errGraphNode
	}
	for i := uint64(0); i < n; i++ {
		r.Deps = append(r.Deps, le.Uint64(p[8*i:]))
	}
	p = p[8*n:]
	if r.Kernel() {
		if len(p) < 36 || len(p)-36 > MaxGraphNodeArgs {
			return nil, errGraphNode
		}
		r.Func = le.Uint64(p)
		for i := range r.Dims {
			r.Dims[i] = le.Uint32(p[8+4*i:])
		}
		r.Shared = le.Uint32(p[32:])
		r.Args = append([]byte(nil), p[36:]...)
		return r, nil
	}
	if len(p) != 16 {
		return nil, errGraphNode
	}
	r.Fn, r.Data = le.Uint64(p), le.Uint64(p[8:])
	return r, nil
}

// EncodeLaunchPart is an OpGraphLaunchPart request.
func EncodeLaunchPart(exec, stream uint64, from uint32) []byte {
	le := binary.LittleEndian
	return le.AppendUint32(le.AppendUint64(le.AppendUint64(nil, exec), stream), from)
}

// DecodeLaunchPart reads an OpGraphLaunchPart request.
func DecodeLaunchPart(p []byte) (exec, stream uint64, from uint32, err error) {
	if len(p) != 20 {
		return 0, 0, 0, errGraphNode
	}
	le := binary.LittleEndian
	return le.Uint64(p), le.Uint64(p[8:]), le.Uint32(p[16:]), nil
}

// EncodeLaunchPartReply is the server's answer: the status byte, then next, fn and data.
func EncodeLaunchPartReply(status byte, next uint32, fn, data uint64) []byte {
	le := binary.LittleEndian
	return le.AppendUint64(le.AppendUint64(le.AppendUint32([]byte{status}, next), fn), data)
}

// DecodeLaunchPartReply reads the server's answer.
func DecodeLaunchPartReply(p []byte) (status byte, next uint32, fn, data uint64, err error) {
	if len(p) == 1 {
		return p[0], GraphLaunchDone, 0, 0, nil
	}
	if len(p) != 21 {
		return 0, 0, 0, 0, errGraphNode
	}
	le := binary.LittleEndian
	return p[0], le.Uint32(p[1:]), le.Uint64(p[5:]), le.Uint64(p[13:]), nil
}
