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
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fork.h"

// shim/fast.c: cuInit, or any runtime call, has run.
int vgpu_fast_driver_is_ready(void);

int vgpu_fork_level;

static int pending_level;

static void prepare(void) {
	int level = vgpu_fast_driver_is_ready() ? 2 : 1;
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
	if (fd >= 0) close(fd); // the mapping stays
	if (!h) fprintf(stderr, "vgpu: a forked child cannot serve itself (%s); its calls fail\n", why);
	return h;
}

void *vgpu_forked_sym(int idx, int needs_init) {
	if (needs_init && __atomic_load_n(&vgpu_fork_level, __ATOMIC_RELAXED) == 2) return NULL;
	if (idx < 0 || idx >= vgpu_fork_nsyms) return NULL;
	void *f = __atomic_load_n(&vgpu_fork_cache[idx], __ATOMIC_ACQUIRE);
	if (f) return f;
	pthread_mutex_lock(&copy_mu);
	if (!copy_handle && !copy_failed) {
		copy_handle = load_copy();
		copy_failed = !copy_handle;
	}
	void *h = copy_handle;
	pthread_mutex_unlock(&copy_mu);
	if (!h) return NULL;
	const struct vgpu_fork_sym *s = &vgpu_fork_syms[idx];
	f = s->node ? dlvsym(h, s->name, s->node) : dlsym(h, s->name);
	__atomic_store_n(&vgpu_fork_cache[idx], f, __ATOMIC_RELEASE);
	return f;
}
