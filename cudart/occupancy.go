package cudart

import (
	"unsafe"

	"vgpu/shim"
)

// Error codes the occupancy and cluster queries add (NVIDIA's cudaError_t numbers).
const ErrorInvalidClusterSize Error = 912

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

// clusterQuery resolves a cluster query's kernel, current device and cudaLaunchConfig_t.
func clusterQuery(out unsafe.Pointer, fn uintptr, cfg unsafe.Pointer) (*shim.Kernel, *shim.Device, shim.LaunchConfig, Error) {
	k, e := kernelAt(fn)
	if e != Success {
		return nil, nil, shim.LaunchConfig{}, e
	}
	d, e := currentDevice()
	if e != Success {
		return nil, nil, shim.LaunchConfig{}, e
	}
	if out == nil || cfg == nil {
		return nil, nil, shim.LaunchConfig{}, ErrorInvalidValue
	}
	lc, e := LaunchConfigAt(cfg)
	return k, d, lc, e
}

// OccupancyMaxPotentialClusterSize is cudaOccupancyMaxPotentialClusterSize: the driver's
// figure (shim.MaxPotentialClusterSize): 8, or 16 after the kernel's non-portable opt-in,
// when a block of the configuration fits on an SM, else 0.
func OccupancyMaxPotentialClusterSize(out unsafe.Pointer, fn uintptr, cfg unsafe.Pointer) Error {
	k, d, lc, e := clusterQuery(out, fn, cfg)
	if e != Success {
		return e
	}
	n, st := shim.MaxPotentialClusterSize(k, d, lc)
	if st != shim.OK {
		return From(st)
	}
	shim.PutI32(out, n)
	return Success
}

// OccupancyMaxActiveClusters is cudaOccupancyMaxActiveClusters: how many clusters of the
// configuration's cluster dimension (a launch attribute; required) can be resident at
// once (shim.MaxActiveClusters).
func OccupancyMaxActiveClusters(out unsafe.Pointer, fn uintptr, cfg unsafe.Pointer) Error {
	k, d, lc, e := clusterQuery(out, fn, cfg)
	if e != Success {
		return e
	}
	n, st := shim.MaxActiveClusters(k, d, lc)
	if st != shim.OK {
		return From(st)
	}
	shim.PutI32(out, n)
	return Success
}

// HostGetFlags is cudaHostGetFlags: the flags pinned memory from cudaHostAlloc or
// cudaHostRegister was made with, for any address inside it, as NVIDIA's runtime reports them
// (shim.HostFlags: mapped too, as unified addressing maps all pinned memory). Memory that is
// not pinned is an invalid value.
func HostGetFlags(out unsafe.Pointer, host uintptr) Error {
	if _, e := currentDevice(); e != Success {
		return e
	}
	a := shim.S().Mem.Find(host)
	if out == nil || a == nil || (a.Kind != shim.MemHost && a.Kind != shim.MemRegistered) {
		return ErrorInvalidValue
	}
	shim.PutU32(out, shim.HostFlags(a))
	return Success
}
