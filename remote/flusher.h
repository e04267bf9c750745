#include <stdint.h>

// What the posting threads (Go) and the flusher thread (C) share; every field is read and
// written atomically.
struct vgpu_flusher {
	int64_t due;            // when the batch must leave, CLOCK_MONOTONIC ns; 0: nothing queued
	int64_t awaiting;       // when the last request was sent, until the next post; 0 meanwhile
	int64_t flush_delay_ns; // flushDelay
	int64_t linger_ns;      // flusherLinger
	int32_t awake;          // the flusher is up: a post need not kick it
	int32_t kicked;         // the futex word a post wakes it on
};

extern struct vgpu_flusher vgpu_flusher;

int vgpu_flusher_start(void);
void vgpu_flusher_kick(void);
