package server

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"vgpu/wire"
)

// A worker process inherits its own client's connection and nothing else: no other
// client's socket (which it could read and write, and which would stay open after that
// client's own worker ended, so the client would never see its session end) and no
// connection still waiting for its handshake.
func TestAWorkerInheritsOnlyItsOwnClient(t *testing.T) {
	dir := workerDir(t)
	// The worker counts the sockets it holds beyond fd 3 (its client), then keeps its
	// client until the client goes.
	script := `n=0; for f in /proc/$$/fd/*; do fd=${f##*/}; if [ "$fd" -gt 3 ]; then case $(readlink "$f") in socket:*) n=$((n+1));; esac; fi; done
echo $n >"$0/count.$$.tmp" && mv "$0/count.$$.tmp" "$0/count.$$"; exec cat <&3 >/dev/null`
	s := startServer(t, Options{Worker: []string{"/bin/sh", "-c", script, dir}})
	counts := func(want int) []string {
		t.Helper()
		var got []string
		require.Eventually(t, func() bool {
			got, _ = filepath.Glob(filepath.Join(dir, "count.*[0-9]"))
			return len(got) >= want
		}, 10*time.Second, 10*time.Millisecond)
		return got
	}
	admit := func() {
		c := s.raw(t)
		t.Cleanup(func() { c.Close() })
		b, _ := json.Marshal(wire.Hello{Version: wire.Version, Token: testToken})
		require.NoError(t, wire.WriteFrame(c, wire.Header{Kind: wire.KindHello}, b))
	}
	stranger := s.raw(t) // connected, not yet authenticated
	defer stranger.Close()
	admit()
	counts(1)
	admit()
	for _, f := range counts(2) {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		require.Equal(t, "0", strings.TrimSpace(string(b)), "sockets a worker holds besides its client's")
	}
}

// With WarmWorkers, a worker is started before any client arrives, and each client that
// takes one has its replacement started at once.
func TestWarmWorkersWaitAheadOfClients(t *testing.T) {
	dir := workerDir(t)
	script := `: >"$0/started.$$"; exec cat <&3 >/dev/null`
	s := startServer(t, Options{Worker: []string{"/bin/sh", "-c", script, dir}, WarmWorkers: 1})
	started := func() int {
		got, _ := filepath.Glob(filepath.Join(dir, "started.*"))
		return len(got)
	}
	require.Eventually(t, func() bool { return started() == 1 }, 10*time.Second, 10*time.Millisecond, "a worker waits before any client")
	time.Sleep(100 * time.Millisecond)
	require.Equal(t, 1, started(), "only WarmWorkers wait")
	c := s.raw(t)
	defer c.Close()
	b, _ := json.Marshal(wire.Hello{Version: wire.Version, Token: testToken})
	require.NoError(t, wire.WriteFrame(c, wire.Header{Kind: wire.KindHello}, b))
	require.Eventually(t, func() bool { return started() == 2 }, 10*time.Second, 10*time.Millisecond, "the taken worker is replaced")
}

// A server that stops while it is still starting its waiting workers leaves none behind: a
// worker started as the pool closed would wait forever on a control socket nobody closes
// (a process, and its CUDA context, leaked per restart).
func TestNoWaitingWorkerOutlivesTheServer(t *testing.T) {
	dir := workerDir(t)
	script := `echo $$ >"$0/pid.$$"; exec cat <&3 >/dev/null`
	for i := 0; i < 20; i++ {
		ln, err := net.Listen("unix", filepath.Join(dir, fmt.Sprintf("s%d.sock", i)))
		require.NoError(t, err)
		done := make(chan error, 1)
		go func() {
			done <- Serve(NetListener(ln), Options{Token: testToken, Worker: []string{"/bin/sh", "-c", script, dir}, WarmWorkers: 3})
		}()
		time.Sleep(time.Duration(i%5) * time.Millisecond)
		ln.Close()
		require.NoError(t, <-done)
	}
	time.Sleep(200 * time.Millisecond) // workers still starting write their pids
	pids, _ := filepath.Glob(filepath.Join(dir, "pid.*"))
	for _, f := range pids {
		var pid int
		fmt.Sscanf(filepath.Ext(f), ".%d", &pid)
		require.Eventually(t, func() bool { return unix.Kill(pid, 0) == unix.ESRCH }, 5*time.Second, 10*time.Millisecond,
			"worker %d still exists (waiting, or a zombie) after its server stopped: %s", pid, procState(pid))
	}
}

// The hello a worker receives carries no token: a worker process (whose memory a fault in
// the driver may dump, and which runs the tenant's work) never holds the server's secret.
func TestAWorkerIsNotGivenTheToken(t *testing.T) {
	dir := workerDir(t)
	script := `exec cat <&3 >"$0/hello.$$"`
	s := startServer(t, Options{Worker: []string{"/bin/sh", "-c", script, dir}})
	c := s.raw(t)
	b, _ := json.Marshal(wire.Hello{Version: wire.Version, Token: testToken, PID: 4242})
	require.NoError(t, wire.WriteFrame(c, wire.Header{Kind: wire.KindHello}, b))
	var got []byte
	require.Eventually(t, func() bool {
		fs, _ := filepath.Glob(filepath.Join(dir, "hello.*"))
		if len(fs) == 0 {
			return false
		}
		got, _ = os.ReadFile(fs[0])
		return strings.Contains(string(got), "4242")
	}, 10*time.Second, 10*time.Millisecond, "the worker got the client's hello")
	c.Close()
	require.NotContains(t, string(got), testToken)
}

func procState(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return string(b)
}

// A waiting worker that dies before any client takes it (killed for memory, or its driver
// failed to start) is reaped at once, not left a zombie; and the next client is still
// served, by a worker that lives.
func TestAWaitingWorkerThatDiesIsReaped(t *testing.T) {
	dir := workerDir(t)
	// The first worker exits at once; later ones wait for their client.
	script := `if mkdir "$0/first" 2>/dev/null; then echo $$ >"$0/dead"; exit 3; fi; : >"$0/served.$$"; exec cat <&3 >/dev/null`
	s := startServer(t, Options{Worker: []string{"/bin/sh", "-c", script, dir}, WarmWorkers: 1})
	var pid int
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(filepath.Join(dir, "dead"))
		_, err2 := fmt.Sscanf(string(b), "%d", &pid)
		return err == nil && err2 == nil
	}, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return unix.Kill(pid, 0) == unix.ESRCH }, 5*time.Second, 10*time.Millisecond,
		"the dead waiting worker %d is not reaped: %s", pid, procState(pid))
	c := s.raw(t)
	defer c.Close()
	b, _ := json.Marshal(wire.Hello{Version: wire.Version, Token: testToken})
	require.NoError(t, wire.WriteFrame(c, wire.Header{Kind: wire.KindHello}, b))
	require.Eventually(t, func() bool {
		got, _ := filepath.Glob(filepath.Join(dir, "served.*"))
		return len(got) >= 1
	}, 10*time.Second, 10*time.Millisecond, "a live worker gets the client")
}

// workerDir is a directory the tests' worker scripts write into. A warm worker started as
// the server stops may still write there after the test: the removal tries again for a
// while instead of failing the test (t.TempDir's would).
func workerDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "vgpu-worker-test")
	require.NoError(t, err)
	t.Cleanup(func() {
		for i := 0; i < 100 && os.RemoveAll(dir) != nil; i++ {
			time.Sleep(20 * time.Millisecond)
		}
	})
	return dir
}
