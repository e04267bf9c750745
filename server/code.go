package server

import (
	"encoding/binary"

	"vgpu/remote"
	"vgpu/shim"
)

// shippedModule and shippedKernel are a client's device code on this server, under
// handles the client owns (so no other client can launch them).
type shippedModule struct{ native uintptr }

type shippedKernel struct {
	native uintptr
	params []shim.ParamInfo
}

// code loads shipped images, resolves kernels and launches them.
func code(op uint32, p []byte) []byte {
	st := func(s shim.Status) []byte { return []byte{byte(s)} }
	cb, ok := shim.S().Backend.(shim.CodeBackend)
	if !ok {
		return st(shim.ErrNotSupported)
	}
	le := binary.LittleEndian
	switch op {
	case remote.OpLoadModule:
		native, s := cb.LoadModule(p)
		if s != shim.OK {
			return st(s)
		}
		stats.bytesIn.Add(uint64(len(p)))
		return le.AppendUint64(st(shim.OK), uint64(shim.NewHandle(shim.KindModule, &shippedModule{native})))
	case remote.OpFunction:
		if len(p) < 9 {
			return st(shim.ErrInvalidValue)
		}
		m, ok := shim.Lookup[*shippedModule](shim.KindModule, uintptr(le.Uint64(p)))
		if !ok {
			return st(shim.ErrInvalidHandle)
		}
		native, params, s := cb.Function(m.native, string(p[8:]))
		if s != shim.OK {
			return st(s)
		}
		out := le.AppendUint64(st(shim.OK), uint64(shim.NewHandle(shim.KindFunction, &shippedKernel{native, params})))
		out = le.AppendUint32(out, uint32(len(params)))
		for _, q := range params {
			out = le.AppendUint32(le.AppendUint32(out, q.Offset), q.Size)
		}
		return out
	case remote.OpLaunch:
		if len(p) < remote.LaunchHeader {
			return st(shim.ErrInvalidValue)
		}
		k, ok := shim.Lookup[*shippedKernel](shim.KindFunction, uintptr(le.Uint64(p)))
		if !ok {
			return st(shim.ErrInvalidDeviceFunction)
		}
		u := func(i int) uint32 { return le.Uint32(p[8+4*i:]) }
		lc := shim.LaunchConfig{
			Grid: shim.Dim3{X: u(0), Y: u(1), Z: u(2)}, Block: shim.Dim3{X: u(3), Y: u(4), Z: u(5)},
			Shared: le.Uint64(p[32:]), Stream: uintptr(le.Uint64(p[40:])),
		}
		// The client checked dynamic shared memory against the limit its program raised.
		if s := shim.CheckLaunch(shim.S().Device(0), nil, shim.LaunchConfig{Grid: lc.Grid, Block: lc.Block}); s != shim.OK {
			return st(s)
		}
		stats.launches.Add(1)
		return st(cb.LaunchPacked(k.native, k.params, lc, p[remote.LaunchHeader:]))
	}
	return st(shim.ErrNotSupported)
}
