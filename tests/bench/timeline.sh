#!/usr/bin/env bash
# On a GPU machine: the GPU's timeline of llama-server's requests, native and through
# `vgpu serve` (unix socket, or TCP), to tell how much of a request the GPU spends computing and how
# much it waits for the next kernel. Each mode serves one unmeasured long prompt, then
# PROMPTS long prompts (one token generated) and DECODES decode requests (128 tokens); each
# request is one burst of GPU work, and the bursts are summed up per mode (gputimeline.c).
# usage: timeline.sh LLAMA_BIN_DIR VGPU_BUILD GGUF OUT [MODES (native,remote; remote-tcp: loopback TCP)]
# env: NOTRACE (set: load no tracer), PROMPTS (5), DECODES (2), LLAMA_ARGS ("-c 4096 -np 1"; Ollama 0.32 starts it with
# "-c CTX*N -np N", N its OLLAMA_NUM_PARALLEL), CUDA_HOME
set -uo pipefail
LL=$1 VB=$2 GGUF=$3 OUT=$4 MODES=${5:-native,remote}
CUDA=${CUDA_HOME:-/usr/local/cuda}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
HDR=$(find "$CUDA/" -name cupti_activity.h 2>/dev/null | head -1)
LIB=$(find "$CUDA/" -name 'libcupti.so' 2>/dev/null | head -1)
[ -n "$HDR" ] && [ -n "$LIB" ] || { echo "timeline: no CUPTI under $CUDA"; exit 1; }
KREC=$(grep -oE '} CUpti_ActivityKernel[0-9]+;' "$HDR" | tr -d '}; ' | sort -V | tail -1)
MREC=$(grep -oE '} CUpti_ActivityMemcpy[0-9]+;' "$HDR" | tr -d '}; ' | sort -V | tail -1)
TL=$OUT/libgputimeline.so
${CC:-gcc} -O2 -shared -fPIC -DKREC="$KREC" -DMREC="$MREC" -I"$(dirname "$HDR")" -I"$CUDA/include" \
	-o "$TL" "$HERE/gputimeline.c" -L"$(dirname "$LIB")" -lcupti -Wl,-rpath,"$(dirname "$LIB")" || exit 1

# HTTP without curl: one request on a fresh connection, the body on stdout.
http() { # PORT METHOD PATH [BODY]
	exec 3<>/dev/tcp/127.0.0.1/$1 || return 1
	printf '%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
		"$2" "$3" "${#4}" "${4:-}" >&3
	sed '1,/^\r$/d' <&3
	exec 3<&-
}
LONG=$(for i in $(seq 330); do printf 'word%d is here, ' "$i"; done); LONG=${LONG:0:1095} # ~1,100 tokens of vgpu testmodel's vocabulary: three ubatches

run_mode() { # MODE N
	local mode=$1 port=$((20000 + RANDOM % 20000)) srv="" dir=$OUT/$1-$2
	mkdir -p "$dir"
	local run=(env "LD_LIBRARY_PATH=$LL:$CUDA/lib64") inject=(CUDA_INJECTION64_PATH="$TL" GPUTL_OUT="$dir")
	[ -n "${NOTRACE:-}" ] && inject=(GPUTL_OFF=1) # the requests' own timings only: the tracer costs time of its own
	case $mode in
	remote | remote-tcp)
		local listen=unix:///tmp/tl.sock client=(VGPU_SERVER=unix:///tmp/tl.sock)
		rm -f /tmp/tl.sock
		if [ "$mode" = remote-tcp ]; then
			local tport=$((port + 1))
			echo timeline >"$dir/token"; chmod 600 "$dir/token"
			listen="tcp://127.0.0.1:$tport --token-file $dir/token"
			client=(VGPU_SERVER=tcp://127.0.0.1:$tport VGPU_TOKEN=timeline)
		fi
		# shellcheck disable=SC2086 # listen carries its flags
		env "${inject[@]}" VGPU_CUBLAS="$CUDA/lib64/libcublas.so.13" \
			"$VB/bin/vgpu" serve --backend local --listen $listen >"$dir/serve.log" 2>&1 &
		srv=$!
		for _ in $(seq 100); do grep -q "listening" "$dir/serve.log" 2>/dev/null && break; sleep 0.1; done
		sleep 0.2
		run=(env "LD_LIBRARY_PATH=$LL" VGPU_BACKEND=remote "${client[@]}" "$VB/bin/vgpu" run --)
		;;
	*) run+=("${inject[@]}") ;;
	esac
	# shellcheck disable=SC2086 # LLAMA_ARGS is a list of flags
	"${run[@]}" "$LL/llama-server" -m "$GGUF" -ngl 99 --port "$port" ${LLAMA_ARGS:--c 4096 -np 1} --no-warmup >"$dir/llama.log" 2>&1 &
	local ls=$!
	for _ in $(seq 300); do http "$port" GET /health 2>/dev/null | grep -q ok && break; sleep 0.1; done
	for i in $(seq 0 "${PROMPTS:-5}"); do
		http "$port" POST /completion "{\"prompt\":\"$i $LONG\",\"n_predict\":1,\"temperature\":0,\"cache_prompt\":false}" |
			grep -oE '"prompt_n":[0-9]+|"prompt_ms":[0-9.]+' | tr '\n' ' ' >>"$dir/requests.txt"
		echo " (prompt $i)" >>"$dir/requests.txt"
		sleep 0.2
	done
	for i in $(seq "${DECODES:-2}"); do
		http "$port" POST /completion "{\"prompt\":\"Question $i:\",\"n_predict\":128,\"temperature\":0,\"cache_prompt\":false,\"ignore_eos\":true}" |
			grep -oE '"predicted_n":[0-9]+|"predicted_ms":[0-9.]+' | tr '\n' ' ' >>"$dir/requests.txt"
		echo " (decode $i)" >>"$dir/requests.txt"
		sleep 0.2
	done
	kill "$ls"; wait "$ls" 2>/dev/null
	[ -n "$srv" ] && { sleep 0.5; kill "$srv"; wait "$srv" 2>/dev/null; }
	echo "== $mode ($2)"
	cat "$dir/requests.txt"
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
