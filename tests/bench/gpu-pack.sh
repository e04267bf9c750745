#!/usr/bin/env bash
# On the CPU machine: packs what one lease of the GPU machine needs to measure Ollama through
# vgpu (the machine has no Go and no network) into DIR, a path git ignores, to be named in the
# device tool's `carry`: this build of vgpu, the Ollama binary, and the source its CUDA backend
# is built from there (node-llama-cpp 3.22.1's llama.cpp for Ollama 0.25 and later, Ollama's
# own vendored ggml for 0.24.0). tests/bench/gpu-run.sh unpacks and runs it on the GPU machine.
# A lease carries 64 MiB at most: one Ollama version a lease (0.32.15: ~45 MB, 0.24.0: ~31 MB).
# usage: tests/bench/gpu-pack.sh DIR [OLLAMA_VERSION (0.32.15)]    (run `make all` first)
set -euo pipefail
DIR=$1 OV=${2:-0.32.15}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
C=${VGPU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vgpu}
cd "$ROOT"
mkdir -p "$DIR"
git check-ignore -q "$DIR" || { echo "gpu-pack: $DIR is not ignored by git (add it to .git/info/exclude)"; exit 1; }
[ -x build/bin/vgpu ] && [ -x build/bin/ollama-compare ] || { echo "gpu-pack: run make all first"; exit 1; }
rm -rf "$DIR"; mkdir -p "$DIR"
tar czf "$DIR/vgpu.tgz" build/bin build/lib
OLLAMA_VERSION=$OV bash tests/newest/build.sh >/dev/null # the Ollama binary, built once per machine
if [ "$OV" = 0.24.0 ]; then
	# Ollama 0.24.0 runs models in-process; its CUDA backend is the ggml it vendors.
	M=$(go env GOMODCACHE)/github.com/ollama/ollama@v$OV
	[ -d "$M" ] || go mod download "github.com/ollama/ollama@v$OV"
	tar czf "$DIR/src.tgz" -C "$M" --transform "s,^,ollama-$OV/," CMakeLists.txt CMakePresets.json ml/backend/ggml/ggml
else
	tar czf "$DIR/src.tgz" -C "$C" --exclude=.git --exclude=llama.cpp-3.22.1/models --exclude=llama.cpp-3.22.1/docs \
		--exclude=tools/server/webui --exclude='*.gguf' llama.cpp-3.22.1
fi
# Without its symbols (half of 0.24.0's 84 MB), so that the lease's 64 MiB hold it.
strip -o "$DIR/ollama" "$C/ollama-$OV/bin/ollama" && xz -T0 -9 "$DIR/ollama"
echo "$OV" >"$DIR/version"
cp tests/bench/gpu-run.sh "$DIR/"
du -sh "$DIR"
