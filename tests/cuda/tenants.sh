#!/usr/bin/env bash
# On a GPU machine with nvcc (no Go needed: carry build/): two tenants of one GPU, as separate
# processes on NVIDIA's runtime (the reference), as two remote clients of one
# `vgpu serve --backend local` over a unix socket (with a worker process per client, the
# default, and with --isolation thread, which is expected to fail: contexts of one process
# share the GPU's address space and fault domain), and as two programs with private servers
# (VGPU_BACKEND=local: a server process per client). Tenant B's kernel, given tenant A's device
# address, must obtain none of A's data; B's kernel that writes to address 0x10 must fail for
# B alone: A's next copies and launches work and its data is intact.
# The exit status is the default server's (--isolation process).
# usage: tests/cuda/tenants.sh              the tests (from the repository root, build/ present)
#        tests/cuda/tenants.sh bench [DIR]  what isolation costs: one shared server with the
#                                           primary context, the same with a context per client,
#                                           a process per client, native; given DIR (a tree with
#                                           build/ and tests/ of another version), that one too
set -uo pipefail
ROOT=$PWD
OUTDIR=${OUT:-/tmp}
T=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null; rm -rf $T' EXIT
SERVER=
nvcc -O2 -cudart shared -arch=sm_90 -o $T/tenants tests/cuda/tenants.cu || exit 1

# serve TREE LOG [ARGS...]: a shared server of TREE's build on a fresh socket.
serve() {
	SOCK=$T/vgpu.sock; rm -f $SOCK
	local tree=$1 log=$2; shift 2
	VGPU_LOG_LEVEL=info $tree/build/bin/vgpu serve --listen unix://$SOCK --backend local "$@" > $log 2>&1 & SERVER=$!
	for i in $(seq 100); do [ -S $SOCK ] && break; sleep 0.1; done
}
stop() { kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; SERVER=; }

# roles LABEL RUNNER...: A writes its secret and waits; B reads it by kernel and by copy, then
# faults; C, a new client, is served; then A checks. RUNNER is how a client process starts.
roles() {
	local label=$1; shift
	rm -f $T/ptr $T/go
	"$@" $T/tenants a $T/ptr $T/go > $OUTDIR/$label-a.out 2>&1 & local A=$!
	for i in $(seq 200); do [ -s $T/ptr ] && break; sleep 0.1; done
	"$@" $T/tenants read $T/ptr > $OUTDIR/$label-read.out 2>&1
	"$@" $T/tenants copy $T/ptr > $OUTDIR/$label-copy.out 2>&1
	"$@" $T/tenants fault > $OUTDIR/$label-fault.out 2>&1
	"$@" $T/tenants ok > $OUTDIR/$label-ok.out 2>&1
	touch $T/go; wait $A
	echo "-- $label"
	for r in read copy fault ok a; do grep -v '^verdict' $OUTDIR/$label-$r.out; done
	grep -h '^verdict' $OUTDIR/$label-{read,copy,fault,ok,a}.out | sed "s/^/$label /"
}

if [ "${1:-}" != bench ]; then
	echo "== native: two processes on NVIDIA's runtime (the reference)"
	roles native env
	remote() { env LD_LIBRARY_PATH=$ROOT/build/lib VGPU_BACKEND=remote VGPU_SERVER=unix://$SOCK "$@"; }
	for iso in process thread; do
		[ $iso = thread ] && echo "== thread: two clients of one vgpu serve --backend local --isolation thread (EXPECTED to fail: one process, one GPU address space)" ||
			echo "== remote: two clients of one vgpu serve --backend local (a worker process per client, the default)"
		serve $ROOT $OUTDIR/tenants-server-$iso.log --isolation $iso
		label=remote; [ $iso = thread ] && label=thread
		roles $label remote
		sleep 0.5
		kill -0 $SERVER 2>/dev/null && echo "server alive after the tenants: yes" || echo "server alive after the tenants: NO"
		remote $T/tenants ok | sed 's/^/after all: /'
		stop
		grep -E 'worker died|cuCtx|panic' $OUTDIR/tenants-server-$iso.log | head -20
	done
	echo "== private: two programs with VGPU_BACKEND=local (a server process each)"
	roles private env LD_LIBRARY_PATH=$ROOT/build/lib VGPU_BACKEND=local
	echo "== summary"
	for l in native remote thread private; do echo "$l: $(cat $OUTDIR/$l-{read,copy,fault,ok,a}.out | grep -c '^verdict: PASS') passed, $(cat $OUTDIR/$l-{read,copy,fault,ok,a}.out | grep -c '^verdict: FAIL') failed"; done
	! grep -q '^verdict: FAIL' $OUTDIR/remote-{read,fault,ok,a}.out
	exit
fi

# bench: for each tree, one shared server: a client alone, then two at once (the GPU and the
# server alternate between their contexts); the first call (the server makes the client's
# context); the server's device memory with 1, 2 and 4 idle clients; then make bench-remote.
trees=("process:$ROOT:0" "shared:$ROOT:0" "contexts:$ROOT:1")
[ -n "${2:-}" ] && trees=("before:$2:0" "${trees[@]}")
for tv in "${trees[@]}"; do
	IFS=: read name tree ctxs <<< "$tv"
	echo "== $name ($tree, VGPU_CLIENT_CONTEXTS=$ctxs)"
	iso=(--isolation thread); [ $name = process ] && iso=(--isolation process); [ $name = before ] && iso=()
	VGPU_CLIENT_CONTEXTS=$ctxs serve $tree $OUTDIR/bench-$name-server.log "${iso[@]}"
	remote() { env LD_LIBRARY_PATH=$tree/build/lib VGPU_BACKEND=remote VGPU_SERVER=unix://$SOCK "$@"; }
	remote $T/tenants pingpong 3000 > $T/one.txt; sed 's/^/one client: /' $T/one.txt | grep -v verdict
	remote $T/tenants pingpong 3000 > $T/two-a.txt & P=$!
	remote $T/tenants pingpong 3000 > $T/two-b.txt; wait $P
	sed 's/^/two clients, 1st: /' $T/two-a.txt | grep -v verdict; sed 's/^/two clients, 2nd: /' $T/two-b.txt | grep -v verdict
	mem() { echo "server process: $(nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader | awk -F', ' -v p=$SERVER '$1 == p {print $2}'), GPU used: $(nvidia-smi --query-gpu=memory.used --format=csv,noheader)"; }
	echo "device memory with 0 clients: $(mem)"
	for k in 1 2 4; do
		pids=()
		for i in $(seq $k); do remote $T/tenants hold 4 > /dev/null & pids+=($!); done
		sleep 2.5
		echo "device memory with $k idle clients (1 MiB each): $(mem)"
		wait "${pids[@]}"
	done
	sleep 0.5; echo "device memory after they left: $(mem)"
	stop
	[ $name = process ] || continue # the server's other figures: one client, measured above
	echo "-- make bench-remote ($name)"
	(cd $tree && bash tests/bench/remote.sh $tree/build/lib)
done
# pair NAME RUNNER...: one client alone, then two at once.
pair() {
	local name=$1; shift
	echo "== $name"
	"$@" $T/tenants pingpong 3000 | grep -v verdict | sed 's/^/one client: /'
	"$@" $T/tenants pingpong 3000 > $T/two-a.txt & local P=$!
	"$@" $T/tenants pingpong 3000 > $T/two-b.txt; wait $P
	sed 's/^/two clients, 1st: /' $T/two-a.txt | grep -v verdict; sed 's/^/two clients, 2nd: /' $T/two-b.txt | grep -v verdict
}
pair "a process per client (VGPU_BACKEND=local: private servers, primary contexts)" env LD_LIBRARY_PATH=$ROOT/build/lib VGPU_BACKEND=local
pair "native (NVIDIA's runtime, a process per client)" env
echo "== device memory of one private server (a process per client)"
env LD_LIBRARY_PATH=$ROOT/build/lib VGPU_BACKEND=local $T/tenants hold 4 > /dev/null & H=$!
sleep 2.5; nvidia-smi --query-compute-apps=pid,process_name,used_memory --format=csv,noheader; wait $H
