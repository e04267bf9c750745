// Per-thread state CUDA defines per host thread: an identity for the Go side's maps
// (the current device, the context stack, the launch configuration stack) and the
// runtime's last error. Go cannot name the calling C thread itself.
#include <stdint.h>

static __thread uint64_t vgpu_thread_key;
static uint64_t vgpu_next_key;
static __thread int vgpu_last_error;

uint64_t vgpu_thread_id(void) {
	if (!vgpu_thread_key)
		vgpu_thread_key = __atomic_add_fetch(&vgpu_next_key, 1, __ATOMIC_RELAXED);
	return vgpu_thread_key;
}

int vgpu_get_last_error(void) { return vgpu_last_error; }
void vgpu_set_last_error(int e) { vgpu_last_error = e; }
