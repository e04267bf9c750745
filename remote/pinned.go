package remote

import (
	"encoding/binary"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"vgpu/shim"
)

// Pinned host memory shared with the server. A client on the server's host (the shared-memory
// path is up) allocates cudaMallocHost and its kin in a memfd that the server maps too and,
// with a local backend, registers with the driver. Copies between the device and that memory
// then carry no bytes at all: the server's DMA reads and writes the client's pages, and an
// asynchronous download is a post like a launch, complete at the next synchronisation, as in
// CUDA. (ggml keeps its logits and its upload staging in such memory.) The operations are
// wire.OpHostShare and its kin.

var shared struct {
	sync.RWMutex
	regions map[uintptr]uint64 // client address -> size
}

type sharedHost struct{}

// Alloc maps size bytes the server shares; false leaves the allocation to private memory.
// dev is where the server's driver maps it for kernels.
func (sharedHost) Alloc(size uint64) (p, dev uintptr, ok bool) {
	if size == 0 || size > MaxShared || !useShm() {
		return 0, 0, false
	}
	if h := heapOfFile(); h != nil {
		if p, dev, ok = allocFromFile(h, size); ok {
			return p, dev, true
		}
	}
	if !onUnixSocket() { // a descriptor cannot travel
		return 0, 0, false
	}
	n := (size + 4095) &^ 4095
	fd, b, err := sharedMemfd("vgpu-pinned", int(n))
	if err != nil {
		return 0, 0, false
	}
	defer unix.Close(fd) // the server holds its own reference once it answers, or gave up
	base := uintptr(unsafe.Pointer(&b[0]))
	dev, ok = shareWithServer(fd, base, n)
	if !ok {
		unix.Munmap(b)
		return 0, 0, false
	}
	return base, dev, true
}

// shareWithServer passes the memfd mapped here at [base, base+n) to the server, which maps
// it (at base where that address is free in it, so that the device address is the host
// one, as in CUDA) and, with a GPU, registers it device-mapped: the answer carries the
// device address its driver gave (0: none).
func shareWithServer(fd int, base uintptr, n uint64) (uintptr, bool) {
	resp, err := roundTripFD(OpHostShare, fd, u64s(uint64(base), n))
	if err != nil || status(resp) != shim.OK {
		return 0, false
	}
	return sharedAt(base, n, resp), true
}

// sharedAt records [base, base+n) as shared with the server, whose answer to sharing it was
// resp: the device address its driver gave (0: none).
func sharedAt(base uintptr, n uint64, resp []byte) (dev uintptr) {
	if len(resp) == 9 {
		dev = uintptr(binary.LittleEndian.Uint64(resp[1:]))
	}
	shared.Lock()
	if shared.regions == nil {
		shared.regions = map[uintptr]uint64{}
	}
	shared.regions[base] = n
	shared.Unlock()
	return dev
}

// roundTripFD is roundTrip for a request that passes fd with its frame.
func roundTripFD(op uint32, fd int, payload []byte) ([]byte, error) {
	mu.Lock()
	defer mu.Unlock()
	if err := requestFDLocked(op, fd, payload); err != nil {
		return nil, err
	}
	resp, err := readResponseLocked()
	if err != nil {
		return nil, lostLocked(err)
	}
	return resp, nil
}

// Free drops a shared allocation, on the server after the work queued before it.
func (sharedHost) Free(p uintptr) bool {
	shared.Lock()
	n, ok := shared.regions[p]
	delete(shared.regions, p)
	shared.Unlock()
	if !ok {
		return false
	}
	roundTrip(OpHostUnshare, u64s(uint64(p))) // a lost server has dropped it already
	// The shared file's pages stay mapped, for the next allocation; a memfd's go.
	if h := heapOfFile(); h == nil || !h.give(p) {
		unix.Munmap(unsafe.Slice((*byte)(unsafe.Pointer(p)), n))
	}
	return true
}

// isShared reports whether [p, p+n) lies in one shared allocation.
func isShared(p uintptr, n uint64) bool {
	shared.RLock()
	defer shared.RUnlock()
	for base, size := range shared.regions {
		if shim.InRange(base, size, p, n) {
			return true
		}
	}
	return false
}

// hostCopy moves n bytes between the device and shared host memory: posted when async (a
// download is then complete at the next synchronisation), else waited for.
func hostCopy(op uint32, devAddr, host uintptr, n uint64, async bool) shim.Status {
	return send(op, u64s(uint64(devAddr), uint64(host), n), async)
}

// hostCopyOn is hostCopy in the order of a stream of the program's (withStream).
func hostCopyOn(op uint32, devAddr, host uintptr, n uint64, async bool, stream uintptr) shim.Status {
	return send(op, withStream(u64s(uint64(devAddr), uint64(host), n), stream), async)
}

// withStream appends a download's stream to its request when it is one of the program's own
// (a created or per-thread stream's server handle): the server then copies in that stream's
// order, after its work and not after every stream's. The legacy stream's requests stay as
// they were, and a download on it still waits for all of the client's work (KindDrained).
func withStream(req []byte, stream uintptr) []byte {
	if stream == 0 || stream == shim.StreamLegacy {
		return req
	}
	return binary.LittleEndian.AppendUint64(req, uint64(stream))
}
