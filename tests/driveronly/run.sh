#!/usr/bin/env bash
# Issue 14's driver-only mode in CI: vgpu is libcuda.so.1 (and NVML) and nothing else; NVIDIA's
# CUDA 12.4 runtime and cuBLAS 12 (Debian trixie non-free, fetched once per machine by
# tests/cuda118/fetch.sh 12.4) run on it under a real prebuilt ggml CUDA 12 backend (npm
# @node-llama-cpp/linux-x64-cuda@3.10.0): ggml's device discovery and buffers through
# NVIDIA's runtime, on the sim and through a remote client of a sim server; then
# `vgpu install --driver-only` on an Ollama-shaped tree whose cuda_v12 bundles those NVIDIA
# libraries (cuda_v13 has stand-ins), doctor in both modes, and a byte-exact uninstall; and
# cuBLAS 12's GEMMs (kernels as no-ops) in-process and through a remote client.
# usage: run.sh LIBDIR
set -euo pipefail
LIBDIR=$1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib.sh"
suite driveronly
clean_env LD_LIBRARY_PATH VGPU_TRACE VGPU_LOG_LEVEL VGPU_SIM_LAUNCH OLLAMA_LLM_LIBRARY LD_DEBUG
C=$CACHE/driveronly; rm -rf "$C"; mkdir -p "$C/bin"
NPM=$CACHE/npm
NAME="NVIDIA H100 80GB HBM3"
TOTAL=85017493504
DEVICE_LINE="Device 0: $NAME, compute capability 9.0, VMM: yes"
(cd "$ROOT" && go run ./tests/ggml/fetch "$NPM")
echo "== Debian's CUDA 12.4 runtime and cuBLAS 12 (cached per machine)"
D=$(bash "$ROOT/tests/cuda118/fetch.sh" 12.4 | tail -1) || fail "could not fetch Debian's CUDA 12.4 runtime and cuBLAS (the Debian registry must be reachable)"
RT=$D/usr/lib/x86_64-linux-gnu
for l in libcudart.so.12 libcublas.so.12 libcublasLt.so.12; do [ -e "$RT/$l" ] || fail "no $l in $D"; done
CC=${CC:-gcc}
PROBE=$C/bin/ggml-probe
$CC -O1 -Wall -o "$PROBE" "$ROOT/tests/ggml/probe.c" -ldl
$CC -O1 -Wall -o "$C/bin/cublas" "$HERE/cublas.c" -L"$RT" -l:libcublas.so.12 -l:libcudart.so.12 -Wl,-rpath,"$RT"

echo "== vgpu run --driver-only: nothing preloaded, a directory of the driver's and NVML's names first"
env=$(LD_PRELOAD= "$VGPU" run --driver-only -- env)
grep -q '^LD_PRELOAD=.*vgpu' <<<"$env" && fail "vgpu run --driver-only preloads vgpu"
DRV=$(grep '^LD_LIBRARY_PATH=' <<<"$env" | sed 's/^LD_LIBRARY_PATH=//; s/:.*//')
[ "$(ls "$DRV" | tr '\n' ' ')" = "libcuda.so libcuda.so.1 libnvidia-ml.so libnvidia-ml.so.1 " ] || fail "$DRV holds $(ls "$DRV")"
[ "$(readlink -f "$DRV/libcuda.so.1")" = "$(readlink -f "$LIBDIR/libvgpu.so")" ] || fail "$DRV/libcuda.so.1 is not vgpu"
echo "$DRV: $(ls "$DRV" | tr '\n' ' ')"

# probe LABEL ENV...: ggml's discovery and a 1 GiB buffer through NVIDIA's runtime over vgpu's
# driver alone. The loader's log shows which file each library came from; vgpu's debug log
# shows the runtime asking for its private tables.
probe() {
	local label=$1; shift
	env "$@" LD_LIBRARY_PATH="$RT" LD_DEBUG=files VGPU_LOG_LEVEL=debug "$VGPU" run --driver-only -- \
		"$PROBE" "$NPM/3.10.0" "$NAME" "$TOTAL" >"$C/$label.out" 2>"$C/$label.log" || { cat "$C/$label.out"; grep -v DEBUG "$C/$label.log" | grep -v '^ *[0-9]*:' | tail; fail "$label: ggml's probe"; }
	grep -q "$DEVICE_LINE" "$C/$label.log" || fail "$label: ggml_cuda_init did not print the virtual device"
	grep -q '^PASS' "$C/$label.out" || fail "$label: probe"
	for l in libcudart.so.12 libcublas.so.12 libcublasLt.so.12; do
		grep -q "calling init: $RT/$l\$" "$C/$label.log" || fail "$label: $l is not NVIDIA's from $RT"
	done
	grep -q "calling init: $DRV/libcuda.so.1\$" "$C/$label.log" || fail "$label: libcuda.so.1 is not vgpu's"
	grep -E "calling init: $LIBDIR/lib" "$C/$label.log" && fail "$label: vgpu was loaded under another name"
	grep -q '"table": "integrity check"' "$C/$label.log" || fail "$label: NVIDIA's runtime never asked vgpu for its private tables"
	if grep -E "a table vgpu does not know|slot vgpu does not implement" "$C/$label.log"; then fail "$label: the runtime needs more of the export tables"; fi
	echo "$label: $(grep -E '^device 0' "$C/$label.out"); $(grep '^free before' "$C/$label.out"); $(tail -1 "$C/$label.out")"
}
echo "== ggml's CUDA 12 backend on NVIDIA's runtime and cuBLAS, vgpu's libcuda.so.1 only (sim)"
probe sim VGPU_BACKEND=sim
out=$(VGPU_BACKEND=sim VGPU_DEVICES=3 LD_LIBRARY_PATH="$RT" "$VGPU" run --driver-only -- "$PROBE" "$NPM/3.10.0" "$NAME" "$TOTAL" 2>&1) || { echo "$out"; fail "three devices"; }
[ "$(grep -c '^device ' <<<"$out")" = 3 ] || { echo "$out"; fail "NVIDIA's runtime does not list three virtual devices"; }
echo "three devices: $(grep -c '^device ' <<<"$out") listed"

echo "== the same through a remote client of a sim server"
SOCK=$C/vgpu.sock
BG_SIGNAL=KILL
spawn "$VGPU" serve --listen "unix://$SOCK" >"$C/server.log" 2>&1
wait_socket "$SOCK"
probe remote VGPU_BACKEND=remote VGPU_SERVER="unix://$SOCK"

# cublas LABEL ENV...: cuBLAS 12 on NVIDIA's runtime over vgpu's libcuda.so.1 alone: device
# memory, a handle, then SGEMM, DGEMM, HGEMM and GemmEx with kernels as no-ops. Every status
# must be 0, through vgpu's export tables with no table or slot vgpu lacks.
cublas() {
	local label=$1; shift
	env "$@" VGPU_LOG_LEVEL=debug VGPU_TRACE=1 "$VGPU" run --driver-only -- "$C/bin/cublas" >"$C/$label.out" 2>"$C/$label.log" || { cat "$C/$label.out"; grep -v DEBUG "$C/$label.log" | grep -v trace | tail; fail "$label: the cuBLAS program crashed or failed to allocate"; }
	grep -q '^cudaMalloc 0$' "$C/$label.out" || fail "$label: cudaMalloc"
	grep -q '^cudaMemset 0$' "$C/$label.out" || fail "$label: cudaMemset"
	grep -q '^cudaMemcpy 0 bytes-match$' "$C/$label.out" || fail "$label: cudaMemcpy did not return the memset bytes"
	grep -q '^cudaFree 0$' "$C/$label.out" || fail "$label: cudaFree"
	# cuBLASLt resolves 74 driver functions from libcuda.so.1 by name (dlsym) and fails the
	# handle (14) when any is missing.
	grep -q '^cublasCreate 0$' "$C/$label.out" || { grep -v DEBUG "$C/$label.log" | grep -v trace | tail; fail "$label: cuBLAS 12's handle creation failed ($(grep '^cublasCreate' "$C/$label.out"))"; }
	if grep -E "a table vgpu does not know|slot vgpu does not implement" "$C/$label.log"; then fail "$label: cuBLAS needs more of the export tables"; fi
	# Before each GEMM cuBLAS asks the tools tables for the current context and its id, and its
	# own kernels (HGEMM) for the stream's id: without them SGEMM answers 15 and HGEMM 14.
	for s in cublasSgemm cublasDgemm cublasHgemm cublasGemmEx cudaDeviceSynchronize cudaGetLastError cublasDestroy; do
		grep -q "^$s " "$C/$label.out" || fail "$label: no $s line"
		grep "^$s " "$C/$label.out" | grep -qv " 0$" && { cat "$C/$label.out"; fail "$label: $s failed"; }
	done
	grep -q '"call": "cuLaunchKernelEx' "$C/$label.log" || fail "$label: cuBLAS launched no kernel through vgpu's driver"
	grep -q '"table": "tools context"' "$C/$label.log" || fail "$label: cuBLAS never asked for the tools context table"
	echo "ok $label: cuBLAS $(sed -n 's/^cublasVersion //p' "$C/$label.out"): $(grep -E '^cublas(Sgemm|Dgemm|Hgemm|GemmEx) ' "$C/$label.out" | tr '\n' ' ')"
}
echo "== cuBLAS 12's GEMMs on NVIDIA's runtime over vgpu's libcuda.so.1 (sim, kernels as no-ops)"
cublas cublas VGPU_BACKEND=sim VGPU_SIM_LAUNCH=noop
grep -q '"call": "cuOccupancyMaxActiveClusters' "$C/cublas.log" || fail "cuBLAS 12 never asked vgpu's driver for cluster occupancy"
echo "== the same through a remote client of a sim server (kernels as no-ops there)"
SOCK2=$C/vgpu-noop.sock
VGPU_SIM_LAUNCH=noop spawn "$VGPU" serve --listen "unix://$SOCK2" >"$C/server-noop.log" 2>&1
wait_socket "$SOCK2"
cublas cublas-remote VGPU_BACKEND=remote VGPU_SERVER="unix://$SOCK2"

echo "== an Ollama tree in the driver-only mode: cuda_v12 bundles NVIDIA's CUDA 12.4 runtime and cuBLAS, cuda_v13 stand-ins"
T=$C/tree
DIR=$T/lib/ollama
mkdir -p "$DIR/cuda_v12" "$DIR/cuda_v13"
cp "$NPM/3.22.1/libggml-base.so" "$DIR/"
cp "$NPM/3.10.0/libggml-cuda.so" "$DIR/cuda_v12/"
cp "$NPM/3.22.1/libggml-cuda.so" "$DIR/cuda_v13/"
# NVIDIA's files by link (Ollama ships the files; links keep 550 MB out of the tree).
for f in libcudart.so.12.4.127 libcublas.so.12.4.5.8 libcublasLt.so.12.4.5.8; do
	ln -s "$RT/$f" "$DIR/cuda_v12/$f"; ln -s "$f" "$DIR/cuda_v12/${f%.so.*}.so.12"
done
for lib in cudart:13.0.88 cublas:13.0.2.14 cublasLt:13.0.2.14; do
	n=${lib%%:*} full=lib${lib%%:*}.so.${lib#*:}
	$CC -shared -fPIC -o "$DIR/cuda_v13/$full" -Wl,-soname,lib$n.so.13 "$ROOT/tests/ollama/standin.c"
	ln -s "$full" "$DIR/cuda_v13/lib$n.so.13"
done
$CC -O1 -Wall -o "$DIR/llama-server" "$ROOT/tests/ollama/llama-server.c" -ldl
printf 'void *ggml_backend_load(const char *p) { (void)p; return 0; }\n' | $CC -shared -fPIC -x c -o "$DIR/libggml.so" -
snapshot() { (cd "$T" && find . -printf '%y %p %m %l\n' | sort && find . -type f -exec sha256sum {} + | sort); }
snapshot >"$C/tree.before"

echo "-- install --driver-only --dry-run changes nothing"
"$VGPU" install --driver-only --ollama-dir "$DIR" --dry-run >"$C/dry-run.txt"
grep -q "would link libcuda.so.1 -> vgpu/libvgpu.so" "$C/dry-run.txt" || { cat "$C/dry-run.txt"; fail "dry run did not list libcuda.so.1"; }
grep -q "set aside\|cuda_v1" "$C/dry-run.txt" && { cat "$C/dry-run.txt"; fail "driver-only would touch a variant"; }
snapshot | diff -q - "$C/tree.before" >/dev/null || fail "dry run changed the tree"

echo "-- install --driver-only"
"$VGPU" install --driver-only --ollama-dir "$DIR"
grep -q '"mode": "driver-only"' "$DIR/.vgpu-install.json" || fail "the manifest does not record the mode"
diff <(snapshot | grep cuda_v1) <(grep cuda_v1 "$C/tree.before") || fail "driver-only install changed a variant directory"
runner() { env LD_LIBRARY_PATH="$DIR:$DIR/cuda_v12" PROBE_BASE_DIR="$NPM/3.10.0" "$@"; }
VGPU_BACKEND=sim LD_DEBUG=files runner "$PROBE" "$DIR/cuda_v12" "$NAME" "$TOTAL" >"$C/runner.out" 2>"$C/runner.log" || { cat "$C/runner.out"; fail "the cuda_v12 runner"; }
grep -q "$DEVICE_LINE" "$C/runner.log" && grep -q '^PASS' "$C/runner.out" || fail "the cuda_v12 runner did not see the virtual device"
grep -q "calling init: $DIR/cuda_v12/libcudart.so.12\$" "$C/runner.log" || fail "the runner did not use Ollama's bundled libcudart.so.12"
grep -q "calling init: $DIR/libcuda.so.1\$" "$C/runner.log" || fail "the runner did not use vgpu's libcuda.so.1 from lib/ollama"
echo "cuda_v12 runner: $(grep -E '^device 0' "$C/runner.out"); $(tail -1 "$C/runner.out")"

echo "-- doctor in the driver-only mode"
VGPU_BACKEND=sim "$VGPU" doctor --ollama-dir "$DIR" >"$C/doctor.out" 2>&1 || true
want() { grep -q -- "$1" "$C/doctor.out" || { cat "$C/doctor.out"; fail "doctor: want $1"; }; }
want '\[PASS\] mode: installed in the driver-only mode'
want '\[PASS\] cuda_v12/runtime: bundled CUDA 12.4 runtime: vgpu.s libcuda.so.1 answers its private export tables'
want "\[PASS\] cuda_v12/libraries: libcuda.so.1 -> $DIR/libcuda.so.1 = $DIR/vgpu/libvgpu.so (vgpu, .*libcudart.so.12 -> $DIR/cuda_v12/libcudart.so.12 = $RT/libcudart.so.12.4.127 (not vgpu"
want "\[PASS\] cuda_v12/devices: driver 1 device(s), runtime 1, NVML 1 .*: 0: $NAME cc 9.0"
# CUDA 13.0's runtime runs on vgpu's driver (on the GPU machine): doctor passes the variant.
want '\[PASS\] cuda_v13/runtime: bundled CUDA 13.0 runtime: vgpu.s libcuda.so.1 answers its private export tables'
# cuda_v13's libcudart.so.13 here is a stand-in (no NVIDIA runtime): it lists no device.
want '\[FAIL\] cuda_v13/devices: the APIs disagree: driver 1 device(s), runtime 0'
grep -E '\] (mode|cuda_v1./(runtime|libraries|devices)):' "$C/doctor.out" | cut -c1-200
expected "cuda_v12's npm backend has ggml API version 1 and Ollama's llama-server takes 2: doctor fails its api-version and llama-server checks, as tests/ollama shows"
expected "cuda_v13/devices fails above: that variant's libcudart.so.13 here is a stand-in that lists no device (NVIDIA's CUDA 13 runtime is not packaged for Debian; on the GPU machine it lists vgpu's)"

echo "-- switching modes: full, then driver-only again, then uninstall"
out=$("$VGPU" install --ollama-dir "$DIR"); grep -q "switching .* from the driver-only mode to the full mode" <<<"$out" || { echo "$out"; fail "no switch to full"; }
[ "$(readlink -f "$DIR/cuda_v12/libcudart.so.12")" = "$(readlink -f "$DIR/vgpu/libvgpu.so")" ] || fail "full mode did not replace the runtime"
out=$("$VGPU" install --driver-only --ollama-dir "$DIR"); grep -q "switching .* from the full mode to the driver-only mode" <<<"$out" || { echo "$out"; fail "no switch back"; }
[ "$(readlink "$DIR/cuda_v12/libcudart.so.12")" = libcudart.so.12.4.127 ] || fail "driver-only mode did not put the bundled runtime back"
out=$("$VGPU" install --driver-only --ollama-dir "$DIR"); grep -q "already installed" <<<"$out" || fail "a second driver-only install was not a no-op"
"$VGPU" uninstall --ollama-dir "$DIR" >/dev/null
snapshot | diff - "$C/tree.before" || fail "the tree differs after uninstall"
echo "uninstall restored the tree byte for byte"

echo "-- doctor under vgpu run --driver-only, nothing installed"
VGPU_BACKEND=sim "$VGPU" run --driver-only -- "$VGPU" doctor --ollama-dir "$DIR" >"$C/doctor.out" 2>&1 || true
want '\[PASS\] mode: not installed; libcuda.so.1 on the library path is vgpu.s .*the driver-only mode'
want '\[PASS\] cuda_v12/runtime: bundled CUDA 12.4'
want "\[PASS\] cuda_v12/devices: driver 1 device(s), runtime 1"
echo "-- doctor with nothing: says how to install either mode"
VGPU_BACKEND=sim "$VGPU" doctor --ollama-dir "$DIR" >"$C/doctor.out" 2>&1 && fail "doctor passed an untouched tree"
want '\[WARN\] mode: vgpu is not installed'
pass
