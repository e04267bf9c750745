package cudart

import (
	"runtime"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/shim"
)

// The offsets of both layouts, as measured (CUDA 13) and documented (CUDA 12).
func TestDevicePropLayouts(t *testing.T) {
	lockThread(t)
	cases := []struct {
		field string
		o12   int
		o13   int
	}{
		{"name", 0, 0}, {"uuid", 256, 256}, {"totalGlobalMem", 288, 288}, {"warpSize", 308, 308},
		{"clockRate", 348, -1}, {"major", 360, 360}, {"minor", 364, 364}, {"deviceOverlap", 384, -1},
		{"multiProcessorCount", 388, 384}, {"integrated", 396, 388}, {"computeMode", 404, -1},
		{"maxTexture1DLinear", 416, -1}, {"pciBusID", 584, 568}, {"pciDeviceID", 588, 572}, {"pciDomainID", 592, 576},
		{"memoryClockRate", 608, -1}, {"memoryBusWidth", 612, 592}, {"sharedMemPerMultiprocessor", 640, 624},
		{"singleToDoublePrecisionPerfRatio", 668, -1}, {"cooperativeLaunch", 688, 668}, {"cooperativeMultiDeviceLaunch", 692, -1},
		{"sharedMemPerBlockOptin", 696, 672}, {"maxBlocksPerMultiProcessor", 712, 688}, {"unifiedFunctionPointers", 776, 752},
		{"gpuPciDeviceID", -1, 772}, {"hostNumaMultinodeIpcSupported", -1, 780},
	}
	for _, c := range cases {
		assert.Equal(t, c.o12, Offset(12, c.field), "CUDA 12 %s", c.field)
		assert.Equal(t, c.o13, Offset(13, c.field), "CUDA 13 %s", c.field)
	}
	// Every field fits its struct and no two overlap.
	for _, major := range []int{12, 13} {
		size := propSize(major)
		used := make([]bool, size)
		for _, f := range propFields {
			off, n := f.offset(major), f.size()
			if off < 0 {
				continue
			}
			require.LessOrEqual(t, off+n, size, "%s@%d", f.name, major)
			for i := off; i < off+n; i++ {
				require.False(t, used[i], "%s overlaps at %d (CUDA %d)", f.name, i, major)
				used[i] = true
			}
		}
	}
}

func TestPropsRender(t *testing.T) {
	lockThread(t)
	c := shim.DefaultConfig()
	d, err := shim.NewDevice(0, c.DeviceList()[0], &c)
	require.NoError(t, err)
	for _, major := range []int{12, 13} {
		b := Props(d, major)
		at := func(f string) int32 { return *(*int32)(unsafe.Pointer(&b[Offset(major, f)])) }
		assert.Equal(t, "NVIDIA H100 80GB HBM3", string(b[:len("NVIDIA H100 80GB HBM3")]))
		assert.Equal(t, int32(9), at("major"))
		assert.Equal(t, int32(132), at("multiProcessorCount"))
		assert.Equal(t, int32(d.PCIBus), at("pciBusID"))
		assert.Equal(t, uint64(85017493504), *(*uint64)(unsafe.Pointer(&b[Offset(major, "totalGlobalMem")])))
		assert.Equal(t, uint64(232448), *(*uint64)(unsafe.Pointer(&b[Offset(major, "sharedMemPerBlockOptin")])))
		assert.Equal(t, d.UUID[:], b[256:272])
	}
	assert.Len(t, Props(d, 12), 1032) // sizeof(cudaDeviceProp) in CUDA 12
	assert.Len(t, Props(d, 13), 1008) // and in CUDA 13
}

func TestErrorText(t *testing.T) {
	lockThread(t)
	n, ok := ErrorMemoryAllocation.Name()
	assert.True(t, ok)
	assert.Equal(t, "cudaErrorMemoryAllocation", n)
	assert.Equal(t, "out of memory", ErrorMemoryAllocation.Description())
	assert.Equal(t, "invalid pitch value", ErrorInvalidPitchValue.Description(), "derived from the name")
	assert.Equal(t, unknownText, Error(123456).Description())
	for s := shim.OK; s <= shim.StatusLast; s++ {
		_, ok := From(s).Name()
		assert.True(t, ok, "status %d maps to a named cudaError", s)
	}
}

// The runtime's last-error rules, exercised on this (C) thread's storage.
func TestLastErrorRules(t *testing.T) {
	lockThread(t)
	runtime.LockOSThread() // the last error lives in C thread-local storage
	defer runtime.UnlockOSThread()
	defer sticky.Store(0)
	RecordError(int32(ErrorMemoryAllocation))
	assert.Equal(t, ErrorMemoryAllocation, PeekAtLastError())
	assert.Equal(t, ErrorMemoryAllocation, PeekAtLastError(), "peek does not clear")
	assert.Equal(t, ErrorMemoryAllocation, GetLastError())
	assert.Equal(t, Success, GetLastError(), "get clears")
	// A sticky error stays, and answers every later call.
	RecordError(int32(ErrorIllegalAddress))
	assert.Equal(t, ErrorIllegalAddress, GetLastError())
	assert.Equal(t, ErrorIllegalAddress, GetLastError(), "sticky: not cleared")
	RecordError(int32(ErrorInvalidValue))
	assert.Equal(t, ErrorIllegalAddress, PeekAtLastError(), "a later ordinary error does not hide it")
	_, e := begin()
	assert.Equal(t, ErrorIllegalAddress, e, "every call returns the sticky error")
}
