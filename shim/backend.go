package shim

import (
	"sync"
	"unsafe"
)

// Backend executes what the model has validated: the sim backend does it in this process;
// the remote and local backends will do it on a real GPU. Addresses passed in have been
// checked against the MemTable.
type Backend interface {
	Name() string
	// DeviceAlloc returns the address of size bytes of device memory on d.
	DeviceAlloc(d *Device, size uint64) (uintptr, error)
	DeviceFree(a *Alloc) error
	// HostAlloc returns size bytes of pinned host memory.
	HostAlloc(size uint64) (uintptr, error)
	HostFree(a *Alloc) error
	// Copy and Set move bytes between validated ranges; kind (HostToDevice, ...) says
	// which side of a copy is device memory, which a real GPU needs to know.
	Copy(dst, src uintptr, n uint64, kind int32) Status
	Set(dst uintptr, value byte, n uint64) Status
	// Launch runs kernel k with its argument block.
	Launch(k *Kernel, lc LaunchConfig, args uintptr) Status
}

// SimBackend keeps device memory in host address space and runs no kernels.
type SimBackend struct{ state *State }

func newSimBackend(s *State) Backend { return &SimBackend{state: s} }

func (b *SimBackend) Name() string { return "sim" }

func (b *SimBackend) DeviceAlloc(d *Device, size uint64) (uintptr, error) {
	return MapAnon(roundUp(size, 2<<20), rw)
}

func (b *SimBackend) DeviceFree(a *Alloc) error { return Unmap(a.Base, roundUp(uint64(a.Size), 2<<20)) }

func (b *SimBackend) HostAlloc(size uint64) (uintptr, error) { return MapAnon(roundUp(size, 4096), rw) }

func (b *SimBackend) HostFree(a *Alloc) error { return Unmap(a.Base, roundUp(uint64(a.Size), 4096)) }

func (b *SimBackend) Copy(dst, src uintptr, n uint64, kind int32) Status {
	copy(Bytes(dst, n), Bytes(src, n))
	return OK
}

func (b *SimBackend) Set(dst uintptr, value byte, n uint64) Status {
	buf := Bytes(dst, n)
	for i := range buf {
		buf[i] = value
	}
	return OK
}

// WordSetter is a backend that fills device memory with a 2- or 4-byte pattern itself
// (cuMemsetD16/D32 on a GPU); without it only the sim, which can address device memory from
// the host, writes such patterns.
type WordSetter interface {
	SetWords(dst uintptr, value uint32, size, count uint64) Status
}

// Launch cannot run device code: it answers per VGPU_SIM_LAUNCH and says why, once.
func (b *SimBackend) Launch(k *Kernel, lc LaunchConfig, args uintptr) Status {
	if h := simLaunchHook.Load(); h != nil {
		(*h)(lc)
	}
	if b.state.Config.SimLaunch == "noop" {
		return OK
	}
	WarnOnce("sim-launch", "the sim backend cannot execute kernels; launch returns 'operation not supported'. "+
		"Set VGPU_SIM_LAUNCH=noop to let programs run on for scheduling tests, or use a GPU backend",
		"kernel", k.Name)
	return ErrNotSupported
}

const rw = 0x1 | 0x2 // PROT_READ|PROT_WRITE

func roundUp(n, to uint64) uint64 {
	if n == 0 {
		return to
	}
	return (n + to - 1) / to * to
}

// ParamInfo is one kernel parameter's place in a packed argument block.
type ParamInfo struct{ Offset, Size uint32 }

// CodeBackend is a backend that runs device code a remote client ships: the client sends
// its images once, then launches by handle with the parameters packed by value.
type CodeBackend interface {
	// LoadModule loads an image (fat binary, cubin or PTX) and returns the backend's module.
	LoadModule(image []byte) (uintptr, Status)
	// UnloadModule frees a loaded module and its kernels.
	UnloadModule(mod uintptr)
	// Function finds a kernel of a loaded module and its parameter layout.
	Function(mod uintptr, name string) (uintptr, []ParamInfo, Status)
	// LaunchPacked runs fn with its parameters packed at their offsets in args.
	LaunchPacked(fn uintptr, params []ParamInfo, lc LaunchConfig, args []byte) Status
}

// LoadModule keeps the image: the sim backend cannot compile it, only find names in it.
func (b *SimBackend) LoadModule(image []byte) (uintptr, Status) {
	if len(image) == 0 {
		return 0, ErrInvalidValue
	}
	m := &Module{Size: uint64(len(image)), image: append([]byte(nil), image...)}
	key := uintptr(unsafe.Pointer(m))
	simModules.Store(key, m)
	return key, OK
}

// UnloadModule forgets a shipped image.
func (b *SimBackend) UnloadModule(mod uintptr) { simModules.Delete(mod) }

// simModules keeps shipped images alive under their keys.
var simModules sync.Map

// Function knows no parameter layout: the sim backend runs no kernel that would read one.
func (b *SimBackend) Function(mod uintptr, name string) (uintptr, []ParamInfo, Status) {
	v, ok := simModules.Load(mod)
	m, _ := v.(*Module)
	if !ok || !m.Defines(name) {
		return 0, nil, ErrInvalidDeviceFunction
	}
	return 1, nil, OK
}

// LaunchPacked answers as Launch does.
func (b *SimBackend) LaunchPacked(fn uintptr, params []ParamInfo, lc LaunchConfig, args []byte) Status {
	return b.Launch(&Kernel{Name: "(shipped by a remote client)"}, lc, 0)
}

// The cuBLAS entry point a GemmCall came from: a backend with a real cuBLAS calls the same
// one, so that results are bit-identical to the program's own run.
const (
	GemmSgemm = iota
	GemmEx
	GemmStridedBatchedEx
	GemmBatchedEx
	GemmSgemmStridedBatched
	GemmSgemmBatched
)

// GemmCall is one cuBLAS GEMM as the program made it, validated.
type GemmCall struct {
	Fn                        int
	Dev                       int
	TA, TB, M, N, K           int32
	A, B, C                   uintptr // operands, or for the Batched forms device arrays of operand addresses
	AType, BType, CType       int32
	LDA, LDB, LDC             int32
	StrideA, StrideB, StrideC int64
	Count, Compute, Algo      int32
	Math                      int32
	// alpha and beta: their values, copied at the call (host pointer mode), or their
	// device addresses (device pointer mode).
	Alpha, Beta       [8]byte
	AlphaDev, BetaDev uintptr
}

// BlasBackend is a backend that runs cuBLAS calls with its own cuBLAS, in stream order
// with its other work.
type BlasBackend interface {
	Gemm(g *GemmCall) Status
	Trsm(t *TrsmCall) Status
}

// TrsmCall is one cublasStrsmBatched: A and B are device arrays of matrix addresses.
type TrsmCall struct {
	Dev                           int
	Side, Uplo, Trans, Diag, M, N int32
	A, B                          uintptr
	LDA, LDB, Count, Math         int32
	Alpha                         [4]byte // host pointer mode: the value, copied at the call
	AlphaDev                      uintptr // device pointer mode: its address
}

// The CUfunction_attribute values KernelQuerier reports, in order.
const KernelAttrCount = 10 // max threads per block ... preferred shared memory carveout

// KernelQuerier is a CodeBackend whose driver can say what a loaded kernel needs: programs
// size their launches from it (ggml's flash attention from occupancy), so a remote client
// must get the answers the real device gives.
type KernelQuerier interface {
	// KernelAttributes returns CUfunction_attribute 0..KernelAttrCount-1 of fn.
	KernelAttributes(fn uintptr) ([KernelAttrCount]int32, Status)
	// Occupancy is cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags, after fn's dynamic
	// shared memory limit has been raised to maxDynShared (when > 0), as the program did.
	Occupancy(fn uintptr, block int32, shared uint64, flags uint32, maxDynShared int32) (int32, Status)
}

// HostRegistrar is a backend that can pin host memory it did not allocate (a client's
// shared-memory window), so copies from and to it run at DMA speed.
type HostRegistrar interface {
	RegisterHost(p uintptr, n uint64) Status
	UnregisterHost(p uintptr)
}

// HostMapper is a HostRegistrar whose driver maps registered host memory for kernels
// (CU_MEMHOSTREGISTER_DEVICEMAP): MapHost registers [p, p+n) so and returns the device
// address the driver gives for p; UnregisterHost undoes it.
type HostMapper interface {
	MapHost(p uintptr, n uint64) (dev uintptr, st Status)
}

// Waiter is a backend whose work runs after the call that issued it (the real GPU behind
// the local backend): synchronising calls wait for it and report what it ran into.
type Waiter interface {
	Wait() Status
}

// Marker is a backend whose work completes after the call that issued it (the local
// backend's GPU) and that can say how far it got: an event's record places a mark after the
// caller's work so far, so that cudaEventQuery answers "not ready" while the GPU has not got
// there, and cudaStreamQuery while the caller's work still runs, as on a real GPU.
type Marker interface {
	// Mark places a mark after the work the caller issued so far on device dev.
	Mark(dev int) (uintptr, Status)
	// Reached is OK once the work before mark is done, ErrNotReady before, or what it ran into.
	Reached(mark uintptr) Status
	// Unmark releases mark.
	Unmark(mark uintptr)
	// Busy is ErrNotReady while any of the caller's work is still running, else OK.
	Busy() Status
}

// StreamBackend is a backend that runs each of the model's streams on a stream of its own
// (the local backend's driver streams), so that work on different streams overlaps as on a
// real GPU. The shim names the stream an operation is issued on in the calling thread's
// ThreadState.Issuing while it hands the backend the operation (Copy, Set, LaunchPacked, a
// cuBLAS call, LaunchGraph, Mark); the calls here name it themselves.
type StreamBackend interface {
	// SyncStream waits for the work issued on s (cudaStreamSynchronize).
	SyncStream(s *Stream) Status
	// StreamBusy is ErrNotReady while work issued on s still runs (cudaStreamQuery).
	StreamBusy(s *Stream) Status
	// WaitMark makes s's later work wait for the work before mark (cudaStreamWaitEvent).
	WaitMark(s *Stream, mark uintptr) Status
	// EndStream releases what the backend holds for s (cudaStreamDestroy).
	EndStream(s *Stream)
}

// streamBackend is the backend as a StreamBackend, if it is one.
// IssuingLauncher is a StreamBackend that takes the issuing thread's state and stream with a
// launch (LaunchPacked reads both from the thread): each look-up of the thread's state is a
// call into C, and a launch loop otherwise made two per launch for the one stream.
type IssuingLauncher interface {
	LaunchPackedOn(ts *ThreadState, s *Stream, fn uintptr, params []ParamInfo, lc LaunchConfig, args []byte) Status
}

func streamBackend() (StreamBackend, bool) {
	sb, ok := S().Backend.(StreamBackend)
	return sb, ok
}

// issuing runs fn with s named as the stream its backend work is issued on, where the
// backend runs streams apart (StreamBackend); otherwise fn runs as it is.
func issuing(s *Stream, fn func() Status) Status {
	if _, ok := streamBackend(); !ok || s == nil {
		return fn()
	}
	ts := Thread()
	prev := ts.Issuing
	ts.Issuing = s
	st := fn()
	ts.Issuing = prev
	return st
}

// IssueOn runs fn, which hands the backend work of stream s's (a copy the server makes for a
// request naming s), with s named as its stream.
func IssueOn(s *Stream, fn func() Status) Status { return issuing(s, fn) }

// WaitBackend waits for the backend's outstanding work where it runs asynchronously; the
// sim's work is complete at issue.
func WaitBackend() Status {
	if w, ok := S().Backend.(Waiter); ok {
		return w.Wait()
	}
	return OK
}

// AsyncCopier is a backend that can leave a copy between the device and registered host
// memory to run in stream order, returning before it completes.
type AsyncCopier interface {
	CopyAsync(dst, src uintptr, n uint64, kind int32) Status
}

// PinnedUploader is a backend that uploads from host memory registered with it without
// waiting for the GPU, in the caller's stream order, and marks (Marker) where the copy has
// read its source: 0 when it already has.
type PinnedUploader interface {
	UploadPinned(dst, src uintptr, n uint64) (mark uintptr, st Status)
}

// ClientEnder is a backend that keeps state per server client (the local backend runs each
// client in CUDA contexts of its own): EndClient releases it once the client's session is
// over, after its memory and handles were released.
type ClientEnder interface {
	EndClient(owner uint64)
}

// EndClient tells the backend that the server's client owner has gone.
func EndClient(owner uint64) {
	if e, ok := S().Backend.(ClientEnder); ok && owner != 0 {
		e.EndClient(owner)
	}
}
