#!/usr/bin/env bash
# make bench-remote: the remote path's micro-benchmarks (tests/bench/remote.c) native, local
# and remote from one run (and remote over loopback TCP, bare and beside a shared memory
# file), as a Markdown table on stdout. On a GPU machine (no Go needed:
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
# The paths across a boundary: loopback TCP, and TCP beside a shared memory file (a VM's
# ivshmem region; its window and rings carry the bytes and frames).
SHM=$(mktemp /dev/shm/vgpu-bench.XXXXXX); chmod 600 $SHM; truncate -s 160M $SHM
PORT=$((20000 + RANDOM % 20000))
echo bench >$T/token; chmod 600 $T/token
env "${SIM[@]}" VGPU_CUBLAS=${CUBLAS:-} "$ROOT/build/bin/vgpu" serve --listen tcp://127.0.0.1:$PORT --token-file $T/token --shm-file vm0=$SHM --backend $BACKEND >$T/tcpserver.log 2>&1 &
TCPSERVER=$!
trap 'kill $SERVER $TCPSERVER 2>/dev/null; rm -rf $T $SHM' EXIT
for i in $(seq 50); do [ -S $SOCK ] && (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
if [ $GPU = 1 ]; then
	env LD_LIBRARY_PATH=$NV $T/bench $GEMM >$T/native.txt 2>&1
else
	env LD_LIBRARY_PATH="$LIBDIR" "${SIM[@]}" $T/bench $GEMM >$T/native.txt 2>&1 # in-process sim
fi
env LD_LIBRARY_PATH="$LIBDIR" "${SIM[@]}" VGPU_BACKEND=local VGPU_CUBLAS=${CUBLAS:-} $T/bench $GEMM >$T/local.txt 2>&1
env LD_LIBRARY_PATH="$LIBDIR" VGPU_BACKEND=remote VGPU_SERVER=unix://$SOCK $T/bench $GEMM >$T/remote.txt 2>&1
TCP=(VGPU_BACKEND=remote VGPU_SERVER=tcp://127.0.0.1:$PORT VGPU_TOKEN=bench)
env LD_LIBRARY_PATH="$LIBDIR" "${TCP[@]}" $T/bench $GEMM >$T/tcp.txt 2>&1
env LD_LIBRARY_PATH="$LIBDIR" "${TCP[@]}" VGPU_SHM_FILE=$SHM VGPU_SHM_NAME=vm0 VGPU_LOG_LEVEL=info $T/bench $GEMM >$T/shmfile.txt 2>&1
grep -q "frames go through rings" $T/shmfile.txt || echo "- the shared file's rings were not used"
val() { awk -v k="$1" '$1 == k {print $2}' "$2"; }
unit() { awk -v k="$1" '$1 == k {$1 = $2 = ""; sub(/^ +/, ""); print; exit}' $T/native.txt $T/remote.txt; }
if [ $GPU = 1 ]; then
	echo "| figure | NVIDIA's runtime | local | remote | remote / native | remote-tcp | remote-shm-file |"
else
	echo "| figure (sim backend, no GPU) | in-process | local | remote | remote / in-process | remote-tcp | remote-shm-file |"
fi
echo "|---|---:|---:|---:|---:|---:|---:|"
for k in sync_round_trip_p50 sync_round_trip_p99 late_sync_p50 launch_throughput h2d_pageable d2h_pageable h2d_pinned d2h_pinned sgemm_$GEMM; do
	n=$(val $k $T/native.txt); l=$(val $k $T/local.txt); r=$(val $k $T/remote.txt)
	ratio=$(awk -v a="$r" -v b="$n" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f×", a / b; else print "" }')
	echo "| $k ($(unit $k)) | ${n:-error} | ${l:-error} | ${r:-error} | $ratio | $(val $k $T/tcp.txt) | $(val $k $T/shmfile.txt) |"
done
grep -h error $T/native.txt $T/local.txt $T/remote.txt $T/tcp.txt $T/shmfile.txt | sed "s/^/- /" || true
