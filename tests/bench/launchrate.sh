#!/usr/bin/env bash
# make bench-launchrate: launch throughput through `vgpu serve --backend local` on a stand-in
# driver (tests/bench/fakecuda.c: cuLaunchKernel spends VGPU_FAKE_LAUNCH_NS of CPU work, default 2500),
# beside the stand-in driver called directly. Their ratio is the remote path's launch rate
# against a driver that costs what NVIDIA's does, measurable on a machine without a GPU.
# usage: tests/bench/launchrate.sh LIBDIR [REPEATS]   (prints the best of REPEATS runs each,
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
SOCK=$T/vgpu.sock
env LD_LIBRARY_PATH=$T/fake "$ROOT/build/bin/vgpu" serve --listen unix://$SOCK --backend local ${SERVE_FLAGS:-} >$T/server.log 2>&1 &
SERVER=$!
for i in $(seq 100); do [ -S $SOCK ] && break; sleep 0.1; done
best() { sort -g | tail -1; }
for i in $(seq $REPEATS); do
	env LD_LIBRARY_PATH=$T/fake $T/bench 20000 3 | awk '$1 == "launch_throughput" {print $2}' >>$T/direct.txt
	env LD_LIBRARY_PATH="$LIBDIR" VGPU_BACKEND=remote VGPU_SERVER=unix://$SOCK $T/bench 20000 3 >$T/r.txt 2>&1
	awk '$1 == "launch_throughput" {print $2}' $T/r.txt >>$T/remote.txt
	awk '$1 == "client_cpu_per_launch" {print -$2}' $T/r.txt >>$T/client.txt
	grep error $T/r.txt && { tail -20 $T/server.log; exit 1; }
done
d=$(best <$T/direct.txt); r=$(best <$T/remote.txt); cpu=$(best <$T/client.txt)
echo "| figure (stand-in driver, cuLaunchKernel $VGPU_FAKE_LAUNCH_NS ns) | driver alone | vgpu remote | remote / driver |"
echo "|---|---:|---:|---:|"
awk -v d="$d" -v r="$r" 'BEGIN { printf "| launch_throughput (launches/s, best of runs) | %.0f | %.0f | %.2f× |\n", d, r, r / d }'
echo "| client's CPU per launch (us, least of runs) | | ${cpu#-} | |"
