package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// runEnv is one benchmark run: its temporary directory, ports and the facts found in setup.
type runEnv struct {
	cfg      *config
	tmp      string
	stderr   io.Writer
	nextPort int

	modelPath    string
	digest       string
	plan         plan
	version      string
	ctxLen       int
	promptTokens int      // as counted in setup; the modes count their own
	shmFiles     []string // /dev/shm files made for the shm-file transport, removed at the end
}

// shmFileSize is the shared file of the shm-file transport: room for a decode step's
// logits and a prompt's uploads, as a VM's ivshmem BAR might be sized.
const shmFileSize = 256 << 20

// benchmark prepares the model, then runs every mode, each with fresh servers.
func (e *runEnv) benchmark(ctx context.Context) (*report, error) {
	defer func() {
		for _, f := range e.shmFiles {
			os.Remove(f)
		}
	}()
	for _, d := range []string{"logs", "home", "models"} {
		if err := os.MkdirAll(filepath.Join(e.tmp, d), 0o755); err != nil {
			return nil, err
		}
	}
	e.modelPath = e.cfg.model
	if e.cfg.testModel != "" {
		if err := e.makeTestModel(ctx); err != nil {
			return nil, err
		}
	}
	var err error
	if e.digest, err = fileDigest(e.modelPath); err != nil {
		return nil, err
	}
	if err := e.setup(ctx); err != nil {
		return nil, err
	}
	rep := newReport(e)
	for round := 0; round < e.cfg.rounds; round++ {
		for i, mode := range e.cfg.modes {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if e.cfg.rounds > 1 {
				fmt.Fprintf(e.stderr, "ollama-compare: round %d of %d, mode %s\n", round+1, e.cfg.rounds, mode)
			} else {
				fmt.Fprintf(e.stderr, "ollama-compare: mode %s\n", mode)
			}
			r := e.runMode(ctx, mode)
			if round > 0 {
				rep.Modes[i].absorb(r, round)
				continue
			}
			r.RoundLoads, r.RoundMedians = []float64{r.LoadS}, []figures{r.medians()}
			rep.Modes = append(rep.Modes, r)
			if mode == "native" && r.Error == "" {
				fmt.Fprintln(e.stderr, "ollama-compare: native again, for the identity baseline")
				rep.NativeAgain = e.runMode(ctx, "native-again")
			}
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	return rep, nil
}

// makeTestModel writes the generated GGUF into the temporary directory.
func (e *runEnv) makeTestModel(ctx context.Context) error {
	size, typ, _ := strings.Cut(e.cfg.testModel, ":")
	e.modelPath = filepath.Join(e.tmp, fmt.Sprintf("testmodel-%s-%s.gguf", size, typ))
	cmd := exec.CommandContext(ctx, e.cfg.vgpuBin(), "testmodel", "--size", size, "--type", typ, "-o", e.modelPath)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("vgpu testmodel --size %s --type %s: %v\n%s", size, typ, err, out)
	}
	return nil
}

// setup creates the model once in the shared OLLAMA_MODELS, loads it once unmeasured so that
// the page cache holds it for every mode, and sizes the long prompt with the model's own
// tokenizer.
func (e *runEnv) setup(ctx context.Context) error {
	fmt.Fprintln(e.stderr, "ollama-compare: setup: create the model, warm the page cache, size the long prompt")
	r := &modeResult{Mode: "setup", Logs: map[string]string{}}
	p, c, err := e.startOllama(ctx, r, "setup", []string{e.cfg.ollamaBin(), "serve"}, nil, false)
	if err == nil {
		err = e.prepare(ctx, c)
	}
	if p != nil {
		p.terminate()
	}
	if err != nil && ctx.Err() == nil {
		e.showLogs(r)
	}
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	return nil
}

func (e *runEnv) prepare(ctx context.Context, c *client) error {
	var err error
	if e.version, err = c.version(ctx); err != nil {
		return err
	}
	if err := c.create(ctx, e.modelPath, e.digest); err != nil {
		return err
	}
	if _, err := c.generate(ctx, shortPrompt, 1); err != nil {
		return fmt.Errorf("warm-up load: %w", err)
	}
	e.ctxLen = e.cfg.numCtx
	if m, err := c.loaded(ctx); err == nil && m.ContextLength > 0 {
		e.ctxLen = min(e.ctxLen, m.ContextLength) // Ollama caps it at the model's training context
	}
	// Aim at 1100 tokens, inside the context with room for the generated tokens.
	target := min(1100, e.ctxLen-e.cfg.numPredict-32)
	if target < 1000 {
		fmt.Fprintf(e.stderr, "ollama-compare: warning: a context of %d leaves room for a %d-token prompt only\n", e.ctxLen, target)
	}
	e.plan = plan{runs: e.cfg.runs, numPredict: e.cfg.numPredict, parallel: e.cfg.parallel, staggers: e.cfg.staggers, longText: filler(target)}
	for i := 0; i < 3; i++ {
		g, err := c.generate(ctx, fmt.Sprintf("c%d: %s", i, e.plan.longText), 1)
		if err != nil {
			return fmt.Errorf("sizing the long prompt: %w", err)
		}
		n := g.PromptEvalCount
		e.promptTokens = n
		if n <= 0 || (n >= target*97/100 && n <= target+32) {
			break
		}
		// Tokens per byte differ between tokenizers; scale the text to the count seen.
		e.plan.longText = filler(len(e.plan.longText)*target/n + 8)
	}
	if e.cfg.verbose {
		fmt.Fprintf(e.stderr, "ollama-compare: setup: Ollama %s, context %d, long prompt %d bytes\n",
			e.version, e.ctxLen, len(e.plan.longText))
	}
	return nil
}

// runMode starts the servers of one mode, measures, and stops them.
func (e *runEnv) runMode(ctx context.Context, mode string) *modeResult {
	r := &modeResult{Mode: mode, Logs: map[string]string{}}
	var started []*proc
	err := e.mode(ctx, r, &started)
	for i := len(started) - 1; i >= 0; i-- { // the client before the server it uses
		started[i].terminate()
	}
	if err != nil {
		r.Error = err.Error()
		if ctx.Err() == nil { // not when interrupted: the logs then say nothing of interest
			fmt.Fprintf(e.stderr, "ollama-compare: %s failed: %v\n", mode, err)
			e.showLogs(r)
		}
	}
	return r
}

func (e *runEnv) mode(ctx context.Context, r *modeResult, started *[]*proc) error {
	ollama := []string{e.cfg.ollamaBin(), "serve"}
	// A -driver mode keeps Ollama's bundled runtime and cuBLAS: vgpu is the driver only.
	base, driverOnly := strings.CutSuffix(r.Mode, "-driver")
	underVGPU := []string{e.cfg.vgpuBin(), "run", "--"}
	if driverOnly {
		underVGPU = []string{e.cfg.vgpuBin(), "run", "--driver-only", "--"}
	}
	underVGPU = append(underVGPU, ollama...)
	var (
		p    *proc
		c    *client
		err  error
		hide bool
		mp   int
	)
	switch base {
	case "native", "native-again":
		p, c, err = e.startOllama(ctx, r, r.Mode, ollama, nil, false)
	case "local":
		p, c, err = e.startOllama(ctx, r, r.Mode, underVGPU,
			[]string{"VGPU_BACKEND=local", "VGPU_LIBDIR=" + e.cfg.vgpuLib()}, false)
	case "remote", "remote-tcp", "remote-tls", "remote-shm-file":
		var srv *proc
		var client []string
		srv, client, mp, err = e.startServer(ctx, r, strings.TrimPrefix(base, "remote-"))
		if srv != nil {
			*started = append(*started, srv)
		}
		if err != nil {
			return err
		}
		hide = e.cfg.hideGPU
		p, c, err = e.startOllama(ctx, r, r.Mode, underVGPU,
			append(client, "VGPU_BACKEND=remote", "VGPU_LIBDIR="+e.cfg.vgpuLib()), hide)
	}
	if p != nil {
		*started = append(*started, p)
	}
	if err != nil {
		return err
	}
	if hide {
		// The proof, read from outside: the client's namespace has a mount over every node.
		host := len(gpuNodes(devDir))
		n, err := hiddenNodes(p.cmd.Process.Pid, devDir)
		if err != nil {
			return err
		}
		r.Hidden = &hidden{HostNodes: host, Covered: n}
		if n < host {
			return fmt.Errorf("the client's mount namespace covers %d of the host's %d NVIDIA nodes", n, host)
		}
	}
	logf := func(f string, a ...any) {
		if e.cfg.verbose {
			fmt.Fprintf(e.stderr, "ollama-compare: %s: %s\n", r.Mode, fmt.Sprintf(f, a...))
		}
	}
	// A server that dies mid-run ends the mode at once, not after the request timeout.
	mctx, stop := watch(ctx, *started...)
	defer stop()
	if r.Mode == "native-again" {
		r.Samples, err = repeatIdentity(mctx, c, e.plan)
	} else {
		err = measure(mctx, c, e.plan, r, logf)
	}
	if mp != 0 {
		e.scrapeMetrics(r, mp)
	}
	if cause := context.Cause(mctx); err != nil && ctx.Err() == nil && cause != nil && cause != context.Canceled &&
		!strings.Contains(err.Error(), cause.Error()) {
		err = fmt.Errorf("%w: %v", cause, err)
	}
	return err
}

// watch is ctx, cancelled as soon as one of ps exits.
func watch(ctx context.Context, ps ...*proc) (context.Context, context.CancelFunc) {
	wctx, cancel := context.WithCancelCause(ctx)
	for _, p := range ps {
		go func() {
			select {
			case <-p.done:
				cancel(fmt.Errorf("%s exited (%v)", p.name, p.cmd.ProcessState))
			case <-wctx.Done():
			}
		}()
	}
	return wctx, func() { cancel(context.Canceled) }
}

// startOllama starts `ollama serve` (argv, possibly under vgpu) with a clean environment
// plus extra, and waits until it answers.
func (e *runEnv) startOllama(ctx context.Context, r *modeResult, name string, argv, extra []string, hide bool) (*proc, *client, error) {
	port, err := e.port()
	if err != nil {
		return nil, nil, err
	}
	env := []string{
		"HOME=" + filepath.Join(e.tmp, "home"),
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"OLLAMA_HOST=127.0.0.1:" + strconv.Itoa(port),
		"OLLAMA_MODELS=" + filepath.Join(e.tmp, "models"),
		"OLLAMA_NUM_PARALLEL=" + strconv.Itoa(e.cfg.parallel),
		"OLLAMA_CONTEXT_LENGTH=" + strconv.Itoa(e.cfg.numCtx),
		"OLLAMA_KEEP_ALIVE=1h",
	}
	if e.cfg.verbose {
		env = append(env, "OLLAMA_DEBUG=1")
	}
	// The GPUs a native Ollama may use are the ones vgpu's server may use: pass the choice on.
	if v, ok := os.LookupEnv("CUDA_VISIBLE_DEVICES"); ok && !hide {
		env = append(env, "CUDA_VISIBLE_DEVICES="+v)
	}
	if len(extra) > 0 { // under vgpu: its settings in this environment apply (VGPU_STATS=1 profiles the client)
		for _, kv := range os.Environ() {
			if strings.HasPrefix(kv, "VGPU_") {
				env = append(env, kv)
			}
		}
	}
	env = append(env, extra...)
	log := filepath.Join(e.tmp, "logs", name+"-ollama.log")
	r.Logs["ollama"] = log
	p, err := startProc(name, argv, env, log, hide)
	if err != nil {
		return nil, nil, err
	}
	c := newClient("http://127.0.0.1:"+strconv.Itoa(port), modelName)
	c.timeout = e.cfg.timeout
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := c.waitReady(wctx, p.done); err != nil {
		return p, nil, err
	}
	return p, c, nil
}

// startServer starts `vgpu serve` and waits for it. The transport: "remote" (a unix socket
// in the temporary directory), "tcp" (a loopback TCP port, what another host uses), or
// "shm-file" (TCP for control and a declared /dev/shm file for bulk bytes, what a VM guest
// uses through an ivshmem BAR). It returns the client's settings: VGPU_SERVER, VGPU_TOKEN for
// TCP (vgpu serve refuses to listen there without one), VGPU_SHM_FILE and VGPU_SHM_NAME.
func (e *runEnv) startServer(ctx context.Context, r *modeResult, transport string) (*proc, []string, int, error) {
	tcp := transport == "tcp" || transport == "tls" || transport == "shm-file"
	mp, err := e.port()
	if err != nil {
		return nil, nil, 0, err
	}
	sock := filepath.Join(e.tmp, "vgpu.sock")
	os.Remove(sock)
	addr := "unix://" + sock
	args := []string{"serve", "--backend", e.cfg.serverBackend, "--metrics", "127.0.0.1:" + strconv.Itoa(mp)}
	client := []string{}
	ready := func() bool { st, err := os.Stat(sock); return err == nil && st.Mode()&os.ModeSocket != 0 }
	if tcp {
		port, err := e.port()
		if err != nil {
			return nil, nil, 0, err
		}
		secret := make([]byte, 16)
		if _, err := rand.Read(secret); err != nil {
			return nil, nil, 0, err
		}
		token := hex.EncodeToString(secret)
		tokenFile := filepath.Join(e.tmp, "vgpu.token")
		if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
			return nil, nil, 0, err
		}
		args = append(args, "--token-file", tokenFile)
		client = append(client, "VGPU_TOKEN="+token)
		hostPort := "127.0.0.1:" + strconv.Itoa(port)
		addr = "tcp://" + hostPort
		ready = func() bool {
			c, err := net.DialTimeout("tcp", hostPort, time.Second)
			if err == nil {
				c.Close()
			}
			return err == nil
		}
	}
	if transport == "tls" {
		// TLS 1.3 as across hosts: the server makes its certificate in the directory and the
		// client pins its fingerprint.
		dir := filepath.Join(e.tmp, "tls")
		out, err := exec.CommandContext(ctx, e.cfg.vgpuBin(), "serve", "--listen", addr, "--tls-dir", dir,
			"--print-fingerprint").CombinedOutput()
		fp := regexp.MustCompile(`sha256:[0-9a-f]{64}`).Find(out)
		if err != nil || fp == nil {
			return nil, nil, 0, fmt.Errorf("vgpu serve --print-fingerprint: %v: %s", err, out)
		}
		args = append(args, "--tls-dir", dir)
		client = append(client, "VGPU_SERVER_FINGERPRINT="+string(fp))
	}
	if transport == "shm-file" {
		// A memory file both sides map by path, joined by no descriptor, as QEMU's ivshmem
		// backing file and the guest's BAR are; mode 0600, since the server refuses files
		// others may write.
		shm := fmt.Sprintf("/dev/shm/vgpu-compare-%d", os.Getpid())
		f, err := os.OpenFile(shm, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
		if err == nil {
			err = f.Truncate(shmFileSize)
			f.Close()
		}
		if err != nil {
			return nil, nil, 0, err
		}
		e.shmFiles = append(e.shmFiles, shm)
		args = append(args, "--shm-file", "compare="+shm)
		client = append(client, "VGPU_SHM_FILE="+shm, "VGPU_SHM_NAME=compare")
	}
	log := filepath.Join(e.tmp, "logs", r.Mode+"-vgpu-serve.log")
	r.Logs["vgpu serve"] = log
	env := os.Environ() // the server is the GPU's owner: it keeps this machine's environment
	if e.cfg.verbose {
		env = append(env, "VGPU_LOG_LEVEL=info")
	}
	client = append(client, "VGPU_SERVER="+addr)
	p, err := startProc("vgpu serve", append([]string{e.cfg.vgpuBin()}, append(args, "--listen", addr)...), env, log, false)
	if err != nil {
		return nil, nil, 0, err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if ready() {
			return p, client, mp, nil
		}
		switch {
		case p.exited():
			return p, nil, 0, errors.New("vgpu serve exited before listening")
		case time.Now().After(deadline):
			return p, nil, 0, errors.New("vgpu serve did not listen within a minute")
		case ctx.Err() != nil:
			return p, nil, 0, ctx.Err()
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scrapeMetrics keeps the vgpu server's /metrics beside the logs; best effort.
func (e *runEnv) scrapeMetrics(r *modeResult, port int) {
	cl := &http.Client{Timeout: 5 * time.Second}
	resp, err := cl.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/metrics")
	if err != nil {
		return
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	path := filepath.Join(e.tmp, "logs", r.Mode+"-vgpu-metrics.txt")
	if os.WriteFile(path, data, 0o644) == nil {
		r.Metrics = path
	}
}

// port is the next TCP port from --port that nothing listens on.
func (e *runEnv) port() (int, error) {
	for ; e.nextPort < e.cfg.port+1000 && e.nextPort < 65536; e.nextPort++ {
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(e.nextPort))
		if err == nil {
			ln.Close()
			e.nextPort++
			return e.nextPort - 1, nil
		}
	}
	return 0, fmt.Errorf("no free port from %d", e.cfg.port)
}

// showLogs prints the tails of a failed mode's logs, and keeps them for the JSON report.
func (e *runEnv) showLogs(r *modeResult) {
	r.LogTails = map[string]string{}
	for name, path := range r.Logs {
		t := tail(path, 30)
		r.LogTails[name] = t
		fmt.Fprintf(e.stderr, "---- %s: last lines of %s\n%s\n----\n", r.Mode, name, t)
	}
	if !e.cfg.keep {
		fmt.Fprintln(e.stderr, "ollama-compare: --keep keeps the whole logs")
	}
}
