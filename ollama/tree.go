// Package ollama knows how an Ollama installation lays out its libraries and how its
// runners find them, and installs vgpu into that layout reversibly.
package ollama

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
)

// Variant is one CUDA backend directory, e.g. lib/ollama/cuda_v13.
type Variant struct {
	Dir   string
	Major int // 12 or 13
}

// The NVIDIA libraries Ollama bundles in each variant directory (it copies the runtime
// dependencies matching cublas, cublasLt and cudart), and every name they appear under.
var bundled = regexp.MustCompile(`^lib(cudart|cublas|cublasLt)\.so(\..+)?$`)

var variantRe = regexp.MustCompile(`^cuda_v(\d+)$`)

// Variants lists the CUDA variant directories under dir (lib/ollama).
func Variants(dir string) ([]Variant, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []Variant
	for _, e := range ents {
		m := variantRe.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() {
			continue
		}
		major, _ := strconv.Atoi(m[1])
		out = append(out, Variant{Dir: filepath.Join(dir, e.Name()), Major: major})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Major < out[j].Major })
	return out, nil
}

// Backends lists the libggml-cuda*.so files of a variant.
func (v Variant) Backends() []string {
	m, _ := filepath.Glob(filepath.Join(v.Dir, "libggml-cuda*.so"))
	return m
}

// Names are the NVIDIA library names vgpu answers to in this variant.
func (v Variant) Names() []string {
	return []string{fmt.Sprintf("libcudart.so.%d", v.Major), fmt.Sprintf("libcublas.so.%d", v.Major), fmt.Sprintf("libcublasLt.so.%d", v.Major)}
}

// TopNames are the names vgpu answers to in lib/ollama itself, which every runner searches
// first: the driver and NVML are not bundled, so they are found there.
var TopNames = []string{"libcuda.so.1", "libcuda.so", "libnvidia-ml.so.1", "libnvidia-ml.so"}

// RunnerLibraryPath is the LD_LIBRARY_PATH Ollama gives a runner for variant v: its own
// directories first, then the user's (see ollama-callmap §2.1 item 5 and §3.2).
func RunnerLibraryPath(dir string, v Variant, user string) string {
	p := dir + ":" + v.Dir
	if user != "" {
		p += ":" + user
	}
	return p
}

// DefaultDir is lib/ollama next to the ollama on PATH (<bin>/../lib/ollama).
func DefaultDir() (string, error) {
	bin, err := exec.LookPath("ollama")
	if err != nil {
		return "", fmt.Errorf("no ollama on PATH; pass --ollama-dir DIR (Ollama's lib/ollama)")
	}
	if real, err := filepath.EvalSymlinks(bin); err == nil {
		bin = real
	}
	for _, cand := range []string{
		filepath.Join(filepath.Dir(bin), "..", "lib", "ollama"),
		filepath.Join(filepath.Dir(bin), "lib", "ollama"),
		filepath.Join(filepath.Dir(bin), "build", "lib", "ollama"),
	} {
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			return filepath.Clean(cand), nil
		}
	}
	return "", fmt.Errorf("found %s but no lib/ollama beside it; pass --ollama-dir", bin)
}

// Archs are the compute capabilities (major*10+minor) each released variant compiles, from
// Ollama's CMake presets (0.17 through 0.33).
var Archs = map[int][]int{
	12: {50, 52, 60, 61, 70, 75, 80, 86, 89, 90, 100, 120},
	13: {75, 80, 86, 87, 89, 90, 100, 103, 110, 120, 121},
}
