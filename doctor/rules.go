package doctor

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// ggmlAPIVersion is the GGML_BACKEND_API_VERSION of the ggml that loads the backend, in
// Ollama 0.17-0.24's vendored ggml and in the llama.cpp that 0.25+ builds llama-server from;
// ggml_backend_load refuses a backend whose registration reports another.
const ggmlAPIVersion = 2

// ccArch is how llama.cpp's CUDA ARCHS list names a compute capability (9.0 is "900"), and
// how Ollama 0.25+ matches a device against it.
func ccArch(major, minor int) string { return fmt.Sprintf("%d%d0", major, minor) }

// archsList splits the backend's ARCHS feature ("750,800,...,900"); empty when the backend
// does not report one (Ollama then keeps every device, unchecked).
func archsList(archs string) []string {
	var out []string
	for _, a := range strings.Split(archs, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

var cudartName = regexp.MustCompile(`^libcudart\.so\.(\d+)(?:\.(\d+))?`)
var cudaDirName = regexp.MustCompile(`^cuda_v(\d+)$`)

// cudaRuntime is the CUDA runtime version Ollama 0.25+ infers for a variant: the highest
// libcudart.so.M.m among the file names in its library directories, else cuda_vM's M.
func cudaRuntime(dirs []string) (major, minor int, ok bool) {
	major, minor = -1, -1
	better := func(a, b int) {
		if a > major || (a == major && b > minor) {
			major, minor = a, b
		}
	}
	for _, dir := range dirs {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if m := cudartName.FindStringSubmatch(e.Name()); m != nil {
				a, _ := strconv.Atoi(m[1])
				b, _ := strconv.Atoi(m[2]) // 0 when absent
				better(a, b)
			}
		}
		if m := cudaDirName.FindStringSubmatch(filepath.Base(dir)); m != nil {
			a, _ := strconv.Atoi(m[1])
			better(a, 0)
		}
	}
	return major, minor, major >= 0
}

// driverFloor is the oldest NVIDIA driver (major version) on which Ollama 0.25+ keeps a
// device of compute capability ccMajor.x with this CUDA runtime, 0 when it sets none:
// CUDA 12.4+ runtimes may carry compressed fat binaries, which need 550; CUDA 12.8+ JITs
// targets older than 7.0 from PTX, which needs 570.
func driverFloor(rtMajor, rtMinor, ccMajor int) int {
	if rtMajor != 12 {
		return 0
	}
	if rtMinor >= 8 && ccMajor > 0 && ccMajor < 7 {
		return 570
	}
	if rtMinor >= 4 {
		return 550
	}
	return 0
}
