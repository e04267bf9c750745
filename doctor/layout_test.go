package doctor

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/ollama"
	"vgpu/probe"
)

// cc builds a shared library from C source at path.
func cc(t *testing.T, path, src string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	cmd := exec.Command("gcc", "-shared", "-fPIC", "-x", "c", "-o", path, "-")
	cmd.Stdin = strings.NewReader(src)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
}

// An upstream llama.cpp backend imports nothing Ollama-specific; Ollama 0.17-0.24's
// vendored one imports ggml_nvml_init from its ggml-base.
const upstreamSrc = "void *ggml_backend_init(void) { return 0; }\n"
const vendoredSrc = "int ggml_nvml_init(void);\nint probe_nvml(void) { return ggml_nvml_init(); }\n"

func tree(t *testing.T, backend string, top ...string) (string, []ollama.Variant) {
	dir := t.TempDir()
	cc(t, filepath.Join(dir, "cuda_v13", "libggml-cuda.so"), backend)
	for _, name := range top {
		if name == "llama-server" {
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755))
			continue
		}
		cc(t, filepath.Join(dir, name), "int x;\n")
	}
	vs, err := ollama.Variants(dir)
	require.NoError(t, err)
	return dir, vs
}

func status(d *doc, name string) string {
	for _, c := range d.checks {
		if c.Name == name {
			return c.Status
		}
	}
	return ""
}

func TestUpstreamBackendWithoutLlamaServerFails(t *testing.T) {
	dir, vs := tree(t, upstreamSrc, "libggml-base.so", "libggml.so")
	d := &doc{o: Options{Dir: dir}}
	assert.False(t, d.checkLayout(vs))
	assert.Equal(t, "fail", status(d, "layout"))
	assert.Contains(t, d.checks[0].Detail, "cuda_v13/libggml-cuda.so is built from upstream llama.cpp for llama-server")
	assert.Contains(t, d.checks[0].Fix, "llama-server")
}

func TestVendoredBackendNeedsNoLlamaServerButGGMLBase(t *testing.T) {
	dir, vs := tree(t, vendoredSrc)
	d := &doc{o: Options{Dir: dir}}
	assert.False(t, d.checkLayout(vs), "no libggml-base.so")
	assert.Equal(t, "pass", status(d, "layout"))
	assert.Equal(t, layoutRunner, d.layout)
	assert.Equal(t, "fail", status(d, "ggml-libraries"))

	dir, vs = tree(t, vendoredSrc, "libggml-base.so")
	d = &doc{o: Options{Dir: dir}}
	assert.True(t, d.checkLayout(vs), "the vendored runner needs no libggml.so")
}

func TestLlamaServerLayoutNeedsGGMLBaseAndGGML(t *testing.T) {
	dir, vs := tree(t, upstreamSrc, "llama-server", "libggml-base.so")
	d := &doc{o: Options{Dir: dir}}
	assert.False(t, d.checkLayout(vs))
	assert.Equal(t, layoutLlamaServer, d.layout)
	assert.Equal(t, "fail", status(d, "ggml-libraries"))
	assert.Contains(t, d.checks[len(d.checks)-1].Detail, "no libggml.so")

	// A versioned file counts, as Ollama's probe globs lib<name>.so.*.
	dir, vs = tree(t, upstreamSrc, "llama-server", "libggml-base.so", "libggml.so.0")
	d = &doc{o: Options{Dir: dir}}
	assert.True(t, d.checkLayout(vs))
}

func TestLlamaServerMustBeExecutable(t *testing.T) {
	dir, vs := tree(t, upstreamSrc, "llama-server", "libggml-base.so", "libggml.so")
	require.NoError(t, os.Chmod(filepath.Join(dir, "llama-server"), 0o644))
	d := &doc{o: Options{Dir: dir}}
	assert.False(t, d.checkLayout(vs))
	assert.Equal(t, "fail", status(d, "layout"))
}

func TestDeviceMustBeInBackendARCHS(t *testing.T) {
	h100 := &probe.CUDAView{Devices: []probe.CUDADevice{{CCMajor: 9, CCMinor: 0}}}
	d := &doc{}
	assert.False(t, d.archs("cuda_v12", h100, &probe.GGMLBackend{Features: map[string]string{"ARCHS": "500,610,700,750,800,860,890"}}))
	assert.Equal(t, "fail", d.checks[0].Status)
	assert.Contains(t, d.checks[0].Detail, "cc 9.0 (900)")

	d = &doc{}
	assert.True(t, d.archs("cuda_v13", h100, &probe.GGMLBackend{Features: map[string]string{"ARCHS": "750,800,860,890,900,1200,1210"}}))
	assert.Equal(t, "pass", d.checks[0].Status)

	// 90 is not 900: the match is exact.
	d = &doc{}
	assert.False(t, d.archs("x", h100, &probe.GGMLBackend{Features: map[string]string{"ARCHS": "90,9000"}}))

	// No ARCHS: Ollama disables the filter, doctor warns.
	d = &doc{}
	assert.True(t, d.archs("x", h100, &probe.GGMLBackend{Features: map[string]string{}}))
	assert.Equal(t, "warn", d.checks[0].Status)
}

func TestDriverFloorFollowsOllama032(t *testing.T) {
	for _, c := range []struct{ rtMajor, rtMinor, cc, want int }{
		{12, 3, 9, 0},   // before compressed fat binaries
		{12, 4, 9, 550}, // compressed fat binaries
		{12, 8, 9, 550},
		{12, 8, 6, 570}, // cc < 7 is JIT-compiled from PTX
		{12, 4, 6, 550},
		{13, 0, 6, 0}, // Ollama sets no floor for other runtimes
	} {
		assert.Equal(t, c.want, driverFloor(c.rtMajor, c.rtMinor, c.cc), "runtime %d.%d cc %d", c.rtMajor, c.rtMinor, c.cc)
	}
}

func TestCUDARuntimeFromFileNames(t *testing.T) {
	dir := t.TempDir()
	v := filepath.Join(dir, "cuda_v12")
	require.NoError(t, os.MkdirAll(v, 0o755))
	maj, min, ok := cudaRuntime([]string{dir, v})
	assert.True(t, ok)
	assert.Equal(t, []int{12, 0}, []int{maj, min}, "only the directory name")
	for _, n := range []string{"libcudart.so.12", "libcudart.so.12.4.127", "libcudart.so.12.8.90"} {
		require.NoError(t, os.WriteFile(filepath.Join(v, n), nil, 0o644))
	}
	maj, min, _ = cudaRuntime([]string{dir, v})
	assert.Equal(t, []int{12, 8}, []int{maj, min}, "the highest version named")
}
