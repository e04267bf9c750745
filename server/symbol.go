package server

import (
	"encoding/binary"
	"sync"

	"vgpu/cuda"
	"vgpu/cudart"
	"vgpu/shim"
)

// GlobalBackend is a code backend whose driver resolves a loaded module's variables
// (cuModuleGetGlobal): their device address and size.
type GlobalBackend interface {
	Global(mod uintptr, name string) (uintptr, uint64, shim.Status)
}

// simGlobals are the variables of modules on a backend that cannot resolve them: device
// memory of the model, one allocation per module and name, owned by the client.
// driverGlobals are the records of variables a GlobalBackend's driver resolved, which make
// them reachable by their client's copies until the module goes.
var (
	simGlobalsMu  sync.Mutex
	simGlobals    = map[*shippedModule]map[string]uintptr{}
	driverGlobals = map[*shippedModule]map[string]*shim.Alloc{}
)

// forgetGlobals drops m's variables from the record when m goes; the sim's memory belongs to
// the client and goes with it, or with an explicit free; a driver's goes with the module.
func forgetGlobals(m *shippedModule) {
	simGlobalsMu.Lock()
	delete(simGlobals, m)
	recs := driverGlobals[m]
	delete(driverGlobals, m)
	simGlobalsMu.Unlock()
	for _, a := range recs {
		shim.ForgetGlobal(a)
	}
}

// global answers OpGlobal: u64 module, u64 size, u32 name length, name, size initial bytes.
// Size 0 (a driver-API client whose image does not show the variable's size) asks for the
// server's size: the reply then carries it after the address.
func global(p []byte) []byte {
	le := binary.LittleEndian
	if len(p) < 20 {
		return reply(shim.ErrInvalidValue)
	}
	size, nlen := le.Uint64(p[8:]), uint64(le.Uint32(p[16:]))
	if nlen == 0 || nlen > 4096 || uint64(len(p)-20) < nlen || uint64(len(p)-20)-nlen != size {
		return reply(shim.ErrInvalidValue)
	}
	name, init := string(p[20:20+nlen]), p[20+nlen:]
	m, ok := shim.Lookup[*shippedModule](shim.KindModule, uintptr(le.Uint64(p)))
	if !ok {
		return reply(shim.ErrInvalidHandle)
	}
	if gb, ok := m.backend.(GlobalBackend); ok {
		addr, n, st := gb.Global(m.native, name)
		if st != shim.OK {
			return reply(st)
		}
		if size != 0 && n != size {
			return reply(shim.ErrInvalidValue)
		}
		d := shim.S().Device(0)
		if c := shim.CurrentContext(); c != nil {
			d = c.Dev
		}
		rec := shim.RecordGlobal(d, addr, n)
		simGlobalsMu.Lock()
		if driverGlobals[m] == nil {
			driverGlobals[m] = map[string]*shim.Alloc{}
		}
		driverGlobals[m][name] = rec
		simGlobalsMu.Unlock()
		if size == 0 {
			return le.AppendUint64(le.AppendUint64(reply(shim.OK), uint64(addr)), n)
		}
		return le.AppendUint64(reply(shim.OK), uint64(addr))
	}
	// The model's own variables live in host memory this server writes; a backend whose
	// device memory is not that (a real GPU) must resolve them itself.
	if _, sim := shim.S().Backend.(*shim.SimBackend); !sim {
		return reply(shim.ErrNotSupported)
	}
	simGlobalsMu.Lock()
	defer simGlobalsMu.Unlock()
	if a, ok := simGlobals[m][name]; ok {
		// Gone when its context was reset: allocated afresh below, as in-process.
		if x := shim.S().Mem.Exact(a, shim.MemDevice); x != nil {
			switch {
			case size == 0:
				return le.AppendUint64(le.AppendUint64(reply(shim.OK), uint64(a)), uint64(x.Size))
			case uint64(x.Size) == size:
				return le.AppendUint64(reply(shim.OK), uint64(a))
			}
			return reply(shim.ErrInvalidValue)
		}
	}
	asked := size
	if size == 0 {
		size = cuda.UnknownGlobalSize // the model's storage for a variable of unknown size
	}
	d := shim.S().Device(0)
	if d == nil {
		return reply(shim.ErrNoDevice)
	}
	a, st := shim.AllocDevice(d, size, shim.MemDevice)
	if st != shim.OK {
		return reply(st)
	}
	copy(shim.Bytes(a.Base, size), init)
	if simGlobals[m] == nil {
		simGlobals[m] = map[string]uintptr{}
	}
	simGlobals[m][name] = a.Base
	if asked == 0 {
		return le.AppendUint64(le.AppendUint64(reply(shim.OK), uint64(a.Base)), size)
	}
	return le.AppendUint64(reply(shim.OK), uint64(a.Base))
}

// poolAttr answers OpPoolAttr.
func poolAttr(p []byte) []byte {
	le := binary.LittleEndian
	out := func(e cudart.Error, v []byte) []byte {
		r := le.AppendUint32(nil, uint32(e))
		var pad [8]byte
		copy(pad[:], v)
		return append(r, pad[:]...)
	}
	if len(p) != 24 {
		return out(cudart.ErrorInvalidValue, nil)
	}
	pool, attr, set := uintptr(le.Uint64(p)), int32(le.Uint32(p[8:])), le.Uint32(p[12:]) != 0
	v := append([]byte(nil), p[16:24]...)
	return out(cudart.MemPoolAttr(pool, attr, v, set), v)
}
