package cudart

import (
	"unsafe"

	"vgpu/shim"
)

// Error codes the occupancy and cluster queries add (NVIDIA's cudaError_t numbers).
const ErrorInvalidClusterSize Error = 912

// portableClusterMax is the largest cluster a kernel gets without opting in to non-portable
// sizes (the CUDA programming guide's portable limit).
const portableClusterMax = 8

// blocksPerSM is the model's occupancy of k at blockSize threads and shared bytes of
// dynamic shared memory (OccupancyMaxActiveBlocksPerMultiprocessorWithFlags's figure).
func blocksPerSM(fn uintptr, blockSize int32, shared uint64) (int32, Error) {
	var n int32
	e := OccupancyMaxActiveBlocksPerMultiprocessorWithFlags(unsafe.Pointer(&n), fn, blockSize, shared, 0)
	return n, e
}

// OccupancyAvailableDynamicSMemPerBlock is cudaOccupancyAvailableDynamicSMemPerBlock: the
// most dynamic shared memory a block may use for numBlocks blocks of blockSize threads to
// be resident on one SM at once. The model: the SM's shared memory at the largest carveout
// split numBlocks ways, less each block's reservation and the kernel's static shared
// memory, and no more than a block may opt in to; 0 when the blocks do not fit for other
// reasons (threads, registers, the per-SM block limit).
func OccupancyAvailableDynamicSMemPerBlock(out unsafe.Pointer, fn uintptr, numBlocks, blockSize int32) Error {
	k, e := kernelAt(fn)
	if e != Success {
		return e
	}
	d, e := currentDevice()
	if e != Success {
		return e
	}
	if out == nil || numBlocks <= 0 || blockSize <= 0 {
		return ErrorInvalidValue
	}
	shim.PutU64(out, shim.AvailableDynamicSMem(k, d, numBlocks, blockSize))
	return Success
}

// clusterConfig reads the block size, dynamic shared memory and cluster dimension attribute
// of a cudaLaunchConfig_t; cluster is 0 when it names none.
func clusterConfig(cfg unsafe.Pointer) (block int32, shared uint64, cluster uint64, e Error) {
	if cfg == nil {
		return 0, 0, 0, ErrorInvalidValue
	}
	lc, e := LaunchConfigAt(cfg)
	if e != Success {
		return 0, 0, 0, e
	}
	b := uint64(lc.Block.X) * uint64(lc.Block.Y) * uint64(lc.Block.Z)
	if b == 0 || b > 1<<31 {
		return 0, 0, 0, ErrorInvalidValue
	}
	for _, at := range lc.Attrs {
		if at.ID == shim.LaunchAttrClusterDimension {
			x, y, z := uint64(shim.Le.Uint32(at.Value[0:])), uint64(shim.Le.Uint32(at.Value[4:])), uint64(shim.Le.Uint32(at.Value[8:]))
			cluster = x * y * z
			if cluster == 0 {
				return 0, 0, 0, ErrorInvalidClusterSize
			}
		}
	}
	return int32(b), lc.Shared, cluster, Success
}

// clusterDevice is the current device, if it launches clusters (compute capability 9.0 and
// later); older devices answer cudaErrorNotSupported, as their driver has no clusters.
func clusterDevice() (*shim.Device, Error) {
	d, e := currentDevice()
	if e != Success {
		return nil, e
	}
	if d.Attrs[shim.AttrComputeCapabilityMajor] < 9 {
		return nil, ErrorNotSupported
	}
	return d, Success
}

// OccupancyMaxPotentialClusterSize is cudaOccupancyMaxPotentialClusterSize: the portable
// limit (8) when at least one block of the configuration fits on an SM, else 0. The sim
// keeps no non-portable opt-in, so 16 is never answered.
func OccupancyMaxPotentialClusterSize(out unsafe.Pointer, fn uintptr, cfg unsafe.Pointer) Error {
	if _, e := kernelAt(fn); e != Success {
		return e
	}
	if _, e := clusterDevice(); e != Success {
		return e
	}
	if out == nil {
		return ErrorInvalidValue
	}
	block, shared, _, e := clusterConfig(cfg)
	if e != Success {
		return e
	}
	fit, e := blocksPerSM(fn, block, shared)
	if e != Success {
		return e
	}
	size := int32(portableClusterMax)
	if fit == 0 {
		size = 0
	}
	shim.PutI32(out, size)
	return Success
}

// OccupancyMaxActiveClusters is cudaOccupancyMaxActiveClusters: how many clusters of the
// configuration's cluster dimension (a launch attribute; required) can be resident at
// once. The model spreads blocks over all SMs; a real GPU places a cluster within one GPC,
// which can make its figure smaller.
func OccupancyMaxActiveClusters(out unsafe.Pointer, fn uintptr, cfg unsafe.Pointer) Error {
	if _, e := kernelAt(fn); e != Success {
		return e
	}
	d, e := clusterDevice()
	if e != Success {
		return e
	}
	if out == nil {
		return ErrorInvalidValue
	}
	block, shared, cluster, e := clusterConfig(cfg)
	if e != Success {
		return e
	}
	if cluster == 0 || cluster > portableClusterMax {
		return ErrorInvalidClusterSize
	}
	fit, e := blocksPerSM(fn, block, shared)
	if e != Success {
		return e
	}
	shim.PutI32(out, int32(uint64(fit)*uint64(d.Attrs[shim.AttrMultiprocessorCount])/cluster))
	return Success
}

// HostGetFlags is cudaHostGetFlags: the flags pinned memory from cudaHostAlloc (or
// cudaMallocHost: 0) was allocated with, for any address inside it. Memory registered with
// cudaHostRegister, or not pinned at all, is an invalid value, as the documentation says
// the pointer must come from cudaHostAlloc.
func HostGetFlags(out unsafe.Pointer, host uintptr) Error {
	if _, e := currentDevice(); e != Success {
		return e
	}
	a := shim.S().Mem.Find(host)
	if out == nil || a == nil || a.Kind != shim.MemHost {
		return ErrorInvalidValue
	}
	shim.PutU32(out, a.Flags)
	return Success
}
