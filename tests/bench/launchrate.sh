#!/usr/bin/env bash
# make bench-launchrate: launch throughput through `vgpu serve --backend local` on a stand-in
# driver (tests/bench/fakecuda.c: cuLaunchKernel spends VGPU_FAKE_LAUNCH_NS of CPU work, default 2500),
# beside the stand-in driver called directly. Their ratio is the remote path's launch rate
# against a driver that costs what NVIDIA's does, measurable on a machine without a GPU.
# usage: [VGPU_BIN=other/vgpu] tests/bench/launchrate.sh LIBDIR [REPEATS]   (prints the best of REPEATS runs each,
# interleaved: direct, remote, direct, remote, ...)
set -uo pipefail
LIBDIR=$1
REPEATS=${2:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null; rm -rf $T' EXIT
mkdir -p $T/fake
${CC:-gcc} -O2 -shared -fPIC -o $T/fake/libcuda.so.1 "$ROOT/tests/bench/fakecuda.c" || exit 1
${CC:-gcc} -O2 -o $T/bench "$ROOT/tests/bench/launchrate.c" -ldl || exit 1
export VGPU_FAKE_LAUNCH_NS=${VGPU_FAKE_LAUNCH_NS:-2500}
# One calibration of the stand-in's loop for every process (the most iterations of three: the
# run least disturbed by other work), so that each launch is the same work everywhere.
if [ -z "${VGPU_FAKE_LAUNCH_ITERS:-}" ]; then
	for i in 1 2 3; do env LD_LIBRARY_PATH=$T/fake $T/bench 10 1 | awk '$1 == "fake_launch_iters" {print $2}'; done >$T/iters.txt
	export VGPU_FAKE_LAUNCH_ITERS=$(sort -g $T/iters.txt | tail -1)
fi
SOCK=$T/vgpu.sock
# Clients served by threads of this one process, so that its CPU time per launch can be read.
env LD_LIBRARY_PATH=$T/fake ${SERVER_WRAP:-} "${VGPU_BIN:-$ROOT/build/bin/vgpu}" serve --listen unix://$SOCK --backend local --isolation thread ${SERVE_FLAGS:-} >$T/server.log 2>&1 &
SERVER=$!
for i in $(seq 100); do [ -S $SOCK ] && break; sleep 0.1; done
best() { sort -g | tail -1; }
ticks() { awk '{print $14 + $15}' /proc/$SERVER/stat; }
N=50000
HZ=$(getconf CLK_TCK)
for i in $(seq $REPEATS); do
	env LD_LIBRARY_PATH=$T/fake $T/bench $N 3 >$T/d.txt
	awk '$1 == "launch_throughput" {print $2}' $T/d.txt >>$T/direct.txt
	awk '$1 == "client_cpu_per_launch" {print -$2}' $T/d.txt >>$T/drivercpu.txt
	t0=$(ticks)
	env LD_LIBRARY_PATH="$LIBDIR" VGPU_BACKEND=remote VGPU_SERVER=unix://$SOCK $T/bench $N 3 >$T/r.txt 2>&1
	t1=$(ticks)
	awk -v t="$((t1 - t0))" -v hz=$HZ -v n=$((3 * N + 1)) 'BEGIN { print -t / hz / n * 1e6 }' >>$T/server.txt
	awk '$1 == "launch_throughput" {print $2}' $T/r.txt >>$T/remote.txt
	awk '$1 == "client_cpu_per_launch" {print -$2}' $T/r.txt >>$T/client.txt
	grep error $T/r.txt && { tail -20 $T/server.log; exit 1; }
done
d=$(best <$T/direct.txt); r=$(best <$T/remote.txt); cpu=$(best <$T/client.txt); drv=$(best <$T/drivercpu.txt); srv=$(best <$T/server.txt)
echo "| figure (stand-in driver, cuLaunchKernel $VGPU_FAKE_LAUNCH_NS ns = $VGPU_FAKE_LAUNCH_ITERS loop iterations) | driver alone | vgpu remote | ratio |"
echo "|---|---:|---:|---:|"
awk -v d="$d" -v r="$r" 'BEGIN { printf "| launch_throughput (launches/s, best of runs) | %.0f | %.0f | %.2f× |\n", d, r, r / d }'
# On a loaded machine the processes' wall-clock rates measure the share of CPU each got; the
# CPU each stage spends per launch does not depend on it. The pipeline's rate, with each stage
# on a core of its own, is the slowest stage's.
awk -v d="${drv#-}" -v c="${cpu#-}" -v s="${srv#-}" 'BEGIN {
	printf "| CPU per launch (us, least of runs): driver / client / server | %.2f | client %.2f, server %.2f | %.2f× |\n", d, c, s, d / (c > s ? c : s) }'
