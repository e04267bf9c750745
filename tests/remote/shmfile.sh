#!/usr/bin/env bash
# The VM data path on one host: a client and `vgpu serve` map one memory file that no
# descriptor passing joins (as a guest's ivshmem BAR and its host's backing file), with the
# control connection on loopback TCP. Bulk bytes must go through the file, not the socket;
# a wrong nonce, an unknown name, a busy file and a size the file does not have are each
# refused, and the server keeps serving. Once the window is attached the client's frames
# cross rings in the file too, the socket carrying only doorbells. usage: shmfile.sh LIBDIR
set -euo pipefail
LIBDIR=$1
. "$(dirname "$0")/../lib.sh"
suite shmfile
C=$CACHE/shmfile; rm -rf "$C"; mkdir -p "$C"
clean_env VGPU_SHM_FILE VGPU_SHM_NAME VGPU_SHM_MB
if [ ! -d /dev/shm ] || [ "$(stat -f -c %T /dev/shm)" != tmpfs ]; then echo "shmfile: SKIP: no tmpfs at /dev/shm"; exit 0; fi
${CC:-gcc} -O1 -o "$C/client" "$ROOT/tests/remote/client.c" -ldl
(cd "$ROOT" && ${GO:-go} build -o "$C/shmclient" ./tests/remote/shmclient)
F=$(mktemp /dev/shm/vgpu-shmfile.XXXXXX); chmod 600 "$F"; truncate -s 64M "$F"
BG_SIGNAL=KILL
at_exit 'rm -f "$F"'
echo secret >"$C/token"; chmod 600 "$C/token"
PORT=$(rand_port); MPORT=$((PORT + 1))
ADDR=127.0.0.1:$PORT
VGPU_LOG_LEVEL=info spawn "$VGPU" serve --listen "tcp://$ADDR" --token-file "$C/token" --metrics "127.0.0.1:$MPORT" \
	--shm-file "vm0=$F" >"$C/server.log" 2>&1
server=$SPAWNED
wait_tcp "127.0.0.1:$MPORT"
calls() { metric "127.0.0.1:$MPORT" "vgpu_calls_total{function=\"$1\"}"; }
h2d() { metric "127.0.0.1:$MPORT" 'vgpu_bytes_total{direction="h2d"}'; }
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
	grep -q "frames go through rings in it" "$C/rt$mib.out" || { cat "$C/rt$mib.out"; fail "the client's frames did not move onto rings in the file"; }
done
[ "$(calls vgpu_ring_attach)" -ge 3 ] || fail "the server attached no rings in the file"

dp=$(($(calls vgpu_put) - p0)); dg=$(($(calls vgpu_get) - g0))
dps=$(($(calls vgpu_put_shm) - ps0)); dgs=$(($(calls vgpu_get_shm) - gs0)); db=$(($(h2d) - b0))
echo "server calls: vgpu_put_shm +$dps vgpu_get_shm +$dgs (through the file), vgpu_put +$dp vgpu_get +$dg (bulk bytes on the socket); h2d bytes +$db"
[ "$dps" -gt 0 ] && [ "$dgs" -gt 0 ] || fail "the file was not used"
[ "$dp" -eq 0 ] && [ "$dg" -eq 0 ] || fail "bulk bytes crossed the socket"
[ "$db" -ge $(((1 + 16 + 64) << 20)) ] || fail "only $db bytes were uploaded"
[ "$(grep -c 'shared file attached' "$C/server.log")" -eq 3 ] || fail "the server did not log three attachments"

echo "== pinned memory carved from the file past the window: downloads land in it, posted, with no copy"
hs0=$(calls vgpu_host_share_file); gh0=$(calls vgpu_get_host); gs0=$(calls vgpu_get_shm); g0=$(calls vgpu_get)
VGPU_LOG_LEVEL=info VGPU_STATS=1 VGPU_SHM_FILE=$F VGPU_SHM_NAME=vm0 remote "$C/client" pinned 1 4 >"$C/pinned.out" 2>&1 ||
	{ cat "$C/pinned.out"; fail "pinned round trips through the file's heap"; }
grep pinned "$C/pinned.out"
dhs=$(($(calls vgpu_host_share_file) - hs0)); dgh=$(($(calls vgpu_get_host) - gh0))
echo "server calls: vgpu_host_share_file +$dhs, vgpu_get_host +$dgh, vgpu_get_shm +$(($(calls vgpu_get_shm) - gs0)), vgpu_get +$(($(calls vgpu_get) - g0))"
[ "$dhs" -eq 8 ] || fail "the 8 pinned allocations were not carved from the file"
[ "$dgh" -eq 4 ] && [ "$(calls vgpu_get_shm)" -eq "$gs0" ] && [ "$(calls vgpu_get)" -eq "$g0" ] || fail "downloads into pinned memory went through the window or the socket"
[ "$(calls vgpu_host_unshare)" -ge 8 ] || fail "cudaFreeHost did not give the file's pages back"
echo "== more than the file's heap: the rest is the client's own memory, and still correct"
VGPU_SHM_FILE=$F VGPU_SHM_NAME=vm0 remote "$C/client" pinned 24 1 >"$C/pinned24.out" 2>&1 || { cat "$C/pinned24.out"; fail "pinned 24 MiB"; }
grep pinned "$C/pinned24.out"

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
spawn "$C/shmclient" "$ADDR" "$C/token" "$F" vm0 ok 4 >"$C/holder.out"; holder=$SPAWNED
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
pass
