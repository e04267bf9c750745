// Command vgpu is vgpu's command line: install it into Ollama, run a program under it,
// explain what a runner would see, and show the devices as nvidia-smi does.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"vgpu/doctor"
	"vgpu/ollama"

	"vgpu/probe"
	"vgpu/shim"
	"vgpu/smi"
)

const usage = `usage: vgpu COMMAND [flags]

  install   [--ollama-dir DIR] [--driver-only] [--system] [--config FILE] [--dry-run]
                                                                        put vgpu under Ollama's NVIDIA names (--driver-only:
                                                                        libcuda.so.1 and libnvidia-ml.so.1 only; Ollama's
                                                                        bundled CUDA runtime and cuBLAS run on it)
  uninstall [--ollama-dir DIR] [--dry-run]                              restore Ollama's files exactly
  run [--driver-only] -- PROGRAM [ARGS...]                              run a program under vgpu, no install (--driver-only:
                                                                        vgpu is libcuda.so.1 and NVML only, nothing preloaded)
  doctor    [--ollama-dir DIR] [--json]                                 would Ollama's runners see a GPU? why not?
  smi       [-L] [--query-gpu=F,...] [--format=csv[,noheader][,nounits]]  devices as NVML reports them
  serve     --listen unix:///PATH|tcp://HOST:PORT|vsock://CID:PORT [--backend sim|local] [--token-file FILE] [--metrics HOST:PORT]
            [--tls-dir DIR | --tls-cert FILE --tls-key FILE] [--print-fingerprint] [--metrics-pids] [--metrics-token-file FILE]
            [--client-memory SIZE] [--device-name NAME]                 serve devices to remote clients (TCP off loopback: TLS)
  profiles                                                              list the built-in device profiles
  config                                                                the devices the current environment gives
  testmodel [--size tiny|qwen0.5b|3b] [--type f16|q8_0] [--seed N] [--modelfile] -o FILE.gguf | --list
                                                                        write a GGUF llama model with random weights

The library is found in VGPU_LIBDIR, else in ../lib beside this program.`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	var err error
	code := 0
	switch cmd {
	case "install":
		err = install(args)
	case "uninstall":
		err = uninstall(args)
	case "run":
		err = run(args)
	case "doctor":
		code, err = doctorCmd(args)
	case "smi":
		err = smiCmd(args)
	case "serve":
		err = serve(args)
	case "profiles":
		err = profiles()
	case "config":
		err = config()
	case "testmodel":
		err = testmodelCmd(args)
	case "__probe": // doctor's child, inside a runner's environment
		major, _ := strconv.Atoi(args[1])
		json.NewEncoder(os.Stdout).Encode(doctor.RunProbe(args[0], major))
	case "__ggml": // doctor's child: the backend's ggml registration, in a runner's environment
		json.NewEncoder(os.Stdout).Encode(doctor.RunGGML(args[0]))
	case "-h", "--help", "help":
		fmt.Println(usage)
	default:
		fmt.Fprintf(os.Stderr, "vgpu: unknown command %q\n\n%s\n", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vgpu "+cmd+":", err)
		os.Exit(1)
	}
	os.Exit(code)
}

// libDir is where libvgpu.so and its NVIDIA names are.
func libDir() (string, error) {
	if d := os.Getenv("VGPU_LIBDIR"); d != "" {
		return d, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	exe, _ = filepath.EvalSymlinks(exe)
	d := filepath.Join(filepath.Dir(exe), "..", "lib")
	if _, err := os.Stat(filepath.Join(d, "libvgpu.so")); err != nil {
		return "", fmt.Errorf("no libvgpu.so in %s; set VGPU_LIBDIR", filepath.Clean(d))
	}
	return filepath.Clean(d), nil
}

func ollamaDir(fs *flag.FlagSet, dir string) (string, error) {
	if dir != "" {
		return filepath.Abs(dir)
	}
	return ollama.DefaultDir()
}

func install(args []string) error {
	fs := flag.NewFlagSet("install", flag.ExitOnError)
	dir := fs.String("ollama-dir", "", "Ollama's lib/ollama (default: beside the ollama on PATH)")
	system := fs.Bool("system", false, "also write loader configuration and a systemd drop-in for ollama.service")
	root := fs.String("root", "/", "prefix for --system files (for staging images)")
	cfg := fs.String("config", "", "VGPU_CONFIG for the systemd drop-in")
	driverOnly := fs.Bool("driver-only", false, "replace only libcuda.so.1 and libnvidia-ml.so.1; keep Ollama's bundled libcudart, libcublas and libcublasLt")
	dry := fs.Bool("dry-run", false, "print what would change")
	fs.Parse(args)
	d, err := ollamaDir(fs, *dir)
	if err != nil {
		return err
	}
	lib, err := libDir()
	if err != nil {
		return err
	}
	_, err = ollama.Install(ollama.Options{Dir: d, Library: filepath.Join(lib, "libvgpu.so"), System: *system,
		Root: *root, Config: *cfg, DriverOnly: *driverOnly, DryRun: *dry, Out: os.Stdout})
	return err
}

func uninstall(args []string) error {
	fs := flag.NewFlagSet("uninstall", flag.ExitOnError)
	dir := fs.String("ollama-dir", "", "Ollama's lib/ollama (default: beside the ollama on PATH)")
	dry := fs.Bool("dry-run", false, "print what would change")
	fs.Parse(args)
	d, err := ollamaDir(fs, *dir)
	if err != nil {
		return err
	}
	return ollama.Uninstall(d, os.Stdout, *dry)
}

// run execs the program with vgpu preloaded and its directory first on the library path;
// with --driver-only, with a directory holding only vgpu's driver and NVML names first on
// the library path and nothing preloaded, so the program's own CUDA runtime and libraries
// load and run on vgpu's libcuda.so.1.
func run(args []string) error {
	driverOnly := false
	for len(args) > 0 && args[0] != "--" && strings.HasPrefix(args[0], "-") {
		switch strings.TrimLeft(args[0], "-") {
		case "driver-only":
			driverOnly = true
		default:
			return fmt.Errorf("unknown flag %s; usage: vgpu run [--driver-only] -- PROGRAM [ARGS...]", args[0])
		}
		args = args[1:]
	}
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		return errors.New("usage: vgpu run [--driver-only] -- PROGRAM [ARGS...]")
	}
	lib, err := libDir()
	if err != nil {
		return err
	}
	prog, err := lookPath(args[0])
	if err != nil {
		return err
	}
	env := os.Environ()
	if driverOnly {
		d, err := driverOnlyDir(lib)
		if err != nil {
			return err
		}
		env = setEnv(env, "LD_LIBRARY_PATH", d, ":")
	} else {
		env = setEnv(env, "LD_PRELOAD", filepath.Join(lib, "libvgpu.so"), " ")
		env = setEnv(env, "LD_LIBRARY_PATH", lib, ":")
	}
	return syscall.Exec(prog, args, env)
}

// driverNames are the names vgpu answers to in driver-only mode.
var driverNames = []string{"libcuda.so.1", "libcuda.so", "libnvidia-ml.so.1", "libnvidia-ml.so"}

// driverOnlyDir is a directory holding vgpu under the driver's and NVML's names only (the
// library directory holds the runtime's and cuBLAS's names too): driver-only beside the
// library, made on first use, or in the user's cache when that is not writable.
func driverOnlyDir(lib string) (string, error) {
	target := filepath.Join(lib, "libvgpu.so")
	dirs := []string{filepath.Join(lib, "driver-only")}
	if c, err := os.UserCacheDir(); err == nil {
		dirs = append(dirs, filepath.Join(c, "vgpu", "driver-only"))
	}
	var errs []error
	for _, d := range dirs {
		if err := driverLinks(d, target); err != nil {
			errs = append(errs, err)
			continue
		}
		return d, nil
	}
	return "", fmt.Errorf("no directory for vgpu's driver names: %w", errors.Join(errs...))
}

func driverLinks(d, target string) error {
	if err := os.MkdirAll(d, 0o755); err != nil {
		return err
	}
	for _, name := range driverNames {
		p := filepath.Join(d, name)
		if t, err := os.Readlink(p); err == nil && t == target {
			continue
		}
		os.Remove(p)
		// Another `vgpu run` may make the same link at the same moment.
		if err := os.Symlink(target, p); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	return nil
}

// setEnv prepends value to the variable key, separated by sep.
func setEnv(env []string, key, value, sep string) []string {
	for i, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			if v != "" {
				value += sep + v
			}
			env[i] = key + "=" + value
			return env
		}
	}
	return append(env, key+"="+value)
}

func lookPath(p string) (string, error) {
	if strings.Contains(p, "/") {
		return p, nil
	}
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		c := filepath.Join(d, p)
		if st, err := os.Stat(c); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return c, nil
		}
	}
	return "", fmt.Errorf("%s: not found on PATH", p)
}

func doctorCmd(args []string) (int, error) {
	fs := flag.NewFlagSet("doctor", flag.ExitOnError)
	dir := fs.String("ollama-dir", "", "Ollama's lib/ollama (default: beside the ollama on PATH)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	fs.Parse(args)
	d, err := ollamaDir(fs, *dir)
	if err != nil {
		return 1, err
	}
	exe, _ := os.Executable()
	lib, _ := libDir()
	r := doctor.Run(doctor.Options{Dir: d, Exe: exe, Env: os.Environ(), LibDir: lib})
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(r)
	} else {
		doctor.Print(os.Stdout, r)
	}
	if !r.OK {
		return 1, nil
	}
	return 0, nil
}

func smiCmd(args []string) error {
	fs := flag.NewFlagSet("smi", flag.ExitOnError)
	list := fs.Bool("L", false, "list the GPUs")
	query := fs.String("query-gpu", "", "comma-separated properties, as nvidia-smi --query-gpu")
	format := fs.String("format", "csv", "csv[,noheader][,nounits]")
	nvmlName := fs.String("nvml", "", "NVML to read: a path, or a name the loader resolves (default: vgpu's own)")
	fs.Parse(args)
	name := *nvmlName
	if name == "" {
		lib, err := libDir()
		if err != nil {
			return err
		}
		name = filepath.Join(lib, "libnvidia-ml.so.1")
	}
	s, err := probe.ReadNVML(name)
	if err != nil {
		return fmt.Errorf("NVML: %w", err)
	}
	switch {
	case *list:
		smi.List(os.Stdout, s)
	case *query != "":
		return smi.Query(os.Stdout, s, *query, *format)
	default:
		smi.Table(os.Stdout, s, time.Now())
	}
	return nil
}

func profiles() error {
	ps, err := shim.Profiles()
	if err != nil {
		return err
	}
	for _, p := range ps {
		fmt.Printf("%-16s %-28s cc %d.%d  %3d SMs  %6.1f GiB\n", p.ID, p.Name, p.CC[0], p.CC[1], p.SMs, float64(p.Memory)/(1<<30))
	}
	return nil
}

func config() error {
	s := shim.S()
	if s.Err != nil {
		return s.Err
	}
	fmt.Printf("backend %s, driver %s, CUDA %d.%d\n", s.Config.Backend, s.Config.DriverVersion,
		s.Config.CUDAVersion/1000, s.Config.CUDAVersion%1000/10)
	for i, d := range s.Visible {
		fmt.Printf("%d: %s  %s  %s  %d bytes\n", i, d.Name, d.UUIDString(), d.PCIBusID(), d.Memory)
	}
	return nil
}
