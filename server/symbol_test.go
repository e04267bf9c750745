package server

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/remote"
	"vgpu/shim"
)

func globalsRecorded() int {
	simGlobalsMu.Lock()
	defer simGlobalsMu.Unlock()
	return len(simGlobals)
}

// A sim server gives a module's variable device memory once, and forgets the module's
// record when the client that shipped it leaves: nothing piles up per client.
func TestModuleVariablesAreForgottenWithTheirClient(t *testing.T) {
	s := startServer(t, Options{})
	before := globalsRecorded()
	c := s.dial(t)
	st, out := c.op(remote.OpLoadModule, []byte("\x00sym_var\x00"))
	require.Equal(t, shim.OK, st)
	le := binary.LittleEndian
	req := le.AppendUint64(nil, le.Uint64(out))
	req = le.AppendUint64(req, 4)
	req = le.AppendUint32(req, uint32(len("sym_var")))
	req = append(append(req, "sym_var"...), 1, 2, 3, 4)
	st, first := c.op(remote.OpGlobal, req)
	require.Equal(t, shim.OK, st)
	st, again := c.op(remote.OpGlobal, req)
	require.Equal(t, shim.OK, st)
	assert.Equal(t, first, again, "one allocation per module and name")
	assert.Equal(t, before+1, globalsRecorded())

	c.close()
	assert.Eventually(t, func() bool { return globalsRecorded() == before }, 5*time.Second, 10*time.Millisecond)
}
