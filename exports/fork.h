// Fork safety (exports/fork.c): what the generated C wrappers do in a forked child.
//
// A forked child has only the thread that called fork(); the Go runtime of this library,
// whose other threads it no longer has, must not be entered there (a goroutine that blocks
// or is preempted waits forever for a thread that does not exist). So a child never calls
// this copy of the library's Go code: it serves itself from a fresh copy of the library,
// loaded on its first call, with a Go runtime and a device state of its own. Calls that
// NVIDIA's driver refuses in the child of a process that had initialised CUDA are answered
// in C instead.
#ifndef VGPU_FORK_H
#define VGPU_FORK_H

#define VGPU_HIDDEN __attribute__((visibility("hidden")))

// 0 in the process that loaded the library; in a forked child, 1 if its parent had not
// initialised CUDA, 2 if it had.
extern int vgpu_fork_level VGPU_HIDDEN;

// Set once a call that needs CUDA initialised has succeeded here (cuInit, a runtime call):
// children forked after that get CUDA's "not initialised". Read before written, so that the
// hot path only loads a line every thread keeps shared.
extern int vgpu_fork_cuda_used VGPU_HIDDEN;
static inline void vgpu_fork_note_init(int r) {
	if (__builtin_expect(r == 0 && !__atomic_load_n(&vgpu_fork_cuda_used, __ATOMIC_RELAXED), 0))
		__atomic_store_n(&vgpu_fork_cuda_used, 1, __ATOMIC_RELAXED);
}

static inline int vgpu_forked(void) { return __builtin_expect(__atomic_load_n(&vgpu_fork_level, __ATOMIC_RELAXED), 0); }

// The fresh copy's entry point idx (zz_wrappers.c's vgpu_fork_syms), or NULL where the child
// answers in C: a call that needs CUDA initialised (needs_init) in the child of a process
// that had initialised it, or a copy that could not be loaded.
void *vgpu_forked_sym(int idx, int needs_init) VGPU_HIDDEN;

// The registration log: what a CUDA program's constructors registered, replayed into a
// child's copy before its first call, so that its kernels launch there too.
#include <stdint.h>
enum { VGPU_REG_FATBIN, VGPU_REG_END, VGPU_REG_UNREG, VGPU_REG_FUNC, VGPU_REG_VAR, VGPU_REG_MVAR, VGPU_REG_INIT };
void vgpu_fork_record(int kind, int idx, void *ret, const uintptr_t *args, int n) VGPU_HIDDEN;
// The copy's handle for a module handle the parent's library gave the program.
void *vgpu_fork_handle_of(void *handle) VGPU_HIDDEN;

// The entry points, by name and version node (NULL: the unversioned driver and NVML names).
struct vgpu_fork_sym {
	const char *name, *node;
};
extern const struct vgpu_fork_sym vgpu_fork_syms[] VGPU_HIDDEN;
extern void *vgpu_fork_cache[] VGPU_HIDDEN;
extern const int vgpu_fork_nsyms VGPU_HIDDEN;

#endif
