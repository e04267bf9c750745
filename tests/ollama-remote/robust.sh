#!/usr/bin/env bash
# Ollama through a remote vgpu server, under the failures of issue 5, on a GPU machine with an
# Ollama already installed (this builds nothing; carry build/ there).
#   usage: tests/ollama-remote/robust.sh OLLAMA_DIR    (OLLAMA_DIR holds bin/ollama and lib/ollama)
# 1. Per-client caps: a server that lets each client hold 2 GiB. Ollama's scheduler sees 2 GiB
#    and puts the 3B model (3.6 GB) partly on the GPU; a second Ollama on the same server gets
#    a cap of its own.
# 2. A runner killed mid-generation: the server frees what it held, the request fails, and the
#    next request is answered.
# 3. The server killed mid-generation: the request fails within seconds instead of hanging,
#    and once a server is back the next request is answered.
set -uo pipefail
O=$(cd "$1" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VGPU=$ROOT/build/bin/vgpu
T=$(mktemp -d)
SOCK=$T/vgpu.sock
MPORT=$((20000 + RANDOM % 20000))
pids=()
trap 'kill -9 "${pids[@]}" 2>/dev/null; pkill -9 -f "ollama runner" 2>/dev/null; rm -rf "$T"' EXIT
fails=0
check() { if eval "$2"; then echo "PASS: $1"; else echo "FAIL: $1"; fails=$((fails + 1)); fi; }

serve() {
	rm -f "$SOCK"
	VGPU_LOG_LEVEL=info "$VGPU" serve --listen "unix://$SOCK" --backend local --metrics "127.0.0.1:$MPORT" "$@" >>"$T/server.log" 2>&1 &
	SERVER=$!
	pids+=($SERVER)
	for _ in $(seq 100); do [ -S "$SOCK" ] && return; sleep 0.1; done
	echo "the server did not start"; tail "$T/server.log"; exit 1
}
metrics() { exec 3<>"/dev/tcp/127.0.0.1/$MPORT" && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 && grep '^vgpu_client' <&3; exec 3<&-; }
ollama_up() { # PORT: an Ollama whose runners are remote clients of the server
	env -i HOME="$T/home" PATH=/usr/bin:/bin OLLAMA_HOST="127.0.0.1:$1" OLLAMA_MODELS="$T/models" OLLAMA_KEEP_ALIVE=1h \
		VGPU_BACKEND=remote VGPU_SERVER="unix://$SOCK" VGPU_LIBDIR="$ROOT/build/lib" \
		"$VGPU" run -- "$O/bin/ollama" serve >"$T/ollama-$1.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do OLLAMA_HOST="127.0.0.1:$1" "$O/bin/ollama" list >/dev/null 2>&1 && return; sleep 0.2; done
	echo "Ollama on $1 did not start"; tail "$T/ollama-$1.log"; exit 1
}
ol() { local port=$1; shift; OLLAMA_HOST="127.0.0.1:$port" HOME="$T/home" "$O/bin/ollama" "$@"; }
model() { # NAME SIZE PREDICT
	"$VGPU" testmodel --size "$2" --type q8_0 -o "$T/$1.gguf" >/dev/null
	printf 'FROM %s\nPARAMETER temperature 0\nPARAMETER seed 1\nPARAMETER num_predict %s\n' "$T/$1.gguf" "$3" >"$T/$1.Modelfile"
	ol "$PORT1" create "$1" -f "$T/$1.Modelfile" >/dev/null 2>&1
}
runner_pid() { # the runner of the Ollama on PORT
	pgrep -f "ollama runner" | while read -r p; do
		grep -qz "OLLAMA_HOST=127.0.0.1:$1" "/proc/$p/environ" 2>/dev/null && echo "$p"
	done | head -1
}

PORT1=$((40000 + RANDOM % 10000)) PORT2=$((50000 + RANDOM % 10000))
echo "== 1. a server that caps each client at 2 GiB"
serve --client-memory 2GiB
ollama_up $PORT1
ollama_up $PORT2
model big 3b 8
model small qwen0.5b 6000
ol $PORT2 create big -f "$T/big.Modelfile" >/dev/null 2>&1
ol $PORT1 run big "hello" >"$T/big1.out" 2>&1; r1=$?
ol $PORT2 run big "hello" >"$T/big2.out" 2>&1; r2=$?
ps1=$(ol $PORT1 ps | awk 'NR > 1 {print $0}'); ps2=$(ol $PORT2 ps | awk 'NR > 1 {print $0}')
echo "ollama 1: $ps1"; echo "ollama 2: $ps2"
grep -h "total memory\|inference compute" "$T/ollama-$PORT1.log" | tail -2 | cut -c1-300
metrics | tee "$T/metrics-caps.txt"
check "both Ollamas answered with the 3B model" '[ $r1 = 0 ] && [ $r2 = 0 ]'
check "each placed it partly on the 2 GiB GPU" 'grep -q "CPU/.*GPU" <<<"$ps1" && grep -q "CPU/.*GPU" <<<"$ps2"'
check "two clients, each within its cap" '[ $(awk -v cap=$((2 << 30)) "/vgpu_client_memory_bytes/ && \$2 > 0 && \$2 <= cap" "$T/metrics-caps.txt" | wc -l) -ge 2 ]'
ol $PORT1 stop big; ol $PORT2 stop big

echo "== 2. a runner killed mid-generation"
ol $PORT1 run small "tell me a long story" >"$T/kill.out" 2>&1 &
gen=$!
sleep 4
victim=$(runner_pid $PORT1)
held=$(metrics | awk '/vgpu_client_memory_bytes/ {s += $2} END {print s + 0}')
echo "runner $victim; the server's clients hold $held bytes"
kill -9 "$victim"
wait $gen; rgen=$?
sleep 1
after=$(metrics | awk '/vgpu_client_memory_bytes/ {s += $2} END {print s + 0}')
grep "client gone" "$T/server.log" | tail -1 | cut -c1-300
check "the killed runner's request failed" '[ $rgen != 0 ]'
check "the server freed what it held ($held -> $after bytes)" '[ "$held" -gt 0 ] && [ "$after" -lt "$held" ]'
ol $PORT1 run small "hi" >"$T/after-kill.out" 2>&1; r=$?
check "the next request is answered" '[ $r = 0 ] && [ -s "$T/after-kill.out" ]'

echo "== 3. the server killed mid-generation, then back"
ol $PORT1 run small "tell me a long story" >"$T/restart.out" 2>&1 &
gen=$!
sleep 4
kill -9 $SERVER
t0=$(date +%s%N)
for _ in $(seq 600); do kill -0 $gen 2>/dev/null || break; sleep 0.05; done
wait $gen; rgen=$?
secs=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "the request ended ${secs} ms after the server died: $(tail -c 300 "$T/restart.out" | tr '\n' ' ')"
check "the request failed, within 10 s" '[ $rgen != 0 ] && [ $secs -lt 10000 ]'
serve --client-memory 2GiB
ok=1
for i in 1 2 3; do # Ollama may first report the runner it lost
	ol $PORT1 run small "hi" >"$T/after-restart.out" 2>&1 && { ok=0; break; }
	sleep 2
done
check "a request is answered once the server is back" '[ $ok = 0 ]'
grep -h "error\|ERROR" "$T/ollama-$PORT1.log" | grep -iv "level=DEBUG" | tail -3 | cut -c1-300
echo "robust: $fails failure(s)"
[ $fails = 0 ]
