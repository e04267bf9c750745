package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as the hide-GPU helper, as the real binary does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == hideGPUArg {
		hideGPUAndExec(os.Args[2:])
	}
	os.Exit(m.Run())
}

func TestCountMounts(t *testing.T) {
	info := `22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/root rw
35 22 0:5 /null /dev/nvidia0 rw,nosuid - devtmpfs udev rw
36 22 0:5 /null /dev/nvidiactl rw,nosuid - devtmpfs udev rw
37 22 0:5 /null /dev/nvidia-caps/nvidia-cap1 rw,nosuid - devtmpfs udev rw
38 22 0:30 / /dev/shm rw - tmpfs tmpfs rw
`
	if n := countMounts(strings.NewReader(info), "/dev/nvidia"); n != 3 {
		t.Errorf("countMounts = %d, want 3", n)
	}
}

func TestTail(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	os.WriteFile(p, []byte("a\nb\nc\nd\n"), 0o644)
	if got := tail(p, 2); got != "c\nd" {
		t.Errorf("tail = %q", got)
	}
	if got := tail(p, 10); got != "a\nb\nc\nd" {
		t.Errorf("tail = %q", got)
	}
	if got := tail(filepath.Join(t.TempDir(), "none"), 2); got != "" {
		t.Errorf("tail of a missing file = %q", got)
	}
}

func TestGPUNodesAreCharDevicesOnly(t *testing.T) {
	d := t.TempDir()
	os.WriteFile(filepath.Join(d, "nvidia0"), nil, 0o644) // a file, not a device
	os.Mkdir(filepath.Join(d, "nvidia-caps"), 0o755)
	if n := gpuNodes(d); len(n) != 0 {
		t.Errorf("gpuNodes = %v, want none", n)
	}
}

func groupGone(pgid int) bool { return !groupAlive(pgid) }

// terminate must leave nothing of the group, children included, even when they ignore SIGTERM.
func TestTerminateStopsTheWholeGroup(t *testing.T) {
	defer func(g time.Duration) { termGrace = g }(termGrace)
	termGrace = 300 * time.Millisecond
	log := filepath.Join(t.TempDir(), "log")
	for _, script := range []string{
		"sleep 60 & sleep 60 & wait",              // goes on SIGTERM
		"trap '' TERM; sleep 60 & sleep 60; wait", // needs SIGKILL
	} {
		p, err := startProc("t", []string{"/bin/sh", "-c", script}, os.Environ(), log, false)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // let the children start
		start := time.Now()
		p.terminate()
		t.Logf("%q stopped in %v", script, time.Since(start))
		if !p.exited() || !groupGone(p.cmd.Process.Pid) {
			t.Errorf("%q: process group left behind", script)
		}
		p.terminate() // a second call is harmless
	}
}

func TestStopAllRefusesNewStarts(t *testing.T) {
	log := filepath.Join(t.TempDir(), "log")
	p, err := startProc("t", []string{"/bin/sh", "-c", "sleep 60"}, os.Environ(), log, false)
	if err != nil {
		t.Fatal(err)
	}
	stopAll()
	defer func() { procs.Lock(); procs.closed = false; procs.Unlock() }()
	if !groupGone(p.cmd.Process.Pid) {
		t.Error("stopAll left the process")
	}
	if _, err := startProc("t", []string{"/bin/true"}, nil, log, false); err == nil {
		t.Error("a start after stopAll succeeded")
	}
}

// The hide-GPU path end to end, on device nodes of the test's own (needs root for mknod and
// the mount namespace): inside, every node is /dev/null; outside, nothing changed.
func TestHideGPU(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	d := t.TempDir()
	os.Mkdir(filepath.Join(d, "nvidia-caps"), 0o755)
	nodes := []string{filepath.Join(d, "nvidia0"), filepath.Join(d, "nvidiactl"), filepath.Join(d, "nvidia-caps", "nvidia-cap1")}
	for _, n := range nodes {
		if err := syscall.Mknod(n, syscall.S_IFCHR|0o666, 1<<8|5); err != nil { // /dev/zero's numbers
			t.Skip("mknod:", err)
		}
	}
	if got := gpuNodes(d); len(got) != 3 {
		t.Fatalf("gpuNodes = %v", got)
	}
	defer func(old string) { devDir = old }(devDir)
	devDir = d

	log := filepath.Join(t.TempDir(), "log")
	script := "for n in " + strings.Join(nodes, " ") + "; do stat -c 'inside %t:%T' $n; done; sleep 60"
	p, err := startProc("t", []string{"/bin/sh", "-c", script}, os.Environ(), log, true)
	if errors.Is(err, syscall.EPERM) {
		t.Skip("no mount namespaces here:", err) // root in a container without CAP_SYS_ADMIN
	}
	if err != nil {
		t.Fatal(err)
	}
	defer p.terminate()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(tail(log, 20), "\ninside ") < 3 && time.Now().Before(deadline) && !p.exited() {
		time.Sleep(20 * time.Millisecond)
	}
	out := tail(log, 20)
	if strings.Count(out, "inside 1:3") != 3 { // /dev/null is 1:3
		t.Fatalf("inside the namespace the nodes are not /dev/null:\n%s", out)
	}
	if n, err := hiddenNodes(p.cmd.Process.Pid, d); err != nil || n != 3 {
		t.Errorf("hiddenNodes = %d, %v; want 3", n, err)
	}
	var st syscall.Stat_t
	if syscall.Stat(nodes[0], &st); st.Rdev != 1<<8|5 {
		t.Errorf("the bind mount leaked out of the namespace: rdev %#x", st.Rdev)
	}
}

func TestWatchEndsWhenAServerExits(t *testing.T) {
	log := filepath.Join(t.TempDir(), "log")
	p, err := startProc("quick", []string{"/bin/sh", "-c", "exit 3"}, os.Environ(), log, false)
	if err != nil {
		t.Fatal(err)
	}
	defer p.terminate()
	ctx, stop := watch(context.Background(), p)
	defer stop()
	select {
	case <-ctx.Done():
		if c := context.Cause(ctx); c == nil || !strings.Contains(c.Error(), "quick exited (exit status 3)") {
			t.Errorf("cause %v", c)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the context outlived the process")
	}
}
