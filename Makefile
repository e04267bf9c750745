# vgpu: one Go c-shared library under every NVIDIA library name.
#   make          build build/lib (the library and its names) and build/bin/vgpu
#   make test     everything CI runs: Go unit tests, the C harness, the Go host, real ggml
#   make demo     show the virtual GPU through the driver, runtime and NVML
#   make bench    figures into BENCHMARKS.md
#   make bench-remote  the remote path's round trip, launch rate, bandwidth and GEMM: native, local, remote
#   make bench-launchrate  launches/s through vgpu serve --backend local on a stand-in driver (2.5 us a launch) vs that driver alone
#   make bench-decodestep  a decode-shaped step through a sim server over TCP and a unix socket, beside the wire's floor
#   make ollama-compare  build/bin/ollama-compare: Ollama native vs through vgpu, on a GPU machine
#   make generate regenerate the //export layer from shim/api/functions.txt

GO      ?= go
CC      ?= gcc
BUILD   := build
LIB     := $(BUILD)/lib/libvgpu.so
BIN     := $(BUILD)/bin/vgpu
OC      := $(BUILD)/bin/ollama-compare
NAMES   := libcuda.so.1 libcuda.so libcudart.so.12 libcudart.so.13 libcublas.so.12 libcublas.so.13 \
           libcublasLt.so.12 libcublasLt.so.13 libnvidia-ml.so.1 libnvidia-ml.so
MAP     := exports/zz_exports.map
GOSRC   := $(shell find . \( -name '*.go' -o -name '*.c' -o -name '*.h' -o -name '*.yaml' -o -name '*.map' \) \
             -not -path './build/*' -not -path './tests/*' -not -name '*_test.go')

# The soname is libcuda.so.1: LD_PRELOAD of the file alone then satisfies dlopen("libcuda.so.1").
LDFLAGS := -s -w -extldflags '-Wl,--version-script=$(CURDIR)/$(MAP) -Wl,-soname,libcuda.so.1'

.PHONY: all lib cli generate check-generate test unit fuzz ctest gohost ggml ollama-tree newest nvidia-smi remote testmodel cuda118 driveronly programs demo bench bench-remote bench-decodestep bench-drvlaunch bench-launchrate ollama-compare clean

all: lib cli ollama-compare

ollama-compare: $(OC)

# Static (cgo off): copied to GPU machines that have no Go and maybe another libc.
$(OC): $(wildcard bench/ollama-compare/*.go ollama/*.go testmodel/*.go)
	@mkdir -p $(BUILD)/bin
	CGO_ENABLED=0 $(GO) build -o $@ ./bench/ollama-compare

lib: $(LIB) $(addprefix $(BUILD)/lib/,$(NAMES))

$(LIB): $(GOSRC)
	@mkdir -p $(BUILD)/lib
	CGO_ENABLED=1 $(GO) build -buildmode=c-shared -ldflags "$(LDFLAGS)" -o $@ ./exports
	@rm -f $(BUILD)/lib/libvgpu.h

$(BUILD)/lib/%: $(LIB)
	@ln -sf libvgpu.so $@

cli: $(BIN)

$(BIN): $(GOSRC)
	@mkdir -p $(BUILD)/bin
	$(GO) build -o $@ ./cmd/vgpu

generate:
	$(GO) run ./cmd/apigen

# CI: the generated files must match functions.txt.
check-generate:
	$(GO) run ./cmd/apigen
	git diff --exit-code -- ':(glob)**/zz_*'

test: all check-generate unit fuzz ctest gohost ggml ollama-tree newest nvidia-smi remote testmodel cuda118 driveronly programs
	@echo "make test: PASS (unit, fuzz, ctest, gohost, ggml, ollama-tree, newest, nvidia-smi, remote, testmodel, cuda118, driveronly, programs)"

# The server's whole request path (decode and dispatch of every op) and the rings a client
# on its host writes frames into, under the fuzzer, for a bounded time; a crash it finds is
# saved under testdata/fuzz and replayed by unit. The budget is a count of inputs, not a
# duration: Go 1.26's fuzzer can fail a run whose -fuzztime deadline falls while a worker is
# inside an input ("context deadline exceeded", nothing found; go.dev/issue/75804, fixed in
# Go 1.27).
FUZZTIME ?= 40000x
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzRequest -fuzztime=$(FUZZTIME) ./server
	$(GO) test -run='^$$' -fuzz=FuzzRingReader -fuzztime=150000x ./wire

unit:
	$(GO) test ./shim/... ./table/... ./dispatch/... ./exports/... ./cuda/... ./cudart/... ./cublas/... ./local/... ./nvml/... ./cmd/... ./loader/... ./ollama/... ./smi/... ./doctor/... ./wire/... ./remote/... ./server/... ./testmodel/... ./bench/... ./tests/coverage/...

ctest: lib cli
	$(MAKE) -C tests/c run LIBDIR=$(CURDIR)/$(BUILD)/lib

gohost: lib
	$(GO) build -o $(BUILD)/bin/gohost ./tests/gohost
	env -u CUDA_VISIBLE_DEVICES -u VGPU_DEVICES -u VGPU_CONFIG $(BUILD)/bin/gohost $(CURDIR)/$(BUILD)/lib

ggml: lib
	bash tests/ggml/run.sh $(CURDIR)/$(BUILD)/lib

demo: all
	$(MAKE) -C tests/c demo LIBDIR=$(CURDIR)/$(BUILD)/lib

bench-launchrate: all
	bash tests/bench/launchrate.sh $(CURDIR)/$(BUILD)/lib

bench: all
	bash tests/bench/run.sh $(CURDIR)/$(BUILD)/lib

# The remote path's micro-benchmarks, native / local / remote from one run (on a GPU machine
# without Go: bash tests/bench/remote.sh build/lib).
bench-remote: all
	bash tests/bench/remote.sh $(CURDIR)/$(BUILD)/lib

# Issues 14 and 12: round trips per launch, GEMM and ggml-shaped step, NVIDIA's runtime on
# vgpu's driver (driver-only) against vgpu's runtime (full), remote; fails if one costs a trip.
bench-drvlaunch: lib cli
	bash tests/bench/drvlaunch.sh $(CURDIR)/$(BUILD)/lib --check

# Issue 12's CPU figure: the decode-shaped step over TCP against a plain C client and server
# moving the same bytes (a benchmark: it prints figures and fails only when a step goes wrong).
bench-decodestep: lib cli
	bash tests/bench/decodestep.sh $(CURDIR)/$(BUILD)/lib

clean:
	rm -rf $(BUILD)
	$(MAKE) -C tests/c clean

ollama-tree: all ggml
	bash tests/ollama/run.sh $(CURDIR)/$(BUILD)/lib

# Ollama 0.32.15 and llama-server built from the registries (cached per machine, see
# tests/newest/build.sh), discovering and generating on the sim.
newest: all ggml
	bash tests/newest/run.sh $(CURDIR)/$(BUILD)/lib

nvidia-smi: all
	bash tests/nvidia-smi/run.sh $(CURDIR)/$(BUILD)/lib

remote: all ggml
	bash tests/remote/run.sh $(CURDIR)/$(BUILD)/lib
	bash tests/remote/peer.sh $(CURDIR)/$(BUILD)/lib
	bash tests/remote/shmfile.sh $(CURDIR)/$(BUILD)/lib

testmodel: all ggml
	bash tests/testmodel/run.sh

# NVIDIA's CUDA 11.8 runtime (Debian non-free, fetched once per machine: tests/cuda118/fetch.sh),
# static and shared, and CUDA 12.4's shared runtime (trixie), on vgpu's libcuda.so.1 alone:
# sim, and a remote client of a sim server.
cuda118: all
	bash tests/cuda118/run.sh $(CURDIR)/$(BUILD)/lib

# CUDA programs (tests/programs/*.cu) built by NVIDIA's nvcc 12.4 (trixie non-free, fetched once
# per machine: tests/programs/fetch.sh) with its shared and its default static runtime, run on
# vgpu as runtime and driver and on vgpu's libcuda.so.1 alone: sim and a remote client of a sim
# server, outputs compared with the native records in tests/programs/expected.
programs: all
	bash tests/programs/run.sh $(CURDIR)/$(BUILD)/lib

# The driver-only mode: ggml's npm CUDA 12 backend on NVIDIA's CUDA 12.4 runtime and cuBLAS 12
# (trixie non-free, fetched once per machine) over vgpu's libcuda.so.1 alone, sim and remote;
# install --driver-only, doctor and uninstall on an Ollama-shaped tree bundling them.
driveronly: all ggml
	bash tests/driveronly/run.sh $(CURDIR)/$(BUILD)/lib
