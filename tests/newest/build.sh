#!/usr/bin/env bash
# Builds the newest Ollama's pieces from the registries, once per machine, into a cache that
# outlives the clone (CI runs on the developer's machine, in a fresh clone each time):
#   ollama 0.32.15           go install through the Go module proxy       (~7 min on 2 cores)
#   llama-server, -quantize  CPU build of node-llama-cpp 3.22.1's llama.cpp (~8 min on 2 cores)
# Neither is ever committed. Prints the cache directory on its last line.
# env: VGPU_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/vgpu), OLLAMA_VERSION, NLC_VERSION
set -euo pipefail
C=${VGPU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vgpu}
OV=${OLLAMA_VERSION:-0.32.15}
NV=${NLC_VERSION:-3.22.1}
SRC=$C/llama.cpp-$NV
LS=$C/llama-server-$NV
OB=$C/ollama-$OV
mkdir -p "$C"
say() { echo "--- newest: $*" >&2; }

# llama.cpp's source of node-llama-cpp's CUDA binaries: the git bundle inside its npm package.
if [ ! -f "$SRC/.complete" ]; then
	say "fetching node-llama-cpp@$NV's llama.cpp bundle (npm, ~30 MB)"
	t=$(mktemp -d "$C/.nlc.XXXXXX")
	(cd "$t" && npm pack --silent "node-llama-cpp@$NV" >/dev/null)
	tar -xzf "$t"/node-llama-cpp-*.tgz -C "$t" package/llama/gitRelease.bundle
	rm -rf "$SRC"
	git -c advice.detachedHead=false clone -q "$t/package/llama/gitRelease.bundle" "$SRC"
	rm -rf "$t"
	touch "$SRC/.complete"
fi

need() { command -v "$1" >/dev/null || { say "installing $2 (apt)"; apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }

if [ ! -x "$LS/bin/llama-server" ] || [ ! -f "$LS/.complete" ]; then
	need cmake cmake
	need g++ g++
	say "building llama-server and llama-quantize for the CPU (about 8 minutes on 2 cores)"
	# Ollama 0.25+ runs llama-server with GGML_BACKEND_PATH naming the CUDA backend, so ggml
	# must load backends dynamically; the CPU backend is then a module of its own.
	cmake -S "$SRC" -B "$LS" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON \
		-DGGML_BACKEND_DL=ON -DGGML_NATIVE=OFF -DGGML_CPU_ALL_VARIANTS=OFF \
		-DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_SUBPROCESS=OFF \
		-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_CURL=OFF >"$C/llama-server-$NV.cmake.log" 2>&1 ||
		{ tail -30 "$C/llama-server-$NV.cmake.log"; exit 1; }
	cmake --build "$LS" -j"$(nproc)" --target llama-server llama-quantize ggml-cpu >"$C/llama-server-$NV.build.log" 2>&1 ||
		{ tail -30 "$C/llama-server-$NV.build.log"; exit 1; }
	touch "$LS/.complete"
fi

if [ ! -x "$OB/bin/ollama" ]; then
	say "building ollama $OV with go install (about 7 minutes on 2 cores)"
	# Ollama's module leaves out headers its cgo code includes (nlohmann, miniaudio, stb);
	# llama.cpp's vendor/ directory has them.
	mkdir -p "$OB/bin"
	GOBIN=$OB/bin.tmp CGO_CPPFLAGS="-I$SRC/vendor -I$SRC/vendor/nlohmann" \
		go install "github.com/ollama/ollama@v$OV" >"$C/ollama-$OV.build.log" 2>&1 ||
		{ tail -30 "$C/ollama-$OV.build.log"; exit 1; }
	mv "$OB/bin.tmp/ollama" "$OB/bin/ollama" && rmdir "$OB/bin.tmp"
fi
echo "$C"
