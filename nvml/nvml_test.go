package nvml

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestVersionedStructs(t *testing.T) {
	assert.Equal(t, 0x02000028, memoryV2, "nvmlMemory_v2 = sizeof | 2<<24")
}

func TestReferenceCountedInit(t *testing.T) {
	assert.Equal(t, Uninitialized, Shutdown())
	assert.Equal(t, Success, Init())
	assert.Equal(t, Success, Init())
	assert.Equal(t, Success, Shutdown())
	assert.Equal(t, Success, ready(), "one reference left")
	assert.Equal(t, Success, Shutdown())
	assert.Equal(t, Uninitialized, ready())
}
