package ollama

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tree makes an Ollama-shaped lib/ollama with bundled NVIDIA libraries in cuda_v12, and a
// stand-in for vgpu's library outside it.
func tree(t *testing.T) (dir, lib string) {
	root := t.TempDir()
	dir = filepath.Join(root, "lib", "ollama")
	v12 := filepath.Join(dir, "cuda_v12")
	require.NoError(t, os.MkdirAll(v12, 0o755))
	for _, f := range []string{"libggml-cuda.so", "libcudart.so.12.8.90", "libcublas.so.12.8.4.1", "libcublasLt.so.12.8.4.1"} {
		require.NoError(t, os.WriteFile(filepath.Join(v12, f), []byte("bundled "+f), 0o755))
	}
	for _, l := range [][2]string{{"libcudart.so.12", "libcudart.so.12.8.90"}, {"libcublas.so.12", "libcublas.so.12.8.4.1"}, {"libcublasLt.so.12", "libcublasLt.so.12.8.4.1"}} {
		require.NoError(t, os.Symlink(l[1], filepath.Join(v12, l[0])))
	}
	lib = filepath.Join(root, "libvgpu.so")
	require.NoError(t, os.WriteFile(lib, []byte("vgpu"), 0o755))
	return dir, lib
}

// snapshot lists every path under dir with its type, link target and content hash.
func snapshot(t *testing.T, dir string) []string {
	var out []string
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(dir, p)
		line := rel + " " + d.Type().String()
		if d.Type()&fs.ModeSymlink != 0 {
			tgt, _ := os.Readlink(p)
			line += " -> " + tgt
		} else if !d.IsDir() {
			b, _ := os.ReadFile(p)
			line += fmt.Sprintf(" %x", sha256.Sum256(b))
		}
		out = append(out, line)
		return nil
	}))
	sort.Strings(out)
	return out
}

func TestDriverOnlyReplacesOnlyTheDriverAndNVMLAndKeepsTheBundledRuntime(t *testing.T) {
	dir, lib := tree(t)
	before := snapshot(t, dir)
	m, err := Install(Options{Dir: dir, Library: lib, DriverOnly: true})
	require.NoError(t, err)
	assert.Equal(t, ModeDriverOnly, m.Mode())
	assert.Empty(t, m.Moved, "driver-only mode sets nothing aside")
	for _, name := range TopNames {
		assert.True(t, isLinkTo(filepath.Join(dir, name), installedLib(dir)), name)
	}
	v12 := filepath.Join(dir, "cuda_v12")
	for _, name := range []string{"libcudart.so.12", "libcublas.so.12", "libcublasLt.so.12"} {
		tgt, err := os.Readlink(filepath.Join(v12, name))
		require.NoError(t, err)
		assert.NotContains(t, tgt, "vgpu", name+" must stay Ollama's")
	}
	back, err := ReadManifest(dir)
	require.NoError(t, err)
	assert.Equal(t, ModeDriverOnly, back.Mode(), "the mode is recorded for doctor")
	require.NoError(t, Uninstall(dir, nil, false))
	assert.Equal(t, before, snapshot(t, dir), "uninstall restores the tree exactly")
}

func TestSwitchingModesUndoesTheOtherModeFirst(t *testing.T) {
	dir, lib := tree(t)
	before := snapshot(t, dir)
	_, err := Install(Options{Dir: dir, Library: lib})
	require.NoError(t, err)
	assert.True(t, isLinkTo(filepath.Join(dir, "cuda_v12", "libcudart.so.12"), installedLib(dir)), "full mode answers as the runtime")
	var out bytes.Buffer
	m, err := Install(Options{Dir: dir, Library: lib, DriverOnly: true, Out: &out})
	require.NoError(t, err)
	assert.Contains(t, out.String(), "switching")
	assert.Equal(t, ModeDriverOnly, m.Mode())
	tgt, _ := os.Readlink(filepath.Join(dir, "cuda_v12", "libcudart.so.12"))
	assert.Equal(t, "libcudart.so.12.8.90", tgt, "the bundled runtime is back")
	_, err = Install(Options{Dir: dir, Library: lib})
	require.NoError(t, err)
	require.NoError(t, Uninstall(dir, nil, false))
	assert.Equal(t, before, snapshot(t, dir), "after full -> driver-only -> full, uninstall restores the tree exactly")
}

func TestDriverOnlySystemDropInPreloadsNothing(t *testing.T) {
	dir, lib := tree(t)
	root := t.TempDir()
	_, err := Install(Options{Dir: dir, Library: lib, DriverOnly: true, System: true, Root: root})
	require.NoError(t, err)
	dropIn, err := os.ReadFile(filepath.Join(root, "etc/systemd/system/ollama.service.d/vgpu.conf"))
	require.NoError(t, err)
	assert.NotContains(t, string(dropIn), "LD_PRELOAD", "a preloaded vgpu would take the runtime's symbols from NVIDIA's libcudart")
	conf, err := os.ReadFile(filepath.Join(root, "etc/ld.so.conf.d/vgpu.conf"))
	require.NoError(t, err)
	assert.Contains(t, string(conf), filepath.Dir(installedLib(dir)))
	require.NoError(t, Uninstall(dir, nil, false))
	_, err = os.Stat(filepath.Join(root, "etc/ld.so.conf.d/vgpu.conf"))
	assert.True(t, os.IsNotExist(err))
}

func TestSwitchingModesInADryRunChangesNothing(t *testing.T) {
	dir, lib := tree(t)
	_, err := Install(Options{Dir: dir, Library: lib})
	require.NoError(t, err)
	installed := snapshot(t, dir)
	var out bytes.Buffer
	_, err = Install(Options{Dir: dir, Library: lib, DriverOnly: true, DryRun: true, Out: &out})
	require.NoError(t, err)
	assert.Contains(t, out.String(), "would restore")
	assert.Contains(t, out.String(), "then would install in the driver-only mode")
	assert.Equal(t, installed, snapshot(t, dir))
	m, err := ReadManifest(dir)
	require.NoError(t, err)
	assert.Equal(t, ModeFull, m.Mode())
}
