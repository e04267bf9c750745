#!/usr/bin/env bash
# The newest Ollama (0.32.15) under vgpu's sim, on a machine with no GPU. Ollama is built from
# the Go module proxy and llama-server from node-llama-cpp 3.22.1's llama.cpp (build.sh,
# cached per machine); the CUDA backend is that release's own npm build, the same commit.
# Checks: both discovery passes report the virtual device under `vgpu run` and after
# `vgpu install`; a `vgpu testmodel` model generates with no-op kernels, in process and as a
# remote client of a sim server, wholly on the GPU; doctor passes; uninstall restores the tree
# byte for byte. usage: run.sh LIBDIR
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
LIBDIR=$1
HERE=$ROOT/tests/newest
W=$CACHE/newest
OV=${OLLAMA_VERSION:-0.32.15}
NV=3.22.1
NAME="NVIDIA H100 80GB HBM3"
clean_env LD_LIBRARY_PATH OLLAMA_LLM_LIBRARY OLLAMA_HOST

C=$(bash "$HERE/build.sh" | tail -1)
[ -f "$CACHE/npm/$NV/libggml-cuda.so" ] || (cd "$ROOT" && go run ./tests/ggml/fetch "$CACHE/npm")

# lib/ollama as Ollama 0.32's release lays it out: llama-server and its libraries at the top,
# the CUDA backend in cuda_v13 beside (stand-ins for) the NVIDIA libraries it bundles.
rm -rf "$W"; mkdir -p "$W/home" "$W/models"
T=$W/ollama DIR=$W/ollama/lib/ollama
mkdir -p "$T/bin" "$DIR/cuda_v13"
cp "$C/ollama-$OV/bin/ollama" "$T/bin/"
cp "$C/llama-server-$NV/bin/llama-server" "$C/llama-server-$NV/bin/llama-quantize" "$DIR/" # ollama create validates with llama-quantize
cp -P "$C/llama-server-$NV/bin/"*.so* "$DIR/"
cp "$CACHE/npm/$NV/libggml-cuda.so" "$DIR/cuda_v13/"
for lib in cudart:13.0.96 cublas:13.1.0.3 cublasLt:13.1.0.3; do
	n=${lib%%:*} full=lib${lib%%:*}.so.${lib#*:}
	${CC:-gcc} -shared -fPIC -o "$DIR/cuda_v13/$full" -Wl,-soname,lib$n.so.13 "$ROOT/tests/ollama/standin.c"
	ln -s "$full" "$DIR/cuda_v13/lib$n.so.13"
done
snapshot() { (cd "$T" && find . -printf '%y %p %m %l\n' | sort && find . -type f -exec sha256sum {} + | sort); }
snapshot >"$W/tree.before"

# NVML writes an 8-digit PCI domain; the driver API, which Ollama reads, 4.
PCI=$("$VGPU" smi --query-gpu=pci.bus_id --format=csv,noheader | tr "A-F" "a-f" | sed "s/^0000//")

# serve LABEL [ENV=VALUE...] [--] [PREFIX...]: ollama serve on a free port of its own, its log
# in $W/LABEL.log; returns once discovery has reported (or fails after 180 s).
PORT= OLLAMA_PID=
serve() {
	local label=$1; shift
	PORT=$(rand_port)
	while (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do PORT=$(rand_port); done # taken
	spawn env HOME="$W/home" OLLAMA_HOST="127.0.0.1:$PORT" OLLAMA_MODELS="$W/models" OLLAMA_DEBUG=1 \
		OLLAMA_CONTEXT_LENGTH=512 OLLAMA_KEEP_ALIVE=5m "$@" "$T/bin/ollama" serve >"$W/$label.log" 2>&1
	OLLAMA_PID=$SPAWNED
	local i
	for i in $(seq 1 360); do
		grep -q 'msg="inference compute"' "$W/$label.log" && return 0
		kill -0 "$OLLAMA_PID" 2>/dev/null || { tail -30 "$W/$label.log"; fail "$label: ollama serve exited"; }
		sleep 0.5
	done
	tail -30 "$W/$label.log"; fail "$label: no discovery within 180 s"
}
ollama() { env HOME="$W/home" OLLAMA_HOST="127.0.0.1:$PORT" "$T/bin/ollama" "$@"; }

# discovered LABEL: the virtual device, as both of Ollama's passes saw it.
discovered() {
	local log=$W/$1.log line
	line=$(grep -m1 'msg="inference compute"' "$log")
	echo "   $line" | cut -c1-400
	# 0.32 names devices by index and PCI id (its native probe reads no UUID).
	for want in 'library=CUDA' "description=\"$NAME\"" 'compute=9.0' 'driver=13.0' "pci_id=$PCI" 'total="79.2 GiB"'; do
		grep -qF -- "$want" <<<"$line" || fail "$1: discovery line lacks $want"
	done
	grep -q 'msg="bootstrap discovery took".*extra_envs="map\[CUDA_VISIBLE_DEVICES:0 GGML_CUDA_INIT:1\]"' "$log" ||
		fail "$1: no second (per-device) discovery pass in the log"
	grep -q 'msg="verifying if device is supported" .*description="'"$NAME"'"' "$log" || fail "$1: the device was not verified"
}

echo "== vgpu run -- ollama serve: discovery"
serve run "$VGPU" run --
discovered run
echo "== a testmodel model generates with no-op kernels, in process, wholly on the GPU"
"$VGPU" testmodel --size tiny --type q8_0 --seed 1 --modelfile -o "$W/tiny.gguf" >/dev/null
generate() { # LABEL: create (once), generate 8 tokens, and check the model ran wholly on the GPU
	out=$(cd "$W" && ollama create tiny -f tiny.Modelfile 2>&1) || { echo "$out" | tail -5; fail "$1: ollama create"; }
	# No-op kernels leave the logits as they were, so the text repeats: Ollama stops a long
	# repeat, and 8 tokens stay short of it.
	out=$(http_post "127.0.0.1:$PORT" /api/generate '{"model":"tiny","prompt":"Say something","stream":false,"options":{"num_predict":8}}')
	grep -q '"done":true' <<<"$out" && grep -q '"eval_count":8[,}]' <<<"$out" ||
		{ echo "$out" | cut -c1-600; tail -40 "$W/$1.log"; fail "$1: no 8-token generation"; }
	echo "   $(grep -o '"eval_count":[0-9]*,"eval_duration":[0-9]*' <<<"$out")"
	grep -q 'load_tensors: offloaded 3/3 layers to GPU' "$W/$1.log" || fail "$1: llama-server did not offload every layer"
	ps=$(ollama ps); echo "   $(tail -1 <<<"$ps")"
	grep -q '100% GPU' <<<"$ps" || { echo "$ps"; fail "$1: the model is not wholly on the GPU"; }
}
stop "$OLLAMA_PID"
serve gen VGPU_SIM_LAUNCH=noop "$VGPU" run --
generate gen
stop "$OLLAMA_PID"

echo "== the same through a remote client of a sim server"
SOCK=$W/vgpu.sock
spawn env VGPU_SIM_LAUNCH=noop "$VGPU" serve --listen "unix://$SOCK" >"$W/server.log" 2>&1
server=$SPAWNED
wait_socket "$SOCK"
serve remote VGPU_BACKEND=remote VGPU_SERVER="unix://$SOCK" "$VGPU" run --
discovered remote
generate remote
stop "$OLLAMA_PID"
stop "$server"

echo "== vgpu install, then a plain ollama serve"
"$VGPU" install --ollama-dir "$DIR" >/dev/null
serve installed
discovered installed
stop "$OLLAMA_PID"
"$VGPU" doctor --ollama-dir "$DIR" >"$W/doctor.out" || { cat "$W/doctor.out"; fail "doctor after install"; }
tail -1 "$W/doctor.out"
echo "== uninstall restores the tree byte for byte"
"$VGPU" uninstall --ollama-dir "$DIR" >/dev/null
snapshot | diff - "$W/tree.before" || fail "the tree differs after uninstall"
pass
