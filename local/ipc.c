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

// Interprocess events: a driver event made CU_EVENT_INTERPROCESS | CU_EVENT_DISABLE_TIMING
// (0x4 | 0x2), its IPC handle, and recording, waiting on and querying it on a context's stream.
typedef struct { unsigned char b[64]; } vg_ipc_ev_handle;
static int (*e_get)(vg_ipc_ev_handle *, void *);
static int (*e_open)(void **, vg_ipc_ev_handle);
static int (*e_create)(void **, unsigned), (*e_record)(void *, void *), (*e_query)(void *), (*e_sync)(void *),
	(*e_destroy)(void *), (*e_wait)(void *, void *, unsigned);
static int ev_syms(void) {
	if (e_wait) return 0;
	void *lib = cu_lib();
	if (!lib) return 1;
	if (!(*(void **)&e_get = dlsym(lib, "cuIpcGetEventHandle")) || !(*(void **)&e_open = dlsym(lib, "cuIpcOpenEventHandle")) ||
		!(*(void **)&e_create = dlsym(lib, "cuEventCreate")) || !(*(void **)&e_record = dlsym(lib, "cuEventRecord")) ||
		!(*(void **)&e_query = dlsym(lib, "cuEventQuery")) || !(*(void **)&e_sync = dlsym(lib, "cuEventSynchronize")) ||
		!(*(void **)&e_destroy = dlsym(lib, "cuEventDestroy_v2")))
		return 1;
	*(void **)&e_wait = dlsym(lib, "cuStreamWaitEvent");
	return e_wait ? 0 : 1;
}
#define EV_BEGIN int r = ev_syms(); if (r || (r = cu_setcur(c->ctx))) return r;
int cu_ipc_ev_export(struct cctx *c, void **ev, unsigned char *out) {
	EV_BEGIN
	if ((r = e_create(ev, 0x6))) return r;
	vg_ipc_ev_handle h;
	memset(&h, 0, sizeof h);
	if ((r = e_get(&h, *ev))) { e_destroy(*ev); return r; }
	memcpy(out, h.b, sizeof h.b);
	return 0;
}
int cu_ipc_ev_import(struct cctx *c, void **ev, const unsigned char *in) {
	EV_BEGIN
	vg_ipc_ev_handle h;
	memcpy(h.b, in, sizeof h.b);
	return e_open(ev, h);
}
// On driver stream st: the issuing stream's (the capturing stream while a graph is recorded).
int cu_ipc_ev_record(struct cctx *c, void *ev, void *st) { EV_BEGIN return e_record(ev, st); }
int cu_ipc_ev_wait(struct cctx *c, void *ev, void *st) { EV_BEGIN return e_wait(st, ev, 0); }
int cu_ipc_ev_query(struct cctx *c, void *ev, int wait) { EV_BEGIN return wait ? e_sync(ev) : e_query(ev); }
int cu_ipc_ev_destroy(struct cctx *c, void *ev) { EV_BEGIN return e_destroy(ev); }

// The stand-in's events: one table for the whole test process (the "driver" both processes
// share); a handle is "fakeipce" and the event's index; a record marks it recorded and
// pending (fake_ev_pending), waits are counted, a query answers its state.
static struct { int used, records, waits, state; } fake_ev[64];
static int fake_ev_pending;
static void *fake_ev_stream; // the driver stream the last record or wait named
static int fake_e_create(void **ev, unsigned f) {
	(void)f;
	for (int i = 1; i < 64; i++) if (!fake_ev[i].used) { fake_ev[i].used = 1; *ev = (void *)(uintptr_t)i; return 0; }
	return 2;
}
static int fake_e_get(vg_ipc_ev_handle *h, void *ev) { memcpy(h->b, "fakeipce", 8); memcpy(h->b + 8, &ev, sizeof ev); return 0; }
static int fake_e_open(void **ev, vg_ipc_ev_handle h) {
	if (memcmp(h.b, "fakeipce", 8)) return 400;
	memcpy(ev, h.b + 8, sizeof *ev);
	uintptr_t i = (uintptr_t)*ev;
	return i > 0 && i < 64 && fake_ev[i].used ? 0 : 400;
}
static int fake_e_record(void *ev, void *st) { fake_ev_stream = st; fake_ev[(uintptr_t)ev].records++; fake_ev[(uintptr_t)ev].state = fake_ev_pending; return 0; }
static int fake_e_query(void *ev) { return fake_ev[(uintptr_t)ev].state; }
static int fake_e_destroy(void *ev) { fake_ev[(uintptr_t)ev].used = 0; return 0; }
static int fake_e_wait(void *st, void *ev, unsigned f) { (void)f; fake_ev_stream = st; fake_ev[(uintptr_t)ev].waits++; return 0; }
void cu_fake_ipc_events(int pending) {
	fake_ev_pending = pending;
	e_get = fake_e_get, e_open = fake_e_open, e_create = fake_e_create, e_record = fake_e_record;
	e_query = fake_e_query, e_sync = fake_e_query, e_destroy = fake_e_destroy, e_wait = fake_e_wait;
}
void *cu_fake_ipc_stream(void) { return fake_ev_stream; }
void cu_fake_ipc_event(void *ev, int *used, int *records, int *waits) {
	uintptr_t i = (uintptr_t)ev;
	if (i >= 64) { *used = *records = *waits = 0; return; }
	*used = fake_ev[i].used, *records = fake_ev[i].records, *waits = fake_ev[i].waits;
}
