// The kernel tests/cuda/driver.c loads, as PTX and as a cubin.
extern "C" __global__ void scale_add(float *p, float a, double b, int n) {
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n) p[i] = p[i] * a + (float)b;
}
