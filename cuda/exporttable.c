// The private export tables NVIDIA's CUDA runtime asks the driver for through
// cuGetExportTable. Each table is an array of C function pointers, most led by its own size
// in bytes. What is known of them (identifiers, which slot does what) is public from ZLUDA's
// write-ups; the slots here are vgpu's own implementations of those meanings. A slot whose
// meaning is unknown answers CUDA_ERROR_NOT_SUPPORTED (and is logged once): with the x86-64
// C calling convention a function that reads no arguments is safe whatever the caller passes.
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include "_cgo_export.h"

typedef int CUresult;
enum { OK = 0, INVALID_VALUE = 1, INVALID_CONTEXT = 201, NOT_SUPPORTED = 801 };

// The library's own driver entry points (set by vgpu_et_bind from the export table), so that
// a slot takes the path a program's own call takes: tracing, the backend, remote forwarding.
static CUresult (*moduleLoadData)(void **, const void *);
static CUresult (*primaryCtxRetain)(void **, int);
static CUresult (*ctxGetCurrent)(void **);
static CUresult (*ctxCreate)(void **, unsigned, int);
static CUresult (*driverGetVersion)(int *);
static CUresult (*deviceGetCount)(int *);
static CUresult (*deviceGetUuid)(unsigned char *, int);
static CUresult (*deviceGetAttribute)(int *, int, int);
static CUresult (*ctxGetId)(void *, unsigned long long *);
static CUresult (*streamGetId)(void *, unsigned long long *);

void vgpu_et_bind(const uintptr_t *f) {
	moduleLoadData = (CUresult(*)(void **, const void *))f[0];
	primaryCtxRetain = (CUresult(*)(void **, int))f[1];
	ctxGetCurrent = (CUresult(*)(void **))f[2];
	ctxCreate = (CUresult(*)(void **, unsigned, int))f[3];
	driverGetVersion = (CUresult(*)(int *))f[4];
	deviceGetCount = (CUresult(*)(int *))f[5];
	deviceGetUuid = (CUresult(*)(unsigned char *, int))f[6];
	deviceGetAttribute = (CUresult(*)(int *, int, int))f[7];
	ctxGetId = (CUresult(*)(void *, unsigned long long *))f[8];
	streamGetId = (CUresult(*)(void *, unsigned long long *))f[9];
}

// nvcc's fat binary wrapper (the object __cudaRegisterFatBinary receives) and the fat binary
// header's magic: a slot given either finds the image.
struct wrapper { uint32_t magic, version; const void *data, *filename; };
#define WRAPPER_MAGIC 0x466243b1u
#define FATBIN_MAGIC 0xba55ed50u

static const void *image_of(const void *p) {
	if (p == NULL) return NULL;
	uint32_t m;
	memcpy(&m, p, 4);
	if (m == WRAPPER_MAGIC) return ((const struct wrapper *)p)->data;
	if (m == FATBIN_MAGIC) return p;
	return NULL;
}

static CUresult load(void **out, const void *p) {
	const void *img = image_of(p);
	if (out == NULL || img == NULL) return INVALID_VALUE;
	if (moduleLoadData == NULL) return NOT_SUPPORTED;
	return moduleLoadData(out, img);
}

// --- runtime interface {6bd5fb6c-5bf4-e74a-8987-d93912fd9df9} ---
// 1: load the module of a fat binary wrapper; 6: the same with three further arguments
// (options vgpu has no use for); 8: the same from a fat binary header, module second.
static CUresult rt_load(void **out, const void *wrapper) { return load(out, wrapper); }
static CUresult rt_load_ext(void **out, const void *wrapper, void *a, void *b, unsigned c) {
	(void)a; (void)b; (void)c;
	return load(out, wrapper);
}
static CUresult rt_load_header(const void *header, void **out, void *a, void *b, unsigned c) {
	(void)a; (void)b; (void)c;
	return load(out, header);
}
// 2: the device's primary context.
static CUresult rt_primary_ctx(void **pctx, int dev) {
	if (pctx == NULL) return INVALID_VALUE;
	if (primaryCtxRetain == NULL) return NOT_SUPPORTED;
	return primaryCtxRetain(pctx, dev);
}
// 7: a notification without a result.
static void rt_notify(size_t arg) { (void)arg; }
// 12: loads the JIT compilers; vgpu compiles nothing.
static CUresult rt_load_compilers(void) { return OK; }

// --- tools TLS {42d85a81-23f6-cb47-8298-f6e78a3aecdc} ---
// 2: the calling thread's current context (cuBLAS 12 and 13 ask it before every GEMM, then
// ask the tools context table for that context's identifier).
static CUresult tls_current(void **pctx) {
	if (pctx == NULL) return INVALID_VALUE;
	if (ctxGetCurrent == NULL) return NOT_SUPPORTED;
	return ctxGetCurrent(pctx);
}

// --- tools context {21318c60-9714-3248-8ca6-41ff7324c8f2} ---
// 4: a context's unique identifier, as cuCtxGetId answers it (cuBLAS keys its per-context
// state by it; a null context is the current one).
static CUresult tcx_id(void *ctx, unsigned long long *id) {
	if (id == NULL) return INVALID_VALUE;
	if (ctxGetId == NULL) return NOT_SUPPORTED;
	return ctxGetId(ctx, id);
}
// 51 (context, stream, &stream object, per-thread flag) and 39 (context, stream object, &id):
// cuBLAS 12's own GEMM kernels (cublasHgemm) find the per-stream workspace they launch with
// by the stream's identifier. Its stream argument is a handle or one of the special streams
// (0, CU_STREAM_LEGACY, CU_STREAM_PER_THREAD, the flag then set); vgpu's stream object is the
// handle itself, and its identifier the one cuStreamGetId answers.
static CUresult tcx_stream(void *ctx, void *stream, void **out, int per_thread) {
	(void)ctx; (void)per_thread;
	if (out == NULL) return INVALID_VALUE;
	if (streamGetId == NULL) return NOT_SUPPORTED;
	unsigned long long id;
	CUresult r = streamGetId(stream, &id);
	if (r == OK) *out = stream;
	return r;
}
static CUresult tcx_stream_id(void *ctx, void *stream, unsigned long long *id) {
	(void)ctx;
	if (id == NULL) return INVALID_VALUE;
	if (streamGetId == NULL) return NOT_SUPPORTED;
	return streamGetId(stream, id);
}

// --- tools callback hooks {a094798c-2e74-2e74-93f2-0800200c0a66} ---
// 2 and 6 hand the runtime a buffer of the driver's (zeroed: no tool is attached).
static uint32_t hooks_buf1[1024], hooks_buf2[14];
static void hooks_buffer1(void **p, size_t *n) {
	if (p) *p = hooks_buf1;
	if (n) *n = sizeof hooks_buf1 / sizeof hooks_buf1[0];
}
static void hooks_buffer2(void **p, size_t *n) {
	if (p) *p = hooks_buf2;
	if (n) *n = sizeof hooks_buf2 / sizeof hooks_buf2[0];
}

// --- context-local storage {c693336e-1121-df11-a8c3-68f355d89593} ---
// 0 put(ctx, key, value, destructor), 1 delete(ctx, key), 2 get(&value, ctx, key); a null
// context is the calling thread's current one.
static CUresult cls_ctx(void **ctx) {
	if (*ctx != NULL) return OK;
	if (ctxGetCurrent == NULL) return NOT_SUPPORTED;
	CUresult r = ctxGetCurrent(ctx);
	if (r == OK && *ctx == NULL) r = INVALID_CONTEXT;
	return r;
}
static CUresult cls_put(void *ctx, void *key, void *value, void *dtor) {
	CUresult r = cls_ctx(&ctx);
	return r != OK ? r : vgpuETStorePut(ctx, key, value, dtor);
}
static CUresult cls_delete(void *ctx, void *key) {
	CUresult r = cls_ctx(&ctx);
	return r != OK ? r : vgpuETStoreDelete(ctx, key);
}
static CUresult cls_get(void **value, void *ctx, void *key) {
	if (value == NULL) return INVALID_VALUE;
	CUresult r = cls_ctx(&ctx);
	return r != OK ? r : vgpuETStoreGet(value, ctx, key);
}

// A destructor given to put, called when its context goes.
void vgpu_et_cls_dtor(uintptr_t fn, uintptr_t ctx, uintptr_t key, uintptr_t value) {
	((void (*)(void *, void *, void *))fn)((void *)ctx, (void *)key, (void *)value);
}

// --- context creation bypass {0ca50b8c-1004-929a-89a7-d0df10e77286} ---
// 1: cuCtxCreate_v2 by another door.
static CUresult ctx_create_bypass(void **pctx, unsigned flags, int dev) {
	if (ctxCreate == NULL) return NOT_SUPPORTED;
	return ctxCreate(pctx, flags, dev);
}

// --- context checks {263e8860-7cd2-6143-92f6-bbd5006dfa7e} ---
// 2 reports flags of a context that are clear on every context vgpu makes; 3 answers 0.
static CUresult check_ctx(void *ctx, uint32_t *flags, const void **other) {
	(void)ctx; (void)other;
	if (flags) *flags = 0;
	return OK;
}
static uint32_t check_zero(void) { return 0; }

// --- integrity check {d4082055-bde6-704b-8d34-ba123c66e1f2} ---
// 1: the runtime's handshake. It passes a version and the time, and expects a 16-byte keyed
// digest (HMAC over MD2, exporttable.go) of what it can check itself: the driver's version,
// its own version, the process and thread, where the driver's tables and this function lie,
// the time, and each device's UUID and PCI location.
static void *const t_rt[13], *const t_integrity[3];
static CUresult integrity(uint32_t version, uint64_t seconds, uint64_t out[2]);
static CUresult integrity(uint32_t version, uint64_t seconds, uint64_t out[2]) {
	if (out == NULL) return INVALID_VALUE;
	if (driverGetVersion == NULL || deviceGetCount == NULL || deviceGetUuid == NULL || deviceGetAttribute == NULL)
		return NOT_SUPPORTED;
	struct {
		uint32_t driver, version, pid, tid;
		const void *rt_table, *integrity_table, *fn;
		uint64_t seconds;
	} head;
	struct dev {
		unsigned char uuid[16];
		int32_t domain, bus, device;
	};
	_Static_assert(sizeof head == 48 && sizeof(struct dev) == 28, "the digest's layout has no padding");
	int drv = 0, n = 0;
	CUresult r = driverGetVersion(&drv);
	if (r == OK) r = deviceGetCount(&n);
	if (r != OK) return r;
	if (n < 0 || n > 64) return NOT_SUPPORTED;
	unsigned char msg[sizeof head + 64 * sizeof(struct dev)];
	head.driver = (uint32_t)drv;
	head.version = version;
	head.pid = (uint32_t)getpid();
	head.tid = (uint32_t)(uintptr_t)pthread_self();
	head.rt_table = t_rt;
	head.integrity_table = t_integrity;
	head.fn = (const void *)integrity;
	head.seconds = seconds;
	memcpy(msg, &head, sizeof head);
	for (int i = 0; i < n; i++) {
		struct dev d;
		if ((r = deviceGetUuid(d.uuid, i)) != OK || (r = deviceGetAttribute(&d.domain, 50, i)) != OK ||
		    (r = deviceGetAttribute(&d.bus, 33, i)) != OK || (r = deviceGetAttribute(&d.device, 34, i)) != OK)
			return r;
		memcpy(msg + sizeof head + i * sizeof d, &d, sizeof d);
	}
	vgpuETIntegrity(version, msg, (int)(sizeof head + n * sizeof(struct dev)), out);
	return OK;
}

// Unknown slots: one function per (table, slot), so the log can say which was called, with
// what in the first three argument registers (read whether or not the caller set them:
// harmless in the x86-64 convention) and from where: what implementing the slot starts from.
#define UNK(t, i) \
	static CUresult unk_##t##_##i(uintptr_t a, uintptr_t b, uintptr_t c) { return vgpuETUnknownSlot(t, i, a, b, c, (uintptr_t)__builtin_return_address(0)); }
#define SIZE(n) ((void *)(uintptr_t)((n) * sizeof(void *)))

enum { T_RT, T_TLS, T_HOOKS, T_CLS, T_BYPASS, T_HEAP, T_DEVEXT, T_INTEGRITY, T_CHECKS, T_TOOLSCTX, T_BLAS13, T_COUNT, T_PROBE = T_COUNT };
UNK(0, 3) UNK(0, 4) UNK(0, 5) UNK(0, 9) UNK(0, 10) UNK(0, 11)
UNK(1, 1) UNK(1, 3)
UNK(2, 1) UNK(2, 3) UNK(2, 4) UNK(2, 5)
UNK(3, 3)
UNK(5, 1) UNK(5, 2)
UNK(6, 1) UNK(6, 2) UNK(6, 3) UNK(6, 4) UNK(6, 5) UNK(6, 6) UNK(6, 7) UNK(6, 8) UNK(6, 9) UNK(6, 10)
UNK(6, 11) UNK(6, 12) UNK(6, 13) UNK(6, 14) UNK(6, 15) UNK(6, 16) UNK(6, 17) UNK(6, 18) UNK(6, 19)
UNK(6, 20) UNK(6, 21) UNK(6, 22) UNK(6, 23) UNK(6, 24) UNK(6, 25)
UNK(7, 2)
UNK(8, 1)
UNK(9, 1) UNK(9, 2) UNK(9, 3) UNK(9, 5) UNK(9, 6) UNK(9, 7) UNK(9, 8) UNK(9, 9) UNK(9, 10) 
UNK(9, 11) UNK(9, 12) UNK(9, 13) UNK(9, 14) UNK(9, 15) UNK(9, 16) UNK(9, 17) UNK(9, 18) UNK(9, 19) UNK(9, 20) 
UNK(9, 21) UNK(9, 22) UNK(9, 23) UNK(9, 24) UNK(9, 25) UNK(9, 26) UNK(9, 27) UNK(9, 28) UNK(9, 29) UNK(9, 30) 
UNK(9, 31) UNK(9, 32) UNK(9, 33) UNK(9, 34) UNK(9, 35) UNK(9, 36) UNK(9, 37) UNK(9, 38) UNK(9, 40) 
UNK(9, 41) UNK(9, 42) UNK(9, 43) UNK(9, 44) UNK(9, 45) UNK(9, 46) UNK(9, 47) UNK(9, 48) UNK(9, 49) UNK(9, 50) 
UNK(9, 52) UNK(9, 53) UNK(9, 54) UNK(9, 55) UNK(9, 56) UNK(9, 57) UNK(9, 58) UNK(9, 59) UNK(9, 60) 
UNK(9, 61) UNK(9, 62) UNK(9, 63) UNK(9, 64) UNK(9, 65) UNK(9, 66) UNK(9, 67) UNK(9, 68) UNK(9, 69) UNK(9, 70) 
UNK(9, 71) UNK(9, 72) UNK(9, 73) UNK(9, 74) UNK(9, 75) UNK(9, 76) UNK(9, 77) UNK(9, 78) UNK(9, 79) UNK(9, 80) 
UNK(9, 81) UNK(9, 82) UNK(9, 83) UNK(9, 84) UNK(9, 85) UNK(9, 86) UNK(9, 87) UNK(9, 88) UNK(9, 89) UNK(9, 90) 
UNK(9, 91) UNK(9, 92) 

static void *const t_rt[13] = {SIZE(13), rt_load, rt_primary_ctx, unk_0_3, unk_0_4, unk_0_5,
	rt_load_ext, rt_notify, rt_load_header, unk_0_9, unk_0_10, unk_0_11, rt_load_compilers};
static void *const t_tls[4] = {SIZE(4), unk_1_1, tls_current, unk_1_3};
static void *const t_hooks[7] = {SIZE(7), unk_2_1, hooks_buffer1, unk_2_3, unk_2_4, unk_2_5, hooks_buffer2};
static void *const t_cls[4] = {cls_put, cls_delete, cls_get, unk_3_3};
static void *const t_bypass[2] = {SIZE(2), ctx_create_bypass};
// The heap and the extended device attributes are known by name only: their slots answer
// "not supported".
static void *const t_heap[3] = {SIZE(3), unk_5_1, unk_5_2};
static void *const t_devext[26] = {SIZE(26), unk_6_1, unk_6_2, unk_6_3, unk_6_4, unk_6_5, unk_6_6,
	unk_6_7, unk_6_8, unk_6_9, unk_6_10, unk_6_11, unk_6_12, unk_6_13, unk_6_14, unk_6_15, unk_6_16,
	unk_6_17, unk_6_18, unk_6_19, unk_6_20, unk_6_21, unk_6_22, unk_6_23, unk_6_24, unk_6_25};
static void *const t_integrity[3] = {SIZE(3), integrity, unk_7_2};
static void *const t_checks[4] = {SIZE(4), unk_8_1, check_ctx, check_zero};
static void *const t_toolsctx[93] = {SIZE(93), unk_9_1, unk_9_2, unk_9_3, tcx_id, unk_9_5, unk_9_6, unk_9_7, unk_9_8, unk_9_9, unk_9_10, unk_9_11, unk_9_12, unk_9_13, unk_9_14, unk_9_15, unk_9_16, unk_9_17, unk_9_18, unk_9_19, unk_9_20, unk_9_21, unk_9_22, unk_9_23, unk_9_24, unk_9_25, unk_9_26, unk_9_27, unk_9_28, unk_9_29, unk_9_30, unk_9_31, unk_9_32, unk_9_33, unk_9_34, unk_9_35, unk_9_36, unk_9_37, unk_9_38, tcx_stream_id, unk_9_40, unk_9_41, unk_9_42, unk_9_43, unk_9_44, unk_9_45, unk_9_46, unk_9_47, unk_9_48, unk_9_49, unk_9_50, tcx_stream, unk_9_52, unk_9_53, unk_9_54, unk_9_55, unk_9_56, unk_9_57, unk_9_58, unk_9_59, unk_9_60, unk_9_61, unk_9_62, unk_9_63, unk_9_64, unk_9_65, unk_9_66, unk_9_67, unk_9_68, unk_9_69, unk_9_70, unk_9_71, unk_9_72, unk_9_73, unk_9_74, unk_9_75, unk_9_76, unk_9_77, unk_9_78, unk_9_79, unk_9_80, unk_9_81, unk_9_82, unk_9_83, unk_9_84, unk_9_85, unk_9_86, unk_9_87, unk_9_88, unk_9_89, unk_9_90, unk_9_91, unk_9_92};

// 1734dc26-800d-4745-8726-c0f1e7dd8bca: asked for by cuBLAS 13.1 on its half-precision paths.
// The driver 580 serves it at 136 bytes (a size word and 16 slots). A null table crashes
// cuBLAS; with this one, its slot 4 (called with two stack addresses and a pointer) answering
// "not supported" makes cuBLAS take another path, and its GEMMs match native ones bit for bit
// (tests/cublas/gemm.c on the H200): slot 4 is that answer, not logged as unknown.
static CUresult blas13_slot4(void) { return NOT_SUPPORTED; }
UNK(11, 1) UNK(11, 2) UNK(11, 3) UNK(11, 5) UNK(11, 6) UNK(11, 7) UNK(11, 8) UNK(11, 9) UNK(11, 10) UNK(11, 11) UNK(11, 12) UNK(11, 13) UNK(11, 14) UNK(11, 15) UNK(11, 16)
static void *const t_blas13[17] = {SIZE(17), unk_11_1, unk_11_2, unk_11_3, blas13_slot4, unk_11_5, unk_11_6, unk_11_7, unk_11_8, unk_11_9, unk_11_10, unk_11_11, unk_11_12, unk_11_13, unk_11_14, unk_11_15, unk_11_16};

static const struct {
	unsigned char id[16];
	const void *table;
} tables[T_COUNT] = {
	{{0x6b, 0xd5, 0xfb, 0x6c, 0x5b, 0xf4, 0xe7, 0x4a, 0x89, 0x87, 0xd9, 0x39, 0x12, 0xfd, 0x9d, 0xf9}, t_rt},
	{{0x42, 0xd8, 0x5a, 0x81, 0x23, 0xf6, 0xcb, 0x47, 0x82, 0x98, 0xf6, 0xe7, 0x8a, 0x3a, 0xec, 0xdc}, t_tls},
	{{0xa0, 0x94, 0x79, 0x8c, 0x2e, 0x74, 0x2e, 0x74, 0x93, 0xf2, 0x08, 0x00, 0x20, 0x0c, 0x0a, 0x66}, t_hooks},
	{{0xc6, 0x93, 0x33, 0x6e, 0x11, 0x21, 0xdf, 0x11, 0xa8, 0xc3, 0x68, 0xf3, 0x55, 0xd8, 0x95, 0x93}, t_cls},
	{{0x0c, 0xa5, 0x0b, 0x8c, 0x10, 0x04, 0x92, 0x9a, 0x89, 0xa7, 0xd0, 0xdf, 0x10, 0xe7, 0x72, 0x86}, t_bypass},
	{{0x19, 0x5b, 0xcb, 0xf4, 0xd6, 0x7d, 0x02, 0x4a, 0xac, 0xc5, 0x1d, 0x29, 0xce, 0xa6, 0x31, 0xae}, t_heap},
	{{0xb1, 0x05, 0x41, 0xe1, 0xf7, 0xc7, 0xc7, 0x4a, 0x9f, 0x64, 0xf2, 0x23, 0xbe, 0x99, 0xf1, 0xe2}, t_devext},
	{{0xd4, 0x08, 0x20, 0x55, 0xbd, 0xe6, 0x70, 0x4b, 0x8d, 0x34, 0xba, 0x12, 0x3c, 0x66, 0xe1, 0xf2}, t_integrity},
	{{0x26, 0x3e, 0x88, 0x60, 0x7c, 0xd2, 0x61, 0x43, 0x92, 0xf6, 0xbb, 0xd5, 0x00, 0x6d, 0xfa, 0x7e}, t_checks},
	{{0x21, 0x31, 0x8c, 0x60, 0x97, 0x14, 0x32, 0x48, 0x8c, 0xa6, 0x41, 0xff, 0x73, 0x24, 0xc8, 0xf2}, t_toolsctx},
	{{0x17, 0x34, 0xdc, 0x26, 0x80, 0x0d, 0x47, 0x45, 0x87, 0x26, 0xc0, 0xf1, 0xe7, 0xdd, 0x8b, 0xca}, t_blas13},
};

// A diagnostic for a table vgpu does not know (VGPU_EXPORT_PROBE=UUID, exporttable.go):
// 63 slots that log what calls them and answer "not supported", to learn what a library
// asks of it. Never served otherwise.
UNK(10, 1) UNK(10, 2) UNK(10, 3) UNK(10, 4) UNK(10, 5) UNK(10, 6) UNK(10, 7) UNK(10, 8) UNK(10, 9) UNK(10, 10) UNK(10, 11) UNK(10, 12) UNK(10, 13) UNK(10, 14) UNK(10, 15) UNK(10, 16) UNK(10, 17) UNK(10, 18) UNK(10, 19) UNK(10, 20) UNK(10, 21) UNK(10, 22) UNK(10, 23) UNK(10, 24) UNK(10, 25) UNK(10, 26) UNK(10, 27) UNK(10, 28) UNK(10, 29) UNK(10, 30) UNK(10, 31) UNK(10, 32) UNK(10, 33) UNK(10, 34) UNK(10, 35) UNK(10, 36) UNK(10, 37) UNK(10, 38) UNK(10, 39) UNK(10, 40) UNK(10, 41) UNK(10, 42) UNK(10, 43) UNK(10, 44) UNK(10, 45) UNK(10, 46) UNK(10, 47) UNK(10, 48) UNK(10, 49) UNK(10, 50) UNK(10, 51) UNK(10, 52) UNK(10, 53) UNK(10, 54) UNK(10, 55) UNK(10, 56) UNK(10, 57) UNK(10, 58) UNK(10, 59) UNK(10, 60) UNK(10, 61) UNK(10, 62) UNK(10, 63)
static void *const t_probe[64] = {SIZE(64), unk_10_1, unk_10_2, unk_10_3, unk_10_4, unk_10_5, unk_10_6, unk_10_7, unk_10_8, unk_10_9, unk_10_10, unk_10_11, unk_10_12, unk_10_13, unk_10_14, unk_10_15, unk_10_16, unk_10_17, unk_10_18, unk_10_19, unk_10_20, unk_10_21, unk_10_22, unk_10_23, unk_10_24, unk_10_25, unk_10_26, unk_10_27, unk_10_28, unk_10_29, unk_10_30, unk_10_31, unk_10_32, unk_10_33, unk_10_34, unk_10_35, unk_10_36, unk_10_37, unk_10_38, unk_10_39, unk_10_40, unk_10_41, unk_10_42, unk_10_43, unk_10_44, unk_10_45, unk_10_46, unk_10_47, unk_10_48, unk_10_49, unk_10_50, unk_10_51, unk_10_52, unk_10_53, unk_10_54, unk_10_55, unk_10_56, unk_10_57, unk_10_58, unk_10_59, unk_10_60, unk_10_61, unk_10_62, unk_10_63};
const void *vgpu_probe_table(void) { return t_probe; }

// vgpu_export_table finds the table named by a 16-byte identifier: its address and its
// index (names[] in exporttable.go), or NULL and -1.
const void *vgpu_export_table(const unsigned char *id, int *which) {
	for (int i = 0; i < T_COUNT; i++)
		if (memcmp(tables[i].id, id, 16) == 0) {
			*which = i;
			return tables[i].table;
		}
	*which = -1;
	return NULL;
}
