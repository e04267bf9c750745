// Package dispatch chooses, once, the table every export calls through: the semantics
// (sim, or local with the real driver in this process) or the remote client's stubs
// (remote, and a program's local backend), wrapped by the tracing decorator when
// VGPU_TRACE is on. The choice is made at the first call of any export, not at load: the
// configuration is read then, as it always was, so a program may set its environment first.
package dispatch

import (
	"sync"
	"sync/atomic"

	"vgpu/remote"
	"vgpu/shim"
	"vgpu/table"
)

var (
	current atomic.Pointer[table.Set]
	once    sync.Once
	chosen  *table.Set
)

func init() { current.Store(table.Lazy(choose)) }

// T is the table in use. Before the first call it is one whose every entry chooses.
func T() *table.Set { return current.Load() }

func choose() *table.Set {
	once.Do(func() {
		chosen = Select(remote.On(), shim.Tracing())
		current.Store(chosen)
	})
	return chosen
}

// Select is the table for a backend: the remote client's or the semantics, traced or not.
func Select(remoteOn, tracing bool) *table.Set {
	t := &table.Semantics
	if remoteOn {
		t = &remote.Stubs
	}
	if tracing {
		t = table.Trace(t)
	}
	return t
}
