#!/usr/bin/env bash
# CUDA programs as users write them (tests/programs/*.cu), built by NVIDIA's nvcc 12.4 (Debian
# trixie's non-free packages, fetched once per machine by fetch.sh) for sm_90, and run on vgpu
# with no GPU: the sim backend with no-op kernels, and a remote client of a sim server.
# Each program is built twice and run in three ways, on each backend:
#   full           -cudart shared; vgpu's build/lib first: vgpu is the runtime and the driver
#   driver-static  nvcc's default (libcudart_static.a): vgpu is libcuda.so.1 only (issue 14)
#   driver-shared  -cudart shared on NVIDIA's libcudart.so.12 over vgpu's libcuda.so.1 only
# Every run must exit 0. Lines starting "k " depend on kernels really running and are dropped;
# the rest must equal tests/programs/expected/NAME.out (the native output, recorded on a GPU
# machine, where "k " lines are dropped too), or, with no record yet, be the same in every mode.
# `// nvcc-flags: ...` and `// nvcc-fatbin: FILE.cu` among a program's first five lines add nvcc flags
# and fat binaries built beside it (tests/programs/README.md). Builds are cached per machine,
# keyed by the source, the flags and the compiler. usage: run.sh LIBDIR [NAME...]
set -euo pipefail
LIBDIR=$1
shift
. "$(dirname "$0")/../lib.sh"
suite programs
T=$ROOT/tests/programs
C=$CACHE/programs; rm -rf "$C"; mkdir -p "$C/drv"
clean_env LD_LIBRARY_PATH VGPU_TRACE VGPU_LOG_LEVEL VGPU_SIM_LAUNCH
t0=$SECONDS

# Runs known to fail, "NAME MODE-BACKEND" (one run) or "NAME MODE" (on both backends) -> why,
# e.g. ["arrays driver-static"]="NVIDIA's runtime resolves cuArrayCreate, which vgpu lacks".
# A run listed here that passes fails the suite, so that the list shrinks as vgpu grows.
declare -A XFAIL=(
	["ipc sim"]="each process is its own sim model, so a handle from another process is unknown there; IPC between processes needs one server (the remote runs)"
)

# xfail NAME TAG: why NAME's run TAG (MODE-BACKEND) is expected to fail, or nothing. A key is
# "NAME MODE-BACKEND", "NAME MODE", "NAME BACKEND" (sim or remote) or "NAME".
xfail() {
	local mode=${2%-*} backend=${2##*-}
	echo "${XFAIL["$1 $2"]:-${XFAIL["$1 $mode"]:-${XFAIL["$1 $backend"]:-${XFAIL["$1"]:-}}}}"
}

echo "== NVIDIA's nvcc 12.4 (Debian trixie, cached per machine)"
D=$(bash "$T/fetch.sh" | tail -1) || fail "could not fetch Debian's CUDA 12.4 toolkit (the Debian registry must be reachable)"
NVCC=$D/nvcc
RT=$D/usr/lib/x86_64-linux-gnu
ver=$("$NVCC" --version | tail -1)
BIN=$(dirname "$D")/nvcc124-programs
mkdir -p "$BIN"
# vgpu as the driver only: a directory holding libcuda.so.1 and nothing else.
ln -s "$LIBDIR/libvgpu.so" "$C/drv/libcuda.so.1"

SOCK=$C/vgpu.sock
BG_SIGNAL=KILL
VGPU_SIM_LAUNCH=noop spawn "$VGPU" serve --listen "unix://$SOCK" >"$C/server.log" 2>&1
wait_socket "$SOCK"

# header KEY SRC: the words of `// KEY: ...` lines among a program's first five.
header() { head -5 "$2" | sed -n "s,^// $1:,,p" | tr '\n' ' '; }

# build SRC RUNTIME: the cached executable's path (built when missing), in a directory of its
# own with the fat binaries its `// nvcc-fatbin: FILE.cu` lines name beside it, where the
# program looks for them. `-lcuda` links against vgpu's libcuda.so (no NVIDIA driver here).
build() {
	local src=$1 rt=$2 name flags fatbins key dir exe fb
	name=$(basename "$src" .cu)
	flags=$(header nvcc-flags "$src")
	fatbins=$(header nvcc-fatbin "$src")
	key=$( { cat "$src"; for fb in $fatbins; do cat "$T/$fb"; done; cat "$T/common.h" 2>/dev/null; echo "$flags|$rt|$ver"; } | sha256sum | cut -c1-16)
	dir=$BIN/$name-$rt-$key exe=$BIN/$name-$rt-$key/$name
	if [ ! -x "$exe" ]; then
		rm -rf "$dir.tmp$$"; mkdir -p "$dir.tmp$$"
		for fb in $fatbins; do
			"$NVCC" -fatbin -arch=sm_90 -o "$dir.tmp$$/$(basename "$fb" .cu).fatbin" "$T/$fb" >"$C/$name-$rt.build.log" 2>&1 ||
				{ cat "$C/$name-$rt.build.log" >&2; fail "$name: nvcc -fatbin $fb" >&2; }
		done
		# shellcheck disable=SC2086 # the flags are words
		"$NVCC" -O2 -arch=sm_90 -cudart "$rt" -I"$T" -L"$LIBDIR" $flags -o "$dir.tmp$$/$name" "$src" >>"$C/$name-$rt.build.log" 2>&1 ||
			{ cat "$C/$name-$rt.build.log" >&2; fail "$name: nvcc -cudart $rt" >&2; }
		rm -rf "$dir"; mv "$dir.tmp$$" "$dir"
	fi
	echo "$exe"
}

# run NAME MODE BACKEND EXE: one run; its output, "k " lines dropped, in $C/NAME.MODE-BACKEND.out.
run() {
	local name=$1 mode=$2 backend=$3 exe=$4 tag=$2-$3 path out log rc=0
	case $mode in
	full) path=$LIBDIR ;;
	driver-static) path=$C/drv ;;
	driver-shared) path=$C/drv:$RT ;;
	esac
	out=$C/$name.$tag.out log=$C/$name.$tag.log
	local env=(LD_LIBRARY_PATH="$path" VGPU_BACKEND=sim VGPU_SIM_LAUNCH=noop VGPU_LOG_LEVEL=debug)
	[ "$backend" = sim ] || env+=(VGPU_BACKEND=remote VGPU_SERVER="unix://$SOCK")
	timeout 120 env "${env[@]}" "$exe" >"$C/$name.$tag.raw" 2>"$log" || rc=$?
	grep -v '^k ' "$C/$name.$tag.raw" >"$out" || true
	local why=""
	[ $rc = 0 ] || why="exit status $rc"
	if [ -z "$why" ] && [ "$mode" != full ]; then
		grep -qE "a table vgpu does not know|slot vgpu does not implement" "$log" && why="NVIDIA's runtime needs export tables or slots vgpu lacks"
		# NVIDIA's runtime, not vgpu's, ran: it asks the driver for its private tables.
		grep -q '"table": "integrity check"' "$log" || why="NVIDIA's runtime never asked vgpu's driver for its tables"
	fi
	local xf
	xf=$(xfail "$name" "$tag")
	# A listed run that completes is judged by its output, below.
	if [ -n "$xf" ] && [ -n "$why" ]; then
		expected "$name $tag fails ($why): $xf"
		return 1
	fi
	if [ -n "$why" ]; then
		cat "$C/$name.$tag.raw"; grep -v DEBUG "$log" | tail -20
		fail "$name $tag: $why"
	fi
	return 0
}

n=0
srcs=()
if [ $# -gt 0 ]; then for a in "$@"; do srcs+=("$T/$a.cu"); done; else srcs=("$T"/*.cu); fi
# nvcc's CUDA version as CUDART_VERSION writes it (12.4 -> 12040).
cuda_version=$("$NVCC" --version | sed -n 's/.*release \([0-9]*\)\.\([0-9]*\).*/\1 \2/p' | awk '{print $1 * 1000 + $2 * 10}')
for src in "${srcs[@]}"; do
	name=$(basename "$src" .cu)
	need=$(header cuda-min "$src" | awk '{print $1}')
	if [ -n "$need" ] && [ "$need" -gt "$cuda_version" ]; then
		expected "$name needs CUDA $need, nvcc here is $cuda_version: left to tests/programs/gpu.sh on the GPU machine"
		continue
	fi
	shared=$(build "$src" shared)
	static=$(build "$src" static)
	[[ $(ldd "$static") != *libcudart* ]] || fail "$name: the default build links a shared libcudart"
	tags=()
	for backend in sim remote; do
		run "$name" full "$backend" "$shared" && tags+=("full-$backend")
		run "$name" driver-static "$backend" "$static" && tags+=("driver-static-$backend")
		run "$name" driver-shared "$backend" "$shared" && tags+=("driver-shared-$backend")
	done
	if [ -e "$T/expected/$name.out" ]; then
		ref=$C/$name.native.out
		grep -v '^k ' "$T/expected/$name.out" >"$ref" || true
		what="the native record"
	else
		ref=$C/$name.${tags[0]}.out
		what="${tags[0]}"
		expected "$name: no native record yet (tests/programs/expected/$name.out): the vgpu modes are compared with each other"
	fi
	for tag in "${tags[@]}"; do
		xf=$(xfail "$name" "$tag")
		if diff -u "$ref" "$C/$name.$tag.out" >"$C/$name.$tag.diff"; then
			[ -z "$xf" ] || fail "$name $tag: matches $what, but is listed as an expected failure ($xf): remove it from XFAIL in run.sh"
			continue
		fi
		if [ -n "$xf" ]; then
			expected "$name $tag differs from $what ($(grep -c '^[-+][^-+]' "$C/$name.$tag.diff") lines, in $C/$name.$tag.diff): $xf"
			continue
		fi
		cat "$C/$name.$tag.diff"
		fail "$name $tag differs from $what"
	done
	misses=$(grep -h 'cuGetProcAddress: no entry point' "$C/$name".driver-static-*.log | grep -o '"symbol": "[^"]*"' | sort -u | wc -l)
	echo "$name: ${#tags[@]} runs agree ($(grep -c . "$ref") lines); NVIDIA's static runtime looked up $misses driver functions vgpu lacks (logged in $C/$name.driver-static-sim.log)"
	n=$((n + 1))
done
pass "($n programs, $((SECONDS - t0)) s)"
