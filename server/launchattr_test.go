package server

import (
	"encoding/binary"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"vgpu/shim"
	"vgpu/wire"
)

// attrMarker is a value no other test's launch carries, so that only this file's launches
// are counted by the sim backend's hook.
const attrMarker = 0x5eed_a77c

// seen collects the launch attributes the sim backend is handed that carry attrMarker.
type seen struct {
	mu    sync.Mutex
	calls [][]shim.LaunchAttr
}

func watchLaunches(t *testing.T) *seen {
	s := &seen{}
	shim.SetSimLaunchHook(func(lc shim.LaunchConfig) {
		for _, a := range lc.Attrs {
			if binary.LittleEndian.Uint32(a.Value[:]) == attrMarker || binary.LittleEndian.Uint32(a.Value[4:]) == attrMarker {
				s.mu.Lock()
				s.calls = append(s.calls, append([]shim.LaunchAttr(nil), lc.Attrs...))
				s.mu.Unlock()
				return
			}
		}
	})
	t.Cleanup(func() { shim.SetSimLaunchHook(nil) })
	return s
}

func (s *seen) take() [][]shim.LaunchAttr {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls
	s.calls = nil
	return c
}

// attr is one launch attribute whose value starts with the given 32-bit words.
func attr(id uint32, words ...uint32) shim.LaunchAttr {
	a := shim.LaunchAttr{ID: id}
	for i, w := range words {
		binary.LittleEndian.PutUint32(a.Value[4*i:], w)
	}
	return a
}

// kernelOnServer ships an image naming one kernel (the sim backend finds it by name) and
// returns the kernel's handle.
func kernelOnServer(t testing.TB, c *testClient) uint64 {
	st, out := c.op(wire.OpLoadModule, []byte("\x00attr_kernel\x00"))
	require.Equal(t, shim.OK, st)
	st, out = c.op(wire.OpFunction, append(out[:8:8], "attr_kernel"...))
	require.Equal(t, shim.OK, st)
	return binary.LittleEndian.Uint64(out)
}

// launchFrame is an OpLaunchAttrs request for a 1x1 launch of fn on stream, with count as
// the frame claims it and the attributes' bytes as given.
func launchFrame(fn, stream uint64, count uint32, attrs []byte) []byte {
	le := binary.LittleEndian
	b := le.AppendUint64(nil, fn)
	for range 6 {
		b = le.AppendUint32(b, 1)
	}
	b = le.AppendUint64(le.AppendUint64(b, 0), stream)
	return append(le.AppendUint32(b, count), attrs...)
}

// The attributes of cudaLaunchKernelExC reach the server's backend as the program set them,
// with the same outcome as the launch without them, and a captured launch keeps them for
// every replay of its graph.
func TestLaunchAttributesReachTheBackendAndSurviveGraphReplay(t *testing.T) {
	s := startServer(t, Options{})
	got := watchLaunches(t)
	c := s.dial(t)
	defer c.close()
	fn := kernelOnServer(t, c)
	pdl := attr(shim.LaunchAttrProgrammaticStreamSer, 1, attrMarker)
	prio := attr(shim.LaunchAttrPriority, attrMarker)

	plain, _ := c.op(wire.OpLaunch, launchFrame(fn, 0, 0, nil)[:wire.LaunchHeader])
	st, _ := c.op(wire.OpLaunchAttrs, launchFrame(fn, 0, 2, shim.AppendLaunchAttrs(nil, []shim.LaunchAttr{pdl, prio})))
	require.Equal(t, plain, st, "attributes do not change what the launch answers")
	require.Equal(t, [][]shim.LaunchAttr{{pdl, prio}}, got.take(), "the backend got both attributes, values intact")

	stream := c.create("cudaStreamCreate")
	r, _ := c.call("cudaStreamBeginCapture", wire.Value{U: stream}, wire.Value{U: 0})
	require.Zero(t, r)
	st, _ = c.op(wire.OpLaunchAttrs, launchFrame(fn, stream, 1, shim.AppendLaunchAttrs(nil, []shim.LaunchAttr{pdl})))
	require.Equal(t, shim.OK, st, "captured")
	r, outs := c.call("cudaStreamEndCapture", wire.Value{U: stream}, wire.Value{U: 1, B: make([]byte, 8)}) // [inout]: the graph, NULL on failure
	require.Zero(t, r)
	require.Empty(t, got.take(), "a captured launch does not run")
	r, outs = c.call("cudaGraphInstantiate", wire.Value{U: 1}, wire.Value{U: binary.LittleEndian.Uint64(outs[1])}, wire.Value{U: 0})
	require.Zero(t, r)
	exec := binary.LittleEndian.Uint64(outs[0])
	for range 2 {
		c.call("cudaGraphLaunch", wire.Value{U: exec}, wire.Value{U: stream})
	}
	c.call("cudaStreamSynchronize", wire.Value{U: stream})
	require.Equal(t, [][]shim.LaunchAttr{{pdl}, {pdl}}, got.take(), "each replay launches with the attribute")
}

// An attribute naming an event carries the client's handle: the server resolves it among
// the client's own events and never hands the number to the backend; another's is refused.
func TestLaunchAttributeEventsMustBeTheClientsOwn(t *testing.T) {
	s := startServer(t, Options{})
	got := watchLaunches(t)
	c, other := s.dial(t), s.dial(t)
	defer c.close()
	defer other.close()
	fn := kernelOnServer(t, c)
	ev := c.create("cudaEventCreate")
	foreign := other.create("cudaEventCreate")
	pdl := attr(shim.LaunchAttrProgrammaticStreamSer, 1, attrMarker)
	event := func(h uint64) shim.LaunchAttr {
		return attr(shim.LaunchAttrProgrammaticEvent, uint32(h), uint32(h>>32))
	}

	plain, _ := c.op(wire.OpLaunch, launchFrame(fn, 0, 0, nil)[:wire.LaunchHeader])
	st, _ := c.op(wire.OpLaunchAttrs, launchFrame(fn, 0, 2, shim.AppendLaunchAttrs(nil, []shim.LaunchAttr{pdl, event(ev)})))
	require.Equal(t, plain, st)
	require.Equal(t, [][]shim.LaunchAttr{{pdl}}, got.take(), "the event is the server's to record, not the driver's")
	for _, h := range []uint64{foreign, ev + 1, 0} {
		st, _ = c.op(wire.OpLaunchAttrs, launchFrame(fn, 0, 2, shim.AppendLaunchAttrs(nil, []shim.LaunchAttr{pdl, event(h)})))
		require.Equal(t, shim.ErrInvalidHandle, st, "event %#x", h)
	}
	require.Empty(t, got.take(), "a refused launch does not run")
}

// A malformed attribute block is refused before anything in it is used: counts past the
// bound or past the frame, unknown ids, and the device-updatable node vgpu does not model.
func TestMalformedLaunchAttributesAreRefused(t *testing.T) {
	s := startServer(t, Options{})
	got := watchLaunches(t)
	c := s.dial(t)
	defer c.close()
	fn := kernelOnServer(t, c)
	pdl := shim.AppendLaunchAttrs(nil, []shim.LaunchAttr{attr(shim.LaunchAttrProgrammaticStreamSer, 1, attrMarker)})
	many := shim.AppendLaunchAttrs(nil, make([]shim.LaunchAttr, shim.MaxLaunchAttrs+1))
	cases := []struct {
		name  string
		frame []byte
		want  shim.Status
	}{
		{"no count", launchFrame(fn, 0, 0, nil)[:wire.LaunchHeader+2], shim.ErrInvalidValue},
		{"a count of none", launchFrame(fn, 0, 0, nil), shim.ErrInvalidValue},
		{"more than the frame holds", launchFrame(fn, 0, 2, pdl), shim.ErrInvalidValue},
		{"a truncated attribute", launchFrame(fn, 0, 1, pdl[:40]), shim.ErrInvalidValue},
		{"a count that would wrap", launchFrame(fn, 0, 0xffffffff, pdl), shim.ErrInvalidValue},
		{"past the bound", launchFrame(fn, 0, shim.MaxLaunchAttrs+1, many), shim.ErrInvalidValue},
		{"an unknown id", launchFrame(fn, 0, 2, append(append([]byte(nil), pdl...), shim.AppendLaunchAttrs(nil, []shim.LaunchAttr{attr(99)})...)), shim.ErrInvalidValue},
		{"a device-updatable node", launchFrame(fn, 0, 2, append(append([]byte(nil), pdl...), shim.AppendLaunchAttrs(nil, []shim.LaunchAttr{attr(shim.LaunchAttrDeviceUpdatableNode)})...)), shim.ErrNotSupported},
	}
	for _, tc := range cases {
		st, _ := c.op(wire.OpLaunchAttrs, tc.frame)
		require.Equal(t, tc.want, st, tc.name)
	}
	require.Empty(t, got.take(), "no refused launch reached the backend")
	s.works(t)
}
