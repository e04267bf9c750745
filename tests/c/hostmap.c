/* Registered host memory a kernel reaches (remote/hostreg.go). Under remote, on the server's
 * host, cudaHostRegister replaces the range's pages with shared ones holding the same bytes
 * (the server maps and registers them device-mapped), and cudaHostUnregister gives it private
 * pages again with the bytes it then holds. What a program must see: its bytes, and its
 * neighbours' on the same pages, never change at registering or unregistering; copies from and
 * to the range are right; after unregistering the memory is private again (a forked child's
 * writes stay the child's); memory that cannot be replaced (the main thread's stack, a page
 * already shared) is registered all the same.
 *   hostmap LIBDIR sim      in-process: nothing is replaced
 *   hostmap LIBDIR remote   a client of a `vgpu serve` on a unix socket */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef int err_t;
static int failures, checks;
#define CHECK(c, ...) do { checks++; if (!(c)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)
#define EQ(got, want, what) do { long long g_ = (long long)(got), w_ = (long long)(want); CHECK(g_ == w_, "%s: got %lld, want %lld", what, g_, w_); } while (0)

#define FNS(X) \
	X(err_t, cudaHostRegister, (void *, size_t, unsigned)) X(err_t, cudaHostUnregister, (void *)) \
	X(err_t, cudaHostGetDevicePointer, (void **, void *, unsigned)) X(err_t, cudaMalloc, (void **, size_t)) \
	X(err_t, cudaFree, (void *)) X(err_t, cudaMemcpy, (void *, const void *, size_t, int)) \
	X(err_t, cudaMemcpyAsync, (void *, const void *, size_t, int, void *)) X(err_t, cudaDeviceSynchronize, (void)) \
	X(err_t, cudaHostAlloc, (void **, size_t, unsigned)) X(err_t, cudaFreeHost, (void *))
#define DECL(r, n, a) static r(*n) a;
FNS(DECL)
#define H2D 1
#define D2H 2
#define MAPPED 2

static void load(const char *libdir) {
	char path[4096];
	snprintf(path, sizeof path, "%s/libcudart.so.13", libdir);
	void *rt = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	if (!rt) { printf("FAIL load: %s\n", dlerror()); exit(1); }
#define LOAD(r, n, a) if (!(n = (r(*) a)dlsym(rt, #n))) { printf("FAIL missing %s\n", #n); exit(1); }
	FNS(LOAD)
}

/* backing is the name of the mapping holding p in /proc/self/maps ("" for anonymous memory). */
static void backing(const void *p, char *out, size_t n) {
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096];
	out[0] = 0;
	while (f && fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		int at = 0;
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &at) < 2 || (uintptr_t)p < lo || (uintptr_t)p >= hi) continue;
		snprintf(out, n, "%s", at ? line + at : "");
		out[strcspn(out, "\n")] = 0;
		break;
	}
	if (f) fclose(f);
}
static int shared_page(const void *p) { char b[4096]; backing(p, b, sizeof b); return strstr(b, "memfd:vgpu-registered") != NULL; }

static int pattern(size_t i, int salt) { return (int)(i * 2654435761u) ^ salt; }

int main(int argc, char **argv) {
	if (argc < 2) { fprintf(stderr, "usage: hostmap LIBDIR [sim|remote]\n"); return 2; }
	int remote = argc > 2 && strcmp(argv[2], "remote") == 0;
	load(argv[1]);
	const size_t N = 1 << 18, bytes = N * sizeof(int);
	int *d = NULL;
	EQ(cudaMalloc((void **)&d, bytes), 0, "device memory");

	/* A page-aligned buffer. */
	int *buf = NULL;
	if (posix_memalign((void **)&buf, 4096, bytes)) return 1;
	for (size_t i = 0; i < N; i++) buf[i] = pattern(i, 1);
	EQ(cudaHostRegister(buf, bytes, MAPPED), 0, "register");
	EQ(shared_page(buf) && shared_page(buf + N - 1), remote, "the range's pages are shared with the server under remote only");
	int same = 1;
	for (size_t i = 0; i < N; i++) same &= buf[i] == pattern(i, 1);
	CHECK(same, "registering keeps the bytes");
	void *dp = NULL;
	EQ(cudaHostGetDevicePointer(&dp, buf, 0), 0, "device pointer");
	CHECK(dp != NULL, "a device pointer");
	for (size_t i = 0; i < N; i++) buf[i] = pattern(i, 2); /* written after registering */
	EQ(cudaMemcpy(d, buf, bytes, H2D), 0, "copy from registered memory");
	int *back = malloc(bytes);
	EQ(cudaMemcpy(back, d, bytes, D2H), 0, "copy back");
	CHECK(memcmp(back, buf, bytes) == 0, "the device holds what the program wrote");
	for (size_t i = 0; i < N; i++) back[i] = pattern(i, 3);
	EQ(cudaMemcpy(d, back, bytes, H2D), 0, "upload");
	EQ(cudaMemcpyAsync(buf, d, bytes, D2H, NULL), 0, "async copy into registered memory");
	EQ(cudaDeviceSynchronize(), 0, "sync");
	CHECK(memcmp(back, buf, bytes) == 0, "an async download lands in the program's pages by the sync");
	EQ(cudaHostUnregister(buf), 0, "unregister");
	CHECK(!shared_page(buf), "unregistering gives the range private pages");
	CHECK(memcmp(back, buf, bytes) == 0, "unregistering keeps the bytes");
	/* Private again: a forked child's writes are its own. */
	pid_t pid = fork();
	if (pid == 0) { buf[0] = -1; _exit(0); }
	waitpid(pid, NULL, 0);
	EQ(buf[0], back[0], "a child's write after unregistering stays the child's");
	free(buf);

	/* A buffer in the middle of malloc's pages: its neighbours share its first and last pages. */
	char *block = malloc(3 * 4096);
	memset(block, 0x5a, 3 * 4096);
	char *mid = block + 1000;
	for (int i = 0; i < 8000; i++) mid[i] = (char)i;
	EQ(cudaHostRegister(mid, 8000, 0), 0, "register a range not on page boundaries");
	int kept = 1;
	for (int i = 0; i < 1000; i++) kept &= block[i] == 0x5a;
	for (int i = 9000; i < 3 * 4096; i++) kept &= block[i] == 0x5a;
	for (int i = 0; i < 8000; i++) kept &= mid[i] == (char)i;
	CHECK(kept, "registering keeps the range's bytes and its neighbours'");
	/* A second range on a page the first already shares: registered, its page left as it is. */
	char *next = block + 9100;
	EQ(cudaHostRegister(next, 100, 0), 0, "register a range sharing a page with a registered one");
	memset(next, 7, 100);
	EQ(cudaMemcpy(d, mid, 8000, H2D), 0, "copy from the first range");
	EQ(cudaMemcpy((char *)d + 8000, next, 100, H2D), 0, "copy from the second");
	char got[8100];
	EQ(cudaMemcpy(got, d, sizeof got, D2H), 0, "copy back");
	CHECK(memcmp(got, mid, 8000) == 0 && memcmp(got + 8000, next, 100) == 0, "both ranges' bytes");
	EQ(cudaHostUnregister(next), 0, "unregister the second");
	EQ(cudaHostUnregister(mid), 0, "unregister the first");
	CHECK(!shared_page(mid), "private again");
	kept = 1;
	for (int i = 0; i < 1000; i++) kept &= block[i] == 0x5a;
	for (int i = 0; i < 8000; i++) kept &= mid[i] == (char)i;
	for (int i = 0; i < 100; i++) kept &= next[i] == 7;
	CHECK(kept, "unregistering keeps every byte");
	free(block);

	/* The main thread's stack is never replaced; registering it still works. */
	char stack[8192];
	memset(stack, 3, sizeof stack);
	EQ(cudaHostRegister(stack, sizeof stack, MAPPED), 0, "register stack memory");
	CHECK(!shared_page(stack), "the stack keeps its pages");
	EQ(cudaMemcpy(d, stack, sizeof stack, H2D), 0, "copy from it");
	EQ(cudaHostUnregister(stack), 0, "unregister stack memory");

	/* cudaHostAlloc'ed mapped memory is shared from the start. */
	int *ha = NULL;
	EQ(cudaHostAlloc((void **)&ha, bytes, MAPPED), 0, "mapped host alloc");
	void *dha = NULL;
	EQ(cudaHostGetDevicePointer(&dha, ha, 0), 0, "its device pointer");
	CHECK(dha != NULL, "a device pointer");
	EQ(cudaFreeHost(ha), 0, "free it");
	cudaFree(d);
	printf("hostmap (%s): %d checks, %d failures\n", argc > 2 ? argv[2] : "", checks, failures);
	return failures != 0;
}
