#!/usr/bin/env bash
# make bench-drvlaunch: round trips per launch, per GEMM and per ggml-shaped step
# (tests/bench/drvlaunch.cu) that a remote client of a sim server makes, with NVIDIA's CUDA
# 12.4 runtime and cuBLAS on vgpu's libcuda.so.1 alone (issue 14's driver-only mode) and with
# vgpu as the runtime too (full mode). Counted, not timed: each figure is the client's own
# count (VGPU_STATS=1 logs it at exit) for a run of K iterations less that of a run of none,
# over K. A round trip is a request the program waits for; a post is one it does not. The
# NVIDIA libraries and nvcc are Debian's (fetched once per machine, as tests/driveronly and
# tests/programs do); kernels are no-ops. With --check it fails when a driver-only launch or
# GEMM costs a round trip. usage: tests/bench/drvlaunch.sh LIBDIR [--check] [K]
set -uo pipefail
LIBDIR=$1; shift
CHECK=0
[ "${1:-}" = --check ] && { CHECK=1; shift; }
K=${1:-200}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VGPU=$ROOT/build/bin/vgpu
T=$(mktemp -d)
SERVER=
trap '[ -n "$SERVER" ] && kill $SERVER 2>/dev/null; rm -rf $T' EXIT
NVCC=$(bash "$ROOT/tests/programs/fetch.sh" | tail -1)/nvcc || { echo "could not fetch nvcc 12.4" >&2; exit 1; }
RT=$(bash "$ROOT/tests/cuda118/fetch.sh" 12.4 | tail -1)/usr/lib/x86_64-linux-gnu || { echo "could not fetch the CUDA 12.4 runtime" >&2; exit 1; }
"$NVCC" -O2 -arch=sm_90 -cudart shared -o $T/drvlaunch "$ROOT/tests/bench/drvlaunch.cu" -L"$RT" -l:libcublas.so.12 >$T/nvcc.log 2>&1 ||
	{ cat $T/nvcc.log >&2; exit 1; }
mkdir -p $T/drv && ln -s "$LIBDIR/libvgpu.so" $T/drv/libcuda.so.1
SOCK=$T/vgpu.sock
VGPU_SIM_LAUNCH=noop "$VGPU" serve --listen unix://$SOCK >$T/server.log 2>&1 &
SERVER=$!
for i in $(seq 100); do [ -S $SOCK ] && break; sleep 0.1; done
# counts MODE WHAT N: "round_trips posts" of one run.
counts() {
	local path=$LIBDIR
	[ "$1" = driver-only ] && path=$T/drv:$RT
	LD_LIBRARY_PATH=$path VGPU_BACKEND=remote VGPU_SERVER=unix://$SOCK VGPU_STATS=1 \
		$T/drvlaunch "$2" "$3" >$T/$1-$2-$3.out 2>$T/$1-$2-$3.log || { cat $T/$1-$2-$3.out; tail -5 $T/$1-$2-$3.log; echo "$1 $2 $3 failed" >&2; return 1; }
	sed -n 's/.*round_trips=\([0-9]*\) posts=\([0-9]*\).*/\1 \2/p' $T/$1-$2-$3.log | tail -1
}
per() { awk -v a="$1" -v b="$2" -v k="$K" 'BEGIN { printf "%.2f", (b - a) / k }'; }
echo "| per iteration (K=$K, remote client of a sim server) | round trips | posts |"
echo "|---|---:|---:|"
bad=0
declare -A TRIPS
for mode in driver-only full; do
	read -r t0 p0 <<<"$(counts $mode launch 0)" || exit 1
	for what in launch gemm step; do
		read -r t1 p1 <<<"$(counts $mode $what $K)" || exit 1
		TRIPS[$mode-$what]=$(per "$t0" "$t1")
		echo "| $mode: $what | ${TRIPS[$mode-$what]} | $(per "$p0" "$p1") |"
	done
	[ $mode = driver-only ] && echo "| driver-only: start-up (no iteration) | $t0 | $p0 |"
done
echo
echo "launch: cudaGetDevice, cudaSetDevice, a <<<>>> launch, cudaGetLastError; gemm: cublasGemmEx on a stream;"
echo "step: an upload, 8 launches as above, a GEMM, cudaEventRecord, a download, cudaStreamSynchronize."
echo "Driver-only's busiest opcodes (trips/posts), the step run: $(sed -n 's/.*top (trips\/posts): //p' $T/driver-only-step-$K.log | cut -d, -f1-8)"
if [ $CHECK = 1 ]; then
	for w in launch gemm; do
		if awk -v x="${TRIPS[driver-only-$w]}" 'BEGIN { exit !(x >= 0.5) }'; then
			echo "FAIL: a driver-only $w costs ${TRIPS[driver-only-$w]} round trips over remote" >&2
			bad=1
		fi
	done
fi
exit $bad
