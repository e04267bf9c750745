package cuda

import (
	"math"
	"unsafe"

	"vgpu/shim"
)

// The legacy memory entry points: the un-suffixed names (cuMemAlloc, cuMemcpyHtoD, ...) are
// the ABI of CUDA before 3.2, when CUdeviceptr was a 32-bit unsigned int and byte counts were
// unsigned int too. NVIDIA kept them exported for binaries built then; cuda.h has mapped the
// names to the _v2 forms since 3.2, and cuGetProcAddress hands them out only to callers
// asking for a CUDA version below 3020 (their proc rows in functions.txt).
//
// Decision: they are served honestly, as that ABI: every pointer parameter and result is 32
// bits wide and each call is the _v2 semantics on the widened values. A device address is
// 64 bits wide here (as on any 64-bit driver), so:
//   - an allocation whose address does not fit in 32 bits cannot be returned: it is freed
//     again and the call fails with CUDA_ERROR_OUT_OF_MEMORY, the error cuMemAlloc documents
//     for memory it cannot provide (there is no 32-bit addressable device memory);
//   - a lookup whose answer does not fit (an address or size above 4 GiB) fails with
//     CUDA_ERROR_INVALID_VALUE rather than handing back a truncated value;
//   - a 32-bit address given to a copy or fill names memory the caller cannot have
//     allocated, so the _v2 checks answer for it (CUDA_ERROR_INVALID_VALUE).
// Host pointers (void *) were always full width; only sizes narrow in the host calls.

// fits32 reports whether v can travel as a legacy 32-bit value.
func fits32(v uint64) bool { return v <= math.MaxUint32 }

// MemAlloc32 is the legacy cuMemAlloc.
func MemAlloc32(dptr unsafe.Pointer, size uint32) Result {
	if dptr == nil {
		return ErrorInvalidValue
	}
	var p uint64
	if r := MemAlloc(unsafe.Pointer(&p), uint64(size)); r != Success {
		return r
	}
	if !fits32(p) {
		MemFree(p)
		return ErrorOutOfMemory
	}
	shim.PutU32(dptr, uint32(p))
	return Success
}

// MemFree32 is the legacy cuMemFree.
func MemFree32(dptr uint32) Result { return MemFree(uint64(dptr)) }

// MemAllocPitch32 is the legacy cuMemAllocPitch.
func MemAllocPitch32(dptr, pitch unsafe.Pointer, width, height, elemSize uint32) Result {
	if dptr == nil || pitch == nil {
		return ErrorInvalidValue
	}
	var p, pp uint64
	if r := MemAllocPitch(unsafe.Pointer(&p), unsafe.Pointer(&pp), uint64(width), uint64(height), elemSize); r != Success {
		return r
	}
	if !fits32(p) || !fits32(pp) {
		MemFree(p)
		return ErrorOutOfMemory
	}
	shim.PutU32(dptr, uint32(p))
	shim.PutU32(pitch, uint32(pp))
	return Success
}

// MemGetAddressRange32 is the legacy cuMemGetAddressRange.
func MemGetAddressRange32(base, size unsafe.Pointer, p uint32) Result {
	var b, n uint64
	if r := MemGetAddressRange(unsafe.Pointer(&b), unsafe.Pointer(&n), uint64(p)); r != Success {
		return r
	}
	if !fits32(b) || !fits32(n) {
		return ErrorInvalidValue
	}
	if base != nil {
		shim.PutU32(base, uint32(b))
	}
	if size != nil {
		shim.PutU32(size, uint32(n))
	}
	return Success
}

// MemHostGetDevicePointer32 is the legacy cuMemHostGetDevicePointer: the device address of
// pinned host memory is the host address (unified addressing), so it fits only when the host
// memory lies below 4 GiB.
func MemHostGetDevicePointer32(out unsafe.Pointer, host uintptr, flags uint32) Result {
	if out == nil {
		return ErrorInvalidValue
	}
	var p uint64
	if r := MemHostGetDevicePointer(unsafe.Pointer(&p), host, flags); r != Success {
		return r
	}
	if !fits32(p) {
		return ErrorInvalidValue
	}
	shim.PutU32(out, uint32(p))
	return Success
}

// MemAllocHost32 is the legacy cuMemAllocHost: a full-width host pointer, a 32-bit size.
func MemAllocHost32(pp unsafe.Pointer, size uint32) Result { return MemAllocHost(pp, uint64(size)) }

// MemcpyHtoD32 is the legacy cuMemcpyHtoD.
func MemcpyHtoD32(dst uint32, src uintptr, n uint32) Result {
	return MemcpyHtoD(uint64(dst), src, uint64(n))
}

// MemcpyDtoH32 is the legacy cuMemcpyDtoH.
func MemcpyDtoH32(dst uintptr, src uint32, n uint32) Result {
	return MemcpyDtoH(dst, uint64(src), uint64(n))
}

// MemcpyDtoD32 is the legacy cuMemcpyDtoD.
func MemcpyDtoD32(dst, src uint32, n uint32) Result {
	return MemcpyDtoD(uint64(dst), uint64(src), uint64(n))
}

// MemcpyDtoDAsync32 is the legacy cuMemcpyDtoDAsync.
func MemcpyDtoDAsync32(dst, src uint32, n uint32, h uintptr) Result {
	return MemcpyDtoDAsync(uint64(dst), uint64(src), uint64(n), h)
}

// MemcpyHtoDAsync32 is the legacy cuMemcpyHtoDAsync.
func MemcpyHtoDAsync32(dst uint32, src uintptr, n uint32, h uintptr) Result {
	return MemcpyHtoDAsync(uint64(dst), src, uint64(n), h)
}

// MemcpyDtoHAsync32 is the legacy cuMemcpyDtoHAsync.
func MemcpyDtoHAsync32(dst uintptr, src uint32, n uint32, h uintptr) Result {
	return MemcpyDtoHAsync(dst, uint64(src), uint64(n), h)
}

// MemsetD8_32 is the legacy cuMemsetD8.
func MemsetD8_32(dst uint32, v uint8, n uint32) Result { return MemsetD8(uint64(dst), v, uint64(n)) }

// MemsetD16_32 is the legacy cuMemsetD16.
func MemsetD16_32(dst uint32, v uint16, n uint32) Result {
	return MemsetD16(uint64(dst), v, uint64(n))
}

// MemsetD32_32 is the legacy cuMemsetD32.
func MemsetD32_32(dst uint32, v uint32, n uint32) Result {
	return MemsetD32(uint64(dst), v, uint64(n))
}

// MemsetD2D8_32 is the legacy cuMemsetD2D8.
func MemsetD2D8_32(dst, pitch uint32, v uint8, width, height uint32) Result {
	return MemsetD2D8(uint64(dst), uint64(pitch), v, uint64(width), uint64(height))
}

// MemsetD2D16_32 is the legacy cuMemsetD2D16.
func MemsetD2D16_32(dst, pitch uint32, v uint16, width, height uint32) Result {
	return MemsetD2D16(uint64(dst), uint64(pitch), v, uint64(width), uint64(height))
}

// MemsetD2D32_32 is the legacy cuMemsetD2D32.
func MemsetD2D32_32(dst, pitch uint32, v uint32, width, height uint32) Result {
	return MemsetD2D32(uint64(dst), uint64(pitch), v, uint64(width), uint64(height))
}
