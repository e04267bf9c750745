package remote

import (
	"cmp"
	"os"
	"slices"
	"strconv"
	"sync"
	"unsafe"

	"vgpu/shim"
)

// Pinned memory from the shared file. A client that cannot pass a descriptor (a VM guest)
// cannot share a memfd for cudaMallocHost, so its pinned memory would be private and every
// download into it would stop in the window and be copied out. Instead, part of its shared
// file between the window and the rings is a heap: a pinned allocation is carved from it and
// the server maps the same pages of the file (OpHostShareFile), so a download into it is the
// server's DMA into the client's pages, posted like a launch, as on the server's own host.
// When the heap has no room the allocation stays private, as before.

// fileHeap hands out page-aligned ranges of the heap, first fit.
type fileHeap struct {
	mu   sync.Mutex
	base uintptr // this process's address of the heap's first byte
	off  uint64  // the heap's offset in the file
	free []span  // sorted by start, adjacent ones merged
	used map[uintptr]uint64
}

// span is a range of the heap, by offset from its start.
type span struct{ at, n uint64 }

var pinnedHeap *fileHeap // set when the shared file is attached, under mu

// heapOfFile is the shared file's heap, nil while none is attached.
func heapOfFile() *fileHeap {
	mu.Lock()
	defer mu.Unlock()
	return pinnedHeap
}

// heapShare is the part of a shared file of size bytes (after the rings) given to the heap:
// VGPU_SHM_FILE_PINNED_MB, by default a quarter, as long as the window keeps 4 MiB.
func heapShare(size int64) int64 {
	n := size / 4
	if v, err := strconv.Atoi(os.Getenv("VGPU_SHM_FILE_PINNED_MB")); err == nil && v >= 0 {
		n = int64(v) << 20
	}
	n &^= 4095
	if n < 1<<20 || size-n < 4<<20 {
		return 0
	}
	return n
}

func newFileHeap(region []byte, off uint64) *fileHeap {
	return &fileHeap{base: uintptr(unsafe.Pointer(&region[0])), off: off,
		free: []span{{0, uint64(len(region))}}, used: map[uintptr]uint64{}}
}

// take reserves n bytes as whole pages: their address here, their offset in the file and
// the size reserved.
func (h *fileHeap) take(n uint64) (p uintptr, fileOff, size uint64, ok bool) {
	n = (n + 4095) &^ 4095
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, s := range h.free {
		if s.n < n {
			continue
		}
		if s.n == n {
			h.free = slices.Delete(h.free, i, i+1)
		} else {
			h.free[i] = span{s.at + n, s.n - n}
		}
		p = h.base + uintptr(s.at)
		h.used[p] = n
		return p, h.off + s.at, n, true
	}
	return 0, 0, 0, false
}

// give returns what take reserved at p; false if p is not the heap's.
func (h *fileHeap) give(p uintptr) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	n, ok := h.used[p]
	if !ok {
		return false
	}
	delete(h.used, p)
	at := uint64(p - h.base)
	i, _ := slices.BinarySearchFunc(h.free, at, func(s span, at uint64) int { return cmp.Compare(s.at, at) })
	h.free = slices.Insert(h.free, i, span{at, n})
	if i+1 < len(h.free) && h.free[i].at+h.free[i].n == h.free[i+1].at { // merge with the next
		h.free[i].n += h.free[i+1].n
		h.free = slices.Delete(h.free, i+1, i+2)
	}
	if i > 0 && h.free[i-1].at+h.free[i-1].n == h.free[i].at { // and with the one before
		h.free[i-1].n += h.free[i].n
		h.free = slices.Delete(h.free, i, i+1)
	}
	return true
}

// allocFromFile carves size bytes from the shared file's heap and has the server map them:
// the address here and the device address the server's driver gave (0: none).
func allocFromFile(h *fileHeap, size uint64) (p, dev uintptr, ok bool) {
	p, off, n, ok := h.take(size)
	if !ok {
		return 0, 0, false
	}
	resp, err := roundTrip(OpHostShareFile, u64s(uint64(p), n, off))
	if err != nil || status(resp) != shim.OK {
		h.give(p)
		return 0, 0, false
	}
	return p, sharedAt(p, n, resp), true
}
