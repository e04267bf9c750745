// CUDA arrays' descriptors for the local backend (cu.c, array.go).
#pragma once
#include <stddef.h>
#include <stdint.h>
// Declared from the field layout NVIDIA's driver API documentation gives:
//   CUDA_ARRAY3D_DESCRIPTOR: Width, Height, Depth (size_t), Format (CUarray_format),
//   NumChannels, Flags (unsigned): 40 bytes.
//   CUDA_MEMCPY3D: per side (source, then destination) XInBytes, Y, Z, LOD (size_t), a
//   CUmemorytype (1 host, 2 device, 3 array), the host pointer, the device pointer, the
//   array, a reserved pointer, Pitch and Height (size_t); then WidthInBytes, Height, Depth:
//   200 bytes.
// The resource, texture and view descriptions are passed as the model keeps them (144, 104
// and 112 bytes, shim/texture.go).
struct vg_array3d { size_t w, h, d; unsigned format, channels, flags; };
struct vg_side { size_t x, y, z, lod; unsigned mtype; uintptr_t host; unsigned long long dev; void *array; void *reserved; size_t pitch, height; };
struct vg_memcpy3d { struct vg_side src, dst; size_t width, height, depth; };
_Static_assert(sizeof(struct vg_array3d) == 40, "CUDA_ARRAY3D_DESCRIPTOR is 40 bytes");
_Static_assert(sizeof(struct vg_memcpy3d) == 200, "CUDA_MEMCPY3D is 200 bytes");
_Static_assert(offsetof(struct vg_memcpy3d, dst) == 88 && offsetof(struct vg_memcpy3d, width) == 176, "CUDA_MEMCPY3D's layout");

