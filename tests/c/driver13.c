/* The driver API's breadth (issues 13 and 14): libraries and kernels as NVIDIA's CUDA 12 and
 * 13 runtimes load programs through them, functions and modules, streams, events, contexts,
 * peers, fills, pitched and managed memory, graphs, occupancy and launches. Run in-process
 * (sim) and as a remote client of a sim server, with two devices and kernels as no-ops:
 *   driver13 LIBDIR [label]
 * Status values are NVIDIA's documented CUresult numbers: 0 success, 1 invalid value,
 * 101 invalid device, 201 invalid context, 301 file not found, 400 invalid handle, 500 not
 * found, 704 peer access already enabled, 705 peer access not enabled, 900 capture
 * unsupported. The module is a cubin built here: two kernels (.text.NAME sections), a
 * parameter table for one (.nv.info.NAME) and an initialised __device__ variable. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cubin.h"
#include <unistd.h>
#include <pthread.h>

typedef int CUresult;
typedef unsigned long long CUdeviceptr;
typedef void *H; /* every opaque handle */
static int failures, checks;
#define CHECK(c, ...) do { checks++; if (!(c)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)
#define EQ(got, want, what) do { long long g_ = (long long)(got), w_ = (long long)(want); CHECK(g_ == w_, "%s: got %lld, want %lld", what, g_, w_); } while (0)

#define FNS(X) \
	X(cuInit, (unsigned)) X(cuDevicePrimaryCtxRetain, (H *, int)) X(cuCtxSetCurrent, (H)) \
	X(cuCtxGetCurrent, (H *)) X(cuCtxSynchronize, (void)) X(cuCtxCreate_v2, (H *, unsigned, int)) \
	X(cuCtxDestroy_v2, (H)) X(cuCtxGetFlags, (unsigned *)) \
	X(cuMemAlloc_v2, (CUdeviceptr *, size_t)) X(cuMemFree_v2, (CUdeviceptr)) \
	X(cuMemcpyHtoD_v2, (CUdeviceptr, const void *, size_t)) X(cuMemcpyDtoH_v2, (void *, CUdeviceptr, size_t)) \
	X(cuModuleLoadData, (H *, const void *)) X(cuModuleGetFunction, (H *, H, const char *)) \
	X(cuModuleGetGlobal_v2, (CUdeviceptr *, size_t *, H, const char *)) X(cuModuleUnload, (H)) \
	X(cuLaunchKernel, (H, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, H, void **, void **)) \
	X(cuFuncGetAttribute, (int *, int, H)) \
	X(cuLibraryLoadData, (H *, const void *, void *, void **, unsigned, void *, void **, unsigned)) \
	X(cuLibraryLoadFromFile, (H *, const char *, void *, void **, unsigned, void *, void **, unsigned)) \
	X(cuLibraryUnload, (H)) X(cuLibraryGetKernel, (H *, H, const char *)) X(cuLibraryGetModule, (H *, H)) \
	X(cuLibraryGetKernelCount, (unsigned *, H)) X(cuLibraryEnumerateKernels, (H *, unsigned, H)) \
	X(cuLibraryGetGlobal, (CUdeviceptr *, size_t *, H, const char *)) \
	X(cuKernelGetFunction, (H *, H)) X(cuKernelGetLibrary, (H *, H)) \
	X(cuKernelGetAttribute, (int *, int, H, int)) X(cuKernelSetAttribute, (int, int, H, int)) \
	X(cuKernelSetCacheConfig, (H, int, int)) X(cuKernelGetName, (const char **, H)) \
	X(cuKernelGetParamInfo, (H, size_t, size_t *, size_t *)) X(cuFuncGetName, (const char **, H)) \
	X(cuFuncGetParamInfo, (H, size_t, size_t *, size_t *)) X(cuFuncGetModule, (H *, H)) \
	X(cuFuncSetAttribute, (H, int, int)) X(cuFuncSetCacheConfig, (H, int)) X(cuFuncIsLoaded, (int *, H)) \
	X(cuModuleGetFunctionCount, (unsigned *, H)) X(cuModuleEnumerateFunctions, (H *, unsigned, H)) \
	X(cuModuleLoad, (H *, const char *)) X(cuModuleLoadDataEx, (H *, const void *, unsigned, void *, void **)) \
	X(cuStreamCreateWithPriority, (H *, unsigned, int)) X(cuStreamGetPriority, (H, int *)) \
	X(cuStreamGetFlags, (H, unsigned *)) X(cuStreamGetCtx, (H, H *)) X(cuStreamGetDevice, (H, int *)) \
	X(cuStreamGetId, (H, unsigned long long *)) X(cuStreamDestroy, (H)) X(cuStreamSynchronize, (H)) \
	X(cuStreamWaitEvent, (H, H, unsigned)) X(cuStreamBeginCapture_v2, (H, int)) X(cuStreamEndCapture, (H, H *)) \
	X(cuStreamIsCapturing, (H, int *)) X(cuStreamGetCaptureInfo_v2, (H, int *, unsigned long long *, H *, const H **, size_t *)) \
	X(cuStreamAddCallback, (H, void (*)(H, CUresult, void *), void *, unsigned)) \
	X(cuLaunchHostFunc, (H, void (*)(void *), void *)) \
	X(cuEventCreate, (H *, unsigned)) X(cuEventRecordWithFlags, (H, H, unsigned)) X(cuEventDestroy, (H)) \
	X(cuEventSynchronize, (H)) \
	X(cuCtxSetFlags, (unsigned)) X(cuCtxGetStreamPriorityRange, (int *, int *)) \
	X(cuCtxGetLimit, (size_t *, int)) X(cuCtxSetLimit, (int, size_t)) \
	X(cuCtxGetCacheConfig, (int *)) X(cuCtxSetCacheConfig, (int)) \
	X(cuCtxEnablePeerAccess, (H, unsigned)) X(cuCtxDisablePeerAccess, (H)) \
	X(cuDeviceCanAccessPeer, (int *, int, int)) X(cuDeviceGetP2PAttribute, (int *, int, int, int)) \
	X(cuMemcpyDtoDAsync_v2, (CUdeviceptr, CUdeviceptr, size_t, H)) \
	X(cuMemcpyPeer, (CUdeviceptr, H, CUdeviceptr, H, size_t)) \
	X(cuMemsetD16_v2, (CUdeviceptr, unsigned short, size_t)) X(cuMemsetD32Async, (CUdeviceptr, unsigned, size_t, H)) \
	X(cuMemsetD2D8_v2, (CUdeviceptr, size_t, unsigned char, size_t, size_t)) \
	X(cuMemsetD2D32_v2, (CUdeviceptr, size_t, unsigned, size_t, size_t)) \
	X(cuMemAllocPitch_v2, (CUdeviceptr *, size_t *, size_t, size_t, unsigned)) \
	X(cuMemAllocManaged, (CUdeviceptr *, size_t, unsigned)) X(cuMemPrefetchAsync, (CUdeviceptr, size_t, int, H)) \
	X(cuGraphCreate, (H *, unsigned)) X(cuGraphAddEmptyNode, (H *, H, const H *, size_t)) \
	X(cuGraphAddMemsetNode, (H *, H, const H *, size_t, const void *, H)) \
	X(cuGraphAddDependencies, (H, const H *, const H *, size_t)) X(cuGraphGetNodes, (H, H *, size_t *)) \
	X(cuGraphInstantiateWithFlags, (H *, H, unsigned long long)) X(cuGraphLaunch, (H, H)) \
	X(cuGraphExecDestroy, (H)) X(cuGraphDestroy, (H)) X(cuGraphClone, (H *, H)) X(cuGraphNodeGetType, (H, int *)) \
	X(cuOccupancyMaxActiveBlocksPerMultiprocessor, (int *, H, int, size_t)) \
	X(cuOccupancyMaxPotentialBlockSize, (int *, int *, H, size_t (*)(int), size_t, int)) \
	X(cuOccupancyMaxPotentialClusterSize, (int *, H, const void *)) X(cuOccupancyMaxActiveClusters, (int *, H, const void *)) \
	X(cuLaunchCooperativeKernel, (H, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, H, void **)) \
	X(cuLaunchKernelEx, (const void *, H, void **, void **)) \
	X(cuMemcpy2D_v2, (const void *)) X(cuMemcpy2DAsync_v2, (const void *, H)) X(cuMemcpy3D_v2, (const void *)) \
	X(cuMemcpy, (CUdeviceptr, CUdeviceptr, size_t)) \
	X(cuMemAllocAsync, (CUdeviceptr *, size_t, H)) X(cuMemFreeAsync, (CUdeviceptr, H)) \
	X(cuDeviceGetDefaultMemPool, (H *, int)) X(cuMemPoolGetAttribute, (H, int, void *)) \
	X(cuMemPoolSetAttribute, (H, int, void *)) X(cuMemPoolTrimTo, (H, size_t)) \
	X(cuGetProcAddress_v2, (const char *, void **, int, unsigned long long, int *))

/* Per-thread default stream forms (cuda/ptsz.go). */
#define FNS2(X) \
	X(cuMemcpyHtoD_v2_ptds, (CUdeviceptr, const void *, size_t)) X(cuMemcpyDtoH_v2_ptds, (void *, CUdeviceptr, size_t)) \
	X(cuMemcpyDtoD_v2_ptds, (CUdeviceptr, CUdeviceptr, size_t)) X(cuMemcpy_ptds, (CUdeviceptr, CUdeviceptr, size_t)) \
	X(cuMemcpyAsync_ptsz, (CUdeviceptr, CUdeviceptr, size_t, H)) \
	X(cuMemcpyHtoDAsync_v2_ptsz, (CUdeviceptr, const void *, size_t, H)) \
	X(cuMemcpyDtoHAsync_v2_ptsz, (void *, CUdeviceptr, size_t, H)) \
	X(cuMemcpyDtoDAsync_v2_ptsz, (CUdeviceptr, CUdeviceptr, size_t, H)) \
	X(cuMemcpyPeer_ptds, (CUdeviceptr, H, CUdeviceptr, H, size_t)) \
	X(cuMemcpyPeerAsync_ptsz, (CUdeviceptr, H, CUdeviceptr, H, size_t, H)) \
	X(cuMemcpy2D_v2_ptds, (const void *)) X(cuMemcpy2DUnaligned_v2_ptds, (const void *)) \
	X(cuMemcpy2DAsync_v2_ptsz, (const void *, H)) X(cuMemcpy3D_v2_ptds, (const void *)) \
	X(cuMemcpy3DAsync_v2_ptsz, (const void *, H)) \
	X(cuMemsetD8_v2_ptds, (CUdeviceptr, unsigned char, size_t)) X(cuMemsetD16_v2_ptds, (CUdeviceptr, unsigned short, size_t)) \
	X(cuMemsetD32_v2_ptds, (CUdeviceptr, unsigned, size_t)) \
	X(cuMemsetD8Async_ptsz, (CUdeviceptr, unsigned char, size_t, H)) X(cuMemsetD16Async_ptsz, (CUdeviceptr, unsigned short, size_t, H)) \
	X(cuMemsetD32Async_ptsz, (CUdeviceptr, unsigned, size_t, H)) \
	X(cuMemsetD2D8_v2_ptds, (CUdeviceptr, size_t, unsigned char, size_t, size_t)) \
	X(cuMemsetD2D16_v2_ptds, (CUdeviceptr, size_t, unsigned short, size_t, size_t)) \
	X(cuMemsetD2D32_v2_ptds, (CUdeviceptr, size_t, unsigned, size_t, size_t)) \
	X(cuMemsetD2D8Async_ptsz, (CUdeviceptr, size_t, unsigned char, size_t, size_t, H)) \
	X(cuMemsetD2D16Async_ptsz, (CUdeviceptr, size_t, unsigned short, size_t, size_t, H)) \
	X(cuMemsetD2D32Async_ptsz, (CUdeviceptr, size_t, unsigned, size_t, size_t, H)) \
	X(cuLaunchKernel_ptsz, (H, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, H, void **, void **)) \
	X(cuLaunchCooperativeKernel_ptsz, (H, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, H, void **)) \
	X(cuLaunchKernelEx_ptsz, (const void *, H, void **, void **)) \
	X(cuLaunchHostFunc_ptsz, (H, void (*)(void *), void *)) \
	X(cuStreamAddCallback_ptsz, (H, void (*)(H, CUresult, void *), void *, unsigned)) \
	X(cuEventRecord_ptsz, (H, H)) X(cuEventRecordWithFlags_ptsz, (H, H, unsigned)) \
	X(cuStreamSynchronize_ptsz, (H)) X(cuStreamQuery_ptsz, (H)) X(cuStreamWaitEvent_ptsz, (H, H, unsigned)) \
	X(cuStreamGetPriority_ptsz, (H, int *)) X(cuStreamGetFlags_ptsz, (H, unsigned *)) \
	X(cuStreamGetCtx_ptsz, (H, H *)) X(cuStreamGetId_ptsz, (H, unsigned long long *)) \
	X(cuStreamBeginCapture_v2_ptsz, (H, int)) X(cuStreamBeginCapture_ptsz, (H)) \
	X(cuStreamEndCapture_ptsz, (H, H *)) X(cuStreamIsCapturing_ptsz, (H, int *)) \
	X(cuStreamGetCaptureInfo_ptsz, (H, int *, unsigned long long *)) \
	X(cuStreamGetCaptureInfo_v2_ptsz, (H, int *, unsigned long long *, H *, const H **, size_t *)) \
	X(cuGraphLaunch_ptsz, (H, H)) X(cuGraphUpload_ptsz, (H, H)) \
	X(cuMemAllocAsync_ptsz, (CUdeviceptr *, size_t, H)) X(cuMemFreeAsync_ptsz, (CUdeviceptr, H)) \
	X(cuGraphGetEdges, (H, H *, H *, size_t *)) X(cuGraphGetRootNodes, (H, H *, size_t *)) \
	X(cuGraphNodeGetDependencies, (H, H *, size_t *)) X(cuGraphNodeGetDependentNodes, (H, H *, size_t *)) \
	X(cuGraphRemoveDependencies, (H, const H *, const H *, size_t)) X(cuGraphNodeFindInClone, (H *, H, H)) \
	X(cuGraphAddEventRecordNode, (H *, H, const H *, size_t, H)) X(cuGraphAddEventWaitNode, (H *, H, const H *, size_t, H)) \
	X(cuGraphEventRecordNodeGetEvent, (H, H *)) X(cuGraphEventRecordNodeSetEvent, (H, H)) \
	X(cuGraphEventWaitNodeGetEvent, (H, H *)) X(cuGraphEventWaitNodeSetEvent, (H, H)) \
	X(cuGraphExecEventRecordNodeSetEvent, (H, H, H)) X(cuGraphExecEventWaitNodeSetEvent, (H, H, H)) \
	X(cuGraphAddHostNode, (H *, H, const H *, size_t, const void *)) X(cuGraphHostNodeGetParams, (H, void *)) \
	X(cuGraphHostNodeSetParams, (H, const void *)) X(cuGraphExecHostNodeSetParams, (H, H, const void *)) \
	X(cuGraphAddChildGraphNode, (H *, H, const H *, size_t, H)) \
	X(cuGraphMemsetNodeGetParams, (H, void *)) X(cuGraphMemsetNodeSetParams, (H, const void *)) \
	X(cuGraphExecMemsetNodeSetParams, (H, H, const void *, H)) \
	X(cuGraphAddKernelNode, (H *, H, const H *, size_t, const void *)) X(cuGraphAddKernelNode_v2, (H *, H, const H *, size_t, const void *)) \
	X(cuGraphKernelNodeGetParams, (H, void *)) X(cuGraphKernelNodeGetParams_v2, (H, void *)) \
	X(cuGraphKernelNodeSetParams, (H, const void *)) X(cuGraphKernelNodeSetParams_v2, (H, const void *)) \
	X(cuGraphExecKernelNodeSetParams, (H, H, const void *)) X(cuGraphExecKernelNodeSetParams_v2, (H, H, const void *)) \
	X(cuGraphExecGetFlags, (H, unsigned long long *)) X(cuGraphInstantiateWithParams, (H *, H, void *)) \
	X(cuGraphExecUpdate, (H, H, H *, int *)) X(cuGraphInstantiate, (H *, H, H *, char *, size_t)) \
	X(cuEventQuery, (H)) \
	X(cuDeviceGetProperties, (int *, int)) X(cuDeviceGetAttribute, (int *, int, int)) \
	X(cuDeviceGetLuid, (char *, unsigned *, int)) X(cuDeviceGetTexture1DLinearMaxWidth, (size_t *, int, unsigned, int)) \
	X(cuCtxGetSharedMemConfig, (int *)) X(cuCtxSetSharedMemConfig, (int)) \
	X(cuDeviceGetExecAffinitySupport, (int *, int, int)) X(cuCtxGetExecAffinity, (int *, int)) \
	X(cuCtxCreate_v3, (H *, int *, int, unsigned, int)) \
	X(cuStreamGetAttribute, (H, int, void *)) X(cuStreamSetAttribute, (H, int, const void *)) \
	X(cuStreamCopyAttributes, (H, H)) X(cuStreamGetAttribute_ptsz, (H, int, void *)) \
	X(cuStreamSetAttribute_ptsz, (H, int, const void *)) X(cuStreamCopyAttributes_ptsz, (H, H)) \
	X(cuStreamWriteValue32, (H, CUdeviceptr, unsigned, unsigned)) X(cuStreamWriteValue32_v2, (H, CUdeviceptr, unsigned, unsigned)) \
	X(cuStreamWriteValue32_ptsz, (H, CUdeviceptr, unsigned, unsigned)) X(cuStreamWriteValue32_v2_ptsz, (H, CUdeviceptr, unsigned, unsigned)) \
	X(cuStreamWriteValue64, (H, CUdeviceptr, unsigned long long, unsigned)) X(cuStreamWriteValue64_v2, (H, CUdeviceptr, unsigned long long, unsigned)) \
	X(cuStreamWriteValue64_ptsz, (H, CUdeviceptr, unsigned long long, unsigned)) X(cuStreamWriteValue64_v2_ptsz, (H, CUdeviceptr, unsigned long long, unsigned)) \
	X(cuIpcGetMemHandle, (void *, CUdeviceptr)) X(cuIpcCloseMemHandle, (CUdeviceptr)) \
	X(cuIpcGetEventHandle, (void *, H)) X(cuGraphDebugDotPrint, (H, const char *, unsigned))

#define DECL(name, args) static CUresult (*name) args;
FNS(DECL)
FNS2(DECL)

/* ---- a cubin, built as nvcc lays one out (facts of the ELF format) ---- */
static unsigned char cubin[4096];
static size_t cubin_size;
static const char *K_ADD = "_Z3addPiii", *K_NOOP = "_Z4noopv";



static void make_cubin(void) {
	/* One KPARAM_INFO record per parameter of add(int *, int, int): format 4 (a sized
	 * value), attribute 0x17, 12 bytes: index, ordinal, offset, size in bits 18-31. */
	static unsigned char info[3 * 16];
	unsigned offs[3] = {0, 8, 12}, sizes[3] = {8, 4, 4};
	for (int i = 0; i < 3; i++) {
		unsigned char *r = info + 16 * i;
		r[0] = 4; r[1] = 0x17; put16(r + 2, 12);
		put32(r + 4, 0); put16(r + 8, i); put16(r + 10, offs[i]); put32(r + 12, sizes[i] << 18);
	}
	static unsigned char init[8];
	put64(init, 0x1122334455667788ULL);
	static unsigned char code[16] = {0};
	static char strtab[64];
	memcpy(strtab, "\0gvar\0_Z3addPiii\0_Z4noopv\0", 27);
	static unsigned char symtab[48]; /* the null symbol, then gvar: 8 bytes at 0 of section 7 */
	put32(symtab + 24, 1); symtab[24 + 4] = 0x11; put16(symtab + 24 + 6, 7); put64(symtab + 24 + 8, 0); put64(symtab + 24 + 16, 8);
	struct sec s[] = {
		{"", 0, 0, NULL, 0}, {".shstrtab", 3, 0, NULL, 0}, {".strtab", 3, 0, (unsigned char *)strtab, 27},
		{".symtab", 2, 2, symtab, 48}, {".text._Z3addPiii", 1, 0, code, 16}, {".nv.info._Z3addPiii", 1, 0, info, sizeof info},
		{".text._Z4noopv", 1, 0, code, 16}, {".nv.global.init", 1, 0, init, 8},
	};
	cubin_size = cubin_write(cubin, s, sizeof s / sizeof s[0], 1, 0, 0);
}

/* A remote client pipelines stream-ordered calls: their errors arrive with the next
 * synchronising call, as a kernel's do. The error must arrive one way or the other. */
static int remote_client;
static CUresult deferred(CUresult r) { return r == 0 && remote_client ? cuCtxSynchronize() : r; }

static int host_calls;
static void host_fn(void *p) { __atomic_add_fetch((int *)p, 1, __ATOMIC_SEQ_CST); }
static void stream_cb(H s, CUresult st, void *p) { (void)s; if (st == 0) __atomic_add_fetch((int *)p, 1, __ATOMIC_SEQ_CST); }
static size_t smem_per_block(int block) { return (size_t)block * 4; }

/* CUlaunchConfig as the Driver API documents it: grid and block dimensions, dynamic shared
 * memory, stream, then the attribute array and its count; each CUlaunchAttribute is an id
 * and a 64-byte value union (a cluster dimension is three unsigned ints). */
typedef struct { int id; int pad; union { unsigned dim[3]; int i; char bytes[64]; } value; } launch_attr;
typedef struct {
	unsigned grid[3], block[3], shared;
	H stream;
	launch_attr *attrs;
	unsigned num_attrs;
} launch_config;

/* Cluster occupancy (cuOccupancyMaxPotentialClusterSize / MaxActiveClusters) on the
 * default H100 (compute capability 9.0): 8 blocks is the portable limit, 16 after the
 * kernel's non-portable opt-in (CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED, 14);
 * a cluster size past the limit, or a zero dimension, is 912 (invalid cluster size). */
static void clusters(H f) {
	launch_attr at = {4, 0, {{2, 1, 1}}}; /* CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION */
	launch_config c = {{16, 1, 1}, {128, 1, 1}, 0, NULL, NULL, 0};
	int size = -1, n = -1, n2 = -1, n4 = -1;
	EQ(cuOccupancyMaxPotentialClusterSize(&size, f, &c), 0, "cuOccupancyMaxPotentialClusterSize");
	EQ(size, 8, "the portable cluster limit");
	EQ(cuOccupancyMaxPotentialClusterSize(NULL, f, &c), 1, "no output = invalid value");
	EQ(cuOccupancyMaxPotentialClusterSize(&size, f, NULL), 1, "no configuration = invalid value");
	EQ(cuOccupancyMaxPotentialClusterSize(&size, (H)0x5a5a5a, &c), 400, "an unknown function = invalid handle");
	EQ(cuOccupancyMaxActiveClusters(&n, f, &c), 912, "no cluster dimension = invalid cluster size");
	c.attrs = &at; c.num_attrs = 1;
	EQ(cuOccupancyMaxActiveClusters(&n2, f, &c), 0, "clusters of 2");
	at.value.dim[0] = 4;
	EQ(cuOccupancyMaxActiveClusters(&n4, f, &c), 0, "clusters of 4");
	CHECK(n4 > 0 && n2 >= 2 * n4, "clusters twice as large fit half as often: %d of 2, %d of 4", n2, n4);
	at.value.dim[0] = 0;
	EQ(cuOccupancyMaxActiveClusters(&n, f, &c), 912, "a zero cluster dimension");
	at.value.dim[0] = 16;
	EQ(cuOccupancyMaxActiveClusters(&n, f, &c), 912, "16 blocks without the non-portable opt-in");
	EQ(cuFuncSetAttribute(f, 14, 1), 0, "opting in to non-portable cluster sizes");
	EQ(cuOccupancyMaxPotentialClusterSize(&size, f, &c), 0, "the potential size after the opt-in");
	EQ(size, 16, "the non-portable cluster limit");
	n = -1;
	EQ(cuOccupancyMaxActiveClusters(&n, f, &c), 0, "clusters of 16 after the opt-in");
	CHECK(n > 0 && n <= n4 / 4, "clusters of 16: %d (of 4: %d)", n, n4);
	at.value.dim[0] = 8; at.value.dim[2] = 4;
	EQ(cuOccupancyMaxActiveClusters(&n, f, &c), 912, "32 blocks, past even the non-portable limit");
	EQ(cuFuncSetAttribute(f, 14, 0), 0, "opting out again");
	at.value.dim[0] = 16; at.value.dim[2] = 1;
	EQ(cuOccupancyMaxActiveClusters(&n, f, &c), 912, "16 blocks after opting out");
	c.attrs = NULL; c.num_attrs = 0; c.block[0] = 2048;
	EQ(cuOccupancyMaxPotentialClusterSize(&size, f, &c), 0, "a block no SM holds");
	EQ(size, 0, "no cluster for a block that does not fit");
	void *fn = NULL; int st = -1;
	EQ(cuGetProcAddress_v2("cuOccupancyMaxActiveClusters", &fn, 12000, 0, &st), 0, "cuGetProcAddress finds cuOccupancyMaxActiveClusters");
	CHECK(fn == (void *)cuOccupancyMaxActiveClusters, "cuGetProcAddress answers the exported function");
	EQ(cuGetProcAddress_v2("cuOccupancyMaxPotentialClusterSize", &fn, 12000, 0, &st), 0, "cuGetProcAddress finds cuOccupancyMaxPotentialClusterSize");
}

static void libraries(int remote) {
	H lib = NULL, lib2 = NULL, k = NULL, k2 = NULL, f = NULL, mod = NULL, m2 = NULL, l2 = NULL;
	EQ(cuLibraryLoadData(NULL, cubin, NULL, NULL, 0, NULL, NULL, 0), 1, "cuLibraryLoadData without an output");
	EQ(cuLibraryLoadData(&lib, NULL, NULL, NULL, 0, NULL, NULL, 0), 1, "cuLibraryLoadData without code");
	EQ(cuLibraryLoadData(&lib, cubin, NULL, NULL, 2, NULL, NULL, 0), 1, "JIT options counted but not given");
	EQ(cuLibraryLoadData(&lib, cubin, NULL, NULL, 0, NULL, NULL, 0), 0, "cuLibraryLoadData");
	unsigned count = 0;
	EQ(cuLibraryGetKernelCount(&count, lib), 0, "cuLibraryGetKernelCount");
	EQ(count, 2, "kernels in the library (its cubin's .text sections)");
	H ks[3] = {0};
	EQ(cuLibraryEnumerateKernels(ks, 3, lib), 1, "enumerating more kernels than the library has");
	EQ(cuLibraryEnumerateKernels(ks, 2, lib), 0, "cuLibraryEnumerateKernels");
	CHECK(ks[0] && ks[1] && ks[0] != ks[1], "two distinct kernels enumerated");
	EQ(cuLibraryGetKernel(&k, lib, "nosuch"), 500, "a kernel the library lacks");
	EQ(cuLibraryGetKernel(&k, (H)0x7ead0000dea0, K_ADD), 400, "a wild library handle");
	EQ(cuLibraryGetKernel(&k, lib, K_ADD), 0, "cuLibraryGetKernel");
	CHECK(k == ks[0] || k == ks[1], "the kernel by name is one of those enumerated");
	EQ(cuLibraryGetKernel(&k2, lib, K_ADD), 0, "the same kernel again");
	CHECK(k == k2, "one handle per kernel");
	EQ(cuKernelGetFunction(&f, k), 0, "cuKernelGetFunction");
	CHECK(f != NULL, "a function for the kernel");
	const char *name = NULL;
	EQ(cuKernelGetName(&name, k), 0, "cuKernelGetName");
	CHECK(name && !strcmp(name, K_ADD), "the kernel's name: %s", name ? name : "(null)");
	name = NULL;
	EQ(cuFuncGetName(&name, f), 0, "cuFuncGetName");
	CHECK(name && !strcmp(name, K_ADD), "the function's name");
	EQ(cuKernelGetLibrary(&l2, k), 0, "cuKernelGetLibrary");
	CHECK(l2 == lib, "the kernel's library");
	EQ(cuLibraryGetModule(&mod, lib), 0, "cuLibraryGetModule");
	EQ(cuFuncGetModule(&m2, f), 0, "cuFuncGetModule");
	CHECK(mod && m2 == mod, "the function's module is the library's");

	/* The parameter table: add(int *, int, int). */
	size_t off = 99, size = 99;
	EQ(cuKernelGetParamInfo(k, 0, &off, &size), 0, "parameter 0");
	EQ(off, 0, "parameter 0's offset"); EQ(size, 8, "parameter 0's size");
	EQ(cuFuncGetParamInfo(f, 2, &off, &size), 0, "parameter 2");
	EQ(off, 12, "parameter 2's offset"); EQ(size, 4, "parameter 2's size");
	EQ(cuKernelGetParamInfo(k, 3, &off, &size), 1, "a parameter past the last");
	EQ(cuKernelGetParamInfo(k, 0, NULL, NULL), 1, "no output at all");

	/* Attributes: per device for kernels, the current context's for functions. */
	int v = 0;
	EQ(cuKernelGetAttribute(&v, 0, k, 0), 0, "max threads per block");
	CHECK(v >= 1024, "max threads per block: %d", v);
	EQ(cuKernelGetAttribute(&v, 99, k, 0), 1, "an unknown attribute");
	EQ(cuKernelGetAttribute(&v, 0, k, 7), 101, "an absent device");
	EQ(cuKernelSetAttribute(8, 4096, k, 0), 0, "raising the dynamic shared memory ceiling");
	EQ(cuKernelGetAttribute(&v, 8, k, 0), 0, "reading it back");
	EQ(v, 4096, "the ceiling set");
	EQ(cuKernelSetAttribute(8, -1, k, 0), 1, "a negative ceiling");
	EQ(cuKernelSetAttribute(0, 64, k, 0), 1, "a read-only attribute");
	EQ(cuFuncSetAttribute(f, 8, 8192), 0, "cuFuncSetAttribute");
	EQ(cuFuncGetAttribute(&v, 8, f), 0, "cuFuncGetAttribute");
	EQ(v, 8192, "the function's ceiling");
	EQ(cuFuncSetCacheConfig(f, 1), 0, "a cache preference");
	EQ(cuFuncSetCacheConfig(f, 9), 1, "no such preference");
	EQ(cuKernelSetCacheConfig(k, 2, 0), 0, "a kernel's cache preference");
	EQ(cuFuncIsLoaded(&v, f), 0, "cuFuncIsLoaded");
	EQ(v, 1, "loaded");

	/* The variable, with its initialiser, once per library. */
	CUdeviceptr g = 0, g2 = 0;
	size_t bytes = 0;
	EQ(cuLibraryGetGlobal(&g, &bytes, lib, "gvar"), 0, "cuLibraryGetGlobal");
	EQ(bytes, 8, "the variable's size from the symbol table");
	unsigned long long val = 0;
	EQ(cuMemcpyDtoH_v2(&val, g, 8), 0, "reading the variable");
	CHECK(val == 0x1122334455667788ULL, "the variable's initial value: %llx", val);
	EQ(cuModuleGetGlobal_v2(&g2, NULL, mod, "gvar"), 0, "the same variable through the module");
	CHECK(g2 == g, "one variable, whichever handle names it");
	EQ(cuLibraryGetGlobal(&g, &bytes, lib, "nosuch"), 500, "a variable the image lacks");

	/* A CUkernel launches where a CUfunction does (kernels are no-ops here). */
	CUdeviceptr out = 0;
	EQ(cuMemAlloc_v2(&out, 64), 0, "cuMemAlloc");
	int a = 1, b = 2;
	void *args[] = {&out, &a, &b};
	EQ(cuLaunchKernel(k, 1, 1, 1, 32, 1, 1, 0, NULL, args, NULL), 0, "launching by CUkernel");
	EQ(cuLaunchCooperativeKernel(f, 2, 1, 1, 64, 1, 1, 0, NULL, args), 0, "a cooperative launch");
	unsigned cfg[14] = {2, 1, 1, 32, 1, 1, 0};
	EQ(cuLaunchKernelEx(cfg, f, args, NULL), 0, "cuLaunchKernelEx");
	cfg[3] = 4096;
	EQ(cuLaunchKernelEx(cfg, f, args, NULL), 1, "cuLaunchKernelEx with too large a block");
	EQ(cuCtxSynchronize(), 0, "the launches completed");

	int blocks = 0, minGrid = 0, block = 0;
	EQ(cuOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, f, 256, 0), 0, "occupancy");
	CHECK(blocks > 0, "blocks per SM at 256 threads: %d", blocks);
	EQ(cuOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, f, 0, 0), 1, "occupancy of empty blocks");
	EQ(cuOccupancyMaxPotentialBlockSize(&minGrid, &block, f, smem_per_block, 0, 512), 0, "the best block size");
	CHECK(block > 0 && block <= 512 && block % 32 == 0 && minGrid > 0, "block %d, grid %d", block, minGrid);
	clusters(f);

	/* From a file, as cuLibraryLoadFromFile and cuModuleLoad read one. */
	char path[] = "/tmp/vgpu-driver13-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0 && write(fd, cubin, cubin_size) == (ssize_t)cubin_size, "writing the cubin");
	close(fd);
	EQ(cuLibraryLoadFromFile(&lib2, "/nonexistent/vgpu.cubin", NULL, NULL, 0, NULL, NULL, 0), 301, "a missing file");
	EQ(cuLibraryLoadFromFile(&lib2, path, NULL, NULL, 0, NULL, NULL, 0), 0, "cuLibraryLoadFromFile");
	EQ(cuLibraryGetKernel(&k2, lib2, K_NOOP), 0, "a kernel of the file's library");
	CHECK(k2 != k, "another library's kernel is another handle");
	H fm = NULL, ff = NULL;
	EQ(cuModuleLoad(&fm, path), 0, "cuModuleLoad");
	EQ(cuModuleGetFunction(&ff, fm, K_NOOP), 0, "a function of the file's module");
	EQ(cuModuleGetFunctionCount(&count, fm), 0, "cuModuleGetFunctionCount");
	EQ(count, 2, "functions in the module");
	H fs[2];
	EQ(cuModuleEnumerateFunctions(fs, 2, fm), 0, "cuModuleEnumerateFunctions");
	EQ(cuModuleUnload(fm), 0, "unloading the file's module");
	unlink(path);
	H dm = NULL;
	EQ(cuModuleLoadDataEx(&dm, cubin, 1, NULL, NULL), 1, "options counted but not given");
	EQ(cuModuleLoadDataEx(&dm, cubin, 0, NULL, NULL), 0, "cuModuleLoadDataEx");
	EQ(cuModuleUnload(dm), 0, "cuModuleUnload");

	EQ(cuLibraryUnload(lib2), 0, "unloading the file's library");
	EQ(cuLibraryUnload(lib), 0, "cuLibraryUnload");
	EQ(cuLibraryUnload(lib), 400, "unloading twice");
	EQ(cuKernelGetName(&name, k), 400, "a kernel of an unloaded library");
	cuMemFree_v2(out);
	(void)remote;
}

static void streams_events(int remote) {
	H s = NULL, ctx = NULL, cur = NULL, ev = NULL, g = NULL;
	int v = 7;
	unsigned u = 7;
	EQ(cuStreamCreateWithPriority(&s, 2, 0), 1, "an unknown stream flag");
	EQ(cuStreamCreateWithPriority(&s, 1, -100), 0, "cuStreamCreateWithPriority");
	EQ(cuStreamGetPriority(s, &v), 0, "cuStreamGetPriority");
	EQ(v, -5, "a priority beyond the greatest clamps to it");
	EQ(cuStreamGetFlags(s, &u), 0, "cuStreamGetFlags");
	EQ(u, 1, "the non-blocking flag");
	EQ(cuStreamGetCtx(s, &ctx), 0, "cuStreamGetCtx");
	cuCtxGetCurrent(&cur);
	CHECK(ctx == cur, "the stream's context is the current one");
	EQ(cuStreamGetDevice(s, &v), 0, "cuStreamGetDevice");
	EQ(v, 0, "the stream's device");
	unsigned long long id1 = 0, id2 = 0;
	EQ(cuStreamGetId(s, &id1), 0, "cuStreamGetId");
	EQ(cuStreamGetId(NULL, &id2), 0, "the NULL stream's id");
	CHECK(id1 != id2 && id1 != 0, "distinct stream ids");
	EQ(cuStreamGetId((H)0x7ead0000dea0, &id2), 400, "a wild stream");
	int least = 9, greatest = 9;
	EQ(cuCtxGetStreamPriorityRange(&least, &greatest), 0, "cuCtxGetStreamPriorityRange");
	CHECK(least == 0 && greatest == -5, "priorities [%d, %d]", least, greatest);
	EQ(cuCtxGetStreamPriorityRange(NULL, NULL), 0, "both outputs are optional");

	EQ(cuEventCreate(&ev, 0), 0, "cuEventCreate");
	EQ(deferred(cuEventRecordWithFlags(ev, s, 4)), 1, "an unknown record flag");
	EQ(cuEventRecordWithFlags(ev, s, 0), 0, "cuEventRecordWithFlags");
	EQ(cuStreamWaitEvent(NULL, ev, 0), 0, "cuStreamWaitEvent");
	EQ(deferred(cuStreamWaitEvent(NULL, ev, 8)), 1, "an unknown wait flag");
	EQ(cuEventSynchronize(ev), 0, "the event completed");

	/* Host functions and callbacks run in stream order, before the call returns. */
	host_calls = 0;
	EQ(cuLaunchHostFunc(s, host_fn, &host_calls), 0, "cuLaunchHostFunc");
	EQ(cuStreamAddCallback(s, stream_cb, &host_calls, 0), 0, "cuStreamAddCallback");
	EQ(cuStreamAddCallback(s, stream_cb, &host_calls, 1), 1, "callback flags must be 0");
	EQ(cuLaunchHostFunc(s, NULL, NULL), 1, "no host function");
	EQ(cuStreamSynchronize(s), 0, "cuStreamSynchronize");
	EQ(host_calls, 2, "the host function and the callback ran");

	/* Capture: a fill captured into a graph, which the graph replays. */
	CUdeviceptr p = 0;
	EQ(cuMemAlloc_v2(&p, 256), 0, "cuMemAlloc");
	EQ(cuStreamBeginCapture_v2(s, 0), 0, "cuStreamBeginCapture_v2");
	int st = 9;
	EQ(cuStreamIsCapturing(s, &st), 0, "cuStreamIsCapturing");
	EQ(st, 1, "active");
	unsigned long long cid = 0;
	H cg = NULL;
	const H *deps = (const H *)1;
	size_t nd = 9;
	EQ(cuStreamGetCaptureInfo_v2(s, &st, &cid, &cg, &deps, &nd), 0, "cuStreamGetCaptureInfo_v2");
	CHECK(st == 1 && cid != 0, "capturing, with an id");
	EQ(cuMemsetD32Async(p, 0xabcdef01, 64, s), 0, "a captured fill");
	EQ(cuStreamAddCallback(s, stream_cb, &host_calls, 0), 900, "callbacks cannot be captured");
	EQ(cuStreamEndCapture(s, &g), 0, "cuStreamEndCapture");
	CHECK(g != NULL, "the captured graph");
	EQ(cuStreamIsCapturing(s, &st), 0, "after the capture");
	EQ(st, 0, "not capturing");
	H exec = NULL;
	EQ(cuGraphInstantiateWithFlags(&exec, g, 0), 0, "instantiating the captured graph");
	EQ(cuGraphLaunch(exec, s), 0, "replaying it");
	EQ(cuStreamSynchronize(s), 0, "the replay completed");
	unsigned words[64];
	EQ(cuMemcpyDtoH_v2(words, p, sizeof words), 0, "reading the fill");
	CHECK(words[0] == 0xabcdef01 && words[63] == 0xabcdef01, "the replayed fill: %x", words[0]);
	cuGraphExecDestroy(exec);
	cuGraphDestroy(g);
	cuMemFree_v2(p);
	EQ(cuEventDestroy(ev), 0, "cuEventDestroy");
	EQ(cuStreamDestroy(s), 0, "cuStreamDestroy");
	EQ(cuStreamDestroy(s), 400, "destroying a stream twice");
	(void)remote;
}

static void contexts_memory(int remote) {
	H c0 = NULL, c1 = NULL;
	size_t lim = 0;
	EQ(cuCtxGetLimit(&lim, 2), 0, "the malloc heap limit");
	EQ(lim, 8 << 20, "its default");
	EQ(cuCtxSetLimit(2, 16 << 20), 0, "cuCtxSetLimit");
	EQ(cuCtxGetLimit(&lim, 2), 0, "read back");
	EQ(lim, 16 << 20, "the limit set");
	EQ(cuCtxGetLimit(&lim, 77), 1, "an unknown limit");
	int cc = 9;
	EQ(cuCtxSetCacheConfig(2), 0, "cuCtxSetCacheConfig");
	EQ(cuCtxGetCacheConfig(&cc), 0, "cuCtxGetCacheConfig");
	EQ(cc, 2, "the preference set");
	EQ(cuCtxSetCacheConfig(7), 1, "no such preference");
	unsigned fl = 9;
	EQ(cuCtxSetFlags(4), 0, "blocking sync");
	EQ(cuCtxGetFlags(&fl), 0, "cuCtxGetFlags");
	EQ(fl & 7, 4, "the scheduling flag set");
	EQ(cuCtxSetFlags(3), 1, "no such scheduling policy");
	cuCtxSetFlags(0);

	/* Peers: two virtual devices. */
	int can = 9, attr = 9;
	EQ(cuDeviceCanAccessPeer(&can, 0, 1), 0, "cuDeviceCanAccessPeer");
	EQ(can, 1, "distinct devices are peers");
	EQ(cuDeviceCanAccessPeer(&can, 0, 0), 0, "a device and itself");
	EQ(can, 0, "not its own peer");
	EQ(cuDeviceCanAccessPeer(&can, 0, 9), 101, "an absent peer");
	EQ(cuDeviceGetP2PAttribute(&attr, 2, 0, 1), 0, "access supported");
	EQ(attr, 1, "supported");
	EQ(cuDeviceGetP2PAttribute(&attr, 2, 1, 1), 101, "one device on both sides");
	EQ(cuDevicePrimaryCtxRetain(&c0, 0), 0, "device 0's context");
	EQ(cuDevicePrimaryCtxRetain(&c1, 1), 0, "device 1's context");
	EQ(cuCtxSetCurrent(c0), 0, "device 0 current");
	EQ(cuCtxDisablePeerAccess(c1), 705, "disabling access never enabled");
	EQ(cuCtxEnablePeerAccess(c1, 0), 0, "cuCtxEnablePeerAccess");
	EQ(cuCtxEnablePeerAccess(c1, 0), 704, "enabling twice");
	EQ(cuCtxEnablePeerAccess(c0, 0), 217, "a context and itself: peer access unsupported, as NVIDIA's driver answers");
	EQ(cuCtxEnablePeerAccess(c1, 1), 1, "flags must be 0");
	EQ(cuCtxDisablePeerAccess(c1), 0, "cuCtxDisablePeerAccess");

	/* Copies and fills. */
	CUdeviceptr a = 0, b = 0, m = 0, pp = 0;
	size_t pitch = 0;
	EQ(cuMemAlloc_v2(&a, 1024), 0, "cuMemAlloc a");
	EQ(cuMemAlloc_v2(&b, 1024), 0, "cuMemAlloc b");
	EQ(cuMemsetD16_v2(a, 0xbeef, 512), 0, "cuMemsetD16");
	EQ(cuMemsetD16_v2(a + 1, 0xbeef, 4), 1, "a misaligned 16-bit fill");
	EQ(cuMemcpyDtoDAsync_v2(b, a, 1024, NULL), 0, "cuMemcpyDtoDAsync");
	EQ(cuMemcpyPeer(b + 1024 - 2, c0, a, c1, 2), 0, "cuMemcpyPeer");
	EQ(cuMemcpyPeer(b, (H)0x7ead0000dea0, a, c1, 2), 201, "a wild context");
	unsigned short hs[512];
	EQ(cuMemcpyDtoH_v2(hs, b, sizeof hs), 0, "reading the copy");
	CHECK(hs[0] == 0xbeef && hs[511] == 0xbeef, "the 16-bit pattern copied: %x %x", hs[0], hs[511]);
	EQ(cuMemAllocPitch_v2(&pp, &pitch, 100, 8, 4), 0, "cuMemAllocPitch");
	CHECK(pitch >= 100 && pitch % 256 == 0, "the pitch: %zu", pitch);
	CUdeviceptr pp2 = 0;
	size_t pitch2 = 0;
	EQ(cuMemAllocPitch_v2(&pp2, &pitch2, 100, 8, 3), 1, "an element size of 3");
	EQ(cuMemsetD2D8_v2(pp, pitch, 0x5a, 120, 8), 0, "cuMemsetD2D8");
	EQ(cuMemsetD2D8_v2(pp, 64, 0x5a, 100, 8), 1, "rows wider than the pitch");
	EQ(cuMemsetD2D32_v2(pp, pitch, 0x01020304, 25, 8), 0, "cuMemsetD2D32");
	unsigned row[25];
	EQ(cuMemcpyDtoH_v2(row, pp + 7 * pitch, sizeof row), 0, "reading the last row");
	CHECK(row[0] == 0x01020304 && row[24] == 0x01020304, "the last row filled: %x", row[24]);
	unsigned char past = 0;
	EQ(cuMemcpyDtoH_v2(&past, pp + 100, 1), 0, "reading past the row");
	EQ(past, 0x5a, "bytes past the 32-bit rows keep the byte fill");
	EQ(cuMemAllocManaged(&m, 4096, 1), 0, "cuMemAllocManaged");
	EQ(cuMemAllocManaged(&m, 4096, 4), 1, "an unknown attach flag");
	/* Prefetching managed memory (cuBLASLt resolves cuMemPrefetchAsync by name): to a device
	 * or the host (CU_DEVICE_CPU, -1); only managed ranges, only real devices. In-process and
	 * remote alike. */
	EQ(cuMemPrefetchAsync(m, 4096, 0, NULL), 0, "prefetching managed memory to device 0");
	EQ(cuMemPrefetchAsync(m + 1024, 1024, -1, NULL), 0, "prefetching part of it to the host");
	EQ(cuMemPrefetchAsync(m, 4097, 0, NULL), 1, "a range past the allocation");
	EQ(cuMemPrefetchAsync(m, 0, 0, NULL), 1, "an empty range");
	EQ(cuMemPrefetchAsync(a, 64, 0, NULL), 1, "device memory that is not managed");
	EQ(cuMemPrefetchAsync(m, 4096, 7, NULL), 101, "a device that does not exist");
	EQ(cuCtxSynchronize(), 0, "the prefetches completed");
	cuMemFree_v2(m); cuMemFree_v2(pp); cuMemFree_v2(a); cuMemFree_v2(b);
	(void)remote;
}

/* A CUDA_MEMCPY2D: per side x, y, memory type (1 host, 2 device, 3 array), host, device,
 * array, pitch; then width and height. */
static void copy2d(unsigned char d[128], size_t sx, size_t sy, int st, const void *sh, CUdeviceptr sd, size_t sp,
		   size_t dx, size_t dy, int dt, void *dh, CUdeviceptr dd, size_t dp, size_t w, size_t h) {
	memset(d, 0, 128);
	put64(d, sx); put64(d + 8, sy); put32(d + 16, st); put64(d + 24, (uintptr_t)sh); put64(d + 32, sd); put64(d + 48, sp);
	put64(d + 56, dx); put64(d + 64, dy); put32(d + 72, dt); put64(d + 80, (uintptr_t)dh); put64(d + 88, dd); put64(d + 104, dp);
	put64(d + 112, w); put64(d + 120, h);
}

static void pitched_copies(void) {
	CUdeviceptr dev = 0;
	size_t pitch = 0;
	EQ(cuMemAllocPitch_v2(&dev, &pitch, 64, 8, 4), 0, "a pitched buffer");
	unsigned char host[4][16], back[4][16], d[128];
	for (int r = 0; r < 4; r++) for (int c = 0; c < 16; c++) host[r][c] = (unsigned char)(r * 16 + c + 1);
	/* Upload 4 rows of 16 bytes to (x 4, y 1), then read them back from there. */
	copy2d(d, 0, 0, 1, host, 0, 16, 4, 1, 2, NULL, dev, pitch, 16, 4);
	EQ(cuMemcpy2D_v2(d), 0, "cuMemcpy2D host to device");
	memset(back, 0, sizeof back);
	copy2d(d, 4, 1, 2, NULL, dev, pitch, 0, 0, 1, back, 0, 16, 16, 4);
	EQ(cuMemcpy2DAsync_v2(d, NULL), 0, "cuMemcpy2DAsync device to host");
	EQ(cuCtxSynchronize(), 0, "the copies completed");
	CHECK(!memcmp(host, back, sizeof host), "the rows came back");
	unsigned char b = 0;
	EQ(cuMemcpyDtoH_v2(&b, dev + pitch + 4, 1), 0, "reading one byte at (4, 1)");
	EQ(b, 1, "the first byte landed at x 4 of row 1");
	copy2d(d, 0, 0, 1, host, 0, 16, 0, 0, 2, NULL, dev, 8, 16, 4);
	EQ(cuMemcpy2D_v2(d), 1, "rows wider than the pitch");
	copy2d(d, 0, 0, 1, host, 0, 16, 0, 0, 3, NULL, 0, pitch, 16, 4);
	EQ(cuMemcpy2D_v2(d), 400, "a NULL CUDA array is an invalid handle (arrays: tests/c/driverarrays.c)");
	copy2d(d, 0, 0, 9, host, 0, 16, 0, 0, 2, NULL, dev, pitch, 16, 4);
	EQ(cuMemcpy2D_v2(d), 1, "no such memory type");

	/* 3D: two slices of 2 rows of 8 bytes, host to device and back. CUDA_MEMCPY3D: per side
	 * x, y, z, lod, type, host, device, array, reserved, pitch, height; then w, h, depth. */
	unsigned char d3[200], cube[2][2][8], cube2[2][2][8];
	for (int i = 0; i < 32; i++) ((unsigned char *)cube)[i] = (unsigned char)(100 + i);
	memset(d3, 0, sizeof d3);
	put32(d3 + 32, 1); put64(d3 + 40, (uintptr_t)cube); put64(d3 + 72, 8); put64(d3 + 80, 2);
	put32(d3 + 120, 2); put64(d3 + 136, dev); put64(d3 + 160, pitch); put64(d3 + 168, 4);
	put64(d3 + 176, 8); put64(d3 + 184, 2); put64(d3 + 192, 2);
	EQ(cuMemcpy3D_v2(d3), 0, "cuMemcpy3D host to device");
	memset(d3, 0, sizeof d3);
	put32(d3 + 32, 2); put64(d3 + 48, dev); put64(d3 + 72, pitch); put64(d3 + 80, 4);
	put32(d3 + 120, 1); put64(d3 + 128, (uintptr_t)cube2); put64(d3 + 160, 8); put64(d3 + 168, 2);
	put64(d3 + 176, 8); put64(d3 + 184, 2); put64(d3 + 192, 2);
	memset(cube2, 0, sizeof cube2);
	EQ(cuMemcpy3D_v2(d3), 0, "cuMemcpy3D device to host");
	CHECK(!memcmp(cube, cube2, sizeof cube), "the slices came back");
	EQ(cuMemcpyDtoH_v2(&b, dev + 4 * pitch, 1), 0, "reading slice 1's first byte");
	EQ(b, 116, "slice 1 starts height rows on");

	/* cuMemcpy takes unified addresses: host memory by its address. */
	unsigned char in[32], out[32];
	for (int i = 0; i < 32; i++) in[i] = (unsigned char)(200 + i);
	EQ(cuMemcpy(dev, (CUdeviceptr)(uintptr_t)in, 32), 0, "cuMemcpy host to device");
	EQ(cuMemcpy((CUdeviceptr)(uintptr_t)out, dev, 32), 0, "cuMemcpy device to host");
	CHECK(!memcmp(in, out, 32), "cuMemcpy round trip");
	cuMemFree_v2(dev);
}

/* Stream-ordered allocation counts in the device's default pool until it is freed. */
static void pools(void) {
	H pool = NULL;
	unsigned long long used = 0, high = 0, zero = 0;
	CUdeviceptr p = 0;
	EQ(cuDeviceGetDefaultMemPool(&pool, 0), 0, "cuDeviceGetDefaultMemPool");
	H nopool = NULL; /* a failed call's outputs are not to be relied on */
	EQ(cuDeviceGetDefaultMemPool(&nopool, 9), 101, "an absent device's pool");
	EQ(cuMemPoolGetAttribute(pool, 7, &used), 0, "used memory");
	unsigned long long before = used;
	EQ(cuMemAllocAsync(&p, 1 << 20, NULL), 0, "cuMemAllocAsync");
	CUdeviceptr none = 0;
	EQ(cuMemAllocAsync(&none, 0, NULL), 1, "an empty stream-ordered allocation");
	EQ(cuMemPoolGetAttribute(pool, 7, &used), 0, "used memory after it");
	CHECK(used >= before + (1 << 20), "the pool counts the allocation: %llu -> %llu", before, used);
	EQ(cuMemFreeAsync(p, NULL), 0, "cuMemFreeAsync");
	EQ(cuMemPoolGetAttribute(pool, 7, &used), 0, "used memory after the free");
	EQ(used, before, "the pool no longer counts it");
	EQ(cuMemPoolGetAttribute(pool, 8, &high), 0, "the high-water mark");
	CHECK(high >= before + (1 << 20), "the high-water mark kept the peak");
	EQ(cuMemPoolSetAttribute(pool, 8, &zero), 0, "resetting the high-water mark");
	EQ(cuMemPoolSetAttribute(pool, 7, &zero), 1, "the current figure is read-only");
	EQ(cuMemPoolGetAttribute(pool, 99, &used), 1, "no such attribute");
	EQ(cuMemPoolTrimTo(pool, 0), 0, "cuMemPoolTrimTo");
	EQ(cuMemPoolTrimTo((H)0x7ead0000dea0, 0), 1, "a wild pool");
}

static void graphs(void) {
	H g = NULL, e1 = NULL, e2 = NULL, ms = NULL, clone = NULL, exec = NULL, ctx = NULL;
	CUdeviceptr p = 0;
	EQ(cuMemAlloc_v2(&p, 256), 0, "cuMemAlloc");
	cuCtxGetCurrent(&ctx);
	EQ(cuGraphCreate(&g, 1), 1, "graph flags must be 0");
	EQ(cuGraphCreate(&g, 0), 0, "cuGraphCreate");
	EQ(cuGraphAddEmptyNode(&e1, g, NULL, 0), 0, "an empty node");
	unsigned char params[40] = {0}; /* dst, pitch, value, element size, width, height */
	put64(params, p); put64(params + 8, 0); put32(params + 16, 0x77); put32(params + 20, 1); put64(params + 24, 256); put64(params + 32, 1);
	EQ(cuGraphAddMemsetNode(&ms, g, &e1, 1, params, ctx), 0, "a memset node after it");
	put32(params + 20, 3);
	EQ(cuGraphAddMemsetNode(&e2, g, NULL, 0, params, ctx), 1, "an element size of 3");
	EQ(cuGraphAddEmptyNode(&e2, g, NULL, 0), 0, "another empty node");
	EQ(cuGraphAddDependencies(g, &ms, &e2, 1), 0, "an edge from the fill");
	int type = 9;
	EQ(cuGraphNodeGetType(ms, &type), 0, "cuGraphNodeGetType");
	EQ(type, 2, "a memset node");
	size_t n = 0;
	EQ(cuGraphGetNodes(g, NULL, &n), 0, "counting nodes");
	EQ(n, 3, "three nodes");
	EQ(cuGraphClone(&clone, g), 0, "cuGraphClone");
	EQ(cuGraphGetNodes(clone, NULL, &n), 0, "the clone's nodes");
	EQ(n, 3, "three in the clone");
	EQ(cuGraphInstantiateWithFlags(&exec, clone, 0), 0, "instantiating the clone");
	EQ(cuGraphLaunch(exec, NULL), 0, "cuGraphLaunch");
	EQ(cuCtxSynchronize(), 0, "the graph ran");
	unsigned char buf[256];
	EQ(cuMemcpyDtoH_v2(buf, p, sizeof buf), 0, "reading the fill");
	CHECK(buf[0] == 0x77 && buf[255] == 0x77, "the graph's fill: %x", buf[0]);
	EQ(cuGraphExecDestroy(exec), 0, "cuGraphExecDestroy");
	EQ(cuGraphDestroy(clone), 0, "destroying the clone");
	EQ(cuGraphDestroy(g), 0, "cuGraphDestroy");
	EQ(cuGraphDestroy(g), 1, "destroying twice");
	cuMemFree_v2(p);
}

/* Per-thread default streams (the _ptsz/_ptds forms): the stream handle 0 names the calling
 * thread's CU_STREAM_PER_THREAD (handle 2), not the legacy stream; explicit handles keep
 * their meaning; a synchronous form cannot join a capture of the per-thread stream. */
static int cb_calls;
static H cb_stream = (H)1;
static void ptsz_cb(H s, CUresult st, void *p) { (void)p; if (st == 0) { cb_stream = s; cb_calls++; } }
static void *other_thread(void *p) {
	cuCtxSetCurrent(*(H *)p);
	unsigned long long *id = (unsigned long long *)p + 1;
	EQ(cuStreamGetId_ptsz(NULL, id), 0, "cuStreamGetId_ptsz on another thread");
	return NULL;
}
static void per_thread(void) {
	unsigned long long legacy = 0, pt0 = 0, pt2 = 0, expl = 0, mine = 0;
	H ctx = NULL, sctx = NULL, s = NULL;
	cuCtxGetCurrent(&ctx);
	EQ(cuStreamGetId(NULL, &legacy), 0, "cuStreamGetId(NULL)");
	EQ(cuStreamGetId_ptsz(NULL, &pt0), 0, "cuStreamGetId_ptsz(NULL)");
	EQ(cuStreamGetId((H)2, &pt2), 0, "cuStreamGetId(CU_STREAM_PER_THREAD)");
	EQ(pt0, pt2, "0 in a _ptsz call is CU_STREAM_PER_THREAD");
	CHECK(pt0 != legacy, "the per-thread stream is not the legacy stream");
	EQ(cuStreamGetId_ptsz((H)1, &expl), 0, "cuStreamGetId_ptsz(CU_STREAM_LEGACY)");
	EQ(expl, legacy, "an explicit CU_STREAM_LEGACY keeps its meaning");
	EQ(cuStreamCreateWithPriority(&s, 1, 0), 0, "a stream");
	EQ(cuStreamGetId(s, &expl), 0, "its id");
	EQ(cuStreamGetId_ptsz(s, &mine), 0, "again through _ptsz");
	EQ(mine, expl, "an explicit stream keeps its meaning");
	EQ(cuStreamGetId_ptsz((H)0x7ead0000dea0, &mine), 400, "a wild stream");
	struct { H ctx; unsigned long long id; } o = {ctx, 0};
	pthread_t t;
	pthread_create(&t, NULL, other_thread, &o);
	pthread_join(t, NULL);
	CHECK(o.id != pt0 && o.id != legacy && o.id != 0, "another thread has its own per-thread stream (%llu vs %llu)", o.id, pt0);
	unsigned flags = 9; int prio = 9;
	EQ(cuStreamGetFlags_ptsz(NULL, &flags), 0, "cuStreamGetFlags_ptsz"); EQ(flags, 0, "a blocking stream");
	EQ(cuStreamGetFlags_ptsz(s, &flags), 0, "cuStreamGetFlags_ptsz of an explicit stream"); EQ(flags, 1, "its own flags");
	EQ(cuStreamGetPriority_ptsz(NULL, &prio), 0, "cuStreamGetPriority_ptsz"); EQ(prio, 0, "default priority");
	EQ(cuStreamGetCtx_ptsz(NULL, &sctx), 0, "cuStreamGetCtx_ptsz");
	CHECK(sctx == ctx, "the per-thread stream is the current context's");
	EQ(cuStreamQuery_ptsz(NULL), 0, "an idle per-thread stream is complete");

	/* Copies and fills, synchronous and stream-ordered, all landing where they should. */
	CUdeviceptr a = 0, b = 0, p = 0;
	EQ(cuMemAlloc_v2(&a, 256), 0, "a"); EQ(cuMemAlloc_v2(&b, 256), 0, "b");
	unsigned char host[256], back[256];
	for (int i = 0; i < 256; i++) host[i] = (unsigned char)(i * 7 + 3);
	EQ(cuMemcpyHtoD_v2_ptds(a, host, 256), 0, "cuMemcpyHtoD_v2_ptds");
	EQ(cuMemcpyDtoD_v2_ptds(b, a, 256), 0, "cuMemcpyDtoD_v2_ptds");
	memset(back, 0, sizeof back);
	EQ(cuMemcpyDtoH_v2_ptds(back, b, 256), 0, "cuMemcpyDtoH_v2_ptds");
	CHECK(!memcmp(host, back, 256), "the bytes made the round trip");
	EQ(cuMemsetD8_v2_ptds(a, 0x11, 16), 0, "cuMemsetD8_v2_ptds");
	EQ(cuMemsetD16_v2_ptds(a + 16, 0x2233, 8), 0, "cuMemsetD16_v2_ptds");
	EQ(cuMemsetD32_v2_ptds(a + 32, 0x44556677, 4), 0, "cuMemsetD32_v2_ptds");
	EQ(cuMemsetD16_v2_ptds(a + 1, 0x2233, 8), 1, "a misaligned 16-bit fill");
	EQ(cuMemsetD8Async_ptsz(a + 48, 0x88, 16, NULL), 0, "cuMemsetD8Async_ptsz");
	EQ(cuMemsetD16Async_ptsz(a + 64, 0x99aa, 8, NULL), 0, "cuMemsetD16Async_ptsz");
	EQ(cuMemsetD32Async_ptsz(a + 80, 0xbbccddee, 4, NULL), 0, "cuMemsetD32Async_ptsz");
	EQ(cuMemcpyDtoHAsync_v2_ptsz(back, a, 96, NULL), 0, "cuMemcpyDtoHAsync_v2_ptsz");
	EQ(cuStreamSynchronize_ptsz(NULL), 0, "cuStreamSynchronize_ptsz");
	CHECK(back[0] == 0x11 && back[15] == 0x11 && back[16] == 0x33 && back[17] == 0x22 && back[32] == 0x77 &&
	      back[35] == 0x44 && back[48] == 0x88 && back[64] == 0xaa && back[80] == 0xee && back[95] == 0xbb,
	      "the fills: %x %x %x %x %x %x", back[0], back[16], back[32], back[48], back[64], back[80]);
	EQ(cuMemcpyHtoDAsync_v2_ptsz(b, host, 64, NULL), 0, "cuMemcpyHtoDAsync_v2_ptsz");
	EQ(cuMemcpyDtoDAsync_v2_ptsz(a, b, 64, NULL), 0, "cuMemcpyDtoDAsync_v2_ptsz");
	EQ(cuMemcpyAsync_ptsz(a + 64, a, 32, NULL), 0, "cuMemcpyAsync_ptsz");
	EQ(cuMemcpyPeerAsync_ptsz(a + 96, ctx, a, ctx, 32, NULL), 0, "cuMemcpyPeerAsync_ptsz");
	EQ(cuMemcpyPeer_ptds(a + 128, ctx, a, ctx, 32), 0, "cuMemcpyPeer_ptds");
	EQ(cuMemcpyPeer_ptds(a, (H)0x7ead0000dea0, a, ctx, 32), 201, "a wild context");
	EQ(cuMemcpy_ptds((CUdeviceptr)(uintptr_t)back, a, 160), 0, "cuMemcpy_ptds");
	CHECK(!memcmp(back, host, 64) && !memcmp(back + 64, host, 32) && !memcmp(back + 96, host, 32) && !memcmp(back + 128, host, 32),
	      "the stream-ordered copies chained in order");

	/* Pitched fills and copies. */
	EQ(cuMemsetD2D8_v2_ptds(a, 32, 0x01, 8, 4), 0, "cuMemsetD2D8_v2_ptds");
	EQ(cuMemsetD2D16_v2_ptds(a + 8, 32, 0x0302, 4, 4), 0, "cuMemsetD2D16_v2_ptds");
	EQ(cuMemsetD2D32_v2_ptds(a + 16, 32, 0x07060504, 2, 4), 0, "cuMemsetD2D32_v2_ptds");
	EQ(cuMemsetD2D8Async_ptsz(a + 24, 32, 0x0a, 2, 4, NULL), 0, "cuMemsetD2D8Async_ptsz");
	EQ(cuMemsetD2D16Async_ptsz(a + 26, 32, 0x0c0b, 1, 4, NULL), 0, "cuMemsetD2D16Async_ptsz");
	EQ(cuMemsetD2D32Async_ptsz(a + 28, 32, 0x100f0e0d, 1, 4, NULL), 0, "cuMemsetD2D32Async_ptsz");
	EQ(cuMemsetD2D8_v2_ptds(a, 4, 0x01, 8, 4), 1, "rows wider than the pitch");
	unsigned char d[128], rows[4][32];
	memset(rows, 0, sizeof rows);
	copy2d(d, 0, 0, 2, NULL, a, 32, 0, 0, 1, rows, 0, 32, 32, 4);
	EQ(cuMemcpy2D_v2_ptds(d), 0, "cuMemcpy2D_v2_ptds");
	int ok = 1;
	for (int r = 0; r < 4; r++) {
		static const unsigned char want[32] = {1,1,1,1,1,1,1,1, 2,3,2,3,2,3,2,3, 4,5,6,7,4,5,6,7, 10,10,11,12, 13,14,15,16};
		if (memcmp(rows[r], want, 32)) ok = 0;
	}
	CHECK(ok, "each row holds the six fills: %x %x %x %x", rows[3][0], rows[3][8], rows[3][16], rows[3][31]);
	memset(rows, 0, sizeof rows);
	EQ(cuMemcpy2DUnaligned_v2_ptds(d), 0, "cuMemcpy2DUnaligned_v2_ptds");
	EQ(rows[2][31], 16, "the unaligned form copies the same");
	memset(rows, 0, sizeof rows);
	EQ(cuMemcpy2DAsync_v2_ptsz(d, NULL), 0, "cuMemcpy2DAsync_v2_ptsz");
	EQ(cuStreamSynchronize_ptsz(NULL), 0, "sync");
	EQ(rows[1][8], 2, "the async form copies the same");
	copy2d(d, 0, 0, 2, NULL, a, 8, 0, 0, 1, rows, 0, 32, 32, 4);
	EQ(cuMemcpy2D_v2_ptds(d), 1, "rows wider than the source pitch");
	/* 3D: one slice of the same rows (CUDA_MEMCPY3D, as pitched_copies lays it out). */
	unsigned char d3[200];
	memset(d3, 0, sizeof d3); memset(rows, 0, sizeof rows);
	put32(d3 + 32, 2); put64(d3 + 48, a); put64(d3 + 72, 32); put64(d3 + 80, 4);
	put32(d3 + 120, 1); put64(d3 + 128, (uintptr_t)rows); put64(d3 + 160, 32); put64(d3 + 168, 4);
	put64(d3 + 176, 32); put64(d3 + 184, 4); put64(d3 + 192, 1);
	EQ(cuMemcpy3D_v2_ptds(d3), 0, "cuMemcpy3D_v2_ptds");
	EQ(rows[3][16], 4, "the 3D copy");
	memset(rows, 0, sizeof rows);
	EQ(cuMemcpy3DAsync_v2_ptsz(d3, NULL), 0, "cuMemcpy3DAsync_v2_ptsz");
	EQ(cuStreamSynchronize_ptsz(NULL), 0, "sync");
	EQ(rows[0][24], 10, "the async 3D copy");

	/* Events, host functions and callbacks in the per-thread stream's order. */
	H ev = NULL;
	EQ(cuEventCreate(&ev, 0), 0, "an event");
	EQ(cuEventRecord_ptsz(ev, NULL), 0, "cuEventRecord_ptsz");
	EQ(cuEventRecordWithFlags_ptsz(ev, NULL, 0), 0, "cuEventRecordWithFlags_ptsz");
	EQ(deferred(cuEventRecordWithFlags_ptsz(ev, NULL, 4)), 1, "an unknown record flag");
	EQ(cuStreamWaitEvent_ptsz(NULL, ev, 0), 0, "cuStreamWaitEvent_ptsz");
	EQ(cuEventSynchronize(ev), 0, "the event completed");
	host_calls = 0; cb_calls = 0;
	EQ(cuLaunchHostFunc_ptsz(NULL, host_fn, &host_calls), 0, "cuLaunchHostFunc_ptsz");
	EQ(cuStreamAddCallback_ptsz(NULL, ptsz_cb, NULL, 0), 0, "cuStreamAddCallback_ptsz");
	EQ(cuStreamAddCallback_ptsz(NULL, ptsz_cb, NULL, 2), 1, "callback flags must be 0");
	EQ(cuStreamSynchronize_ptsz(NULL), 0, "sync");
	EQ(host_calls, 1, "the host function ran");
	EQ(cb_calls, 1, "the callback ran");
	CHECK(cb_stream == NULL, "the callback is handed the stream as the caller named it (%p)", cb_stream);

	/* Stream-ordered allocation on the per-thread stream. */
	EQ(cuMemAllocAsync_ptsz(&p, 512, NULL), 0, "cuMemAllocAsync_ptsz");
	EQ(cuMemsetD8Async_ptsz(p, 0x3c, 512, NULL), 0, "a fill of it");
	EQ(cuMemcpyDtoHAsync_v2_ptsz(back, p + 255, 1, NULL), 0, "read it");
	EQ(cuMemFreeAsync_ptsz(p, NULL), 0, "cuMemFreeAsync_ptsz");
	EQ(cuStreamSynchronize_ptsz(NULL), 0, "sync");
	EQ(back[0], 0x3c, "the allocation was filled");
	EQ(cuMemFreeAsync_ptsz(p, NULL), 1, "freeing it twice");

	/* Launches on the per-thread stream (kernels are no-ops here). */
	H mod = NULL, f = NULL;
	EQ(cuModuleLoadData(&mod, cubin), 0, "the module");
	EQ(cuModuleGetFunction(&f, mod, K_ADD), 0, "a function");
	int x = 1, y = 2;
	void *args[] = {&b, &x, &y};
	EQ(cuLaunchKernel_ptsz(f, 1, 1, 1, 32, 1, 1, 0, NULL, args, NULL), 0, "cuLaunchKernel_ptsz");
	EQ(cuLaunchKernel_ptsz(f, 1, 1, 1, 4096, 1, 1, 0, NULL, args, NULL), 1, "too large a block");
	EQ(cuLaunchCooperativeKernel_ptsz(f, 2, 1, 1, 64, 1, 1, 0, NULL, args), 0, "cuLaunchCooperativeKernel_ptsz");
	unsigned cfg[14] = {2, 1, 1, 32, 1, 1, 0};
	EQ(cuLaunchKernelEx_ptsz(cfg, f, args, NULL), 0, "cuLaunchKernelEx_ptsz");
	EQ(cuLaunchKernelEx_ptsz(NULL, f, args, NULL), 1, "no configuration");
	EQ(cuStreamSynchronize_ptsz(NULL), 0, "the launches completed");
	cuModuleUnload(mod);

	/* The legacy stream cannot be captured; this thread's per-thread stream can. */
	EQ(cuStreamBeginCapture_v2(NULL, 2), 900, "capturing the legacy stream");
	EQ(cuStreamBeginCapture_v2_ptsz(NULL, 2), 0, "cuStreamBeginCapture_v2_ptsz(NULL, relaxed)");
	int st = 9; unsigned long long cid = 0;
	EQ(cuStreamIsCapturing_ptsz(NULL, &st), 0, "cuStreamIsCapturing_ptsz"); EQ(st, 1, "active");
	st = 9;
	EQ(cuStreamIsCapturing((H)2, &st), 0, "cuStreamIsCapturing(CU_STREAM_PER_THREAD)"); EQ(st, 1, "the same capture");
	st = 9;
	EQ(cuStreamIsCapturing(s, &st), 0, "another stream"); EQ(st, 0, "is not capturing");
	EQ(cuStreamGetCaptureInfo_ptsz(NULL, &st, &cid), 0, "cuStreamGetCaptureInfo_ptsz");
	CHECK(st == 1 && cid != 0, "capturing, with an id");
	H cg = NULL; const H *deps = NULL; size_t nd = 9;
	EQ(cuStreamGetCaptureInfo_v2_ptsz(NULL, &st, &cid, &cg, &deps, &nd), 0, "cuStreamGetCaptureInfo_v2_ptsz");
	EQ(nd, 0, "no nodes captured yet");
	EQ(cuMemsetD32Async_ptsz(a, 0x5a5a5a5a, 8, NULL), 0, "a captured fill");
	EQ(cuMemsetD8_v2_ptds(a, 0, 8), 900, "a synchronous fill cannot join the capture");
	H g = NULL;
	EQ(cuStreamEndCapture_ptsz(NULL, &g), 901, "the capture was invalidated");
	EQ(cuStreamBeginCapture_ptsz(NULL), 0, "cuStreamBeginCapture_ptsz");
	EQ(cuMemsetD32Async_ptsz(a, 0x5a5a5a5a, 8, NULL), 0, "a captured fill");
	EQ(cuMemcpyDtoH_v2(back, a, 4), 0, "read on the legacy stream");
	CHECK(back[0] != 0x5a, "a captured fill does not run");
	EQ(cuStreamEndCapture_ptsz(NULL, &g), 0, "cuStreamEndCapture_ptsz");
	size_t n = 0;
	EQ(cuGraphGetNodes(g, NULL, &n), 0, "the graph's nodes"); EQ(n, 1, "the fill");
	H exec = NULL;
	EQ(cuGraphInstantiateWithFlags(&exec, g, 0), 0, "instantiate");
	EQ(cuGraphUpload_ptsz(exec, NULL), 0, "cuGraphUpload_ptsz");
	EQ(cuGraphLaunch_ptsz(exec, NULL), 0, "cuGraphLaunch_ptsz");
	EQ(cuStreamSynchronize_ptsz(NULL), 0, "sync");
	EQ(cuMemcpyDtoH_v2_ptds(back, a, 4), 0, "read");
	EQ(back[0], 0x5a, "the replayed fill ran");
	cuGraphExecDestroy(exec); cuGraphDestroy(g);

	/* cuGetProcAddress with CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM hands out these forms. */
	void *fn = NULL; int pst = 9;
	EQ(cuGetProcAddress_v2("cuMemcpyHtoD", &fn, 12000, 2, &pst), 0, "cuMemcpyHtoD, per-thread");
	CHECK(fn == (void *)cuMemcpyHtoD_v2_ptds, "resolves to cuMemcpyHtoD_v2_ptds");
	EQ(cuGetProcAddress_v2("cuLaunchKernel", &fn, 12000, 2, &pst), 0, "cuLaunchKernel, per-thread");
	CHECK(fn == (void *)cuLaunchKernel_ptsz, "resolves to cuLaunchKernel_ptsz");
	EQ(cuGetProcAddress_v2("cuLaunchKernel", &fn, 12000, 1, &pst), 0, "cuLaunchKernel, legacy");
	CHECK(fn == (void *)cuLaunchKernel, "resolves to cuLaunchKernel");
	EQ(cuGetProcAddress_v2("cuCtxSynchronize", &fn, 12000, 2, &pst), 0, "a call without a stream, per-thread");
	CHECK(fn == (void *)cuCtxSynchronize, "has one form");
	cuEventDestroy(ev); cuStreamDestroy(s); cuMemFree_v2(a); cuMemFree_v2(b);
}

/* Graphs built by hand through the driver: edges and their inspection, clones, event, host,
 * child-graph, memset and kernel nodes, parameters in the graph and in an executable graph.
 * Host and kernel nodes name this process's functions and argument arrays: a remote client
 * carries them itself (the same rules). */
static int host_node_calls, host_node_calls2;
static void host_node_fn(void *p) { (*(int *)p)++; }
static int has(const H *list, size_t n, H x) { for (size_t i = 0; i < n; i++) if (list[i] == x) return 1; return 0; }
static void memset_params(unsigned char p[40], CUdeviceptr dst, unsigned v, size_t w) {
	memset(p, 0, 40); put64(p, dst); put32(p + 16, v); put32(p + 20, 1); put64(p + 24, w); put64(p + 32, 1);
}
static void graphs2(int remote) {
	H g = NULL, child = NULL, e1 = NULL, ms = NULL, hn = NULL, er = NULL, ew = NULL, cn = NULL, cms = NULL, ctx = NULL;
	H ev = NULL, ev2 = NULL, got = NULL, exec = NULL;
	CUdeviceptr p = 0;
	EQ(cuMemAlloc_v2(&p, 256), 0, "cuMemAlloc");
	EQ(cuMemsetD8_v2_ptds(p, 0, 256), 0, "zeroed");
	cuCtxGetCurrent(&ctx);
	EQ(cuEventCreate(&ev, 0), 0, "an event"); EQ(cuEventCreate(&ev2, 0), 0, "another");
	EQ(cuGraphCreate(&g, 0), 0, "a graph"); EQ(cuGraphCreate(&child, 0), 0, "a child graph");
	unsigned char mp[40], mp2[40];
	memset_params(mp, p + 128, 0x21, 64);
	EQ(cuGraphAddMemsetNode(&cms, child, NULL, 0, mp, ctx), 0, "the child's fill");
	EQ(cuGraphAddEmptyNode(&e1, g, NULL, 0), 0, "an empty root");
	memset_params(mp, p, 0x55, 64);
	EQ(cuGraphAddMemsetNode(&ms, g, &e1, 1, mp, ctx), 0, "a fill after it");
	unsigned long long hp[2] = {(uintptr_t)host_node_fn, (uintptr_t)&host_node_calls};
	H last = ms;
	{ /* a remote client runs the host function itself, in the graph's order */
		EQ(cuGraphAddHostNode(&hn, g, &ms, 1, hp), 0, "a host node after the fill");
		unsigned long long bad[2] = {0, 0};
		EQ(cuGraphAddHostNode(&got, g, NULL, 0, bad), 1, "a host node without a function");
		unsigned long long back[2] = {0, 0};
		EQ(cuGraphHostNodeGetParams(hn, back), 0, "cuGraphHostNodeGetParams");
		CHECK(back[0] == hp[0] && back[1] == hp[1], "the host node's parameters");
		EQ(cuGraphHostNodeGetParams(ms, back), 1, "a memset node is no host node");
		last = hn;
	}
	EQ(cuGraphAddEventRecordNode(&er, g, &last, 1, ev), 0, "an event record node");
	EQ(cuGraphAddEventRecordNode(&got, g, NULL, 0, (H)0x7ead0000dea0), 1, "a wild event");
	EQ(cuGraphAddEventWaitNode(&ew, g, NULL, 0, ev2), 0, "an event wait node, a root");
	EQ(cuGraphAddChildGraphNode(&cn, g, &e1, 1, child), 0, "a child graph node");
	EQ(cuGraphAddChildGraphNode(&got, g, NULL, 0, g), 1, "a graph is not its own child");

	/* Roots, edges, dependencies. */
	H list[8]; size_t n = 0;
	EQ(cuGraphGetRootNodes(g, NULL, &n), 0, "counting roots"); EQ(n, 2, "the empty node and the wait");
	n = 8;
	EQ(cuGraphGetRootNodes(g, list, &n), 0, "the roots"); EQ(n, 2, "two written");
	CHECK(has(list, 2, e1) && has(list, 2, ew) && list[2] == NULL, "the roots are e1 and the wait, NULL past them");
	size_t edges = 4; /* with the host node, in both */
	EQ(cuGraphGetEdges(g, NULL, NULL, &n), 0, "counting edges"); EQ(n, edges, "the edges");
	H from[8], to[8];
	n = 8;
	EQ(cuGraphGetEdges(g, from, to, &n), 0, "the edges"); EQ(n, edges, "all written");
	int found = 0;
	for (size_t i = 0; i < n; i++) found += (from[i] == e1 && to[i] == ms) + (from[i] == e1 && to[i] == cn) + (from[i] == last && to[i] == er);
	EQ(found, 3, "e1 -> fill, e1 -> child, last -> record");
	EQ(cuGraphGetEdges(g, from, NULL, &n), 1, "one array without the other");
	n = 8;
	EQ(cuGraphNodeGetDependencies(er, list, &n), 0, "cuGraphNodeGetDependencies"); EQ(n, 1, "one");
	CHECK(list[0] == last, "the record waits for the last node");
	n = 0;
	EQ(cuGraphNodeGetDependentNodes(e1, NULL, &n), 0, "cuGraphNodeGetDependentNodes"); EQ(n, 2, "the fill and the child");
	EQ(cuGraphRemoveDependencies(g, &e1, &cn, 1), 0, "removing e1 -> child");
	EQ(cuGraphGetRootNodes(g, NULL, &n), 0, "roots again"); EQ(n, 3, "the child is a root now");
	EQ(cuGraphRemoveDependencies(g, &e1, &cn, 1), 1, "an edge that is not there");
	EQ(cuGraphAddDependencies(g, &e1, &cn, 1), 0, "and back");

	/* The DOT description, written by this process (under remote too). */
	char dot[] = "/tmp/vgpu-driver13-dot-XXXXXX";
	int dfd = mkstemp(dot);
	CHECK(dfd >= 0, "a temporary file");
	close(dfd);
	EQ(cuGraphDebugDotPrint(g, dot, 0), 0, "cuGraphDebugDotPrint");
	EQ(cuGraphDebugDotPrint(g, NULL, 0), 1, "no path");
	EQ(cuGraphDebugDotPrint((H)0x7ead0000dea0, dot + 1, 0), 1, "a wild graph");
	char text[4096] = {0};
	FILE *df = fopen(dot, "r");
	size_t got_n = df ? fread(text, 1, sizeof text - 1, df) : 0;
	if (df) fclose(df);
	unlink(dot);
	CHECK(got_n > 0 && strstr(text, "digraph") && strstr(text, "MEMSET") && strstr(text, "EVENT_RECORD") && strstr(text, "->"),
	      "the description names the nodes and edges: %.80s", text);

	/* Clones know where their nodes came from. */
	H clone = NULL, twin = NULL;
	EQ(cuGraphClone(&clone, g), 0, "a clone");
	EQ(cuGraphNodeFindInClone(&twin, ms, clone), 0, "cuGraphNodeFindInClone");
	int type = 0;
	CHECK(twin != NULL && twin != ms, "the clone's own node");
	EQ(cuGraphNodeGetType(twin, &type), 0, "its type"); EQ(type, 2, "a memset node");
	EQ(cuGraphNodeFindInClone(&twin, ms, g), 1, "a graph is not a clone of itself");
	cuGraphDestroy(clone);

	/* Event nodes name their events; setting one changes it. */
	EQ(cuGraphEventRecordNodeGetEvent(er, &got), 0, "cuGraphEventRecordNodeGetEvent"); CHECK(got == ev, "the event");
	EQ(cuGraphEventWaitNodeGetEvent(ew, &got), 0, "cuGraphEventWaitNodeGetEvent"); CHECK(got == ev2, "the waited event");
	EQ(cuGraphEventWaitNodeGetEvent(er, &got), 1, "a record node is no wait node");
	EQ(cuGraphEventWaitNodeSetEvent(ew, ev), 0, "cuGraphEventWaitNodeSetEvent");
	EQ(cuGraphEventWaitNodeGetEvent(ew, &got), 0, "again"); CHECK(got == ev, "the new event");
	EQ(cuGraphEventRecordNodeSetEvent(er, ev2), 0, "cuGraphEventRecordNodeSetEvent");
	EQ(cuGraphEventRecordNodeGetEvent(er, &got), 0, "again"); CHECK(got == ev2, "the new event");

	/* Memset parameters in the graph. */
	EQ(cuGraphMemsetNodeGetParams(ms, mp2), 0, "cuGraphMemsetNodeGetParams");
	CHECK(!memcmp(mp, mp2, 40), "what the node was given");
	memset_params(mp, p, 0x66, 64);
	EQ(cuGraphMemsetNodeSetParams(ms, mp), 0, "cuGraphMemsetNodeSetParams");
	mp[20] = 3;
	EQ(cuGraphMemsetNodeSetParams(ms, mp), 1, "an element size of 3");
	EQ(cuGraphMemsetNodeGetParams(er, mp2), 1, "a record node is no memset node");

	/* Instantiate with parameters, launch, and check every node did its part. */
	unsigned long long ip[4] = {0x100, 0, 0, 7};
	EQ(cuGraphInstantiateWithParams(&exec, g, ip), 1, "an unknown instantiate flag");
	EQ((unsigned)ip[3], 1, "CUDA_GRAPH_INSTANTIATE_ERROR");
	ip[0] = 0; ip[3] = 7;
	EQ(cuGraphInstantiateWithParams(&exec, g, ip), 0, "cuGraphInstantiateWithParams");
	EQ((unsigned)ip[3], 0, "CUDA_GRAPH_INSTANTIATE_SUCCESS");
	unsigned long long xf = 9;
	EQ(cuGraphExecGetFlags(exec, &xf), 0, "cuGraphExecGetFlags"); EQ(xf, 0, "no flags");
	host_node_calls = 0;
	EQ(cuGraphLaunch(exec, NULL), 0, "launch");
	EQ(cuCtxSynchronize(), 0, "it ran");
	unsigned char buf[256];
	EQ(cuMemcpyDtoH_v2(buf, p, 256), 0, "read");
	CHECK(buf[0] == 0x66 && buf[63] == 0x66 && buf[64] == 0, "the changed fill ran: %x", buf[0]);
	CHECK(buf[128] == 0x21 && buf[191] == 0x21 && buf[192] == 0, "the child graph's fill ran: %x", buf[128]);
	EQ(cuEventQuery(ev2), 0, "the record node recorded its event");
	EQ(host_node_calls, 1, "the host node ran once");

	/* An executable graph's own parameters. */
	memset_params(mp, p, 0x44, 64);
	EQ(cuGraphExecMemsetNodeSetParams(exec, ms, mp, ctx), 0, "cuGraphExecMemsetNodeSetParams");
	EQ(cuGraphExecMemsetNodeSetParams(exec, ms, mp, (H)0x7ead0000dea0), 201, "a wild context");
	EQ(cuGraphExecEventRecordNodeSetEvent(exec, er, ev), 0, "cuGraphExecEventRecordNodeSetEvent");
	EQ(cuGraphExecEventWaitNodeSetEvent(exec, ew, ev2), 0, "cuGraphExecEventWaitNodeSetEvent");
	EQ(cuGraphExecEventWaitNodeSetEvent(exec, er, ev2), 1, "a record node is no wait node");
	{
		unsigned long long hp2[2] = {(uintptr_t)host_node_fn, (uintptr_t)&host_node_calls2};
		EQ(cuGraphExecHostNodeSetParams(exec, hn, hp2), 0, "cuGraphExecHostNodeSetParams");
		EQ(cuGraphHostNodeSetParams(hn, hp2), 0, "cuGraphHostNodeSetParams");
	}
	EQ(cuGraphLaunch(exec, NULL), 0, "launch again");
	EQ(cuCtxSynchronize(), 0, "it ran");
	EQ(cuMemcpyDtoH_v2(buf, p, 1), 0, "read"); EQ(buf[0], 0x44, "the executable graph's fill");
	EQ(cuGraphMemsetNodeGetParams(ms, mp2), 0, "the graph's node"); EQ(mp2[16], 0x66, "keeps its own value");
	CHECK(host_node_calls == 1 && host_node_calls2 == 1, "the executable graph's host node called the new function's data");
	H errNode = (H)1; int res = 9;
	EQ(cuGraphExecUpdate(exec, g, &errNode, &res), 0, "cuGraphExecUpdate from the graph");
	CHECK(res == 0 && errNode == NULL, "CU_GRAPH_EXEC_UPDATE_SUCCESS (%d)", res);
	H exec2 = NULL, errn = NULL; char log[64] = "x";
	EQ(cuGraphInstantiate(&exec2, g, &errn, log, sizeof log), 0, "cuGraphInstantiate (the first form)");
	cuGraphExecDestroy(exec2);

	/* Kernel nodes (kernels are no-ops here). */
	H mod = NULL, f = NULL, kn = NULL, kg = NULL;
	EQ(cuModuleLoadData(&mod, cubin), 0, "the module");
	EQ(cuModuleGetFunction(&f, mod, K_ADD), 0, "a function");
	EQ(cuGraphCreate(&kg, 0), 0, "a graph for kernels");
	int a = 1, b = 2;
	void *args[] = {&p, &a, &b};
	unsigned char kp[72] = {0};
	put64(kp, (uintptr_t)f); put32(kp + 8, 2); put32(kp + 12, 1); put32(kp + 16, 1); put32(kp + 20, 32); put32(kp + 24, 1); put32(kp + 28, 1);
	put64(kp + 40, (uintptr_t)args);
	{ /* a remote client packs the arguments by the kernel's layout */
		EQ(cuGraphAddKernelNode(&kn, kg, NULL, 0, kp), 0, "cuGraphAddKernelNode");
		unsigned char kb[72];
		memset(kb, 0xee, sizeof kb);
		EQ(cuGraphKernelNodeGetParams_v2(kn, kb), 0, "cuGraphKernelNodeGetParams_v2");
		CHECK(!memcmp(kb, kp, 56) && kb[56] == 0 && kb[71] == 0, "what the node was given, no kernel or context");
		put32(kp + 20, 4096);
		EQ(cuGraphKernelNodeSetParams(kn, kp), 1, "too large a block");
		put32(kp + 20, 64);
		EQ(cuGraphKernelNodeSetParams_v2(kn, kp), 0, "cuGraphKernelNodeSetParams_v2");
		EQ(cuGraphKernelNodeGetParams(kn, kb), 0, "cuGraphKernelNodeGetParams"); EQ(kb[20], 64, "the new block");
		H k2 = NULL, kx = NULL;
		EQ(cuGraphAddKernelNode_v2(&k2, kg, &kn, 1, kp), 0, "cuGraphAddKernelNode_v2 after it");
		put64(kp, 0);
		EQ(cuGraphAddKernelNode_v2(&k2, kg, NULL, 0, kp), 1, "no function and no kernel");
		put64(kp, (uintptr_t)f);
		EQ(cuGraphInstantiateWithFlags(&kx, kg, 0), 0, "instantiate");
		put32(kp + 8, 4);
		EQ(cuGraphExecKernelNodeSetParams(kx, kn, kp), 0, "cuGraphExecKernelNodeSetParams");
		EQ(cuGraphExecKernelNodeSetParams_v2(kx, kn, kp), 0, "cuGraphExecKernelNodeSetParams_v2");
		EQ(cuGraphKernelNodeGetParams(kn, kb), 0, "the graph's node"); EQ(kb[8], 2, "keeps its grid");
		EQ(cuGraphLaunch(kx, NULL), 0, "the kernels launch");
		EQ(cuCtxSynchronize(), 0, "and complete");
		cuGraphExecDestroy(kx);
	}
	cuGraphDestroy(kg);
	cuModuleUnload(mod);
	cuGraphExecDestroy(exec); cuGraphDestroy(g); cuGraphDestroy(child);
	cuEventDestroy(ev); cuEventDestroy(ev2); cuMemFree_v2(p);
}

/* Device, context and stream queries: legacy properties are attributes 1-14; no LUID on
 * Linux (801); execution affinity needs MPS (support 0, 224 when asked for); fixed
 * four-byte shared memory banks; stream attributes as the runtime keeps them; writes of a
 * value in stream order. */
/* The IPC handles travel by value (64 bytes). */
typedef struct { unsigned char b[64]; } ipc_t;
static CUresult (*ipc_open_mem)(CUdeviceptr *, ipc_t, unsigned), (*ipc_open_mem2)(CUdeviceptr *, ipc_t, unsigned), (*ipc_open_ev)(H *, ipc_t);
static void queries(void) {
	int prop[14], attr = 0;
	memset(prop, 0xff, sizeof prop);
	EQ(cuDeviceGetProperties(prop, 0), 0, "cuDeviceGetProperties");
	for (int i = 0; i < 14; i++) {
		EQ(cuDeviceGetAttribute(&attr, i + 1, 0), 0, "an attribute");
		CHECK(prop[i] == attr && attr != 0, "CUdevprop field %d: %d, attribute %d", i, prop[i], attr);
	}
	EQ(cuDeviceGetProperties(prop, 9), 101, "no device 9");
	EQ(cuDeviceGetProperties(NULL, 0), 1, "no output");
	char luid[8]; unsigned mask = 0;
	EQ(cuDeviceGetLuid(luid, &mask, 0), 801, "no LUID on Linux");
	EQ(cuDeviceGetLuid(luid, &mask, 9), 101, "no device 9");
	size_t w = 0;
	EQ(cuDeviceGetTexture1DLinearMaxWidth(&w, 0x20, 4, 0), 0, "cuDeviceGetTexture1DLinearMaxWidth float4");
	EQ(w, 1 << 28, "2^28 elements");
	EQ(cuDeviceGetTexture1DLinearMaxWidth(&w, 0x20, 3, 0), 1, "three channels");
	EQ(cuDeviceGetTexture1DLinearMaxWidth(&w, 0x77, 1, 0), 1, "no such format");
	int cfg = 9;
	EQ(cuCtxGetSharedMemConfig(&cfg), 0, "cuCtxGetSharedMemConfig"); EQ(cfg, 1, "four-byte banks");
	EQ(cuCtxSetSharedMemConfig(2), 0, "asking for eight-byte banks");
	EQ(cuCtxGetSharedMemConfig(&cfg), 0, "again"); EQ(cfg, 1, "the banks are fixed");
	EQ(cuCtxSetSharedMemConfig(3), 1, "no such configuration");
	int sup = 9;
	EQ(cuDeviceGetExecAffinitySupport(&sup, 0, 0), 0, "cuDeviceGetExecAffinitySupport"); EQ(sup, 0, "no MPS, no SM affinity");
	EQ(cuDeviceGetExecAffinitySupport(&sup, 5, 0), 1, "no such affinity type");
	int aff[2] = {9, 0};
	EQ(cuCtxGetExecAffinity(aff, 0), 0, "cuCtxGetExecAffinity");
	EQ(cuDeviceGetAttribute(&attr, 16, 0), 0, "the SM count");
	CHECK(aff[0] == 0 && aff[1] == attr, "the context may use all %d SMs (%d)", attr, aff[1]);
	EQ(cuCtxGetExecAffinity(aff, 3), 224, "no such affinity");
	H c3 = NULL, cur = NULL;
	cuCtxGetCurrent(&cur);
	int param[2] = {0, 4};
	EQ(cuCtxCreate_v3(&c3, param, 1, 0, 0), 224, "a context limited to 4 SMs needs MPS");
	EQ(cuCtxCreate_v3(&c3, NULL, 1, 0, 0), 1, "a count without parameters");
	EQ(cuCtxCreate_v3(&c3, NULL, 0, 0, 0), 0, "cuCtxCreate_v3 without affinity");
	H now = NULL;
	cuCtxGetCurrent(&now);
	CHECK(now == c3 && c3 != NULL, "the new context is current");
	EQ(cuCtxDestroy_v2(c3), 0, "destroyed");
	cuCtxSetCurrent(cur);

	/* Stream attributes: 3 is the synchronisation policy, 8 the priority (launch attribute ids). */
	H s = NULL, s2 = NULL;
	unsigned char v[64], v2[64];
	EQ(cuStreamCreateWithPriority(&s, 1, 0), 0, "a stream"); EQ(cuStreamCreateWithPriority(&s2, 1, 0), 0, "another");
	memset(v, 0xee, sizeof v);
	EQ(cuStreamGetAttribute(s, 3, v), 0, "cuStreamGetAttribute"); EQ(v[0], 1, "automatic synchronisation by default");
	memset(v, 0, sizeof v); v[0] = 3;
	EQ(cuStreamSetAttribute(s, 3, v), 0, "cuStreamSetAttribute: blocking sync");
	v[0] = 7;
	EQ(cuStreamSetAttribute(s, 3, v), 1, "no such policy");
	memset(v, 0, sizeof v); v[0] = 0xfd; v[1] = v[2] = v[3] = 0xff; /* -3 */
	EQ(cuStreamSetAttribute(s, 8, v), 0, "a priority");
	EQ(cuStreamGetAttribute(s, 99, v), 1, "no such attribute");
	EQ(cuStreamSetAttribute(NULL, 3, v), 400, "the legacy stream is not one caller's to change");
	EQ(cuStreamCopyAttributes(s2, s), 0, "cuStreamCopyAttributes");
	EQ(cuStreamGetAttribute(s2, 3, v2), 0, "the copy's policy"); EQ(v2[0], 3, "blocking sync");
	EQ(cuStreamGetAttribute(s2, 8, v2), 0, "the copy's priority"); EQ((signed char)v2[0], -3, "-3");
	int prio = 0;
	EQ(cuStreamGetPriority(s2, &prio), 0, "cuStreamGetPriority"); EQ(prio, -3, "the stream's priority followed");
	memset(v, 0, sizeof v); v[0] = 2;
	EQ(cuStreamSetAttribute_ptsz(NULL, 3, v), 0, "cuStreamSetAttribute_ptsz: the per-thread stream's");
	EQ(cuStreamGetAttribute_ptsz(NULL, 3, v2), 0, "cuStreamGetAttribute_ptsz"); EQ(v2[0], 2, "spin");
	EQ(cuStreamGetAttribute((H)2, 3, v2), 0, "through CU_STREAM_PER_THREAD"); EQ(v2[0], 2, "the same stream");
	EQ(cuStreamCopyAttributes_ptsz(s2, NULL), 0, "cuStreamCopyAttributes_ptsz");
	EQ(cuStreamGetAttribute(s2, 3, v2), 0, "the copy"); EQ(v2[0], 2, "from the per-thread stream");
	EQ(cuStreamCopyAttributes(s2, (H)0x7ead0000dea0), 400, "a wild source");

	/* Writes of a value, in stream order after earlier work. */
	CUdeviceptr p = 0;
	unsigned long long back[4] = {0};
	EQ(cuMemAlloc_v2(&p, 64), 0, "memory");
	EQ(cuMemsetD8Async_ptsz(p, 0xaa, 64, s), 0, "a fill first");
	EQ(cuStreamWriteValue32(s, p, 0x12345678, 0), 0, "cuStreamWriteValue32");
	EQ(cuStreamWriteValue32_v2(s, p + 4, 0x9abcdef0, 1), 0, "cuStreamWriteValue32_v2 without a barrier");
	EQ(cuStreamWriteValue64(s, p + 8, 0x1122334455667788ull, 0), 0, "cuStreamWriteValue64");
	EQ(cuStreamWriteValue64_v2(s, p + 16, 0x0102030405060708ull, 0), 0, "cuStreamWriteValue64_v2");
	EQ(cuStreamWriteValue64(s, p + 4, 1, 0), 1, "a misaligned 64-bit write");
	EQ(cuStreamWriteValue32(s, p + 2, 1, 0), 1, "a misaligned 32-bit write");
	EQ(cuStreamWriteValue32(s, p, 1, 4), 1, "an unknown flag");
	EQ(cuStreamWriteValue32_ptsz(NULL, p + 24, 0xcafef00d, 0), 0, "cuStreamWriteValue32_ptsz");
	EQ(cuStreamWriteValue32_v2_ptsz(NULL, p + 28, 0x0badf00d, 0), 0, "cuStreamWriteValue32_v2_ptsz");
	EQ(cuStreamSynchronize(s), 0, "sync"); EQ(cuStreamSynchronize_ptsz(NULL), 0, "sync");
	EQ(cuMemcpyDtoH_v2(back, p, 32), 0, "read");
	EQ(back[0], 0x9abcdef012345678ull, "the two 32-bit writes after the fill");
	EQ(back[1], 0x1122334455667788ull, "the 64-bit write");
	EQ(back[2], 0x0102030405060708ull, "the _v2 64-bit write");
	EQ(back[3], 0x0badf00dcafef00dull, "the per-thread stream's writes");
	EQ(cuStreamWriteValue64_ptsz(NULL, p + 32, 5, 0), 0, "cuStreamWriteValue64_ptsz");
	EQ(cuStreamWriteValue64_v2_ptsz(NULL, p + 40, 6, 0), 0, "cuStreamWriteValue64_v2_ptsz");
	EQ(cuMemcpyDtoH_v2_ptds(back, p + 32, 16), 0, "read on the per-thread stream");
	CHECK(back[0] == 5 && back[1] == 6, "the per-thread stream's 64-bit writes: %llu %llu", back[0], back[1]);

	/* IPC: a handle for any address in an allocation; a process's own handle does not open
	 * (cuda/ipc_test.go opens one from another client of a server). */
	ipc_t mh, eh, junk;
	memset(&mh, 0, sizeof mh);
	EQ(cuIpcGetMemHandle(&mh, p + 8), 0, "cuIpcGetMemHandle of an interior address");
	EQ(cuIpcGetMemHandle(&junk, 0x7ead0000dea0), 1, "a wild address");
	{
		CUdeviceptr q = 0;
		EQ(ipc_open_mem(&q, mh, 0), 201, "a process's own handle does not open");
		EQ(ipc_open_mem2(&q, mh, 0), 201, "nor through cuIpcOpenMemHandle_v2");
		EQ(ipc_open_mem(&q, mh, 4), 1, "an unknown flag");
	}
	EQ(cuIpcCloseMemHandle(p), 1, "closing what was never opened");
	H iev = NULL;
	EQ(cuEventCreate(&iev, 0), 0, "an event");
	EQ(cuIpcGetEventHandle(&eh, iev), 400, "not made for IPC");
	cuEventDestroy(iev);
	EQ(cuEventCreate(&iev, 6), 0, "an interprocess event without timing");
	EQ(cuIpcGetEventHandle(&eh, iev), 0, "cuIpcGetEventHandle");
	{ H o = NULL; EQ(ipc_open_ev(&o, eh), 201, "a process's own event handle does not open"); }
	cuEventDestroy(iev);
	cuMemFree_v2(p); cuStreamDestroy(s); cuStreamDestroy(s2);
}

int main(int argc, char **argv) {
	if (argc < 2) { fprintf(stderr, "usage: driver13 LIBDIR [label]\n"); return 2; }
	const char *label = argc > 2 ? argv[2] : "sim";
	int remote = !strcmp(label, "remote");
	remote_client = remote;
	char path[4096];
	snprintf(path, sizeof path, "%s/libcuda.so.1", argv[1]);
	void *lib = dlopen(path, RTLD_NOW);
	if (!lib) { printf("driver13: FAIL: %s\n", dlerror()); return 1; }
#define LOAD(name, args) if (!(name = (CUresult(*) args)dlsym(lib, #name))) { printf("driver13: FAIL: %s not exported\n", #name); return 1; }
	FNS(LOAD)
	FNS2(LOAD)
	ipc_open_mem = (CUresult (*)(CUdeviceptr *, ipc_t, unsigned))dlsym(lib, "cuIpcOpenMemHandle");
	ipc_open_mem2 = (CUresult (*)(CUdeviceptr *, ipc_t, unsigned))dlsym(lib, "cuIpcOpenMemHandle_v2");
	ipc_open_ev = (CUresult (*)(H *, ipc_t))dlsym(lib, "cuIpcOpenEventHandle");
	if (!ipc_open_mem || !ipc_open_mem2 || !ipc_open_ev) { printf("driver13: FAIL: cuIpcOpen* not exported\n"); return 1; }
	make_cubin();
	H ctx = NULL;
	EQ(cuLibraryLoadData(&ctx, cubin, NULL, NULL, 0, NULL, NULL, 0), remote ? 0 : 3, "before cuInit (a remote client's libraries are its own records)");
	EQ(cuInit(0), 0, "cuInit");
	EQ(cuDevicePrimaryCtxRetain(&ctx, 0), 0, "cuDevicePrimaryCtxRetain");
	EQ(cuCtxSetCurrent(ctx), 0, "cuCtxSetCurrent");
	void *fn = NULL;
	int st = 9;
	EQ(cuGetProcAddress_v2("cuLibraryGetKernel", &fn, 12040, 0, &st), 0, "cuGetProcAddress finds cuLibraryGetKernel");
	CHECK(fn == (void *)cuLibraryGetKernel, "the same entry point");
	EQ(cuGetProcAddress_v2("cuStreamBeginCapture", &fn, 12000, 0, &st), 0, "cuStreamBeginCapture at CUDA 12");
	CHECK(fn == (void *)cuStreamBeginCapture_v2, "resolves to the form with a mode");
	libraries(remote);
	streams_events(remote);
	contexts_memory(remote);
	graphs();
	pitched_copies();
	pools();
	per_thread();
	graphs2(remote);
	queries();
	printf("driver13 (%s): %d checks, %d failure(s)\n", label, checks, failures);
	return failures != 0;
}
