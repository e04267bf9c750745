package dispatch

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"

	"vgpu/remote"
	"vgpu/table"
)

func TestSelectPicksTheBackendsTable(t *testing.T) {
	assert.Same(t, &table.Semantics, Select(false, false), "sim and in-process local run the semantics")
	assert.Same(t, &remote.Stubs, Select(true, false), "remote runs the client stubs")
	traced := Select(false, true)
	assert.NotSame(t, &table.Semantics, traced, "VGPU_TRACE wraps the table")
	assert.NotSame(t, &remote.Stubs, Select(true, true))
}

// Until the first call, T is the lazy table; after it, the chosen one, without a branch.
func TestTheFirstCallChoosesOnce(t *testing.T) {
	t.Setenv("VGPU_BACKEND", "sim")
	before := T()
	var v int32
	before.Nvml.NvmlSystemGetCudaDriverVersion(ptr(&v))
	after := T()
	assert.NotSame(t, before, after)
	assert.Same(t, after, choose())
	assert.Same(t, &table.Semantics, after)
}

func ptr(v *int32) unsafe.Pointer { return unsafe.Pointer(v) }
