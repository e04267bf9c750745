package doctor

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/ollama"
)

// variantDir makes lib/ollama/cuda_vNN holding the given files.
func variantDir(t *testing.T, major int, files ...string) (string, ollama.Variant) {
	dir := t.TempDir()
	v := ollama.Variant{Dir: filepath.Join(dir, fmt.Sprintf("cuda_v%d", major)), Major: major}
	require.NoError(t, os.MkdirAll(v.Dir, 0o755))
	for _, f := range files {
		require.NoError(t, os.WriteFile(filepath.Join(v.Dir, f), nil, 0o644))
	}
	return dir, v
}

func TestDriverOnlyServesTheCUDA12RuntimeItAnswers(t *testing.T) {
	dir, v := variantDir(t, 12, "libcudart.so.12.4.127")
	d := &doc{o: Options{Dir: dir}, driverOnly: true}
	assert.True(t, d.runtimeCheck("cuda_v12", v))
	require.Len(t, d.checks, 1)
	assert.Equal(t, "pass", d.checks[0].Status)
	assert.Contains(t, d.checks[0].Detail, "CUDA 12.4")
}

// CUDA 13.0's runtime passes tests/cuda118/runtime.c on vgpu's libcuda.so.1 (on the GPU
// machine): the driver-only mode serves it.
func TestDriverOnlyServesTheCUDA13Runtime(t *testing.T) {
	dir, v := variantDir(t, 13, "libcudart.so.13.0.88")
	d := &doc{o: Options{Dir: dir}, driverOnly: true}
	assert.True(t, d.runtimeCheck("cuda_v13", v))
	require.Len(t, d.checks, 1)
	assert.Equal(t, "pass", d.checks[0].Status)
	assert.Contains(t, d.checks[0].Detail, "CUDA 13.0")
}

// A runtime newer than any vgpu has served fails the check, with the full mode as the fix.
func TestDriverOnlyFailsAnUnservedRuntimeWithTheFullModeAsFix(t *testing.T) {
	dir, v := variantDir(t, 14, "libcudart.so.14.0.1")
	d := &doc{o: Options{Dir: dir}, driverOnly: true}
	assert.False(t, d.runtimeCheck("cuda_v14", v))
	require.Len(t, d.checks, 1)
	assert.Equal(t, "fail", d.checks[0].Status)
	assert.Contains(t, d.checks[0].Detail, "CUDA 14.0 runtime")
	assert.Contains(t, d.checks[0].Fix, "use the full mode: `vgpu install --ollama-dir "+dir+"`")
}

func TestDriverOnlyNeedsABundledRuntime(t *testing.T) {
	dir, v := variantDir(t, 12, "libggml-cuda.so")
	d := &doc{o: Options{Dir: dir}, driverOnly: true}
	assert.False(t, d.runtimeCheck("cuda_v12", v))
	assert.Equal(t, "fail", d.checks[0].Status)
	assert.Contains(t, d.checks[0].Detail, "no libcudart.so.*")
}

func TestModeComesFromTheInstallationRecord(t *testing.T) {
	for _, driverOnly := range []bool{false, true} {
		dir, v := variantDir(t, 12, "libcudart.so.12.4.127")
		lib := filepath.Join(t.TempDir(), "libvgpu.so")
		require.NoError(t, os.WriteFile(lib, []byte("vgpu"), 0o755))
		_, err := ollama.Install(ollama.Options{Dir: dir, Library: lib, DriverOnly: driverOnly})
		require.NoError(t, err)
		d := &doc{o: Options{Dir: dir}, env: map[string]string{}}
		d.mode([]ollama.Variant{v})
		assert.Equal(t, driverOnly, d.driverOnly)
		require.Len(t, d.checks, 1)
		want := "installed in the full mode"
		if driverOnly {
			want = "installed in the driver-only mode"
		}
		assert.Contains(t, d.checks[0].Detail, want)
	}
}

func TestNothingInstalledWarnsWithBothModesAsFixes(t *testing.T) {
	dir, v := variantDir(t, 12, "libcudart.so.12.4.127")
	d := &doc{o: Options{Dir: dir}, env: map[string]string{}}
	d.mode([]ollama.Variant{v})
	assert.False(t, d.driverOnly)
	require.Len(t, d.checks, 1)
	assert.Equal(t, "warn", d.checks[0].Status)
	assert.Contains(t, d.checks[0].Fix, "vgpu install --driver-only")
}
