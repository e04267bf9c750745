package server

import (
	"encoding/binary"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"vgpu/shim"
	"vgpu/wire"
)

// shmWindow is a client's shared memory (remote/shm.go): an upload ring and a download area.
type shmWindow struct {
	b              []byte
	ring, download []byte
	pinned         bool
	file           bool // a shared file (shmfile.go): fd is open, locked, while attached
	fd             int
}

const shmHeader = 4096

// attach maps the window the client passed with the request.
func (w *shmWindow) attach(c wire.Conn, p []byte) []byte {
	fd, st := receivedFD(c) // taken whatever the request says, so the next request's stays next
	if st != shim.OK {
		return reply(st)
	}
	defer unix.Close(fd)
	if len(p) != 8 || w.b != nil {
		return reply(shim.ErrInvalidValue)
	}
	size := binary.LittleEndian.Uint64(p)
	if size < 4<<20 || size > 4<<30 {
		return reply(shim.ErrInvalidValue)
	}
	b, st := mapMemfd(fd, size)
	if st != shim.OK {
		return reply(st)
	}
	half := (len(b) - shmHeader) / 2
	w.b, w.ring, w.download = b, b[shmHeader:shmHeader+half], b[shmHeader+half:]
	w.pinned = pin(b)
	return reply(shim.OK)
}

// receivedFD is the descriptor the client passed (SCM_RIGHTS) with the request being
// served: only a unix socket carries one (a TLS session's peer is on another host).
func receivedFD(c wire.Conn) (int, shim.Status) {
	fc, ok := c.(interface{ TakeFD() (int, bool) }) // a socket, or the rings beside one
	if !ok {
		return -1, shim.ErrNotSupported
	}
	fd, ok := fc.TakeFD()
	if !ok {
		return -1, shim.ErrInvalidValue
	}
	return fd, shim.OK
}

// Seals a client's shared memory must carry: its size is fixed, so the client cannot
// truncate the file under this server's mapping (a later access would raise SIGBUS here).
const (
	sealsRequired = unix.F_SEAL_SHRINK | unix.F_SEAL_GROW
	sealsRefused  = unix.F_SEAL_WRITE | unix.F_SEAL_FUTURE_WRITE // this server writes into it
)

// mapMemfd maps the memory a client passed, read-write, after checking it is what shared
// memory must be. The descriptor is the client's own open file, so nothing is opened with
// this server's privileges; and only a memfd is taken, since mapping a file would let a
// client have the server write, or read back, a file through it:
//   - F_GET_SEALS succeeds only on memory-backed files (shmem, hugetlbfs): a regular file,
//     a socket, a pipe, an O_PATH descriptor fail here, before anything else is asked of
//     them (a file on FUSE would otherwise have its daemon answer fstat).
//   - shmem, not hugetlbfs: a huge-page file faults with SIGBUS when the pool runs dry.
//   - tmpfs files other than memfds are born sealed with F_SEAL_SEAL and can never be sealed
//     against shrinking: required seals make it a memfd.
//   - opened read-write by the client, of exactly the size the request says.
func mapMemfd(fd int, size uint64) ([]byte, shim.Status) { return mapMemfdAt(fd, size, 0) }

// mapMemfdAt is mapMemfd, at address at where that is free here (a client's pinned memory
// at the client's own address, so that a kernel finds it at the address the program has),
// else anywhere. An address in use is never taken (MAP_FIXED_NOREPLACE).
func mapMemfdAt(fd int, size uint64, at uintptr) ([]byte, shim.Status) {
	seals, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
	if err != nil || seals&sealsRequired != sealsRequired || seals&sealsRefused != 0 {
		return nil, shim.ErrInvalidValue
	}
	var fs unix.Statfs_t
	if unix.Fstatfs(fd, &fs) != nil || fs.Type != unix.TMPFS_MAGIC {
		return nil, shim.ErrInvalidValue
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size < 0 || uint64(st.Size) != size {
		return nil, shim.ErrInvalidValue
	}
	if fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); err != nil || fl&unix.O_ACCMODE != unix.O_RDWR {
		return nil, shim.ErrInvalidValue
	}
	return mapAt(fd, 0, size, at)
}

// mapAt maps size bytes of fd from offset off read-write and shared, at address at where that
// is free here and well below the stack, else anywhere. An address in use is never taken
// (MAP_FIXED_NOREPLACE).
func mapAt(fd int, off, size uint64, at uintptr) ([]byte, shim.Status) {
	if size > uint64(^uint(0)>>1) || off > 1<<62 {
		return nil, shim.ErrInvalidValue
	}
	const prot = unix.PROT_READ | unix.PROT_WRITE
	if at != 0 && at%4096 == 0 && belowStack(at, size) {
		p, err := unix.MmapPtr(fd, int64(off), unsafe.Pointer(at), uintptr(size), prot, unix.MAP_SHARED|unix.MAP_FIXED_NOREPLACE)
		if err == nil && uintptr(p) == at {
			return unsafe.Slice((*byte)(p), size), shim.OK
		}
		if err == nil { // a kernel before 4.17 takes the flag as a hint only
			unix.MunmapPtr(p, uintptr(size))
		}
	}
	b, err := unix.Mmap(fd, int64(off), int(size), prot, unix.MAP_SHARED)
	if err != nil {
		shim.Log().Infow("a client's shared memory cannot be mapped; it uses the socket", "err", err)
		return nil, shim.ErrNotSupported
	}
	return b, shim.OK
}

// stackLow is where this process's main stack mapping starts (0: unknown), read once.
var stackLow = sync.OnceValue(func() uintptr {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasSuffix(l, "[stack]") {
			lo, _, _ := strings.Cut(l, "-")
			v, _ := strconv.ParseUint(lo, 16, 64)
			return uintptr(v)
		}
	}
	return 0
})

// belowStack reports whether [at, at+size) lies well below the main stack, which grows down
// into free address space: a client's address is taken only where it cannot block that.
func belowStack(at uintptr, size uint64) bool {
	const room = 256 << 20
	low := stackLow()
	return low > room && uint64(at) < uint64(low-room) && size <= uint64(low-room)-uint64(at)
}

// pin registers b with the backend's driver where it can, so copies run at DMA speed.
func pin(b []byte) bool {
	r, ok := shim.S().Backend.(shim.HostRegistrar)
	return ok && r.RegisterHost(uintptr(unsafe.Pointer(&b[0])), uint64(len(b))) == shim.OK
}

// mapForKernels registers b device-mapped where the backend's driver can (the device address
// it gives, 0 for none), else pins it as pin does.
func mapForKernels(b []byte) (dev uintptr, pinned bool) {
	if m, ok := shim.S().Backend.(shim.HostMapper); ok {
		if d, st := m.MapHost(uintptr(unsafe.Pointer(&b[0])), uint64(len(b))); st == shim.OK {
			return d, true
		}
	}
	return 0, pin(b)
}

// unmap undoes mapMemfd and pin.
func unmap(b []byte, pinned bool) {
	if r, ok := shim.S().Backend.(shim.HostRegistrar); ok && pinned {
		r.UnregisterHost(uintptr(unsafe.Pointer(&b[0])))
	}
	if unix.Munmap(b) != nil { // mapped at the client's address (mapMemfdAt): not Mmap's
		unix.MunmapPtr(unsafe.Pointer(&b[0]), uintptr(len(b)))
	}
}

func (w *shmWindow) detach() {
	if w.b == nil {
		return
	}
	unmap(w.b, w.pinned)
	w.b = nil
	if w.file { // releases the file for its next client
		unix.Close(w.fd)
		w.file = false
	}
}

// op runs one shared-memory copy.
func (w *shmWindow) op(op uint32, p []byte) []byte {
	if w.b == nil || len(p) < 24 {
		return reply(shim.ErrInvalidValue)
	}
	u := func(i int) uint64 { return binary.LittleEndian.Uint64(p[8*i:]) }
	addr, off, n := uintptr(u(0)), u(1), u(2)
	switch op {
	case wire.OpPutShm:
		if len(p) != 32 {
			return reply(shim.ErrInvalidValue)
		}
		// The ring space is handed back whatever happens to the copy.
		defer atomic.StoreUint64((*uint64)(unsafe.Pointer(&w.b[0])), u(3))
		if n == 0 || off > uint64(len(w.ring)) || n > uint64(len(w.ring))-off {
			return reply(shim.ErrInvalidValue)
		}
		if _, s := shim.DeviceRange(addr, n); s != shim.OK {
			return reply(s)
		}
		stats.bytesIn.Add(n)
		return reply(shim.S().Backend.Copy(addr, uintptr(unsafe.Pointer(&w.ring[off])), n, shim.HostToDevice))
	case wire.OpGetShm: // as OpPutShm's first three, and for a program's own stream its handle
		if (len(p) != 24 && len(p) != 32) || n == 0 || off > uint64(len(w.download)) || n > uint64(len(w.download))-off {
			return reply(shim.ErrInvalidValue)
		}
		if _, s := shim.DeviceRange(addr, n); s != shim.OK {
			return reply(s)
		}
		stats.bytesOut.Add(n)
		return reply(inStreamOrder(p, 24, func() shim.Status {
			return shim.S().Backend.Copy(uintptr(unsafe.Pointer(&w.download[off])), addr, n, shim.DeviceToHost)
		}))
	}
	return reply(shim.ErrNotSupported)
}

// sharedPerClient bounds the host memory one client may have this server map and pin.
var sharedPerClient uint64 = 32 << 30

// maxHostShares bounds how many allocations one client may share: each is a mapping of this
// process's, of which it may have vm.max_map_count (65530 by default), and a server that
// serves every client from one process would otherwise have them all taken by one client's
// small allocations (its heap, its threads' stacks, every other session's memory unmappable).
var maxHostShares = 1024

// hostShares are a client's pinned allocations it shares with this server (remote/pinned.go),
// by the client's address for them.
type hostShares map[uint64]*struct {
	b      []byte
	pinned bool
}

// share maps a pinned allocation the client passed with the request (at the client's own
// address where that is free here) and registers it device-mapped where the backend can: the
// answer is the status, then on success the u64 device address a kernel uses (0 for none).
func (s hostShares) share(c wire.Conn, p []byte) []byte {
	fd, st := receivedFD(c) // taken whatever the request says, so the next request's stays next
	if st != shim.OK {
		return reply(st)
	}
	defer unix.Close(fd)
	if len(p) != 16 {
		return reply(shim.ErrInvalidValue)
	}
	u := func(i int) uint64 { return binary.LittleEndian.Uint64(p[8*i:]) }
	addr, size := u(0), u(1)
	if addr == 0 || size == 0 || size%4096 != 0 || size > wire.MaxShared || s[addr] != nil {
		return reply(shim.ErrInvalidValue)
	}
	if st := s.room(size); st != shim.OK { // the client keeps this allocation in its own memory instead
		return reply(st)
	}
	b, st := mapMemfdAt(fd, size, uintptr(addr))
	if st != shim.OK {
		return reply(st)
	}
	return s.add(addr, b)
}

// room says whether the client may share size more bytes in one more allocation.
func (s hostShares) room(size uint64) shim.Status {
	held := size
	for _, m := range s {
		held += uint64(len(m.b))
	}
	if held > sharedPerClient || len(s) >= maxHostShares {
		return shim.ErrOutOfMemory
	}
	return shim.OK
}

// add keeps b, mapped for the client's allocation at addr, registered device-mapped where the
// backend can: the answer is the status, then the u64 device address a kernel uses (0: none).
func (s hostShares) add(addr uint64, b []byte) []byte {
	dev, pinned := mapForKernels(b)
	s[addr] = &struct {
		b      []byte
		pinned bool
	}{b, pinned}
	return binary.LittleEndian.AppendUint64(reply(shim.OK), uint64(dev))
}

// shareFile maps part of the client's shared file as one of its pinned allocations
// (OpHostShareFile: u64 client address, u64 size, u64 offset in the file): a VM guest's
// cudaMallocHost, carved from its ivshmem region, which this server's DMA then reads and
// writes in place, so that its downloads cross neither the socket nor the window. The range
// must lie past the window, whose header this server writes, inside the file this session
// holds; the pages are the client's own, so nothing else is reachable through them.
func (s hostShares) shareFile(w *shmWindow, p []byte) []byte {
	if !w.file || len(p) != 24 {
		return reply(shim.ErrInvalidValue)
	}
	u := func(i int) uint64 { return binary.LittleEndian.Uint64(p[8*i:]) }
	addr, size, off := u(0), u(1), u(2)
	if addr == 0 || addr%4096 != 0 || size == 0 || size%4096 != 0 || size > wire.MaxShared || s[addr] != nil ||
		!w.pastWindow(off, size) {
		return reply(shim.ErrInvalidValue)
	}
	if st := s.room(size); st != shim.OK {
		return reply(st)
	}
	b, res := mapAt(w.fd, off, size, uintptr(addr))
	if res != shim.OK {
		return reply(res)
	}
	return s.add(addr, b)
}

// unshare drops one mapping once the GPU is done with it (cudaFreeHost synchronises too).
func (s hostShares) unshare(p []byte) []byte {
	if len(p) != 8 || s[binary.LittleEndian.Uint64(p)] == nil {
		return reply(shim.ErrInvalidValue)
	}
	shim.WaitBackend()
	s.drop(binary.LittleEndian.Uint64(p))
	return reply(shim.OK)
}

func (s hostShares) drop(addr uint64) {
	unmap(s[addr].b, s[addr].pinned)
	delete(s, addr)
}

// dropAll releases what a departed client shared, after the GPU's work that may use it.
func (s hostShares) dropAll() {
	if len(s) > 0 {
		shim.WaitBackend()
	}
	for addr := range s {
		s.drop(addr)
	}
}

// copy runs OpPutHost or OpGetHost: a posted one is left to run in stream order where the
// backend can, since the client reads or reuses the memory only after a synchronisation.
func (s hostShares) copy(op uint32, p []byte, posted bool) []byte {
	if len(p) != 24 && len(p) != 32 { // a download may name a program's own stream last (inStreamOrder)
		return reply(shim.ErrInvalidValue)
	}
	u := func(i int) uint64 { return binary.LittleEndian.Uint64(p[8*i:]) }
	dev, host, n := uintptr(u(0)), u(1), u(2)
	var local uintptr
	for addr, m := range s {
		if n > 0 && shim.InRange(uintptr(addr), uint64(len(m.b)), uintptr(host), n) {
			local = uintptr(unsafe.Pointer(&m.b[host-addr]))
		}
	}
	if local == 0 {
		return reply(shim.ErrInvalidValue)
	}
	if _, st := shim.DeviceRange(dev, n); st != shim.OK {
		return reply(st)
	}
	dst, src, kind := dev, local, int32(shim.HostToDevice)
	if op == wire.OpGetHost {
		dst, src, kind = local, dev, shim.DeviceToHost
		stats.bytesOut.Add(n)
	} else {
		stats.bytesIn.Add(n)
	}
	b := shim.S().Backend
	return reply(inStreamOrder(p, 24, func() shim.Status {
		if ac, ok := b.(shim.AsyncCopier); ok && posted {
			return ac.CopyAsync(dst, src, n, kind)
		}
		return b.Copy(dst, src, n, kind)
	}))
}

// downloadStage is a session's buffer for the downloads it answers over the socket, pinned
// with the backend's driver where it can be: the GPU's DMA then writes the bytes where the
// reply is written from. Into a pageable buffer the driver stages the copy itself (on the
// H200 at about a fifth of the pinned rate: some 40 µs of each 600 KB token's logits over
// TCP), and the session allocated each download anew. One reply is written before the next
// request is read, so one buffer serves them all; it grows to the largest download asked
// for, at most a frame's (wire.Chunk) and a page. (Uploads have stages of their own:
// uploadStage.)
type downloadStage struct {
	b      []byte
	pinned bool
}

const minStage = 1 << 20

func (s *downloadStage) buffer(n uint64) []byte {
	if uint64(len(s.b)) < n {
		s.release()
		size := uint64(minStage)
		for size < n && size < wire.Chunk {
			size *= 2
		}
		size = max(size, (n+4095)&^4095)
		b, err := unix.Mmap(-1, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err != nil {
			return make([]byte, n)
		}
		s.b, s.pinned = b, pin(b)
	}
	return s.b[:n]
}

// uploadStage is a session's stages for the uploads it reads from the socket (readFrame).
// On a backend that uploads from registered memory without waiting (shim.PinnedUploader),
// an upload from a stage returns before its DMA has run, which may wait behind the client's
// kernels in stream order: a stage is then not taken again until the driver says the DMA
// has read it. There are two, taken in turn, so that back-to-back uploads (a model's weights)
// read the next frame while the last one's DMA runs; when both are still being read, an
// upload gets a buffer of its own, as before. Separate from the download stage, which a
// download on another stream could overwrite while such a DMA reads it.
type uploadStage struct {
	stages  [2]downloadStage
	pending [2]uintptr // the mark after the last upload from each (shim.Marker), 0 for none
	next    int        // the stage to try first
}

// take is a free stage for an upload of n bytes, or a buffer of its own while both are
// still being read.
func (u *uploadStage) take(n uint64) []byte {
	for k := 0; k < len(u.stages); k++ {
		i := (u.next + k) % len(u.stages)
		if u.read(i) {
			u.next = i + 1
			return u.stages[i].buffer(n)
		}
	}
	return make([]byte, n)
}

// read reports whether stage i's last upload has been read by its DMA.
func (u *uploadStage) read(i int) bool {
	if u.pending[i] == 0 {
		return true
	}
	m, _ := shim.S().Backend.(shim.Marker)
	if m != nil && m.Reached(u.pending[i]) == shim.ErrNotReady {
		return false
	}
	if m != nil {
		m.Unmark(u.pending[i])
	}
	u.pending[i] = 0
	return true
}

// holding is the stage p lies in, or -1.
func (u *uploadStage) holding(p []byte) int {
	for i := range u.stages {
		if b := u.stages[i].b; len(p) > 0 && len(b) > 0 && &p[0] == &b[0] {
			return i
		}
	}
	return -1
}

// put answers an OpPut whose payload lies in stage i: uploaded without waiting where the
// backend can, else copied as bulk does.
func (u *uploadStage) put(i int, p []byte) []byte {
	pu, ok := shim.S().Backend.(shim.PinnedUploader)
	if _, marks := shim.S().Backend.(shim.Marker); !ok || !marks || !u.stages[i].pinned || len(p) <= 8 {
		return bulk(wire.OpPut, p)
	}
	dst, data, st := putRequest(p)
	if st != shim.OK {
		return reply(st)
	}
	mark, st := pu.UploadPinned(dst, uintptr(unsafe.Pointer(&data[0])), uint64(len(data)))
	u.pending[i] = mark
	return reply(st)
}

// release waits for the stages' last uploads to have been read, then releases them: a DMA
// still queued behind the client's kernels must not read the pages once they are unpinned
// and reused. (The wait is the session's own thread's, as cudaDeviceSynchronize would be.)
func (u *uploadStage) release() {
	for i := range u.stages {
		if !u.read(i) {
			shim.WaitBackend()
		}
		// The wait returns early when one of the client's contexts faulted, while a DMA on
		// another may still be queued: ask its mark again, a while.
		for deadline := time.Now().Add(10 * time.Second); !u.read(i) && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		if u.pending[i] != 0 {
			// Never read: the stage stays pinned and mapped (leaked) rather than be reused
			// under a DMA.
			shim.Log().Warnw("an upload stage is left mapped: its DMA never completed", "bytes", len(u.stages[i].b))
			continue
		}
		u.stages[i].release()
	}
}

// release unpins and unmaps the buffer, from the session's thread before its client's
// context goes.
func (s *downloadStage) release() {
	if s.b != nil {
		unmap(s.b, s.pinned)
		s.b = nil
	}
}

// attachRing maps the rings a client on this host passed (OpRingAttach) and returns the
// connection through them, which serves the client from its next request on, and the
// region, which the session unmaps when it ends. Once per connection, on its socket.
func attachRing(c wire.Conn, p []byte) (resp []byte, rc *wire.RingConn, region []byte) {
	fd, st := receivedFD(c) // taken whatever the request says, so the next request's stays next
	if st != shim.OK {
		return reply(st), nil, nil
	}
	defer unix.Close(fd)
	fc, ok := c.(*wire.FDConn)
	if !ok || len(p) != 8 || wire.RingSizeOf(binary.LittleEndian.Uint64(p)) == 0 {
		return reply(shim.ErrInvalidValue), nil, nil
	}
	b, st := mapMemfd(fd, binary.LittleEndian.Uint64(p))
	if st != shim.OK {
		return reply(st), nil, nil
	}
	rc, err := wire.NewRingConn(fc, b, true, wire.SpinWait())
	if err != nil {
		unix.Munmap(b)
		return reply(shim.ErrInvalidValue), nil, nil
	}
	return reply(shim.OK), rc, b
}
