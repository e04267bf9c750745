package shim

import (
	"bytes"
	"encoding/binary"
	"slices"
	"sync"
	"unsafe"
)

// Dim3 is CUDA's dim3.
type Dim3 struct{ X, Y, Z uint32 }

// LaunchConfig is a kernel's execution configuration.
type LaunchConfig struct {
	Grid, Block Dim3
	Shared      uint64
	Stream      uintptr
	// Attrs are cudaLaunchKernelExC's launch attributes a backend applies (SplitLaunchAttrs);
	// a graph's kernel node keeps them for its replays.
	Attrs []LaunchAttr
}

// Module is a registered fat binary (runtime) or a loaded image (driver). vgpu keeps the
// image's address and size untouched so an execution backend can ship it as the program did.
type Module struct {
	Handle  uintptr
	Image   uintptr
	Size    uint64
	Kernels []*Kernel
	Vars    []Var
	image   []byte // a copy, where the image came over the wire
	mu      sync.Mutex
	// The kernels the image defines, read once (ImageKernels): a library's lookups by
	// name would otherwise decompress the image each time.
	namesOnce  sync.Once
	names      []string
	namesKnown bool
}

// DefinedKernels is ImageKernels of m's image, read at the first call.
func (m *Module) DefinedKernels() ([]string, bool) {
	m.namesOnce.Do(func() {
		switch {
		case m.image != nil:
			m.names, m.namesKnown = ImageKernels(m.image)
		case m.Image != 0 && m.Size != 0:
			m.names, m.namesKnown = ImageKernels(Bytes(m.Image, m.Size))
		}
	})
	return m.names, m.namesKnown
}

// AskKernel is set in a remote client: it asks the server's backend (whose driver, on a GPU
// host, loads the image) whether m defines kernel name. Defines asks it only about an image
// vgpu cannot read itself, where the backend's driver is the one that can answer.
var AskKernel func(m *Module, name string) (defined, answered bool)

// Defines reports whether m's image defines kernel name; an image that cannot be read is
// asked of the backend (AskKernel), else answers by its strings (imageNames), the best the
// model can do without a driver.
func (m *Module) Defines(name string) bool {
	if name == "" {
		return false
	}
	if names, known := m.DefinedKernels(); known {
		return slices.Contains(names, name)
	}
	if ask := AskKernel; ask != nil {
		if defined, answered := ask(m, name); answered {
			return defined
		}
	}
	switch {
	case m.image != nil:
		return imageNames(m.image, name)
	case m.Image != 0 && m.Size != 0:
		return imageNames(Bytes(m.Image, m.Size), name)
	}
	return false
}

// Kernel is one __global__ function.
type Kernel struct {
	Handle         uintptr
	HostFun        uintptr // the host stub's address, the runtime's key
	Name           string  // mangled device name
	Module         *Module
	MaxDynShared   int32 // cudaFuncAttributeMaxDynamicSharedMemorySize
	PreferredCarve int32
	// NonPortableCluster is CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED: the kernel
	// may be launched in clusters past the portable 8 blocks (cuBLAS 12 sets it).
	NonPortableCluster bool
	// A kernel a remote client shipped: the backend's function and its parameter layout.
	// Its launches carry their parameters packed (Node.ArgBlock).
	Native uintptr
	Params []ParamInfo
	// Legacy is the launch state cuFuncSetBlockShape and cuParamSet* keep for the
	// function in the calling process (cuda/legacylaunch.go).
	Legacy any
}

// Var is a registered __device__ variable.
type Var struct {
	HostVar uintptr
	Name    string
	Size    uint64
	Const   bool
}

// kernelsByHost maps host stubs to kernels. Stubs are addresses in a program's own process,
// registered there ({local} in functions.txt) and never by a server's client: a client's
// kernels are reached only through their handles, which resolve within that client.
var (
	kernelsMu     sync.RWMutex
	kernelsByHost = map[uintptr]*Kernel{}
)

// Fat binary wrapper and header magics (facts of the format nvcc emits).
const (
	fatbinWrapperMagic = 0x466243b1
	fatbinMagic        = 0xba55ed50
)

// RegisterFatBinary records the image behind an nvcc fat binary wrapper.
func RegisterFatBinary(wrapper uintptr) *Module {
	m := &Module{}
	if wrapper != 0 {
		w := Bytes(wrapper, 16)
		if binary.LittleEndian.Uint32(w) == fatbinWrapperMagic {
			data := uintptr(binary.LittleEndian.Uint64(Bytes(wrapper+8, 8)))
			m.Image = data
			if data != 0 {
				h := Bytes(data, 16)
				if binary.LittleEndian.Uint32(h) == fatbinMagic {
					m.Size = uint64(binary.LittleEndian.Uint16(h[6:])) + binary.LittleEndian.Uint64(h[8:])
				}
			}
		}
	}
	m.Handle = NewHandle(KindFatBinary, m)
	return m
}

// LoadImage records a driver-API module image (cubin, fatbin or PTX).
func LoadImage(image uintptr) *Module {
	m := &Module{Image: image, Size: imageSize(image)}
	m.Handle = NewHandle(KindModule, m)
	return m
}

// imageSize reads the size from an ELF or fatbin header, or the length of PTX text.
func imageSize(p uintptr) uint64 {
	h := Bytes(p, 64)
	switch {
	case bytes.Equal(h[:4], []byte("\x7fELF")):
		return elfSize(p, h)
	case binary.LittleEndian.Uint32(h) == fatbinMagic:
		return uint64(binary.LittleEndian.Uint16(h[6:])) + binary.LittleEndian.Uint64(h[8:])
	}
	var n uint64
	for *(*byte)(unsafe.Pointer(p + uintptr(n))) != 0 && n < 1<<30 {
		n++
	}
	return n
}

// elfSize is the extent of an ELF image: the furthest of its header tables, its sections'
// and its segments' bytes. nvcc's cubins put the program headers after the section headers,
// so the section header table alone does not reach the end.
func elfSize(p uintptr, h []byte) uint64 {
	le := binary.LittleEndian
	phoff, shoff := le.Uint64(h[0x20:]), le.Uint64(h[0x28:])
	phsize, phnum := uint64(le.Uint16(h[0x36:])), uint64(le.Uint16(h[0x38:]))
	shsize, shnum := uint64(le.Uint16(h[0x3a:])), uint64(le.Uint16(h[0x3c:]))
	end := max(uint64(64), shoff+shsize*shnum, phoff+phsize*phnum)
	for i := uint64(0); i < shnum && shsize >= 64; i++ {
		sh := Bytes(p+uintptr(shoff+i*shsize), 64)
		if le.Uint32(sh[4:]) != 8 { // SHT_NOBITS occupies no bytes of the image
			end = max(end, le.Uint64(sh[0x18:])+le.Uint64(sh[0x20:]))
		}
	}
	for i := uint64(0); i < phnum && phsize >= 56; i++ {
		ph := Bytes(p+uintptr(phoff+i*phsize), 56)
		end = max(end, le.Uint64(ph[8:])+le.Uint64(ph[0x20:]))
	}
	return end
}

// AddKernel registers a kernel of m under its host stub address (0 for driver modules).
func (m *Module) AddKernel(hostFun uintptr, name string) *Kernel {
	k := &Kernel{HostFun: hostFun, Name: name, Module: m}
	k.Handle = NewHandle(KindFunction, k)
	m.mu.Lock()
	m.Kernels = append(m.Kernels, k)
	m.mu.Unlock()
	if hostFun != 0 {
		kernelsMu.Lock()
		kernelsByHost[hostFun] = k
		kernelsMu.Unlock()
	}
	return k
}

// FindKernel finds a kernel of m by name, registering it on first use when the image
// defines it (Defines).
func (m *Module) FindKernel(name string) *Kernel {
	m.mu.Lock()
	for _, k := range m.Kernels {
		if k.Name == name {
			m.mu.Unlock()
			return k
		}
	}
	m.mu.Unlock()
	if !m.Defines(name) {
		return nil
	}
	return m.AddKernel(0, name)
}

// imageNames reports whether an image holds name as a NUL-terminated string, as a
// kernel's name stands in a cubin's or fat binary's string table.
func imageNames(image []byte, name string) bool {
	if name == "" {
		return false
	}
	if bytes.Contains(image, append([]byte(name), 0)) { // a cubin's or fat binary's string table
		return true
	}
	if fatbinCompressed(image) {
		// The names are inside compressed entries the model cannot read, so it cannot say
		// this one is absent: it takes the program's word, as it runs no kernel anyway.
		return true
	}
	for _, after := range []string{"(", " ", "\n", "\t"} { // PTX text: .entry NAME(
		if bytes.Contains(image, []byte(".entry "+name+after)) {
			return true
		}
	}
	return false
}

// Fat binary entry flags that mark a compressed payload: LZ4 (older nvcc) and zstd (nvcc's
// default from CUDA 12.8/13). Facts of the format, as cuobjdump reads it.
const (
	fatbinEntryLZ4  = 0x2000
	fatbinEntryZstd = 0x8000
)

// fatbinCompressed reports whether image is a fat binary with a compressed entry. The walk
// is bounded by the header's own size and each entry's, so a hostile image ends it.
func fatbinCompressed(image []byte) bool {
	le := binary.LittleEndian
	if len(image) < 16 || le.Uint32(image) != fatbinMagic {
		return false
	}
	end := uint64(le.Uint16(image[6:])) + le.Uint64(image[8:])
	if end > uint64(len(image)) || end < 16 {
		end = uint64(len(image))
	}
	for off := uint64(le.Uint16(image[6:])); off+64 <= end; {
		e := image[off:]
		hdr, payload := uint64(le.Uint32(e[4:])), le.Uint64(e[8:])
		if le.Uint64(e[0x28:])&(fatbinEntryLZ4|fatbinEntryZstd) != 0 {
			return true
		}
		if hdr < 64 || payload > end || hdr+payload > end-off {
			return false
		}
		off += hdr + payload
	}
	return false
}

// AddVar registers a device variable.
func (m *Module) AddVar(v Var) {
	m.mu.Lock()
	m.Vars = append(m.Vars, v)
	m.mu.Unlock()
}

// Unregister forgets m and its kernels.
func (m *Module) Unregister(kind Kind) {
	kernelsMu.Lock()
	for _, k := range m.Kernels {
		if k.HostFun != 0 && kernelsByHost[k.HostFun] == k {
			delete(kernelsByHost, k.HostFun)
		}
		Release(KindFunction, k.Handle)
	}
	kernelsMu.Unlock()
	Release(kind, m.Handle)
}

// Forget drops a kernel of m that its backend did not resolve (a name the client took that
// the server's driver does not define), with its handle.
func (m *Module) Forget(k *Kernel) {
	m.mu.Lock()
	m.Kernels = slices.DeleteFunc(m.Kernels, func(x *Kernel) bool { return x == k })
	m.mu.Unlock()
	kernelsMu.Lock()
	if k.HostFun != 0 && kernelsByHost[k.HostFun] == k {
		delete(kernelsByHost, k.HostFun)
	}
	kernelsMu.Unlock()
	Release(KindFunction, k.Handle)
}

// KernelByHost finds the kernel whose host stub is at hostFun, or, as CUDA 12's runtime
// takes wherever it takes a kernel's host function (cudaLaunchKernel, cudaFuncGetAttributes,
// ...), the kernel whose cudaKernel_t (a CUkernel: a function handle here) hostFun is.
func KernelByHost(hostFun uintptr) *Kernel {
	kernelsMu.RLock()
	k := kernelsByHost[hostFun]
	kernelsMu.RUnlock()
	if k == nil {
		k, _ = Lookup[*Kernel](KindFunction, hostFun)
	}
	return k
}

// CheckLaunch validates a configuration against device d's limits.
func CheckLaunch(d *Device, k *Kernel, lc LaunchConfig) Status {
	a := &d.Attrs
	b, g := lc.Block, lc.Grid
	if b.X == 0 || b.Y == 0 || b.Z == 0 || g.X == 0 || g.Y == 0 || g.Z == 0 {
		return ErrInvalidConfiguration
	}
	if int64(b.X) > int64(a[AttrMaxBlockDimX]) || int64(b.Y) > int64(a[AttrMaxBlockDimX+1]) ||
		int64(b.Z) > int64(a[AttrMaxBlockDimX+2]) || uint64(b.X)*uint64(b.Y)*uint64(b.Z) > uint64(a[AttrMaxThreadsPerBlock]) {
		return ErrInvalidConfiguration
	}
	if int64(g.X) > int64(a[AttrMaxGridDimX]) || int64(g.Y) > int64(a[AttrMaxGridDimX+1]) || int64(g.Z) > int64(a[AttrMaxGridDimX+2]) {
		return ErrInvalidConfiguration
	}
	limit := uint64(a[AttrMaxSharedMemoryPerBlock])
	if k != nil && k.MaxDynShared > 0 {
		limit = uint64(k.MaxDynShared)
	}
	if lc.Shared > limit {
		return ErrInvalidValue
	}
	if lc.Cooperative() {
		// Every block of a cooperative grid must be resident at once: no more than the
		// occupancy the model answers, on every SM (NVIDIA's cudaErrorCooperativeLaunchTooLarge).
		if a[AttrCooperativeLaunch] == 0 {
			return ErrNotSupported
		}
		per := BlocksPerSM(k, d, int32(uint64(b.X)*uint64(b.Y)*uint64(b.Z)), lc.Shared)
		if uint64(g.X)*uint64(g.Y)*uint64(g.Z) > uint64(per)*uint64(max(a[AttrMultiprocessorCount], 0)) {
			return ErrCooperativeTooLarge
		}
	}
	return OK
}

// KernelAttribute answers cuFuncGetAttribute / cudaFuncGetAttributes for k on d. The sim
// backend has not compiled k, so the figures are the device's limits and a typical kernel's.
func KernelAttribute(k *Kernel, d *Device, attr int32) (int32, bool) {
	if d == nil {
		return 0, false
	}
	cc := int32(d.Profile.CC[0]*10 + d.Profile.CC[1])
	switch attr {
	case 0: // MAX_THREADS_PER_BLOCK
		return d.Attrs[AttrMaxThreadsPerBlock], true
	case 1, 2, 3: // SHARED, CONST, LOCAL size bytes
		return 0, true
	case 4: // NUM_REGS
		return 32, true
	case 5, 6: // PTX_VERSION, BINARY_VERSION
		return cc, true
	case 7: // CACHE_MODE_CA
		return 0, true
	case 8: // MAX_DYNAMIC_SHARED_SIZE_BYTES
		if k.MaxDynShared > 0 {
			return k.MaxDynShared, true
		}
		return d.Attrs[AttrMaxSharedMemoryPerBlock], true
	case 9: // PREFERRED_SHARED_MEMORY_CARVEOUT
		return k.PreferredCarve, true
	case KernelAttrNonPortableCluster:
		if k.NonPortableCluster {
			return 1, true
		}
		return 0, true
	case 10, 11, 12, 13, 15:
		return 0, true
	}
	return 0, false
}

// Kernel attributes a program may set (CUfunction_attribute / cudaFuncAttribute values).
const (
	KernelAttrMaxDynShared   = 8
	KernelAttrPreferredCarve = 9
	// KernelAttrNonPortableCluster is the opt-in to clusters past the portable size.
	KernelAttrNonPortableCluster = 14
	kernelAttrLast               = 15
)

// SetKernelAttribute is cuFuncSetAttribute / cudaFuncSetAttribute on k for device d: the
// dynamic shared memory ceiling (up to the device's opt-in limit), the carveout and the
// non-portable cluster opt-in (non-zero: it raises the cluster queries' limit) are kept;
// the other settable attributes (cluster shape, scheduling) are accepted and change nothing
// the model checks; the read-only ones are refused.
func SetKernelAttribute(k *Kernel, d *Device, attr, value int32) Status {
	switch attr {
	case KernelAttrMaxDynShared:
		if value < 0 || value > d.Attrs[AttrMaxSharedMemPerBlockOptin] {
			return ErrInvalidValue
		}
		k.MaxDynShared = value
	case KernelAttrPreferredCarve:
		if value < -1 || value > 100 {
			return ErrInvalidValue
		}
		k.PreferredCarve = value
	case KernelAttrNonPortableCluster:
		k.NonPortableCluster = value != 0
	default:
		if attr < KernelAttrMaxDynShared || attr > kernelAttrLast {
			return ErrInvalidValue
		}
	}
	return OK
}

// KernelList is a copy of m's kernels, in the order they were resolved.
func (m *Module) KernelList() []*Kernel {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*Kernel(nil), m.Kernels...)
}
