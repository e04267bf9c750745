package doctor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"vgpu/ollama"
)

// Ollama 0.25+ discovers GPUs by running its llama-server, once per CUDA variant, with
// --list-devices; then once per device found, alone (CUDA_VISIBLE_DEVICES) and with
// GGML_CUDA_INIT=1, to validate it. doctor runs the same commands, so that what it reports is
// what Ollama would see, not what the files suggest.

// listDevicesArgs are the arguments Ollama gives llama-server for discovery.
var listDevicesArgs = []string{"--list-devices", "--offline", "--verbose"}

const (
	listDevicesTimeout = 30 * time.Second
	outputCap          = 256 << 10 // bytes of stdout kept for parsing
	tailCap            = 2 << 10   // bytes of the combined output kept for the report
)

// ListedDevice is one line of llama.cpp's `--list-devices` output.
type ListedDevice struct {
	Name        string // ggml's device name: CUDA0, Vulkan1, ...
	Description string // the device's description, e.g. NVIDIA H100 80GB HBM3
	TotalMiB    uint64
	FreeMiB     uint64
}

// CUDA reports whether ggml's CUDA backend made the device.
func (l ListedDevice) CUDA() bool { return cudaDevName.MatchString(l.Name) }

// llama.cpp (common/arg.cpp) prints "Available devices:" and then, per non-CPU device,
// "  %s: %s (%zu MiB, %zu MiB free)": name, description, total and free in MiB. A
// description may itself hold parentheses, so the memory part is matched at the line's end.
var (
	listedDevice = regexp.MustCompile(`^  (\S+): (.*) \((\d+) MiB, (\d+) MiB free\)$`)
	cudaDevName  = regexp.MustCompile(`^CUDA\d+$`)
)

// ParseListDevices reads the devices from llama-server's --list-devices output; lines before
// "Available devices:" (logs) are ignored.
func ParseListDevices(out string) []ListedDevice {
	var devs []ListedDevice
	started := false
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "Available devices:" {
			started, devs = true, nil // a second list replaces the first
			continue
		}
		if !started {
			continue
		}
		m := listedDevice.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		total, err1 := strconv.ParseUint(m[3], 10, 64)
		free, err2 := strconv.ParseUint(m[4], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		devs = append(devs, ListedDevice{Name: m[1], Description: m[2], TotalMiB: total, FreeMiB: free})
	}
	return devs
}

// listResult is one llama-server run.
type listResult struct {
	devices []ListedDevice // the CUDA devices listed
	runErr  string         // why the run itself failed: a timeout, a signal, a non-zero exit
	tail    string         // the end of stdout and stderr together
}

// runListDevices runs llama-server as Ollama's discovery does for variant v, with extra
// environment added (CUDA_VISIBLE_DEVICES and GGML_CUDA_INIT for the validation pass).
func (d *doc) runListDevices(v ollama.Variant, extra ...string) listResult {
	timeout := d.listTimeout
	if timeout == 0 {
		timeout = listDevicesTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.server, listDevicesArgs...)
	cmd.Dir = filepath.Dir(d.server)
	// Everything else is inherited, LD_PRELOAD included: under `vgpu run` the preloaded vgpu
	// reaches llama-server as it reaches Ollama's.
	cmd.Env = d.environ(append([]string{
		"LD_LIBRARY_PATH=" + ollama.RunnerLibraryPath(filepath.Dir(d.server), v, d.env["LD_LIBRARY_PATH"]),
		"GGML_BACKEND_PATH=" + filepath.Join(v.Dir, "libggml-cuda.so")}, extra...)...)
	// Its own process group, so that a timeout ends whatever it started too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	stdout := &capBuffer{max: outputCap}
	tail := &tailBuffer{max: tailCap}
	cmd.Stdout = io.MultiWriter(stdout, tail)
	cmd.Stderr = tail
	err := cmd.Run()
	var r listResult
	for _, dev := range ParseListDevices(stdout.String()) {
		if dev.CUDA() {
			r.devices = append(r.devices, dev)
		}
	}
	r.tail = strings.TrimSpace(tail.String())
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		r.runErr = fmt.Sprintf("did not finish within %v and was killed", timeout)
	case errors.As(err, &exit):
		r.runErr = exit.ProcessState.String() // "exit status 1", "signal: segmentation fault"
	case err != nil:
		r.runErr = err.Error()
	}
	return r
}

// commandLine is how the report shows a run, as one could repeat it in a shell.
func (d *doc) commandLine(v ollama.Variant, extra ...string) string {
	s := fmt.Sprintf("LD_LIBRARY_PATH=%s GGML_BACKEND_PATH=%s ",
		ollama.RunnerLibraryPath(filepath.Dir(d.server), v, d.env["LD_LIBRARY_PATH"]), filepath.Join(v.Dir, "libggml-cuda.so"))
	for _, kv := range extra {
		s += kv + " "
	}
	return s + d.server + " " + strings.Join(listDevicesArgs, " ")
}

// quoteTail shows the end of llama-server's output on one line of the report.
func quoteTail(t string) string {
	if t == "" {
		return "it printed nothing"
	}
	lines := strings.Split(t, "\n")
	if len(lines) > 12 {
		lines = lines[len(lines)-12:]
	}
	return "its output ends: " + strings.Join(lines, " | ")
}

// llamaServer runs Ollama 0.25+'s discovery for one variant: the listing, then the
// validation of each CUDA device found. It reports whether Ollama would keep a device.
func (d *doc) llamaServer(tag string, v ollama.Variant, installFix string) bool {
	first := d.runListDevices(v)
	if first.runErr != "" || len(first.devices) == 0 {
		why := "lists no CUDA device"
		if first.runErr != "" {
			why = first.runErr
			if len(first.devices) > 0 {
				why = "listed " + describeListed(first.devices) + " but " + first.runErr
			}
		}
		check := "vgpu run -- vgpu doctor"
		if d.driverOnly {
			check = "vgpu run --driver-only -- vgpu doctor"
		}
		d.add(tag+"/llama-server", "fail", fmt.Sprintf("`%s`: %s: Ollama would run on the CPU; %s", d.commandLine(v), why, quoteTail(first.tail)),
			installFix+" (check the latter with `"+check+"`)")
		return false
	}
	d.add(tag+"/llama-server", "pass", "llama-server --list-devices: "+describeListed(first.devices), "")
	ok := true
	var kept []string
	for i := range first.devices {
		extra := []string{fmt.Sprintf("CUDA_VISIBLE_DEVICES=%d", i), "GGML_CUDA_INIT=1"}
		r := d.runListDevices(v, extra...)
		var again *ListedDevice
		for j := range r.devices {
			if r.devices[j].Name == "CUDA0" {
				again = &r.devices[j]
			}
		}
		if r.runErr != "" || again == nil {
			ok = false
			why := "lists no CUDA0"
			if r.runErr != "" {
				why = r.runErr
			}
			d.add(tag+"/llama-server-validate", "fail", fmt.Sprintf("device %d (%s) does not reappear alone: `%s`: %s: Ollama drops it; %s",
				i, first.devices[i].Description, d.commandLine(v, extra...), why, quoteTail(r.tail)),
				"run that command to see why; VGPU_LOG_LEVEL=debug shows what vgpu answers")
			continue
		}
		kept = append(kept, fmt.Sprintf("%d as %s", i, describeListed([]ListedDevice{*again})))
	}
	if ok {
		d.add(tag+"/llama-server-validate", "pass", "with GGML_CUDA_INIT=1, each device alone (CUDA_VISIBLE_DEVICES) reappears: "+strings.Join(kept, "; "), "")
	}
	return ok
}

func describeListed(devs []ListedDevice) string {
	var parts []string
	for _, dev := range devs {
		parts = append(parts, fmt.Sprintf("%s: %s (%d MiB, %d MiB free)", dev.Name, dev.Description, dev.TotalMiB, dev.FreeMiB))
	}
	return strings.Join(parts, "; ")
}

// capBuffer keeps the first max bytes written and accepts (drops) the rest, so that a
// runaway child cannot exhaust doctor's memory nor block on a full pipe.
type capBuffer struct {
	bytes.Buffer
	max int
}

func (b *capBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// tailBuffer keeps the last max bytes written; stdout and stderr write it concurrently.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = append(b.buf[:0:0], b.buf[len(b.buf)-b.max:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
