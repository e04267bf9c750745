package remote

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"vgpu/shim/api"
)

// A shareable handle's fd belongs to the program's process: every row that exports or
// imports one goes through the client's hook (remote/shareable.go), which makes or reads the
// fd here and sends the server only the 64 bytes. A row forwarded without it would send a
// server an fd number (meaningless there) or write 64 bytes into an int.
func TestEveryShareableHandleRowMakesOrReadsItsFdInTheClient(t *testing.T) {
	seen := 0
	for i := range api.Functions {
		f := &api.Functions[i]
		if !strings.Contains(f.Name, "ShareableHandle") {
			continue
		}
		seen++
		assert.NotNil(t, beforeCall[f.Op], "%s has no client-side hook", f.Name)
	}
	assert.GreaterOrEqual(t, seen, 5, "the pool and cuMemCreate forms, driver and runtime")
}
