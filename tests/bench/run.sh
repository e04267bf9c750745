#!/usr/bin/env bash
# make bench: measures vgpu on this machine and writes BENCHMARKS.md. usage: run.sh LIBDIR
# On a machine with NVIDIA's driver, NATIVE_RUN=1 (and NATIVE_LIBDIR for its libcudart) adds the native column from the
# real libraries in the same run.
set -euo pipefail
LIBDIR=$1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${BENCH_OUT:-$ROOT/BENCHMARKS.md}
B=$ROOT/tests/cache/bin; mkdir -p "$B"
${CC:-gcc} -O2 -o "$B/bench" "$ROOT/tests/bench/bench.c" -ldl
${CC:-gcc} -O2 -o "$B/startup" "$ROOT/tests/bench/startup.c"
${CC:-gcc} -O2 -o "$B/firstcall" "$ROOT/tests/bench/firstcall.c" -ldl
${CC:-gcc} -O2 -o "$B/spawn" "$ROOT/tests/bench/spawn.c"
${CC:-gcc} -O2 -o "$B/remote-client" "$ROOT/tests/remote/client.c" -ldl
unset CUDA_VISIBLE_DEVICES VGPU_CONFIG VGPU_DEVICES VGPU_PROFILE VGPU_TRACE
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
calls() { # env... -> median of 5 runs per figure
	for i in 1 2 3 4 5; do env "$@" "$B/bench" "${BENCH_ITERS:-2000000}"; done |
		awk '{v[$1]=v[$1]" "$2} END {for (k in v) print k, v[k]}' |
		while read -r name rest; do echo "$name $(echo $rest | tr ' ' '\n' | median)"; done | sort
}
startup() { # NAME=VALUE... -> median microseconds of 500 runs, spawned directly (no shell in the timing)
	"$B/spawn" 500 "$B/startup" "$@"
}
VGPU=$(calls LD_LIBRARY_PATH="$LIBDIR")
NATIVE=""
[ "${NATIVE_RUN:-0}" = 1 ] && NATIVE=$(calls LD_LIBRARY_PATH="${NATIVE_LIBDIR:-}")
# Remote round trip: the same query answered by `vgpu serve` (sim) over a unix socket.
SOCK=$(mktemp -u /tmp/vgpu-bench-XXXX.sock)
"$ROOT/build/bin/vgpu" serve --listen "unix://$SOCK" >/dev/null 2>&1 & SERVER=$!
sleep 0.5
REMOTE=$(for i in 1 2 3 4 5; do VGPU_BACKEND=remote VGPU_SERVER="unix://$SOCK" LD_LIBRARY_PATH="$LIBDIR" "$B/bench" 20000; done |
	awk '$1=="cuDeviceGetAttribute" {print $2}' | median)
RATE=$(for i in 1 2 3; do VGPU_BACKEND=remote VGPU_SERVER="unix://$SOCK" LD_LIBRARY_PATH="$LIBDIR" "$B/remote-client" rate 200000; done |
	sed -n 's/.*(\([0-9.]*\) us each).*/\1/p' | median)
kill $SERVER; rm -f "$SOCK"
plain=$(startup)
pre=$(startup LD_PRELOAD="$LIBDIR/libvgpu.so")
first=$("$B/spawn" 500 "$B/firstcall" LD_LIBRARY_PATH="$LIBDIR")
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
{
	echo "# Benchmarks"
	echo
	echo "Written by \`make bench\` ($(date -u +%Y-%m-%d), $(nproc) cores, $cpu, Go $(go env GOVERSION 2>/dev/null || echo "n/a"))."
	echo "Each figure is the median of 5 runs (calls) or 500 runs (start-up)."
	[ -n "$NATIVE" ] && echo "Native: the same program against NVIDIA's libraries (driver $(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1)), in the same run."
	[ -z "$NATIVE" ] && echo "This machine has no GPU: the native comparison is the GPU-machine run recorded below."
	echo
	echo "## Property queries (ns per call, from C, sim backend)"
	echo
	if [ -n "$NATIVE" ]; then
		echo "| call | vgpu | native NVIDIA driver | vgpu / native | target |"
		echo "|---|---|---|---|---|"
	else
		echo "| call | vgpu | target |"
		echo "|---|---|---|"
	fi
	while read -r name ns; do
		nat=$(echo "$NATIVE" | awk -v n="$name" '$1==n {print $2}')
		if [ -n "$nat" ]; then
			echo "| \`$name\` | $ns | $nat | $(awk -v a="$ns" -v b="$nat" 'BEGIN {printf "%.2f", a / b}') | ≤ 150 ns |"
		else
			echo "| \`$name\` | $ns | ≤ 150 ns |"
		fi
	done <<<"$VGPU"
	echo
	echo "## Remote round trip (sim server, unix socket, one synchronous call)"
	echo
	echo "| | µs |"
	echo "|---|---|"
	echo "| \`cuDeviceGetAttribute\` answered by \`vgpu serve\`, mean over 20,000 calls (median of 5 runs) | $(awk -v n="$REMOTE" 'BEGIN {printf "%.1f", n / 1000}') |"
	echo "| \`cudaMemsetAsync\` pipelined (no round trip), 200,000 calls then one sync (median of 3 runs) | $RATE |"
	echo
	echo "Issue 4's target for a synchronous round trip is ≤ 20 µs at p50; each call is one blocking"
	echo "round trip (blocking system calls on both ends, wire/fdconn.go). Asynchronous calls are sent"
	echo "without waiting and batched: one write carries up to 256 KiB of them (remote/client.go)."
	echo
	echo "## Remote path micro-benchmarks (\`tests/bench/remote.sh\`, this machine)"
	echo
	echo "A 1-byte \`cudaMemsetAsync\` and the sync after it, 20,000 empty-kernel launches then one sync,"
	echo "256 MiB copies, and a \`cublasSgemm\` loop, through three stacks from one run. Without a GPU the"
	echo "sim backend stands in everywhere, so this measures vgpu's own overhead; on a GPU machine the"
	echo "columns are NVIDIA's runtime, \`VGPU_BACKEND=local\` and a remote client (\`make bench-remote\`)."
	echo
	bash "$ROOT/tests/bench/remote.sh" "$LIBDIR"
	echo
	echo "## Start-up (µs for a trivial C program, exec to exit)"
	echo
	echo "| | µs |"
	echo "|---|---|"
	echo "| without vgpu | $plain |"
	echo "| with \`LD_PRELOAD=libvgpu.so\` | $pre |"
	echo "| added by vgpu | $((pre - plain)) (target ≤ 3000) |"
	echo
	echo "The trivial program exits before the Go runtime has finished starting. A program whose"
	echo "first act is CUDA's (\`tests/bench/firstcall.c\`: \`cuInit\` and \`cuDeviceGetCount\` through"
	echo "\`libcuda.so.1\`) also waits for the Go runtime's start and package initialisation, which"
	echo "the first call into the library blocks on; the calls themselves then take about 10 µs:"
	echo
	echo "| | µs |"
	echo "|---|---|"
	echo "| first CUDA call, exec to exit | $first |"
	echo "| above the trivial program without vgpu | $((first - plain)) |"
	if [ -z "$NATIVE" ] && [ -f "$ROOT/tests/bench/native.md" ]; then echo; cat "$ROOT/tests/bench/native.md"; fi
} >"$OUT"
cat "$OUT"
