#!/usr/bin/env bash
# Real clients: the prebuilt ggml CUDA backends from npm (CUDA 12 and CUDA 13 builds) load
# over vgpu with dlopen(RTLD_NOW) and see the virtual device. usage: run.sh LIBDIR
set -euo pipefail
LIBDIR=$1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib.sh"
suite ggml
NPM=$CACHE/npm
mkdir -p "$NPM" "$CACHE/bin"
(cd "$ROOT" && go run ./tests/ggml/fetch "$NPM")
PROBE=$CACHE/bin/ggml-probe
${CC:-gcc} -O1 -Wall -o "$PROBE" "$HERE/probe.c" -ldl

NAME="NVIDIA H100 80GB HBM3"
TOTAL=85017493504   # upstream ggml reads cudaMemGetInfo; Ollama's NVML path reports CUDA's total plus the driver reserve
fail=0
check() { # label, version, env...
	local label=$1 ver=$2; shift 2
	local out
	if out=$(env "$@" "$PROBE" "$NPM/$ver" "$NAME" "$TOTAL" 2>&1); then :; else fail=1; fi
	echo "--- $label (linux-x64-cuda@$ver)"
	echo "$out" | grep -E '^(ok|device|free|FAIL|PASS)|Device 0|found [0-9]+ CUDA' || true
	grep -q "Device 0: $NAME, compute capability 9.0, VMM: yes" <<<"$out" || { echo "FAIL ggml_cuda_init did not print the virtual device"; fail=1; }
	grep -q '^PASS' <<<"$out" || fail=1
}
for ver in 3.10.0 3.22.1; do
	check "LD_LIBRARY_PATH=build/lib" "$ver" LD_LIBRARY_PATH="$LIBDIR"
	check "LD_PRELOAD + LD_LIBRARY_PATH" "$ver" LD_PRELOAD="$LIBDIR/libvgpu.so" LD_LIBRARY_PATH="$LIBDIR"
done
# Three devices: ggml enumerates all of them.
out=$(VGPU_DEVICES=3 LD_LIBRARY_PATH="$LIBDIR" "$PROBE" "$NPM/3.22.1" "$NAME" "$TOTAL" 2>&1) || fail=1
echo "--- three devices"; echo "$out" | grep -E '^device|found'
[ "$(echo "$out" | grep -c '^device ')" = 3 ] || { echo "FAIL want 3 devices"; fail=1; }
[ $fail = 0 ] && pass || { echo "ggml: FAIL"; exit 1; }
