package local

import (
	"testing"

	"github.com/stretchr/testify/require"

	"vgpu/shim"
)

// These run without NVIDIA's driver: each refusal must come before any driver call.

func TestAnotherClientsModuleKernelAndGraphAreUnknownToTheBackend(t *testing.T) {
	b := &Backend{}
	const mod, fn, graph = uintptr(0x7f0000001000), uintptr(0x7f0000002000), uintptr(0x7f0000003000)
	shim.AsClient(1, func() {
		c := b.caller()
		c.addModule(mod, nil)
		c.addFunction(mod, fn, nil)
		c.addGraph(graph, nil)
	})
	shim.AsClient(2, func() {
		_, _, st := b.Function(mod, "steal")
		require.Equal(t, shim.ErrInvalidHandle, st, "a module loaded for client 1")
		require.Equal(t, shim.ErrInvalidDeviceFunction, b.LaunchPacked(fn, nil, shim.LaunchConfig{}, nil), "client 1's kernel")
		_, st = b.KernelAttributes(fn)
		require.Equal(t, shim.ErrInvalidDeviceFunction, st)
		_, st = b.Occupancy(fn, 128, 0, 0, 0)
		require.Equal(t, shim.ErrInvalidDeviceFunction, st)
		require.Equal(t, shim.ErrInvalidHandle, b.LaunchGraph(nil, graph), "client 1's graph")
		b.UnloadModule(mod) // not client 2's: nothing happens
		b.DestroyGraph(graph)
	})
	shim.AsClient(1, func() {
		c := b.caller()
		_, ok := c.module(mod)
		require.True(t, ok, "client 2's unload must not touch client 1's module")
		_, ok = c.function(fn)
		require.True(t, ok)
		_, ok = c.graph(graph, false)
		require.True(t, ok, "client 2's destroy must not touch client 1's graph")
	})
}

func TestUnloadingAModuleForgetsItsKernels(t *testing.T) {
	c := &client{modules: map[uintptr]*cctxT{}, fns: map[uintptr]*cctxT{}, modFns: map[uintptr][]uintptr{}}
	c.addModule(1, nil)
	c.addFunction(1, 10, nil)
	c.addFunction(1, 11, nil)
	_, ok := c.dropModule(1)
	require.True(t, ok)
	for _, f := range []uintptr{10, 11} {
		_, ok := c.function(f)
		require.False(t, ok, "kernel %d outlived its module", f)
	}
}

func TestFreeingMemoryOfAClientWhoseOwnContextIsGoneCallsNoDriver(t *testing.T) {
	// Its context was destroyed with everything in it.
	defer func(v bool) { clientContexts = v }(clientContexts)
	clientContexts = true
	b := &Backend{}
	require.NoError(t, b.DeviceFree(&shim.Alloc{Base: 0x1000, Size: 64, Owner: 7}))
}

func TestClientsShareThePrimaryContextUnlessAskedOtherwise(t *testing.T) {
	defer func(v bool) { clientContexts = v }(clientContexts)
	clientContexts = false
	require.True(t, usesPrimary(3), "contexts of one process do not separate tenants (docs/security-gpu.md)")
	clientContexts = true
	require.Equal(t, isPrivateServer, usesPrimary(3))
	require.True(t, usesPrimary(0), "work outside any client")
}

func TestOnlyTheInheritedSocketServerIsPrivate(t *testing.T) {
	require.True(t, privateServer([]string{"vgpu", "serve", "--fd", "3", "--backend", "local"}))
	require.True(t, privateServer([]string{"vgpu", "serve", "-fd=3"}))
	require.False(t, privateServer([]string{"vgpu", "serve", "--listen", "unix:///tmp/s", "--backend", "local"}))
	require.False(t, privateServer([]string{"--fd"}), "the program's name is no flag")
}

func TestAKernelFaultIsReportedAsALaunchFailureNotAsUnsupported(t *testing.T) {
	for _, r := range []int{700, 714, 715, 716, 719} { // illegal address, misaligned, illegal instruction, ...
		require.Equal(t, shim.ErrLaunchFailure, status(cInt(r)), "driver result %d", r)
	}
	require.Equal(t, shim.ErrInvalidContext, status(cInt(709)))
	require.Equal(t, shim.ErrOutOfMemory, status(cInt(2)))
	require.Equal(t, shim.OK, status(cInt(0)))
}
