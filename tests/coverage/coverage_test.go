// Package coverage compares what vgpu exports (shim/api/functions.txt) with NVIDIA's own
// export lists (this directory's LIB-VERSION.txt files: names from `nm -D --defined-only`,
// one per line, # comments). A list plugs in by its file name: nvml-*.txt is checked against
// the nvml rows, cuda-*.txt against cuda, cudart-*.txt against cudart, cublas-*.txt against
// cublas. Graphics interop is left out on both sides.
package coverage

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/shim/api"
)

// targets are issue 13's goals per library, as fractions of NVIDIA's list.
var targets = map[string]float64{"cudart": 0.95, "cuda": 0.90, "nvml": 0.80}

// floors are the coverage reached so far per list file: a ratchet. Raise one when coverage
// grows; a change that lowers coverage below it fails. Lists without a floor are reported.
var floors = map[string]float64{"nvml-580.txt": 0.970, "cudart-13.0.txt": 0.956, "cuda-580.txt": 0.954}

// interop names are graphics interoperability, outside issue 13's targets: the API-specific
// registrations (GL, EGL, VDPAU, NvSci, D3D, Vulkan) and NVIDIA's generic half of the same
// "Graphics Interoperability" section, cu/cudaGraphics* (map, unmap, mapped pointer and array,
// map flags, unregister), which act only on resources those registrations make.
var interop = regexp.MustCompile(`GL|EGL|VDPAU|NvSci|D3D|Vk|Egl|^cuGraphics|^cudaGraphics`)

// implemented is, per library, the names functions.txt exports with semantics (read through
// the generated table, the one parser of that file). A stub (answers "not supported") or a
// row the remote backend does not carry does not count.
func implemented(t *testing.T) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, f := range api.Functions {
		if f.Has("stub") || f.Has("noremote") {
			continue
		}
		if out[f.Lib] == nil {
			out[f.Lib] = map[string]bool{}
		}
		out[f.Lib][f.Name] = true
	}
	require.NotEmpty(t, out)
	return out
}

// readList reads one of NVIDIA's lists: sorted, unique names, no interop dropped yet.
func readList(t *testing.T, path string) []string {
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var names []string
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		require.Regexp(t, `^[A-Za-z_][A-Za-z0-9_]*$`, l, "%s: one symbol name per line", path)
		names = append(names, l)
	}
	require.True(t, sort.StringsAreSorted(names), "%s must be sorted", path)
	return names
}

func TestExportCoverageAgainstNvidiaLists(t *testing.T) {
	lists, err := filepath.Glob("*.txt")
	require.NoError(t, err)
	require.NotEmpty(t, lists, "no export lists in tests/coverage")
	have := implemented(t)
	for _, path := range lists {
		lib, _, ok := strings.Cut(strings.TrimSuffix(path, ".txt"), "-")
		if !assert.True(t, ok, "%s: want LIB-VERSION.txt", path) {
			continue
		}
		t.Run(path, func(t *testing.T) {
			rows, known := have[lib]
			require.True(t, known, "%s names library %q, which functions.txt does not have", path, lib)
			var want, missing []string
			for _, n := range readList(t, path) {
				if interop.MatchString(n) {
					continue
				}
				want = append(want, n)
				if !rows[n] {
					missing = append(missing, n)
				}
			}
			require.NotEmpty(t, want)
			got := float64(len(want)-len(missing)) / float64(len(want))
			target := targets[lib]
			t.Logf("%s: %d of %d functions (%.1f%%), interop aside; target %.0f%%, %s",
				path, len(want)-len(missing), len(want), 100*got, 100*target, distance(got, target, len(want)))
			if len(missing) > 0 {
				t.Logf("%s: missing: %s", path, strings.Join(missing, " "))
			}
			if floor, ok := floors[path]; ok {
				assert.GreaterOrEqual(t, got, floor, "%s: coverage fell below the %.1f%% reached before", path, 100*floor)
			}
		})
	}
}

// distance says how far coverage is from its target, in functions.
func distance(got, target float64, n int) string {
	short := int(target*float64(n)+0.999999) - int(got*float64(n)+0.5)
	if short <= 0 {
		return "reached"
	}
	return fmt.Sprintf("%d functions short", short)
}

// TestCoverageCountsOnlyRealSemantics guards the counting rule: a stub row is exported but
// is not coverage.
func TestCoverageCountsOnlyRealSemantics(t *testing.T) {
	have := implemented(t)
	for _, f := range api.Functions {
		if f.Has("stub") {
			assert.False(t, have[f.Lib][f.Name] && !otherRow(f), "%s is a stub and counts as covered", f.Name)
		}
	}
	assert.True(t, have["cuda"]["cuInit"], "an ordinary row counts")
}

// otherRow reports whether f's name has another row (a second version node) with semantics.
func otherRow(f api.Func) bool {
	for _, g := range api.Functions {
		if g.Name == f.Name && g.Op != f.Op && !g.Has("stub") && !g.Has("noremote") {
			return true
		}
	}
	return false
}

// Every runtime name vgpu exports under libcudart.so.13's version node is one NVIDIA's
// libcudart.so.13 exports: a name CUDA 13 dropped (or never had) belongs on the .so.12 node
// only, where a program built against CUDA 12 looks for it.
func TestRuntime13ExportsAreNvidias(t *testing.T) {
	lists, err := filepath.Glob("cudart-13.*.txt")
	require.NoError(t, err)
	require.NotEmpty(t, lists)
	nvidia := map[string]bool{}
	for _, n := range readList(t, lists[len(lists)-1]) {
		nvidia[n] = true
	}
	for _, f := range api.Functions {
		if f.Lib != "cudart" {
			continue
		}
		on13 := len(f.Nodes) == 0
		for _, n := range f.Nodes {
			on13 = on13 || strings.HasSuffix(n, ".13")
		}
		if on13 {
			assert.True(t, nvidia[f.Name], "%s is exported under libcudart.so.13, which NVIDIA's %s does not have", f.Name, lists[len(lists)-1])
		}
	}
}
