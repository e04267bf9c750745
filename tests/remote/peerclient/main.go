// Command peerclient is a hostile client on the server's host, written against the protocol
// (tests/remote/peer.sh runs it, as an unprivileged user where it can). It offers the
// server every kind of descriptor in place of shared memory, and names descriptors by
// number the way the former /proc path took them, and checks each is refused; then that a
// real sealed memfd is taken, so the refusals are not the server refusing everything.
//
//	peerclient check SOCKET TARGET  TARGET: a file of at least 4 MiB the server must not map
//	peerclient flood SOCKET N SECS  pass N descriptors with requests that take none, stay SECS
//	peerclient ping SOCKET          say hello; exit 1 if the server does not answer
package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"vgpu/remote"
	"vgpu/shim"
	"vgpu/wire"
)

const window = 4 << 20

var (
	conn *wire.FDConn
	seq  uint32
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: peerclient check SOCKET TARGET | flood SOCKET N SECS | ping SOCKET")
		os.Exit(2)
	}
	if err := connect(os.Args[2]); err != nil {
		fmt.Println("no session:", err)
		os.Exit(1)
	}
	switch os.Args[1] {
	case "ping":
		fmt.Printf("served as uid %d\n", os.Geteuid())
	case "check":
		os.Exit(check(os.Args[3]))
	case "flood":
		n, _ := strconv.Atoi(os.Args[3])
		secs, _ := strconv.Atoi(os.Args[4])
		flood(n, time.Duration(secs)*time.Second)
	}
}

func connect(path string) error {
	nc, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return err
	}
	if conn, err = wire.FromConn(nc, 5*time.Second); err != nil {
		return err
	}
	hello, _ := json.Marshal(remote.Hello{Version: wire.Version, PID: os.Getpid()})
	if err := wire.WriteFrame(conn, wire.Header{Kind: wire.KindHello}, hello); err != nil {
		return err
	}
	_, p, err := wire.ReadFrame(conn)
	if err != nil {
		return err
	}
	var w remote.Welcome
	if err := json.Unmarshal(p, &w); err != nil || !w.OK {
		return fmt.Errorf("refused: %s", w.Error)
	}
	return nil
}

// request sends op, passing fd with it unless fd < 0, and returns the status it gets.
func request(op uint32, fd int, vs ...uint64) shim.Status {
	var p []byte
	for _, v := range vs {
		p = binary.LittleEndian.AppendUint64(p, v)
	}
	seq++
	fr, _ := wire.AppendFrame(nil, wire.Header{Kind: wire.KindRequest, Op: op, Seq: seq}, p)
	var err error
	if fd >= 0 {
		err = conn.SendFD(fr, fd)
	} else {
		_, err = conn.Write(fr)
	}
	if err != nil {
		fmt.Println("lost the server:", err)
		os.Exit(1)
	}
	for {
		h, resp, err := wire.ReadFrame(conn)
		if err != nil {
			fmt.Println("lost the server:", err)
			os.Exit(1)
		}
		if h.Kind == wire.KindBusy {
			continue
		}
		if h.Seq != seq || len(resp) < 1 {
			fmt.Println("a response out of order")
			os.Exit(1)
		}
		return shim.Status(resp[0])
	}
}

func memfd(size int64, seals int) int {
	fd, err := unix.MemfdCreate("peer", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	must(err)
	must(unix.Ftruncate(fd, size))
	if seals != 0 {
		_, err = unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals)
		must(err)
	}
	return fd
}

func must(err error) {
	if err != nil {
		fmt.Println("setup:", err)
		os.Exit(2)
	}
}

const sealed = unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_SEAL

func check(target string) int {
	failed, passed := 0, 0
	expect := func(name string, want, got shim.Status) {
		if got == want {
			passed++
		} else {
			fmt.Printf("FAIL %s: status %d, want %d\n", name, got, want)
			failed++
		}
	}
	refused := func(name string, fd int, withFD bool) {
		send := fd
		if !withFD {
			send = -1
		}
		// The window (size) and a pinned share (address, size); and the layouts of the former
		// /proc path, which named the descriptor by number: (pid, fd, size), (address, fd, size).
		expect("window: "+name, shim.ErrInvalidValue, request(remote.OpShmAttach, send, window))
		expect("pinned share: "+name, shim.ErrInvalidValue, request(remote.OpHostShare, send, 0x7f0000000000, window))
		expect("window, former layout: "+name, shim.ErrInvalidValue, request(remote.OpShmAttach, send, uint64(os.Getpid()), uint64(fd), window))
		expect("pinned share, former layout: "+name, shim.ErrInvalidValue, request(remote.OpHostShare, send, 0x7f0000000000, uint64(fd), window))
	}
	path, err := unix.Open(target, unix.O_PATH|unix.O_CLOEXEC, 0)
	must(err)
	refused("the target's O_PATH descriptor, passed", path, true)
	refused("the target's O_PATH descriptor, by number", path, false)
	if ro, err := unix.Open(target, unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
		refused("the target opened read-only, passed", ro, true)
		refused("the target opened read-only, by number", ro, false)
	} else {
		fmt.Printf("(the target cannot be opened read-only here: %v)\n", err)
	}
	own, err := os.CreateTemp("", "peer")
	must(err)
	os.Remove(own.Name())
	must(own.Truncate(window))
	refused("a file of the client's own, read-write", int(own.Fd()), true)
	refused("an unsealed memfd", memfd(window, 0), true)
	refused("a memfd sealed against growth only", memfd(window, unix.F_SEAL_GROW), true)
	refused("a sealed memfd of another size", memfd(2*window, sealed), true)
	refused("a memfd sealed against writes", memfd(window, sealed&^unix.F_SEAL_SEAL|unix.F_SEAL_WRITE), true)
	refused("a sealed memfd, by number", memfd(window, sealed), false)
	// What the library sends is taken.
	expect("pinned share: a sealed memfd of the stated size, passed", shim.OK, request(remote.OpHostShare, memfd(window, sealed), 0x7f0000000000, window))
	expect("window: a sealed memfd of the stated size, passed", shim.OK, request(remote.OpShmAttach, memfd(window, sealed), window))
	fmt.Printf("uid %d: %d checks as expected, %d failed\n", os.Geteuid(), passed, failed)
	if failed > 0 {
		return 1
	}
	return 0
}

// flood passes n descriptors with requests that take none, then stays connected for d.
func flood(n int, d time.Duration) {
	fd := memfd(4096, sealed)
	for range n {
		if st := request(remote.OpHostUnshare, fd, 0x1000); st != shim.ErrInvalidValue {
			fmt.Println("unexpected status", st)
			os.Exit(1)
		}
	}
	fmt.Printf("passed %d descriptors\n", n)
	time.Sleep(d)
}
