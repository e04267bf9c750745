package remote

import (
	"encoding/binary"
	"sync"
	"unsafe"

	"vgpu/cudart"
	"vgpu/shim"
)

// A launch with attributes (cudaLaunchKernelExC) is a wire.OpLaunchAttrs; one with none stays
// a wire.OpLaunch.

// remoteKernel is a kernel as the server knows it: its handle and parameter layout.
type remoteKernel struct {
	handle uint64
	params []shim.ParamInfo
	size   int // bytes of the packed argument block
}

var (
	codeMu  sync.Mutex
	modules = map[*shim.Module]uint64{}
	// The kernels shipped, *shim.Kernel -> *remoteKernel: read without codeMu by every
	// launch, written under it once per kernel.
	kernels sync.Map
)

// shipped returns k's server-side form, shipping its module's image on first use (a
// program's fat binaries are registered at load, most of them never launched).
func shipped(k *shim.Kernel) (*remoteKernel, shim.Status) {
	if rk, ok := kernels.Load(k); ok {
		return rk.(*remoteKernel), shim.OK
	}
	codeMu.Lock()
	defer codeMu.Unlock()
	if rk, ok := kernels.Load(k); ok {
		return rk.(*remoteKernel), shim.OK
	}
	mh, st := shipModuleLocked(k.Module)
	if st != shim.OK {
		return nil, st
	}
	resp, err := roundTrip(OpFunction, append(binary.LittleEndian.AppendUint64(nil, mh), k.Name...))
	if err != nil {
		return nil, shim.ErrNotSupported
	}
	if st := status(resp); st != shim.OK {
		return nil, st
	}
	if len(resp) < 13 {
		return nil, shim.ErrInvalidValue
	}
	n := int(binary.LittleEndian.Uint32(resp[9:]))
	if len(resp) != 13+8*n {
		return nil, shim.ErrInvalidValue
	}
	rk := &remoteKernel{handle: binary.LittleEndian.Uint64(resp[1:])}
	for i := 0; i < n; i++ {
		q := shim.ParamInfo{Offset: binary.LittleEndian.Uint32(resp[13+8*i:]), Size: binary.LittleEndian.Uint32(resp[17+8*i:])}
		rk.params = append(rk.params, q)
		rk.size = max(rk.size, int(q.Offset+q.Size))
	}
	kernels.Store(k, rk)
	return rk, shim.OK
}

// askKernel asks the server's backend whether m defines kernel name (shim.AskKernel), shipping
// m's image as its first launch would: its driver's lookup is the answer.
func askKernel(m *shim.Module, name string) (defined, answered bool) {
	codeMu.Lock()
	mh, st := shipModuleLocked(m)
	codeMu.Unlock()
	if st != shim.OK {
		return false, false
	}
	resp, err := roundTrip(OpFunction, append(binary.LittleEndian.AppendUint64(nil, mh), name...))
	if err != nil {
		return false, false
	}
	switch status(resp) {
	case shim.OK:
		return true, true
	case shim.ErrNotFound, shim.ErrInvalidDeviceFunction:
		return false, true
	}
	return false, false
}

// shipModule ships m's image to the server unless it is there already.
func shipModule(m *shim.Module) shim.Status {
	codeMu.Lock()
	defer codeMu.Unlock()
	_, st := shipModuleLocked(m)
	return st
}

// shipModuleLocked returns m's handle on the server, shipping its image on first use.
func shipModuleLocked(m *shim.Module) (uint64, shim.Status) {
	if m == nil || m.Image == 0 || m.Size == 0 {
		return 0, shim.ErrInvalidDeviceFunction
	}
	if mh, ok := modules[m]; ok {
		return mh, shim.OK
	}
	mh, st := handleReply(roundTrip(OpLoadModule, shim.Bytes(m.Image, m.Size)))
	if st == shim.OK {
		modules[m] = mh
	}
	return mh, st
}

// handleReply reads a reply that is a status and, on success, one u64 (a handle or an
// address); a connection that failed answers "not supported", as every remote call does.
func handleReply(resp []byte, err error) (uint64, shim.Status) {
	if err != nil {
		return 0, shim.ErrNotSupported
	}
	if st := status(resp); st != shim.OK {
		return 0, st
	}
	if len(resp) != 9 {
		return 0, shim.ErrInvalidValue
	}
	return binary.LittleEndian.Uint64(resp[1:]), shim.OK
}

// launch packs each parameter by value at its offset and posts the launch: it is pipelined
// like an async copy, and a failure surfaces at the next synchronising call.
func launch(k *shim.Kernel, lc shim.LaunchConfig, args uintptr) shim.Status {
	return launchWith(k, lc, args, nil)
}

// launchWith packs the parameters from the program's slots (args), or takes them already
// packed (cuLaunchKernel's `extra` buffer), and posts the launch.
func launchWith(k *shim.Kernel, lc shim.LaunchConfig, args uintptr, packed []byte) shim.Status {
	d := shim.S().Device(0)
	if d == nil {
		return shim.ErrNoDevice
	}
	if st := shim.CheckLaunch(d, k, lc); st != shim.OK {
		return st
	}
	rk, st := shipped(k)
	if st != shim.OK {
		return st
	}
	if st := coResident(k, d, lc); st != shim.OK {
		return st
	}
	if len(rk.params) > 0 && args == 0 && packed == nil {
		return shim.ErrInvalidValue
	}
	// As NVIDIA's driver does, an `extra` buffer longer than the parameters is too many
	// arguments, and a shorter one is taken, the rest of the block zero.
	if len(packed) > rk.size {
		return shim.ErrLaunchOutOfResources
	}
	if st := shim.CheckLaunchAttrIDs(lc.Attrs); st != shim.OK {
		return st
	}
	le := binary.LittleEndian
	op, at := uint32(OpLaunch), LaunchHeader
	if len(lc.Attrs) > 0 {
		op, at = OpLaunchAttrs, LaunchAttrsAt(len(lc.Attrs))
	}
	req := make([]byte, at+rk.size)
	le.PutUint64(req, rk.handle)
	for i, v := range []uint32{lc.Grid.X, lc.Grid.Y, lc.Grid.Z, lc.Block.X, lc.Block.Y, lc.Block.Z} {
		le.PutUint32(req[8+4*i:], v)
	}
	le.PutUint64(req[32:], lc.Shared)
	le.PutUint64(req[40:], uint64(perThread(lc.Stream)))
	if op == OpLaunchAttrs {
		le.PutUint32(req[LaunchHeader:], uint32(len(lc.Attrs)))
		shim.AppendLaunchAttrs(req[:LaunchHeader+4], lc.Attrs)
	}
	if packed != nil {
		copy(req[at:], packed)
	} else {
		slots := unsafe.Slice((*uintptr)(unsafe.Pointer(args)), len(rk.params))
		for i, q := range rk.params {
			copy(req[at+int(q.Offset):], shim.Bytes(slots[i], uint64(q.Size)))
		}
	}
	if postOn(le.Uint64(req[40:]), op, req) != nil {
		return shim.ErrNotSupported
	}
	return shim.OK
}

// LaunchCooperative is cudaLaunchCooperativeKernel over the connection: the launch carries
// the cooperative attribute, so the server's backend launches it cooperatively.
func LaunchCooperative(fn uintptr, grid, block shim.Dim3, args uintptr, shared uint64, stream uintptr) int32 {
	k := shim.KernelByHost(fn)
	if k == nil {
		return int32(cudart.ErrorInvalidDeviceFunction)
	}
	lc := shim.LaunchConfig{Grid: grid, Block: block, Shared: shared, Stream: stream}
	return int32(cudart.From(launch(k, lc.WithCooperative(), args)))
}

// LaunchKernel is cudaLaunchKernel over the connection.
func LaunchKernel(fn uintptr, grid, block shim.Dim3, args uintptr, shared uint64, stream uintptr) int32 {
	k := shim.KernelByHost(fn)
	if k == nil {
		return int32(cudart.ErrorInvalidDeviceFunction)
	}
	return int32(cudart.From(launch(k, shim.LaunchConfig{Grid: grid, Block: block, Shared: shared, Stream: stream}, args)))
}

// LaunchKernelHandle is __cudaLaunchKernel (CUDA 13 stubs) over the connection.
func LaunchKernelHandle(h uintptr, grid, block shim.Dim3, args uintptr, shared uint64, stream uintptr) int32 {
	k, ok := shim.Lookup[*shim.Kernel](shim.KindFunction, h)
	if !ok {
		return int32(cudart.ErrorInvalidDeviceFunction)
	}
	return int32(cudart.HandleLaunchError(cudart.From(launch(k, shim.LaunchConfig{Grid: grid, Block: block, Shared: shared, Stream: stream}, args))))
}

// LaunchKernelExC is cudaLaunchKernelExC over the connection.
func LaunchKernelExC(cfg unsafe.Pointer, fn uintptr, args uintptr) int32 {
	if cfg == nil {
		return int32(cudart.ErrorInvalidValue)
	}
	k := shim.KernelByHost(fn)
	if k == nil {
		return int32(cudart.ErrorInvalidDeviceFunction)
	}
	lc, e := cudart.LaunchConfigAt(cfg)
	if e != cudart.Success {
		return int32(e)
	}
	return int32(cudart.From(launch(k, lc, args)))
}

// coResident refuses a cooperative grid larger than the server's GPU holds at once, at the
// call as NVIDIA's driver does (the model's occupancy, checked already, is an upper bound: a
// kernel with more registers fits fewer blocks). The server's occupancy for the kernel's
// block is asked once and kept; a backend that has none leaves the model's answer.
func coResident(k *shim.Kernel, d *shim.Device, lc shim.LaunchConfig) shim.Status {
	if !lc.Cooperative() {
		return shim.OK
	}
	threads := uint64(lc.Block.X) * uint64(lc.Block.Y) * uint64(lc.Block.Z)
	v, e := query(k, 1, int32(threads), lc.Shared, 0)
	if e != cudart.Success || len(v) != 1 {
		return shim.OK
	}
	blocks := uint64(lc.Grid.X) * uint64(lc.Grid.Y) * uint64(lc.Grid.Z)
	if blocks > uint64(max(v[0], 0))*uint64(max(d.Attrs[shim.AttrMultiprocessorCount], 0)) {
		return shim.ErrCooperativeTooLarge
	}
	return shim.OK
}
