#!/usr/bin/env bash
# A server on a unix socket lends its peers no privilege: shared memory arrives as the
# client's own descriptor (SCM_RIGHTS) and only a sealed memfd is mapped; the socket file
# is created with the mode and group asked for, replaces only a stale socket, and goes when
# the server is stopped. Runs the client as nobody (setpriv) when run as root.
# usage: peer.sh LIBDIR
set -euo pipefail
LIBDIR=$1
. "$(dirname "$0")/../lib.sh"
suite peer
C=$CACHE/peer; rm -rf "$C"; mkdir -p "$C"
clean_env
(cd "$ROOT" && ${GO:-go} build -o "$C/peerclient" ./tests/remote/peerclient)
${CC:-gcc} -O1 -o "$C/client" "$ROOT/tests/remote/client.c" -ldl
${CC:-gcc} -O2 -o "$C/memcpy" "$ROOT/tests/cuda/memcpy.c" -ldl
BG_SIGNAL=KILL
at_exit '[ -z "${T:-}" ] || rm -rf "$T"'
# start NAME ARGS...: a server in the background, its pid in $server, once its socket answers.
start() {
	local log=$C/$1.log; shift
	VGPU_LOG_LEVEL=info spawn "$VGPU" serve "$@" >>"$log" 2>&1; server=$SPAWNED
	for _ in $(seq 100); do "$C/peerclient" ping "${SOCK_ARG}" >/dev/null 2>&1 && return; kill -0 $server 2>/dev/null || break; sleep 0.05; done
	cat "$log"; fail "the server on $SOCK_ARG did not start"
}
nfds() { ls "/proc/$1/fd" | wc -l; }

S=$C/vgpu.sock; SOCK_ARG=$S
MPORT=$(rand_port)
start main --listen "unix://$S" --metrics "127.0.0.1:$MPORT"
calls() { metric "127.0.0.1:$MPORT" "vgpu_calls_total{function=\"$1\"}"; }
echo "== the socket is created with mode 0660 by default"
[ "$(stat -c %a "$S")" = 660 ] || fail "mode $(stat -c %a "$S")"
echo "== a second server on a live socket is an error; the first keeps serving"
out=$("$VGPU" serve --listen "unix://$S" 2>&1) && fail "a second server started: $out"
grep -q "another server is listening on $S" <<<"$out" || fail "second server: $out"
"$C/peerclient" ping "$S" >/dev/null || fail "the first server lost its socket"
expected "$out"
echo "== shared memory is only a sealed memfd the client passes; descriptors and numbers of anything else are refused"
head -c $((4 << 20)) /dev/urandom >"$C/target"; chmod 0444 "$C/target"
sum=$(sha256sum <"$C/target")
"$C/peerclient" check "$S" "$C/target" || fail "a peer's descriptor was taken"
[ "$(sha256sum <"$C/target")" = "$sum" ] || fail "the target file changed"
echo "== descriptors passed with requests that take none are not kept"
base=$(nfds $server)
"$C/peerclient" flood "$S" 50 2 >"$C/flood.out" & flooder=$!
for _ in $(seq 100); do grep -q passed "$C/flood.out" 2>/dev/null && break; sleep 0.05; done
during=$(nfds $server)
wait $flooder || fail "flood: $(cat "$C/flood.out")"
sleep 0.3
after=$(nfds $server)
echo "server descriptors: $base before, $during holding a client that passed 50, $after after it left"
[ "$during" -le $((base + 6)) ] || fail "the server keeps the descriptors a client passes"
[ "$after" -le "$base" ] || fail "descriptors left open after the client left"
echo "== the library's own shared memory still works: the window and pinned host memory"
remote() { env LD_LIBRARY_PATH="$LIBDIR" VGPU_BACKEND=remote VGPU_SERVER="unix://$S" "$@"; }
declare -A before
ops="vgpu_shm_attach vgpu_put_shm vgpu_get_shm vgpu_host_share vgpu_put_host vgpu_get_host"
for op in $ops; do before[$op]=$(calls $op); done
remote "$C/client" roundtrip 64
remote "$C/memcpy" >"$C/memcpy.out" || { cat "$C/memcpy.out"; fail "memcpy through the server"; }
tail -1 "$C/memcpy.out"
line=
for op in $ops; do
	n=$(($(calls $op) - before[$op])); line="$line $op +$n"
	[ $n -gt 0 ] || fail "no $op: the shared-memory path was not used"
done
echo "server calls:$line"
grep -q '"peer": "unix pid=[0-9]* uid='"$(id -u)"' gid='"$(id -g)"'"' "$C/main.log" || fail "the client's credentials are not logged"
echo "clients logged as $(grep -o '"peer": "unix[^"]*"' "$C/main.log" | head -1)"
echo "== SIGTERM removes the socket; a killed server's stale socket is replaced"
kill -TERM $server; wait $server 2>/dev/null || true
[ ! -e "$S" ] || fail "the socket is left after SIGTERM"
start main2 --listen "unix://$S" --socket-mode 0600
[ "$(stat -c %a "$S")" = 600 ] || fail "--socket-mode 0600 gave $(stat -c %a "$S")"
kill -9 $server; wait $server 2>/dev/null || true
[ -S "$S" ] || fail "no stale socket after SIGKILL"
start main3 --listen "unix://$S"
kill -INT $server; wait $server 2>/dev/null || true
[ ! -e "$S" ] || fail "the socket is left after SIGINT"
echo "socket removed on SIGTERM and SIGINT, a stale one replaced"
echo "== a path that is no socket is an error and left as it was"
mkdir "$C/dir"; echo keep >"$C/file"; ln -s "$C/file" "$C/link"
for p in "$C/dir" "$C/file" "$C/link"; do
	before=$(stat -c '%F %i %s' "$p")
	out=$("$VGPU" serve --listen "unix://$p" 2>&1) && fail "a server took $p"
	grep -q "$p exists and is" <<<"$out" || fail "$p: $out"
	[ "$(stat -c '%F %i %s' "$p")" = "$before" ] || fail "$p changed"
	expected "$out"
done
[ "$(cat "$C/file")" = keep ] || fail "the file's contents changed"

if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
	echo "== (not root: the checks ran as $(id -un); as root they also run as nobody)"
	pass
	exit 0
fi
echo "== as nobody against a root server: a root-only file's descriptor is refused, and --allow-uid refuses nobody"
T=$(mktemp -d /tmp/vgpu-peer.XXXXXX); chmod 0755 "$T"
cp "$C/peerclient" "$T/"; chmod 0755 "$T/peerclient"
head -c $((4 << 20)) /dev/urandom >"$T/secret"; chmod 0600 "$T/secret"
sum=$(sha256sum <"$T/secret")
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
"${NOBODY[@]}" cat "$T/secret" >/dev/null 2>&1 && fail "nobody can read the secret: the test proves nothing"
S=$T/s.sock; SOCK_ARG=$S
start root --listen "unix://$S" --socket-mode 0666
"${NOBODY[@]}" "$T/peerclient" check "$S" "$T/secret" || fail "nobody's descriptor was taken by a root server"
[ "$(sha256sum <"$T/secret")" = "$sum" ] || fail "the secret changed"
grep -q '"peer": "unix pid=[0-9]* uid=65534 gid=65534"' "$C/root.log" || fail "nobody's credentials are not logged"
S=$T/allow.sock; SOCK_ARG=$S
start allow --listen "unix://$S" --socket-mode 0666 --allow-uid 0
"${NOBODY[@]}" "$T/peerclient" ping "$S" >/dev/null 2>&1 && fail "--allow-uid 0 served nobody"
grep -q 'refused: this user is not in --allow-uid or --allow-gid.*uid=65534' "$C/allow.log" || fail "the refusal is not logged"
"$T/peerclient" ping "$S" >/dev/null || fail "--allow-uid 0 refused root"
echo "nobody refused by --allow-uid 0, root served"
pass
