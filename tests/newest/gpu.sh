#!/usr/bin/env bash
# On the GPU machine (no Go, no network): build llama-server with CUDA for this GPU from
# node-llama-cpp 3.22.1's llama.cpp source, lay out Ollama 0.32's lib/ollama around it with
# NVIDIA's CUDA 13 libraries as the release bundles them, and compare Ollama native, remote
# and local with bench/ollama-compare. The build is kept in BUILD between runs.
# SRC may instead be an Ollama module's own source (0.24.0: its runner is in-process, and its
# CUDA backend is built from the ggml it vendors; CMakeLists.txt, CMakePresets.json and
# ml/backend/ggml/ggml are all that is needed): lib/ollama is then its libggml-base and CPU
# variants, with libggml-cuda.so in cuda_v13.
# usage: gpu.sh SRC OLLAMA_BINARY VGPU_BUILD OUT [SIZE:TYPE] [MODES]
# env: BUILD (the CUDA build, kept), BUILD_ONLY (stop once it is built), OC_FLAGS (more flags for ollama-compare), RUNS (runs per mode, 1), ROUNDS (rounds of every
# mode, 1: on a machine whose speed drifts, 3 rounds of 1 run judge a change better than one
# round of 3), KEEP (keep the logs)
set -euo pipefail
SRC=$1 OLLAMA=$2 VB=$3 OUT=$4 MODEL=${5:-qwen0.5b:q8_0} MODES=${6:-native,remote,local}
BUILD=${BUILD:-/tmp/llama-cuda}
ARCH=${CUDA_ARCH:-$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d .)}
CUDA=${CUDA_HOME:-/usr/local/cuda}
if [ -d "$SRC/ml/backend/ggml/ggml/src" ]; then OWN=1 BUILT=$BUILD/lib/ollama/libggml-cuda.so; else OWN="" BUILT=$BUILD/bin/llama-server; fi
if [ ! -e "$BUILT" ]; then
	start=$(date +%s)
	if [ -n "$OWN" ]; then
		echo "--- building Ollama's own ggml backends with CUDA for sm_$ARCH"
		# Ollama's CMakeLists sets ggml's options itself; Vulkan's backend is left out.
		cmake -S "$SRC" -B "$BUILD" -DCMAKE_CUDA_ARCHITECTURES="$ARCH" -DCMAKE_DISABLE_FIND_PACKAGE_Vulkan=ON >"$OUT/cmake.log" 2>&1 || { tail -20 "$OUT/cmake.log"; exit 1; }
		cmake --build "$BUILD" -j"$(nproc)" >"$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
	else
		echo "--- building llama-server with CUDA for sm_$ARCH"
		cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON \
			-DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$ARCH" -DGGML_BACKEND_DL=ON -DGGML_NATIVE=OFF \
			-DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_SUBPROCESS=OFF \
			-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF >"$OUT/cmake.log" 2>&1 || { tail -20 "$OUT/cmake.log"; exit 1; }
		cmake --build "$BUILD" -j"$(nproc)" --target llama-server llama-quantize ggml-cuda ggml-cpu >"$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
	fi
	echo "--- built in $(($(date +%s) - start)) s"
fi
[ -z "${BUILD_ONLY:-}" ] || exit 0
T=/tmp/ollama-gpu
rm -rf "$T"; mkdir -p "$T/bin" "$T/lib/ollama/cuda_v13"
cp "$OLLAMA" "$T/bin/ollama"; chmod +x "$T/bin/ollama"
LIBS=$BUILD/bin
if [ -n "$OWN" ]; then LIBS=$BUILD/lib/ollama; else cp "$BUILD/bin/llama-server" "$BUILD/bin/llama-quantize" "$T/lib/ollama/"; fi
for f in "$LIBS"/*.so*; do
	case $f in */libggml-cuda.so*) cp -P "$f" "$T/lib/ollama/cuda_v13/" ;; *) cp -P "$f" "$T/lib/ollama/" ;; esac
done
for n in cudart cublas cublasLt; do cp -P "$CUDA"/lib64/lib$n.so.13* "$T/lib/ollama/cuda_v13/"; done
ls -la "$T/lib/ollama" "$T/lib/ollama/cuda_v13" >"$OUT/tree.txt"
# shellcheck disable=SC2086 # OC_FLAGS: more flags for ollama-compare
"$VB/bin/ollama-compare" ${OC_FLAGS:-} --ollama "$T" --vgpu "$VB" --testmodel "$MODEL" --modes "$MODES" \
	--runs "${RUNS:-1}" --rounds "${ROUNDS:-1}" --json "$OUT/compare-${MODEL//:/-}.json" ${KEEP:+--keep} 2>&1 | tee "$OUT/compare-${MODEL//:/-}.txt"
