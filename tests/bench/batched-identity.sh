#!/usr/bin/env bash
# On a GPU machine: are concurrent sequences computed through `vgpu serve` exactly as native
# computes them? Ollama batches concurrent requests by when they arrive, so its concurrent
# results vary from run to run natively too and cannot settle it. llama.cpp's own examples fix
# the batching in the program instead: `llama-batched` decodes 4 sequences in lockstep from one
# prompt, `llama-parallel` serves 12 sequences to 4 clients with continuous batching, prompts
# and decodes mixed in one batch, clients joining at fixed iterations. Both sample (top-k, top-p,
# temperature) from one seed, so a token differs if a logit does. Each runs natively twice (the
# program must agree with itself for the check to mean anything) and through vgpu serve over a
# unix socket and over TCP; every sequence's text must match native's byte for byte.
# usage: batched-identity.sh LLAMA_BIN_DIR VGPU_BUILD GGUF OUT    (prints one verdict line)
# env: SERVE_BACKEND (local; sim tries the plumbing on a machine without a GPU)
set -uo pipefail
LL=$1 VB=$2 GGUF=$3 OUT=$4
. "$(dirname "$0")/../lib.sh"
suite batched-identity
CUDA=${CUDA_HOME:-/usr/local/cuda}
mkdir -p "$OUT"

# The generated text of every sequence, without timings.
batched() { "$@" "$LL/llama-batched" -m "$GGUF" -ngl 99 -p "Once upon a time" -np 4 -n 160 -kvu -s 42 --temp 0.8 2>"$ERR" |
	sed -n '/^sequence 0:/,$p'; }
parallel() { "$@" "$LL/llama-parallel" -m "$GGUF" -ngl 99 -np 4 -ns 12 -n 64 -kvu -s 42 --temp 0.8 -c 16384 2>&1 | tee -a "$ERR" |
	grep -E '^(Input|.*Response):' | sed 's/\x1b\[[0-9;]*m//g'; }

run_mode() { # MODE: writes OUT/PROGRAM-MODE.txt for both programs, their logs to OUT/MODE.log
	local mode=$1 run=(env "LD_LIBRARY_PATH=$LL:$CUDA/lib64") srv=""
	ERR=$OUT/$mode.log
	case $mode in
	native*) ;;
	remote | remote-tcp)
		mkdir -p "$OUT/$mode"
		serve_for "$mode" "$OUT/$mode" "$VB/bin/vgpu" "${SERVE_BACKEND:-local}" VGPU_CUBLAS="$CUDA/lib64/libcublas.so.13"
		srv=$SERVED
		run=(env "LD_LIBRARY_PATH=$LL" VGPU_BACKEND=remote "${CLIENT_ENV[@]}" "$VB/bin/vgpu" run --)
		;;
	esac
	batched "${run[@]}" >"$OUT/batched-$mode.txt"
	parallel "${run[@]}" >"$OUT/parallel-$mode.txt"
	[ -n "$srv" ] && stop "$srv"
	echo "$mode: batched $(grep -c '^sequence' "$OUT/batched-$mode.txt") sequences, parallel $(grep -c '^Input' "$OUT/parallel-$mode.txt") requests"
}

for m in native native-again remote remote-tcp; do run_mode $m; done
bad=0
for p in batched parallel; do
	[ -s "$OUT/$p-native.txt" ] || { echo "$p: native produced nothing"; bad=1; continue; }
	if ! cmp -s "$OUT/$p-native.txt" "$OUT/$p-native-again.txt"; then
		expected "$p: native differs from itself, so it checks nothing"
		continue
	fi
	for m in remote remote-tcp; do
		if cmp -s "$OUT/$p-native.txt" "$OUT/$p-$m.txt"; then
			echo "$p, $m: identical to native ($(wc -c <"$OUT/$p-native.txt") bytes)"
		else
			echo "$p, $m: DIFFERS from native:"; diff "$OUT/$p-native.txt" "$OUT/$p-$m.txt" | head -6
			bad=1
		fi
	done
done
[ $bad = 0 ] && pass || fail "concurrent sequences differ from native"
