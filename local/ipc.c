// The driver's IPC entry points (ipc.go), looked up at first use, and a stand-in for tests.
#include <dlfcn.h>
#include <stdint.h>
#include <string.h>
#include "cctx.h"

void *cu_lib(void);
int cu_setcur(void *ctx);

// CUipcMemHandle: 64 opaque bytes, passed by value to cuIpcOpenMemHandle.
typedef struct { unsigned char b[64]; } vg_ipc_handle;
static int (*i_get)(vg_ipc_handle *, unsigned long long);
static int (*i_open)(unsigned long long *, vg_ipc_handle, unsigned);
static int (*i_close)(unsigned long long);

// 1 (CUDA_ERROR_INVALID_VALUE... as the marks do) when the driver lacks one.
static int ipc_syms(void) {
	if (i_close) return 0;
	void *lib = cu_lib();
	if (!lib) return 1;
	*(void **)&i_open = dlsym(lib, "cuIpcOpenMemHandle_v2");
	if (!i_open) *(void **)&i_open = dlsym(lib, "cuIpcOpenMemHandle");
	if (!(*(void **)&i_get = dlsym(lib, "cuIpcGetMemHandle")) || !i_open) return 1;
	*(void **)&i_close = dlsym(lib, "cuIpcCloseMemHandle");
	return i_close ? 0 : 1;
}

int cu_ipc_get(struct cctx *c, unsigned char *out, unsigned long long p) {
	int r = ipc_syms();
	if (r || (r = cu_setcur(c->ctx))) return r;
	vg_ipc_handle h;
	memset(&h, 0, sizeof h);
	if ((r = i_get(&h, p))) return r;
	memcpy(out, h.b, sizeof h.b);
	return 0;
}

// cu_ipc_open: CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS, as the runtime's cudaIpcOpenMemHandle asks.
int cu_ipc_open(struct cctx *c, unsigned long long *p, const unsigned char *in) {
	int r = ipc_syms();
	if (r || (r = cu_setcur(c->ctx))) return r;
	vg_ipc_handle h;
	memcpy(h.b, in, sizeof h.b);
	return i_open(p, h, 1);
}

int cu_ipc_close(struct cctx *c, unsigned long long p) {
	int r = ipc_syms();
	if (r || (r = cu_setcur(c->ctx))) return r;
	return i_close(p);
}

// The stand-in: a handle is "fakeipc" and the exporting address; an open maps it at the
// address plus 1 TiB (another process's address for the same memory), and refuses a handle
// of any other shape (400, CUDA_ERROR_INVALID_HANDLE); the counts say how many opens and
// closes the driver saw.
static int fake_opens, fake_closes;
static int fake_ipcget(vg_ipc_handle *h, unsigned long long p) {
	memcpy(h->b, "fakeipc", 8);
	memcpy(h->b + 8, &p, sizeof p);
	return 0;
}
static int fake_ipcopen(unsigned long long *p, vg_ipc_handle h, unsigned flags) {
	(void)flags;
	if (memcmp(h.b, "fakeipc", 8)) return 400;
	memcpy(p, h.b + 8, sizeof *p);
	*p += 1ull << 40;
	fake_opens++;
	return 0;
}
static int fake_ipcclose(unsigned long long p) { (void)p; fake_closes++; return 0; }
void cu_fake_ipc(void) { i_get = fake_ipcget, i_open = fake_ipcopen, i_close = fake_ipcclose; }
void cu_fake_ipc_counts(int *opens, int *closes) { *opens = fake_opens, *closes = fake_closes; }
