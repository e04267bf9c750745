/* The slice of the CUDA driver, runtime, cuBLAS and NVML C APIs the harness calls, declared
 * here from the documentation: no NVIDIA header is needed to build the tests. */
#ifndef VGPU_TEST_API_H
#define VGPU_TEST_API_H
#include <stddef.h>
#include <stdint.h>

typedef int CUresult, cudaError_t, nvmlReturn_t, cublasStatus_t, CUdevice;
typedef void *CUcontext, *cudaStream_t, *cudaEvent_t, *cudaGraph_t, *cudaGraphExec_t, *nvmlDevice_t, *cublasHandle_t;
typedef unsigned long long CUdeviceptr, CUmemGenericAllocationHandle;
typedef struct { unsigned int x, y, z; } dim3;
typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
typedef struct { unsigned int version; unsigned long long total, reserved, free, used; } nvmlMemory_v2_t;
typedef struct { char busIdLegacy[16]; unsigned int domain, bus, device, pciDeviceId, pciSubSystemId; char busId[32]; } nvmlPciInfo_t;
typedef struct { int type; int requestedHandleTypes; struct { int type, id; } location; void *win32; unsigned char compressionType, gpuDirectRDMACapable; unsigned short usage; unsigned char reserved[4]; } CUmemAllocationProp;
typedef struct { struct { int type, id; } location; int flags; } CUmemAccessDesc;

/* cudaDeviceProp fields the harness reads, at their offsets per CUDA major. */
struct prop_offsets { int totalGlobalMem, multiProcessorCount, major, minor, pciBusID, pciDomainID, integrated, sharedMemPerBlockOptin, size; };
static const struct prop_offsets prop12 = {288, 388, 360, 364, 584, 592, 396, 696, 1032};
static const struct prop_offsets prop13 = {288, 384, 360, 364, 568, 576, 388, 672, 1008};

#define X_DRIVER(X) \
	X(CUresult, cuInit, (unsigned)) \
	X(CUresult, cuDriverGetVersion, (int *)) \
	X(CUresult, cuDeviceGetCount, (int *)) \
	X(CUresult, cuDeviceGet, (CUdevice *, int)) \
	X(CUresult, cuDeviceGetName, (char *, int, CUdevice)) \
	X(CUresult, cuDeviceGetUuid, (unsigned char *, CUdevice)) \
	X(CUresult, cuDeviceTotalMem_v2, (size_t *, CUdevice)) \
	X(CUresult, cuDeviceGetAttribute, (int *, int, CUdevice)) \
	X(CUresult, cuDeviceGetPCIBusId, (char *, int, CUdevice)) \
	X(CUresult, cuDevicePrimaryCtxRetain, (CUcontext *, CUdevice)) \
	X(CUresult, cuDevicePrimaryCtxRelease_v2, (CUdevice)) \
	X(CUresult, cuCtxSetCurrent, (CUcontext)) \
	X(CUresult, cuCtxGetCurrent, (CUcontext *)) \
	X(CUresult, cuCtxCreate_v2, (CUcontext *, unsigned, CUdevice)) \
	X(CUresult, cuCtxDestroy_v2, (CUcontext)) \
	X(CUresult, cuCtxPopCurrent_v2, (CUcontext *)) \
	X(CUresult, cuCtxGetDevice, (CUdevice *)) \
	X(CUresult, cuMemGetInfo_v2, (size_t *, size_t *)) \
	X(CUresult, cuMemAlloc_v2, (CUdeviceptr *, size_t)) \
	X(CUresult, cuMemFree_v2, (CUdeviceptr)) \
	X(CUresult, cuMemcpyHtoD_v2, (CUdeviceptr, const void *, size_t)) \
	X(CUresult, cuMemcpyDtoH_v2, (void *, CUdeviceptr, size_t)) \
	X(CUresult, cuGetErrorString, (CUresult, const char **)) \
	X(CUresult, cuGetErrorName, (CUresult, const char **)) \
	X(CUresult, cuGetProcAddress_v2, (const char *, void **, int, unsigned long long, int *)) \
	X(CUresult, cuMemGetAllocationGranularity, (size_t *, const CUmemAllocationProp *, int)) \
	X(CUresult, cuMemCreate, (CUmemGenericAllocationHandle *, size_t, const CUmemAllocationProp *, unsigned long long)) \
	X(CUresult, cuMemRelease, (CUmemGenericAllocationHandle)) \
	X(CUresult, cuMemAddressReserve, (CUdeviceptr *, size_t, size_t, CUdeviceptr, unsigned long long)) \
	X(CUresult, cuMemAddressFree, (CUdeviceptr, size_t)) \
	X(CUresult, cuMemMap, (CUdeviceptr, size_t, size_t, CUmemGenericAllocationHandle, unsigned long long)) \
	X(CUresult, cuMemUnmap, (CUdeviceptr, size_t)) \
	X(CUresult, cuMemSetAccess, (CUdeviceptr, size_t, const CUmemAccessDesc *, size_t))

#define X_RUNTIME(X) \
	X(cudaError_t, cudaGetDeviceCount, (int *)) \
	X(cudaError_t, cudaGetDevice, (int *)) \
	X(cudaError_t, cudaSetDevice, (int)) \
	X(cudaError_t, cudaDeviceGetAttribute, (int *, int, int)) \
	X(cudaError_t, cudaDeviceGetPCIBusId, (char *, int, int)) \
	X(cudaError_t, cudaDriverGetVersion, (int *)) \
	X(cudaError_t, cudaMemGetInfo, (size_t *, size_t *)) \
	X(cudaError_t, cudaMalloc, (void **, size_t)) \
	X(cudaError_t, cudaFree, (void *)) \
	X(cudaError_t, cudaMallocHost, (void **, size_t)) \
	X(cudaError_t, cudaFreeHost, (void *)) \
	X(cudaError_t, cudaMemcpy, (void *, const void *, size_t, int)) \
	X(cudaError_t, cudaMemcpyAsync, (void *, const void *, size_t, int, cudaStream_t)) \
	X(cudaError_t, cudaMemcpy2D, (void *, size_t, const void *, size_t, size_t, size_t, int)) \
	X(cudaError_t, cudaMallocPitch, (void **, size_t *, size_t, size_t)) \
	X(cudaError_t, cudaMemset, (void *, int, size_t)) \
	X(cudaError_t, cudaMemsetAsync, (void *, int, size_t, cudaStream_t)) \
	X(cudaError_t, cudaGetLastError, (void)) \
	X(cudaError_t, cudaPeekAtLastError, (void)) \
	X(const char *, cudaGetErrorString, (cudaError_t)) \
	X(const char *, cudaGetErrorName, (cudaError_t)) \
	X(cudaError_t, cudaStreamCreateWithFlags, (cudaStream_t *, unsigned)) \
	X(cudaError_t, cudaStreamDestroy, (cudaStream_t)) \
	X(cudaError_t, cudaStreamSynchronize, (cudaStream_t)) \
	X(cudaError_t, cudaStreamWaitEvent, (cudaStream_t, cudaEvent_t, unsigned)) \
	X(cudaError_t, cudaStreamBeginCapture, (cudaStream_t, int)) \
	X(cudaError_t, cudaStreamEndCapture, (cudaStream_t, cudaGraph_t *)) \
	X(cudaError_t, cudaStreamIsCapturing, (cudaStream_t, int *)) \
	X(cudaError_t, cudaEventCreateWithFlags, (cudaEvent_t *, unsigned)) \
	X(cudaError_t, cudaEventRecord, (cudaEvent_t, cudaStream_t)) \
	X(cudaError_t, cudaEventSynchronize, (cudaEvent_t)) \
	X(cudaError_t, cudaEventDestroy, (cudaEvent_t)) \
	X(cudaError_t, cudaGraphInstantiate, (cudaGraphExec_t *, cudaGraph_t, unsigned long long)) \
	X(cudaError_t, cudaGraphLaunch, (cudaGraphExec_t, cudaStream_t)) \
	X(cudaError_t, cudaGraphExecDestroy, (cudaGraphExec_t)) \
	X(cudaError_t, cudaGraphDestroy, (cudaGraph_t)) \
	X(cudaError_t, cudaLaunchKernel, (const void *, dim3, dim3, void **, size_t, cudaStream_t)) \
	X(cudaError_t, cudaFuncGetAttributes, (void *, const void *)) \
	X(void **, __cudaRegisterFatBinary, (void *)) \
	X(void, __cudaRegisterFatBinaryEnd, (void **)) \
	X(void, __cudaRegisterFunction, (void **, const char *, char *, const char *, int, void *, void *, void *, void *, int *)) \
	X(void, __cudaUnregisterFatBinary, (void **)) \
	X(unsigned, __cudaPushCallConfiguration, (dim3, dim3, size_t, void *)) \
	X(cudaError_t, __cudaPopCallConfiguration, (dim3 *, dim3 *, size_t *, void *)) \
	X(cudaError_t, __cudaGetKernel, (void **, const void *)) \
	X(cudaError_t, __cudaLaunchKernel, (void *, dim3, dim3, void **, size_t, cudaStream_t))

#define X_BLAS(X) \
	X(cublasStatus_t, cublasCreate_v2, (cublasHandle_t *)) \
	X(cublasStatus_t, cublasDestroy_v2, (cublasHandle_t)) \
	X(cublasStatus_t, cublasSetStream_v2, (cublasHandle_t, cudaStream_t)) \
	X(cublasStatus_t, cublasSgemm_v2, (cublasHandle_t, int, int, int, int, int, const float *, const float *, int, const float *, int, const float *, float *, int))

#define X_NVML(X) \
	X(nvmlReturn_t, nvmlInit_v2, (void)) \
	X(nvmlReturn_t, nvmlShutdown, (void)) \
	X(const char *, nvmlErrorString, (nvmlReturn_t)) \
	X(nvmlReturn_t, nvmlSystemGetDriverVersion, (char *, unsigned)) \
	X(nvmlReturn_t, nvmlDeviceGetCount_v2, (unsigned *)) \
	X(nvmlReturn_t, nvmlDeviceGetHandleByIndex_v2, (unsigned, nvmlDevice_t *)) \
	X(nvmlReturn_t, nvmlDeviceGetHandleByUUID, (const char *, nvmlDevice_t *)) \
	X(nvmlReturn_t, nvmlDeviceGetHandleByPciBusId_v2, (const char *, nvmlDevice_t *)) \
	X(nvmlReturn_t, nvmlDeviceGetName, (nvmlDevice_t, char *, unsigned)) \
	X(nvmlReturn_t, nvmlDeviceGetUUID, (nvmlDevice_t, char *, unsigned)) \
	X(nvmlReturn_t, nvmlDeviceGetPciInfo_v3, (nvmlDevice_t, nvmlPciInfo_t *)) \
	X(nvmlReturn_t, nvmlDeviceGetMemoryInfo, (nvmlDevice_t, nvmlMemory_t *)) \
	X(nvmlReturn_t, nvmlDeviceGetMemoryInfo_v2, (nvmlDevice_t, nvmlMemory_v2_t *)) \
	X(nvmlReturn_t, nvmlDeviceGetCudaComputeCapability, (nvmlDevice_t, int *, int *))

#endif
