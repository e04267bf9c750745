// gputimeline: the GPU's own timeline of one process, for telling the GPU's time from its
// idle gaps. Built on a GPU machine against CUPTI (which ships with the CUDA toolkit) and
// loaded by NVIDIA's driver into any CUDA process through CUDA_INJECTION64_PATH: a native
// program, or `vgpu serve`, whose GPU work is its clients'. Each process appends
// "K start end stream" (a kernel) and "M start end bytes kind" (a copy) lines, in the
// GPU's nanoseconds, to $GPUTL_OUT/tl-PID.txt.
//
// The activity record layouts are CUPTI's newest; the build names them (KREC, MREC), as
// their version suffix moves between toolkits. tests/bench/timeline.sh builds and uses it.
#include <cupti.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#ifndef KREC
#error "build with -DKREC=CUpti_ActivityKernelN -DMREC=CUpti_ActivityMemcpyN"
#endif

static FILE *out;

static void CUPTIAPI requested(uint8_t **buffer, size_t *size, size_t *max_records) {
	*size = 1 << 20;
	*buffer = aligned_alloc(8, *size);
	*max_records = 0;
}

static void CUPTIAPI completed(CUcontext ctx, uint32_t stream, uint8_t *buffer, size_t size, size_t valid) {
	(void)ctx, (void)stream, (void)size;
	CUpti_Activity *r = NULL;
	while (out && cuptiActivityGetNextRecord(buffer, valid, &r) == CUPTI_SUCCESS) {
		if (r->kind == CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL || r->kind == CUPTI_ACTIVITY_KIND_KERNEL) {
			KREC *k = (KREC *)r;
			fprintf(out, "K %llu %llu %u\n", (unsigned long long)k->start, (unsigned long long)k->end, k->streamId);
		} else if (r->kind == CUPTI_ACTIVITY_KIND_MEMCPY) {
			MREC *m = (MREC *)r;
			fprintf(out, "M %llu %llu %llu %u\n", (unsigned long long)m->start, (unsigned long long)m->end,
				(unsigned long long)m->bytes, (unsigned)m->copyKind);
		}
	}
	if (out)
		fflush(out);
	free(buffer);
}

static void flush_at_exit(void) { cuptiActivityFlushAll(1); }

int InitializeInjection(void) {
	const char *dir = getenv("GPUTL_OUT");
	char path[4096];
	snprintf(path, sizeof path, "%s/tl-%d.txt", dir ? dir : "/tmp", (int)getpid());
	out = fopen(path, "a");
	if (!out)
		return 0;
	cuptiActivityRegisterCallbacks(requested, completed);
	cuptiActivityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
	cuptiActivityEnable(CUPTI_ACTIVITY_KIND_MEMCPY);
	// A Go program (vgpu serve) leaves without running atexit handlers: flush as it goes.
	cuptiActivityFlushPeriod(200);
	atexit(flush_at_exit);
	return 1;
}
