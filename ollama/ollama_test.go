package ollama

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVariantsAndRunnerPath(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"cuda_v13", "cuda_v12", "vulkan", "mlx_cuda_v13"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, d), 0o755))
	}
	vs, err := Variants(dir)
	require.NoError(t, err)
	require.Len(t, vs, 2)
	assert.Equal(t, 12, vs[0].Major)
	assert.Equal(t, []string{"libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13"}, vs[1].Names())
	assert.Equal(t, dir+":"+vs[1].Dir+":/usr/lib", RunnerLibraryPath(dir, vs[1], "/usr/lib"))
	for _, name := range []string{"libcudart.so.12", "libcudart.so.12.8.90", "libcublasLt.so.13", "libcublas.so"} {
		assert.True(t, bundled.MatchString(name), name)
	}
	for _, name := range []string{"libggml-cuda.so", "libcudnn.so.9", "libcuda.so.1"} {
		assert.False(t, bundled.MatchString(name), name)
	}
}

func TestInstallRefusesNonOllamaDirs(t *testing.T) {
	_, err := Install(Options{Dir: t.TempDir(), Library: "/nonexistent"})
	assert.ErrorContains(t, err, "no cuda_vNN directory")
	_, err = Install(Options{Dir: "/nonexistent/lib/ollama"})
	assert.ErrorContains(t, err, "not a directory")
}
