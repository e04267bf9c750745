#!/usr/bin/env bash
# make bench-remote: the remote path's micro-benchmarks (tests/bench/remote.c) native, local
# and remote from one run, as a Markdown table on stdout. On a GPU machine (no Go needed:
# carry build/) "native" is NVIDIA's runtime and the servers use the GPU; on a machine without
# one, the sim backend stands in everywhere (the figures then measure vgpu's own overhead).
# usage: tests/bench/remote.sh LIBDIR
set -uo pipefail
LIBDIR=$1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null; rm -rf $T' EXIT
${CC:-gcc} -O2 -o $T/bench "$ROOT/tests/bench/remote.c" -ldl || exit 1
. "$ROOT/tests/cuda/nvidia-libs.sh"
NV=$(nvidia_lib_dir libcudart)
if [ -n "$NV" ] && ldconfig -p 2>/dev/null | grep -q 'libcuda.so.1 '; then
	GPU=1; BACKEND=local; GEMM=2048; SIM=()
	CUBLAS=$(ls $NV/libcublas.so.1[23] 2>/dev/null | tail -1)
else
	GPU=0; BACKEND=sim; GEMM=128; SIM=(VGPU_SIM_LAUNCH=noop VGPU_LOCAL_SERVER_BACKEND=sim)
fi
SOCK=$T/vgpu.sock
env "${SIM[@]}" VGPU_CUBLAS=${CUBLAS:-} "$ROOT/build/bin/vgpu" serve --listen unix://$SOCK --backend $BACKEND >$T/server.log 2>&1 &
SERVER=$!
for i in $(seq 50); do [ -S $SOCK ] && break; sleep 0.1; done
if [ $GPU = 1 ]; then
	env LD_LIBRARY_PATH=$NV $T/bench $GEMM >$T/native.txt 2>&1
else
	env LD_LIBRARY_PATH="$LIBDIR" "${SIM[@]}" $T/bench $GEMM >$T/native.txt 2>&1 # in-process sim
fi
env LD_LIBRARY_PATH="$LIBDIR" "${SIM[@]}" VGPU_BACKEND=local VGPU_CUBLAS=${CUBLAS:-} $T/bench $GEMM >$T/local.txt 2>&1
env LD_LIBRARY_PATH="$LIBDIR" VGPU_BACKEND=remote VGPU_SERVER=unix://$SOCK $T/bench $GEMM >$T/remote.txt 2>&1
val() { awk -v k="$1" '$1 == k {print $2}' "$2"; }
unit() { awk -v k="$1" '$1 == k {$1 = $2 = ""; sub(/^ +/, ""); print; exit}' $T/native.txt $T/remote.txt; }
if [ $GPU = 1 ]; then
	echo "| figure | NVIDIA's runtime | local | remote | remote / native |"
else
	echo "| figure (sim backend, no GPU) | in-process | local | remote | remote / in-process |"
fi
echo "|---|---:|---:|---:|---:|"
for k in sync_round_trip_p50 sync_round_trip_p99 late_sync_p50 launch_throughput h2d_pageable d2h_pageable h2d_pinned d2h_pinned sgemm_$GEMM; do
	n=$(val $k $T/native.txt); l=$(val $k $T/local.txt); r=$(val $k $T/remote.txt)
	ratio=$(awk -v a="$r" -v b="$n" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f×", a / b; else print "" }')
	echo "| $k ($(unit $k)) | ${n:-error} | ${l:-error} | ${r:-error} | $ratio |"
done
grep -h error $T/native.txt $T/local.txt $T/remote.txt | sed "s/^/- /" || true
