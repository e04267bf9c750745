// Fork safety. A Go c-shared library starts its runtime on a thread of its own from an ELF
// constructor and keeps threads of its own after that. fork() copies only the calling thread:
// a child forked while the runtime was still starting waits forever for an initialisation
// that no thread will finish, and even after that, Go code in the child hangs as soon as its
// goroutine is descheduled (preempted, blocked on a lock or a channel, or stopped for a
// collection), because the threads the scheduler would hand it to, or wake, are gone.
//
// NVIDIA's driver serves a forked child: it works if the parent never initialised CUDA; if
// the parent had, its driver and runtime calls answer "initialization error" (3), while what
// needs no initialisation (versions, error texts) and NVML (after the child's own nvmlInit)
// still work. To give the same, a child never enters this library's Go runtime: on its
// first call it loads a fresh copy of the library file (through a memfd, so the loader maps
// it as a new object), whose runtime starts in the child and whose device state is the
// child's own, and forwards every call there; calls that NVIDIA refuses are answered in C.
// The parent's server connection (VGPU_BACKEND=remote or local) belongs to the parent's Go
// runtime, which the child never runs: the copy opens its own.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "fork.h"

int vgpu_fork_level;
int vgpu_fork_cuda_used;

static int pending_level;

static void prepare(void) {
	// The flag's store happens before the call returns: a fork racing a cuInit in another
	// thread may go either way, as under NVIDIA's driver.
	int level = __atomic_load_n(&vgpu_fork_cuda_used, __ATOMIC_RELAXED) ? 2 : 1;
	int mine = __atomic_load_n(&vgpu_fork_level, __ATOMIC_RELAXED);
	// A child's children keep its limits: its CUDA lives in its copy, whose own handlers
	// decide for that copy.
	pending_level = mine > level ? mine : level;
}

static void child(void) { __atomic_store_n(&vgpu_fork_level, pending_level, __ATOMIC_SEQ_CST); }

__attribute__((constructor)) static void vgpu_fork_init(void) { pthread_atfork(prepare, NULL, child); }

static pthread_mutex_t copy_mu = PTHREAD_MUTEX_INITIALIZER;
static void *copy_handle;
static int copy_failed;

// load_copy maps a fresh copy of this library file. NULL (once reported) when it cannot.
static void *load_copy(void) {
	Dl_info info;
	char why[512] = "", path[64];
	void *h = NULL;
	int src = -1, fd = -1;
	struct stat st;
	if (!dladdr((void *)load_copy, &info) || !info.dli_fname) {
		snprintf(why, sizeof why, "cannot name the library file");
		goto out;
	}
	if ((src = open(info.dli_fname, O_RDONLY | O_CLOEXEC)) < 0 || fstat(src, &st) < 0) {
		snprintf(why, sizeof why, "%s: cannot read it", info.dli_fname);
		goto out;
	}
	if ((fd = memfd_create("vgpu-forked-child", MFD_CLOEXEC)) < 0) {
		snprintf(why, sizeof why, "memfd_create failed");
		goto out;
	}
	for (off_t off = 0; off < st.st_size;) {
		ssize_t n = sendfile(fd, src, &off, st.st_size - off);
		if (n <= 0) {
			snprintf(why, sizeof why, "copying %s failed", info.dli_fname);
			goto out;
		}
	}
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	if (!(h = dlopen(path, RTLD_NOW | RTLD_LOCAL)))
		snprintf(why, sizeof why, "loading a copy of %s: %s", info.dli_fname, dlerror());
out:
	if (src >= 0) close(src);
	// The copy's name is /proc/self/fd/<fd>: the memfd stays open (it closes on exec) so that
	// a grandchild's copy can be made from it.
	if (fd >= 0 && !h) close(fd);
	if (!h) fprintf(stderr, "vgpu: a forked child cannot serve itself (%s); its calls fail\n", why);
	return h;
}

// ---- the registration log ----

struct reg {
	int kind, idx, n;
	void *ret;          // what the call returned to the program (a module handle)
	uintptr_t args[10]; // as the program passed them
};
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static struct reg *regs;
static int nregs, capregs;

void vgpu_fork_record(int kind, int idx, void *ret, const uintptr_t *args, int n) {
	if (n > 10) return;
	pthread_mutex_lock(&log_mu);
	if (nregs == capregs) {
		int c = capregs ? 2 * capregs : 256;
		struct reg *r = realloc(regs, c * sizeof *r);
		if (!r) {
			pthread_mutex_unlock(&log_mu);
			return;
		}
		regs = r;
		capregs = c;
	}
	struct reg *r = &regs[nregs++];
	r->kind = kind;
	r->idx = idx;
	r->n = n;
	r->ret = ret;
	memcpy(r->args, args, n * sizeof args[0]);
	pthread_mutex_unlock(&log_mu);
}

// Module handles the program holds (from the parent's library) -> the copy's.
static void **handle_from, **handle_to;
static int nhandles;

void *vgpu_fork_handle_of(void *handle) {
	for (int i = nhandles - 1; i >= 0; i--)
		if (handle_from[i] == handle) return handle_to[i];
	return handle;
}

static void *copy_entry(void *h, int idx) {
	const struct vgpu_fork_sym *s = &vgpu_fork_syms[idx];
	return s->node ? dlvsym(h, s->name, s->node) : dlsym(h, s->name);
}

// replay gives the copy h what the program registered with the parent's library, in order.
static void replay(void *h) {
	pthread_mutex_lock(&log_mu);
	handle_from = calloc(nregs + 1, sizeof(void *));
	handle_to = calloc(nregs + 1, sizeof(void *));
	for (int i = 0; handle_from && handle_to && i < nregs; i++) {
		struct reg *r = &regs[i];
		void *f = copy_entry(h, r->idx);
		uintptr_t *a = r->args;
		if (!f) continue;
		void *mod = r->kind == VGPU_REG_FATBIN ? NULL : vgpu_fork_handle_of((void *)a[0]);
		switch (r->kind) {
		case VGPU_REG_FATBIN:
			handle_from[nhandles] = r->ret;
			handle_to[nhandles] = ((void **(*)(void *))f)((void *)a[0]);
			nhandles++;
			break;
		case VGPU_REG_END:
		case VGPU_REG_UNREG:
			((void (*)(void *))f)(mod);
			break;
		case VGPU_REG_INIT:
			((char (*)(void *))f)(mod);
			break;
		case VGPU_REG_FUNC:
			((void (*)(void *, void *, void *, void *, int, void *, void *, void *, void *, void *))f)(
				mod, (void *)a[1], (void *)a[2], (void *)a[3], (int)a[4], (void *)a[5], (void *)a[6], (void *)a[7], (void *)a[8], (void *)a[9]);
			break;
		case VGPU_REG_VAR:
		case VGPU_REG_MVAR:
			((void (*)(void *, void *, void *, void *, int, size_t, int, int))f)(
				mod, (void *)a[1], (void *)a[2], (void *)a[3], (int)a[4], (size_t)a[5], (int)a[6], (int)a[7]);
			break;
		}
	}
	pthread_mutex_unlock(&log_mu);
}

void *vgpu_forked_sym(int idx, int needs_init) {
	if (needs_init && __atomic_load_n(&vgpu_fork_level, __ATOMIC_RELAXED) == 2) return NULL;
	if (idx < 0 || idx >= vgpu_fork_nsyms) return NULL;
	void *f = __atomic_load_n(&vgpu_fork_cache[idx], __ATOMIC_ACQUIRE);
	if (f) return f;
	pthread_mutex_lock(&copy_mu);
	if (!copy_handle && !copy_failed) {
		void *h = load_copy();
		if (h) replay(h);
		copy_handle = h;
		copy_failed = !h;
	}
	void *h = copy_handle;
	pthread_mutex_unlock(&copy_mu);
	if (!h) return NULL;
	f = copy_entry(h, idx);
	__atomic_store_n(&vgpu_fork_cache[idx], f, __ATOMIC_RELEASE);
	return f;
}
