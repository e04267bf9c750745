package remote

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"vgpu/shim"
	"vgpu/wire"
)

// Rings: a client on the server's host sends its frames, and has its answers, through two
// rings in a memfd both map (wire.RingConn) instead of through the socket: while both sides
// are awake a round trip makes no system call. Set up at connect; a server that cannot
// (an older one, VGPU_RING_KB=0) leaves the client on the socket.

// ringSize is VGPU_RING_KB (default 1024; 0 turns rings off), rounded down to a size the
// server takes.
func ringSize() int {
	kb := 1024
	if v, err := strconv.Atoi(os.Getenv("VGPU_RING_KB")); err == nil {
		kb = v
	}
	if kb <= 0 {
		return 0
	}
	n := wire.MinRingSize
	for n*2 <= min(kb<<10, wire.MaxRingSize) {
		n *= 2
	}
	return n
}

// attachRingsLocked moves the fresh connection onto rings when it can; an error is the
// connection's own (it is then lost). mu is held.
func attachRingsLocked() error {
	fc, ok := conn.(*wire.FDConn)
	n := ringSize()
	if !ok || n == 0 {
		return nil
	}
	fd, region, err := sharedMemfd("vgpu-rings", wire.RingRegionSize(n))
	if err != nil {
		return nil
	}
	err = requestFDLocked(OpRingAttach, fd, u64s(uint64(len(region))))
	unix.Close(fd) // the server holds its own reference now, or gave up
	var resp []byte
	if err == nil {
		resp, err = readResponseLocked()
	}
	if err != nil {
		unix.Munmap(region)
		return err
	}
	if status(resp) != shim.OK {
		unix.Munmap(region)
		shim.Log().Infow("the server takes no rings; frames use the socket")
		return nil
	}
	// The region stays mapped for the process's life: a thread may still be reading it
	// when the connection is lost.
	rc, err := wire.NewRingConn(fc, region, false, wire.SpinWait())
	if err != nil {
		return err
	}
	conn = rc
	return nil
}
