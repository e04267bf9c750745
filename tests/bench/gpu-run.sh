#!/usr/bin/env bash
# On the GPU machine, from the repository root, with DIR carried (tests/bench/gpu-pack.sh):
# builds the CUDA backend for this GPU and measures. Steps, in order, comma-separated:
#   timeline  llama-server directly, untraced, with Ollama's flags: native, TCP, unix, twice
#             (tests/bench/timeline.sh; llama.cpp source only), beside the wire's floor
#   compare   Ollama native and through vgpu (tests/newest/gpu.sh): MODES, ROUNDS, MODEL; then
#             the wire's floor for a token's logits over TCP, three times
#   step      the launch-free decode step by path (tests/bench/decodestep-gpu.sh)
#   remote    make bench-remote's micro-benchmarks (tests/bench/remote.sh)
#   graphs    one remote round with the server's info log: graphs built against replayed
#   batched   concurrent sequences with the batching fixed by llama.cpp's own examples, native
#             and through vgpu (tests/bench/batched-identity.sh; llama.cpp source only)
# Everything lands in $OUT: summary.txt, the comparison's json and logs.tgz (at most 8 files
# come back from a lease). A step already done on this machine (a marker in /tmp/gpurun) is
# skipped, so a call that the lease's limit cut short can be repeated.
# usage: bash DIR/gpu-run.sh DIR STEPS   env: MODES, ROUNDS (2), MODEL (qwen0.5b:q8_0), OC_FLAGS (more
# flags for ollama-compare, e.g. "--staggers 0,10ms")
set -uo pipefail
DIR=$1 STEPS=${2:-timeline,compare}
S=$OUT/summary.txt M=/tmp/gpurun B=/tmp/gpurun-build
mkdir -p $M
export PATH=$PATH:/usr/local/cuda/bin
log() { echo "[$(date +%T)] $*" | tee -a "$S"; }
# The wire's floor for a token's logits over TCP (one 600 KB round trip), three times.
wirefloor() { gcc -O2 -o $M/wirefloor tests/bench/wirefloor.c && for i in 1 2 3; do $M/wirefloor tcp 2000 0 614400 | tr '\n' ' ' >>"$S"; echo >>"$S"; done; }
T0=$(date +%s)
if [ ! -e $M/unpacked ]; then
	mkdir -p $M/vgpu $M/src
	tar xzf "$DIR/vgpu.tgz" -C $M/vgpu && tar xzf "$DIR/src.tgz" -C $M/src || exit 1
	xz -dc "$DIR/ollama.xz" >$M/ollama && chmod +x $M/ollama || exit 1
	touch $M/unpacked
fi
V=$M/vgpu/build SRC=$(ls -d $M/src/*/ | head -1)
log "Ollama $(cat "$DIR/version"); $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader); $(nproc) CPUs"
for step in ${STEPS//,/ }; do
	[ -e $M/$step ] && continue
	log "$step"
	case $step in
	timeline)
		[ -d "$SRC/ml/backend/ggml" ] && { log "timeline needs llama.cpp's source"; continue; }
		mkdir -p $M/oc
		BUILD=$B BUILD_ONLY=1 bash tests/newest/gpu.sh "$SRC" $M/ollama $V $M/oc >>"$S" 2>&1 || { log "the build failed"; exit 1; }
		[ -e $M/m.gguf ] || $V/bin/vgpu testmodel --size qwen0.5b --type q8_0 -o $M/m.gguf >/dev/null
		NOTRACE=1 DECODES=10 LLAMA_ARGS="-c 16384 -np 4" bash tests/bench/timeline.sh $B/bin $V $M/m.gguf $M/tl \
			native,remote-tcp,remote,native,remote-tcp,remote >>"$S" 2>&1
		wirefloor ;;
	compare)
		mkdir -p "$OUT/compare"
		BUILD=$B ROUNDS=${ROUNDS:-2} bash tests/newest/gpu.sh "$SRC" $M/ollama $V "$OUT/compare" "${MODEL:-qwen0.5b:q8_0}" \
			"${MODES:-native,remote,remote-tcp,remote-shm-file}" 2>&1 | tail -40 >>"$S"
		wirefloor ;; # TCP's ceiling, in the same lease
	graphs)
		# One remote round with the server logging at info (ollama-compare --verbose; Ollama's
		# debug log too, so not a measurement): how often a graph was built as the driver's and
		# how often replayed node by node, for the short request's per-request cost.
		rm -rf /tmp/ollama-compare-*/; mkdir -p $M/graphs
		KEEP=1 OC_FLAGS=--verbose BUILD=$B ROUNDS=1 bash tests/newest/gpu.sh "$SRC" $M/ollama $V $M/graphs "${MODEL:-qwen0.5b:q8_0}" remote >/dev/null 2>&1
		for d in /tmp/ollama-compare-*/; do
			find "$d" -name '*.log' -size -20M | tar czf $M/graphs-logs.tgz -T - 2>/dev/null
			echo "graphs built as the driver's: $(cat "$d"/logs/*.log 2>/dev/null | grep -c 'graph recorded as one backend graph'), replayed node by node: $(cat "$d"/logs/*.log 2>/dev/null | grep -c 'replayed node by node')" >>"$S"
		done ;;
	batched)
		[ -d "$SRC/ml/backend/ggml" ] && { log "batched needs llama.cpp's source"; continue; }
		ARCH=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d .)
		{ cmake -S "$SRC" -B $M/bb -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$ARCH" \
			-DGGML_NATIVE=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_SUBPROCESS=OFF -DLLAMA_BUILD_TESTS=OFF \
			-DLLAMA_BUILD_EXAMPLES=ON && cmake --build $M/bb -j"$(nproc)" --target llama-batched llama-parallel; } >$M/bb.log 2>&1 ||
			{ tail -30 $M/bb.log >>"$S"; log "the build failed"; exit 1; }
		log "built llama-batched and llama-parallel ($(($(date +%s) - T0)) s into this call)"
		[ -e $M/m.gguf ] || $V/bin/vgpu testmodel --size qwen0.5b --type q8_0 -o $M/m.gguf >/dev/null
		bash tests/bench/batched-identity.sh $M/bb/bin $V $M/m.gguf $M/bi >>"$S" 2>&1
		tar czf "$OUT/batched.tgz" -C $M bi ;;
	step) bash tests/bench/decodestep-gpu.sh $V >>"$S" 2>&1 ;;
	remote) (mkdir -p build && cp -a $V/bin $V/lib build/ && bash tests/bench/remote.sh build/lib) >>"$S" 2>&1 ;;
	*) log "unknown step $step"; continue ;;
	esac
	touch $M/$step
	log "$step done ($(($(date +%s) - T0)) s into this call)"
done
tar czf "$OUT/logs.tgz" $M/tl $M/oc $M/graphs-logs.tgz 2>/dev/null
