#!/usr/bin/env bash
# The remote path in CI, against `vgpu serve` with the sim backend on a unix socket (and one
# TCP listener for the token check). usage: run.sh LIBDIR
set -euo pipefail
LIBDIR=$1
. "$(dirname "$0")/../lib.sh"
suite remote
C=$CACHE/remote; rm -rf "$C"; mkdir -p "$C"
CLIENT=$C/client
${CC:-gcc} -O1 -Wall -o "$CLIENT" "$ROOT/tests/remote/client.c" -ldl
clean_env
SOCK=$C/vgpu.sock
BG_SIGNAL=KILL
start_server() { VGPU_LOG_LEVEL=info spawn "$VGPU" serve "$@" >>"$C/server.log" 2>&1; sleep 0.5; }
remote() { env LD_LIBRARY_PATH="$LIBDIR" VGPU_BACKEND=remote VGPU_SERVER="unix://$SOCK" "$@"; }

MPORT=$(rand_port)
start_server --listen "unix://$SOCK" --metrics "127.0.0.1:$MPORT" --metrics-pids
server0=$SPAWNED
metrics() { http_get "127.0.0.1:$MPORT" /metrics; }
echo "== a real ggml CUDA backend enumerates the server's device through a remote client"
for ver in 3.22.1 3.10.0; do
	out=$(remote "$ROOT/tests/cache/bin/ggml-probe" "$ROOT/tests/cache/npm/$ver" "NVIDIA H100 80GB HBM3" 85017493504 2>&1) || { echo "$out"; fail "ggml $ver"; }
	echo "$out" | grep -E 'Device 0|^PASS'
done
echo "== host -> device -> host round trips up to 64 MiB"
for mib in 1 16 64; do remote "$CLIENT" roundtrip $mib; done
echo "(through the shared-memory window; and through the socket alone:)"
for mib in 1 64; do VGPU_SHM_MB=0 remote "$CLIENT" roundtrip $mib; done
echo "== four threads copying at once through a small shared-memory window, and through the socket"
${CC:-gcc} -O2 -o "$C/threads" "$ROOT/tests/remote/threads.c" -ldl -lpthread
VGPU_SHM_MB=8 remote "$C/threads" || fail "threads through shared memory"
VGPU_SHM_MB=0 remote "$C/threads" || fail "threads through the socket"
echo "== bad input at every entry point through the client and the server (tests/c/sweep.c)"
make -s -C "$ROOT/tests/c" bin/sweep >/dev/null
remote "$ROOT/tests/c/bin/sweep" "$LIBDIR" 2>"$C/sweep.log" || fail "the sweep through the remote backend"
kill -0 "$server0" || fail "the server died under the sweep"
echo "== VGPU_TRACE logs forwarded calls, with their results"
make -s -C "$ROOT/tests/c" bin/demo >/dev/null
VGPU_TRACE=1 remote "$ROOT/tests/c/bin/demo" >"$C/trace.out" 2>&1 || fail "the demo through the remote backend"
grep -q '"call": "cudaMalloc(0x[0-9a-f]*, 8589934592)", "result": "cudaSuccess"' "$C/trace.out" || fail "no trace of a forwarded cudaMalloc"
echo "$(grep -c '"call": ' "$C/trace.out") calls traced"
echo "== asynchronous calls are pipelined; their errors come with the next synchronising call"
remote "$CLIENT" async
echo "== kernels: the image is shipped once, launches are pipelined, their errors come at the sync"
out=$(remote "$CLIENT" launch); echo "sim server, VGPU_SIM_LAUNCH=error: $out"
[ "$out" = "launch 0 0 sync 801 bad-block 9 unregistered 98
capture 0 launch 0 end 0 sync 0 instantiate 0 replay 0 sync 801" ] || fail "launch through a sim server"
echo "== cudaLaunchKernelExC: its launch attributes travel with the launch; bad ones are refused at once"
out=$(remote "$CLIENT" launchex); echo "sim server: $out"
[ "$out" = "launchex 0 sync 801 unknown-id 1 too-many 1 no-array 1" ] || fail "cudaLaunchKernelExC through a sim server"
out=$(env LD_LIBRARY_PATH="$LIBDIR" VGPU_SIM_LAUNCH=noop "$CLIENT" launchex); echo "in-process, no-op kernels: $out"
[ "$out" = "launchex 0 sync 0 unknown-id 1 too-many 1 no-array 1" ] || fail "cudaLaunchKernelExC in-process"
echo "== driver API: a module loaded with cuModuleLoadData, cuLaunchKernel; twice, by successive clients"
${CC:-gcc} -O1 -o "$C/driver" "$ROOT/tests/cuda/driver.c" "$LIBDIR/libcuda.so.1"
# A fat binary header (magic, version 1, 16-byte header, 16-byte body) around the kernel's name.
printf '\x50\xed\x55\xba\x01\x00\x10\x00\x10\x00\x00\x00\x00\x00\x00\x00scale_add\0\0\0\0\0\0\0' >"$C/image.fatbin"
for i in 1 2; do
	out=$( (remote "$C/driver" "$C/image.fatbin" || true) | tr '\n' ' ')
	echo "client $i: $out"
	[ "$out" = "unknown kernel name: 500 cuCtxSynchronize(): 801 " ] || fail "driver-API client $i"
done
echo "== pitched (2D) copies every way give what they give in-process"
inproc=$(env LD_LIBRARY_PATH="$LIBDIR" "$CLIENT" copy2d) || fail "copy2d in-process: $inproc"
rem=$(remote "$CLIENT" copy2d) || fail "copy2d remote: $rem"
[ "$inproc" = "$rem" ] || fail "copy2d: in-process '$inproc', remote '$rem'"
echo "$rem"
inproc=$(env LD_LIBRARY_PATH="$LIBDIR" "$CLIENT" copy3d) || fail "copy3d in-process: $inproc"
rem=$(remote "$CLIENT" copy3d) || fail "copy3d remote: $rem"
[ "$inproc" = "$rem" ] || fail "copy3d: in-process '$inproc', remote '$rem'"
echo "$rem"
echo "== cuBLAS GEMMs (f32, f16, bf16, batched, device scalars) give the bytes they give in-process"
${CC:-gcc} -O1 -Wall -o "$C/gemm" "$ROOT/tests/cublas/gemm.c" -ldl
for m in exact random; do
	env LD_LIBRARY_PATH="$LIBDIR" "$C/gemm" $m trsm >"$C/gemm-inproc-$m.out" || { cat "$C/gemm-inproc-$m.out"; fail "gemm $m in-process"; }
	remote "$C/gemm" $m trsm >"$C/gemm-remote-$m.out" || { cat "$C/gemm-remote-$m.out"; fail "gemm $m remote"; }
	cmp -s "$C/gemm-inproc-$m.out" "$C/gemm-remote-$m.out" || { diff "$C/gemm-inproc-$m.out" "$C/gemm-remote-$m.out"; fail "gemm $m: remote differs"; }
	echo "gemm $m: $(grep -c fnv "$C/gemm-remote-$m.out") cases identical; $(grep '^bad' "$C/gemm-remote-$m.out")"
done
echo "== tests/cuda's runtime programs (every memcpy kind and size, streams and events): in-process, remote and local agree"
for prog in memcpy streams; do
	${CC:-gcc} -O2 -o "$C/$prog" "$ROOT/tests/cuda/$prog.c" -ldl
	env LD_LIBRARY_PATH="$LIBDIR" "$C/$prog" >"$C/$prog-inproc.out" || { cat "$C/$prog-inproc.out"; fail "$prog in-process"; }
	remote "$C/$prog" >"$C/$prog-remote.out" || { cat "$C/$prog-remote.out"; fail "$prog remote"; }
	env LD_LIBRARY_PATH="$LIBDIR" VGPU_BACKEND=local VGPU_LOCAL_SERVER_BACKEND=sim "$C/$prog" >"$C/$prog-local.out" || fail "$prog local"
	cmp -s "$C/$prog-inproc.out" "$C/$prog-remote.out" && cmp -s "$C/$prog-inproc.out" "$C/$prog-local.out" ||
		{ diff "$C/$prog-inproc.out" "$C/$prog-remote.out"; diff "$C/$prog-inproc.out" "$C/$prog-local.out"; fail "$prog differs"; }
	echo "$prog: identical ($(tail -1 "$C/$prog-remote.out" | cut -c1-60))"
done
echo "== vgpu doctor checks the server a remote client would use"
mkdir -p "$C/ollama/cuda_v13" && touch "$C/ollama/libggml-base.so"
out=$(VGPU_BACKEND=remote VGPU_SERVER="unix://$SOCK" "$VGPU" doctor --ollama-dir "$C/ollama" 2>&1 || true)
grep -q '^\[PASS\] remote-server: .* serves 1 device(s), NVIDIA H100 80GB HBM3 first; round trip' <<<"$out" || { echo "$out"; fail "doctor: remote server"; }
echo "$out" | grep '^\[PASS\] remote-server'
out=$(VGPU_BACKEND=remote VGPU_SERVER="unix://$C/nobody.sock" "$VGPU" doctor --ollama-dir "$C/ollama" 2>&1 || true)
grep -q '^\[FAIL\] remote-server: .*no such file' <<<"$out" || { echo "$out"; fail "doctor: no server"; }
echo "$out" | grep -A1 '^\[FAIL\] remote-server' | tail -1
echo "== two clients share the server's accounting"
before=$(remote "$CLIENT" free)
spawn env LD_LIBRARY_PATH="$LIBDIR" VGPU_BACKEND=remote VGPU_SERVER="unix://$SOCK" "$CLIENT" hold 10240 30 >"$C/hold.out"; holder=$SPAWNED
for i in $(seq 50); do grep -q holding "$C/hold.out" 2>/dev/null && break; sleep 0.1; done
during=$(remote "$CLIENT" free)
m=$(metrics)
grep -q "^vgpu_client_memory_bytes{client=\"[0-9]*\",pid=\"$holder\"} 10737418240$" <<<"$m" || { echo "$m" | grep vgpu_client; fail "metrics: memory per client"; }
grep -qE '^vgpu_calls_total\{function="cudaMalloc"\} [1-9]' <<<"$m" || fail "metrics: calls"
# 5 from `client launch`, 1 from `client launchex` (its bad attribute lists never leave the client)
grep -qE '^vgpu_launches_total 6$' <<<"$m" || fail "metrics: launches"
grep -qE '^vgpu_modules_loaded 0$' <<<"$m" || fail "the module a client shipped is still loaded after it left"
grep -qE '^vgpu_bytes_total\{direction="h2d"\} [1-9]' <<<"$m" || fail "metrics: bytes"
echo "metrics: $(echo "$m" | grep -c '^vgpu_') series, clients $(echo "$m" | awk '/^vgpu_clients/ {print $2}')"
echo "== a post that no request follows reaches the server while the program does other things"
calls() { metric "127.0.0.1:$MPORT" "vgpu_calls_total{function=\"$1\"}"; }
posted_before=$(calls cudaMemsetAsync)
remote "$CLIENT" lone 1500 > "$C/lone.out" & lone=$!
sleep 1
posted_during=$(calls cudaMemsetAsync)
wait $lone || fail "lone post: $(cat "$C/lone.out")"
echo "cudaMemsetAsync answered by the server: $posted_before before, $posted_during one second into the client's 1.5 s pause"
[ "$posted_during" -gt "$posted_before" ] || fail "a lone post waited for the client's next request"
echo "== a download that waited for everything posted before it spares the next sync its round trip"
syncs_before=$(calls cudaStreamSynchronize)
remote "$CLIENT" drain || fail "drain"
syncs_after=$(calls cudaStreamSynchronize)
echo "cudaStreamSynchronize answered by the server: $syncs_before before, $syncs_after after"
[ "$syncs_after" = "$syncs_before" ] || fail "the sync after a drained download went to the server"
[ $((before - during)) = 10240 ] || fail "free $before -> $during MiB while another client holds 10 GiB"
echo "free $before MiB, $during MiB while another client holds 10 GiB"
echo "== SIGKILL of a client holding memory frees it within 5 s"
kill -9 $holder; t0=$(date +%s%N)
while [ "$(remote "$CLIENT" free)" != "$before" ]; do
	[ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 5000 ] || fail "memory not freed within 5 s"
	sleep 0.05
done
echo "freed after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
echo "== each client sees only its own handles"
spawn env LD_LIBRARY_PATH="$LIBDIR" VGPU_BACKEND=remote VGPU_SERVER="unix://$SOCK" "$CLIENT" mystream 3 >"$C/stream.out"; owner=$SPAWNED
for i in $(seq 50); do [ -s "$C/stream.out" ] && break; sleep 0.1; done
[ "$(remote "$CLIENT" usestream "$(cat "$C/stream.out")")" = 400 ] || fail "a client used another's stream"
echo "another client's stream $(cat "$C/stream.out"): cudaErrorInvalidResourceHandle (400)"
wait $owner
echo "== a client's streams are released when it goes"
remote "$CLIENT" streams 5
sleep 0.3
# That client's own line: its 5 streams and the context they were made in. (Any client's
# line used to do, and the bad-input sweep's client happened to hold 5.)
id=$(grep -F '"cudaStreamCreateWithFlags 5/0' "$C/server.log" | tail -1 | grep -o '"client": [0-9]*,')
[ -n "$id" ] && grep -F 'client gone' "$C/server.log" | grep -F "$id" | grep -q '"handles": 6' || { tail -3 "$C/server.log"; fail "streams not released"; }
echo "== a server that caps each client: the cap is the device's memory, and allocations beyond it fail"
QSOCK=$C/quota.sock
start_server --listen "unix://$QSOCK" --client-memory 4GiB --device-name "vgpu H100 slice"
qremote() { env LD_LIBRARY_PATH="$LIBDIR" VGPU_BACKEND=remote VGPU_SERVER="unix://$QSOCK" "$@"; }
out=$(qremote "$CLIENT" quota); echo "$out"
[ "$out" = "total 4096 MiB free 4096 MiB; allocated 4 GiB, then 2; free 0 MiB; after a free: 0" ] || fail "quota"
out=$(qremote "$VGPU" smi --query-gpu=name,memory.total,memory.free --format=csv,noheader); echo "NVML: $out"
# NVML's total adds the driver's reserve to what CUDA reports, as on a real H100.
[ "$out" = "vgpu H100 slice, 4576 MiB, 4096 MiB" ] || fail "NVML under a cap: $out"
echo "== a client's own CUDA_VISIBLE_DEVICES picks from the server's devices"
VSOCK2=$C/two.sock
VGPU_DEVICES=2 start_server --listen "unix://$VSOCK2"
two() { env LD_LIBRARY_PATH="$LIBDIR" VGPU_BACKEND=remote VGPU_SERVER="unix://$VSOCK2" "$@"; }
all=$(two "$VGPU" smi --query-gpu=index,uuid --format=csv,noheader)
uuid1=$(echo "$all" | awk -F', ' '$1 == 1 {print $2}')
[ "$(echo "$all" | wc -l)" = 2 ] && [ -n "$uuid1" ] || fail "two devices: $all"
for cvd in 1 "${uuid1:0:12}"; do
	out=$(CUDA_VISIBLE_DEVICES=$cvd two "$VGPU" smi --query-gpu=index,uuid --format=csv,noheader)
	[ "$out" = "0, $uuid1" ] || fail "CUDA_VISIBLE_DEVICES=$cvd: $out"
	echo "CUDA_VISIBLE_DEVICES=$cvd: $out"
done
out=$(CUDA_VISIBLE_DEVICES= two "$CLIENT" free || true)
case "$out" in "no device"*) echo "CUDA_VISIBLE_DEVICES='': $out" ;; *) fail "an empty CUDA_VISIBLE_DEVICES showed: $out" ;; esac
CUDA_VISIBLE_DEVICES=1 spawn two "$CLIENT" hold 1024 30 >"$C/hold1.out"; h1=$SPAWNED
for i in $(seq 50); do grep -q holding "$C/hold1.out" 2>/dev/null && break; sleep 0.1; done
used=$(two "$VGPU" smi --query-gpu=index,memory.used --format=csv,noheader,nounits | tr '\n' ' ')
kill -9 $h1
echo "while the CUDA_VISIBLE_DEVICES=1 client holds 1 GiB, used MiB per server device: $used"
[ "$(echo "$used" | awk '{print $4 - $2}')" = 1024 ] || fail "the allocation landed on the wrong device: $used"
echo "== killing the server makes the client's next call fail within 5 s"
remote "$CLIENT" after "$C/server-dead" >"$C/after.out" & waiter=$!
sleep 0.5
kill -9 "$server0"; touch "$C/server-dead"
wait $waiter || true
cat "$C/after.out"
grep -qE 'cudaMalloc after the server died: 46 in [0-4]\.' "$C/after.out" || fail "no prompt error after the server died"
echo "== VGPU_BACKEND=local: the program's own private server (sim here; the real driver on a GPU machine)"
local_() { env LD_LIBRARY_PATH="$LIBDIR" VGPU_BACKEND=local VGPU_LOCAL_SERVER_BACKEND=sim "$@"; }
local_ "$CLIENT" roundtrip 16 || fail "local: roundtrip"
out=$(local_ VGPU_MEMORY_LIMIT=4GiB VGPU_DEVICE_NAME="H100 4G" "$CLIENT" quota); echo "$out"
[ "$out" = "total 4096 MiB free 4096 MiB; allocated 4 GiB, then 2; free 0 MiB; after a free: 0" ] || fail "local: quota"
out=$(local_ VGPU_MEMORY_LIMIT=4GiB VGPU_DEVICE_NAME="H100 4G" "$VGPU" smi --query-gpu=name,memory.total --format=csv,noheader); echo "NVML: $out"
[ "$out" = "H100 4G, 4576 MiB" ] || fail "local: NVML $out"
local_ "$C/gemm" exact trsm >"$C/gemm-local.out" && cmp -s "$C/gemm-local.out" "$C/gemm-inproc-exact.out" || fail "local: gemm"
sleep 0.3
[ -z "$(pgrep -f 'serve --fd 3' || true)" ] || fail "a private server outlived its program"
echo "roundtrip, cap, name, GEMMs through the private server; none left running"
echo "== vsock: the server listens where the kernel has AF_VSOCK; a client that reaches nobody fails within 5 s"
out=$("$VGPU" serve --listen vsock://1:7 2>&1 || true)
case "$out" in *"needs --token-file"*) echo "a vsock listener without a token is refused" ;; *) fail "vsock without a token: $out" ;; esac
echo secret >"$C/vsock.token"; chmod 600 "$C/vsock.token"
spawn "$VGPU" serve --listen vsock://1:$(rand_port) --token-file "$C/vsock.token" >"$C/vsock.log" 2>&1
sleep 0.5
if grep -q "listening on vsock" "$C/vsock.log"; then echo "listening: $(head -1 "$C/vsock.log")"; else echo "no AF_VSOCK here: $(head -1 "$C/vsock.log")"; fi
t0=$(date +%s%N)
out=$(env LD_LIBRARY_PATH="$LIBDIR" VGPU_BACKEND=remote VGPU_SERVER=vsock://4294967295:9 VGPU_TOKEN=secret "$CLIENT" free 2>&1 || true)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $ms -lt 6000 ] || fail "a vsock client with no server took $ms ms"
echo "client with no vsock server: $(echo "$out" | tail -1) after $ms ms"
echo "== TCP without the right token is refused"
echo "s3cret" >"$C/token"; chmod 600 "$C/token"
port=$(rand_port)
start_server --listen "tcp://127.0.0.1:$port" --token-file "$C/token"
tcp() { env LD_LIBRARY_PATH="$LIBDIR" VGPU_BACKEND=remote VGPU_SERVER="tcp://127.0.0.1:$port" "$@"; }
tcp "$CLIENT" free >/dev/null 2>&1 && fail "no token accepted"
VGPU_TOKEN=wrong tcp "$CLIENT" free >/dev/null 2>&1 && fail "wrong token accepted"
[ -n "$(VGPU_TOKEN=s3cret tcp "$CLIENT" free)" ] || fail "right token refused"
("$VGPU" serve --listen "tcp://127.0.0.1:1" 2>&1 || true) | grep -q 'needs --token-file' || fail "tcp without a token file must not start"
echo "== tenants: B, given A's device pointer and handles, reads, writes, frees and destroys nothing of A's (unix, TCP, and unix with a worker process per client)"
${CC:-gcc} -O1 -Wall -o "$C/tenants" "$ROOT/tests/remote/tenants.c" -ldl
TSOCK=$C/tenants.sock
tport=$(rand_port)
start_server --listen "unix://$TSOCK"
start_server --listen "tcp://127.0.0.1:$tport" --token-file "$C/token"
WSOCK=$C/workers.sock # each client answered by a worker process of its own
start_server --listen "unix://$WSOCK" --isolation process
for server in "unix://$TSOCK" "tcp://127.0.0.1:$tport" "unix://$WSOCK"; do
	T=$C/tenants-$(basename "$server" | tr -c 'a-z0-9\n' -); rm -f "$T.values" "$T.values.done"
	tenant() { env LD_LIBRARY_PATH="$LIBDIR" VGPU_BACKEND=remote VGPU_SERVER="$server" VGPU_TOKEN=s3cret "$C/tenants" "$@"; }
	spawn tenant owner "$T.values" >"$T.owner" 2>&1; owner=$SPAWNED
	tenant intruder "$T.values" >"$T.intruder" 2>&1 || { cat "$T.intruder"; touch "$T.values.done"; fail "tenants over $server: the intruder"; }
	wait $owner || { cat "$T.owner"; fail "tenants over $server: the owner"; }
	echo "over $server:"; grep -E '^  (cudaMemcpy device->host|cuMemGetAddressRange at \+0 |cudaStreamDestroy|cublasDestroy|NVML)' "$T.intruder"
	tail -1 "$T.intruder"; cat "$T.owner"
done
echo "== --isolation process: a worker per client; one that dies (as a crash in NVIDIA's driver would end it) ends its client alone"
wk=(env LD_LIBRARY_PATH="$LIBDIR" VGPU_BACKEND=remote VGPU_SERVER="unix://$WSOCK") # env execs: $! is the client
rm -f "$C/crashed"
spawn "${wk[@]}" "$CLIENT" survives "$C/crashed" >"$C/survivor.out" 2>&1; survivor=$SPAWNED
spawn "${wk[@]}" "$CLIENT" hold 64 30 >"$C/victim.out" 2>&1; victim=$SPAWNED
for i in $(seq 100); do grep -q holding "$C/victim.out" && grep -q ready "$C/survivor.out" && break; sleep 0.05; done
worker=$(grep "client served by a worker process" "$C/server.log" | grep "\"client_pid\": $victim," | grep -o '"worker": [0-9]*' | grep -o '[0-9]*$' || true)
[ -n "$worker" ] || fail "no worker logged for client $victim"
kill -SEGV "$worker"
for i in $(seq 100); do grep -q "client's worker died.*\"worker\": $worker," "$C/server.log" && break; sleep 0.05; done
grep "client's worker died.*\"worker\": $worker," "$C/server.log" | grep -o "client's worker died.*" || fail "the dead worker was not reported"
touch "$C/crashed"
wait $survivor || { cat "$C/survivor.out"; fail "a client lost its data when another client's worker died"; }
echo "the other client: $(cat "$C/survivor.out" | tail -1)"
{ kill -9 $victim; wait $victim; } 2>/dev/null || true # (the victim expected to be gone)
"${wk[@]}" "$CLIENT" roundtrip 1 || fail "a new client after a worker died"
echo "== the token file must be private; TCP off loopback must be TLS"
cp "$C/token" "$C/open.token"; chmod 644 "$C/open.token"
out=$("$VGPU" serve --listen "tcp://127.0.0.1:1" --token-file "$C/open.token" 2>&1) && fail "a world-readable token file was accepted"
grep -q "permissions 0644 for $C/open.token are too open" <<<"$out" || fail "open token file: $out"
echo "$out"
out=$("$VGPU" serve --listen "tcp://0.0.0.0:0" --token-file "$C/token" 2>&1) && fail "plain TCP off loopback started"
grep -q "not loopback" <<<"$out" || fail "plain TCP off loopback: $out"
echo "$out"
echo "== TLS across hosts: --tls-dir makes a certificate once; clients pin its fingerprint or trust it as a CA"
TLSD=$C/tls
tport=$(rand_port); MPORT2=$(rand_port)
fp=$("$VGPU" serve --listen "tcp://127.0.0.1:$tport" --tls-dir "$TLSD" --print-fingerprint)
[[ $fp =~ ^sha256:[0-9a-f]{64}$ ]] || fail "--print-fingerprint: $fp"
[ "$(stat -c %a "$TLSD/key.pem")" = 600 ] || fail "the key is not mode 600"
start_server --listen "tcp://127.0.0.1:$tport" --tls-dir "$TLSD" --token-file "$C/token" --metrics ":$MPORT2"
grep -q "TLS certificate $fp" "$C/server.log" || fail "the server did not print the fingerprint made by --print-fingerprint"
echo "fingerprint $fp, reused by the server"
tls() { env LD_LIBRARY_PATH="$LIBDIR" VGPU_BACKEND=remote VGPU_SERVER="tcp://127.0.0.1:$tport" VGPU_TOKEN=s3cret "$@"; }
VGPU_SERVER_FINGERPRINT=$fp tls "$CLIENT" roundtrip 16 || fail "roundtrip over TLS with a pinned fingerprint"
VGPU_SERVER_CA=$TLSD/cert.pem tls "$CLIENT" roundtrip 1 || fail "roundtrip over TLS with the certificate as CA"
t0=$(date +%s%N)
out=$(VGPU_SERVER_FINGERPRINT=sha256:$(printf '0%.0s' $(seq 64)) tls "$CLIENT" free 2>&1) && fail "a wrong fingerprint was accepted: $out"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
grep -q "does not match VGPU_SERVER_FINGERPRINT" <<<"$out" || fail "wrong fingerprint: $out"
[ $ms -lt 6000 ] || fail "a wrong fingerprint took $ms ms to fail"
echo "wrong fingerprint refused in $ms ms: $(echo "$out" | grep -o 'server certificate sha256:[0-9a-f]\{8\}[^,]*' | head -1)"
out=$(tls "$CLIENT" free 2>&1) && fail "a plain client was served by a TLS server"
echo "a plain client of the TLS server fails: $(echo "$out" | tail -1)"
echo "== TLS with --isolation process: the session is relayed to the client's own worker, and a client that vanishes ends its worker"
wport=$(rand_port)
start_server --listen "tcp://127.0.0.1:$wport" --tls-dir "$TLSD" --token-file "$C/token" --isolation process
wtls=(env LD_LIBRARY_PATH="$LIBDIR" VGPU_BACKEND=remote VGPU_SERVER="tcp://127.0.0.1:$wport" VGPU_TOKEN=s3cret VGPU_SERVER_FINGERPRINT=$fp)
"${wtls[@]}" "$CLIENT" roundtrip 16 || fail "roundtrip over TLS to a worker"
spawn "${wtls[@]}" "$CLIENT" hold 64 30 >"$C/tlsworker.out" 2>&1; tw=$SPAWNED
for i in $(seq 100); do grep -q holding "$C/tlsworker.out" 2>/dev/null && break; sleep 0.05; done
worker=$(grep "client served by a worker process" "$C/server.log" | grep "\"client_pid\": $tw," | grep -o '"worker": [0-9]*' | grep -o '[0-9]*$' || true)
[ -n "$worker" ] || fail "no worker logged for TLS client $tw"
kill -9 $tw; wait $tw 2>/dev/null || true
for i in $(seq 100); do grep -q "client's worker ended.*\"worker\": $worker}" "$C/server.log" && break; sleep 0.05; done
grep -q "client's worker ended.*\"worker\": $worker}" "$C/server.log" || fail "the worker of a TLS client that vanished did not end"
kill -0 "$worker" 2>/dev/null && fail "worker $worker still runs after its TLS client vanished"
echo "TLS client through worker $worker: served; killed, its worker ended"
echo "== metrics: loopback for a bare :port, no PIDs unless --metrics-pids; a taken port stops a server"
out=$(timeout 5 "$VGPU" serve --listen "unix://$C/m.sock" --metrics ":$MPORT2" 2>&1) && fail "a taken metrics port did not stop the server"
grep -q "address already in use" <<<"$out" || fail "taken metrics port: $out"
expected "$out"
spawn env LD_LIBRARY_PATH="$LIBDIR" VGPU_BACKEND=remote VGPU_SERVER="tcp://127.0.0.1:$tport" VGPU_TOKEN=s3cret VGPU_SERVER_FINGERPRINT=$fp \
	"$CLIENT" hold 1024 30 >"$C/tlshold.out"; th=$SPAWNED
for i in $(seq 50); do grep -q holding "$C/tlshold.out" 2>/dev/null && break; sleep 0.1; done
m=$(http_get "127.0.0.1:$MPORT2" /metrics)
kill -9 $th
grep -qE '^vgpu_client_memory_bytes\{client="[0-9]+"\} 1073741824$' <<<"$m" || { echo "$m" | grep vgpu_client; fail "metrics of a TLS client"; }
grep -q "pid=" <<<"$m" && fail "metrics show PIDs unasked"
echo "$m" | grep '^vgpu_client_memory_bytes'
pass
