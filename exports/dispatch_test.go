package main

import (
	"testing"
	"unsafe"
)

// The exports are the hot path of every program: calling through the backend's table must
// not allocate (in sim, with tracing off).
func TestExportsDoNotAllocate(t *testing.T) {
	var v int32
	for name, call := range map[string]func(){
		"cuDriverGetVersion": func() { vgpu_cuDriverGetVersion(unsafe.Pointer(&v)) },
		"cuLaunchKernel":     func() { vgpu_cuLaunchKernel(0x10, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0) },
		"cudaLaunchKernel":   func() { vgpu_cudaLaunchKernel(0x10, 1, 1, 1, 1, 1, 1, 0, 0, 0) },
	} {
		call() // first call chooses the backend
		if n := testing.AllocsPerRun(1000, call); n != 0 {
			t.Errorf("%s: %v allocations per call, want 0", name, n)
		}
	}
}

func BenchmarkCuDriverGetVersion(b *testing.B) {
	var v int32
	for i := 0; i < b.N; i++ {
		vgpu_cuDriverGetVersion(unsafe.Pointer(&v))
	}
}

func BenchmarkCuLaunchKernelBadHandle(b *testing.B) {
	for i := 0; i < b.N; i++ {
		vgpu_cuLaunchKernel(0x10, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0)
	}
}

func BenchmarkCudaLaunchKernelBadFunc(b *testing.B) {
	for i := 0; i < b.N; i++ {
		vgpu_cudaLaunchKernel(0x10, 1, 1, 1, 1, 1, 1, 0, 0, 0)
	}
}
