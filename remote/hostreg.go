package remote

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"vgpu/shim"
)

// Registered host memory a kernel reaches (cudaHostRegister, cuMemHostRegister). On a real
// GPU the device addresses the program's own pages; here a kernel runs in the server, so the
// pages must be the server's too. Memory the program already has cannot be shared after the
// fact, but its pages can be replaced by shared ones holding the same bytes: the registered
// range (whole pages) is copied into a memfd that is then mapped over it, in place, and
// passed to the server as a pinned allocation is (pinned.go). The server maps it at the same
// address where that is free in it and registers it device-mapped with its driver, so the
// device address is the host one, as under unified addressing, and a kernel's writes are in
// the program's pages, coherently. Unregistering gives the range private pages again, with
// the bytes it holds. Only a client on the server's host (a unix socket) can do this; the
// range must be plain private anonymous memory (malloc, mmap): a file mapping, the main
// thread's stack or device I/O memory stay the client's alone, as does a range sharing a
// page with one already shared. Bytes another thread writes into the range while it is
// being replaced are lost: registering memory is no time for that, in CUDA either.

// registering serialises Register and Unregister: two ranges on one page are never both replaced.
var registering sync.Mutex

// Register replaces [p, p+size)'s pages with ones the server shares (see above); dev is the
// device address of p, 0 where the server's driver did not say.
func (sharedHost) Register(p uintptr, size uint64, flags uint32) (uintptr, bool) {
	const ioMemory = 0x4 // CU_MEMHOSTREGISTER_IOMEMORY: a device's registers, never copied
	start, n, ok := pageRange(p, size)
	if !ok || flags&ioMemory != 0 || !useShm() || !onUnixSocket() {
		return 0, false
	}
	registering.Lock() // the overlap check holds until the range is in shared.regions
	defer registering.Unlock()
	shared.RLock()
	for base, sz := range shared.regions {
		if start < base+uintptr(sz) && base < start+uintptr(n) {
			ok = false
		}
	}
	shared.RUnlock()
	if !ok || !plainAnonymous(start, start+uintptr(n)) {
		return 0, false
	}
	fd, err := unix.MemfdCreate("vgpu-registered", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return 0, false
	}
	defer unix.Close(fd) // the mappings hold the memory
	if unix.Ftruncate(fd, int64(n)) != nil {
		return 0, false
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_SEAL); err != nil {
		return 0, false
	}
	if w, err := unix.Pwrite(fd, shim.View(unsafe.Pointer(start), int(n)), 0); err != nil || w != int(n) {
		return 0, false
	}
	if _, err := unix.MmapPtr(fd, 0, unsafe.Pointer(start), uintptr(n), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_FIXED); err != nil {
		return 0, false
	}
	dev, ok := shareWithServer(fd, start, n)
	if !ok {
		makePrivate(start, n)
		return 0, false
	}
	if dev != 0 {
		dev += p - start
	}
	return dev, true
}

// Unregister drops the server's mapping of a registered range, after the work queued before
// it, and gives the range private pages with the bytes it holds.
func (sharedHost) Unregister(p uintptr, size uint64) {
	start, n, ok := pageRange(p, size)
	if !ok {
		return
	}
	registering.Lock()
	defer registering.Unlock()
	shared.Lock()
	held := shared.regions[start] == n
	if held {
		delete(shared.regions, start)
	}
	shared.Unlock()
	if !held {
		return
	}
	roundTrip(OpHostUnshare, u64s(uint64(start))) // a lost server has dropped it already
	makePrivate(start, n)
}

// pageRange is the whole pages holding [p, p+size).
func pageRange(p uintptr, size uint64) (uintptr, uint64, bool) {
	if p == 0 || size == 0 || size > MaxShared || uint64(p)+size < uint64(p) {
		return 0, 0, false
	}
	start := p &^ 4095
	end := (uint64(p) + size + 4095) &^ 4095
	return start, end - uint64(start), end > uint64(start) && end-uint64(start) <= MaxShared
}

// onUnixSocket reports whether the server can be passed a descriptor.
func onUnixSocket() bool {
	mu.Lock()
	defer mu.Unlock()
	return shm.network == "unix"
}

// makePrivate gives [start, start+n) private anonymous pages holding its bytes: they are
// copied to a fresh mapping that is then moved over the range in one step.
func makePrivate(start uintptr, n uint64) {
	tmp, err := unix.MmapPtr(-1, 0, nil, uintptr(n), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		shim.Log().Warnw("registered memory stays shared with the server after unregistering", "err", err)
		return
	}
	copy(shim.View(tmp, int(n)), shim.View(unsafe.Pointer(start), int(n)))
	if _, _, e := unix.Syscall6(unix.SYS_MREMAP, uintptr(tmp), uintptr(n), uintptr(n),
		unix.MREMAP_MAYMOVE|unix.MREMAP_FIXED, start, 0); e != 0 {
		unix.MunmapPtr(tmp, uintptr(n))
		shim.Log().Warnw("registered memory stays shared with the server after unregistering", "err", e)
	}
}

// plainAnonymous reports whether [start, end) is wholly private anonymous read-write memory
// (the heap, malloc's and mmap's anonymous mappings), by /proc/self/maps.
func plainAnonymous(start, end uintptr) bool {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return false
	}
	defer f.Close()
	at := start
	sc := bufio.NewScanner(f)
	for sc.Scan() && at < end {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		a, err1 := strconv.ParseUint(lo, 16, 64)
		b, err2 := strconv.ParseUint(hi, 16, 64)
		if !ok || err1 != nil || err2 != nil || uintptr(b) <= at {
			continue
		}
		if uintptr(a) > at { // a hole: unmapped memory
			return false
		}
		path := ""
		if len(fields) > 5 {
			path = fields[5]
		}
		if fields[1] != "rw-p" || fields[4] != "0" || (path != "" && path != "[heap]") {
			return false
		}
		at = uintptr(b)
	}
	return at >= end
}
