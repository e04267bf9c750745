package server

import (
	"encoding/binary"
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"vgpu/remote"
	"vgpu/shim"
	"vgpu/wire"
)

// shmWindow is a client's shared memory (remote/shm.go): an upload ring and a download area.
type shmWindow struct {
	b              []byte
	ring, download []byte
	pinned         bool
}

const shmHeader = 4096

// attach maps the memfd the client names, in the client's own fd table: the process is the
// socket's peer as the kernel reports it (in this server's pid namespace, so a client in a
// container works too), never one the request names.
func (w *shmWindow) attach(c *wire.FDConn, p []byte) []byte {
	if len(p) != 24 || w.b != nil {
		return reply(shim.ErrInvalidValue)
	}
	fd, size := binary.LittleEndian.Uint64(p[8:]), binary.LittleEndian.Uint64(p[16:]) // p[0:8]: the pid the client sees itself as
	pid, err := c.PeerPID()
	if err != nil || pid <= 0 || size < 4<<20 || size > 4<<30 {
		return reply(shim.ErrInvalidValue)
	}
	f, err := os.OpenFile(fmt.Sprintf("/proc/%d/fd/%d", pid, fd), os.O_RDWR, 0)
	if err != nil {
		shim.Log().Infow("a client's shared memory cannot be opened; it uses the socket", "err", err)
		return reply(shim.ErrNotSupported)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || uint64(st.Size()) < size {
		return reply(shim.ErrInvalidValue)
	}
	b, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return reply(shim.ErrNotSupported)
	}
	half := (len(b) - shmHeader) / 2
	w.b, w.ring, w.download = b, b[shmHeader:shmHeader+half], b[shmHeader+half:]
	if r, ok := shim.S().Backend.(shim.HostRegistrar); ok {
		w.pinned = r.RegisterHost(uintptr(unsafe.Pointer(&b[0])), uint64(len(b))) == shim.OK
	}
	return reply(shim.OK)
}

func (w *shmWindow) detach() {
	if w.b == nil {
		return
	}
	if r, ok := shim.S().Backend.(shim.HostRegistrar); ok && w.pinned {
		r.UnregisterHost(uintptr(unsafe.Pointer(&w.b[0])))
	}
	unix.Munmap(w.b)
	w.b = nil
}

// op runs one shared-memory copy.
func (w *shmWindow) op(op uint32, p []byte) []byte {
	if w.b == nil || len(p) < 24 {
		return reply(shim.ErrInvalidValue)
	}
	u := func(i int) uint64 { return binary.LittleEndian.Uint64(p[8*i:]) }
	addr, off, n := uintptr(u(0)), u(1), u(2)
	switch op {
	case remote.OpPutShm:
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
	case remote.OpGetShm:
		if len(p) != 24 || n == 0 || off > uint64(len(w.download)) || n > uint64(len(w.download))-off {
			return reply(shim.ErrInvalidValue)
		}
		if _, s := shim.DeviceRange(addr, n); s != shim.OK {
			return reply(s)
		}
		stats.bytesOut.Add(n)
		return reply(shim.S().Backend.Copy(uintptr(unsafe.Pointer(&w.download[off])), addr, n, shim.DeviceToHost))
	}
	return reply(shim.ErrNotSupported)
}
