package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a server the benchmark started, in a process group of its own so that stopping it
// also stops the runner processes `ollama serve` forks.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and been reaped
	stop sync.Once
}

// procs is every server still running. Ctrl-C stops them all through it, and once closed it
// starts nothing more, so a start racing with the interrupt cannot leave a process behind.
var procs = struct {
	sync.Mutex
	all    map[*proc]bool
	closed bool
}{all: map[*proc]bool{}}

const hideGPUArg = "__hide-gpu" // argv[1] of the helper that hides the GPU, see hideGPUAndExec

// devDir is where the NVIDIA nodes are; tests point it at nodes of their own.
var devDir = "/dev"

// termGrace is how long a server has after SIGTERM before SIGKILL: Ollama stops its runners
// in well under a second, and a vgpu server has only its clients to close.
var termGrace = 8 * time.Second

// startProc starts argv with exactly env, its output going to logPath. With hide, the
// process gets its own mount namespace and /dev/null over every NVIDIA device node before it
// execs argv, so that whatever it does, it cannot open the GPU.
func startProc(name string, argv, env []string, logPath string, hide bool) (*proc, error) {
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer out.Close() // the child holds its own copy
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if hide {
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		argv = append([]string{self, hideGPUArg, devDir}, argv...)
		// Go's fork makes / private after unsharing, so the bind mounts stay in the child.
		attr.Unshareflags = syscall.CLONE_NEWNS
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env, cmd.Stdout, cmd.Stderr, cmd.SysProcAttr = env, out, out, attr
	fmt.Fprintf(out, "### %s: %s\n", time.Now().Format(time.RFC3339), strings.Join(argv, " "))

	procs.Lock()
	defer procs.Unlock()
	if procs.closed {
		return nil, errors.New("interrupted")
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	procs.all[p] = true
	return p, nil
}

// terminate stops the process group: SIGTERM, which lets Ollama stop its runners and the
// vgpu server close its clients, then SIGKILL for whatever is left after a few seconds.
// It returns once nothing of the group is left, or after a last grace period.
func (p *proc) terminate() {
	p.stop.Do(func() {
		pgid := p.cmd.Process.Pid
		syscall.Kill(-pgid, syscall.SIGTERM)
		if !waitGroupGone(pgid, p.done, termGrace) {
			syscall.Kill(-pgid, syscall.SIGKILL)
			waitGroupGone(pgid, p.done, 3*time.Second)
		}
		procs.Lock()
		delete(procs.all, p)
		procs.Unlock()
	})
}

// waitGroupGone waits for the leader to be reaped and no process of the group to be left.
func waitGroupGone(pgid int, done <-chan struct{}, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			if !groupAlive(pgid) {
				return true
			}
		default:
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// groupAlive says whether a process of the group still runs. Not kill(-pgid, 0): orphaned
// runners are zombies until init reaps them, which can take seconds, and a zombie is done.
func groupAlive(pgid int) bool {
	if syscall.Kill(-pgid, 0) == syscall.ESRCH {
		return false
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces, so split after the last ')'.
		i := strings.LastIndexByte(string(stat), ')')
		if f := strings.Fields(string(stat[i+1:])); len(f) > 2 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			return true
		}
	}
	return false
}

// stopAll stops every running server and lets nothing new start; for Ctrl-C and fatal errors.
func stopAll() {
	procs.Lock()
	procs.closed = true
	var ps []*proc
	for p := range procs.all {
		ps = append(ps, p)
	}
	procs.Unlock()
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		go func() { defer wg.Done(); p.terminate() }()
	}
	wg.Wait()
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// gpuNodes are the NVIDIA character devices under dev: nvidia0..N, nvidiactl, nvidia-uvm,
// nvidia-uvm-tools, nvidia-modeset and the capability nodes in nvidia-caps/.
func gpuNodes(dev string) []string {
	a, _ := filepath.Glob(filepath.Join(dev, "nvidia*"))
	b, _ := filepath.Glob(filepath.Join(dev, "nvidia-caps", "*"))
	var out []string
	for _, p := range append(a, b...) {
		if st, err := os.Lstat(p); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			out = append(out, p)
		}
	}
	return out
}

// hideGPUAndExec is the helper startProc puts in front of a client: running in a mount
// namespace of its own, it binds /dev/null over every NVIDIA node under dev, checks that each
// now is /dev/null, and execs the real command (args[1:]). The helper is this same binary, so
// the GPU machine needs nothing beyond it.
func hideGPUAndExec(args []string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "ollama-compare "+hideGPUArg+":", err)
		os.Exit(126)
	}
	if len(args) < 2 {
		fail(errors.New("usage: " + hideGPUArg + " DEVDIR PROGRAM [ARGS...]"))
	}
	var null syscall.Stat_t
	if err := syscall.Stat("/dev/null", &null); err != nil {
		fail(err)
	}
	nodes := gpuNodes(args[0])
	for _, n := range nodes {
		if err := syscall.Mount("/dev/null", n, "", syscall.MS_BIND, ""); err != nil {
			fail(fmt.Errorf("bind /dev/null over %s: %w", n, err))
		}
		var st syscall.Stat_t
		if err := syscall.Stat(n, &st); err != nil || st.Rdev != null.Rdev {
			fail(fmt.Errorf("%s is still not /dev/null after the bind mount", n))
		}
	}
	fmt.Fprintf(os.Stderr, "ollama-compare: %d NVIDIA device node(s) hidden behind /dev/null in this mount namespace: %s\n",
		len(nodes), strings.Join(nodes, " "))
	prog, err := exec.LookPath(args[1])
	if err != nil {
		fail(err)
	}
	fail(syscall.Exec(prog, args[1:], os.Environ()))
}

// hiddenNodes counts, from outside, the mounts over NVIDIA nodes under dev in pid's mount
// namespace: the evidence the report gives that the client could not reach the GPU.
func hiddenNodes(pid int, dev string) (int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return countMounts(f, filepath.Join(dev, "nvidia")), nil
}

// countMounts counts the mountinfo lines whose mount point, the fifth field, starts with prefix.
func countMounts(r io.Reader, prefix string) int {
	n := 0
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) > 4 && strings.HasPrefix(fs[4], prefix) {
			n++
		}
	}
	return n
}

// tail is the last n lines of a log, for error reports.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
