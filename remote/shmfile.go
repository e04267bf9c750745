package remote

import (
	"crypto/rand"
	"encoding/binary"
	"os"

	"golang.org/x/sys/unix"

	"vgpu/shim"
	"vgpu/wire"
)

// The shared-file window, for a client that cannot pass a descriptor: a VM guest whose
// region is an ivshmem-plain BAR (its sysfs resource file), backed on the host by a file the
// server's operator declared under a name (`vgpu serve --shm-file NAME=PATH`).
// VGPU_SHM_FILE is the path this side maps, VGPU_SHM_NAME the name the server knows it by;
// the control connection is any (TCP, vsock). The client proves it maps that very file: it
// writes a fresh random nonce into the region's header and sends it with the request; the
// server reads it through its own mapping, accepts only on a match and wipes it. A refusal
// leaves the client on the socket path, as any failed window setup does.
const maxShmFile = 4 << 30 // a larger region is used up to this

// attachShmFile maps path and asks the server to attach the file it knows as name; mu is held.
func attachShmFile(path, name string) {
	fail := func(msg string, kv ...any) {
		shim.Log().Warnw("shared file not used; bulk copies use the socket: "+msg, append([]any{"file", path, "name", name}, kv...)...)
	}
	if name == "" || len(name) > MaxShmFileName {
		fail("VGPU_SHM_NAME must name the file as the server declares it (1 to 64 bytes)")
		return
	}
	// A PCI resource file reports its BAR's size; a host file its own.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		fail("cannot open", "err", err)
		return
	}
	defer f.Close() // the mapping outlives the descriptor
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		fail("not a regular file")
		return
	}
	size := min(fi.Size(), maxShmFile) &^ 4095
	if size < 4<<20 {
		fail("smaller than 4 MiB", "size", fi.Size())
		return
	}
	// The rings, where the control connection can ring their doorbell (a plain socket), lie
	// at the file's end; before them the heap of pinned memory (fileheap.go), then the window.
	window, rings := size, 0
	if _, plain := conn.(*wire.FDConn); plain {
		if n := ringSize(); n > 0 && size-int64(wire.RingRegionSize(n)) >= 4<<20 {
			rings = wire.RingRegionSize(n)
			window = size - int64(rings)
		}
	}
	pinned := heapShare(window)
	window -= pinned
	b, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		fail("cannot map", "err", err)
		return
	}
	nonce := make([]byte, ShmNonceLen)
	if _, err := rand.Read(nonce); err != nil {
		unix.Munmap(b)
		fail("no randomness", "err", err)
		return
	}
	binary.LittleEndian.PutUint64(b, 0) // the consumed counter: a previous client's is stale
	copy(b[ShmNonceOffset:], nonce)
	req := append(append(u64s(uint64(window)), nonce...), name...)
	var resp []byte
	if err = requestLocked(OpShmFileAttach, req); err == nil {
		resp, err = readResponseLocked()
	}
	if err != nil || status(resp) != shim.OK {
		clear(b[ShmNonceOffset : ShmNonceOffset+ShmNonceLen])
		unix.Munmap(b)
		fail("the server refused it (its log says why)")
		return
	}
	half := (int(window) - shmHeader) / 2
	shm.base, shm.ring, shm.download = b[:window], b[shmHeader:shmHeader+half], b[shmHeader+half:window]
	shm.produced = 0
	shm.on = true
	shim.Log().Infow("shared file attached: bulk copies go through it", "file", path, "name", name, "bytes", window)
	if pinned > 0 {
		pinnedHeap = newFileHeap(b[window:window+pinned], uint64(window))
	}
	if rings > 0 {
		attachFileRingsLocked(b[window+pinned:window+pinned+int64(rings)], uint64(window+pinned))
	}
}

// attachFileRingsLocked moves the connection onto the rings at offset in the shared file;
// a server that takes none leaves it on the socket. mu is held.
func attachFileRingsLocked(region []byte, offset uint64) {
	fc := conn.(*wire.FDConn)
	clear(region[:wire.RingHeader]) // positions and flags start at zero: a previous client's are stale
	var resp []byte
	err := requestLocked(OpRingAttach, u64s(uint64(len(region)), offset))
	if err == nil {
		if resp, err = readResponseLocked(); err != nil {
			lostLocked(err)
		}
	}
	if err != nil || status(resp) != shim.OK {
		shim.Log().Infow("the server takes no rings in the shared file; frames use the socket")
		return
	}
	rc, err := wire.NewRingConn(fc, region, false, wire.SpinWait())
	if err != nil {
		return
	}
	conn = rc
	shim.Log().Infow("shared file: frames go through rings in it", "bytes", len(region))
}
