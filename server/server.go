// Package server is `vgpu serve`: it answers remote clients' calls with the same semantics
// packages a program's own process would run, over the server's backend. Each client's
// calls run on one locked OS thread, so CUDA's per-thread state is per client, and
// everything a client allocated is freed when it disconnects or dies.
package server

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"vgpu/cudart"
	"vgpu/remote"
	"vgpu/shim"
	"vgpu/shim/api"
	"vgpu/wire"
)

// Options shape a server.
type Options struct {
	Token        string // required from clients when set
	RequireToken bool   // TCP listeners refuse clients without the token
	ClientMemory uint64 // device memory each client may hold (0: the device's); the client sees it as the total
	DeviceName   string // the name clients see, instead of the device's own
	// Upgrade, when set, secures a connection before anything is read from it (TLS across
	// hosts); it must finish by deadline.
	Upgrade func(c wire.Conn, deadline time.Time) (wire.Conn, error)
}

var clients atomic.Uint64

// handshakeTimeout bounds everything before a client is authenticated.
const handshakeTimeout = 5 * time.Second

// Listener is where clients arrive: a vsock listener (wire.VsockListener), or a unix or TCP
// one through NetListener.
type Listener interface {
	Accept() (c wire.Conn, peer string, err error)
}

// NetListener adapts a net.Listener, handing each client's socket to blocking system calls.
func NetListener(ln net.Listener) Listener { return netListener{ln} }

type netListener struct{ net.Listener }

func (l netListener) Accept() (wire.Conn, string, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, "", err
		}
		peer := nc.RemoteAddr().String()
		if c, err := wire.FromConn(nc, 0); err == nil { // else that client is dropped
			return c, peer, nil
		}
	}
}

// Serve answers clients on ln until it is closed. Each client has an OS thread of its own:
// the runtime's per-thread state (current device, last error, context stack) then belongs
// to that client alone, and the thread blocks in the kernel on the client's socket instead
// of going through the network poller.
func Serve(ln Listener, o Options) error {
	if err := prepare(o); err != nil {
		return err
	}
	byOp := opTable()
	for {
		c, peer, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || errors.Is(err, unix.EBADF) || errors.Is(err, unix.EINVAL) {
				return nil
			}
			return err
		}
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			serveFD(c, peer, o, byOp)
		}()
	}
}

// prepare checks the device model and applies the options every client sees.
func prepare(o Options) error {
	s := shim.S()
	if s.Err != nil {
		return s.Err
	}
	if o.DeviceName != "" { // every API of every client reads the name from the device
		for _, d := range s.Visible {
			d.Name = o.DeviceName
		}
	}
	return nil
}

func opTable() map[uint32]*api.Func {
	byOp := map[uint32]*api.Func{}
	for i := range api.Functions {
		byOp[uint32(api.Functions[i].Op)] = &api.Functions[i]
	}
	return byOp
}

// ServeOne answers the one client on c (an inherited socket: VGPU_BACKEND=local's private
// server) and returns when it goes.
func ServeOne(c wire.Conn, o Options) error {
	if err := prepare(o); err != nil {
		return err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	serveFD(c, "parent", o, opTable())
	return nil
}

// serveFD answers one client on its own locked thread.
func serveFD(c wire.Conn, peer string, o Options, byOp map[uint32]*api.Func) {
	defer c.Close()
	id := clients.Add(1)
	shim.Thread().Owner = id
	log := shim.Log().With("client", id, "peer", peer)
	if o.Upgrade != nil {
		sc, err := o.Upgrade(c, time.Now().Add(handshakeTimeout))
		if err != nil {
			log.Warnw("refused: secure handshake failed", "err", err)
			return
		}
		defer sc.Close()
		c = sc
	}
	h, payload, err := wire.ReadFrame(c)
	if err != nil || h.Kind != wire.KindHello {
		log.Warnw("refused: no valid hello", "err", err)
		return
	}
	var hello remote.Hello
	welcome := remote.Welcome{OK: true}
	if err := json.Unmarshal(payload, &hello); err != nil {
		welcome = remote.Welcome{Error: "malformed hello"}
	} else if (o.RequireToken || o.Token != "") && hello.Token != o.Token {
		welcome = remote.Welcome{Error: "wrong or missing token"}
	}
	if welcome.OK && hello.Visible != nil {
		// The client's own CUDA_VISIBLE_DEVICES picks from this server's devices; every API
		// then numbers them for it from 0 on this thread.
		view := shim.ApplyVisible(shim.S().Visible, *hello.Visible, true)
		if view == nil {
			view = []*shim.Device{}
		}
		shim.SetView(view)
		defer shim.SetView(nil)
	}
	if welcome.OK {
		st := shim.S()
		welcome.DriverVersion, welcome.CUDAVersion = st.Config.DriverVersion, st.Config.CUDAVersion
		for _, d := range st.Devices() {
			r := d.Record()
			if o.ClientMemory > 0 && o.ClientMemory < r.Memory {
				r.Memory = o.ClientMemory
			}
			welcome.Devices = append(welcome.Devices, r)
		}
	}
	out, _ := json.Marshal(welcome)
	if err := wire.WriteFrame(c, wire.Header{Kind: wire.KindWelcome}, out); err != nil || !welcome.OK {
		log.Warnw("client refused", "reason", welcome.Error)
		return
	}
	log.Infow("client connected", "pid", hello.PID)
	shim.SetClientMemory(id, o.ClientMemory)
	defer shim.SetClientMemory(id, 0) // after what it held is freed (deferred calls run last first)
	stats.client(id, hello.PID, true)
	defer stats.client(id, 0, false)
	defer func() {
		n, bytes := shim.FreeOwned(id)
		h := shim.ReleaseOwned(id)
		log.Infow("client gone; what it held is freed", "allocations", n, "bytes", bytes, "handles", h)
	}()
	// The first error a pipelined call met, returned by the next synchronising call.
	var deferred uint64
	calls := callStats{}
	var window shmWindow
	defer window.detach()
	shares := hostShares{}
	defer shares.dropAll()
	turn := turnaround{on: os.Getenv("VGPU_STATS") == "1"}
	defer func() {
		log.Infow("client's calls: requests/posts and server time, most frequent first", "top", calls.top(15, byOp))
		turn.log(log)
	}()
	// Buffered: a client batches its pipelined calls, and one read then takes many frames.
	in := bufio.NewReaderSize(c, 256<<10)
	w := newBusyWriter(c)
	defer w.stop()
	for {
		if in.Buffered() == 0 {
			w.idle()
		}
		h, payload, err := wire.ReadFrame(in)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				log.Infow("connection ended", "err", err)
			}
			return
		}
		w.working()
		turn.read()
		if h.Op == opGraphLaunch {
			turn.graphLaunch()
		}
		start := time.Now()
		var resp []byte
		switch h.Op {
		case remote.OpShmAttach:
			resp = window.attach(c, payload)
		case remote.OpPutShm, remote.OpGetShm:
			resp = window.op(h.Op, payload)
		case remote.OpHostShare:
			resp = shares.share(c, payload)
		case remote.OpHostUnshare:
			resp = shares.unshare(payload)
		case remote.OpPutHost, remote.OpGetHost:
			resp = shares.copy(h.Op, payload, h.Kind == wire.KindPost)
		default:
			resp = answer(h.Op, payload, byOp)
		}
		took := time.Since(start)
		stats.call(opName(h.Op, byOp[h.Op]), took)
		calls.add(h.Op, h.Kind == wire.KindPost, took)
		if h.Kind == wire.KindPost {
			if r := status(h.Op, resp); r != 0 && deferred == 0 {
				deferred = asCUDAError(byOp[h.Op], r)
			}
			continue
		}
		if deferred != 0 && synchronising(byOp[h.Op]) {
			resp, deferred = withResult(resp, h.Op, deferred), 0
		}
		kind := uint8(wire.KindResponse)
		if deferred == 0 && drains(h.Op) && status(h.Op, resp) == 0 {
			kind = wire.KindDrained
		}
		if err := w.respond(wire.Header{Kind: kind, Op: h.Op, Seq: h.Seq}, resp); err != nil {
			return
		}
		turn.responded()
		if h.Op == remote.OpGet {
			downloads.Put(&resp)
		}
	}
}

// drains reports whether a successful op has waited for everything the client posted before
// it: a download does, on the sim's device and behind the local backend's legacy stream.
func drains(op uint32) bool {
	return op == remote.OpGet || op == remote.OpGetShm || op == remote.OpGetHost
}

// status reads the result out of a response (bulk ops carry a shim status byte, mapped to
// cudaError's numbers, which the driver API shares for the errors a copy meets).
func status(op uint32, resp []byte) uint64 {
	if op >= remote.OpPut && op <= remote.OpLast {
		if len(resp) == 0 || shim.Status(resp[0]) == shim.OK {
			return 0
		}
		return uint64(uint32(cudart.From(shim.Status(resp[0]))))
	}
	if len(resp) < 8 {
		return 0
	}
	return binary.LittleEndian.Uint64(resp)
}

// asCUDAError puts a pipelined call's failure in the numbering of the synchronising call
// that reports it (the runtime's and the driver's agree on the codes a stream can meet): a
// cuBLAS status would name some unrelated CUDA error, so it becomes a launch failure.
func asCUDAError(f *api.Func, r uint64) uint64 {
	if f != nil && f.Lib == "cublas" {
		return 719 // cudaErrorLaunchFailure / CUDA_ERROR_LAUNCH_FAILED
	}
	return r
}

// synchronising calls are where CUDA reports what asynchronous work ran into.
func synchronising(f *api.Func) bool {
	if f == nil {
		return false
	}
	return strings.Contains(f.Name, "Synchronize") || strings.HasSuffix(f.Name, "Query")
}

// withResult replaces a response's result by r.
func withResult(resp []byte, op uint32, r uint64) []byte {
	if len(resp) >= 8 {
		binary.LittleEndian.PutUint64(resp, r)
	}
	return resp
}

// answer runs one request.
func answer(op uint32, payload []byte, byOp map[uint32]*api.Func) []byte {
	switch op {
	case remote.OpPut, remote.OpGet, remote.OpIsDevice, remote.OpCopyD2D, remote.OpCopyD2DAsync,
		remote.OpPut2D, remote.OpGet2D, remote.OpCopy2D:
		return bulk(op, payload)
	case remote.OpLoadModule, remote.OpFunction, remote.OpLaunch, remote.OpFuncQuery:
		return code(op, payload)
	}
	f, ok := byOp[op]
	call, ok2 := dispatch[op]
	if !ok || !ok2 {
		return wire.EncodeResponse(&api.Func{}, notSupported(f), nil)
	}
	args, err := wire.DecodeRequest(f, payload)
	if err != nil {
		shim.Log().Warnw("malformed request", "function", f.Name, "err", err)
		return wire.EncodeResponse(&api.Func{}, 1, nil) // invalid value in every API
	}
	return wire.EncodeResponse(f, call(args), args)
}

func notSupported(f *api.Func) uint64 {
	if f != nil && f.Lib == "nvml" {
		return 3
	}
	if f != nil && f.Lib == "cublas" {
		return 15
	}
	return 801
}

// bulk moves host memory for the copy calls the function list cannot describe.
func bulk(op uint32, p []byte) []byte {
	u := func(i int) uint64 { return binary.LittleEndian.Uint64(p[8*i:]) }
	switch op {
	case remote.OpPut:
		if len(p) < 8 {
			return reply(shim.ErrInvalidValue)
		}
		dst, data := uintptr(u(0)), p[8:]
		stats.bytesIn.Add(uint64(len(data)))
		if _, s := shim.DeviceRange(dst, uint64(len(data))); s != shim.OK {
			return reply(s)
		}
		if len(data) == 0 {
			return reply(shim.OK)
		}
		return reply(shim.S().Backend.Copy(dst, uintptr(unsafe.Pointer(&data[0])), uint64(len(data)), shim.HostToDevice))
	case remote.OpGet:
		if len(p) != 16 || u(1) > remote.Chunk {
			return reply(shim.ErrInvalidValue)
		}
		src, n := uintptr(u(0)), u(1)
		stats.bytesOut.Add(n)
		if _, s := shim.DeviceRange(src, n); s != shim.OK {
			return reply(s)
		}
		out := downloadBuffer(1 + n)
		out[0] = byte(shim.OK)
		if n > 0 {
			if s := shim.S().Backend.Copy(uintptr(unsafe.Pointer(&out[1])), src, n, shim.DeviceToHost); s != shim.OK {
				return reply(s)
			}
		}
		return out
	case remote.OpIsDevice:
		if len(p) != 8 {
			return []byte{0}
		}
		if shim.IsDevice(uintptr(u(0))) {
			return []byte{1}
		}
		return []byte{0}
	case remote.OpCopyD2D:
		if len(p) != 24 {
			return reply(shim.ErrInvalidValue)
		}
		dst, src, n := uintptr(u(0)), uintptr(u(1)), u(2)
		s := shim.DefaultStream(shim.S().Device(0))
		return reply(shim.Memcpy(s, dst, src, n, shim.DeviceToDevice))
	case remote.OpPut2D: // packed rows, written at the destination's pitch in stream order
		// width * rows must be the payload's size, checked by division: a product can wrap.
		if len(p) <= 40 || u(2) == 0 || uint64(len(p)-40)%u(2) != 0 || uint64(len(p)-40)/u(2) != u(3) {
			return reply(shim.ErrInvalidValue)
		}
		stats.bytesIn.Add(uint64(len(p) - 40))
		return onStream(u(4), func(s *shim.Stream) shim.Status {
			return shim.Memcpy2D(s, uintptr(u(0)), u(1), uintptr(unsafe.Pointer(&p[40])), u(2), u(2), u(3), shim.HostToDevice)
		})
	case remote.OpGet2D:
		if len(p) != 32 || u(2) == 0 || u(3) == 0 || u(2) > remote.Chunk || u(3) > remote.Chunk || u(2)*u(3) > remote.Chunk {
			return reply(shim.ErrInvalidValue)
		}
		out := make([]byte, 1+u(2)*u(3))
		stats.bytesOut.Add(uint64(len(out) - 1))
		s := shim.DefaultStream(shim.S().Device(0))
		if st := shim.Memcpy2D(s, uintptr(unsafe.Pointer(&out[1])), u(2), uintptr(u(0)), u(1), u(2), u(3), shim.DeviceToHost); st != shim.OK {
			return reply(st)
		}
		return out
	case remote.OpCopy2D:
		if len(p) != 56 {
			return reply(shim.ErrInvalidValue)
		}
		return onStream(u(6), func(s *shim.Stream) shim.Status {
			return shim.Memcpy2D(s, uintptr(u(0)), u(1), uintptr(u(2)), u(3), u(4), u(5), shim.DeviceToDevice)
		})
	case remote.OpCopyD2DAsync:
		if len(p) != 32 {
			return reply(shim.ErrInvalidValue)
		}
		return onStream(u(3), func(s *shim.Stream) shim.Status {
			return shim.Memcpy(s, uintptr(u(0)), uintptr(u(1)), u(2), shim.DeviceToDevice)
		})
	}
	return reply(shim.ErrNotSupported)
}

// downloads recycles the buffers of device-to-host copies: a program reading its logits
// every token would otherwise allocate them anew each time.
var downloads sync.Pool

func downloadBuffer(n uint64) []byte {
	if b, ok := downloads.Get().(*[]byte); ok && uint64(cap(*b)) >= n {
		return (*b)[:n]
	}
	return make([]byte, n)
}

// onStream runs a copy on the client's stream h, so that a capture records it.
func onStream(h uint64, run func(*shim.Stream) shim.Status) []byte {
	s, st := shim.ResolveStream(uintptr(h), shim.S().Device(0))
	if st != shim.OK {
		return reply(st)
	}
	return reply(run(s))
}

// ptr is the address of a request buffer, or NULL for an absent one.
func ptr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

// scalarArg is a cuBLAS alpha or beta: the address of the value the client carried (host
// pointer mode), or the device address it passed.
func scalarArg(v wire.Value) uintptr {
	if len(v.B) > 0 {
		return uintptr(unsafe.Pointer(&v.B[0]))
	}
	return uintptr(v.U)
}

// cstr is a NUL-terminated copy of a string argument, or NULL.
func cstr(b []byte) unsafe.Pointer {
	if b == nil {
		return nil
	}
	return ptr(append(append([]byte(nil), b...), 0))
}
