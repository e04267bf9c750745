package doctor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/ollama"
)

func TestParseListDevicesReadsLlamaCppsDeviceLines(t *testing.T) {
	out := "load_backend: loaded CUDA backend from /x/libggml-cuda.so\n" +
		"Available devices:\n" +
		"  CUDA0: NVIDIA H100 80GB HBM3 (81079 MiB, 80562 MiB free)\n" +
		"  CUDA1: Tesla T4 (rev (a1)) (15095 MiB, 14930 MiB free)\r\n" +
		"  Vulkan0: llvmpipe (LLVM 17.0.6, 256 bits) (32000 MiB, 32000 MiB free)\n"
	devs := ParseListDevices(out)
	require.Len(t, devs, 3)
	assert.Equal(t, ListedDevice{Name: "CUDA0", Description: "NVIDIA H100 80GB HBM3", TotalMiB: 81079, FreeMiB: 80562}, devs[0])
	// The memory part is the line's last parentheses; the description keeps its own.
	assert.Equal(t, ListedDevice{Name: "CUDA1", Description: "Tesla T4 (rev (a1))", TotalMiB: 15095, FreeMiB: 14930}, devs[1])
	assert.True(t, devs[0].CUDA())
	assert.True(t, devs[1].CUDA())
	assert.False(t, devs[2].CUDA(), "a Vulkan device is not CUDA")
}

func TestParseListDevicesReadsOnlyTheListAfterItsHeading(t *testing.T) {
	// Logs before the heading may look like a device line; they are not the list.
	out := "  CUDA0: looks like a device (1 MiB, 1 MiB free)\n" +
		"  Device 0: NVIDIA H100 80GB HBM3, compute capability 9.0, VMM: yes\n" +
		"Available devices:\n  (none)\n"
	assert.Empty(t, ParseListDevices(out))
	assert.Empty(t, ParseListDevices(""))
	// Malformed memory is no device.
	assert.Empty(t, ParseListDevices("Available devices:\n  CUDA0: X (a MiB, 1 MiB free)\n  CUDA1: X (99999999999999999999999 MiB, 1 MiB free)\n"))
}

// fakeServer is a tree with a lib/ollama/llama-server made of a shell script, and a doc for it.
func fakeServer(t *testing.T, script string, env ...string) (*doc, ollama.Variant) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "cuda_v13"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cuda_v13", "libggml-cuda.so"), nil, 0o644))
	server := filepath.Join(dir, "llama-server")
	require.NoError(t, os.WriteFile(server, []byte("#!/bin/sh\n"+script), 0o755))
	d := &doc{o: Options{Dir: dir}, env: map[string]string{"PATH": os.Getenv("PATH")}, layout: layoutLlamaServer, server: server}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		d.env[k] = v
	}
	vs, err := ollama.Variants(dir)
	require.NoError(t, err)
	require.Len(t, vs, 1)
	return d, vs[0]
}

func check(d *doc, name string) Check {
	for _, c := range d.checks {
		if c.Name == name {
			return c
		}
	}
	return Check{}
}

// A llama-server that lists a device only when its environment is Ollama's: the variant's
// library path first, the user's after it, the backend named by GGML_BACKEND_PATH, and the
// inherited LD_PRELOAD; alone (CUDA_VISIBLE_DEVICES) the device must reappear as CUDA0.
const ollamaEnvServer = `
[ "$*" = "--list-devices --offline --verbose" ] || exit 1
dir=$(dirname "$0")
[ "$LD_LIBRARY_PATH" = "$dir:$dir/cuda_v13:/user/lib" ] || { echo "bad LD_LIBRARY_PATH $LD_LIBRARY_PATH" >&2; exit 1; }
[ "$GGML_BACKEND_PATH" = "$dir/cuda_v13/libggml-cuda.so" ] || exit 1
[ "$LD_PRELOAD" = "/pre/libvgpu.so" ] || exit 1
echo "log line on stderr" >&2
echo "Available devices:"
case "$CUDA_VISIBLE_DEVICES:$GGML_CUDA_INIT" in
:|:0) echo "  CUDA0: NVIDIA H100 80GB HBM3 (81079 MiB, 80562 MiB free)"
   echo "  CUDA1: NVIDIA A100-SXM4-80GB (81051 MiB, 80600 MiB free)" ;;
0:1) echo "  CUDA0: NVIDIA H100 80GB HBM3 (81079 MiB, 80562 MiB free)" ;;
1:1) echo "  CUDA0: NVIDIA A100-SXM4-80GB (81051 MiB, 80600 MiB free)" ;;
*) echo "  (none)" ;;
esac
`

func TestDiscoveryRunsLlamaServerWithOllamasEnvironment(t *testing.T) {
	d, v := fakeServer(t, ollamaEnvServer, "LD_LIBRARY_PATH=/user/lib", "LD_PRELOAD=/pre/libvgpu.so",
		"GGML_BACKEND_PATH=/elsewhere.so", "GGML_CUDA_INIT=0")
	assert.True(t, d.discovery("cuda_v13", v, "install"), "%+v", d.checks)
	c := check(d, "cuda_v13/llama-server")
	assert.Equal(t, "pass", c.Status)
	assert.Contains(t, c.Detail, "CUDA0: NVIDIA H100 80GB HBM3 (81079 MiB, 80562 MiB free); CUDA1: NVIDIA A100-SXM4-80GB")
	c = check(d, "cuda_v13/llama-server-validate")
	assert.Equal(t, "pass", c.Status)
	assert.Contains(t, c.Detail, "1 as CUDA0: NVIDIA A100-SXM4-80GB")
}

func TestDiscoveryWithoutAPreloadThatServerNeedsFindsNoDevice(t *testing.T) {
	// The same llama-server without LD_PRELOAD exits 1 before listing: the run's failure is
	// reported with its output, and Ollama would run on the CPU.
	d, v := fakeServer(t, ollamaEnvServer, "LD_LIBRARY_PATH=/user/lib")
	assert.False(t, d.discovery("cuda_v13", v, "run `vgpu install`"))
	c := check(d, "cuda_v13/llama-server")
	assert.Equal(t, "fail", c.Status)
	assert.Contains(t, c.Detail, "exit status 1: Ollama would run on the CPU")
	assert.Contains(t, c.Fix, "run `vgpu install`")
}

func TestDiscoveryWithoutACUDADeviceFailsAndQuotesTheOutput(t *testing.T) {
	d, v := fakeServer(t, `echo "ggml_cuda_init: failed to initialize CUDA: no CUDA-capable device is detected" >&2
echo "Available devices:"; echo "  Vulkan0: llvmpipe (32000 MiB, 32000 MiB free)"`)
	assert.False(t, d.discovery("cuda_v13", v, "install"))
	c := check(d, "cuda_v13/llama-server")
	assert.Equal(t, "fail", c.Status)
	assert.Contains(t, c.Detail, "lists no CUDA device: Ollama would run on the CPU")
	// stdout and stderr reach doctor through two pipes, so their lines may arrive in either order.
	assert.Contains(t, c.Detail, "its output ends: ")
	assert.Contains(t, c.Detail, "ggml_cuda_init: failed to initialize CUDA: no CUDA-capable device is detected")
	assert.Contains(t, c.Detail, "Available devices:")
	assert.Empty(t, check(d, "cuda_v13/llama-server-validate").Status, "nothing to validate")
}

func TestADeviceThatDoesNotReappearAloneFails(t *testing.T) {
	d, v := fakeServer(t, `echo "Available devices:"
[ -z "$CUDA_VISIBLE_DEVICES" ] && { echo "  CUDA0: A (100 MiB, 90 MiB free)"; echo "  CUDA1: B (100 MiB, 90 MiB free)"; }
[ "$CUDA_VISIBLE_DEVICES" = 0 ] && echo "  CUDA0: A (100 MiB, 90 MiB free)"
exit 0`)
	assert.False(t, d.discovery("cuda_v13", v, "install"))
	assert.Equal(t, "pass", check(d, "cuda_v13/llama-server").Status)
	c := check(d, "cuda_v13/llama-server-validate")
	assert.Equal(t, "fail", c.Status)
	assert.Contains(t, c.Detail, "device 1 (B) does not reappear alone")
	assert.Contains(t, c.Detail, "CUDA_VISIBLE_DEVICES=1 GGML_CUDA_INIT=1")
}

func TestAListingFromALlamaServerThatCrashesDoesNotCount(t *testing.T) {
	d, v := fakeServer(t, `echo "Available devices:"; echo "  CUDA0: A (100 MiB, 90 MiB free)"; kill -SEGV $$`)
	assert.False(t, d.discovery("cuda_v13", v, "install"))
	c := check(d, "cuda_v13/llama-server")
	assert.Equal(t, "fail", c.Status)
	assert.Contains(t, c.Detail, "listed CUDA0: A (100 MiB, 90 MiB free) but signal: segmentation fault")
}

func TestALlamaServerThatHangsIsKilledAtTheTimeout(t *testing.T) {
	// The grandchild holds the output pipe open: the whole process group goes.
	d, v := fakeServer(t, "sleep 60 & sleep 60\n")
	d.listTimeout = 300 * time.Millisecond
	start := time.Now()
	assert.False(t, d.discovery("cuda_v13", v, "install"))
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.Contains(t, check(d, "cuda_v13/llama-server").Detail, "did not finish within 300ms and was killed")
}

func TestOutputBeyondTheCapIsDropped(t *testing.T) {
	// A device line after megabytes of noise is past what doctor keeps; the run still ends.
	d, v := fakeServer(t, `echo "Available devices:"; head -c 1000000 /dev/zero | tr '\0' x; echo; echo "  CUDA0: A (100 MiB, 90 MiB free)"`)
	assert.False(t, d.discovery("cuda_v13", v, "install"))
	c := check(d, "cuda_v13/llama-server")
	assert.Less(t, len(c.Detail), 4*tailCap)
}

func TestAVariantWithoutLibggmlCudaSoFindsNothing(t *testing.T) {
	d, v := fakeServer(t, ollamaEnvServer)
	require.NoError(t, os.Rename(filepath.Join(v.Dir, "libggml-cuda.so"), filepath.Join(v.Dir, "libggml-cuda-v2.so")))
	assert.False(t, d.discovery("cuda_v13", v, "install"))
	assert.Contains(t, check(d, "cuda_v13/llama-server").Detail, "points llama-server at that file only")
}

func TestOlderLayoutsRunNoLlamaServer(t *testing.T) {
	d, v := fakeServer(t, "exit 1\n")
	d.layout = layoutRunner
	assert.True(t, d.discovery("cuda_v13", v, "install"))
	assert.Empty(t, d.checks)
}
