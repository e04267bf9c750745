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
	} {
		p := filepath.Join(t.TempDir(), "f.txt")
		require.NoError(t, os.WriteFile(p, []byte(line+"\n"), 0o644))
		_, err := parse(p)
		assert.Error(t, err, line)
	}
}
