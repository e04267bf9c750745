#!/usr/bin/env bash
# On a GPU machine (no Go needed: carry build/): what a launch-free decode-shaped step costs
# over each path, by download size, so that vgpu's TCP step can be set against what it cannot
# avoid: the wire's round trip (wirefloor) plus the GPU's own copy (NVIDIA's runtime, natively).
# Per step (tests/bench/decodestep.c with no launches): a 4 KB upload, a download of SIZE bytes
# into pinned memory, one sync. Columns: NVIDIA's runtime in-process; the wire floor (a plain C
# client and server over TCP loopback); vgpu remote over TCP to `vgpu serve --backend local`
# (the GPU) and to a sim server (no GPU work: vgpu's wire path alone); vgpu remote over a unix
# socket (local backend). Medians (p50, µs) of STEPS steps; ROUNDS rounds interleave the paths.
# A benchmark, not a test: nothing here fails on speed.
# usage: tests/bench/decodestep-gpu.sh VGPU_BUILD [SIZES (4096,65536,614400,2457600)]
# env: STEPS (1500), ROUNDS (2), CUDA_HOME
set -uo pipefail
VB=$1 SIZES=${2:-4096,65536,614400,2457600}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CUDA=${CUDA_HOME:-/usr/local/cuda}
T=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null; done; rm -rf $T' EXIT
${CC:-gcc} -O2 -o $T/decodestep "$ROOT/tests/bench/decodestep.c" -ldl || exit 1
${CC:-gcc} -O2 -o $T/wirefloor "$ROOT/tests/bench/wirefloor.c" || exit 1
unset VGPU_CONFIG VGPU_DEVICES VGPU_BACKEND VGPU_SERVER VGPU_TOKEN LD_PRELOAD
(umask 077; echo "decodestep-gpu-$RANDOM$RANDOM" >$T/token)
P1=$((20000 + RANDOM % 20000)) P2=$((20000 + RANDOM % 20000))
while [ $P2 = $P1 ]; do P2=$((20000 + RANDOM % 20000)); done
serve() { "$@" >>$T/server.log 2>&1 & pids+=($!); }
serve "$VB/bin/vgpu" serve --backend local --listen tcp://127.0.0.1:$P1 --token-file $T/token
serve env VGPU_SIM_LAUNCH=noop "$VB/bin/vgpu" serve --backend sim --listen tcp://127.0.0.1:$P2 --token-file $T/token
serve "$VB/bin/vgpu" serve --backend local --listen unix://$T/s.sock
for i in $(seq 50); do [ -S $T/s.sock ] && (exec 3<>/dev/tcp/127.0.0.1/$P1) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/$P2) 2>/dev/null && break; sleep 0.1; done
N=${STEPS:-1500}
p50() { awk '$1 ~ /_p50$/ {print $2} $1 == "error" {print "error"}' | head -1; }
client() { env LD_LIBRARY_PATH="$VB/lib" VGPU_BACKEND=remote VGPU_TOKEN=$(cat $T/token) "$@" $T/decodestep $N 0 $SZ 2>>$T/client.log | p50; }
echo "| download bytes | NVIDIA's runtime | wire floor (TCP) | vgpu TCP, GPU server | vgpu TCP, sim server | vgpu unix, GPU server |"
echo "|---:|---:|---:|---:|---:|---:|"
for r in $(seq ${ROUNDS:-2}); do
	for SZ in ${SIZES//,/ }; do
		native=$(env LD_LIBRARY_PATH="$CUDA/lib64" $T/decodestep $N 0 $SZ | p50)
		floor=$($T/wirefloor tcp $N 0 $SZ | p50)
		echo "| $SZ | $native | $floor | $(client VGPU_SERVER=tcp://127.0.0.1:$P1) | $(client VGPU_SERVER=tcp://127.0.0.1:$P2) | $(client VGPU_SERVER=unix://$T/s.sock) |"
	done
done
