package remote

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"vgpu/shim"
	"vgpu/wire"
)

// VGPU_BACKEND=local in a program: the library starts `vgpu serve --fd 3` for this process
// alone, on one end of a socket pair, and is its remote client over the other end. NVIDIA's
// driver then runs in a process of its own, never beside the program's copies of NVIDIA's
// libraries or under vgpu's names, and the server's policy (a memory cap, a device name) is
// this process's: CUDA and NVML report the cap as the device's memory. The server exits when
// the program does, as its only connection closes.
func init() { shim.LocalSidecar = sidecar }

func sidecar(c *shim.Config) ([]shim.DeviceRecord, error) {
	bin, err := vgpuBinary()
	if err != nil {
		return nil, err
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	theirs := os.NewFile(uintptr(fds[1]), "vgpu-local")
	defer theirs.Close()
	backend := os.Getenv("VGPU_LOCAL_SERVER_BACKEND") // tests without a GPU use sim
	if backend == "" {
		backend = "local"
	}
	args := []string{"serve", "--fd", "3", "--backend", backend}
	if c.MemoryLimit != "" {
		args = append(args, "--client-memory", c.MemoryLimit)
	}
	if c.DeviceName != "" {
		args = append(args, "--device-name", c.DeviceName)
	}
	cmd := exec.Command(bin, args...)
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.Env = serverEnv(bin)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		unix.Close(fds[0])
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go cmd.Wait() // reaped when it exits
	nc, err := wire.NewFDConn(fds[0], CallTimeout)
	if err != nil {
		unix.Close(fds[0])
		return nil, err
	}
	nc.SetSpin(wire.SpinWait())
	mu.Lock()
	defer mu.Unlock()
	recs, err := handshakeLocked(nc, "unix", c)
	if err != nil {
		return nil, fmt.Errorf("local server %s: %w", bin, err)
	}
	return recs, nil
}

// vgpuBinary is VGPU_BIN, else bin/vgpu beside the library's lib/ directory, else vgpu on PATH.
func vgpuBinary() (string, error) {
	if b := os.Getenv("VGPU_BIN"); b != "" {
		return b, nil
	}
	if lib := libraryPath(); lib != "" {
		b := filepath.Join(filepath.Dir(lib), "..", "bin", "vgpu")
		if _, err := os.Stat(b); err == nil {
			return b, nil
		}
	}
	b, err := exec.LookPath("vgpu")
	if err != nil {
		return "", fmt.Errorf("VGPU_BACKEND=local needs the vgpu binary: set VGPU_BIN")
	}
	return b, nil
}

// libraryPath is where this library was mapped from (names resolve to the file itself).
func libraryPath() string {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if i := strings.Index(sc.Text(), "/"); i >= 0 && strings.HasSuffix(sc.Text(), "/libvgpu.so") {
			return sc.Text()[i:]
		}
	}
	return ""
}

// serverEnv is this process's environment without vgpu in the loader's way: the server must
// load NVIDIA's driver, not this library under its name.
func serverEnv(bin string) []string {
	lib := libraryPath()
	var env []string
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "LD_PRELOAD", "VGPU_BACKEND", "VGPU_SERVER", "CUDA_VISIBLE_DEVICES": // the last is sent in the hello
			continue
		case "LD_LIBRARY_PATH":
			var keep []string
			for _, d := range filepath.SplitList(v) {
				if lib == "" || !sameFile(filepath.Join(d, "libcuda.so.1"), lib) {
					keep = append(keep, d)
				}
			}
			kv = k + "=" + strings.Join(keep, ":")
		}
		env = append(env, kv)
	}
	return env
}

func sameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}
