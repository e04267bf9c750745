// Declarations shared by package probe's Go files and calls.c.
#ifndef VGPU_PROBE_CALLS_H
#define VGPU_PROBE_CALLS_H
typedef struct { unsigned long long total, free, used; } mem_t;
typedef struct { char legacy[16]; unsigned domain, bus, device, pci_device_id, pci_subsystem_id; char bus_id[32]; } pci_t;
typedef struct { unsigned gpu, memory; } util_t;
void *open_lib(const char *name, char *err, int n);
void *sym(void *h, const char *name);
int call_v(void *f);
int call_p(void *f, void *a);
int call_u(void *f, unsigned a);
int call_pi(void *f, void *a, int b);
int call_pp(void *f, void *a, void *b);
int call_ui_p(void *f, unsigned a, void *b);
int call_p_u(void *f, void *a, unsigned b);
int call_h_pu(void *f, void *h, void *a, unsigned b);
int call_h_ip(void *f, void *h, int a, void *b);
int call_pii(void *f, void *a, int b, int c);
int call_ppp(void *f, void *a, void *b, void *c);
int ggml_reg_read(void *h, int *api, char *feats, int n);
#endif
