#!/usr/bin/env bash
# make bench-decodestep: a decode-shaped step (tests/bench/decodestep.c: 4 KB upload, 40
# launches, 600 KB download into pinned memory, one sync) through a sim `vgpu serve` over TCP
# loopback (plain and TLS 1.3), over a unix socket and over TCP beside a shared file (a VM
# guest's path), beside the wire's own floor (tests/bench/wirefloor.c: a plain C client and
# server moving the same bytes in one round trip a step). Prints a Markdown table and
# the TCP path's ratio to the floor (medians). A benchmark, not a test: nothing here fails on speed.
# usage: tests/bench/decodestep.sh LIBDIR [steps] [rounds]
set -uo pipefail
LIBDIR=$1 STEPS=${2:-2000} ROUNDS=${3:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null; done; rm -rf $T' EXIT
${CC:-gcc} -O2 -o $T/decodestep "$ROOT/tests/bench/decodestep.c" -ldl || exit 1
${CC:-gcc} -O2 -o $T/wirefloor "$ROOT/tests/bench/wirefloor.c" || exit 1
unset VGPU_CONFIG VGPU_DEVICES VGPU_BACKEND VGPU_SERVER VGPU_TOKEN LD_PRELOAD CUDA_VISIBLE_DEVICES
(umask 077; echo "decodestep-$RANDOM$RANDOM" >$T/token)
PORT=$((20000 + RANDOM % 20000))
SOCK=$T/vgpu.sock
# VGPU_STATS=1 on the server and the client shows where the time goes (their logs: DECODESTEP_LOGS=DIR keeps them).
serve() { env VGPU_SIM_LAUNCH=noop ${VGPU_STATS:+VGPU_STATS=$VGPU_STATS VGPU_LOG_LEVEL=info} "$ROOT/build/bin/vgpu" serve --backend sim "$@" >>$T/server.log 2>&1 & pids+=($!); }
TLSPORT=$((PORT + 1))
FP=$("$ROOT/build/bin/vgpu" serve --listen tcp://127.0.0.1:$TLSPORT --tls-dir $T/tls --print-fingerprint 2>&1 | grep -o 'sha256:[0-9a-f]*' | head -1)
# A VM guest's path: TCP for control, a memory file both map by path for bulk bytes, the
# step's pinned download buffer carved from it (VGPU_SHM_FILE_PINNED_MB).
SHMF=$(mktemp /dev/shm/vgpu-decodestep.XXXXXX); chmod 600 $SHMF; truncate -s 256M $SHMF
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null; done; rm -rf $T $SHMF' EXIT
serve --listen tcp://127.0.0.1:$PORT --token-file $T/token --shm-file vm0=$SHMF
serve --listen tcp://127.0.0.1:$TLSPORT --token-file $T/token --tls-dir $T/tls
serve --listen unix://$SOCK
for i in $(seq 50); do [ -S $SOCK ] && (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/$TLSPORT) 2>/dev/null && break; sleep 0.1; done
client() { env LD_LIBRARY_PATH="$LIBDIR" ${VGPU_STATS:+VGPU_STATS=$VGPU_STATS VGPU_LOG_LEVEL=info} VGPU_BACKEND=remote VGPU_TOKEN=$(cat $T/token) "$@" $T/decodestep $STEPS; }
val() { awk -v k="$1" '$1 == k {print $2}' "$2"; }
# Rounds interleave the paths so that a busy moment of the machine falls on all of them; each
# figure is the best round's median (the machine's noise only ever adds).
for r in $(seq $ROUNDS); do
	$T/wirefloor tcp $STEPS >$T/floor.$r 2>&1
	client VGPU_SERVER=tcp://127.0.0.1:$PORT >$T/tcp.$r 2>>$T/client.log
	client VGPU_SERVER=unix://$SOCK >$T/unix.$r 2>>$T/client.log
	client VGPU_SERVER=tcp://127.0.0.1:$PORT VGPU_SHM_FILE=$SHMF VGPU_SHM_NAME=vm0 >$T/shmfile.$r 2>>$T/client.log
	client VGPU_SERVER=tcp://127.0.0.1:$TLSPORT VGPU_SERVER_FINGERPRINT=$FP >$T/tls.$r 2>>$T/client.log
done
best() { for r in $(seq $ROUNDS); do val $1 $T/$2.$r; done | sort -g | head -1; }
F=$(best wire_floor_p50 floor) FM=$(best wire_floor_mean floor)
P=$(best decode_step_p50 tcp) PM=$(best decode_step_mean tcp)
U=$(best decode_step_p50 unix) UM=$(best decode_step_mean unix)
S=$(best decode_step_p50 tls) SM=$(best decode_step_mean tls)
H=$(best decode_step_p50 shmfile) HM=$(best decode_step_mean shmfile)
echo "| decode-shaped step, sim server, $STEPS steps, best of $ROUNDS | median µs | mean µs | / wire floor (median) |"
echo "|---|---:|---:|---:|"
ratio() { awk -v a="$1" -v b="$F" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f×", a / b }'; }
echo "| wire floor: plain C client and server, TCP loopback | ${F:-error} | ${FM:-error} | 1.00× |"
echo "| vgpu remote, TCP loopback | ${P:-error} | ${PM:-error} | $(ratio "$P") |"
echo "| vgpu remote, TLS 1.3 over TCP loopback | ${S:-error} | ${SM:-error} | $(ratio "$S") |"
echo "| vgpu remote, unix socket | ${U:-error} | ${UM:-error} | $(ratio "$U") |"
echo "| vgpu remote, TCP beside a shared file (a VM guest's path) | ${H:-error} | ${HM:-error} | $(ratio "$H") |"
if [ -n "${DECODESTEP_LOGS:-}" ]; then mkdir -p "$DECODESTEP_LOGS" && cp $T/server.log $T/client.log "$DECODESTEP_LOGS/"; fi
awk -v s="$S" -v p="$P" 'BEGIN { if (s + 0 > 0 && p + 0 > 0) printf "TLS over plain TCP (median): %.3f×\n", s / p }'
# The best rounds of the floor and of vgpu need not be the same moment of the machine: the ratio
# in each round, floor and vgpu back to back, is the steadier figure on a machine whose load moves.
for r in $(seq $ROUNDS); do
	f=$(val wire_floor_p50 $T/floor.$r) p=$(val decode_step_p50 $T/tcp.$r)
	[ -n "$f" ] && [ -n "$p" ] && awk -v a="$p" -v b="$f" 'BEGIN { if (b > 0) printf "%.3f\n", a / b }'
done | sort -g | awk '{ a[NR] = $1 } END { if (NR) printf "TCP over the floor, median of the rounds'"'"' own ratios: %.2f× (%s rounds, %.2f–%.2f×)\n", NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2, NR, a[1], a[NR] }'
# A step that went wrong (a download without its upload, a failed call) fails the run.
! grep -h error $T/floor.* $T/tcp.* $T/tls.* $T/unix.* $T/shmfile.* | sed "s/^/- /"
