/* External memory (shim/extmem.go). What programs do: process A creates VMM memory with a POSIX
 * fd handle type, exports it (cuMemExportToShareableHandle) and sends the fd over a unix socket
 * to process B, which imports it as external memory (cuImportExternalMemory, type opaque fd),
 * maps a buffer of it and reads and writes what A sees through its own mapping.
 *   extmem LIBDIR sim      one process: the rules a single process can see (its own export
 *                          does not import: there is no other process in the model)
 *   extmem LIBDIR remote   the same rules, then A and B as two client processes of one
 *                          `vgpu serve`, the fd passed over a socketpair
 * Status values are NVIDIA's documented numbers: 0 success, 1 invalid value, 400 invalid
 * handle (the runtime's invalid resource handle), 801 not supported. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

typedef int res_t;
typedef void *H;
typedef unsigned long long dptr_t;
static int failures, checks;
static const char *who = "";
#define CHECK(c, ...) do { checks++; if (!(c)) { failures++; printf("FAIL %s %s:%d: ", who, __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)
#define EQ(got, want, what) do { long long g_ = (long long)(got), w_ = (long long)(want); CHECK(g_ == w_, "%s: got %lld, want %lld", what, g_, w_); } while (0)

/* NVIDIA's ABI, from the documented field lists (the runtime's descriptors share the layout). */
struct allocprop { int type, requestedHandleTypes, locType, locId; void *win32; unsigned char compression, rdma; unsigned short usage; unsigned char reserved[4]; };
struct accessdesc { int locType, locId, flags; };
struct memdesc { int type; union { int fd; struct { void *handle; const void *name; } win32; const void *nvsci; } handle; unsigned long long size; unsigned flags, reserved[16]; };
struct bufdesc { unsigned long long offset, size; unsigned flags, reserved[16]; };
struct mipdesc { unsigned long long offset; size_t w, h, d; int format; unsigned channels, flags, levels, reserved[16]; };
#define POSIX_FD 1
#define OPAQUE_FD 1
#define OPAQUE_WIN32 2
#define DMABUF_FD 9
#define MB2 (2ull << 20)
#define SIZE (2 * MB2)
#define N 1000

#define FNS(X) \
	X(res_t, cuInit, (unsigned)) X(res_t, cuDevicePrimaryCtxRetain, (H *, int)) X(res_t, cuCtxSetCurrent, (H)) \
	X(res_t, cuMemFree_v2, (dptr_t)) \
	X(res_t, cuMemcpyHtoD_v2, (dptr_t, const void *, size_t)) X(res_t, cuMemcpyDtoH_v2, (void *, dptr_t, size_t)) \
	X(res_t, cuMemCreate, (unsigned long long *, size_t, const struct allocprop *, unsigned long long)) \
	X(res_t, cuMemRelease, (unsigned long long)) \
	X(res_t, cuMemExportToShareableHandle, (void *, unsigned long long, int, unsigned long long)) \
	X(res_t, cuMemAddressReserve, (dptr_t *, size_t, size_t, dptr_t, unsigned long long)) \
	X(res_t, cuMemAddressFree, (dptr_t, size_t)) X(res_t, cuMemMap, (dptr_t, size_t, size_t, unsigned long long, unsigned long long)) \
	X(res_t, cuMemUnmap, (dptr_t, size_t)) X(res_t, cuMemSetAccess, (dptr_t, size_t, const struct accessdesc *, size_t)) \
	X(res_t, cuImportExternalMemory, (H *, const struct memdesc *)) \
	X(res_t, cuExternalMemoryGetMappedBuffer, (dptr_t *, H, const struct bufdesc *)) \
	X(res_t, cuExternalMemoryGetMappedMipmappedArray, (H *, H, const struct mipdesc *)) \
	X(res_t, cuDestroyExternalMemory, (H)) \
	X(res_t, cudaImportExternalMemory, (H *, const struct memdesc *)) \
	X(res_t, cudaExternalMemoryGetMappedBuffer, (void **, H, const struct bufdesc *)) \
	X(res_t, cudaExternalMemoryGetMappedMipmappedArray, (H *, H, const struct mipdesc *)) \
	X(res_t, cudaDestroyExternalMemory, (H)) \
	X(res_t, cudaFree, (void *)) X(res_t, cudaMemcpy, (void *, const void *, size_t, int))
#define DECL(r, n, a) static r(*n) a;
FNS(DECL)

static void load(const char *libdir) {
	char path[4096];
	snprintf(path, sizeof path, "%s/libcuda.so.1", libdir);
	void *cu = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	snprintf(path, sizeof path, "%s/libcudart.so.13", libdir);
	void *rt = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	if (!cu || !rt) { printf("FAIL load: %s\n", dlerror()); exit(1); }
#define LOAD(r, n, a) if (!(n = (r(*) a)dlsym(strncmp(#n, "cuda", 4) == 0 ? rt : cu, #n))) { printf("FAIL missing %s\n", #n); exit(1); }
	FNS(LOAD)
	H ctx;
	if (cuInit(0) || cuDevicePrimaryCtxRetain(&ctx, 0) || cuCtxSetCurrent(ctx)) { printf("FAIL no context\n"); exit(1); }
}

static struct memdesc fd_desc(int type, int fd, unsigned long long size) {
	struct memdesc d; memset(&d, 0, sizeof d);
	d.type = type; d.handle.fd = fd; d.size = size;
	return d;
}
static struct bufdesc buf_desc(unsigned long long offset, unsigned long long size) {
	struct bufdesc b; memset(&b, 0, sizeof b);
	b.offset = offset; b.size = size;
	return b;
}
static int fd_open(int fd) { return fcntl(fd, F_GETFD) != -1; }

/* VMM memory A can export: SIZE bytes, POSIX fd handle type, mapped read-write at *va. */
static unsigned long long exportable(dptr_t *va) {
	struct allocprop p; memset(&p, 0, sizeof p);
	p.type = 1; p.requestedHandleTypes = POSIX_FD; p.locType = 1; p.locId = 0;
	unsigned long long h = 0;
	struct accessdesc rw = {1, 0, 3};
	EQ(cuMemCreate(&h, SIZE, &p, 0), 0, "create exportable memory");
	EQ(cuMemAddressReserve(va, SIZE, 0, 0, 0), 0, "reserve");
	EQ(cuMemMap(*va, SIZE, 0, h, 0), 0, "map");
	EQ(cuMemSetAccess(*va, SIZE, &rw, 1), 0, "access");
	return h;
}

/* What one process can see: only vgpu's own opaque fds name memory, and not to their exporter;
 * other handle types are not supported; a refused import leaves the fd open. */
static void one_process(void) {
	dptr_t va;
	unsigned long long h = exportable(&va);
	int fd = -1;
	EQ(cuMemExportToShareableHandle(&fd, h, POSIX_FD, 0), 0, "export the memory");
	H ext = NULL;
	struct memdesc d = fd_desc(OPAQUE_FD, fd, SIZE);
	EQ(cuImportExternalMemory(&ext, &d), 1, "a process's own export does not import");
	EQ(cudaImportExternalMemory(&ext, &d), 1, "nor through the runtime");
	CHECK(fd_open(fd), "a refused import leaves the fd to the caller");
	int pfd[2];
	if (pipe(pfd) == 0) {
		d = fd_desc(OPAQUE_FD, pfd[0], SIZE);
		EQ(cuImportExternalMemory(&ext, &d), 1, "a pipe is no memory");
		EQ(cudaImportExternalMemory(&ext, &d), 1, "nor through the runtime");
		close(pfd[0]); close(pfd[1]);
	}
	FILE *f = tmpfile();
	if (f) {
		char junk[64]; memset(junk, 'v', sizeof junk);
		fwrite(junk, 1, sizeof junk, f); fflush(f);
		d = fd_desc(OPAQUE_FD, fileno(f), SIZE);
		EQ(cuImportExternalMemory(&ext, &d), 1, "a regular file of the right size is no memory");
		fclose(f);
	}
	d = fd_desc(OPAQUE_FD, -1, SIZE);
	EQ(cuImportExternalMemory(&ext, &d), 1, "fd -1");
	d = fd_desc(OPAQUE_WIN32, fd, SIZE);
	EQ(cuImportExternalMemory(&ext, &d), 801, "a Win32 handle: not supported");
	EQ(cudaImportExternalMemory(&ext, &d), 801, "nor through the runtime");
	d = fd_desc(DMABUF_FD, fd, SIZE);
	EQ(cuImportExternalMemory(&ext, &d), 801, "a dma-buf: not supported");
	d = fd_desc(0, fd, SIZE);
	EQ(cuImportExternalMemory(&ext, &d), 1, "type 0");
	d = fd_desc(42, fd, SIZE);
	EQ(cuImportExternalMemory(&ext, &d), 1, "an unknown type");
	d = fd_desc(OPAQUE_FD, fd, SIZE);
	EQ(cuImportExternalMemory(NULL, &d), 1, "no output");
	EQ(cuImportExternalMemory(&ext, NULL), 1, "no descriptor");
	EQ(cudaImportExternalMemory(&ext, NULL), 1, "no descriptor, runtime");
	CHECK(fd_open(fd), "the fd is still the caller's");
	close(fd);

	H bogus = (H)(uintptr_t)0x7e5a00000001ull;
	dptr_t p;
	void *rp;
	H mip;
	struct bufdesc b = buf_desc(0, 16);
	struct mipdesc md; memset(&md, 0, sizeof md);
	EQ(cuExternalMemoryGetMappedBuffer(&p, bogus, &b), 400, "a buffer of no external memory");
	EQ(cudaExternalMemoryGetMappedBuffer(&rp, bogus, &b), 400, "nor through the runtime");
	EQ(cuExternalMemoryGetMappedMipmappedArray(&mip, bogus, &md), 400, "an array of no external memory");
	EQ(cuDestroyExternalMemory(bogus), 400, "destroy no external memory");
	EQ(cudaDestroyExternalMemory(NULL), 400, "destroy NULL, runtime");

	EQ(cuMemUnmap(va, SIZE), 0, "unmap");
	EQ(cuMemAddressFree(va, SIZE), 0, "free the range");
	EQ(cuMemRelease(h), 0, "release");
}

static void send_fd(int sock, int fd, const void *buf, size_t n) {
	struct msghdr m; memset(&m, 0, sizeof m);
	struct iovec io = {(void *)buf, n};
	char ctl[CMSG_SPACE(sizeof(int))]; memset(ctl, 0, sizeof ctl);
	m.msg_iov = &io; m.msg_iovlen = 1; m.msg_control = ctl; m.msg_controllen = sizeof ctl;
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS; c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof fd);
	if (sendmsg(sock, &m, 0) != (ssize_t)n) { printf("FAIL sendmsg\n"); exit(1); }
}
static int recv_fd(int sock, void *buf, size_t n) {
	struct msghdr m; memset(&m, 0, sizeof m);
	struct iovec io = {buf, n};
	char ctl[CMSG_SPACE(sizeof(int))];
	m.msg_iov = &io; m.msg_iovlen = 1; m.msg_control = ctl; m.msg_controllen = sizeof ctl;
	if (recvmsg(sock, &m, MSG_WAITALL) != (ssize_t)n) { printf("FAIL recvmsg\n"); exit(1); }
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	int fd = -1;
	if (c && c->cmsg_type == SCM_RIGHTS) memcpy(&fd, CMSG_DATA(c), sizeof fd);
	return fd;
}
static void xfer(int sock, void *buf, size_t n, int send) {
	if ((send ? write(sock, buf, n) : read(sock, buf, n)) != (ssize_t)n) { printf("FAIL %s: the other process went\n", who); exit(1); }
}

/* A: exports its memory twice (one fd per import), checks what B wrote, and that B's
 * external memory handle is nothing to A. */
static void exporter(int sock) {
	who = "A";
	dptr_t va;
	unsigned long long h = exportable(&va);
	unsigned char pat[N], got[N];
	for (int i = 0; i < N; i++) pat[i] = (unsigned char)(i * 7 + 3);
	EQ(cuMemcpyHtoD_v2(va + MB2 + 100, pat, N), 0, "A: write its memory");
	for (int k = 0; k < 2; k++) {
		int fd = -1;
		EQ(cuMemExportToShareableHandle(&fd, h, POSIX_FD, 0), 0, "A: export");
		send_fd(sock, fd, "x", 1);
		close(fd);
	}
	H theirs;
	xfer(sock, &theirs, sizeof theirs, 0); /* B wrote, and sends its external memory handle */
	EQ(cuMemcpyDtoH_v2(got, va + MB2 + 100, N), 0, "A: read back");
	int same = 1;
	for (int i = 0; i < N; i++) same &= got[i] == (unsigned char)(255 - i % 251);
	CHECK(same, "A sees what B wrote through the driver's buffer");
	EQ(cuMemcpyDtoH_v2(got, va, 16), 0, "A: read the start");
	same = 1;
	for (int i = 0; i < 16; i++) same &= got[i] == (unsigned char)(i + 1);
	CHECK(same, "A sees what B wrote through the runtime's buffer");
	dptr_t p;
	struct bufdesc b = buf_desc(0, 16);
	EQ(cuExternalMemoryGetMappedBuffer(&p, theirs, &b), 400, "A cannot map B's external memory");
	EQ(cuDestroyExternalMemory(theirs), 400, "nor destroy it");
	EQ(cudaDestroyExternalMemory(theirs), 400, "nor through the runtime");
	EQ(cuMemUnmap(va, SIZE), 0, "A: unmap");
	EQ(cuMemAddressFree(va, SIZE), 0, "A: free the range");
	EQ(cuMemRelease(h), 0, "A: release its handle (B's imports keep the memory)");
	char c = '2';
	xfer(sock, &c, 1, 1);
	xfer(sock, &c, 1, 0);
}

/* B: imports, maps, reads, writes; hostile descriptors; destroy and free. */
static void importer(int sock) {
	who = "B";
	char x;
	int fd = recv_fd(sock, &x, 1), fd2 = recv_fd(sock, &x, 1);
	CHECK(fd >= 0 && fd2 >= 0, "B received two fds");
	H ext = NULL, rext = NULL, junk;
	struct memdesc d = fd_desc(OPAQUE_FD, fd, 0);
	EQ(cuImportExternalMemory(&junk, &d), 1, "size 0");
	d = fd_desc(OPAQUE_FD, fd, SIZE + MB2);
	EQ(cuImportExternalMemory(&junk, &d), 1, "a size past the memory");
	d = fd_desc(OPAQUE_FD, fd, SIZE); d.flags = 2;
	EQ(cuImportExternalMemory(&junk, &d), 1, "unknown flags");
	CHECK(fd_open(fd), "refused imports leave the fd open");
	int forged = memfd_create("forged", 0);
	unsigned char fb[64]; memset(fb, 0x41, sizeof fb); memcpy(fb, "vgpuvmmh", 8);
	if (forged >= 0 && write(forged, fb, 64) == 64) {
		d = fd_desc(OPAQUE_FD, forged, SIZE);
		EQ(cuImportExternalMemory(&junk, &d), 1, "a forged token");
	}
	if (forged >= 0) close(forged);
	d = fd_desc(OPAQUE_FD, fd, SIZE); d.flags = 1; /* CUDA_EXTERNAL_MEMORY_DEDICATED */
	EQ(cuImportExternalMemory(&ext, &d), 0, "B: import A's memory");
	CHECK(!fd_open(fd), "a successful import owns the fd: it is closed");
	d = fd_desc(OPAQUE_FD, fd2, SIZE);
	EQ(cudaImportExternalMemory(&rext, &d), 0, "B: import it through the runtime");
	CHECK(!fd_open(fd2), "the runtime's import closed its fd too");

	dptr_t p = 0, junkp;
	struct bufdesc b = buf_desc(MB2 + 100, N);
	EQ(cuExternalMemoryGetMappedBuffer(&p, ext, &b), 0, "B: map a buffer across nothing but the second granule");
	unsigned char got[N];
	EQ(cuMemcpyDtoH_v2(got, p, N), 0, "B: read");
	int same = 1;
	for (int i = 0; i < N; i++) same &= got[i] == (unsigned char)(i * 7 + 3);
	CHECK(same, "B reads what A wrote at the buffer's offset");
	for (int i = 0; i < N; i++) got[i] = (unsigned char)(255 - i % 251);
	EQ(cuMemcpyHtoD_v2(p, got, N), 0, "B: write");
	b = buf_desc(SIZE, 16);
	EQ(cuExternalMemoryGetMappedBuffer(&junkp, ext, &b), 1, "an offset past the end");
	b = buf_desc(SIZE - 8, 16);
	EQ(cuExternalMemoryGetMappedBuffer(&junkp, ext, &b), 1, "a buffer running past the end");
	b = buf_desc(0, 0);
	EQ(cuExternalMemoryGetMappedBuffer(&junkp, ext, &b), 1, "size 0");
	b = buf_desc(0, 16); b.flags = 1;
	EQ(cuExternalMemoryGetMappedBuffer(&junkp, ext, &b), 1, "flags");
	EQ(cuExternalMemoryGetMappedBuffer(&junkp, ext, NULL), 1, "no descriptor");
	H mip;
	struct mipdesc md; memset(&md, 0, sizeof md);
	md.w = 64; md.h = 64; md.format = 0x20; md.channels = 1; md.levels = 1;
	EQ(cuExternalMemoryGetMappedMipmappedArray(&mip, ext, &md), 801, "VMM memory backs no array: not supported");
	EQ(cudaExternalMemoryGetMappedMipmappedArray(&mip, rext, &md), 801, "nor through the runtime");

	void *rp = NULL;
	b = buf_desc(0, 16);
	EQ(cudaExternalMemoryGetMappedBuffer(&rp, rext, &b), 0, "B: map a buffer through the runtime");
	unsigned char start[16];
	for (int i = 0; i < 16; i++) start[i] = (unsigned char)(i + 1);
	EQ(cudaMemcpy(rp, start, 16, 1), 0, "B: write it");
	xfer(sock, &rext, sizeof rext, 1);
	char c;
	xfer(sock, &c, 1, 0); /* A checked, and released its handle */

	EQ(cuDestroyExternalMemory(ext), 0, "B: destroy with a buffer still mapped");
	EQ(cuDestroyExternalMemory(ext), 400, "destroy twice");
	EQ(cuExternalMemoryGetMappedBuffer(&junkp, ext, &b), 400, "a destroyed object maps nothing");
	EQ(cuMemcpyDtoH_v2(got, p, N), 0, "B: the buffer keeps the memory after the destroy");
	same = 1;
	for (int i = 0; i < N; i++) same &= got[i] == (unsigned char)(255 - i % 251);
	CHECK(same, "it still holds what B wrote");
	EQ(cuMemFree_v2(p), 0, "B: free the buffer (cuMemFree, as NVIDIA documents)");
	CHECK(cuMemFree_v2(p) != 0, "free it twice");
	CHECK(cuMemcpyDtoH_v2(got, p, 16) != 0, "a freed buffer is gone");
	EQ(cudaFree(rp), 0, "B: free the runtime's buffer");
	EQ(cudaDestroyExternalMemory(rext), 0, "B: destroy the runtime's import");
	EQ(cudaDestroyExternalMemory(rext), 400, "destroy twice, runtime");
	c = '3';
	xfer(sock, &c, 1, 1);
}

int main(int argc, char **argv) {
	if (argc < 2) { fprintf(stderr, "usage: extmem LIBDIR [sim|remote]\n"); return 2; }
	int remote = argc > 2 && strcmp(argv[2], "remote") == 0;
	if (!remote) {
		load(argv[1]);
		one_process();
		printf("extmem (%s): %d checks, %d failures\n", argc > 2 ? argv[2] : "", checks, failures);
		return failures != 0;
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) { perror("socketpair"); return 1; }
	pid_t pid = fork(); /* before either loads the library: two separate clients */
	if (pid < 0) { perror("fork"); return 1; }
	if (pid == 0) {
		close(sv[0]);
		load(argv[1]);
		importer(sv[1]);
		printf("extmem (remote, importer): %d checks, %d failures\n", checks, failures);
		fflush(stdout);
		_exit(failures != 0);
	}
	close(sv[1]);
	load(argv[1]);
	one_process();
	exporter(sv[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	printf("extmem (remote, exporter): %d checks, %d failures\n", checks, failures);
	return failures != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}
