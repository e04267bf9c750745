package doctor

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"vgpu/loader"
	"vgpu/ollama"
)

// layout is how an Ollama release arranges lib/ollama, which decides how it discovers GPUs.
type layout int

const (
	// layoutRunner: Ollama 0.17 to 0.24. Its own runner loads the backend it builds from its
	// vendored ggml; lib/ollama holds libggml-base.so and the cuda_vNN directories.
	layoutRunner layout = iota
	// layoutLlamaServer: Ollama 0.25 and later. Discovery runs lib/ollama/llama-server with
	// LD_LIBRARY_PATH=lib/ollama:cuda_vNN and GGML_BACKEND_PATH=cuda_vNN/libggml-cuda.so,
	// then `ollama gpu-discover`, which dlopens lib/ollama/libggml-base.so and libggml.so.
	layoutLlamaServer
)

func (l layout) String() string {
	if l == layoutLlamaServer {
		return "Ollama 0.25+ (llama-server)"
	}
	return "Ollama 0.17-0.24 (vendored ggml runner)"
}

// vendoredMarker is imported by the CUDA backend Ollama 0.17-0.24 builds from its vendored
// ggml (its GPU discovery patch moves NVML memory queries into ggml-base); upstream
// llama.cpp's backend, which llama-server loads, has no such import.
const vendoredMarker = "ggml_nvml_init"

// vendoredBackend reports whether a backend was built from Ollama's vendored ggml.
func vendoredBackend(path string) bool {
	ims, _ := loader.Imports(path)
	for _, im := range ims {
		if im.Name == vendoredMarker {
			return true
		}
	}
	return false
}

// ggmlLibrary finds lib<name>.so, or a versioned lib<name>.so.*, in dir, as Ollama's
// native probe does.
func ggmlLibrary(dir, name string) string {
	exact := filepath.Join(dir, "lib"+name+".so")
	if _, err := os.Stat(exact); err == nil {
		return exact
	}
	if m, _ := filepath.Glob(exact + ".*"); len(m) > 0 {
		return m[0]
	}
	return ""
}

// detectLayout says which layout dir is: a llama-server beside the libraries makes it the
// newest; otherwise the backends tell which Ollama they were built for. llamaServerBackends
// are the backends built for llama-server in a tree without one.
func detectLayout(dir string, vs []ollama.Variant) (l layout, llamaServer string, llamaServerBackends []string) {
	// Ollama 0.32 looks for lib/ollama/llama-server first; on Linux its other candidate,
	// <ollama's bin>/../lib/ollama/llama-server, is the same file in an installed tree.
	if st, err := os.Stat(filepath.Join(dir, "llama-server")); err == nil && !st.IsDir() {
		return layoutLlamaServer, filepath.Join(dir, "llama-server"), nil
	}
	for _, v := range vs {
		for _, b := range v.Backends() {
			if !vendoredBackend(b) {
				llamaServerBackends = append(llamaServerBackends, b)
			}
		}
	}
	return layoutRunner, "", llamaServerBackends
}

// checkLayout reports the layout and the libraries it needs at the top of lib/ollama.
func (d *doc) checkLayout(vs []ollama.Variant) bool {
	dir := d.o.Dir
	l, server, orphans := detectLayout(dir, vs)
	d.layout, d.server = l, server
	if len(orphans) > 0 {
		var rel []string
		for _, b := range orphans {
			r, _ := filepath.Rel(dir, b)
			rel = append(rel, r)
		}
		d.add("layout", "fail", fmt.Sprintf("%s is built from upstream llama.cpp for llama-server (Ollama 0.25+), but %s has no llama-server: Ollama finds no GPU and runs on the CPU",
			strings.Join(rel, ", "), dir),
			fmt.Sprintf("reinstall Ollama's complete lib/ollama (with llama-server, libggml-base.so, libggml.so), or put the llama-server built from the same llama.cpp as the backend at %s", filepath.Join(dir, "llama-server")))
		return false
	}
	if l == layoutLlamaServer {
		if st, err := os.Stat(server); err != nil || st.Mode()&0o111 == 0 {
			d.add("layout", "fail", server+" is not executable: Ollama cannot run its discovery and runs on the CPU",
				"chmod +x "+server)
			return false
		}
		d.add("layout", "pass", l.String()+": "+server, "")
	} else {
		d.add("layout", "pass", l.String(), "")
	}
	// The native probe (0.25+) dlopens both from lib/ollama; older runners need ggml-base.
	need := []string{"ggml-base"}
	if l == layoutLlamaServer {
		need = append(need, "ggml")
	}
	var missing []string
	for _, name := range need {
		if ggmlLibrary(dir, name) == "" {
			missing = append(missing, "lib"+name+".so")
		}
	}
	if len(missing) > 0 {
		d.add("ggml-libraries", "fail", fmt.Sprintf("%s: no %s: Ollama cannot load a GPU backend and runs on the CPU", dir, strings.Join(missing, ", ")),
			"reinstall Ollama's complete lib/ollama: these come from the same ggml build as its llama-server and backends")
		return false
	}
	d.add("ggml-libraries", "pass", "lib"+strings.Join(need, ".so, lib")+".so in "+dir, "")
	return true
}
