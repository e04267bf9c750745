package shim

// Semantics the runtime (cudart/) and the driver (cuda/) share: each API checks its own
// arguments and maps the status to its own codes; what the model does is here, once.

// The P2P attributes (CUdevice_P2PAttribute and cudaDeviceP2PAttr share their values).
const (
	P2PPerformanceRank    = 1
	P2PAccessSupported    = 2
	P2PNativeAtomics      = 3
	P2PCudaArrayAccess    = 4
	P2POnlyPartialAtomics = 5 // CUDA 13's partial native atomics
	p2pAttrLast           = P2POnlyPartialAtomics
)

// P2PAttribute is a P2P attribute between devices a and b. The virtual devices are peers
// as NVLink-connected GPUs of one board are: access, native atomics and array access
// between any two distinct ones, at the best performance rank (0). The same device on both
// sides is an invalid device, as NVIDIA documents.
func P2PAttribute(a, b *Device, attr int32) (int32, Status) {
	if attr < P2PPerformanceRank || attr > p2pAttrLast {
		return 0, ErrInvalidValue
	}
	if a == b {
		return 0, ErrInvalidDevice
	}
	if attr == P2PPerformanceRank || attr == P2POnlyPartialAtomics {
		return 0, OK
	}
	return 1, OK
}

// limitDefaults are the context limits (CUlimit and cudaLimit share their values: stack
// size, printf FIFO, malloc heap, runtime sync depth, pending launches, L2 fetch
// granularity, persisting L2 size) before a program sets them.
var limitDefaults = map[int32]uint64{0: 1024, 1: 1 << 20, 2: 8 << 20, 3: 2, 4: 2048, 5: 64, 6: 0}

// KnownLimit reports whether limit is one the model keeps.
func KnownLimit(limit int32) bool { _, ok := limitDefaults[limit]; return ok }

// LimitValue is limit's value in c: what the program set, else the default.
func (c *Context) LimitValue(limit int32) (uint64, bool) {
	v, ok := limitDefaults[limit]
	if !ok {
		return 0, false
	}
	if set, ok := c.Limit(limit); ok {
		v = set
	}
	return v, true
}

// Memset2D fills height rows of width elements of size bytes (1, 2 or 4), pitch bytes
// apart, with value. A row wider than the pitch is an invalid value; an empty rectangle
// succeeds; every row must lie in device memory, and none is written unless all do.
func Memset2D(s *Stream, p uintptr, pitch uint64, value uint32, size, width, height uint64) Status {
	if width == 0 || height == 0 {
		return OK
	}
	if width > maxSize/4 || (height > 1 && width*size > pitch) { // one row needs no pitch (NVIDIA's driver accepts it)
		return ErrInvalidValue
	}
	last, ok := MulAdd(pitch, height-1, width*size)
	if !ok || last > 1<<48 {
		return ErrInvalidValue
	}
	if _, st := DeviceRange(p, last); st != OK {
		return st
	}
	for r := uint64(0); r < height; r++ {
		var st Status
		if size == 1 {
			st = Memset(s, p+uintptr(r*pitch), byte(value), width)
		} else {
			st = MemsetWords(s, p+uintptr(r*pitch), value, size, width)
		}
		if st != OK {
			return st
		}
	}
	return OK
}

// MemsetNodeOps reads a memset node's parameters (cudaMemsetParams and
// CUDA_MEMSET_NODE_PARAMS share the layout): dst (0), pitch (8), value (16), elementSize
// (20), width (24, in elements), height (32); and records the fill as a graph node's work.
func MemsetNodeOps(d *Device, b []byte) ([]Node, Status) {
	dst, pitch := uintptr(Le.Uint64(b)), Le.Uint64(b[8:])
	value, size := Le.Uint32(b[16:]), uint64(Le.Uint32(b[20:]))
	width, height := Le.Uint64(b[24:]), Le.Uint64(b[32:])
	if size != 1 && size != 2 && size != 4 {
		return nil, ErrInvalidValue
	}
	if width == 0 || height == 0 || width > 1<<40 || height > 1<<32 {
		return nil, ErrInvalidValue
	}
	if height > 1 && width*size > pitch {
		return nil, ErrInvalidValue
	}
	if size == 1 {
		value &= 0xff
	} else if size == 2 {
		value = value&0xffff | value<<16
	}
	var ops []Node
	for r := uint64(0); r < height; r++ {
		row, n := dst+uintptr(r*pitch), size*width
		rec, st := Record(d, func(s *Stream) Status { return MemsetWords(s, row, value, size, width) })
		if st != OK {
			return nil, st
		}
		for i := range rec {
			if run := rec[i].Run; run != nil {
				// A pattern written from the host (the sim's multi-byte fill): checked again at
				// each replay, as copies and byte fills are, since the memory may be gone.
				rec[i].Run = func() Status {
					if _, st := DeviceRange(row, n); st != OK {
						return ErrInvalidValue
					}
					return run()
				}
			}
		}
		ops = append(ops, rec...)
	}
	return ops, OK
}

// BlocksPerSM is the model's occupancy: how many blocks of k, blockSize threads each and
// shared bytes of dynamic shared memory, fit on one SM of d at once (limited by the SM's
// blocks, threads, registers and shared memory); 0 when a block is larger than d allows.
func BlocksPerSM(k *Kernel, d *Device, blockSize int32, shared uint64) int32 {
	a := &d.Attrs
	if blockSize <= 0 || blockSize > a[AttrMaxThreadsPerBlock] {
		return 0
	}
	warps := (int64(blockSize) + 31) / 32
	blocks := int64(a[AttrMaxBlocksPerSM])
	blocks = min(blocks, int64(a[AttrMaxThreadsPerSM])/(warps*32))
	regs, _ := KernelAttribute(k, d, 4)
	blocks = min(blocks, int64(a[AttrMaxRegistersPerSM])/(warps*32*int64(regs)))
	if shared > 0 {
		per := int64(shared) + int64(a[AttrReservedSharedMemPerBlock])
		blocks = min(blocks, int64(a[AttrMaxSharedMemoryPerSM])/per)
	}
	return int32(max(blocks, 0))
}

// AvailableDynamicSMem is the most dynamic shared memory a block of k may use for
// numBlocks blocks of blockSize threads to be resident on one SM of d at once: the SM's
// shared memory split numBlocks ways, less each block's reservation and k's static shared
// memory, and no more than a block may opt in to; 0 when the blocks do not fit for other
// reasons.
func AvailableDynamicSMem(k *Kernel, d *Device, numBlocks, blockSize int32) uint64 {
	a := &d.Attrs
	static, _ := KernelAttribute(k, d, 1)
	avail := int64(0)
	if BlocksPerSM(k, d, blockSize, 0) >= numBlocks {
		avail = int64(a[AttrMaxSharedMemoryPerSM])/int64(numBlocks) - int64(a[AttrReservedSharedMemPerBlock]) - int64(static)
		avail = min(avail, int64(a[AttrMaxSharedMemPerBlockOptin])-int64(static))
	}
	return uint64(max(avail, 0))
}

// Cluster limits: the CUDA programming guide's portable cluster size, and the larger one a
// kernel gets on compute capability 9.0 after opting in to non-portable sizes.
const (
	PortableClusterMax    = 8
	NonPortableClusterMax = 16
)

// clusterLimit is the largest cluster k may be launched in on d: 0 where d has no clusters
// (before compute capability 9.0).
func clusterLimit(k *Kernel, d *Device) int32 {
	if d.Attrs[AttrComputeCapabilityMajor] < 9 {
		return 0
	}
	if k.NonPortableCluster {
		return NonPortableClusterMax
	}
	return PortableClusterMax
}

// clusterShape reads a launch configuration's threads per block and cluster size (the
// cluster dimension attribute's product; 0 when it names none). A block of no threads, or
// a cluster dimension with a zero, is refused.
func clusterShape(lc LaunchConfig) (block int32, cluster uint64, st Status) {
	b := uint64(lc.Block.X) * uint64(lc.Block.Y) * uint64(lc.Block.Z)
	if b == 0 || b > 1<<31-1 {
		return 0, 0, ErrInvalidValue
	}
	for _, at := range lc.Attrs {
		if at.ID == LaunchAttrClusterDimension {
			cluster = uint64(Le.Uint32(at.Value[0:])) * uint64(Le.Uint32(at.Value[4:])) * uint64(Le.Uint32(at.Value[8:]))
			if cluster == 0 {
				return 0, 0, ErrInvalidClusterSize
			}
		}
	}
	return int32(b), cluster, OK
}

// MaxPotentialClusterSize is cuOccupancyMaxPotentialClusterSize and the runtime's form: the
// largest cluster k may use on d (8, or 16 after the non-portable opt-in) when at least one
// block of the configuration fits on an SM, else 0. Devices without clusters answer not
// supported, as their driver does.
func MaxPotentialClusterSize(k *Kernel, d *Device, lc LaunchConfig) (int32, Status) {
	limit := clusterLimit(k, d)
	if limit == 0 {
		return 0, ErrNotSupported
	}
	block, _, st := clusterShape(lc)
	if st != OK {
		return 0, st
	}
	if BlocksPerSM(k, d, block, lc.Shared) == 0 {
		return 0, OK
	}
	return limit, OK
}

// MaxActiveClusters is cuOccupancyMaxActiveClusters and the runtime's form: how many
// clusters of the configuration's cluster dimension (a launch attribute; required, and no
// larger than MaxPotentialClusterSize's limit) can be resident at once. The model spreads
// blocks over all SMs; a real GPU places a cluster within one GPC, which can make its
// figure smaller.
func MaxActiveClusters(k *Kernel, d *Device, lc LaunchConfig) (int32, Status) {
	limit := clusterLimit(k, d)
	if limit == 0 {
		return 0, ErrNotSupported
	}
	block, cluster, st := clusterShape(lc)
	if st != OK {
		return 0, st
	}
	if cluster == 0 || cluster > uint64(limit) {
		return 0, ErrInvalidClusterSize
	}
	fit := BlocksPerSM(k, d, block, lc.Shared)
	return int32(uint64(fit) * uint64(d.Attrs[AttrMultiprocessorCount]) / cluster), OK
}
