/* Hand-built CUDA graphs, every node kind the model has, through the driver API and the
 * runtime: each node instantiated and launched with its effect checked (copies land,
 * allocations are usable, host nodes run in the graph's order, after the work before them),
 * parameters read back and changed in the graph and in the executable graph, and the
 * documented errors on bad input. Run in-process (sim) and as a remote client of a sim
 * server: the same rules.
 *   graphnodes LIBDIR [label]
 * Status values are NVIDIA's documented numbers: 0 success, 1 invalid value, 98 invalid
 * device function, 801 not supported. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int err_t;
typedef void *H;
static int failures, checks;
static void *lib; /* the library under test, for its versioned symbols */
#define CHECK(c, ...) do { checks++; if (!(c)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)
#define ORDER(want, what) CHECK(!strcmp(order, want), "%s: ran %s, want %s", what, order, want)
#define EQ(got, want, what) do { long long g_ = (long long)(got), w_ = (long long)(want); CHECK(g_ == w_, "%s: got %lld, want %lld", what, g_, w_); } while (0)

#define FNS(X) \
	X(err_t, cuInit, (unsigned)) X(err_t, cuDevicePrimaryCtxRetain, (H *, int)) X(err_t, cuCtxSetCurrent, (H)) \
	X(err_t, cuCtxSynchronize, (void)) X(err_t, cuMemAlloc_v2, (unsigned long long *, size_t)) \
	X(err_t, cuMemcpyHtoD_v2, (unsigned long long, const void *, size_t)) X(err_t, cuMemcpyDtoH_v2, (void *, unsigned long long, size_t)) \
	X(err_t, cuModuleLoadData, (H *, const void *)) X(err_t, cuModuleGetFunction, (H *, H, const char *)) \
	X(err_t, cuGraphCreate, (H *, unsigned)) X(err_t, cuGraphDestroy, (H)) X(err_t, cuGraphExecDestroy, (H)) \
	X(err_t, cuGraphInstantiateWithFlags, (H *, H, unsigned long long)) X(err_t, cuGraphLaunch, (H, H)) \
	X(err_t, cuGraphAddMemsetNode, (H *, H, const H *, size_t, const void *, H)) \
	X(err_t, cuGraphAddMemcpyNode, (H *, H, const H *, size_t, const void *, H)) \
	X(err_t, cuGraphMemcpyNodeGetParams, (H, void *)) X(err_t, cuGraphMemcpyNodeSetParams, (H, const void *)) \
	X(err_t, cuGraphExecMemcpyNodeSetParams, (H, H, const void *, H)) \
	X(err_t, cuGraphAddHostNode, (H *, H, const H *, size_t, const void *)) X(err_t, cuGraphHostNodeGetParams, (H, void *)) \
	X(err_t, cuGraphHostNodeSetParams, (H, const void *)) X(err_t, cuGraphExecHostNodeSetParams, (H, H, const void *)) \
	X(err_t, cuGraphAddKernelNode, (H *, H, const H *, size_t, const void *)) X(err_t, cuGraphKernelNodeGetParams, (H, void *)) \
	X(err_t, cuGraphExecKernelNodeSetParams, (H, H, const void *)) \
	X(err_t, cuGraphAddMemAllocNode, (H *, H, const H *, size_t, void *)) X(err_t, cuGraphMemAllocNodeGetParams, (H, void *)) \
	X(err_t, cuGraphAddMemFreeNode, (H *, H, const H *, size_t, unsigned long long)) \
	X(err_t, cuGraphMemFreeNodeGetParams, (H, unsigned long long *)) \
	X(err_t, cuDeviceGetGraphMemAttribute, (int, int, void *)) \
	X(err_t, cuGraphAddNode, (H *, H, const H *, size_t, void *)) X(err_t, cuGraphNodeSetParams, (H, void *)) \
	X(err_t, cuGraphNodeGetType, (H, int *)) \
	X(err_t, cuGraphNodeSetEnabled, (H, H, unsigned)) X(err_t, cuGraphNodeGetEnabled, (H, H, unsigned *)) \
	X(err_t, cuGraphKernelNodeSetAttribute, (H, int, const void *)) X(err_t, cuGraphKernelNodeGetAttribute, (H, int, void *)) \
	X(err_t, cuGraphKernelNodeCopyAttributes, (H, H)) \
	X(err_t, cuUserObjectCreate, (H *, void *, void (*)(void *), unsigned, unsigned)) \
	X(err_t, cuUserObjectRelease, (H, unsigned)) X(err_t, cuGraphRetainUserObject, (H, H, unsigned, unsigned)) \
	X(err_t, cuGraphReleaseUserObject, (H, H, unsigned)) \
	X(void **, __cudaRegisterFatBinary, (void *)) X(void, __cudaRegisterFatBinaryEnd, (void **)) \
	X(void, __cudaRegisterFunction, (void **, const char *, char *, const char *, int, void *, void *, void *, void *, int *)) \
	X(void, __cudaRegisterVar, (void **, char *, char *, const char *, int, size_t, int, int)) \
	X(err_t, cudaMalloc, (void **, size_t)) X(err_t, cudaMemcpy, (void *, const void *, size_t, int)) \
	X(err_t, cudaMemset, (void *, int, size_t)) X(err_t, cudaDeviceSynchronize, (void)) \
	X(err_t, cudaGraphCreate, (H *, unsigned)) X(err_t, cudaGraphInstantiate, (H *, H, unsigned long long)) \
	X(err_t, cudaGraphLaunch, (H, H)) X(err_t, cudaGraphDestroy, (H)) X(err_t, cudaGraphExecDestroy, (H)) \
	X(err_t, cudaGraphAddMemcpyNode, (H *, H, const H *, size_t, const void *)) \
	X(err_t, cudaGraphMemcpyNodeGetParams, (H, void *)) \
	X(err_t, cudaGraphAddMemcpyNodeToSymbol, (H *, H, const H *, size_t, const void *, const void *, size_t, size_t, int)) \
	X(err_t, cudaGraphAddMemcpyNodeFromSymbol, (H *, H, const H *, size_t, void *, const void *, size_t, size_t, int)) \
	X(err_t, cudaGraphAddKernelNode, (H *, H, const H *, size_t, const void *)) \
	X(err_t, cudaGraphKernelNodeGetParams, (H, void *)) \
	X(err_t, cudaGraphAddHostNode, (H *, H, const H *, size_t, const void *)) \
	X(err_t, cudaGraphHostNodeSetParams, (H, const void *)) X(err_t, cudaGraphExecHostNodeSetParams, (H, H, const void *)) \
	X(err_t, cudaGraphAddMemAllocNode, (H *, H, const H *, size_t, void *)) \
	X(err_t, cudaGraphAddMemFreeNode, (H *, H, const H *, size_t, void *)) \
	X(err_t, cudaGraphAddNode, (H *, H, const H *, const void *, size_t, void *)) \
	X(err_t, cudaGraphConditionalHandleCreate, (unsigned long long *, H, unsigned, unsigned)) \
	X(err_t, cudaUserObjectCreate, (H *, void *, void (*)(void *), unsigned, unsigned)) \
	X(err_t, cudaGraphRetainUserObject, (H, H, unsigned, unsigned))

#define DECL(r, n, a) static r(*n) a;
FNS(DECL)

static int remote;

static void put16(unsigned char *p, unsigned v) { p[0] = v; p[1] = v >> 8; }
static void put32(unsigned char *p, unsigned v) { put16(p, v); put16(p + 2, v >> 16); }
static void put64(unsigned char *p, unsigned long long v) { put32(p, (unsigned)v); put32(p + 4, (unsigned)(v >> 32)); }

/* A cubin with one kernel, noop(): an ELF whose section names the loader reads. */
static unsigned char cubin[1024];
static void make_cubin(void) {
	static const char shstr[] = "\0.shstrtab\0.text._Z4noopv\0";
	static unsigned char code[16];
	struct { unsigned name, type; const void *data; size_t size; } s[] = {{0, 0, NULL, 0}, {1, 3, shstr, sizeof shstr}, {11, 1, code, 16}};
	size_t off = 64, offs[3] = {0};
	for (int i = 1; i < 3; i++) { offs[i] = off; memcpy(cubin + off, s[i].data, s[i].size); off = (off + s[i].size + 7) & ~7UL; }
	for (int i = 0; i < 3; i++) {
		unsigned char *h = cubin + off + 64 * i;
		put32(h, s[i].name); put32(h + 4, s[i].type); put64(h + 0x18, offs[i]); put64(h + 0x20, s[i].size);
	}
	memcpy(cubin, "\x7f" "ELF", 4); cubin[4] = 2; cubin[5] = 1; cubin[6] = 1;
	put16(cubin + 0x10, 2); put16(cubin + 0x12, 190); put32(cubin + 0x14, 1);
	put64(cubin + 0x28, off); put16(cubin + 0x34, 64); put16(cubin + 0x3a, 64); put16(cubin + 0x3c, 3); put16(cubin + 0x3e, 1);
}

/* Host nodes append their tag to a log, and check that the copy before them has landed. */
static char order[64];
static unsigned char landed[64];
static int late_copies;
struct tag { char c; unsigned char want; };
static void host_tag(void *p) {
	struct tag *t = p;
	size_t n = strlen(order);
	if (n + 1 < sizeof order) order[n] = t->c;
	if (t->want && landed[0] != t->want) late_copies++;
}
static int destroyed;
static void destructor(void *p) { __atomic_add_fetch((int *)p, 1, __ATOMIC_SEQ_CST); }

/* CUDA_MEMCPY3D (200 bytes): per side x y z at 0/88, memory type at 32/120 (1 host, 2
 * device), host pointer 40/128, device pointer 48/136, pitch 72/160; then width (176),
 * height (184), depth (192). */
static void copy3d(unsigned char *c, int dt, unsigned long long dst, int st, unsigned long long src, size_t n) {
	memset(c, 0, 200);
	put32(c + 32, st); put64(c + (st == 1 ? 40 : 48), src); put64(c + 72, n);
	put32(c + 120, dt); put64(c + (dt == 1 ? 128 : 136), dst); put64(c + 160, n);
	put64(c + 176, n); put64(c + 184, 1); put64(c + 192, 1);
}

/* CUDA_MEM_ALLOC_NODE_PARAMS: pinned device memory of device 0, bytesize at 104, dptr at 112. */
static void alloc_params(unsigned char *a, size_t n) {
	memset(a, 0, 120);
	put32(a, 1); put32(a + 8, 1); put32(a + 12, 0); put64(a + 104, n);
}

static void test_driver(void) {
	H ctx = NULL, mod = NULL, f = NULL;
	EQ(cuInit(0), 0, "cuInit");
	EQ(cuDevicePrimaryCtxRetain(&ctx, 0), 0, "primary context");
	EQ(cuCtxSetCurrent(ctx), 0, "current");
	make_cubin();
	EQ(cuModuleLoadData(&mod, cubin), 0, "the module");
	EQ(cuModuleGetFunction(&f, mod, "_Z4noopv"), 0, "noop()");
	unsigned long long a = 0, b = 0;
	EQ(cuMemAlloc_v2(&a, 64), 0, "a"); EQ(cuMemAlloc_v2(&b, 64), 0, "b");

	/* fill a, host node A, copy a -> b, kernel, copy b -> host, host node B (the copy landed), alloc, fill it, copy it to host, free. */
	H g = NULL, x = NULL, ms = NULL, ha = NULL, cp = NULL, kn = NULL, back = NULL, hb = NULL;
	EQ(cuGraphCreate(&g, 0), 0, "cuGraphCreate");
	unsigned char mp[40] = {0};
	put64(mp, a); put32(mp + 16, 0x5a); put32(mp + 20, 1); put64(mp + 24, 64); put64(mp + 32, 1);
	EQ(cuGraphAddMemsetNode(&ms, g, NULL, 0, mp, ctx), 0, "a fill");
	struct tag ta = {'A', 0}, tb = {'B', 0x5a};
	void *hp[2] = {(void *)host_tag, &ta};
	EQ(cuGraphAddHostNode(&ha, g, &ms, 1, hp), 0, "cuGraphAddHostNode");
	unsigned char c[200];
	copy3d(c, 2, b, 2, a, 64);
	EQ(cuGraphAddMemcpyNode(&cp, g, &ha, 1, c, ctx), 0, "cuGraphAddMemcpyNode device to device");
	unsigned char kp[56] = {0};
	put64(kp, (unsigned long long)(size_t)f); put32(kp + 8, 1); put32(kp + 12, 1); put32(kp + 16, 1);
	put32(kp + 20, 32); put32(kp + 24, 1); put32(kp + 28, 1);
	EQ(cuGraphAddKernelNode(&kn, g, &cp, 1, kp), 0, "cuGraphAddKernelNode");
	copy3d(c, 1, (unsigned long long)(size_t)landed, 2, b, 64);
	EQ(cuGraphAddMemcpyNode(&back, g, &kn, 1, c, ctx), 0, "cuGraphAddMemcpyNode device to host");
	unsigned char cback[200];
	memcpy(cback, c, 200);
	void *hp2[2] = {(void *)host_tag, &tb};
	EQ(cuGraphAddHostNode(&hb, g, &back, 1, hp2), 0, "a host node after the copy");
	H al = NULL, fill = NULL, out = NULL, fr = NULL;
	unsigned char ap[120];
	alloc_params(ap, 4096);
	EQ(cuGraphAddMemAllocNode(&al, g, &hb, 1, ap), 0, "cuGraphAddMemAllocNode");
	unsigned long long mem = 0;
	memcpy(&mem, ap + 112, 8);
	CHECK(mem != 0, "the allocation's address is given when the node is made");
	unsigned char fp[40] = {0};
	put64(fp, mem); put32(fp + 16, 0x77); put32(fp + 20, 1); put64(fp + 24, 16); put64(fp + 32, 1);
	EQ(cuGraphAddMemsetNode(&fill, g, &al, 1, fp, ctx), 0, "a fill of the graph's allocation");
	static unsigned char mine[16];
	copy3d(c, 1, (unsigned long long)(size_t)mine, 2, mem, 16);
	EQ(cuGraphAddMemcpyNode(&out, g, &fill, 1, c, ctx), 0, "read it back");
	EQ(cuGraphAddMemFreeNode(&fr, g, &out, 1, mem), 0, "cuGraphAddMemFreeNode");

	/* Parameters read back. */
	void *got[2] = {0};
	EQ(cuGraphHostNodeGetParams(ha, got), 0, "cuGraphHostNodeGetParams");
	CHECK(got[0] == (void *)host_tag && got[1] == &ta, "the host node's function and data");
	unsigned char kb[56];
	EQ(cuGraphKernelNodeGetParams(kn, kb), 0, "cuGraphKernelNodeGetParams");
	CHECK(!memcmp(kb, kp, 56), "what the kernel node was given");
	unsigned char cb[200];
	EQ(cuGraphMemcpyNodeGetParams(back, cb), 0, "cuGraphMemcpyNodeGetParams");
	CHECK(!memcmp(cb, cback, 200), "the copy's descriptor");
	unsigned char ab[120];
	EQ(cuGraphMemAllocNodeGetParams(al, ab), 0, "cuGraphMemAllocNodeGetParams");
	CHECK(!memcmp(ab + 104, ap + 104, 16), "size and address");
	unsigned long long fd = 0;
	EQ(cuGraphMemFreeNodeGetParams(fr, &fd), 0, "cuGraphMemFreeNodeGetParams"); EQ(fd, mem, "the address freed");
	unsigned long long used = 0;
	EQ(cuDeviceGetGraphMemAttribute(0, 0, &used), 0, "graph memory in use");
	CHECK(used >= 4096, "the allocation node's memory counts (%llu)", used);

	/* Launch twice: the copies land, the host nodes run in order, each after its copy. */
	EQ(cuGraphInstantiateWithFlags(&x, g, 0), 0, "instantiate");
	EQ(cuGraphLaunch(x, NULL), 0, "launch");
	EQ(cuGraphLaunch(x, NULL), 0, "launch again");
	EQ(cuCtxSynchronize(), 0, "complete");
	ORDER("ABAB", "host nodes in the graph's order");
	EQ(late_copies, 0, "each host node ran after the copy before it");
	EQ(landed[63], 0x5a, "filled, copied on the device, then to the host");
	EQ(mine[15], 0x77, "the graph's allocation was usable");

	/* The executable graph's host node and copy change; the graph's stay. */
	struct tag tc = {'C', 0};
	void *hp3[2] = {(void *)host_tag, &tc};
	EQ(cuGraphExecHostNodeSetParams(x, ha, hp3), 0, "cuGraphExecHostNodeSetParams");
	EQ(cuGraphHostNodeGetParams(ha, got), 0, "the graph's node"); CHECK(got[1] == &ta, "keeps its data");
	EQ(cuGraphNodeSetEnabled(x, ms, 0), 0, "the fill disabled");
	unsigned on = 9;
	EQ(cuGraphNodeGetEnabled(x, ms, &on), 0, "cuGraphNodeGetEnabled"); EQ(on, 0, "disabled");
	EQ(cuGraphNodeSetEnabled(x, ha, 0), 1, "a host node cannot be disabled");
	unsigned char zero[64] = {0};
	EQ(cuMemcpyHtoD_v2(a, zero, 64), 0, "a cleared");
	memset(order, 0, sizeof order);
	tb.want = 0;
	EQ(cuGraphLaunch(x, NULL), 0, "launch the changed graph");
	EQ(cuCtxSynchronize(), 0, "complete");
	ORDER("CB", "the new host node's data");
	EQ(landed[0], 0, "the disabled fill did nothing");

	/* Hostile and wrong input. */
	void *nofn[2] = {NULL, NULL};
	H bad = NULL;
	EQ(cuGraphAddHostNode(&bad, g, NULL, 0, nofn), 1, "a host node without a function");
	put32(kp + 20, 4096);
	EQ(cuGraphAddKernelNode(&bad, g, NULL, 0, kp), 1, "a 4096-thread block");
	put32(kp + 20, 32);
	EQ(cuGraphExecKernelNodeSetParams(x, kn, kp), 0, "cuGraphExecKernelNodeSetParams, same function");
	alloc_params(ap, 0);
	EQ(cuGraphAddMemAllocNode(&bad, g, NULL, 0, ap), 1, "an allocation of no bytes");
	EQ(cuGraphAddMemFreeNode(&bad, g, NULL, 0, a), 1, "freeing memory no graph allocated");
	H wild = (H)0x7e5a0000deadbeefull;
	EQ(cuGraphAddHostNode(&bad, g, &wild, 1, hp), 1, "a dependency that is no node");
	EQ(cuGraphHostNodeGetParams(wild, got), 1, "a node that does not exist");

	/* The generic form: a host node and a fill, kinds it does not have, the type kept. */
	unsigned char np[256] = {0};
	H gn = NULL, gm = NULL;
	put32(np, 3); put64(np + 16, (unsigned long long)(size_t)host_tag); put64(np + 24, (unsigned long long)(size_t)&tc);
	EQ(cuGraphAddNode(&gn, g, NULL, 0, np), 0, "cuGraphAddNode(host)");
	int type = -1;
	EQ(cuGraphNodeGetType(gn, &type), 0, "its type"); EQ(type, 3, "a host node");
	memset(np, 0, sizeof np);
	put32(np, 2); memcpy(np + 16, mp, 40);
	EQ(cuGraphAddNode(&gm, g, NULL, 0, np), 0, "cuGraphAddNode(memset)");
	EQ(cuGraphNodeSetParams(gm, np), 0, "cuGraphNodeSetParams(memset)");
	put32(np, 3);
	EQ(cuGraphNodeSetParams(gm, np), 1, "another kind than the node's");
	put32(np, 13);
	EQ(cuGraphAddNode(&bad, g, NULL, 0, np), 801, "a conditional node");
	put32(np, 99);
	EQ(cuGraphAddNode(&bad, g, NULL, 0, np), 1, "no such kind");

	/* Kernel node attributes: priority is clamped; copies go node to node; only kernels. */
	unsigned char av[64] = {0}, ag[64];
	put32(av, (unsigned)-9);
	EQ(cuGraphKernelNodeSetAttribute(kn, 8, av), 0, "priority");
	EQ(cuGraphKernelNodeGetAttribute(kn, 8, ag), 0, "read back"); EQ((int)(ag[0] | ag[1] << 8 | ag[2] << 16 | ag[3] << 24), -5, "clamped");
	H kn2 = NULL;
	EQ(cuGraphAddKernelNode(&kn2, g, NULL, 0, kp), 0, "a second kernel node");
	EQ(cuGraphKernelNodeCopyAttributes(kn2, kn), 0, "cuGraphKernelNodeCopyAttributes");
	memset(ag, 0, 64);
	EQ(cuGraphKernelNodeGetAttribute(kn2, 8, ag), 0, "copied"); EQ(ag[0], 0xfb, "the same priority");
	EQ(cuGraphKernelNodeGetAttribute(ms, 8, ag), 1, "a fill has no kernel attributes");
	/* The runtime's form: CUDA 13 names the destination first, CUDA 12 the source. */
	void *rt = lib;
	int (*copy13)(H, H) = (int (*)(H, H))dlvsym(rt, "cudaGraphKernelNodeCopyAttributes", "libcudart.so.13");
	int (*copy12)(H, H) = (int (*)(H, H))dlvsym(rt, "cudaGraphKernelNodeCopyAttributes", "libcudart.so.12");
	CHECK(copy13 && copy12, "both versions of cudaGraphKernelNodeCopyAttributes");
	if (copy13 && copy12) {
		H kn3 = NULL, kn4 = NULL;
		EQ(cuGraphAddKernelNode(&kn3, g, NULL, 0, kp), 0, "a third kernel node");
		EQ(cuGraphAddKernelNode(&kn4, g, NULL, 0, kp), 0, "a fourth kernel node");
		EQ(copy13(kn3, kn), 0, "CUDA 13's form, destination first");
		EQ(cuGraphKernelNodeGetAttribute(kn3, 8, ag), 0, "read"); EQ(ag[0], 0xfb, "copied into the first argument");
		EQ(copy12(kn, kn4), 0, "CUDA 12's form, source first");
		EQ(cuGraphKernelNodeGetAttribute(kn4, 8, ag), 0, "read"); EQ(ag[0], 0xfb, "copied into the second argument");
	}

	/* User objects: the graph's reference moves to each executable graph made from it; the
	 * destructor runs when the last goes. */
	H obj = NULL;
	EQ(cuUserObjectCreate(&obj, &destroyed, destructor, 1, 0), 1, "the no-destructor-sync flag is required");
	EQ(cuUserObjectCreate(&obj, &destroyed, destructor, 1, 1), 0, "cuUserObjectCreate");
	EQ(cuGraphRetainUserObject(g, obj, 1, 1), 0, "moved to the graph");
	EQ(cuGraphReleaseUserObject(g, obj, 2), 1, "more than the graph holds");
	H x2 = NULL;
	EQ(cuGraphInstantiateWithFlags(&x2, g, 0), 0, "another executable graph");
	EQ(cuGraphExecDestroy(x), 0, "the first one goes");
	EQ(cuGraphDestroy(g), 0, "the graph goes");
	EQ(destroyed, 0, "an executable graph still holds the object");
	EQ(cuGraphExecDestroy(x2), 0, "the last one goes");
	EQ(destroyed, 1, "the destructor ran, in this process");
	EQ(cuUserObjectRelease(obj, 1), 1, "a destroyed object");
}

/* ---- the runtime ---- */
static struct { int magic, version; const void *data; void *unused; } wrapper;
static unsigned char fatbin[64];
static void kstub(void) {}
static unsigned char dev_var[32];

static void test_runtime(void) {
	/* A fat binary header around a name table: enough for the model to find the kernel. */
	put32(fatbin, 0xba55ed50); put16(fatbin + 4, 1); put16(fatbin + 6, 16); put64(fatbin + 8, 48);
	memcpy(fatbin + 16, "_Z5kstubv\0dev_var\0", 18);
	wrapper.magic = 0x466243b1; wrapper.version = 1; wrapper.data = fatbin;
	void **mod = __cudaRegisterFatBinary(&wrapper);
	__cudaRegisterFunction(mod, (const char *)kstub, "_Z5kstubv", "_Z5kstubv", -1, 0, 0, 0, 0, 0);
	__cudaRegisterVar(mod, (char *)dev_var, "dev_var", "dev_var", 0, sizeof dev_var, 0, 0);
	__cudaRegisterFatBinaryEnd(mod);

	void *d = NULL;
	EQ(cudaMalloc(&d, 256), 0, "cudaMalloc");
	EQ(cudaMemset(d, 0, 256), 0, "cleared");
	static unsigned char src[32], out[32], sym_out[32];
	for (int i = 0; i < 32; i++) src[i] = (unsigned char)(i + 1);
	H g = NULL, x = NULL, up = NULL, ts = NULL, fs = NULL, kn = NULL, hn = NULL, al = NULL, fr = NULL, down = NULL;
	EQ(cudaGraphCreate(&g, 0), 0, "cudaGraphCreate");
	/* cudaMemcpy3DParms: srcPtr at 32 (ptr, pitch, xsize, ysize), dstPtr at 96, extent at 128, kind at 152. */
	unsigned char p3[160] = {0};
	put64(p3 + 32, (unsigned long long)(size_t)src); put64(p3 + 40, 32); put64(p3 + 48, 32); put64(p3 + 56, 1);
	put64(p3 + 96, (unsigned long long)(size_t)d); put64(p3 + 104, 32); put64(p3 + 112, 32); put64(p3 + 120, 1);
	put64(p3 + 128, 32); put64(p3 + 136, 1); put64(p3 + 144, 1); put32(p3 + 152, 1);
	EQ(cudaGraphAddMemcpyNode(&up, g, NULL, 0, p3), 0, "cudaGraphAddMemcpyNode host to device");
	unsigned char g3[160];
	EQ(cudaGraphMemcpyNodeGetParams(up, g3), 0, "cudaGraphMemcpyNodeGetParams");
	CHECK(!memcmp(g3, p3, 160), "the parameters it was given");
	EQ(cudaGraphAddMemcpyNodeToSymbol(&ts, g, &up, 1, dev_var, d, 32, 0, 3), 0, "cudaGraphAddMemcpyNodeToSymbol");
	EQ(cudaGraphAddMemcpyNodeToSymbol(&ts, g, &up, 1, dev_var, d, 32, 8, 3), 1, "past the variable");
	EQ(cudaGraphAddMemcpyNodeToSymbol(&ts, g, &up, 1, out, d, 4, 0, 3), 13, "not a variable (invalid symbol)");
	H fs0 = ts;
	EQ(cudaGraphAddMemcpyNodeFromSymbol(&fs, g, &fs0, 1, (char *)d + 64, dev_var, 32, 0, 3), 0, "cudaGraphAddMemcpyNodeFromSymbol");
	unsigned char kp[56] = {0};
	put64(kp, (unsigned long long)(size_t)kstub); put32(kp + 8, 2); put32(kp + 12, 1); put32(kp + 16, 1);
	put32(kp + 20, 64); put32(kp + 24, 1); put32(kp + 28, 1);
	EQ(cudaGraphAddKernelNode(&kn, g, &fs, 1, kp), 0, "cudaGraphAddKernelNode");
	unsigned char kb[56];
	EQ(cudaGraphKernelNodeGetParams(kn, kb), 0, "cudaGraphKernelNodeGetParams"); CHECK(!memcmp(kb, kp, 56), "as given");
	put64(kp, (unsigned long long)(size_t)test_runtime);
	EQ(cudaGraphAddKernelNode(&kn, g, NULL, 0, kp), 98, "an unregistered function");
	/* host node after the copies: the symbol's round trip has landed on the device */
	struct tag th = {'R', 0};
	void *hp[2] = {(void *)host_tag, &th};
	EQ(cudaGraphAddHostNode(&hn, g, &kn, 1, hp), 0, "cudaGraphAddHostNode");
	unsigned char ap[120];
	alloc_params(ap, 1024);
	EQ(cudaGraphAddMemAllocNode(&al, g, &hn, 1, ap), 0, "cudaGraphAddMemAllocNode");
	void *mem = NULL;
	memcpy(&mem, ap + 112, 8);
	EQ(cudaGraphAddMemFreeNode(&fr, g, &al, 1, mem), 0, "cudaGraphAddMemFreeNode");
	unsigned char p4[160] = {0};
	put64(p4 + 32, (unsigned long long)(size_t)d + 64); put64(p4 + 40, 32); put64(p4 + 48, 32); put64(p4 + 56, 1);
	put64(p4 + 96, (unsigned long long)(size_t)sym_out); put64(p4 + 104, 32); put64(p4 + 112, 32); put64(p4 + 120, 1);
	put64(p4 + 128, 32); put64(p4 + 136, 1); put64(p4 + 144, 1); put32(p4 + 152, 2);
	EQ(cudaGraphAddMemcpyNode(&down, g, &hn, 1, p4), 0, "cudaGraphAddMemcpyNode device to host");
	/* The generic form (CUDA 13: with edge data) and a conditional handle. */
	unsigned char np[256] = {0};
	struct tag tg = {'G', 0};
	H gn = NULL;
	put32(np, 3); put64(np + 16, (unsigned long long)(size_t)host_tag); put64(np + 24, (unsigned long long)(size_t)&tg);
	EQ(cudaGraphAddNode(&gn, g, &down, NULL, 1, np), 0, "cudaGraphAddNode(host)");
	unsigned long long cond = 0;
	EQ(cudaGraphConditionalHandleCreate(&cond, g, 1, 0), 0, "cudaGraphConditionalHandleCreate"); CHECK(cond != 0, "a handle");
	EQ(cudaGraphConditionalHandleCreate(&cond, g, 1, 2), 1, "unknown flags");
	/* A user object the graph owns. */
	H obj = NULL;
	int gone = 0;
	EQ(cudaUserObjectCreate(&obj, &gone, destructor, 1, 1), 0, "cudaUserObjectCreate");
	EQ(cudaGraphRetainUserObject(g, obj, 1, 1), 0, "cudaGraphRetainUserObject (move)");

	memset(order, 0, sizeof order);
	EQ(cudaGraphInstantiate(&x, g, 0), 0, "instantiate");
	EQ(cudaGraphLaunch(x, NULL), 0, "launch");
	EQ(cudaDeviceSynchronize(), 0, "complete");
	ORDER("RG", "the host nodes, in order");
	EQ(sym_out[31], 32, "host -> device -> variable -> device -> host");
	EQ(cudaMemcpy(out, d, 32, 2), 0, "read");
	EQ(out[0], 1, "the first copy landed");
	struct tag t2 = {'S', 0};
	void *hp2[2] = {(void *)host_tag, &t2};
	EQ(cudaGraphExecHostNodeSetParams(x, hn, hp2), 0, "cudaGraphExecHostNodeSetParams");
	EQ(cudaGraphHostNodeSetParams(gn, hp2), 0, "cudaGraphHostNodeSetParams");
	memset(order, 0, sizeof order);
	EQ(cudaGraphLaunch(x, NULL), 0, "launch again");
	EQ(cudaDeviceSynchronize(), 0, "complete");
	ORDER("SG", "the executable graph's new host node; the graph's change is not in it");
	EQ(cudaGraphDestroy(g), 0, "the graph goes");
	EQ(gone, 0, "the executable graph holds the object");
	EQ(cudaGraphExecDestroy(x), 0, "the executable graph goes");
	EQ(gone, 1, "the destructor ran");
}

int main(int argc, char **argv) {
	char path[4096];
	snprintf(path, sizeof path, "%s/libcudart.so.13", argc > 1 ? argv[1] : ".");
	void *h = dlopen(path, RTLD_NOW);
	if (!h) { printf("FAIL %s\n", dlerror()); return 1; }
	lib = h;
#define BIND(r, n, a) if (!(n = (r(*) a)dlsym(h, #n))) { printf("FAIL missing %s\n", #n); return 1; }
	FNS(BIND)
	remote = getenv("VGPU_BACKEND") && !strcmp(getenv("VGPU_BACKEND"), "remote");
	test_driver();
	test_runtime();
	printf("graphnodes (%s): %d checks, %d failures\n", argc > 2 ? argv[2] : "sim", checks, failures);
	return failures != 0;
}
