package shim

// Backend executes what the model has validated: the sim backend does it in this process;
// the remote and local backends will do it on a real GPU. Addresses passed in have been
// checked against the MemTable.
type Backend interface {
	Name() string
	// DeviceAlloc returns the address of size bytes of device memory on d.
	DeviceAlloc(d *Device, size uint64) (uintptr, error)
	DeviceFree(a *Alloc) error
	// HostAlloc returns size bytes of pinned host memory.
	HostAlloc(size uint64) (uintptr, error)
	HostFree(a *Alloc) error
	// Copy and Set move bytes between validated ranges; kind (HostToDevice, ...) says
	// which side of a copy is device memory, which a real GPU needs to know.
	Copy(dst, src uintptr, n uint64, kind int32) Status
	Set(dst uintptr, value byte, n uint64) Status
	// Launch runs kernel k with its argument block.
	Launch(k *Kernel, lc LaunchConfig, args uintptr) Status
}

// SimBackend keeps device memory in host address space and runs no kernels.
type SimBackend struct{ state *State }

func newSimBackend(s *State) Backend { return &SimBackend{state: s} }

func (b *SimBackend) Name() string { return "sim" }

func (b *SimBackend) DeviceAlloc(d *Device, size uint64) (uintptr, error) {
	return MapAnon(roundUp(size, 2<<20), rw)
}

func (b *SimBackend) DeviceFree(a *Alloc) error { return Unmap(a.Base, roundUp(uint64(a.Size), 2<<20)) }

func (b *SimBackend) HostAlloc(size uint64) (uintptr, error) { return MapAnon(roundUp(size, 4096), rw) }

func (b *SimBackend) HostFree(a *Alloc) error { return Unmap(a.Base, roundUp(uint64(a.Size), 4096)) }

func (b *SimBackend) Copy(dst, src uintptr, n uint64, kind int32) Status {
	copy(Bytes(dst, n), Bytes(src, n))
	return OK
}

func (b *SimBackend) Set(dst uintptr, value byte, n uint64) Status {
	buf := Bytes(dst, n)
	for i := range buf {
		buf[i] = value
	}
	return OK
}

// Launch cannot run device code: it answers per VGPU_SIM_LAUNCH and says why, once.
func (b *SimBackend) Launch(k *Kernel, lc LaunchConfig, args uintptr) Status {
	if b.state.Config.SimLaunch == "noop" {
		return OK
	}
	WarnOnce("sim-launch", "the sim backend cannot execute kernels; launch returns 'operation not supported'. "+
		"Set VGPU_SIM_LAUNCH=noop to let programs run on for scheduling tests, or use a GPU backend",
		"kernel", k.Name)
	return ErrNotSupported
}

const rw = 0x1 | 0x2 // PROT_READ|PROT_WRITE

func roundUp(n, to uint64) uint64 {
	if n == 0 {
		return to
	}
	return (n + to - 1) / to * to
}
