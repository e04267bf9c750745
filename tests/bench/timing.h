/* The benchmarks' clock and the comparison their medians sort with. */
#ifndef VGPU_BENCH_TIMING_H
#define VGPU_BENCH_TIMING_H
#include <time.h>

static inline double now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}
static inline int cmp(const void *a, const void *b) {
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}
#endif
