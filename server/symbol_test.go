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

// realDriver stands for a backend whose device memory the server cannot touch (a real GPU):
// the sim's code paths, and, when resolve is set, a driver that resolves module variables.
type realDriver struct {
	*shim.SimBackend
	resolve bool
	addr    uintptr
}

type realDriverWithGlobals struct{ *realDriver }

func (r realDriverWithGlobals) Global(mod uintptr, name string) (uintptr, uint64, shim.Status) {
	if name != "counter" {
		return 0, 0, shim.ErrNotFound
	}
	return r.addr, 256, shim.OK
}

func withBackend(t *testing.T, b shim.Backend) {
	old := shim.S().Backend
	shim.S().Backend = b
	t.Cleanup(func() { shim.S().Backend = old })
}

func askGlobal(c *testClient, module []byte, name string, size uint64) (shim.Status, []byte) {
	le := binary.LittleEndian
	req := le.AppendUint64(nil, le.Uint64(module))
	req = le.AppendUint64(req, size)
	req = le.AppendUint32(req, uint32(len(name)))
	req = append(req, name...)
	return c.op(wire.OpGlobal, append(req, make([]byte, size)...))
}

func globalsOf(kind shim.MemKind) (n int) {
	for _, a := range shim.S().Mem.EveryOwner() {
		if a.Kind == kind {
			n++
		}
	}
	return n
}

// On a backend whose device memory is not this server's host memory, a variable the driver
// cannot resolve is refused: the model's fallback writes the initial bytes through a host
// pointer, which at a real device address faulted and ended the client's session (seen on
// the GPU machine with a default-built nvcc program under VGPU_BACKEND=local).
func TestModuleVariableOnARealDriverIsNeverWrittenThroughTheHost(t *testing.T) {
	withBackend(t, &realDriver{SimBackend: shim.S().Backend.(*shim.SimBackend)})
	s := startServer(t, Options{})
	c := s.dial(t)
	defer c.close()
	st, mod := c.op(wire.OpLoadModule, []byte("\x00counter\x00"))
	require.Equal(t, shim.OK, st)
	st, _ = askGlobal(c, mod, "counter", 4)
	assert.Equal(t, shim.ErrNotSupported, st)
}

// A driver that resolves module variables answers with its own address and size, and the
// variable becomes device memory of its client only: reachable by that client's copies,
// never freed by cudaFree, and forgotten when the client goes.
func TestModuleVariableResolvedByTheDriverBelongsToItsClient(t *testing.T) {
	sim := shim.S().Backend.(*shim.SimBackend)
	addr, err := shim.MapAnon(4096, 3)
	require.NoError(t, err)
	defer shim.Unmap(addr, 4096)
	withBackend(t, realDriverWithGlobals{&realDriver{SimBackend: sim, addr: addr}})
	before := globalsOf(shim.MemGlobal)
	s := startServer(t, Options{})
	c := s.dial(t)
	st, mod := c.op(wire.OpLoadModule, []byte("\x00counter\x00"))
	require.Equal(t, shim.OK, st)
	le := binary.LittleEndian

	st, out := askGlobal(c, mod, "counter", 0)
	require.Equal(t, shim.OK, st)
	require.Len(t, out, 16)
	assert.Equal(t, uint64(addr), le.Uint64(out), "the driver's address")
	assert.Equal(t, uint64(256), le.Uint64(out[8:]), "the driver's size")
	st, again := askGlobal(c, mod, "counter", 256)
	require.Equal(t, shim.OK, st)
	assert.Equal(t, out[:8], again)
	st, _ = askGlobal(c, mod, "counter", 8)
	assert.Equal(t, shim.ErrInvalidValue, st, "another size than the driver's")
	st, _ = askGlobal(c, mod, "missing", 4)
	assert.Equal(t, shim.ErrNotFound, st)
	assert.Equal(t, before+1, globalsOf(shim.MemGlobal), "one record, however often asked")

	var rec *shim.Alloc
	for _, a := range shim.S().Mem.EveryOwner() {
		if a.Kind == shim.MemGlobal && a.Base == addr {
			rec = a
		}
	}
	require.NotNil(t, rec)
	shim.AsClient(rec.Owner, func() {
		assert.NotNil(t, shim.S().Mem.Find(addr+100), "its client's copies reach it")
		assert.Equal(t, shim.ErrInvalidDevicePointer, shim.FreeDevice(addr), "cudaFree cannot free a variable")
	})
	shim.AsClient(rec.Owner+1000, func() { assert.Nil(t, shim.S().Mem.Find(addr), "another client does not see it") })

	c.close()
	assert.Eventually(t, func() bool { return globalsOf(shim.MemGlobal) == before }, 5*time.Second, 10*time.Millisecond)
}
