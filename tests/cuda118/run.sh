#!/usr/bin/env bash
# Issue 14 in CI: NVIDIA's own CUDA 11.8 runtime, and CUDA 12.4's shared one (Debian's
# non-free packages, fetched by fetch.sh) over vgpu's libcuda.so.1 and nothing else of vgpu's, on the sim backend and
# through a remote client of a sim server. runtime.c is linked two ways, as nvcc links
# (libcudart_static.a, its default) and against libcudart.so.11.0; tables.c calls
# cuGetExportTable directly; cublas.c creates a cuBLAS 11 handle and runs an SGEMM (no-op kernels). A failed download fails the suite. usage: run.sh LIBDIR
set -euo pipefail
LIBDIR=$1
. "$(dirname "$0")/../lib.sh"
suite cuda118
T=$ROOT/tests/cuda118
C=$CACHE/cuda118; rm -rf "$C"; mkdir -p "$C/lib"
clean_env LD_LIBRARY_PATH VGPU_TRACE VGPU_LOG_LEVEL VGPU_SIM_LAUNCH

echo "== Debian's CUDA 11.8 runtime (cached per machine)"
D=$(bash "$T/fetch.sh" | tail -1) || fail "could not fetch Debian's CUDA 11.8 runtime (the Debian registry must be reachable)"
RT=$D/usr/lib/x86_64-linux-gnu
for l in libcudart_static.a libcudart.so.11.0 libcublas.so.11 libcublasLt.so.11; do [ -e "$RT/$l" ] || fail "no $l in $D"; done

# vgpu as the driver only: a directory holding libcuda.so.1 and nothing else.
ln -s "$LIBDIR/libvgpu.so" "$C/lib/libcuda.so.1"
CC=${CC:-gcc}
$CC -O1 -Wall -o "$C/static" "$T/runtime.c" "$RT/libcudart_static.a" -ldl -lpthread -lrt
$CC -O1 -Wall -o "$C/shared" "$T/runtime.c" -L"$RT" -l:libcudart.so.11.0 -Wl,-rpath,"$RT"
$CC -O1 -Wall -o "$C/tables" "$T/tables.c" "$C/lib/libcuda.so.1" -Wl,-rpath,"$C/lib"
$CC -O1 -Wall -o "$C/cublas" "$T/cublas.c" -L"$RT" -l:libcublas.so.11 -l:libcudart.so.11.0 -Wl,-rpath,"$RT"
[[ $(ldd "$C/static") != *libcudart* ]] || fail "the static build links a shared libcudart"
[[ $(ldd "$C/shared") == *"libcudart.so.11.0 => $RT/"* ]] || fail "the shared build does not load Debian's libcudart.so.11.0"
sim() { env LD_LIBRARY_PATH="$C/lib" VGPU_BACKEND=sim "$@"; }

echo "== the export tables, called directly"
sim "$C/tables" >"$C/tables.out" 2>"$C/tables.log" || { cat "$C/tables.out" "$C/tables.log"; fail "tables"; }
tail -1 "$C/tables.out"
grep -q '"uuid": "deadbeef-0102-0304-0506-0708090a0b0c"' "$C/tables.log" || fail "an unknown identifier is not logged with its text"
expected "$(grep -c WARN "$C/tables.log") warnings of the unknown identifier and slots tables.c calls on purpose"

# run NAME ARGS...: one build on the sim; it must pass every check, through vgpu's export
# tables (the integrity check is the last one the runtime asks for), with no table or slot
# vgpu lacks.
run() {
	local name=$1 log=$C/$1.log
	shift
	VGPU_LOG_LEVEL=debug "$@" >"$C/$name.out" 2>"$log" || { cat "$C/$name.out"; grep -v DEBUG "$log"; fail "$name"; }
	grep -q '"table": "integrity check"' "$log" || fail "$name: the runtime never asked for the integrity check"
	if grep -E "a table vgpu does not know|slot vgpu does not implement" "$log"; then fail "$name: the runtime needs more of the export tables"; fi
	echo "$name: $(grep -c '^ok' "$C/$name.out") checks, $(tail -1 "$C/$name.out")"
}
echo "== initialisation, allocation, copies, memset, streams, events, a module and its kernel (sim)"
run static sim "$C/static"
run shared sim "$C/shared"
echo "(the runtime asked for: $(grep -o '"table": "[^"]*"' "$C/static.log" | sed 's/"table": //' | sort -u | tr '\n' ' '))"
echo "== with no-op kernels, the launch succeeds"
run static-noop sim env VGPU_SIM_LAUNCH=noop "$C/static" 0
run shared-noop sim env VGPU_SIM_LAUNCH=noop "$C/shared" 0

echo "== through a remote client of a sim server (no-op kernels there)"
SOCK=$C/vgpu.sock
BG_SIGNAL=KILL
VGPU_SIM_LAUNCH=noop spawn "$VGPU" serve --listen "unix://$SOCK" >"$C/server.log" 2>&1
wait_socket "$SOCK"
remote() { env LD_LIBRARY_PATH="$C/lib" VGPU_BACKEND=remote VGPU_SERVER="unix://$SOCK" "$@"; }
# cuFuncGetAttribute and cuModuleGetGlobal go to the server (remote/library.go): the
# attributes and the __device__ variable as in-process.
run static-remote remote "$C/static" 0
run shared-remote remote "$C/shared" 0

echo "== Debian's CUDA 12.4 runtime (libcudart.so.12, trixie), which loads modules through cuLibrary*"
D124=$(bash "$T/fetch.sh" 12.4 | tail -1) || fail "could not fetch Debian's CUDA 12.4 runtime (the Debian registry must be reachable)"
RT124=$D124/usr/lib/x86_64-linux-gnu
$CC -O1 -Wall -o "$C/shared124" "$T/runtime.c" -L"$RT124" -l:libcudart.so.12 -Wl,-rpath,"$RT124"
[[ $(ldd "$C/shared124") == *"libcudart.so.12 => $RT124/"* ]] || fail "the 12.4 build does not load Debian's libcudart.so.12"
run shared124 sim env EXPECT_RUNTIME=12040 "$C/shared124"
grep -q "cuLibraryLoadData" <(VGPU_TRACE=1 sim env EXPECT_RUNTIME=12040 "$C/shared124" 2>&1 >/dev/null) || fail "the 12.4 runtime did not load its module with cuLibraryLoadData"
run shared124-noop sim env EXPECT_RUNTIME=12040 VGPU_SIM_LAUNCH=noop "$C/shared124" 0
run shared124-remote remote env EXPECT_RUNTIME=12040 "$C/shared124" 0

echo "== pinned host memory and host functions through NVIDIA's runtime (11.8 static, 12.4 shared; sim and remote)"
$CC -O1 -Wall -o "$C/hostfn" "$T/hostfn.c" "$RT/libcudart_static.a" -ldl -lpthread -lrt
$CC -O1 -Wall -o "$C/hostfn124" "$T/hostfn.c" -L"$RT124" -l:libcudart.so.12 -Wl,-rpath,"$RT124"
for b in hostfn hostfn124; do run $b sim "$C/$b"; run $b-remote remote "$C/$b"; done

echo "== cuBLAS 11: a handle is created on a stream and destroyed; a GEMM fails cleanly (sim)"
sim env VGPU_LOG_LEVEL=debug "$C/cublas" >"$C/cublas.out" 2>"$C/cublas.log" || { cat "$C/cublas.out"; grep -v DEBUG "$C/cublas.log"; fail cublas; }
if grep -E "a table vgpu does not know|slot vgpu does not implement" "$C/cublas.log"; then fail "cuBLAS 11 needs more of the export tables"; fi
echo "cublas: $(grep -c '^ok' "$C/cublas.out") checks, $(tail -1 "$C/cublas.out")"
# Its GEMM asks the tools context table (21318c60) for the current context's id: with kernels
# as no-ops the SGEMM and its stream succeed.
echo "== cuBLAS 11's SGEMM with no-op kernels (sim)"
sim env VGPU_LOG_LEVEL=debug VGPU_SIM_LAUNCH=noop "$C/cublas" noop >"$C/cublas-noop.out" 2>"$C/cublas-noop.log" || { cat "$C/cublas-noop.out"; grep -v DEBUG "$C/cublas-noop.log"; fail "cuBLAS 11's SGEMM with no-op kernels"; }
grep -q '"table": "tools context"' "$C/cublas-noop.log" || fail "cuBLAS 11's GEMM never asked for the tools context table"
if grep -E "a table vgpu does not know|slot vgpu does not implement" "$C/cublas-noop.log"; then fail "cuBLAS 11's GEMM needs more of the export tables"; fi
echo "cublas-noop: $(grep -c '^ok' "$C/cublas-noop.out") checks, $(tail -1 "$C/cublas-noop.out")"
pass
