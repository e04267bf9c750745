package remote

import (
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"vgpu/shim"
	"vgpu/wire"
)

// The shared-memory data path. A client on the server's own host (a unix socket) shares a
// memfd with the server: uploads are copied into a ring in it and the server copies them to
// the device from there; downloads land in it. Bulk bytes then cross no socket, and with a
// local backend the server registers the memory with the driver, so copies run at DMA speed.
// Anything that fails at setup leaves the client on the socket path.
const (
	shmHeader  = 4096     // the first page: the server's consumed counter at offset 0
	shmMinCopy = 64 << 10 // smaller copies go inline in the frame, which is cheaper
)

var shm struct {
	network  string // the connection's: only a unix socket's peer shares this host
	tried    bool   // attach was attempted (at the first bulk copy: most processes never make one)
	on       bool
	base     []byte // the whole mapping
	ring     []byte // the upload ring
	download []byte // the download area
	produced uint64 // bytes ever reserved in the ring (guarded by mu)
}

// shmSize is VGPU_SHM_MB (default 128; 0 turns the path off).
func shmSize() int {
	mb := 128
	if v, err := strconv.Atoi(os.Getenv("VGPU_SHM_MB")); err == nil {
		mb = v
	}
	return mb << 20
}

// useShm reports whether bulk copies go through the window, setting it up at the first:
// a process that never copies much (Ollama's discovery runners) pins nothing on the server.
func useShm() bool {
	mu.Lock()
	defer mu.Unlock()
	if !shm.tried && dead == nil && conn != nil {
		shm.tried = true
		attachShm()
	}
	return shm.on
}

// attachShm sets the window up; mu is held.
func attachShm() {
	if path := os.Getenv("VGPU_SHM_FILE"); path != "" {
		attachShmFile(path, os.Getenv("VGPU_SHM_NAME"))
		return
	}
	size := shmSize()
	if shm.network != "unix" || size < 4<<20 {
		return
	}
	fd, b, err := sharedMemfd("vgpu-shm", size)
	if err != nil {
		return
	}
	err = requestFDLocked(OpShmAttach, fd, u64s(uint64(size)))
	unix.Close(fd) // the server holds its own reference now, or gave up
	var resp []byte
	if err == nil {
		resp, err = readResponseLocked()
	}
	if err != nil || status(resp) != shim.OK {
		unix.Munmap(b)
		shim.Log().Infow("shared-memory data path not available; bulk copies use the socket")
		return
	}
	half := (size - shmHeader) / 2
	shm.base, shm.ring, shm.download = b, b[shmHeader:shmHeader+half], b[shmHeader+half:]
	shm.on = true
}

// sharedMemfd makes size bytes of memory to share with the server, mapped here: a memfd
// sealed so that its size never changes (the server refuses any other: a file shrunk under
// its mapping would fault there), passed with SCM_RIGHTS, so the server opens nothing.
func sharedMemfd(name string, size int) (int, []byte, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return -1, nil, err
	}
	if err = unix.Ftruncate(fd, int64(size)); err == nil {
		_, err = unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_SEAL)
	}
	var b []byte
	if err == nil {
		b, err = unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	}
	if err != nil {
		unix.Close(fd)
		return -1, nil, err
	}
	return fd, b, nil
}

// requestFDLocked sends request seq passing fd with its frame, after the frames queued
// before it; mu is held. A failed write loses the connection, as any request's does.
func requestFDLocked(op uint32, fd int, payload []byte) error {
	fc, ok := conn.(interface{ SendFD([]byte, int) error }) // a socket, or the rings beside one
	if !ok {
		return fmt.Errorf("descriptors travel on unix sockets only")
	}
	if dead != nil {
		return dead
	}
	if err := flushLocked(); err != nil {
		return lostLocked(err)
	}
	seq++
	countWireLocked(op, false)
	frame, err := wire.AppendFrame(nil, wire.Header{Kind: wire.KindRequest, Op: op, Seq: seq}, payload)
	if err == nil {
		err = fc.SendFD(frame, fd)
	}
	if err != nil {
		return lostLocked(err)
	}
	return nil
}

// consumed is how far the server has copied out of the ring.
func consumed() uint64 { return atomic.LoadUint64((*uint64)(unsafe.Pointer(&shm.base[0]))) }

// reserveLocked finds n contiguous ring bytes free of anything the server has yet to copy,
// and returns their offset and the ring position after them. mu is held; queued posts are
// flushed first, since the server can only free what it has been sent.
func reserveLocked(n uint64) (off, end uint64, err error) {
	size := uint64(len(shm.ring))
	start := shm.produced
	if start%size+n > size { // no room before the end: skip to the ring's start
		start += size - start%size
	}
	end = start + n
	if err := flushLocked(); err != nil {
		return 0, 0, err
	}
	last, since := consumed(), time.Now()
	for end-consumed() > size {
		if c := consumed(); c != last {
			last, since = c, time.Now()
		} else if time.Since(since) > CallTimeout && !conn.PeerSpoke() {
			return 0, 0, errStalled
		}
		time.Sleep(20 * time.Microsecond)
	}
	shm.produced = end
	return start % size, end, nil
}

// putShm uploads through the ring; large copies go in chunks of a quarter ring. Each
// chunk's frame is queued under the same lock as its reservation, so the server frees ring
// space in the order it was handed out.
func putShm(dst, src uintptr, n uint64, async bool) shim.Status {
	chunk := uint64(len(shm.ring) / 4)
	for off := uint64(0); off < n; off += chunk {
		m := min(chunk, n-off)
		if st := putShmChunk(dst+uintptr(off), src+uintptr(off), m, async); st != shim.OK {
			return st
		}
	}
	return shim.OK
}

func putShmChunk(dst, src uintptr, m uint64, async bool) shim.Status {
	mu.Lock()
	defer mu.Unlock()
	if dead != nil {
		return shim.ErrNotSupported
	}
	at, end, err := reserveLocked(m)
	if err != nil {
		lostLocked(err)
		return shim.ErrNotSupported
	}
	copy(shm.ring[at:at+m], shim.View(unsafe.Pointer(src), int(m)))
	req := u64s(uint64(dst), at, m, end)
	if async {
		if err := postLocked(anyStream, OpPutShm, req); err != nil {
			lostLocked(err)
			return shim.ErrNotSupported
		}
		return shim.OK
	}
	if requestLocked(OpPutShm, req) != nil {
		return shim.ErrNotSupported
	}
	resp, err := readResponseLocked()
	if err != nil {
		lostLocked(err)
		return shim.ErrNotSupported
	}
	return status(resp)
}

// getShm downloads through the download area (one request at a time holds it: mu).
func getShm(dst, src uintptr, n uint64, stream uintptr) shim.Status {
	area := uint64(len(shm.download))
	for off := uint64(0); off < n; off += area {
		m := min(area, n-off)
		st, err := roundTripShm(drainOf(stream), OpGetShm, withStream(u64s(uint64(src)+off, 0, m), stream), func() {
			copy(shim.View(unsafe.Pointer(dst+uintptr(off)), int(m)), shm.download[:m])
		})
		if err != nil {
			return shim.ErrNotSupported
		}
		if st != shim.OK {
			return st
		}
	}
	return shim.OK
}
