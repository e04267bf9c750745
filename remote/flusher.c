// The client's flusher (remote/flusher.go): a thread of C's own, outside Go's scheduler, that
// sends a batch of posts that no request or later post took along.
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "flusher.h"

extern void vgpuRemoteFlushDue(void);

struct vgpu_flusher vgpu_flusher;

static int64_t mono_now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void nap(int64_t ns) {
	struct timespec t = {ns / 1000000000, ns % 1000000000};
	nanosleep(&t, NULL);
}

static int64_t load(int64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }

// The loop of the Go flusher it replaces, with the same times: woken by a post (kick), it
// naps until the batch is due and has Go send it; it lingers flush_delay_ns at a time for
// linger_ns after the last batch it saw, but not while the program awaits a response (the
// waiting thread holds the connection: nothing could be sent), and then sleeps until kicked.
static void *run(void *unused) {
	(void)unused;
	prctl(PR_SET_TIMERSLACK, 1000, 0, 0, 0); // a 20 µs nap must not last 70
	struct vgpu_flusher *f = &vgpu_flusher;
	for (;;) {
		while (!__atomic_exchange_n(&f->kicked, 0, __ATOMIC_ACQ_REL))
			syscall(SYS_futex, &f->kicked, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
		int64_t last_seen = mono_now();
		for (;;) {
			int64_t due = load(&f->due), now = mono_now();
			int64_t delay = load(&f->flush_delay_ns);
			if (due == 0) {
				int64_t waited = load(&f->awaiting);
				if ((waited == 0 || now - waited < delay) && now - last_seen < load(&f->linger_ns)) {
					nap(delay);
					continue;
				}
				__atomic_store_n(&f->awake, 0, __ATOMIC_SEQ_CST);
				if (load(&f->due) == 0) // else a post queued before it saw the flag drop
					break;
				__atomic_store_n(&f->awake, 1, __ATOMIC_SEQ_CST);
				continue;
			}
			last_seen = now;
			if (due > now) {
				// At most a millisecond: a batch is due within batchAge, and a test that set
				// an hour's delay must not leave the flusher asleep for the tests after it.
				nap(due - now < 1000000 ? due - now : 1000000);
				continue;
			}
			vgpuRemoteFlushDue();
		}
	}
	return NULL;
}

int vgpu_flusher_start(void) {
	pthread_t t;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	int r = pthread_create(&t, &a, run, NULL);
	pthread_attr_destroy(&a);
	return r;
}

void vgpu_flusher_kick(void) {
	__atomic_store_n(&vgpu_flusher.kicked, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &vgpu_flusher.kicked, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
