#!/usr/bin/env bash
# On the GPU machine (no Go, no network): builds every tests/programs/*.cu twice with nvcc
# (-cudart shared, and nvcc's default static runtime), runs each natively and on vgpu, and
# compares each vgpu output with the native output of the same build, byte for byte:
#   full-local    shared build, vgpu's lib/ first (vgpu is libcudart.so.13 and libcuda.so.1), VGPU_BACKEND=local
#   full-remote   the same, VGPU_BACKEND=remote against `vgpu serve --backend local`
#   drv-local     static build, a directory holding only vgpu's libcuda.so.1, VGPU_BACKEND=local
#   drv-remote    the same, remote
# and the two native outputs with each other (native-static). Writes OUT/summary.txt (one
# line per program and mode, with the diff where they differ) and prints it; OUT/native/ holds
# the native outputs (what tests/programs/expected/ records). Every build and run is bounded
# by a timeout, the whole script by DEADLINE seconds (default 330).
# usage: tests/programs/gpu.sh VGPU_BUILD OUT      (VGPU_BUILD as `make all` makes build/)
# env: NVCC (/usr/local/cuda/bin/nvcc), ARCH (sm_90), JOBS (16), PAR (6 programs run at once),
#      PROGRAMS (space-separated names; default all), DEADLINE
set -uo pipefail
[ $# -eq 2 ] || { echo "usage: $0 VGPU_BUILD OUT" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
VB=$(cd "$1" && pwd) || exit 2
mkdir -p "$2" && OUT=$(cd "$2" && pwd) || exit 2
NVCC=${NVCC:-/usr/local/cuda/bin/nvcc}
ARCH=${ARCH:-sm_90}
JOBS=${JOBS:-16}
PAR=${PAR:-6}
START=$(date +%s)
DEADLINE=$((START + ${DEADLINE:-330}))
CUDA_LIB=$(dirname "$(dirname "$NVCC")")/lib64
[ -x "$VB/bin/vgpu" ] && [ -e "$VB/lib/libvgpu.so" ] || { echo "$VB has no bin/vgpu or lib/libvgpu.so" >&2; exit 2; }
PROGRAMS=${PROGRAMS:-$(cd "$HERE" && ls *.cu | sed 's/\.cu$//')}
rm -rf "$OUT/bin" "$OUT/build" "$OUT/run" "$OUT/native"
mkdir -p "$OUT/bin/shared" "$OUT/bin/static" "$OUT/build" "$OUT/run" "$OUT/native"

# The first-lines conventions (README.md): extra nvcc flags, and a fat binary to build beside.
header() { sed -n "1,5s|^// $1: ||p" "$HERE/$2.cu"; }

build_one() { # name mode
	local name=$1 mode=$2 rt=() fb
	[ "$mode" = shared ] && rt=(-cudart shared)
	for fb in $(header nvcc-fatbin "$name"); do
		timeout -k 5 240 "$NVCC" -fatbin -arch="$ARCH" -o "$OUT/bin/$mode/$(basename "$fb" .cu).fatbin" "$HERE/$fb" \
			>"$OUT/build/$name-$mode-fatbin.log" 2>&1 || { echo "fatbin $fb failed" >>"$OUT/build/$name-$mode.log"; return 1; }
	done
	# shellcheck disable=SC2046 # the flags line is split as words on purpose
	timeout -k 5 240 "$NVCC" -O2 -arch="$ARCH" "${rt[@]}" -I"$HERE" $(header nvcc-flags "$name") \
		-o "$OUT/bin/$mode/$name" "$HERE/$name.cu" >>"$OUT/build/$name-$mode.log" 2>&1
}

echo "--- building $(echo $PROGRAMS | wc -w) programs x 2 with $("$NVCC" --version | tail -2 | head -1)"
for name in $PROGRAMS; do
	for mode in shared static; do
		build_one "$name" "$mode" &
		while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
	done
done
wait
echo "--- built in $(($(date +%s) - START)) s"

# vgpu's libcuda.so.1 alone, for the driver-only mode (a link: vgpu finds itself by its file).
DRV=$OUT/driver-only
rm -rf "$DRV"; mkdir -p "$DRV"
ln -s "$VB/lib/libvgpu.so" "$DRV/libcuda.so.1"
ln -s "$VB/lib/libvgpu.so" "$DRV/libcuda.so"

# The server runs on NVIDIA's driver: nothing of vgpu on its loader path.
SOCK=/tmp/vgpu-programs-$$.sock
rm -f "$SOCK"
env -u LD_LIBRARY_PATH -u LD_PRELOAD -u VGPU_BACKEND VGPU_LOG_LEVEL=info \
	"$VB/bin/vgpu" serve --backend local --listen "unix://$SOCK" >"$OUT/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -f "$SOCK"' EXIT
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || { echo "vgpu serve did not start:"; tail "$OUT/serve.log"; }

# run_one name mode: the program's stdout, and its exit status when not 0.
run_one() {
	local name=$1 mode=$2 bin envs=() rc
	case $mode in
	native | full-*) bin=$OUT/bin/shared/$name ;;
	*) bin=$OUT/bin/static/$name ;;
	esac
	case $mode in
	native) envs=(LD_LIBRARY_PATH="$CUDA_LIB") ;;
	native-static) envs=() ;;
	full-local) envs=(LD_LIBRARY_PATH="$VB/lib" VGPU_BACKEND=local) ;;
	full-remote) envs=(LD_LIBRARY_PATH="$VB/lib" VGPU_BACKEND=remote VGPU_SERVER="unix://$SOCK") ;;
	drv-local) envs=(LD_LIBRARY_PATH="$DRV" VGPU_BACKEND=local) ;;
	drv-remote) envs=(LD_LIBRARY_PATH="$DRV" VGPU_BACKEND=remote VGPU_SERVER="unix://$SOCK") ;;
	esac
	local o=$OUT/run/$name.$mode
	if [ ! -x "$bin" ]; then echo "[not built]" >"$o.out"; return; fi
	if [ "$(date +%s)" -ge "$DEADLINE" ]; then echo "[skipped: out of time]" >"$o.out"; return; fi
	(cd "$OUT/run" && env -u LD_PRELOAD VGPU_LOG_LEVEL=warn "${envs[@]}" timeout -k 5 60 "$bin" >"$o.out" 2>"$o.err" </dev/null)
	rc=$?
	[ $rc -eq 0 ] || echo "[exit $rc]" >>"$o.out"
}

MODES="native native-static full-local full-remote drv-local drv-remote"
run_program() {
	local name=$1 m
	for m in $MODES; do run_one "$name" "$m"; done
}
echo "--- running (natively, then on vgpu: $MODES)"
for name in $PROGRAMS; do
	run_program "$name" &
	while [ "$(jobs -rp | grep -vx "$SERVER" | wc -l)" -ge "$PAR" ]; do wait -n; done
done
while [ "$(jobs -rp | grep -vx "$SERVER" | wc -l)" -gt 0 ]; do wait -n; done

S=$OUT/summary.txt
: >"$S"
for name in $PROGRAMS; do
	for mode in shared static; do
		[ -x "$OUT/bin/$mode/$name" ] || { echo "$name build-$mode: FAILED" >>"$S"; tail -15 "$OUT/build/$name-$mode.log" | sed 's/^/    /' >>"$S"; }
	done
	cp "$OUT/run/$name.native.out" "$OUT/native/$name.out" 2>/dev/null
	for mode in native-static full-local full-remote drv-local drv-remote; do
		ref=$OUT/run/$name.native.out
		case $mode in drv-*) ref=$OUT/run/$name.native-static.out ;; esac
		if [ "$(cat "$OUT/run/$name.$mode.out")" = "[not built]" ]; then
			echo "$name $mode: not built" >>"$S"
		elif cmp -s "$ref" "$OUT/run/$name.$mode.out"; then
			echo "$name $mode: identical" >>"$S"
		else
			echo "$name $mode: differs" >>"$S"
			diff "$ref" "$OUT/run/$name.$mode.out" | head -40 | sed 's/^/    /' >>"$S"
			[ -s "$OUT/run/$name.$mode.err" ] && tail -5 "$OUT/run/$name.$mode.err" | sed 's/^/    stderr: /' >>"$S"
		fi
	done
done
echo "--- $(grep -c ': identical$' "$S") identical, $(grep -c ': differs$' "$S") differ, $(grep -c ': FAILED$' "$S") builds failed, $(grep -c ': not built$' "$S") not run, in $(($(date +%s) - START)) s" >>"$S"
cat "$S"
