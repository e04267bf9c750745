package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFunctionsParse(t *testing.T) {
	fns, err := parse("../../shim/api/functions.txt")
	require.NoError(t, err)
	names := map[string]int{}
	for _, f := range fns {
		names[f.Name]++
	}
	// Every symbol ggml's CUDA backends import is listed.
	for _, s := range []string{"cudaGetDeviceProperties_v2", "cudaGetDeviceProperties", "cudaLaunchKernel", "__cudaGetKernel",
		"__cudaLaunchKernel", "cublasGemmBatchedEx", "cuMemCreate", "nvmlDeviceGetMemoryInfo", "cudaMemcpy3DPeerAsync"} {
		assert.Positive(t, names[s], s)
	}
	assert.Equal(t, 2, names["cudaGetDeviceProperties"], "one row per major")
}

func TestBadLinesStopTheBuild(t *testing.T) {
	for _, line := range []string{
		"1 cuda CUresult cuX(int *p)",                            // pointer without a direction
		"1 cuda CUresult cuX(mystery_t v)",                       // unknown type
		"1 cuda@12 CUresult cuX(int v)",                          // driver symbols have no nodes
		"1 cudart cudaError_t cudaX(int v) {quick}",              // unknown flag
		"1 cuda CUresult cuX(int v)\n1 cuda CUresult cuY(int v)", // opcode reuse
		"1 cuda CUresult cuX(CUevent *e [out]) {new:stream}",     // creates an event, not a stream
		"1 cuda CUresult cuX(CUstream s) {new:stream}",           // a creation returns its handle through a pointer
		"1 cuda CUresult cuX(CUstream *s [out]) {free:stream}",   // a destruction takes the handle itself
		"1 cuda CUresult cuX(CUevent e) {capture:begin}",         // captures happen on streams
		"1 cuda CUresult cuX(CUstream s) {new:graph}",            // unknown kind
		"1 cuda CUresult cuX_v2(int v) {proc:cuX}",               // a cuGetProcAddress flag names its version
		"1 cuda CUresult cuX_v2(int v) {proc:cuX@12.0}",          // in CUDA's 1000*major + 10*minor
	} {
		p := filepath.Join(t.TempDir(), "f.txt")
		require.NoError(t, os.WriteFile(p, []byte(line+"\n"), 0o644))
		_, err := parse(p)
		assert.Error(t, err, line)
	}
}

func TestHandleFlagsMatchTheFirstArgument(t *testing.T) {
	for _, line := range []string{
		"1 cuda CUresult cuX(CUstream *s [out], unsigned int flags) {new:stream}",
		"1 cudart cudaError_t cudaX(cudaEvent_t e) {free:event}",
		"1 cudart cudaError_t cudaX(cudaStream_t s, cudaGraph_t *g [out]) {capture:end}",
		"1 cuda CUresult cuX(CUcontext c) {ctxswitch}",
	} {
		p := filepath.Join(t.TempDir(), "f.txt")
		require.NoError(t, os.WriteFile(p, []byte(line+"\n"), 0o644))
		_, err := parse(p)
		assert.NoError(t, err, line)
	}
}
