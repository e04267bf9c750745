/* The CUDA driver, runtime, cuBLAS and NVML C APIs as the C tests call them, declared from
 * the documentation and vgpu's table: no NVIDIA header is needed to build the tests. */
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

/* The prototypes come from the table (functions.txt) through cmd/apigen: X_DRIVER, X_RUNTIME,
 * X_BLAS and X_NVML list every export as X(return type, name, (parameter types)). */
#include "zz_api.h"

#endif
