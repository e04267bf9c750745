#!/usr/bin/env bash
# The VM data path on one host: a client and `vgpu serve` map one memory file that no
# descriptor passing joins (as a guest's ivshmem BAR and its host's backing file), with the
# control connection on loopback TCP. Bulk bytes must go through the file, not the socket;
# a wrong nonce, an unknown name, a busy file and a size the file does not have are each
# refused, and the server keeps serving. usage: shmfile.sh LIBDIR
set -euo pipefail
LIBDIR=$1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VGPU=$ROOT/build/bin/vgpu
C=$ROOT/tests/cache/shmfile; rm -rf "$C"; mkdir -p "$C"
unset CUDA_VISIBLE_DEVICES VGPU_CONFIG VGPU_DEVICES VGPU_PROFILE LD_PRELOAD VGPU_BACKEND VGPU_SERVER VGPU_TOKEN VGPU_SHM_FILE VGPU_SHM_NAME VGPU_SHM_MB
fail() { echo "shmfile: FAIL: $*"; exit 1; }
if [ ! -d /dev/shm ] || [ "$(stat -f -c %T /dev/shm)" != tmpfs ]; then echo "shmfile: SKIP: no tmpfs at /dev/shm"; exit 0; fi
${CC:-gcc} -O1 -o "$C/client" "$ROOT/tests/remote/client.c" -ldl
(cd "$ROOT" && ${GO:-go} build -o "$C/shmclient" ./tests/remote/shmclient)
F=$(mktemp /dev/shm/vgpu-shmfile.XXXXXX); chmod 600 "$F"; truncate -s 64M "$F"
pids=()
cleanup() { for p in "${pids[@]}"; do { kill -9 "$p" && wait "$p"; } 2>/dev/null || true; done; rm -f "$F"; }
trap cleanup EXIT
echo secret >"$C/token"; chmod 600 "$C/token"
PORT=$((20000 + RANDOM % 20000)); MPORT=$((PORT + 1))
ADDR=127.0.0.1:$PORT
VGPU_LOG_LEVEL=info "$VGPU" serve --listen "tcp://$ADDR" --token-file "$C/token" --metrics "127.0.0.1:$MPORT" \
	--shm-file "vm0=$F" >"$C/server.log" 2>&1 & server=$!; pids+=($server)
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$MPORT") 2>/dev/null && break; sleep 0.05; done
metric() { exec 3<>"/dev/tcp/127.0.0.1/$MPORT"; printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3; awk -v f="$1" '$1 == f && !n++ {print $2} END {if (!n) print 0}' <&3; exec 3<&-; }
calls() { metric "vgpu_calls_total{function=\"$1\"}"; }
h2d() { metric 'vgpu_bytes_total{direction="h2d"}'; }
remote() { env LD_LIBRARY_PATH="$LIBDIR" VGPU_BACKEND=remote VGPU_SERVER="tcp://$ADDR" VGPU_TOKEN=secret "$@"; }
alive() { kill -0 $server 2>/dev/null || { cat "$C/server.log"; fail "the server died"; }; }
refusals() { grep -c "shared file refused: $1" "$C/server.log" || true; }

echo "== round trips up to 64 MiB through the shared file, over TCP"
p0=$(calls vgpu_put); g0=$(calls vgpu_get); ps0=$(calls vgpu_put_shm); gs0=$(calls vgpu_get_shm); b0=$(h2d)
for mib in 1 16 64; do
	VGPU_LOG_LEVEL=info VGPU_STATS=1 VGPU_SHM_FILE=$F VGPU_SHM_NAME=vm0 remote "$C/client" roundtrip $mib >"$C/rt$mib.out" 2>&1 ||
		{ cat "$C/rt$mib.out"; fail "roundtrip $mib MiB"; }
	grep roundtrip "$C/rt$mib.out"
	grep -q "shared file attached" "$C/rt$mib.out" || { cat "$C/rt$mib.out"; fail "the client did not attach the file"; }
done
dp=$(($(calls vgpu_put) - p0)); dg=$(($(calls vgpu_get) - g0))
dps=$(($(calls vgpu_put_shm) - ps0)); dgs=$(($(calls vgpu_get_shm) - gs0)); db=$(($(h2d) - b0))
echo "server calls: vgpu_put_shm +$dps vgpu_get_shm +$dgs (through the file), vgpu_put +$dp vgpu_get +$dg (bulk bytes on the socket); h2d bytes +$db"
[ "$dps" -gt 0 ] && [ "$dgs" -gt 0 ] || fail "the file was not used"
[ "$dp" -eq 0 ] && [ "$dg" -eq 0 ] || fail "bulk bytes crossed the socket"
[ "$db" -ge $(((1 + 16 + 64) << 20)) ] || fail "only $db bytes were uploaded"
[ "$(grep -c 'shared file attached' "$C/server.log")" -eq 3 ] || fail "the server did not log three attachments"

echo "== a wrong nonce, an unknown name, a size the file does not have: refused, server alive"
out=$("$C/shmclient" "$ADDR" "$C/token" "$F" vm0 wrong-nonce); echo "wrong nonce: $out"
[[ $out == refused* ]] || fail "a wrong nonce was accepted"
[ "$(refusals "the region does not hold the client's nonce")" -ge 1 ] || fail "no refusal logged for the nonce"
out=$("$C/shmclient" "$ADDR" "$C/token" "$F" vm9 ok); echo "unknown name: $out"
[[ $out == refused* ]] || fail "an unknown name was accepted"
out=$("$C/shmclient" "$ADDR" "$C/token" "$F" "$F" ok); echo "a path for a name: $out"
[[ $out == refused* ]] || fail "a path was taken for a name"
[ "$(refusals "no shared file of that name")" -ge 2 ] || fail "no refusal logged for the names"
out=$("$C/shmclient" "$ADDR" "$C/token" "$F" vm0 oversize); echo "twice the file's size: $out"
[[ $out == refused* ]] || fail "a size the file does not have was accepted"
[ "$(refusals "smaller than the client says")" -ge 1 ] || fail "no refusal logged for the size"
alive

echo "== a second client on a busy file is refused and falls back to the socket"
"$C/shmclient" "$ADDR" "$C/token" "$F" vm0 ok 4 >"$C/holder.out" & holder=$!; pids+=($holder)
for _ in $(seq 100); do grep -q . "$C/holder.out" && break; sleep 0.05; done
grep -q attached "$C/holder.out" || fail "the honest protocol client was refused: $(cat "$C/holder.out")"
out=$("$C/shmclient" "$ADDR" "$C/token" "$F" vm0 ok); echo "second client: $out"
[[ $out == refused* ]] || fail "a busy file was attached twice"
[ "$(refusals "the file serves another client")" -ge 1 ] || fail "no refusal logged for the busy file"
p0=$(calls vgpu_put)
VGPU_LOG_LEVEL=info VGPU_SHM_FILE=$F VGPU_SHM_NAME=vm0 remote "$C/client" roundtrip 16 >"$C/busy.out" 2>&1 || { cat "$C/busy.out"; fail "the fallback"; }
grep -q "roundtrip 16 MiB intact" "$C/busy.out" || fail "fallback roundtrip"
grep -q "shared file not used" "$C/busy.out" || fail "the client did not say it fell back"
[ $(($(calls vgpu_put) - p0)) -gt 0 ] || fail "the fallback did not use the socket"
echo "the library's client: $(grep -o 'roundtrip 16 MiB intact' "$C/busy.out"), over the socket"
wait $holder || true
out=$("$C/shmclient" "$ADDR" "$C/token" "$F" vm0 ok); echo "after the holder left: $out"
[[ $out == attached ]] || fail "the file was not freed when its client left"
alive
echo "shmfile: PASS"
