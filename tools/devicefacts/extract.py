#!/usr/bin/env python3
"""Reads the CUDA headers on a GPU machine and writes a C program that prints
enum values and struct offsets as the compiler sees them, plus the values the
real device reports. Only facts (numbers, names, offsets) come out of it."""
import re, sys, os

inc = sys.argv[1]
def read(name):
    for root, _, files in os.walk(inc):
        if name in files:
            return open(os.path.join(root, name), errors="replace").read()
    return ""

def strip(s):
    s = re.sub(r"/\*.*?\*/", " ", s, flags=re.S)
    return re.sub(r"//[^\n]*", " ", s)

src = {h: strip(read(h)) for h in ["cuda.h", "driver_types.h", "cuda_runtime_api.h", "library_types.h", "cublas_api.h", "nvml.h"]}
have_nvml = bool(src["nvml.h"])

ENUMS = {
 "cuda.h": ["CUdevice_attribute_enum", "cudaError_enum", "CUmemAllocationGranularity_flags_enum", "CUmemAllocationType_enum",
            "CUmemLocationType_enum", "CUmemAllocationHandleType_enum", "CUmemAccess_flags_enum", "CUpointer_attribute_enum",
            "CUfunction_attribute_enum", "CUctx_flags_enum", "CUdriverProcAddress_flags_enum", "CUdriverProcAddressQueryResult_enum",
            "CUstreamCaptureStatus_enum", "CUmemorytype_enum", "CUlimit_enum"],
 "driver_types.h": ["cudaDeviceAttr", "cudaError", "cudaMemcpyKind", "cudaStreamCaptureStatus", "cudaStreamCaptureMode",
            "cudaFuncAttribute", "cudaGraphExecUpdateResult", "cudaMemoryType", "cudaLimit", "cudaLaunchAttributeID", "cudaGraphInstantiateFlags"],
 "library_types.h": ["cudaDataType_t", "libraryPropertyType_t"],
 "cublas_api.h": ["cublasStatus_t", "cublasMath_t", "cublasOperation_t", "cublasComputeType_t", "cublasGemmAlgo_t", "cublasPointerMode_t"],
 "nvml.h": ["nvmlReturn_enum", "nvmlBrandType_enum", "nvmlClockType_enum", "nvmlTemperatureSensors_enum", "nvmlEnableState_enum",
            "nvmlComputeMode_enum", "nvmlPstates_enum", "nvmlMemoryErrorType_enum", "nvmlEccCounterType_enum", "nvmlClockId_enum",
            "nvmlGpuVirtualizationMode", "nvmlDriverModel_enum", "nvmlInforomObject_enum", "nvmlPcieUtilCounter_enum", "nvmlTemperatureThresholds_enum",
            "nvmlGpuOperationMode_enum", "nvmlRestrictedAPI_enum", "nvmlBridgeChipType_enum", "nvmlDeviceArchitecture_t"],
}
STRUCTS = {
 "driver_types.h": ["cudaDeviceProp", "cudaFuncAttributes", "cudaPointerAttributes", "cudaMemcpy3DPeerParms", "cudaMemcpy3DParms",
                    "cudaLaunchConfig_st", "cudaLaunchAttribute_st", "cudaPitchedPtr", "cudaExtent", "cudaPos", "cudaGraphExecUpdateResultInfo_st"],
 "cuda.h": ["CUmemAllocationProp_st", "CUmemLocation_st", "CUmemAccessDesc_st", "CUDA_MEMCPY3D_PEER_st"],
 "nvml.h": ["nvmlMemory_st", "nvmlMemory_v2_st", "nvmlPciInfo_st", "nvmlProcessInfo_st", "nvmlProcessInfo_v1_st", "nvmlUtilization_st",
            "nvmlBAR1Memory_st", "nvmlPciInfoExt_v1_t", "nvmlPciInfoExt_st"],
}

def enum_names(text, tag):
    # "enum TAG {" or "typedef enum TAG {" or "typedef enum {...} TAG;"
    m = re.search(r"enum\s+(?:__device_builtin__\s+)?%s\s*\{(.*?)\}" % re.escape(tag), text, re.S)
    if not m:
        m = re.search(r"enum\s*\{([^{}]*)\}\s*%s\s*;" % re.escape(tag), text, re.S)
    if not m:
        return []
    out = []
    for item in m.group(1).split(","):
        item = item.strip()
        if not item: continue
        name = re.match(r"(\w+)", item)
        if name: out.append(name.group(1))
    return out

def struct_fields(text, tag):
    m = re.search(r"struct\s+(?:__device_builtin__\s+)?(?:CUDA_ALIGN\(\d+\)\s+)?%s\s*\{" % re.escape(tag), text)
    if not m:
        m = re.search(r"typedef\s+struct\s*\{(?=[^{}]*\}\s*%s\s*;)" % re.escape(tag), text)
        if not m: return None, []
    i = m.end(); depth = 1; j = i
    while depth:
        if text[j] == "{": depth += 1
        elif text[j] == "}": depth -= 1
        j += 1
    body = text[i:j-1]
    body = re.sub(r"\{[^{}]*\}", " ", body)  # drop nested anonymous bodies
    fields = []
    for decl in body.split(";"):
        decl = decl.strip()
        if not decl: continue
        decl = re.sub(r"\[[^\]]*\]", "", decl)
        names = re.findall(r"(\w+)\s*$", decl)
        if names: fields.append(names[0])
    return m, fields

prog = ['#include <stdio.h>', '#include <stddef.h>', '#include <string.h>', '#include <cuda.h>', '#include <cuda_runtime.h>',
        '#include <cublas_v2.h>']
if have_nvml: prog.append('#include <nvml.h>')
prog.append('#define TYPEOF_STRUCT(t) t')
prog.append('int main(void){')
prog.append(' CUdevice dev; int v; cuInit(0); cuDeviceGet(&dev, 0);')
for hdr, tags in ENUMS.items():
    for tag in tags:
        for n in enum_names(src[hdr], tag):
            if n.endswith("_MAX") or n.endswith("FORCE_DWORD") or n.startswith("__"):
                continue
            prog.append(' printf("enum %s %s %%lld\\n", (long long)%s);' % (tag, n, n))
# real values of every attribute through both APIs
for n in enum_names(src["cuda.h"], "CUdevice_attribute_enum"):
    if n.endswith("_MAX"): continue
    prog.append(' { v=-1; CUresult r = cuDeviceGetAttribute(&v, %s, dev); printf("cuattr %s %%d %%d %%d\\n", (int)%s, (int)r, v); }' % (n, n, n))
for n in enum_names(src["driver_types.h"], "cudaDeviceAttr"):
    if n.endswith("Max"): continue
    prog.append(' { v=-1; cudaError_t r = cudaDeviceGetAttribute(&v, %s, 0); printf("rtattr %s %%d %%d %%d\\n", (int)%s, (int)r, v); }' % (n, n, n))
for hdr, tags in STRUCTS.items():
    for tag in tags:
        m, fields = struct_fields(src[hdr], tag)
        if not fields: 
            prog.append(' printf("struct %s MISSING\\n");' % tag); continue
        ctype = ("struct " + tag) if re.search(r"struct\s+(?:__device_builtin__\s+)?(?:CUDA_ALIGN\(\d+\)\s+)?%s\s*\{" % re.escape(tag), src[hdr]) else tag
        prog.append(' printf("struct %s size %%zu\\n", sizeof(%s));' % (tag, ctype))
        for f in fields:
            prog.append(' printf("field %s %s %%zu %%zu\\n", offsetof(%s, %s), sizeof(((%s*)0)->%s));' % (tag, f, ctype, f, ctype, f))
# real device properties, raw
prog.append(' struct cudaDeviceProp p; memset(&p, 0, sizeof p); cudaGetDeviceProperties(&p, 0);')
m, fields = struct_fields(src["driver_types.h"], "cudaDeviceProp")
for f in fields:
    prog.append(' { const unsigned char* b = (const unsigned char*)&p.%s; size_t n = sizeof(p.%s); printf("prop %s"); for (size_t i=0;i<n;i++) printf(" %%02x", b[i]); printf("\\n"); }' % (f, f, f))
prog.append(' printf("propname %s\\n", p.name);')
prog.append(' { size_t fr=0,tot=0; cudaMemGetInfo(&fr,&tot); printf("memgetinfo free %zu total %zu\\n", fr, tot); }')
prog.append(' { size_t t=0; cuDeviceTotalMem(&t, dev); printf("cuDeviceTotalMem %zu\\n", t); }')
prog.append(' { int d=0; cuDriverGetVersion(&d); int r=0; cudaRuntimeGetVersion(&r); printf("versions driver %d runtime %d\\n", d, r); }')
prog.append(' { char b[64]; cuDeviceGetPCIBusId(b, 64, dev); printf("cupcibusid %s\\n", b); cudaDeviceGetPCIBusId(b, 64, 0); printf("rtpcibusid %s\\n", b); }')
prog.append(' { CUmemAllocationProp ap; memset(&ap,0,sizeof ap); ap.type=CU_MEM_ALLOCATION_TYPE_PINNED; ap.location.type=CU_MEM_LOCATION_TYPE_DEVICE; ap.location.id=0; size_t g1=0,g2=0; cuMemGetAllocationGranularity(&g1,&ap,CU_MEM_ALLOC_GRANULARITY_MINIMUM); cuMemGetAllocationGranularity(&g2,&ap,CU_MEM_ALLOC_GRANULARITY_RECOMMENDED); printf("granularity min %zu rec %zu\\n", g1, g2); }')
prog.append(' { const char* s=0; for (int e=0;e<1000;e++){ if (cuGetErrorName((CUresult)e,&s)==CUDA_SUCCESS){ const char* t=0; cuGetErrorString((CUresult)e,&t); printf("cuerr %d %s | %s\\n", e, s, t?t:""); } } }')
prog.append(' { for (int e=0;e<1000;e++){ const char* s=cudaGetErrorName((cudaError_t)e); if (s && strcmp(s,"unrecognized error code")) printf("rterr %d %s | %s\\n", e, s, cudaGetErrorString((cudaError_t)e)); } }')
prog.append(' { for (int e=0;e<20;e++) printf("cublasstatus %d %s\\n", e, cublasGetStatusString((cublasStatus_t)e)); }')
prog.append(' { cudaFuncAttributes fa; memset(&fa,0,sizeof fa); printf("sizeof cudaFuncAttributes %zu\\n", sizeof fa); }')
if have_nvml:
    prog.append(' nvmlInit_v2(); nvmlDevice_t h; nvmlDeviceGetHandleByIndex_v2(0,&h);')
    prog.append(' { nvmlMemory_t m; nvmlDeviceGetMemoryInfo(h,&m); printf("nvmlmem total %llu free %llu used %llu\\n", m.total, m.free, m.used); }')
    prog.append(' { nvmlMemory_v2_t m; m.version=nvmlMemory_v2; nvmlDeviceGetMemoryInfo_v2(h,&m); printf("nvmlmem2 version %u total %llu reserved %llu free %llu used %llu\\n", m.version, m.total, m.reserved, m.free, m.used); }')
    prog.append(' { nvmlBAR1Memory_t b; nvmlDeviceGetBAR1MemoryInfo(h,&b); printf("bar1 total %llu free %llu used %llu\\n", b.bar1Total, b.bar1Free, b.bar1Used); }')
    prog.append(' { nvmlPciInfo_t pi; nvmlDeviceGetPciInfo_v3(h,&pi); printf("pci busIdLegacy %s domain %u bus %u device %u pciDeviceId 0x%08x subsys 0x%08x busId %s\\n", pi.busIdLegacy, pi.domain, pi.bus, pi.device, pi.pciDeviceId, pi.pciSubSystemId, pi.busId); }')
    prog.append(' { char b[96]; nvmlSystemGetDriverVersion(b,96); printf("nvmldriver %s\\n", b); nvmlSystemGetNVMLVersion(b,96); printf("nvmlversion %s\\n", b); int cv=0; nvmlSystemGetCudaDriverVersion_v2(&cv); printf("nvmlcuda %d\\n", cv); nvmlDeviceGetName(h,b,96); printf("nvmlname %s\\n", b); nvmlDeviceGetSerial(h,b,96); printf("nvmlserial %s\\n", b); nvmlDeviceGetVbiosVersion(h,b,96); printf("vbios %s\\n", b); nvmlDeviceGetUUID(h,b,96); printf("nvmluuid %s\\n", b); }')
    prog.append(' { unsigned int c=0; for (int t=0;t<4;t++){ nvmlDeviceGetMaxClockInfo(h,(nvmlClockType_t)t,&c); printf("maxclock %d %u\\n", t, c); nvmlDeviceGetClockInfo(h,(nvmlClockType_t)t,&c); printf("clock %d %u\\n", t, c);} nvmlDeviceGetPowerManagementLimit(h,&c); printf("powerlimit %u\\n", c); nvmlDeviceGetTemperature(h,NVML_TEMPERATURE_GPU,&c); printf("temp %u\\n",c); int ma=0,mi=0; nvmlDeviceGetCudaComputeCapability(h,&ma,&mi); printf("nvmlcc %d %d\\n",ma,mi); nvmlDeviceGetMemoryBusWidth(h,&c); printf("buswidth %u\\n",c); nvmlDeviceGetPcieLinkMaxSpeed(h,&c); printf("pciemaxspeed %u\\n",c); nvmlDeviceGetMaxPcieLinkGeneration(h,&c); printf("pciemaxgen %u\\n",c); nvmlDeviceGetMaxPcieLinkWidth(h,&c); printf("pciemaxwidth %u\\n",c); nvmlDeviceGetNumGpuCores(h,&c); printf("cores %u\\n",c); }')
prog.append(' return 0; }')
open(sys.argv[2], "w").write("\n".join(prog) + "\n")
