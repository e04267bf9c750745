// Not a program: built with `nvcc -fatbin` into library_kernels.fatbin for library.cu, which
// loads it with cudaLibrary*/cuLibrary* and launches its kernels by name (extern "C": names
// unmangled).
__device__ int counter;
__constant__ float cscale = 2.5f;
__device__ int table[4] = {3, 1, 4, 1};

extern "C" __global__ void scale(float *x, int n)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n) x[i] = x[i] * cscale + table[i % 4];
}

extern "C" __global__ void count(int v) { atomicAdd(&counter, v); }
