#!/usr/bin/env bash
# CI for the Ollama integration, without Ollama: an Ollama-shaped tree made of the npm ggml
# CUDA backends (cuda_v12 from the CUDA 12 build, cuda_v13 from the CUDA 13 build) and
# stand-ins under the NVIDIA names Ollama bundles. Checks doctor before and after, install,
# loading as Ollama's runners do, vgpu run, idempotence and a byte-exact uninstall.
# usage: run.sh LIBDIR
set -euo pipefail
LIBDIR=$1
. "$(dirname "$0")/../lib.sh"
suite ollama-tree
PROBE=$CACHE/bin/ggml-probe
T=$CACHE/ollama-tree
DIR=$T/lib/ollama
NAME="NVIDIA H100 80GB HBM3"
TOTAL=85017493504
clean_env LD_LIBRARY_PATH OLLAMA_LLM_LIBRARY

rm -rf "$T"; mkdir -p "$DIR/cuda_v12" "$DIR/cuda_v13" "$T/bin"
cp "$CACHE/npm/3.22.1/libggml-base.so" "$DIR/"
cp "$CACHE/npm/3.10.0/libggml-cuda.so" "$DIR/cuda_v12/"
cp "$CACHE/npm/3.22.1/libggml-cuda.so" "$DIR/cuda_v13/"
for v in 12 13; do
	for lib in cudart:$v.8.90 cublas:$v.8.4.1 cublasLt:$v.8.4.1; do
		n=${lib%%:*} full=lib${lib%%:*}.so.${lib#*:}
		${CC:-gcc} -shared -fPIC -o "$DIR/cuda_v$v/$full" -Wl,-soname,lib$n.so.$v "$ROOT/tests/ollama/standin.c"
		ln -s "$full" "$DIR/cuda_v$v/lib$n.so.$v"
	done
done
# Ollama 0.25+ layout: llama-server and libggml.so beside libggml-base.so. Doctor runs
# llama-server --list-devices as Ollama does, so the stand-in lists devices for real: it loads
# libggml-base.so and the npm CUDA backend and asks ggml (tests/ollama/llama-server.c).
# libggml.so is only checked for, so a stand-in does.
echo "== doctor on a tree whose backends are built for llama-server, without llama-server: fails"
"$VGPU" doctor --ollama-dir "$DIR" >"$CACHE/doctor.layout" && { cat "$CACHE/doctor.layout"; fail "doctor passed a tree without llama-server"; }
grep -q 'FAIL\] layout: cuda_v12/libggml-cuda.so, cuda_v13/libggml-cuda.so is built from upstream llama.cpp for llama-server .*has no llama-server' "$CACHE/doctor.layout" || { cat "$CACHE/doctor.layout"; fail "missing llama-server message"; }
grep -q 'fix: reinstall Ollama.s complete lib/ollama (with llama-server' "$CACHE/doctor.layout" || fail "missing llama-server fix"
${CC:-gcc} -O1 -Wall -o "$DIR/llama-server" "$ROOT/tests/ollama/llama-server.c" -ldl
echo "== doctor on a llama-server tree without libggml.so: fails"
"$VGPU" doctor --ollama-dir "$DIR" >"$CACHE/doctor.layout" && fail "doctor passed a tree without libggml.so"
grep -q 'FAIL\] ggml-libraries: .*: no libggml.so: ' "$CACHE/doctor.layout" || { cat "$CACHE/doctor.layout"; fail "missing libggml.so message"; }
printf 'void *ggml_backend_load(const char *p) { (void)p; return 0; }\n' | ${CC:-gcc} -shared -fPIC -x c -o "$DIR/libggml.so" -
mv "$DIR/libggml-base.so" "$CACHE/libggml-base.so.away"
"$VGPU" doctor --ollama-dir "$DIR" >"$CACHE/doctor.layout" && fail "doctor passed a tree without libggml-base.so"
grep -q 'FAIL\] ggml-libraries: .*: no libggml-base.so: ' "$CACHE/doctor.layout" || { cat "$CACHE/doctor.layout"; fail "missing libggml-base.so message"; }
mv "$CACHE/libggml-base.so.away" "$DIR/libggml-base.so"
snapshot() { (cd "$T" && find . -printf '%y %p %m %l\n' | sort && find . -type f -exec sha256sum {} + | sort); }
# The two npm builds are different ggml versions and Ollama ships one libggml-base.so, so the
# cuda_v12 runner loads the CUDA 12 build's own ggml-base first (its soname then satisfies
# the backend's NEEDED entry); everything CUDA still resolves through Ollama's environment.
base_for() { [ "$1" = 12 ] && echo "$CACHE/npm/3.10.0" || echo "$DIR"; }
runner() { # variant, program... : the environment Ollama gives a runner for that variant
	local v=$1; shift
	env LD_LIBRARY_PATH="$DIR:$DIR/cuda_v$v${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" PROBE_BASE_DIR="$(base_for $v)" "$@"
}
snapshot >"$CACHE/tree.before"

echo "== doctor before install: fails and says how to fix it"
if "$VGPU" doctor --ollama-dir "$DIR" >"$CACHE/doctor.before" 2>&1; then cat "$CACHE/doctor.before"; fail "doctor passed on an untouched tree"; fi
expected "doctor's report on the untouched tree:"; cat "$CACHE/doctor.before"
grep -q 'fix: run `vgpu install' "$CACHE/doctor.before" || fail "doctor gave no fix"
grep -qE '\[FAIL\] cuda_v13/dlopen: dlopen\(RTLD_NOW\) failed: .*(cannot open shared object file|undefined symbol)' "$CACHE/doctor.before" || fail "doctor did not show dlerror"
# Ollama's own discovery, run: llama-server cannot load the backend, so it lists no CUDA device.
grep -q '\[FAIL\] cuda_v13/llama-server: `LD_LIBRARY_PATH='"$DIR:$DIR/cuda_v13"' GGML_BACKEND_PATH='"$DIR/cuda_v13/libggml-cuda.so $DIR/llama-server"' --list-devices --offline --verbose`: lists no CUDA device: Ollama would run on the CPU; its output ends: .*failed to load .*libggml-cuda.so' "$CACHE/doctor.before" || fail "doctor did not run llama-server's discovery"
grep -A1 'FAIL\] cuda_v13/llama-server:' "$CACHE/doctor.before" | grep -q 'fix: run `vgpu install' || fail "no fix for llama-server's discovery"
json=$("$VGPU" doctor --ollama-dir "$DIR" --json || true)
grep -q '"ok": false' <<<"$json" || fail "doctor --json"
grep -q '"status": "fail"' <<<"$json" || fail "doctor --json statuses"

echo "== loading as a runner does, before install: the bundled libraries fail"
if runner 13 "$PROBE" "$DIR/cuda_v13" "$NAME" "$TOTAL" >/dev/null 2>&1; then fail "a stand-in tree loaded"; fi

echo "== vgpu run, no install: LD_PRELOAD reaches the runner through Ollama's environment"
"$VGPU" run -- sh -c "LD_LIBRARY_PATH=$DIR:$DIR/cuda_v13:\$LD_LIBRARY_PATH PROBE_BASE_DIR=$DIR exec $PROBE $DIR/cuda_v13 '$NAME' $TOTAL" | grep -E '^(PASS|FAIL)'
"$VGPU" run -- "$VGPU" doctor --ollama-dir "$DIR" >"$CACHE/doctor.run" || true
tail -1 "$CACHE/doctor.run" | grep -q '^OK' || { cat "$CACHE/doctor.run"; fail "doctor under vgpu run"; }
# The preloaded vgpu reaches llama-server too: it lists the device, and the device alone again.
grep -q "PASS\] cuda_v13/llama-server: llama-server --list-devices: CUDA0: $NAME (81079 MiB, [0-9]* MiB free)" "$CACHE/doctor.run" || fail "llama-server under vgpu run"
grep -q "PASS\] cuda_v13/llama-server-validate: .*0 as CUDA0: $NAME" "$CACHE/doctor.run" || fail "llama-server's validation pass under vgpu run"
# cuda_v12's backend has API version 1: the stand-in, as llama-server's ggml, rejects it.
grep -q 'FAIL\] cuda_v12/llama-server: .*lists no CUDA device: .*version mismatch: 1 != 2' "$CACHE/doctor.run" || fail "llama-server with cuda_v12's backend"
# Ollama 0.32's driver floors, by the runtime it reads from file names: the untouched cuda_v12
# bundles libcudart.so.12.8.90, so it needs driver 550 (cc >= 7.0).
(VGPU_DRIVER_VERSION=545.23.08 "$VGPU" run -- "$VGPU" doctor --ollama-dir "$DIR" || true) | grep -q 'FAIL\] cuda_v12/driver: NVML reports driver 545.23.08; with CUDA runtime 12.8 Ollama needs 550 or newer for device 0 (cc 9.0)' || fail "driver 545 with CUDA 12.8"
(VGPU_DRIVER_VERSION=550.54.15 "$VGPU" run -- "$VGPU" doctor --ollama-dir "$DIR" || true) | grep -q 'PASS\] cuda_v12/driver: driver 550.54.15, CUDA runtime 12.8' || fail "driver 550 with CUDA 12.8 on cc 9.0"

if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null; then
	echo "== install without write permission says so"
	# A world-readable copy, so that the unprivileged user reaches the binary and the tree.
	P=$(mktemp -d); chmod 755 "$P"; mkdir -p "$P/bin" "$P/lib" "$P/lib/ollama/cuda_v13"
	cp "$VGPU" "$P/bin/"; cp "$LIBDIR/libvgpu.so" "$P/lib/"; chmod -R a+rX "$P"
	out=$(runuser -u nobody -- "$P/bin/vgpu" install --ollama-dir "$P/lib/ollama" 2>&1) && fail "install as nobody succeeded"
	grep -q "cannot write $P/lib/ollama (permission denied): run as its owner, or with sudo" <<<"$out" || fail "permission message: $out"
	echo "== install --system without root refuses before it changes anything"
	mkdir -p "$P/t"; cp -as "$T/lib" "$P/t/"; chown -R nobody "$P/t"
	out=$(runuser -u nobody -- "$P/bin/vgpu" install --ollama-dir "$P/t/lib/ollama" --system 2>&1) && fail "install --system as nobody succeeded"
	grep -q -- "--system needs root" <<<"$out" || fail "--system permission message: $out"
	[ ! -e "$P/t/lib/ollama/vgpu" ] && [ ! -e "$P/t/lib/ollama/.vgpu-saved" ] || fail "install --system changed the tree before refusing"
	rm -rf "$P"
fi

echo "== install --dry-run changes nothing"
"$VGPU" install --ollama-dir "$DIR" --dry-run >"$CACHE/dry-run.txt"; head -3 "$CACHE/dry-run.txt"
grep -q "would set aside cuda_v13/libcudart.so.13.8.90" "$CACHE/dry-run.txt" || fail "dry run did not list the set-aside"
snapshot | diff -q - "$CACHE/tree.before" >/dev/null || fail "dry run changed the tree"

echo "== install"
"$VGPU" install --ollama-dir "$DIR"
snapshot >"$CACHE/tree.installed"
for v in 12 13; do
	echo "-- runner for cuda_v$v, Ollama's environment only"
	out=$(runner $v "$PROBE" "$DIR/cuda_v$v" "$NAME" "$TOTAL" 2>&1) || { echo "$out"; fail "cuda_v$v did not load after install"; }
	echo "$out" | grep -E 'Device 0|^PASS'
done
echo "== install again: nothing changes"
out=$("$VGPU" install --ollama-dir "$DIR"); grep -q "already installed" <<<"$out" || fail "second install was not a no-op"
snapshot | diff - "$CACHE/tree.installed" >/dev/null || fail "second install changed the tree"

echo "== doctor after install passes"
"$VGPU" doctor --ollama-dir "$DIR" >"$CACHE/doctor.after" || { cat "$CACHE/doctor.after"; fail "doctor failed after install"; }
cat "$CACHE/doctor.after"
grep -q "PASS\] cuda_v13/llama-server: llama-server --list-devices: CUDA0: $NAME" "$CACHE/doctor.after" || fail "llama-server after install"
echo "== three devices: llama-server lists each, and each alone again"
out=$(VGPU_DEVICES=3 "$VGPU" doctor --ollama-dir "$DIR") || { echo "$out"; fail "doctor with three devices"; }
grep -q "PASS\] cuda_v13/llama-server-validate: .*0 as CUDA0: .*; 1 as CUDA0: .*; 2 as CUDA0: $NAME" <<<"$out" || { echo "$out"; fail "validation of three devices"; }
echo "== a llama-server that finds no device fails doctor, whatever the files say"
mv "$DIR/llama-server" "$CACHE/llama-server.away"
printf '#!/bin/sh\necho "Available devices:"; echo "  (none)"\n' >"$DIR/llama-server"; chmod +x "$DIR/llama-server"
"$VGPU" doctor --ollama-dir "$DIR" >"$CACHE/doctor.trap" && { cat "$CACHE/doctor.trap"; fail "doctor passed a llama-server that lists no device"; }
grep -q 'FAIL\] cuda_v13/llama-server: .*lists no CUDA device: Ollama would run on the CPU; its output ends: Available devices: |   (none)' "$CACHE/doctor.trap" || { cat "$CACHE/doctor.trap"; fail "no-device message"; }
mv "$CACHE/llama-server.away" "$DIR/llama-server"
out=$("$VGPU" doctor --ollama-dir "$DIR" --json); grep -q '"ok": true' <<<"$out" || fail "doctor --json after install"
echo "== doctor catches the traps"
OLLAMA_LLM_LIBRARY=cuda_v11 "$VGPU" doctor --ollama-dir "$DIR" >"$CACHE/doctor.trap" && fail "OLLAMA_LLM_LIBRARY trap"
grep -q 'OLLAMA_LLM_LIBRARY=cuda_v11 names no directory' "$CACHE/doctor.trap" || fail "OLLAMA_LLM_LIBRARY message"
mkdir "$DIR/vulkan"
OLLAMA_LLM_LIBRARY=vulkan "$VGPU" doctor --ollama-dir "$DIR" >"$CACHE/doctor.trap" && fail "OLLAMA_LLM_LIBRARY=vulkan trap"
grep -q 'FAIL\] OLLAMA_LLM_LIBRARY: OLLAMA_LLM_LIBRARY=vulkan pins Ollama to a library that is not CUDA' "$CACHE/doctor.trap" || fail "OLLAMA_LLM_LIBRARY=vulkan message"
rmdir "$DIR/vulkan"
# A second backend file that cannot load: ggml skips it silently, doctor says so.
printf 'void vgpu_no_such_symbol(void);\nvoid g(void) { vgpu_no_such_symbol(); }\n' |
	${CC:-gcc} -shared -fPIC -x c -o "$DIR/cuda_v13/libggml-cuda-zz.so" -
out=$("$VGPU" doctor --ollama-dir "$DIR") || { echo "$out"; fail "a broken second backend made doctor fail"; }
grep -q 'WARN\] cuda_v13/dlopen: dlopen(RTLD_NOW) of .*libggml-cuda-zz.so failed: .*vgpu_no_such_symbol' <<<"$out" || fail "a second backend that fails to load"
rm "$DIR/cuda_v13/libggml-cuda-zz.so"
CUDA_VISIBLE_DEVICES= "$VGPU" doctor --ollama-dir "$DIR" >"$CACHE/doctor.trap" && fail "CUDA_VISIBLE_DEVICES trap"
grep -q 'CUDA_VISIBLE_DEVICES="" hides devices' "$CACHE/doctor.trap" || fail "CUDA_VISIBLE_DEVICES message"
(VGPU_PROFILE=t4 "$VGPU" doctor --ollama-dir "$DIR" || true) | grep -q 'PASS\] cuda_v13/compute-capability: .*750,800' || fail "T4 (750) is in cuda_v13's ARCHS"
# cuda_v12 holds the CUDA 12 backend of npm 3.10.0: API version 1, ARCHS without 900. Ollama
# rejects it; pinned to it, doctor must fail, and say both.
OLLAMA_LLM_LIBRARY=cuda_v12 "$VGPU" doctor --ollama-dir "$DIR" >"$CACHE/doctor.trap" && { cat "$CACHE/doctor.trap"; fail "doctor passed a backend of API version 1"; }
grep -q 'FAIL\] cuda_v12/api-version: libggml-cuda.so reports ggml backend API version 1; Ollama.s ggml accepts only 2' "$CACHE/doctor.trap" || { cat "$CACHE/doctor.trap"; fail "API version message"; }
grep -q 'FAIL\] cuda_v12/compute-capability: device 0 is cc 9.0 (900), not in the backend.s ARCHS (500,610,700,750,800,860,890)' "$CACHE/doctor.trap" || fail "ARCHS message"
grep -q 'PASS\] cuda_v13/api-version: ggml backend API version 2' <("$VGPU" doctor --ollama-dir "$DIR") || fail "cuda_v13's API version"
VGPU_PROFILE=a100 VGPU_DEVICES=1 "$VGPU" doctor --ollama-dir "$DIR" >/dev/null || fail "A100 (cc 8.0) should pass"

echo "== --system: loader configuration and a systemd drop-in (under a scratch root)"
"$VGPU" install --ollama-dir "$DIR" --system --root "$T/sysroot" >/dev/null
grep -qx "$DIR/vgpu" "$T/sysroot/etc/ld.so.conf.d/vgpu.conf" || fail "loader configuration"
grep -q "Environment=\"LD_PRELOAD=$DIR/vgpu/libvgpu.so\"" "$T/sysroot/etc/systemd/system/ollama.service.d/vgpu.conf" || fail "systemd drop-in"
[ -L "$DIR/vgpu/libcuda.so.1" ] || fail "loader-cache names"

echo "== uninstall restores every byte and leaves nothing"
"$VGPU" uninstall --ollama-dir "$DIR" >/dev/null
[ -z "$(find "$T/sysroot" -type f)" ] || fail "system files left behind"
[ ! -e "$T/sysroot/etc/systemd/system/ollama.service.d" ] || fail "the drop-in directory vgpu made was left behind"
rm -rf "$T/sysroot"
snapshot | diff - "$CACHE/tree.before" || fail "the tree differs after uninstall"
echo "== Ollama upgraded over an installation, install again, uninstall: the upgrade's files come back"
upgrade() { # what an Ollama release unpacked over lib/ollama would change: a newer runtime
	rm -f "$1/cuda_v13/libcudart.so.13"
	echo "a newer runtime" >"$1/cuda_v13/libcudart.so.13.9.0"
	ln -s libcudart.so.13.9.0 "$1/cuda_v13/libcudart.so.13"
}
rm -rf "$T.upgraded"; cp -a "$T" "$T.upgraded"; upgrade "$T.upgraded/lib/ollama"
(T=$T.upgraded; snapshot) >"$CACHE/tree.upgraded"; rm -rf "$T.upgraded"
"$VGPU" install --ollama-dir "$DIR" >/dev/null
upgrade "$DIR"
out=$("$VGPU" install --ollama-dir "$DIR"); grep -q "set aside cuda_v13/libcudart.so.13 (it replaces the copy an earlier install saved)" <<<"$out" || fail "reinstall after an upgrade"
"$VGPU" uninstall --ollama-dir "$DIR" >/dev/null || fail "uninstall after an upgrade"
snapshot | diff - "$CACHE/tree.upgraded" || fail "the upgraded tree differs after uninstall"
echo "== upgraded over an installation, then uninstall without a reinstall: the same"
"$VGPU" install --ollama-dir "$DIR" >/dev/null
upgrade "$DIR"
"$VGPU" uninstall --ollama-dir "$DIR" >/dev/null || fail "uninstall after an upgrade without a reinstall"
snapshot | diff - "$CACHE/tree.upgraded" || fail "the upgraded tree differs after an uninstall without a reinstall"
pass
