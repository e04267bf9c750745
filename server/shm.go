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

// attach maps the window the client names.
func (w *shmWindow) attach(c wire.Conn, p []byte) []byte {
	if len(p) != 24 || w.b != nil {
		return reply(shim.ErrInvalidValue)
	}
	fd, size := binary.LittleEndian.Uint64(p[8:]), binary.LittleEndian.Uint64(p[16:]) // p[0:8]: the pid the client sees itself as
	if size < 4<<20 || size > 4<<30 {
		return reply(shim.ErrInvalidValue)
	}
	b, st := mapPeerFD(c, fd, size)
	if st != shim.OK {
		return reply(st)
	}
	half := (len(b) - shmHeader) / 2
	w.b, w.ring, w.download = b, b[shmHeader:shmHeader+half], b[shmHeader+half:]
	w.pinned = pin(b)
	return reply(shim.OK)
}

// mapPeerFD maps a memfd the client names, in the client's own fd table: the process is the
// socket's peer as the kernel reports it (in this server's pid namespace, so a client in a
// container works too), never one the request names.
func mapPeerFD(c wire.Conn, fd, size uint64) ([]byte, shim.Status) {
	fc, ok := c.(*wire.FDConn) // a unix socket; a TLS session has no peer on this host
	if !ok {
		return nil, shim.ErrNotSupported
	}
	pid, err := fc.PeerPID()
	if err != nil || pid <= 0 {
		return nil, shim.ErrInvalidValue
	}
	f, err := os.OpenFile(fmt.Sprintf("/proc/%d/fd/%d", pid, fd), os.O_RDWR, 0)
	if err != nil {
		shim.Log().Infow("a client's shared memory cannot be opened; it uses the socket", "err", err)
		return nil, shim.ErrNotSupported
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || uint64(st.Size()) < size {
		return nil, shim.ErrInvalidValue
	}
	b, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, shim.ErrNotSupported
	}
	return b, shim.OK
}

// pin registers b with the backend's driver where it can, so copies run at DMA speed.
func pin(b []byte) bool {
	r, ok := shim.S().Backend.(shim.HostRegistrar)
	return ok && r.RegisterHost(uintptr(unsafe.Pointer(&b[0])), uint64(len(b))) == shim.OK
}

// unmap undoes mapPeerFD and pin.
func unmap(b []byte, pinned bool) {
	if r, ok := shim.S().Backend.(shim.HostRegistrar); ok && pinned {
		r.UnregisterHost(uintptr(unsafe.Pointer(&b[0])))
	}
	unix.Munmap(b)
}

func (w *shmWindow) detach() {
	if w.b == nil {
		return
	}
	unmap(w.b, w.pinned)
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

// sharedPerClient bounds the host memory one client may have this server map and pin.
var sharedPerClient uint64 = 32 << 30

// hostShares are a client's pinned allocations it shares with this server (remote/pinned.go),
// by the client's address for them.
type hostShares map[uint64]*struct {
	b      []byte
	pinned bool
}

func (s hostShares) share(c wire.Conn, p []byte) []byte {
	if len(p) != 24 {
		return reply(shim.ErrInvalidValue)
	}
	u := func(i int) uint64 { return binary.LittleEndian.Uint64(p[8*i:]) }
	addr, fd, size := u(0), u(1), u(2)
	if addr == 0 || size == 0 || size%4096 != 0 || size > remote.MaxShared || s[addr] != nil {
		return reply(shim.ErrInvalidValue)
	}
	held := size
	for _, m := range s {
		held += uint64(len(m.b))
	}
	if held > sharedPerClient { // the client keeps this allocation in its own memory instead
		return reply(shim.ErrOutOfMemory)
	}
	b, st := mapPeerFD(c, fd, size)
	if st != shim.OK {
		return reply(st)
	}
	s[addr] = &struct {
		b      []byte
		pinned bool
	}{b, pin(b)}
	return reply(shim.OK)
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
	if len(p) != 24 {
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
	if op == remote.OpGetHost {
		dst, src, kind = local, dev, shim.DeviceToHost
		stats.bytesOut.Add(n)
	} else {
		stats.bytesIn.Add(n)
	}
	b := shim.S().Backend
	if ac, ok := b.(shim.AsyncCopier); ok && posted {
		return reply(ac.CopyAsync(dst, src, n, kind))
	}
	return reply(b.Copy(dst, src, n, kind))
}
