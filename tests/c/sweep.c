/* Bad input at every entry point: each exported C name (zz_sweep.h, generated from
 * shim/api/functions.txt) is called with NULL and zero arguments, then with wild handles,
 * negative ordinals and absurd sizes. Nothing may crash or hang, every status must be one its
 * library defines, a NULL output must not be reported as filled, and a wild handle must not
 * be accepted. usage: sweep LIBDIR */
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zz_sweep.h"

#define NSLOTS 24
typedef long (*anyfn)(long, long, long, long, long, long, long, long, long, long, long, long,
		      long, long, long, long, long, long, long, long, long, long, long, long);

static const char *current = "(none)";
static void on_fault(int sig) {
	/* Reached for faults in C; a fault in Go code prints Go's own traceback instead. */
	char msg[256];
	int n = snprintf(msg, sizeof msg, "sweep: FAIL: signal %d in %s\n", sig, current);
	write(2, msg, n > 0 ? (size_t)n : 0);
	_exit(1);
}

/* Calls that answer success with a NULL output, and why that is right. */
static const char *null_output_ok[] = {
	"cudaDeviceGetStreamPriorityRange", /* CUDA documents both outputs as optional */
	"__cudaPopCallConfiguration",       /* nvcc's stubs; vgpu fills the outputs it is given */
	"cuCtxPopCurrent_v2",               /* programs pop with NULL when they want no handle back */
	"cuCtxPopCurrent",                  /* (NVIDIA's own codec samples do), and the driver takes it */
	NULL,
};

static int listed(const char **list, const char *name) {
	for (; *list; list++)
		if (!strcmp(*list, name)) return 1;
	return 0;
}

static void *lib;
static void *sym(const char *name) {
	void *f = dlsym(lib, name);
	if (!f) { fprintf(stderr, "sweep: FAIL: %s not exported\n", name); exit(1); }
	return f;
}

/* Whether status r is one that library defines (its own name function knows it). */
static int known(char kind, int r) {
	switch (kind) {
	case 'c': { const char *s; return ((int (*)(int, const char **))sym("cuGetErrorName"))(r, &s) == 0; }
	case 'r': return strcmp(((const char *(*)(int))sym("cudaGetErrorName"))(r), "unrecognized error code") != 0;
	case 'b': return strcmp(((const char *(*)(int))sym("cublasGetStatusName"))(r), "CUBLAS_STATUS_UNKNOWN") != 0;
	case 'n': return r == 999 || strcmp(((const char *(*)(int))sym("nvmlErrorString"))(r), "Unknown Error") != 0;
	}
	return 1;
}

/* A remote client pipelines stream-ordered calls, so their errors arrive with the next
 * synchronising call, as a kernel's do; the error must not be lost. */
static int deferred_error(char kind) {
	int r = kind == 'c' ? ((int (*)(void))sym("cuCtxSynchronize"))() : ((int (*)(void))sym("cudaDeviceSynchronize"))();
	((int (*)(void))sym("cudaGetLastError"))();
	return r != 0;
}

static unsigned char outbuf[1 << 20], inbuf[1 << 16];

int main(int argc, char **argv) {
	if (argc < 2) { fprintf(stderr, "usage: sweep LIBDIR\n"); return 2; }
	signal(SIGSEGV, on_fault); signal(SIGBUS, on_fault); signal(SIGFPE, on_fault);
	signal(SIGALRM, on_fault);
	char path[4096];
	snprintf(path, sizeof path, "%s/libcuda.so.1", argv[1]);
	if (!(lib = dlopen(path, RTLD_NOW))) { fprintf(stderr, "sweep: FAIL: %s\n", dlerror()); return 1; }
	((int (*)(unsigned))sym("cuInit"))(0);
	((int (*)(void))sym("nvmlInit_v2"))();
	size_t n = sizeof sweep_fns / sizeof sweep_fns[0];
	int failures = 0, calls = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			const char *slots = sweep_fns[i].slots;
			long a[NSLOTS] = {0};
			int has_out = 0, has_handle = 0;
			for (int k = 0; slots[k]; k++) {
				switch (slots[k]) {
				case 'o': has_out = 1; a[k] = pass ? (long)outbuf : 0; break;
				case 'i': a[k] = pass ? (long)inbuf : 0; break;
				case 'r': a[k] = (long)outbuf; break;          /* where a returned struct goes */
				case 'h': has_handle = 1; a[k] = pass ? 0x7ead0000dea0L : 0; break;
				case 's': a[k] = pass ? -1 : 0; break;
				case 'u': a[k] = pass ? -1L : 0; break;  /* ~0: an absurd size or count */
				default: a[k] = 0;                        /* device addresses, dim3 */
				}
			}
			memset(outbuf, 0, 4096); memset(inbuf, 0, sizeof inbuf);
			current = sweep_fns[i].name;
			alarm(20);
			long r = ((anyfn)sym(current))(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11],
						       a[12], a[13], a[14], a[15], a[16], a[17], a[18], a[19], a[20], a[21], a[22], a[23]);
			alarm(0);
			calls++;
			char st = sweep_fns[i].status;
			if (st == '-') continue;  /* void, strings and handles: surviving is the check */
			int code = (int)r;
			const char *why = NULL;
			if (!known(st, code)) why = "returned a status its library does not define";
			else if (pass == 0 && has_out && code == 0 && !listed(null_output_ok, current)) why = "accepted a NULL output";
			else if (pass == 1 && has_handle && code == 0 && !(sweep_fns[i].async && deferred_error(st)))
				why = "accepted a wild handle";
			if (why) {
				printf("sweep: FAIL: %s (%s): %s (%d)\n", current, pass ? "wild handles, -1, ~0" : "NULL and zero", why, code);
				failures++;
			}
		}
	}
	printf("sweep: %zu entry points, %d calls, %d failure(s)\n", n, calls, failures);
	return failures != 0;
}
