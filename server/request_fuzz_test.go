package server

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"regexp"
	"runtime"
	"runtime/debug"
	"sort"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"vgpu/shim"
	"vgpu/shim/api"
	"vgpu/wire"
)

// fuzzOwner is the client the fuzzer's requests come from.
const fuzzOwner = 1 << 40

// fuzzState is what a client has before the fuzzed request: device memory, a cuBLAS
// handle, a stream, a shared-memory window and a shared host mapping, so that mutated
// requests reach the code behind the address and handle checks too.
type fuzzState struct {
	ops     []uint32 // every op the server answers
	byOp    map[uint32]*api.Func
	dev     []uint64 // device addresses
	handles []uint64 // a cuBLAS handle, a stream
	window  *shmWindow
	file    *shmWindow // a window in a shared file, for OpHostShareFile (nil without tmpfs)
	shares  hostShares
	client  uint64 // the client's address of its shared host mapping
}

func newFuzzState(t testing.TB) *fuzzState {
	s := &fuzzState{byOp: opTable(), shares: hostShares{}}
	for op := range dispatch {
		s.ops = append(s.ops, op)
	}
	for op := uint32(wire.OpPut); op <= wire.OpGetHost; op++ {
		if op != wire.OpShmAttach && op != wire.OpHostShare { // these need a peer on a socket
			s.ops = append(s.ops, op)
		}
	}
	s.ops = append(s.ops, wire.OpHostShareFile, wire.OpLaunchAttrs, wire.OpGlobal, wire.OpPoolAttr, wire.OpArrayLayout, wire.OpGraphNode, wire.OpGraphLaunchPart)
	sort.Slice(s.ops, func(i, j int) bool { return s.ops[i] < s.ops[j] })
	b := make([]byte, 4<<20)
	half := (len(b) - shmHeader) / 2
	s.window = &shmWindow{b: b, ring: b[shmHeader : shmHeader+half], download: b[shmHeader+half:]}
	m, err := unix.Mmap(-1, 0, 1<<20, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	if f, err := os.CreateTemp("/dev/shm", "vgpu-fuzz-shmfile"); err == nil {
		os.Remove(f.Name())
		fd, err := unix.Dup(int(f.Fd()))
		f.Close()
		if err == nil && unix.Ftruncate(fd, 5<<20) == nil {
			if wb, err := unix.Mmap(fd, 0, 4<<20, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED); err == nil {
				s.file = &shmWindow{b: wb, ring: wb[shmHeader : shmHeader+half], download: wb[shmHeader+half:], file: true, fd: fd}
			}
		}
	}
	s.client = 0x7f0000000000
	s.shares[s.client] = &struct {
		b      []byte
		pinned bool
	}{m, false}
	return s
}

// fresh gives the client (on the calling, locked thread) new memory and handles: a request
// may have destroyed the last ones (cudaDeviceReset, cublasDestroy, a capture begun).
func (s *fuzzState) fresh() {
	s.dev, s.handles = s.dev[:0], s.handles[:0]
	// Initialised as a program is, so that calls get past "not initialised".
	callByName(s.byOp, "cuInit", wire.Value{})
	callByName(s.byOp, "nvmlInit_v2")
	for _, n := range []uint64{4096, 1 << 20} {
		r := callByName(s.byOp, "cudaMalloc", wire.Value{U: 1}, wire.Value{U: n})
		if r.res != 0 {
			panic(fmt.Sprintf("cudaMalloc: %d", r.res))
		}
		s.dev = append(s.dev, binary.LittleEndian.Uint64(r.out[0]))
	}
	// The first allocation starts with operand arrays for batched calls: pointers to the
	// second allocation, and (second in each pair) ones that are no device memory.
	arrays := u64s(s.dev[0])
	for _, p := range []uint64{s.dev[1], 0, s.dev[1] + 64, 0x400000, s.dev[1], s.dev[1] + 1<<20 - 8} {
		arrays = binary.LittleEndian.AppendUint64(arrays, p)
	}
	answer(wire.OpPut, arrays, s.byOp)
	for _, name := range []string{"cublasCreate_v2", "cudaStreamCreate"} {
		r := callByName(s.byOp, name, wire.Value{U: 1})
		if r.res != 0 {
			panic(fmt.Sprintf("%s: %d", name, r.res))
		}
		s.handles = append(s.handles, binary.LittleEndian.Uint64(r.out[0]))
	}
}

// release frees everything the client holds, as a session's end does.
func (s *fuzzState) release() {
	shim.FreeOwned(fuzzOwner)
	shim.ReleaseOwned(fuzzOwner)
}

type result struct {
	res uint64
	out [][]byte
}

func callByName(byOp map[uint32]*api.Func, name string, args ...wire.Value) result {
	f := api.ByName()[name]
	req, err := wire.EncodeRequest(f, args)
	if err != nil {
		panic(err)
	}
	res, out, err := wire.DecodeResponse(f, answer(uint32(f.Op), req, byOp))
	if err != nil {
		panic(err)
	}
	return result{res, out}
}

// asClient runs fn as the fuzzer's client, on a locked thread as a session does.
func asClient(fn func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	shim.EnterClient(fuzzOwner)
	defer shim.LeaveClient()
	fn()
}

var enumLike = regexp.MustCompile(`(?i)trans|side|uplo|diag|mode|flags|kind|algo|option|attr`)

// Seeds name the state's memory and handles by tokens, which resolve translates into this
// process's addresses and handles: a fuzzing worker is another process, with other ones.
const (
	devTokenBase = 0x0de0 << 32 // devToken(k, off): the state's allocation k, plus off
	handleToken  = 0x0ad0 << 32 // + 0: the cuBLAS handle, + 1: the stream
)

func devToken(k int, off uint64) uint64 { return devTokenBase + uint64(k)<<24 + off }

// resolve replaces every token in p (at any offset) by what it stands for.
func (s *fuzzState) resolve(p []byte) []byte {
	out := p
	for i := 0; i+8 <= len(p); i++ {
		v := binary.LittleEndian.Uint64(p[i:])
		var real uint64
		switch {
		case v >= devTokenBase && v < devTokenBase+uint64(len(s.dev))<<24:
			k := (v - devTokenBase) >> 24
			real = s.dev[k] + (v-devTokenBase)&(1<<24-1)
		case v >= handleToken && v < handleToken+uint64(len(s.handles)):
			real = s.handles[v-handleToken]
		default:
			continue
		}
		if &out[0] == &p[0] {
			out = append([]byte(nil), p...)
		}
		binary.LittleEndian.PutUint64(out[i:], real)
	}
	return out
}

// seed is a request for f whose arguments name the state's memory and handles.
func (s *fuzzState) seed(f *api.Func) []byte {
	args := make([]wire.Value, len(f.Args))
	for i, a := range f.Args {
		switch wire.Kind(a) {
		case wire.Scalar:
			switch {
			case a.CType == "cublasHandle_t":
				args[i].U = handleToken
			case a.CType == "cudaStream_t" || a.CType == "CUstream":
				args[i].U = handleToken + 1
			case a.Name == "computeType":
				args[i].U = 68
			case enumLike.MatchString(a.Name):
				args[i].U = 0 // the first value of an enum or flag set: the common case
			default:
				args[i].U = 2
			}
		case wire.Addr:
			args[i].U = devToken(i%2, 0)
		case wire.Dim3:
			args[i].D = [3]uint32{1, 1, 1}
		case wire.CStr:
			args[i].B = []byte("0000:01:00.0")
		case wire.OutBuf, wire.OutStr:
			args[i].U = 1
		case wire.HostScalar:
			args[i].U = 0x7000
			args[i].B = binary.LittleEndian.AppendUint32(nil, math.Float32bits(1))
		}
	}
	for i, a := range f.Args { // input buffers as large as declared, counts of 2
		if wire.Kind(a) == wire.InBuf {
			args[i].B = []byte{2, 0, 0, 0, 0, 0, 0, 0}
		}
	}
	for i, a := range f.Args {
		if wire.Kind(a) == wire.InBuf {
			if n, err := wire.BufSize(f, a, args); err == nil {
				args[i].B = append(args[i].B, make([]byte, n)...)[:n]
			}
		}
	}
	req, err := wire.EncodeRequest(f, args)
	if err != nil {
		return nil
	}
	return req
}

// guard moves every decoded buffer so that it ends where an inaccessible page begins: a
// callee that reads or writes past what the frame carried faults (a panic, with
// SetPanicOnFault) instead of silently touching the server's heap.
type guard struct{ maps [][]byte }

func (g *guard) place(f *api.Func, args []wire.Value) {
	page := unix.Getpagesize()
	for i := range args {
		n := len(args[i].B)
		if n == 0 {
			continue
		}
		size := (n+page-1)/page*page + page
		m, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
		if err != nil {
			panic(err)
		}
		if err := unix.Mprotect(m[size-page:], unix.PROT_NONE); err != nil {
			panic(err)
		}
		g.maps = append(g.maps, m)
		b := m[size-page-n : size-page : size-page]
		copy(b, args[i].B)
		args[i].B = b
	}
}

func (g *guard) release() {
	for _, m := range g.maps {
		unix.Munmap(m)
	}
	g.maps = nil
}

// Every request the server answers, decoded and dispatched (the function list, bulk copies,
// code, shared memory), never crashes it, and never makes it touch memory outside what
// the frame carried or the client owns.
func FuzzRequest(f *testing.F) {
	if st := shim.S(); st.Err != nil {
		f.Skip(st.Err)
	}
	s := newFuzzState(f)
	shim.SetClientMemory(fuzzOwner, 64<<20) // a request cannot exhaust the machine
	for i, op := range s.ops {
		if fn := s.byOp[op]; fn != nil {
			if req := s.seed(fn); req != nil {
				f.Add(uint16(i), req)
			}
		}
	}
	d0, d1 := devToken(0, 0), devToken(1, 0)
	stream := uint64(handleToken + 1)
	idx := func(op uint32) uint16 {
		return uint16(sort.Search(len(s.ops), func(i int) bool { return s.ops[i] >= op }))
	}
	f.Add(idx(wire.OpPut), append(u64s(d0), make([]byte, 64)...))
	f.Add(idx(wire.OpGet), u64s(d1, 4096))
	f.Add(idx(wire.OpIsDevice), u64s(d0))
	f.Add(idx(wire.OpCopyD2D), u64s(d1, d0, 4096))
	f.Add(idx(wire.OpCopyD2DAsync), u64s(d1, d0, 4096, stream))
	f.Add(idx(wire.OpPut2D), append(u64s(d1, 64, 16, 2, stream), make([]byte, 32)...))
	f.Add(idx(wire.OpGet2D), u64s(d1, 64, 16, 2))
	f.Add(idx(wire.OpCopy2D), u64s(d1, 64, d0, 64, 16, 2, stream))
	f.Add(idx(wire.OpPutShm), u64s(d1, 0, 64, 64))
	f.Add(idx(wire.OpGetShm), u64s(d1, 4096, 64))
	f.Add(idx(wire.OpPutHost), u64s(d1, s.client+4096, 4096))
	f.Add(idx(wire.OpGetHost), u64s(d1, s.client, 4096))
	f.Add(idx(wire.OpHostUnshare), u64s(s.client+1))
	f.Add(idx(wire.OpHostShareFile), u64s(0x7e0000000000, 4096, 4<<20))
	f.Add(idx(wire.OpHostShareFile), u64s(0x7e0000000000, 1<<20, 4<<20))
	f.Add(idx(wire.OpLaunch), append(u64s(1), make([]byte, 80)...))
	f.Add(idx(wire.OpLaunchAttrs), append(append(u64s(1), make([]byte, 40)...), append([]byte{1, 0, 0, 0, 6, 0, 0, 0}, make([]byte, 68)...)...))
	f.Add(idx(wire.OpGlobal), append(append(u64s(1, 64), 1, 0, 0, 0, 'x'), make([]byte, 64)...))
	f.Add(idx(wire.OpPoolAttr), append(u64s(0), 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
	f.Add(idx(wire.OpArrayLayout), u64s(d0))
	f.Add(idx(wire.OpArrayLayout), u64s(stream))
	// Hand-built graph nodes the client carries (kernel, host, copy, captured host and copy)
	// and a graph launched in parts.
	for what := uint32(wire.GraphAddKernel); what <= wire.GraphCaptureCopy; what++ {
		r := wire.GraphNodeReq{What: what, Graph: stream, Node: stream, Deps: []uint64{stream}, Func: 1,
			Dims: [6]uint32{1, 1, 1, 32, 1, 1}, Args: make([]byte, 16), Fn: 1, Data: 2}
		f.Add(idx(wire.OpGraphNode), r.Encode())
	}
	f.Add(idx(wire.OpGraphLaunchPart), wire.EncodeLaunchPart(stream, stream, 0))
	var g guard

	f.Fuzz(func(t *testing.T, which uint16, payload []byte) {
		op := s.ops[int(which)%len(s.ops)]
		asClient(func() {
			defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
			s.fresh()
			defer s.release()
			payload = s.resolve(payload)
			testArgs = g.place
			defer func() { testArgs = nil }()
			defer g.release()
			switch op {
			case wire.OpPutShm, wire.OpGetShm:
				var none shmWindow
				none.op(op, payload)
				s.window.op(op, payload)
			case wire.OpPutHost, wire.OpGetHost:
				s.shares.copy(op, payload, which&0x8000 != 0)
			case wire.OpHostShareFile:
				var none shmWindow
				s.shares.shareFile(&none, payload)
				if s.file != nil {
					s.shares.shareFile(s.file, payload)
				}
				for addr := range s.shares { // the state keeps only its own mapping
					if addr != s.client {
						s.shares.drop(addr)
					}
				}
			case wire.OpHostUnshare:
				// Unsharing the state's own mapping would leave nothing to copy to.
				if len(payload) == 8 && binary.LittleEndian.Uint64(payload) == s.client {
					return
				}
				s.shares.unshare(payload)
			default:
				answer(op, payload, s.byOp)
			}
		})
	})
}

var _ = unsafe.Pointer(nil)
