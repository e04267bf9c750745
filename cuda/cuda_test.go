package cuda

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"vgpu/shim"
)

// cuGetProcAddress hands out the form of a name a caller of that CUDA version was built
// for, as the table's proc:BASE@VERSION flags say; too old a caller, or a newer ABI than vgpu
// implements, finds nothing.
func TestResolveProc(t *testing.T) {
	lockThread(t)
	for _, c := range []struct {
		name    string
		version int32
		want    string
		status  int32
	}{
		{"cuMemAlloc", 12000, "cuMemAlloc_v2", procFound},
		{"cuInit", 2000, "cuInit", procFound},
		{"cuCtxCreate", 3020, "cuCtxCreate_v2", procFound},
		{"cuCtxCreate", 12050, "cuCtxCreate_v4", procFound},
		{"cuCtxGetDevice", 12000, "cuCtxGetDevice", procFound},
		{"cuCtxGetDevice", 13000, "cuCtxGetDevice_v2", procFound},
		{"cuStreamGetCtx", 12050, "cuStreamGetCtx_v2", procFound},
		{"cuGraphGetEdges", 12020, "cuGraphGetEdges", procFound},
		{"cuGraphGetEdges", 12030, "cuGraphGetEdges_v2", procFound},
		{"cuGetProcAddress", 12000, "cuGetProcAddress_v2", procFound},
		{"cuGetProcAddress", 11000, "", procVersionLow},
		{"cuEventElapsedTime", 13000, "cuEventElapsedTime_v2", procFound},
		{"cuMemAlloc", 2000, "cuMemAlloc", procFound}, // the legacy 32-bit ABI (cuda/legacy.go)
		{"cuMemAlloc", 3010, "cuMemAlloc", procFound},
		{"cuMemAlloc", 1000, "", procVersionLow},
		{"cuCtxCreate", 11040, "cuCtxCreate_v3", procFound},
		{"cuCtxCreate", 2000, "cuCtxCreate", procFound},
		{"cuGraphInstantiate", 11000, "cuGraphInstantiate_v2", procFound},
		{"cuGraphInstantiate", 12000, "cuGraphInstantiateWithFlags", procFound},
		{"cuGraphInstantiateWithFlags", 12000, "cuGraphInstantiateWithFlags", procFound},
	} {
		got, st := resolveProc(c.name, c.version)
		assert.Equal(t, c.want, got, "%s@%d", c.name, c.version)
		assert.Equal(t, c.status, st, "%s@%d", c.name, c.version)
	}
}

func TestResultText(t *testing.T) {
	lockThread(t)
	n, ok := ErrorOutOfMemory.Name()
	assert.True(t, ok)
	assert.Equal(t, "CUDA_ERROR_OUT_OF_MEMORY", n)
	d, _ := Result(209).Description()
	assert.Equal(t, "no binary for gpu", d)
	_, ok = Result(123456).Description()
	assert.False(t, ok)
	for s := shim.OK; s <= shim.StatusLast; s++ {
		_, ok := From(s).Name()
		assert.True(t, ok, "status %d maps to a named CUresult", s)
	}
}
