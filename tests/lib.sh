# Shared pieces of the shell tests. Source it first thing, after `set -euo pipefail`:
#     . "$(dirname "$0")/../lib.sh"
# It sets ROOT (the repository), VGPU (the built CLI) and CACHE (tests/cache), and defines:
#     suite NAME          the label fail and pass print
#     fail MSG...         "NAME: FAIL: MSG", exit 1
#     pass [DETAIL]       "NAME: PASS" (or "NAME DETAIL: PASS")
#     expected MSG...     "(expected) MSG": marks output a test provokes on purpose
#     clean_env [VAR...]  unsets the variables that would change what a test sees, and VAR...
#     spawn CMD...        CMD in the background; its pid in $SPAWNED, killed on exit
#     stop PID            kills (BG_SIGNAL) and reaps one spawned process
#     at_exit CMD...      one more thing to do on exit (after the spawned processes are gone)
#     rand_port           a free port from 20000 up to the kernel's ephemeral range
#     wait_socket PATH    until PATH is a socket (fails after 5 s)
#     wait_tcp HOST:PORT  until HOST:PORT accepts (fails after 5 s)
#     http_get HOST:PORT PATH, http_post HOST:PORT PATH JSON: the reply's body, through
#                         bash's /dev/tcp (CI has no curl)
#     metric HOST:PORT SERIES: the first value of a Prometheus series at /metrics, or 0
# Bash only; nothing here changes the shell's options.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VGPU=$ROOT/build/bin/vgpu
CACHE=$ROOT/tests/cache
SUITE=$(basename "$(dirname "$0")")

suite() { SUITE=$1; }
fail() { echo "$SUITE: FAIL: $*"; exit 1; }
pass() { echo "$SUITE${1:+ $1}: PASS"; }
expected() { echo "(expected) $*"; }

# The variables a user's shell may carry that pick devices, backends or servers: a test sets
# the ones it means, per command.
clean_env() {
	unset CUDA_VISIBLE_DEVICES VGPU_CONFIG VGPU_DEVICES VGPU_PROFILE LD_PRELOAD \
		VGPU_BACKEND VGPU_SERVER VGPU_TOKEN "$@"
}

# Background processes: every one spawned is killed with BG_SIGNAL (TERM unless the script
# says otherwise: TERM lets `ollama serve` end its runners) and reaped when the script exits,
# however it exits, so that no server outlives its test.
BG_SIGNAL=TERM
_pids=()
_at_exit=()
spawn() { "$@" & SPAWNED=$!; _pids+=("$SPAWNED"); }
stop() {
	{ kill -s "$BG_SIGNAL" "$1" && wait "$1"; } 2>/dev/null || true
	local p keep=()
	for p in "${_pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	_pids=("${keep[@]}")
}
at_exit() { _at_exit+=("$*"); }
_cleanup() {
	local p
	for p in "${_pids[@]}"; do { kill -s "$BG_SIGNAL" "$p" && wait "$p"; } 2>/dev/null || true; done
	for p in "${_at_exit[@]}"; do eval "$p" || true; done
}
trap _cleanup EXIT

rand_port() {
	# Below the kernel's ephemeral range, which the tests' own outgoing connections take (a
	# port there can be in use by a connection, and a listener then fails to bind), and not
	# one something listens on.
	local lo p i
	lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
	[ "${lo:-0}" -gt 21000 ] 2>/dev/null || lo=32768
	for i in $(seq 50); do
		p=$((20000 + RANDOM % (lo - 20000)))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || break
	done
	echo "$p"
}
wait_socket() {
	local i
	for i in $(seq 50); do [ -S "$1" ] && return 0; sleep 0.1; done
	fail "no socket at $1 after 5 s"
}
wait_tcp() {
	local i
	for i in $(seq 100); do (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null && return 0; sleep 0.05; done
	fail "nothing listens on $1 after 5 s"
}

# serve_for MODE DIR VGPU BACKEND [ENV=VALUE...]: a `VGPU serve --backend BACKEND` for a
# remote mode, started with ENV, logging to DIR/serve.log: remote on a unix socket, remote-tcp
# on loopback TCP with a token of DIR's. Sets SERVED (its pid) and CLIENT_ENV (the client's
# VGPU_SERVER and VGPU_TOKEN), and returns once it listens. AVOID_PORT: a port taken already.
serve_for() {
	local mode=$1 dir=$2 vgpu=$3 backend=$4 listen port sock
	shift 4
	sock=$(mktemp -u /tmp/vgpu-XXXXXX.sock) # a unix socket's path is short; DIR's may not be
	at_exit "rm -f $sock"
	listen=unix://$sock CLIENT_ENV=("VGPU_SERVER=unix://$sock")
	if [ "$mode" = remote-tcp ]; then
		port=$(rand_port)
		while [ "$port" = "${AVOID_PORT:-}" ]; do port=$(rand_port); done
		(umask 077; echo "$mode-$RANDOM$RANDOM" >"$dir/token")
		listen="tcp://127.0.0.1:$port --token-file $dir/token"
		CLIENT_ENV=("VGPU_SERVER=tcp://127.0.0.1:$port" "VGPU_TOKEN=$(cat "$dir/token")")
	fi
	# shellcheck disable=SC2086 # listen carries its flags
	spawn env "$@" "$vgpu" serve --backend "$backend" --listen $listen >"$dir/serve.log" 2>&1
	SERVED=$SPAWNED
	if [ "$mode" = remote-tcp ]; then wait_tcp "127.0.0.1:$port"; else wait_socket "$sock"; fi
}

# One HTTP/1.0 request; prints the body (the headers end at the first empty line).
_http() { # METHOD HOST:PORT PATH [BODY]
	local fd
	exec {fd}<>"/dev/tcp/${2%:*}/${2##*:}"
	if [ $# -ge 4 ]; then
		printf '%s %s HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' "$1" "$3" "${#4}" "$4" >&$fd
	else
		printf '%s %s HTTP/1.0\r\n\r\n' "$1" "$3" >&$fd
	fi
	sed '1,/^\r$/d' <&$fd
	exec {fd}<&-
}
http_get() { _http GET "$1" "$2"; }
http_post() { _http POST "$1" "$2" "$3"; }
metric() { http_get "$1" /metrics | awk -v f="$2" '$1 == f && !n++ {print $2} END {if (!n) print 0}'; }
