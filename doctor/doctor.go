// Package doctor explains whether Ollama's runners would see a CUDA device, and if not,
// why and what to do: it automates the investigations in the seed documents.
package doctor

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"vgpu/loader"
	"vgpu/ollama"
	"vgpu/probe"
	"vgpu/remote"
)

// Check is one finding.
type Check struct {
	Name   string `json:"name"`
	Status string `json:"status"` // pass, fail, warn
	Detail string `json:"detail"`
	Fix    string `json:"fix"`
}

// Report is the whole answer; OK means a runner would see a CUDA device.
type Report struct {
	OK     bool    `json:"ok"`
	Checks []Check `json:"checks"`
}

// Options say what to examine.
type Options struct {
	Dir    string   // Ollama's lib/ollama
	Exe    string   // this vgpu binary, re-run as the probe child
	Env    []string // the environment ollama serve would have
	LibDir string   // where vgpu's library is, for the fixes
}

// ProbeResult is what the child reports from inside a runner's environment.
type ProbeResult struct {
	DlopenErr string          `json:"dlopen_err,omitempty"`
	CUDA      *probe.CUDAView `json:"cuda,omitempty"`
	CUDAErr   string          `json:"cuda_err,omitempty"`
	NVML      *probe.System   `json:"nvml,omitempty"`
	NVMLErr   string          `json:"nvml_err,omitempty"`
}

// RunProbe is the child side: run with the runner's environment by Run.
func RunProbe(backend string, major int) ProbeResult {
	var r ProbeResult
	if _, err := probe.Open(backend); err != nil {
		r.DlopenErr = err.Error()
	}
	var err error
	if r.CUDA, err = probe.ReadCUDA("libcuda.so.1", fmt.Sprintf("libcudart.so.%d", major)); err != nil {
		r.CUDAErr = err.Error()
	}
	if r.NVML, err = probe.ReadNVML("libnvidia-ml.so.1"); err != nil {
		r.NVMLErr = err.Error()
	}
	return r
}

// GGMLResult is what the ggml child reports: the backend's registration, read as ggml does.
type GGMLResult struct {
	Backend *probe.GGMLBackend `json:"backend,omitempty"`
	Err     string             `json:"err,omitempty"`
}

// RunGGML is the child side of the registration check: ggml_backend_init initialises CUDA,
// and a backend built against another ggml may crash there, so it runs apart from RunProbe.
func RunGGML(backend string) GGMLResult {
	b, err := probe.ReadGGMLBackend(backend)
	if err != nil {
		return GGMLResult{Err: err.Error()}
	}
	return GGMLResult{Backend: b}
}

type doc struct {
	o          Options
	driverOnly bool // vgpu serves as libcuda.so.1 and NVML only; the bundled runtime stays
	env        map[string]string
	checks     []Check
	layout     layout
	server     string // lib/ollama/llama-server in the 0.25+ layout

	listTimeout time.Duration // for each llama-server run; 0 is listDevicesTimeout
}

func (d *doc) add(name, status, detail, fix string) {
	d.checks = append(d.checks, Check{name, status, detail, fix})
}

// Run examines the installation.
func Run(o Options) Report {
	d := &doc{o: o, env: map[string]string{}}
	for _, kv := range o.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			d.env[k] = v
		}
	}
	installFix := fmt.Sprintf("run `vgpu install --ollama-dir %s`, or start Ollama as `vgpu run -- ollama serve`", o.Dir)
	vs, err := ollama.Variants(o.Dir)
	if err != nil || len(vs) == 0 {
		d.add("ollama-dir", "fail", fmt.Sprintf("%s: no cuda_vNN directory (%v)", o.Dir, err),
			"pass --ollama-dir with Ollama's lib/ollama (the directory holding libggml-base.so and cuda_v12/cuda_v13)")
		return d.report(false)
	}
	var names []string
	for _, v := range vs {
		names = append(names, filepath.Base(v.Dir))
	}
	d.add("ollama-dir", "pass", fmt.Sprintf("%s with %s", o.Dir, strings.Join(names, ", ")), "")
	d.mode(vs)
	if d.driverOnly {
		installFix = fmt.Sprintf("run `vgpu install --driver-only --ollama-dir %s`, or start Ollama as `vgpu run --driver-only -- ollama serve`", o.Dir)
	}
	if !d.checkLayout(vs) {
		return d.report(false)
	}
	if d.env["VGPU_BACKEND"] == "remote" && !d.remoteServer() {
		return d.report(false)
	}
	if lib, ok := d.env["OLLAMA_LLM_LIBRARY"]; ok && lib != "" {
		if st, err := os.Stat(filepath.Join(o.Dir, lib)); err != nil || !st.IsDir() {
			d.add("OLLAMA_LLM_LIBRARY", "fail", fmt.Sprintf("OLLAMA_LLM_LIBRARY=%s names no directory under %s: Ollama then loads no GPU backend and says nothing", lib, o.Dir),
				fmt.Sprintf("unset OLLAMA_LLM_LIBRARY, or set it to one of: %s", strings.Join(names, ", ")))
			return d.report(false)
		}
		var keep []ollama.Variant
		for _, v := range vs {
			if filepath.Base(v.Dir) == lib {
				keep = append(keep, v)
			}
		}
		vs = keep
		if len(vs) == 0 {
			d.add("OLLAMA_LLM_LIBRARY", "fail", fmt.Sprintf("OLLAMA_LLM_LIBRARY=%s pins Ollama to a library that is not CUDA: it loads no CUDA backend", lib),
				fmt.Sprintf("unset OLLAMA_LLM_LIBRARY, or set it to one of: %s", strings.Join(names, ", ")))
			return d.report(false)
		}
		d.add("OLLAMA_LLM_LIBRARY", "pass", "pinned to "+lib, "")
	}
	anyOK := false
	var seen *ProbeResult
	for _, v := range vs {
		if d.variant(v, installFix, &seen) {
			anyOK = true
		}
	}
	if seen != nil && seen.NVML != nil && !d.uniquePCIIDs(seen.NVML) {
		anyOK = false
	}
	return d.report(anyOK)
}

func (d *doc) report(ok bool) Report { return Report{OK: ok, Checks: d.checks} }

// mode finds and reports how vgpu is installed: the installation's record, else the
// environment (`vgpu run` preloads vgpu in the full mode; `vgpu run --driver-only` puts a
// directory with vgpu's libcuda.so.1 alone on the library path).
func (d *doc) mode(vs []ollama.Variant) {
	if m, err := ollama.ReadManifest(d.o.Dir); err == nil {
		d.driverOnly = m.Mode() == ollama.ModeDriverOnly
		what := "vgpu is every NVIDIA library the runners load (bundled runtime and cuBLAS set aside)"
		if d.driverOnly {
			what = "vgpu is libcuda.so.1 and libnvidia-ml.so.1 only; Ollama's bundled CUDA runtime and cuBLAS run on it"
		}
		d.add("mode", "pass", fmt.Sprintf("installed in the %s mode (%s): %s", m.Mode(), ollama.ManifestName, what), "")
		return
	}
	for _, p := range loader.SplitPreload(d.env["LD_PRELOAD"]) {
		if in, err := loader.Read(p); err == nil && in.IsVGPU {
			d.add("mode", "pass", "not installed; vgpu is preloaded ("+p+"): the full mode, as `vgpu run` gives it", "")
			return
		}
	}
	if len(vs) > 0 {
		v := vs[0]
		env := loader.Env{LibraryPath: loader.SplitPath(ollama.RunnerLibraryPath(d.o.Dir, v, d.env["LD_LIBRARY_PATH"]))}
		drv := loader.Resolve("libcuda.so.1", nil, env)
		rt := loader.Resolve(fmt.Sprintf("libcudart.so.%d", v.Major), nil, env)
		if drv.Info != nil && drv.Info.IsVGPU && (rt.Info == nil || !rt.Info.IsVGPU) {
			d.driverOnly = true
			d.add("mode", "pass", "not installed; libcuda.so.1 on the library path is vgpu's ("+drv.Path+") and the runtime is not: the driver-only mode, as `vgpu run --driver-only` gives it", "")
			return
		}
	}
	d.add("mode", "warn", "vgpu is not installed in "+d.o.Dir+" and not in this environment",
		fmt.Sprintf("run `vgpu install --ollama-dir %s` (full mode) or `vgpu install --driver-only --ollama-dir %s` (keeps Ollama's CUDA runtime and cuBLAS)", d.o.Dir, d.o.Dir))
}

// servedRuntime says whether vgpu's libcuda.so.1 serves NVIDIA's runtime of this major
// version: CUDA 11 and 12's runtimes (in CI, Debian's 11.8 and 12.4) and CUDA 13.0's (on the
// GPU machine, static and shared: it asks for one table vgpu declines, f8cff951, and carries
// on without it). A later runtime may ask for tables vgpu has never seen.
func servedRuntime(major int) bool { return major >= 11 && major <= 13 }

// runtimeCheck, in driver-only mode, checks that the variant's bundled runtime is one vgpu's
// libcuda.so.1 can serve.
func (d *doc) runtimeCheck(tag string, v ollama.Variant) bool {
	// The variant's own runtime file: cudaRuntime would also read a version from the
	// directory's name, which is no runtime.
	hasRuntime := false
	ents, _ := os.ReadDir(v.Dir)
	for _, e := range ents {
		hasRuntime = hasRuntime || cudartName.MatchString(e.Name())
	}
	major, minor, _ := cudaRuntime([]string{v.Dir})
	if !hasRuntime {
		d.add(tag+"/runtime", "fail", "driver-only mode, but "+v.Dir+" holds no libcudart.so.*: the runner has no CUDA runtime of its own",
			fmt.Sprintf("reinstall Ollama's lib/ollama, or use the full mode: `vgpu install --ollama-dir %s` (vgpu is the runtime too)", d.o.Dir))
		return false
	}
	if !servedRuntime(major) {
		d.add(tag+"/runtime", "fail", fmt.Sprintf("driver-only mode with the bundled CUDA %d.%d runtime: vgpu's libcuda.so.1 has served NVIDIA's CUDA 11, 12 and 13 runtimes only; CUDA %d's may ask for private export tables vgpu does not know, and then fails its first call", major, minor, major),
			fmt.Sprintf("use the full mode: `vgpu install --ollama-dir %s` (or `vgpu run -- ollama serve`), or pin a CUDA 12 or 13 variant with OLLAMA_LLM_LIBRARY", d.o.Dir))
		return false
	}
	d.add(tag+"/runtime", "pass", fmt.Sprintf("bundled CUDA %d.%d runtime: vgpu's libcuda.so.1 answers its private export tables", major, minor), "")
	return true
}

// remoteServer checks the server a remote client would use: reachable, accepting the token,
// speaking this version, with devices, and how long a round trip takes.
func (d *doc) remoteServer() bool {
	server := d.env["VGPU_SERVER"]
	if server == "" {
		d.add("remote-server", "fail", "VGPU_BACKEND=remote but VGPU_SERVER is not set",
			"set VGPU_SERVER=unix:///path, tcp://host:port or vsock://cid:port: where `vgpu serve --listen` listens")
		return false
	}
	r, err := remote.Ping(server, d.env["VGPU_TOKEN"], remote.Secure{CA: d.env["VGPU_SERVER_CA"], Fingerprint: d.env["VGPU_SERVER_FINGERPRINT"]})
	if err != nil {
		d.add("remote-server", "fail", fmt.Sprintf("%s: %v", server, err),
			"start `vgpu serve --listen "+server+" --backend local` on the GPU host (TCP and vsock also need --token-file, and VGPU_TOKEN here; across hosts --tls-dir there, and VGPU_SERVER_FINGERPRINT here)")
		return false
	}
	if len(r.Devices) == 0 {
		d.add("remote-server", "fail", server+" answers but serves no device", "check `vgpu serve`'s log and CUDA_VISIBLE_DEVICES on the GPU host")
		return false
	}
	d.add("remote-server", "pass", fmt.Sprintf("%s serves %d device(s), %s first; round trip %v", server, len(r.Devices),
		r.Devices[0].Name, r.RoundTrip.Round(time.Microsecond)), "")
	return true
}

// variant checks one cuda_vNN directory; it reports whether its runner would see a device.
func (d *doc) variant(v ollama.Variant, installFix string, seen **ProbeResult) bool {
	tag := filepath.Base(v.Dir)
	backends := v.Backends()
	if len(backends) == 0 {
		d.add(tag+"/backend", "fail", "no libggml-cuda*.so in "+v.Dir, "reinstall Ollama's CUDA backend")
		return false
	}
	// Ollama's own build is libggml-cuda.so; other files beside it are checked for loading only.
	sort.SliceStable(backends, func(i, j int) bool {
		return filepath.Base(backends[i]) == "libggml-cuda.so" && filepath.Base(backends[j]) != "libggml-cuda.so"
	})
	backend := backends[0]
	bi, err := loader.Read(backend)
	if err != nil {
		d.add(tag+"/backend", "fail", fmt.Sprintf("%s: %v", backend, err), "reinstall Ollama's CUDA backend")
		return false
	}
	env := loader.Env{
		Preload:     loader.SplitPreload(d.env["LD_PRELOAD"]),
		LibraryPath: loader.SplitPath(ollama.RunnerLibraryPath(d.o.Dir, v, d.env["LD_LIBRARY_PATH"])),
	}
	// 1. Which file each NVIDIA name resolves to in the runner.
	var preloadVGPU *loader.Info
	for _, p := range env.Preload {
		if in, err := loader.Read(p); err == nil && in.IsVGPU {
			preloadVGPU = in
		}
	}
	wanted := []string{"libcuda.so.1", fmt.Sprintf("libcudart.so.%d", v.Major), fmt.Sprintf("libcublas.so.%d", v.Major), "libnvidia-ml.so.1"}
	var lines []string
	providers := map[string]*loader.Info{}
	libsOK := true
	for _, name := range wanted {
		r := loader.Resolve(name, bi, env)
		lines = append(lines, r.Describe())
		bundledName := name == wanted[1] || name == wanted[2]
		switch {
		case d.driverOnly && bundledName:
			// Driver-only: the runtime and cuBLAS are Ollama's own, found in the variant.
			if r.Info == nil {
				libsOK = false
				lines[len(lines)-1] += " (driver-only mode needs Ollama's bundled " + name + ")"
			} else {
				providers[name] = r.Info
				if r.Info.IsVGPU || preloadVGPU != nil {
					libsOK = false
					lines[len(lines)-1] += " (driver-only mode expects Ollama's own " + name + ", not vgpu's)"
				}
			}
		case r.Info != nil && r.Info.IsVGPU:
			providers[name] = r.Info
		case preloadVGPU != nil && name != "libnvidia-ml.so.1":
			providers[name] = preloadVGPU // loaded, but every symbol binds to the preloaded vgpu first
		case preloadVGPU != nil && r.Path == "":
			libsOK = false // dlopen("libnvidia-ml.so.1") fails: ggml falls back to cudaMemGetInfo
		default:
			libsOK = false
			if r.Info != nil {
				providers[name] = r.Info
			}
		}
	}
	detail := strings.Join(lines, "; ")
	if preloadVGPU != nil {
		detail += "; vgpu is preloaded (" + preloadVGPU.Path + "), so its symbols bind first"
	}
	// Driver-only: the bundled runtime must be one vgpu's libcuda.so.1 can serve.
	runtimeOK := !d.driverOnly || d.runtimeCheck(tag, v)
	libsCheck := len(d.checks)
	if libsOK {
		d.add(tag+"/libraries", "pass", detail, "")
	} else {
		d.add(tag+"/libraries", "fail", detail, installFix)
	}
	// 2. Symbol versions: every import of the backend from a CUDA library must be defined.
	imports, _ := loader.Imports(backend)
	var missing []string
	for _, im := range imports {
		var lib string
		switch {
		case strings.HasPrefix(im.Library, "libcudart"):
			lib = wanted[1]
		case strings.HasPrefix(im.Library, "libcublas"):
			lib = wanted[2]
		case strings.HasPrefix(im.Library, "libcuda."):
			lib = wanted[0]
		default:
			continue
		}
		p := providers[lib]
		if p == nil || !p.Defines(im.Name, im.Version) {
			missing = append(missing, im.Name+"@"+im.Version)
		}
	}
	switch {
	case len(missing) == 0:
		d.add(tag+"/symbols", "pass", fmt.Sprintf("every CUDA import of %s is defined at its version", filepath.Base(backend)), "")
	default:
		sort.Strings(missing)
		if len(missing) > 8 {
			missing = append(missing[:8], fmt.Sprintf("... %d more", len(missing)-8))
		}
		d.add(tag+"/symbols", "fail", "undefined for the runner: "+strings.Join(missing, ", "), installFix)
	}
	// 3. The real dlopen, in a child with the runner's environment.
	res, err := d.child(backend, v, env)
	if err != nil {
		d.add(tag+"/dlopen", "fail", "probe did not run: "+err.Error(), "report this as a vgpu bug")
		return false
	}
	if res.DlopenErr != "" {
		d.add(tag+"/dlopen", "fail", "dlopen(RTLD_NOW) failed: "+res.DlopenErr+" (Ollama 0.17 hides this and falls back to the CPU)", installFix)
		d.discovery(tag, v, installFix) // what Ollama 0.25+ then shows: no CUDA device
		return false
	}
	d.add(tag+"/dlopen", "pass", "dlopen(RTLD_NOW) of "+backend+" succeeds", "")
	// ggml loads every backend file of the directory; one that fails is skipped without a word.
	for _, other := range backends[1:] {
		if r, err := d.child(other, v, env); err == nil && r.DlopenErr != "" {
			d.add(tag+"/dlopen", "warn", "dlopen(RTLD_NOW) of "+other+" failed: "+r.DlopenErr+" (Ollama skips it silently)", installFix)
		}
	}
	// 4. The registration ggml_backend_load reads: API version and compiled ARCHS.
	reg, apiOK := d.registration(tag, backend, v, env)
	// 5. Devices through each API, as the runner sees them.
	if *seen == nil {
		*seen = &res
	}
	sees := d.devices(tag, v, res, reg) && apiOK
	// 7. Ollama 0.25+'s own discovery, run: the files can look right and llama-server still
	// find nothing (and the reverse), so its answer is required too.
	if !d.discovery(tag, v, installFix) {
		sees = false
	}
	if !runtimeOK {
		sees = false
	}
	if sees && !libsOK {
		// Another CUDA implementation (a real driver) serves the runner: not a failure, but not vgpu.
		c := &d.checks[libsCheck]
		c.Status = "warn"
		c.Detail += "; the runner sees a device anyway, through these libraries rather than vgpu"
	}
	return sees
}

// discovery runs llama-server's device listing for a variant of the 0.25+ layout (true for
// older layouts, whose runners load the backend themselves: the checks above are theirs).
func (d *doc) discovery(tag string, v ollama.Variant, installFix string) bool {
	if d.layout != layoutLlamaServer {
		return true
	}
	// Ollama names this file in GGML_BACKEND_PATH; any other libggml-cuda*.so is not loaded.
	if _, err := os.Stat(filepath.Join(v.Dir, "libggml-cuda.so")); err != nil {
		d.add(tag+"/llama-server", "fail", fmt.Sprintf("no %s: Ollama 0.25+ points llama-server at that file only, so this variant finds no CUDA device",
			filepath.Join(v.Dir, "libggml-cuda.so")), "reinstall Ollama's lib/ollama")
		return false
	}
	return d.llamaServer(tag, v, installFix)
}

func (d *doc) devices(tag string, v ollama.Variant, res ProbeResult, reg *probe.GGMLBackend) bool {
	cvd, cvdSet := d.env["CUDA_VISIBLE_DEVICES"]
	hideFix := ""
	if cvdSet {
		hideFix = fmt.Sprintf("CUDA_VISIBLE_DEVICES=%q hides devices: unset it, or name a device by index or GPU-<uuid> (see `vgpu smi -L`)", cvd)
	}
	if res.CUDAErr != "" || res.CUDA == nil || res.CUDA.DriverCount == 0 {
		fix := hideFix
		if fix == "" {
			fix = "check `vgpu config` and VGPU_* settings; VGPU_LOG_LEVEL=debug shows why"
		}
		d.add(tag+"/devices", "fail", fmt.Sprintf("the driver API reports no device (%s)", res.CUDAErr), fix)
		return false
	}
	c := res.CUDA
	var parts []string
	for i, dev := range c.Devices {
		parts = append(parts, fmt.Sprintf("%d: %s cc %d.%d %d MiB free of %d MiB at %s", i, dev.Name, dev.CCMajor, dev.CCMinor, dev.Free>>20, dev.Total>>20, dev.BusID))
	}
	detail := fmt.Sprintf("driver %d device(s), runtime %d", c.DriverCount, c.RuntimeCount)
	if res.NVML != nil {
		detail += fmt.Sprintf(", NVML %d (driver %s)", len(res.NVML.GPUs), res.NVML.Driver)
	} else {
		detail += ", NVML unavailable: " + res.NVMLErr
	}
	detail += ": " + strings.Join(parts, "; ")
	agree := c.DriverCount == c.RuntimeCount && (res.NVML == nil || len(res.NVML.GPUs) == c.DriverCount)
	for _, dev := range c.Devices {
		if !strings.EqualFold(dev.BusID, dev.RuntimeBusID) {
			agree = false
		}
	}
	if !agree {
		d.add(tag+"/devices", "fail", "the APIs disagree: "+detail, "the runner loads more than one CUDA implementation; "+
			fmt.Sprintf("run `vgpu install --ollama-dir %s`", d.o.Dir))
		return false
	}
	d.add(tag+"/devices", "pass", detail, "")
	ok := true
	if d.layout == layoutLlamaServer {
		ok = d.archs(tag, c, reg)
		if !d.driver(tag, v, c, res) {
			ok = false
		}
		return ok
	}
	// 6. Compute capability compiled into this variant (GGML_CUDA_INIT=1 asserts it).
	for i, dev := range c.Devices {
		cc := dev.CCMajor*10 + dev.CCMinor
		if !slices.Contains(ollama.Archs[v.Major], cc) {
			ok = false
			d.add(tag+"/compute-capability", "warn", fmt.Sprintf("device %d is cc %d.%d, which %s does not compile (%v): its validation runner aborts and Ollama drops the device here",
				i, dev.CCMajor, dev.CCMinor, tag, ollama.Archs[v.Major]), "use a profile with cc 7.5, 8.0, 8.6, 8.9, 9.0 or 12.0 (VGPU_PROFILE), which every variant compiles")
		}
	}
	if ok {
		d.add(tag+"/compute-capability", "pass", fmt.Sprintf("every device's cc is compiled into %s", tag), "")
	}
	return ok
}

// registration loads the backend in a child with the runner's environment and checks the
// API version its registration reports against the one ggml_backend_load accepts.
func (d *doc) registration(tag, backend string, v ollama.Variant, env loader.Env) (*probe.GGMLBackend, bool) {
	var r GGMLResult
	err := d.runChild(&r, env, "__ggml", backend)
	switch {
	case err != nil:
		d.add(tag+"/api-version", "fail", "ggml_backend_init of "+filepath.Base(backend)+" did not return: "+err.Error()+" (llama-server or Ollama's probe would die the same way)",
			"install the backend built with Ollama's own ggml (reinstall Ollama's lib/ollama)")
		return nil, false
	case r.Err != "":
		d.add(tag+"/api-version", "fail", r.Err, "install the backend built with Ollama's own ggml (reinstall Ollama's lib/ollama)")
		return nil, false
	case r.Backend.APIVersion != ggmlAPIVersion:
		d.add(tag+"/api-version", "fail", fmt.Sprintf("%s reports ggml backend API version %d; Ollama's ggml accepts only %d, rejects the backend and runs on the CPU",
			filepath.Base(backend), r.Backend.APIVersion, ggmlAPIVersion),
			fmt.Sprintf("replace %s with a backend built from the same llama.cpp as Ollama's llama-server and libggml-base.so", backend))
		return r.Backend, false
	}
	d.add(tag+"/api-version", "pass", fmt.Sprintf("ggml backend API version %d", r.Backend.APIVersion), "")
	return r.Backend, true
}

// archs checks each device's compute capability against the ARCHS the backend reports:
// Ollama 0.25+ keeps a CUDA device only if its cc appears there exactly.
func (d *doc) archs(tag string, c *probe.CUDAView, reg *probe.GGMLBackend) bool {
	if reg == nil {
		return false
	}
	list := archsList(reg.Features["ARCHS"])
	if len(list) == 0 {
		d.add(tag+"/compute-capability", "warn", "the backend reports no ARCHS: Ollama keeps every device unchecked, and kernels may be missing at run time", "")
		return true
	}
	ok := true
	for i, dev := range c.Devices {
		if a := ccArch(dev.CCMajor, dev.CCMinor); !slices.Contains(list, a) {
			ok = false
			d.add(tag+"/compute-capability", "fail", fmt.Sprintf("device %d is cc %d.%d (%s), not in the backend's ARCHS (%s): Ollama skips the device",
				i, dev.CCMajor, dev.CCMinor, a, strings.Join(list, ",")),
				fmt.Sprintf("install a backend compiled for %s (a newer Ollama's %s), or use a profile whose cc it lists (VGPU_PROFILE; `vgpu profiles`)", a, tag))
		}
	}
	if ok {
		d.add(tag+"/compute-capability", "pass", fmt.Sprintf("every device's cc is in the backend's ARCHS (%s)", strings.Join(list, ",")), "")
	}
	return ok
}

// driver applies Ollama 0.25+'s driver floor for the variant's CUDA runtime.
func (d *doc) driver(tag string, v ollama.Variant, c *probe.CUDAView, res ProbeResult) bool {
	rtMajor, rtMinor, known := cudaRuntime([]string{d.o.Dir, v.Dir})
	if !known || res.NVML == nil {
		return true
	}
	var drv int
	fmt.Sscanf(res.NVML.Driver, "%d", &drv)
	ok := true
	for i, dev := range c.Devices {
		floor := driverFloor(rtMajor, rtMinor, dev.CCMajor)
		if floor == 0 || drv >= floor {
			continue
		}
		ok = false
		d.add(tag+"/driver", "fail", fmt.Sprintf("NVML reports driver %s; with CUDA runtime %d.%d Ollama needs %d or newer for device %d (cc %d.%d), and skips it",
			res.NVML.Driver, rtMajor, rtMinor, floor, i, dev.CCMajor, dev.CCMinor),
			fmt.Sprintf("set VGPU_DRIVER_VERSION to %d.xx or newer (the host's real driver when VGPU_BACKEND is remote or local must be as new)", floor))
	}
	if ok {
		d.add(tag+"/driver", "pass", fmt.Sprintf("driver %s, CUDA runtime %d.%d", res.NVML.Driver, rtMajor, rtMinor), "")
	}
	return ok
}

// uniquePCIIDs checks that no two devices share a PCI id, which Ollama would merge into one.
// vgpu's own devices never do (device i is on bus base+i); another NVML beside it can.
func (d *doc) uniquePCIIDs(s *probe.System) bool {
	seen := map[string]int{}
	for _, g := range s.GPUs {
		if j, dup := seen[strings.ToLower(g.BusID)]; dup {
			d.add("pci-ids", "fail", fmt.Sprintf("devices %d and %d share PCI id %s: Ollama merges them into one", j, g.Index, g.BusID),
				"make sure one NVML serves the runner: `vgpu doctor` lists which libnvidia-ml.so.1 it loads; run `vgpu install` to make it vgpu's")
			return false
		}
		seen[strings.ToLower(g.BusID)] = g.Index
	}
	d.add("pci-ids", "pass", fmt.Sprintf("%d device(s), each with its own PCI id", len(s.GPUs)), "")
	return true
}

// child re-runs this binary as `vgpu __probe` inside the runner's environment.
func (d *doc) child(backend string, v ollama.Variant, env loader.Env) (ProbeResult, error) {
	var r ProbeResult
	return r, d.runChild(&r, env, "__probe", backend, fmt.Sprint(v.Major))
}

// environ is the environment doctor checks in, with the KEY=VALUE settings in set replacing
// any of the same keys.
func (d *doc) environ(set ...string) []string {
	replaced := map[string]bool{}
	for _, kv := range set {
		k, _, _ := strings.Cut(kv, "=")
		replaced[k] = true
	}
	var env []string
	for k, val := range d.env {
		if !replaced[k] {
			env = append(env, k+"="+val)
		}
	}
	return append(env, set...)
}

// runChild runs `vgpu <args>` with the runner's environment and decodes its JSON answer.
func (d *doc) runChild(into any, env loader.Env, args ...string) error {
	cmd := exec.Command(d.o.Exe, args...)
	cmd.Env = d.environ("LD_LIBRARY_PATH=" + strings.Join(env.LibraryPath, ":"))
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return json.Unmarshal(out, into)
}

// Print writes the report for people.
func Print(w *os.File, r Report) {
	for _, c := range r.Checks {
		fmt.Fprintf(w, "[%s] %s: %s\n", strings.ToUpper(c.Status), c.Name, c.Detail)
		if c.Fix != "" && c.Status != "pass" {
			fmt.Fprintf(w, "       fix: %s\n", c.Fix)
		}
	}
	if r.OK {
		fmt.Fprintln(w, "OK: Ollama's runners would see a CUDA device")
	} else {
		fmt.Fprintln(w, "NOT OK: Ollama's runners would not see a CUDA device (see the fixes above)")
	}
}
