#!/usr/bin/env bash
# On a GPU machine: the GPU's timeline of llama-server's requests, native and through
# `vgpu serve` (unix socket, or TCP), to tell how much of a request the GPU spends computing
# and how much it waits for the next kernel. Each mode serves PROMPTS+1 long prompts (one
# token generated; prompt 0, the first, pays one-time work) and DECODES decode requests (128
# tokens); each request is one burst of GPU work, and the bursts are summed up per mode
# (gputimeline.c).
# usage: timeline.sh LLAMA_BIN_DIR VGPU_BUILD GGUF OUT [MODES (native,remote; remote-tcp: loopback TCP)]
# env: NOTRACE (set: no tracer, the requests' own timings only: the tracer costs time of its
# own), PROMPTS (5), DECODES (2), LLAMA_ARGS ("-c 4096 -np 1"; Ollama 0.32 starts it with
# "-c CTX*N -np N", N its OLLAMA_NUM_PARALLEL), CUDA_HOME
set -uo pipefail
LL=$1 VB=$2 GGUF=$3 OUT=$4 MODES=${5:-native,remote}
. "$(dirname "$0")/../lib.sh"
CUDA=${CUDA_HOME:-/usr/local/cuda}
mkdir -p "$OUT"
TL=$OUT/libgputimeline.so
if [ -z "${NOTRACE:-}" ]; then
	HDR=$(find "$CUDA/" -name cupti_activity.h 2>/dev/null | head -1)
	LIB=$(find "$CUDA/" -name 'libcupti.so' 2>/dev/null | head -1)
	[ -n "$HDR" ] && [ -n "$LIB" ] || { echo "timeline: no CUPTI under $CUDA"; exit 1; }
	KREC=$(grep -oE '} CUpti_ActivityKernel[0-9]+;' "$HDR" | tr -d '}; ' | sort -V | tail -1)
	MREC=$(grep -oE '} CUpti_ActivityMemcpy[0-9]+;' "$HDR" | tr -d '}; ' | sort -V | tail -1)
	${CC:-gcc} -O2 -shared -fPIC -DKREC="$KREC" -DMREC="$MREC" -I"$(dirname "$HDR")" -I"$CUDA/include" \
		-o "$TL" "$ROOT/tests/bench/gputimeline.c" -L"$(dirname "$LIB")" -lcupti -Wl,-rpath,"$(dirname "$LIB")" || exit 1
fi
LONG=$(for i in $(seq 330); do printf 'word%d is here, ' "$i"; done); LONG=${LONG:0:1095} # ~1,100 tokens of vgpu testmodel's vocabulary: three ubatches

run_mode() { # MODE N
	local mode=$1 port srv="" dir=$OUT/$1-$2
	port=$(rand_port)
	mkdir -p "$dir"
	local run=(env "LD_LIBRARY_PATH=$LL:$CUDA/lib64") inject=(CUDA_INJECTION64_PATH="$TL" GPUTL_OUT="$dir")
	[ -n "${NOTRACE:-}" ] && inject=(GPUTL_OFF=1)
	case $mode in
	remote | remote-tcp)
		AVOID_PORT=$port serve_for "$mode" "$dir" "$VB/bin/vgpu" local "${inject[@]}" VGPU_CUBLAS="$CUDA/lib64/libcublas.so.13"
		srv=$SERVED
		run=(env "LD_LIBRARY_PATH=$LL" VGPU_BACKEND=remote "${CLIENT_ENV[@]}" "$VB/bin/vgpu" run --)
		;;
	*) run+=("${inject[@]}") ;;
	esac
	# shellcheck disable=SC2086 # LLAMA_ARGS is a list of flags
	spawn "${run[@]}" "$LL/llama-server" -m "$GGUF" -ngl 99 --port "$port" ${LLAMA_ARGS:--c 4096 -np 1} --no-warmup >"$dir/llama.log" 2>&1
	local ls=$SPAWNED
	for _ in $(seq 300); do (http_get "127.0.0.1:$port" /health) 2>/dev/null | grep -q ok && break; sleep 0.1; done
	for i in $(seq 0 "${PROMPTS:-5}"); do
		http_post "127.0.0.1:$port" /completion "{\"prompt\":\"$i $LONG\",\"n_predict\":1,\"temperature\":0,\"cache_prompt\":false}" |
			grep -oE '"prompt_n":[0-9]+|"prompt_ms":[0-9.]+' | tr '\n' ' ' >>"$dir/requests.txt"
		echo " (prompt $i)" >>"$dir/requests.txt"
		sleep 0.2
	done
	for i in $(seq "${DECODES:-2}"); do
		http_post "127.0.0.1:$port" /completion "{\"prompt\":\"Question $i:\",\"n_predict\":128,\"temperature\":0,\"cache_prompt\":false,\"ignore_eos\":true}" |
			grep -oE '"predicted_n":[0-9]+|"predicted_ms":[0-9.]+' | tr '\n' ' ' >>"$dir/requests.txt"
		echo " (decode $i)" >>"$dir/requests.txt"
		sleep 0.2
	done
	stop "$ls"
	[ -n "$srv" ] && { sleep 0.5; stop "$srv"; } # the tracer's last records are flushed every 200 ms
	echo "== $mode ($2)"
	cat "$dir/requests.txt"
	[ -n "${NOTRACE:-}" ] && return
	# Bursts (gaps over 20 ms between them): kernels, span, GPU busy, idle inside the burst.
	cat "$dir"/tl-*.txt | awk '$1 == "K"' | sort -n -k2 | awk '
		function report() { if (n) printf "burst %d: %d kernels, span %.3f ms, busy %.3f ms, idle %.3f ms (gaps <5us %.3f, 5-20us %.3f, 20-100us %.3f, >100us %.3f ms, %d of them)\n", b, n, (cend - first) / 1e6, busy / 1e6, (cend - first - busy) / 1e6, g[0] / 1e6, g[1] / 1e6, g[2] / 1e6, g[3] / 1e6, big }
		{ s = substr($2, length($2) - 12) + 0; e = substr($3, length($3) - 12) + 0 # doubles: the last 13 digits of the nanoseconds
		  if (n && s > cend + 20e6) { report(); n = 0 }
		  if (!n) { b++; first = s; cend = e; busy = e - s; n = 1; big = 0; g[0] = g[1] = g[2] = g[3] = 0; next }
		  n++
		  if (s > cend) { gap = s - cend; k = gap < 5e3 ? 0 : gap < 20e3 ? 1 : gap < 100e3 ? 2 : 3; g[k] += gap; if (k == 3) big++; busy += e - s; cend = e }
		  else if (e > cend) { busy += e - cend; cend = e } }
		END { report() }'
}

n=0
for m in ${MODES//,/ }; do n=$((n + 1)); run_mode "$m" "$n"; done
