// Command shmclient is a client of a shared file written against the protocol
// (tests/remote/shmfile.sh runs it): it maps FILE, writes a nonce into its header and asks
// a server on loopback TCP to attach the file it declared as NAME, honestly or not, and
// prints the status it gets. The server must stay up whatever it is sent.
//
//	shmclient ADDR TOKENFILE FILE NAME MODE [SECS]
//
// MODE: ok (the right nonce), wrong-nonce (sends another than it wrote), oversize (says the
// file is twice its size). After an answer it holds the session SECS seconds (default 0).
package main

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"vgpu/remote"
	"vgpu/shim"
	"vgpu/wire"
)

func main() {
	if len(os.Args) < 6 {
		fmt.Fprintln(os.Stderr, "usage: shmclient ADDR TOKENFILE FILE NAME ok|wrong-nonce|oversize [SECS]")
		os.Exit(2)
	}
	addr, tokenFile, path, name, mode := os.Args[1], os.Args[2], os.Args[3], os.Args[4], os.Args[5]
	tok, err := os.ReadFile(tokenFile)
	check(err)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	check(err)
	fi, err := f.Stat()
	check(err)
	size := fi.Size()
	b, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	check(err)
	nonce := make([]byte, remote.ShmNonceLen)
	rand.Read(nonce)
	copy(b[remote.ShmNonceOffset:], nonce)
	switch mode {
	case "wrong-nonce":
		nonce[0] ^= 0xff
	case "oversize":
		size *= 2
	case "ok":
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", mode)
		os.Exit(2)
	}
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	check(err)
	c, err := wire.FromConn(nc, 10*time.Second)
	check(err)
	hello, _ := json.Marshal(remote.Hello{Version: wire.Version, Token: strings.TrimSpace(string(tok)), PID: os.Getpid()})
	check(wire.WriteFrame(c, wire.Header{Kind: wire.KindHello}, hello))
	_, p, err := wire.ReadFrame(c)
	check(err)
	var w remote.Welcome
	if json.Unmarshal(p, &w) != nil || !w.OK {
		fmt.Println("not admitted:", w.Error)
		os.Exit(1)
	}
	req := append(append(binary.LittleEndian.AppendUint64(nil, uint64(size)), nonce...), name...)
	check(wire.WriteFrame(c, wire.Header{Kind: wire.KindRequest, Op: remote.OpShmFileAttach, Seq: 1}, req))
	for {
		h, p, err := wire.ReadFrame(c)
		check(err)
		if h.Kind == wire.KindBusy {
			continue
		}
		st := shim.ErrInvalidValue
		if len(p) == 1 {
			st = shim.Status(p[0])
		}
		if st == shim.OK {
			fmt.Println("attached")
		} else {
			fmt.Printf("refused (status %d)\n", st)
		}
		break
	}
	if len(os.Args) > 6 {
		secs, _ := strconv.Atoi(os.Args[6])
		time.Sleep(time.Duration(secs) * time.Second)
	}
}

func check(err error) {
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
}
