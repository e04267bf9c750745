package server

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/shim"
	"vgpu/wire"
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
	st, out := c.op(wire.OpLoadModule, []byte("\x00sym_var\x00"))
	require.Equal(t, shim.OK, st)
	le := binary.LittleEndian
	req := le.AppendUint64(nil, le.Uint64(out))
	req = le.AppendUint64(req, 4)
	req = le.AppendUint32(req, uint32(len("sym_var")))
	req = append(append(req, "sym_var"...), 1, 2, 3, 4)
	st, first := c.op(wire.OpGlobal, req)
	require.Equal(t, shim.OK, st)
	st, again := c.op(wire.OpGlobal, req)
	require.Equal(t, shim.OK, st)
	assert.Equal(t, first, again, "one allocation per module and name")
	assert.Equal(t, before+1, globalsRecorded())

	c.close()
	assert.Eventually(t, func() bool { return globalsRecorded() == before }, 5*time.Second, 10*time.Millisecond)
}

// A driver-API client whose image does not show a variable's size asks with size 0: the
// server answers its own size with the address (the sim's storage for an unknown size), and
// the same address for the same variable however it is asked.
func TestModuleVariableOfUnknownSizeIsSizedByTheServer(t *testing.T) {
	s := startServer(t, Options{})
	c := s.dial(t)
	defer c.close()
	st, out := c.op(wire.OpLoadModule, []byte("\x00zvar\x00"))
	require.Equal(t, shim.OK, st)
	le := binary.LittleEndian
	ask := func(size uint64) (shim.Status, []byte) {
		req := le.AppendUint64(nil, le.Uint64(out))
		req = le.AppendUint64(req, size)
		req = le.AppendUint32(req, uint32(len("zvar")))
		req = append(req, "zvar"...)
		return c.op(wire.OpGlobal, append(req, make([]byte, size)...))
	}
	st, first := ask(0)
	require.Equal(t, shim.OK, st)
	require.Len(t, first, 16, "address and size")
	assert.NotZero(t, le.Uint64(first))
	assert.Equal(t, uint64(64<<10), le.Uint64(first[8:]))
	st, again := ask(0)
	require.Equal(t, shim.OK, st)
	assert.Equal(t, first, again)
	st, sized := ask(64 << 10)
	require.Equal(t, shim.OK, st)
	assert.Equal(t, first[:8], sized, "asked with the size the server gave, the same variable")
	st, _ = ask(8)
	assert.Equal(t, shim.ErrInvalidValue, st, "another size for the same variable")
}
