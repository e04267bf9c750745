package server

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"vgpu/shim/api"
)

// A server never opens a path a client names (SECURITY.md): every function whose string
// argument is a file name (cuModuleLoad, cuLibraryLoadFromFile, cudaGraphDebugDotPrint, ...)
// is answered in the client's process, so none of them may be dispatched here. A row added
// later without {local} or a client-side {manual} form fails this test.
func TestNoDispatchedFunctionTakesAPath(t *testing.T) {
	pathy := regexp.MustCompile(`(?i)path|file|fname|dir`)
	seen := 0
	for i := range api.Functions {
		f := &api.Functions[i]
		for _, a := range f.Args {
			if a.Dir != "cstr" || !pathy.MatchString(a.Name) {
				continue
			}
			seen++
			_, dispatched := dispatch[uint32(f.Op)]
			assert.False(t, dispatched, "%s (op %d) takes a path (%s) and is dispatched on the server", f.Name, f.Op, a.Name)
		}
	}
	assert.GreaterOrEqual(t, seen, 3, "cuModuleLoad, cuLibraryLoadFromFile and cudaGraphDebugDotPrint name files")
}

// Nor does it call a function a client names: host functions and stream callbacks
// (cudaLaunchHostFunc, cudaStreamAddCallback, host graph nodes) run in the client's process.
// A client's address called on the server would be arbitrary code in the server.
func TestNoDispatchedFunctionTakesAHostFunction(t *testing.T) {
	callback := regexp.MustCompile(`^(fn|callback|pfn|func|userFn|hostFn)$`)
	seen := 0
	for i := range api.Functions {
		f := &api.Functions[i]
		for _, a := range f.Args {
			if !callback.MatchString(a.Name) && !strings.Contains(a.CType, "Callback") && !strings.Contains(a.CType, "HostFn") && !strings.Contains(a.CType, "HostNodeParams") {
				continue
			}
			seen++
			_, dispatched := dispatch[uint32(f.Op)]
			assert.False(t, dispatched, "%s (op %d) takes a host function (%s %s) and is dispatched on the server", f.Name, f.Op, a.CType, a.Name)
		}
	}
	assert.GreaterOrEqual(t, seen, 4, "cudaLaunchHostFunc, cudaStreamAddCallback and their driver forms")
}
