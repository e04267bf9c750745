package doctor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/probe"
)

func TestUniquePCIIDs(t *testing.T) {
	d := &doc{}
	assert.True(t, d.uniquePCIIDs(&probe.System{GPUs: []probe.GPU{{Index: 0, BusID: "00000000:18:00.0"}, {Index: 1, BusID: "00000000:19:00.0"}}}))
	require.Len(t, d.checks, 1)
	assert.Equal(t, "pass", d.checks[0].Status)

	// Case differs, the id does not: Ollama compares them case-insensitively.
	d = &doc{}
	assert.False(t, d.uniquePCIIDs(&probe.System{GPUs: []probe.GPU{{Index: 0, BusID: "00000000:1A:00.0"}, {Index: 1, BusID: "00000000:1a:00.0"}}}))
	require.Len(t, d.checks, 1)
	assert.Equal(t, "fail", d.checks[0].Status)
	assert.Contains(t, d.checks[0].Detail, "devices 0 and 1 share PCI id")
	assert.NotEmpty(t, d.checks[0].Fix)
}
