// C side of package probe: dlopen and calls through function pointers of a few shapes.

#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "calls.h"

void *open_lib(const char *name, char *err, int n) {
	void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (!h) { const char *e = dlerror(); strncpy(err, e ? e : "unknown", n - 1); err[n - 1] = 0; }
	return h;
}
// sym binds as the library's users do: the global scope first (an LD_PRELOADed vgpu wins
// there), then the library itself.
void *sym(void *h, const char *name) {
	void *p = dlsym(RTLD_DEFAULT, name);
	return p ? p : dlsym(h, name);
}

// Calls through a symbol of one of a handful of shapes. Each returns -1000 when absent.
typedef int (*f_v)(void);
typedef int (*f_p)(void *);
typedef int (*f_u)(unsigned);
typedef int (*f_pi)(void *, int);
typedef int (*f_pp)(void *, void *);
typedef int (*f_ui_p)(unsigned, void *);
typedef int (*f_p_u)(void *, unsigned);
typedef int (*f_h_p)(void *, void *);
typedef int (*f_h_pu)(void *, void *, unsigned);
typedef int (*f_h_ip)(void *, int, void *);
typedef int (*f_pii)(void *, int, int);
typedef int (*f_ppp)(void *, void *, void *);
int call_v(void *f) { return f ? ((f_v)f)() : -1000; }
int call_p(void *f, void *a) { return f ? ((f_p)f)(a) : -1000; }
int call_u(void *f, unsigned a) { return f ? ((f_u)f)(a) : -1000; }
int call_pi(void *f, void *a, int b) { return f ? ((f_pi)f)(a, b) : -1000; }
int call_pp(void *f, void *a, void *b) { return f ? ((f_pp)f)(a, b) : -1000; }
int call_ui_p(void *f, unsigned a, void *b) { return f ? ((f_ui_p)f)(a, b) : -1000; }
int call_p_u(void *f, void *a, unsigned b) { return f ? ((f_p_u)f)(a, b) : -1000; }
int call_h_pu(void *f, void *h, void *a, unsigned b) { return f ? ((f_h_pu)f)(h, a, b) : -1000; }
int call_h_ip(void *f, void *h, int a, void *b) { return f ? ((f_h_ip)f)(h, a, b) : -1000; }
int call_pii(void *f, void *a, int b, int c) { return f ? ((f_pii)f)(a, b, c) : -1000; }
int call_ppp(void *f, void *a, void *b, void *c) { return f ? ((f_ppp)f)(a, b, c) : -1000; }

// ggml's backend registration, as ggml_backend_load reads it: the first field of the struct
// ggml_backend_init returns is its API version; the interface that follows starts with four
// function pointers, the fourth get_proc_address (ggml-backend-impl.h, API versions 1 and 2).
struct ggml_reg_view { int api_version; void *get_name, *get_device_count, *get_device; void *(*get_proc_address)(void *, const char *); };
struct ggml_feature_view { const char *name, *value; };

// ggml_reg_read calls the backend's ggml_backend_init (found in the library itself, not the
// global scope) and copies its API version and "name=value\n" features into feats.
int ggml_reg_read(void *h, int *api, char *feats, int n) {
	feats[0] = 0;
	void *(*init)(void) = (void *(*)(void))dlsym(h, "ggml_backend_init");
	if (!init) return -1;
	struct ggml_reg_view *reg = init();
	if (!reg) return -2;
	*api = reg->api_version;
	if (!reg->get_proc_address) return 0;
	struct ggml_feature_view *(*get)(void *) = (struct ggml_feature_view *(*)(void *))reg->get_proc_address(reg, "ggml_backend_get_features");
	if (!get) return 0;
	int used = 0;
	for (struct ggml_feature_view *f = get(reg); f && f->name; f++) {
		int w = snprintf(feats + used, n - used, "%s=%s\n", f->name, f->value ? f->value : "");
		if (w < 0 || w >= n - used) break;
		used += w;
	}
	return 0;
}
