package cuda

/*
#include <stddef.h>
// A program's CUoccupancyB2DSize: the dynamic shared memory a block size needs.
static size_t vgpu_b2d(void *f, int blockSize) { return ((size_t (*)(int))f)(blockSize); }
*/
import "C"

import (
	"unsafe"

	"vgpu/shim"
)

// Occupancy and launches with a configuration: the runtime's model (shim.BlocksPerSM) for a
// CUfunction, with the driver's argument forms.

func occupancyKernel(f uintptr) (*shim.Kernel, *shim.Device, Result) {
	k, r := kernelOf(f)
	if r != Success {
		return nil, nil, r
	}
	d, r := codeDevice()
	if r != Success {
		return nil, nil, r
	}
	return k, d, Success
}

// OccupancyMaxActiveBlocksCU is cuOccupancyMaxActiveBlocksPerMultiprocessor.
func OccupancyMaxActiveBlocksCU(n unsafe.Pointer, f uintptr, blockSize int32, shared uint64) Result {
	return OccupancyMaxActiveBlocksWithFlagsCU(n, f, blockSize, shared, 0)
}

// OccupancyMaxActiveBlocksWithFlagsCU is the form with flags
// (CU_OCCUPANCY_DISABLE_CACHING_OVERRIDE is 1).
func OccupancyMaxActiveBlocksWithFlagsCU(n unsafe.Pointer, f uintptr, blockSize int32, shared uint64, flags uint32) Result {
	k, d, r := occupancyKernel(f)
	if r != Success {
		return r
	}
	if n == nil || blockSize <= 0 || flags > 1 {
		return ErrorInvalidValue
	}
	shim.PutI32(n, shim.BlocksPerSM(k, d, blockSize, shared))
	return Success
}

// OccupancyAvailableDynamicSMemPerBlock is cuOccupancyAvailableDynamicSMemPerBlock.
func OccupancyAvailableDynamicSMemPerBlock(out unsafe.Pointer, f uintptr, numBlocks, blockSize int32) Result {
	k, d, r := occupancyKernel(f)
	if r != Success {
		return r
	}
	if out == nil || numBlocks <= 0 || blockSize <= 0 {
		return ErrorInvalidValue
	}
	shim.PutU64(out, shim.AvailableDynamicSMem(k, d, numBlocks, blockSize))
	return Success
}

// OccupancyMaxPotentialBlockSize is cuOccupancyMaxPotentialBlockSize.
func OccupancyMaxPotentialBlockSize(minGrid, block unsafe.Pointer, f uintptr, b2d uintptr, shared uint64, limit int32) Result {
	return OccupancyMaxPotentialBlockSizeWithFlags(minGrid, block, f, b2d, shared, limit, 0)
}

// OccupancyMaxPotentialBlockSizeWithFlags is cuOccupancyMaxPotentialBlockSizeWithFlags: the
// block size (a multiple of the warp, up to limit when given) that keeps the most threads
// resident per SM, the larger block on a tie, and the grid that fills the device with it.
// The program's b2d, when given, says each block size's dynamic shared memory; else shared.
func OccupancyMaxPotentialBlockSizeWithFlags(minGrid, block unsafe.Pointer, f uintptr, b2d uintptr, shared uint64, limit int32, flags uint32) Result {
	k, d, r := occupancyKernel(f)
	if r != Success {
		return r
	}
	if minGrid == nil || block == nil || limit < 0 || flags > 1 {
		return ErrorInvalidValue
	}
	top := d.Attrs[shim.AttrMaxThreadsPerBlock]
	if limit > 0 {
		top = min(top, limit)
	}
	best, bestBlocks := int32(0), int32(0)
	for bs := top &^ 31; bs > 0; bs -= 32 {
		sm := shared
		if b2d != 0 {
			sm = uint64(C.vgpu_b2d(unsafe.Pointer(b2d), C.int(bs)))
		}
		n := shim.BlocksPerSM(k, d, bs, sm)
		if n*bs > bestBlocks*best {
			best, bestBlocks = bs, n
		}
	}
	if best == 0 && top > 0 && top < 32 { // a limit below one warp
		best, bestBlocks = top, shim.BlocksPerSM(k, d, top, shared)
	}
	shim.PutI32(block, best)
	shim.PutI32(minGrid, bestBlocks*d.Attrs[shim.AttrMultiprocessorCount])
	return Success
}

// LaunchConfigAt reads a CUlaunchConfig: grid and block dimensions (six 32-bit words from
// 0), dynamic shared memory (32 bits at 24), stream (32), and the attributes array (pointer
// at 40, count at 48; each attribute laid out as the runtime's).
func LaunchConfigAt(cfg unsafe.Pointer) (shim.LaunchConfig, Result) {
	if cfg == nil {
		return shim.LaunchConfig{}, ErrorInvalidValue
	}
	b := shim.View(cfg, 56)
	dim := func(off int) shim.Dim3 {
		return shim.Dim3{X: shim.Le.Uint32(b[off:]), Y: shim.Le.Uint32(b[off+4:]), Z: shim.Le.Uint32(b[off+8:])}
	}
	lc := shim.LaunchConfig{Grid: dim(0), Block: dim(12), Shared: uint64(shim.Le.Uint32(b[24:])), Stream: uintptr(shim.Le.Uint64(b[32:]))}
	n := shim.Le.Uint32(b[48:])
	if n == 0 {
		return lc, Success
	}
	at := uintptr(shim.Le.Uint64(b[40:]))
	if at == 0 || n > shim.MaxLaunchAttrs {
		return lc, ErrorInvalidValue
	}
	attrs, st := shim.ParseLaunchAttrs(shim.Bytes(at, uint64(n)*shim.LaunchAttrSize), int(n))
	if st != shim.OK {
		return lc, From(st)
	}
	lc.Attrs = attrs
	return lc, Success
}

// LaunchKernelEx is cuLaunchKernelEx: cuLaunchKernel with a configuration and attributes.
func LaunchKernelEx(cfg uintptr, f uintptr, params, extra uintptr) Result {
	lc, r := LaunchConfigAt(unsafe.Pointer(cfg))
	if r != Success {
		return r
	}
	d, r := ctxDevice()
	if r != Success {
		return r
	}
	k, ok := shim.Lookup[*shim.Kernel](shim.KindFunction, f)
	if !ok {
		return ErrorInvalidHandle
	}
	s, r := stream(lc.Stream)
	if r != Success {
		return r
	}
	if st := shim.CheckLaunch(d, k, lc); st != shim.OK {
		return From(st)
	}
	attrs, events, st := shim.SplitLaunchAttrs(lc.Attrs)
	if st != shim.OK {
		return From(st)
	}
	lc.Attrs = attrs
	return From(s.EnqueueKernel(shim.Node{Kind: shim.NodeKernel, Kernel: k, Launch: lc, Args: params}, events))
}

// clusterQuery resolves a cluster query's function, device and CUlaunchConfig.
func clusterQuery(out unsafe.Pointer, f uintptr, cfg uintptr) (*shim.Kernel, *shim.Device, shim.LaunchConfig, Result) {
	k, d, r := occupancyKernel(f)
	if r != Success {
		return nil, nil, shim.LaunchConfig{}, r
	}
	if out == nil || cfg == 0 {
		return nil, nil, shim.LaunchConfig{}, ErrorInvalidValue
	}
	lc, r := LaunchConfigAt(unsafe.Pointer(cfg))
	return k, d, lc, r
}

// OccupancyMaxPotentialClusterSize is cuOccupancyMaxPotentialClusterSize: the largest
// cluster the function may be launched in with the configuration's block and dynamic
// shared memory (shim.MaxPotentialClusterSize, the runtime's figure too).
func OccupancyMaxPotentialClusterSize(out unsafe.Pointer, f uintptr, cfg uintptr) Result {
	k, d, lc, r := clusterQuery(out, f, cfg)
	if r != Success {
		return r
	}
	n, st := shim.MaxPotentialClusterSize(k, d, lc)
	if st != shim.OK {
		return From(st)
	}
	shim.PutI32(out, n)
	return Success
}

// OccupancyMaxActiveClusters is cuOccupancyMaxActiveClusters: how many clusters of the
// configuration's cluster dimension attribute can be resident at once
// (shim.MaxActiveClusters).
func OccupancyMaxActiveClusters(out unsafe.Pointer, f uintptr, cfg uintptr) Result {
	k, d, lc, r := clusterQuery(out, f, cfg)
	if r != Success {
		return r
	}
	n, st := shim.MaxActiveClusters(k, d, lc)
	if st != shim.OK {
		return From(st)
	}
	shim.PutI32(out, n)
	return Success
}
