/* Shareable handles of memory pools and of cuMemCreate'd memory, and pool pointer exports
 * (shim/shareable.go). What programs do: process A makes a pool exportable as a POSIX fd,
 * exports it, sends the fd over a unix socket (SCM_RIGHTS) to process B, which imports the
 * pool; A allocates from the pool and exports the pointer (64 opaque bytes); B imports the
 * pointer and reads and writes the memory. The same with cuMemCreate'd memory, mapped by both.
 *   shareable LIBDIR sim      one process: the rules a single process can see (its own
 *                             handle does not import: there is no other process in the model)
 *   shareable LIBDIR remote   the same rules, then A and B as two client processes of one
 *                             `vgpu serve`, the fd passed over a socketpair
 * Status values are NVIDIA's documented numbers: 0 success, 1 invalid value, 801 not supported. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef int res_t;
typedef void *H;
typedef unsigned long long dptr_t;
static int failures, checks;
static const char *who = "";
#define CHECK(c, ...) do { checks++; if (!(c)) { failures++; printf("FAIL %s %s:%d: ", who, __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)
#define EQ(got, want, what) do { long long g_ = (long long)(got), w_ = (long long)(want); CHECK(g_ == w_, "%s: got %lld, want %lld", what, g_, w_); } while (0)

/* NVIDIA's ABI, from the documented field lists. */
struct poolprops { int allocType, handleTypes, locType, locId; void *win32; size_t maxSize; unsigned short usage; unsigned char reserved[54]; };
struct allocprop { int type, requestedHandleTypes, locType, locId; void *win32; unsigned char compression, rdma; unsigned short usage; unsigned char reserved[4]; };
struct accessdesc { int locType, locId, flags; };
typedef struct { unsigned char b[64]; } exportdata;
#define POSIX_FD 1
#define FABRIC 8
#define MB2 (2u << 20)

#define FNS(X) \
	X(res_t, cuInit, (unsigned)) X(res_t, cuDevicePrimaryCtxRetain, (H *, int)) X(res_t, cuCtxSetCurrent, (H)) \
	X(res_t, cuMemPoolCreate, (H *, const struct poolprops *)) X(res_t, cuMemPoolDestroy, (H)) \
	X(res_t, cuDeviceGetDefaultMemPool, (H *, int)) \
	X(res_t, cuMemAllocFromPoolAsync, (dptr_t *, size_t, H, H)) X(res_t, cuMemAlloc_v2, (dptr_t *, size_t)) \
	X(res_t, cuMemFree_v2, (dptr_t)) X(res_t, cuMemFreeAsync, (dptr_t, H)) \
	X(res_t, cuMemcpyHtoD_v2, (dptr_t, const void *, size_t)) X(res_t, cuMemcpyDtoH_v2, (void *, dptr_t, size_t)) \
	X(res_t, cuStreamSynchronize, (H)) \
	X(res_t, cuMemPoolExportToShareableHandle, (void *, H, int, unsigned long long)) \
	X(res_t, cuMemPoolImportFromShareableHandle, (H *, void *, int, unsigned long long)) \
	X(res_t, cuMemPoolExportPointer, (exportdata *, dptr_t)) X(res_t, cuMemPoolImportPointer, (dptr_t *, H, exportdata *)) \
	X(res_t, cuMemCreate, (unsigned long long *, size_t, const struct allocprop *, unsigned long long)) \
	X(res_t, cuMemRelease, (unsigned long long)) \
	X(res_t, cuMemExportToShareableHandle, (void *, unsigned long long, int, unsigned long long)) \
	X(res_t, cuMemImportFromShareableHandle, (unsigned long long *, void *, int)) \
	X(res_t, cuMemAddressReserve, (dptr_t *, size_t, size_t, dptr_t, unsigned long long)) \
	X(res_t, cuMemAddressFree, (dptr_t, size_t)) X(res_t, cuMemMap, (dptr_t, size_t, size_t, unsigned long long, unsigned long long)) \
	X(res_t, cuMemUnmap, (dptr_t, size_t)) X(res_t, cuMemSetAccess, (dptr_t, size_t, const struct accessdesc *, size_t)) \
	X(res_t, cudaMemPoolCreate, (H *, const struct poolprops *)) \
	X(res_t, cudaMemPoolExportToShareableHandle, (void *, H, int, unsigned)) \
	X(res_t, cudaMemPoolImportFromShareableHandle, (H *, void *, int, unsigned)) \
	X(res_t, cudaMemPoolExportPointer, (exportdata *, void *)) X(res_t, cudaMemPoolImportPointer, (void **, H, exportdata *)) \
	X(res_t, cudaMallocFromPoolAsync, (void **, size_t, H, H)) X(res_t, cudaFree, (void *)) \
	X(res_t, cudaMemcpy, (void *, const void *, size_t, int))
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

static struct poolprops pool_props(int handles) {
	struct poolprops p; memset(&p, 0, sizeof p);
	p.allocType = 1; p.handleTypes = handles; p.locType = 1; p.locId = 0;
	return p;
}

static struct allocprop alloc_prop(int handles) {
	struct allocprop p; memset(&p, 0, sizeof p);
	p.type = 1; p.requestedHandleTypes = handles; p.locType = 1; p.locId = 0;
	return p;
}

#define FD(fd) ((void *)(uintptr_t)(fd))

/* What one process can see: exports are fds, its own handles do not import, pools and memory
 * made without the handle type do not export, unmodelled handle types are not supported. */
static void one_process(void) {
	struct poolprops pp = pool_props(POSIX_FD), plainp = pool_props(0), fab = pool_props(FABRIC);
	H pool, plain, dflt, back;
	EQ(cuMemPoolCreate(&pool, &pp), 0, "an exportable pool");
	EQ(cuMemPoolCreate(&plain, &plainp), 0, "a pool without handle types");
	EQ(cuMemPoolCreate(&back, &fab), 801, "fabric handles: not on this GPU");
	EQ(cuDeviceGetDefaultMemPool(&dflt, 0), 0, "the default pool");
	int fd = -1;
	EQ(cuMemPoolExportToShareableHandle(&fd, pool, POSIX_FD, 0), 0, "export the pool");
	struct stat st;
	CHECK(fd >= 0 && fstat(fd, &st) == 0, "the handle is an open fd (%d)", fd);
	int fd2 = -1;
	EQ(cuMemPoolExportToShareableHandle(&fd2, plain, POSIX_FD, 0), 1, "a pool made without the handle type");
	EQ(cuMemPoolExportToShareableHandle(&fd2, dflt, POSIX_FD, 0), 1, "the default pool");
	EQ(cuMemPoolExportToShareableHandle(&fd2, pool, FABRIC, 0), 801, "as a fabric handle");
	EQ(cuMemPoolExportToShareableHandle(&fd2, pool, POSIX_FD, 1), 1, "flags");
	EQ(cuMemPoolExportToShareableHandle(NULL, pool, POSIX_FD, 0), 1, "no output");
	EQ(cuMemPoolImportFromShareableHandle(&back, FD(fd), POSIX_FD, 0), 1, "a process's own pool does not import");
	EQ(cudaMemPoolImportFromShareableHandle(&back, FD(fd), POSIX_FD, 0), 1, "nor through the runtime");
	int pfd[2];
	if (pipe(pfd) == 0) {
		EQ(cuMemPoolImportFromShareableHandle(&back, FD(pfd[0]), POSIX_FD, 0), 1, "a pipe is no handle");
		close(pfd[0]); close(pfd[1]);
	}
	EQ(cuMemPoolImportFromShareableHandle(&back, FD(-1), POSIX_FD, 0), 1, "fd -1");
	EQ(cuMemPoolImportFromShareableHandle(&back, FD(fd), 2, 0), 801, "Win32 handles");
	close(fd);

	dptr_t p = 0, q = 0, other = 0;
	exportdata d;
	EQ(cuMemAllocFromPoolAsync(&p, 4096, pool, NULL), 0, "allocate from the pool");
	EQ(cuMemPoolExportPointer(&d, p), 0, "export the pointer");
	EQ(cuMemPoolImportPointer(&q, pool, &d), 1, "through a pool that is not an import");
	EQ(cuMemAlloc_v2(&other, 4096), 0, "cuMemAlloc");
	EQ(cuMemPoolExportPointer(&d, other), 1, "memory from no pool");
	EQ(cuMemFree_v2(other), 0, "cuMemFree");
	EQ(cuMemAllocFromPoolAsync(&other, 4096, plain, NULL), 0, "allocate from the plain pool");
	EQ(cuMemPoolExportPointer(&d, other), 1, "memory of a pool made without handle types");
	EQ(cuMemFreeAsync(other, NULL), 0, "free it");
	EQ(cuMemFreeAsync(p, NULL), 0, "free the pointer");
	EQ(cuStreamSynchronize(NULL), 0, "sync");

	/* cuMemCreate'd memory: exportable when the handle type was requested. */
	struct allocprop ap = alloc_prop(POSIX_FD), none = alloc_prop(0), fabp = alloc_prop(FABRIC);
	unsigned long long h = 0, h0 = 0, hb;
	EQ(cuMemCreate(&h, MB2, &ap, 0), 0, "cuMemCreate exportable");
	EQ(cuMemCreate(&h0, MB2, &none, 0), 0, "cuMemCreate plain");
	EQ(cuMemCreate(&hb, MB2, &fabp, 0), 801, "fabric handles: not on this GPU");
	int vfd = -1;
	EQ(cuMemExportToShareableHandle(&vfd, h, POSIX_FD, 0), 0, "export memory");
	CHECK(vfd >= 0, "an fd (%d)", vfd);
	EQ(cuMemExportToShareableHandle(&fd2, h0, POSIX_FD, 0), 1, "memory made without the handle type");
	EQ(cuMemExportToShareableHandle(&fd2, h, FABRIC, 0), 801, "as a fabric handle");
	EQ(cuMemImportFromShareableHandle(&hb, FD(vfd), POSIX_FD), 1, "a process's own memory does not import");
	close(vfd);
	EQ(cuMemRelease(h), 0, "release");
	EQ(cuMemRelease(h0), 0, "release plain");

	/* The runtime's forms. */
	H rpool;
	void *rp = NULL;
	EQ(cudaMemPoolCreate(&rpool, &pp), 0, "cudaMemPoolCreate");
	int rfd = -1;
	EQ(cudaMemPoolExportToShareableHandle(&rfd, rpool, POSIX_FD, 0), 0, "cudaMemPoolExportToShareableHandle");
	CHECK(rfd >= 0, "an fd (%d)", rfd);
	close(rfd);
	EQ(cudaMallocFromPoolAsync(&rp, 256, rpool, NULL), 0, "cudaMallocFromPoolAsync");
	EQ(cudaMemPoolExportPointer(&d, rp), 0, "cudaMemPoolExportPointer");
	EQ(cudaMemPoolImportPointer(&rp, rpool, &d), 1, "through a pool that is not an import");
	EQ(cudaMemPoolExportToShareableHandle(&rfd, dflt, POSIX_FD, 0), 1, "the default pool");
	EQ(cuMemPoolDestroy(plain), 0, "destroy");
}

/* The unix-socket side: one fd and some bytes. */
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

static void step(int sock, char *c, int send) {
	if (send ? write(sock, c, 1) != 1 : read(sock, c, 1) != 1) { printf("FAIL %s: the other process went\n", who); exit(1); }
}

struct offer { exportdata ptr; exportdata rtptr; dptr_t at; };
#define N 4096

/* A: makes, exports, sends; checks what B wrote; frees. */
static void exporter(int sock) {
	who = "A";
	struct poolprops pp = pool_props(POSIX_FD);
	H pool;
	EQ(cuMemPoolCreate(&pool, &pp), 0, "A: the pool");
	int fd = -1;
	EQ(cuMemPoolExportToShareableHandle(&fd, pool, POSIX_FD, 0), 0, "A: export the pool");
	struct offer o;
	EQ(cuMemAllocFromPoolAsync(&o.at, N, pool, NULL), 0, "A: allocate");
	unsigned char buf[N];
	for (int i = 0; i < N; i++) buf[i] = (unsigned char)(i * 7 + 3);
	EQ(cuMemcpyHtoD_v2(o.at, buf, N), 0, "A: fill");
	EQ(cuMemPoolExportPointer(&o.ptr, o.at), 0, "A: export the pointer");
	void *rp = NULL;
	EQ(cudaMallocFromPoolAsync(&rp, N, pool, NULL), 0, "A: allocate through the runtime");
	EQ(cudaMemPoolExportPointer(&o.rtptr, rp), 0, "A: export it through the runtime");
	send_fd(sock, fd, &o, sizeof o);
	close(fd);

	/* The same through cuMemCreate'd memory. */
	struct allocprop ap = alloc_prop(POSIX_FD);
	unsigned long long h;
	EQ(cuMemCreate(&h, MB2, &ap, 0), 0, "A: cuMemCreate");
	int vfd = -1;
	EQ(cuMemExportToShareableHandle(&vfd, h, POSIX_FD, 0), 0, "A: export the memory");
	send_fd(sock, vfd, "v", 1);
	close(vfd);

	char c;
	step(sock, &c, 0); /* B wrote its pattern into both */
	unsigned char got[N];
	EQ(cuMemcpyDtoH_v2(got, o.at, N), 0, "A: read back");
	int same = 1;
	for (int i = 0; i < N; i++) same &= got[i] == (unsigned char)(255 - i % 251);
	CHECK(same, "A sees what B wrote into the pool's memory");
	dptr_t va;
	struct accessdesc rw = {1, 0, 3};
	EQ(cuMemAddressReserve(&va, MB2, 0, 0, 0), 0, "A: reserve");
	EQ(cuMemMap(va, MB2, 0, h, 0), 0, "A: map");
	EQ(cuMemSetAccess(va, MB2, &rw, 1), 0, "A: access");
	EQ(cuMemcpyDtoH_v2(got, va + MB2 - N, N), 0, "A: read the mapped memory");
	same = 1;
	for (int i = 0; i < N; i++) same &= got[i] == (unsigned char)(i % 13);
	CHECK(same, "A sees what B wrote into the cuMemCreate'd memory");
	EQ(cuMemUnmap(va, MB2), 0, "A: unmap");
	EQ(cuMemAddressFree(va, MB2), 0, "A: free the range");
	EQ(cuMemRelease(h), 0, "A: release its handle (B's keeps the memory)");

	EQ(cuMemFree_v2(o.at), 0, "A: free the exported allocation");
	EQ(cudaFree(rp), 0, "A: free the other");
	step(sock, "2", 1);
	step(sock, &c, 0);
}

/* B: imports, reads, writes; after A's free, its mapping is gone. */
static void importer(int sock) {
	who = "B";
	struct offer o;
	int fd = recv_fd(sock, &o, sizeof o);
	CHECK(fd >= 0, "B received an fd");
	H ipool, rpool;
	EQ(cuMemPoolImportFromShareableHandle(&ipool, FD(fd), POSIX_FD, 0), 0, "B: import the pool");
	EQ(cudaMemPoolImportFromShareableHandle(&rpool, FD(fd), POSIX_FD, 0), 0, "B: import it through the runtime");
	close(fd);
	dptr_t q = 0, junk;
	EQ(cuMemPoolImportPointer(&q, ipool, &o.ptr), 0, "B: import the pointer");
	EQ(q, o.at, "B: the exporter's address");
	unsigned char got[N];
	EQ(cuMemcpyDtoH_v2(got, q, N), 0, "B: read");
	int same = 1;
	for (int i = 0; i < N; i++) same &= got[i] == (unsigned char)(i * 7 + 3);
	CHECK(same, "B reads what A wrote");
	for (int i = 0; i < N; i++) got[i] = (unsigned char)(255 - i % 251);
	EQ(cuMemcpyHtoD_v2(q, got, N), 0, "B: write");
	EQ(cuMemAllocFromPoolAsync(&junk, N, ipool, NULL), 1, "an imported pool hands out no memory");
	dptr_t q2 = 0;
	EQ(cuMemPoolImportPointer(&q2, ipool, &o.ptr), 0, "B: import it again");
	EQ(q2, q, "the same mapping");
	EQ(cuMemFree_v2(q2), 0, "B: free one import: its mapping only");
	void *rq = NULL;
	EQ(cudaMemPoolImportPointer(&rq, rpool, &o.rtptr), 0, "B: import the runtime's pointer");
	EQ(cudaMemcpy(got, rq, 16, 2), 0, "B: read it");
	exportdata forged = o.ptr;
	forged.b[30] ^= 0x40;
	EQ(cuMemPoolImportPointer(&junk, ipool, &forged), 1, "a forged pointer export");

	/* Forged and foreign pool handles: bytes no export has, in a sealed-or-not memfd. */
	int ffd = memfd_create("forged", 0);
	unsigned char fb[64]; memset(fb, 0x41, sizeof fb); memcpy(fb, "vgpupool", 8);
	if (ffd >= 0 && write(ffd, fb, 64) == 64) {
		H bad;
		EQ(cuMemPoolImportFromShareableHandle(&bad, FD(ffd), POSIX_FD, 0), 1, "a forged pool handle");
	}
	if (ffd >= 0) close(ffd);

	int vfd = recv_fd(sock, fb, 1);
	unsigned long long vh;
	EQ(cuMemImportFromShareableHandle(&vh, FD(vfd), POSIX_FD), 0, "B: import the memory");
	close(vfd);
	dptr_t va;
	struct accessdesc rw = {1, 0, 3};
	EQ(cuMemAddressReserve(&va, MB2, 0, 0, 0), 0, "B: reserve");
	EQ(cuMemMap(va, MB2, 0, vh, 0), 0, "B: map");
	EQ(cuMemSetAccess(va, MB2, &rw, 1), 0, "B: access");
	for (int i = 0; i < N; i++) got[i] = (unsigned char)(i % 13);
	EQ(cuMemcpyHtoD_v2(va + MB2 - N, got, N), 0, "B: write the mapped memory");
	char c = '1';
	step(sock, &c, 1);
	step(sock, &c, 0); /* A freed everything and released its handle */
	EQ(cuMemcpyDtoH_v2(got, va + MB2 - N, N), 0, "B: its handle keeps the memory");
	same = 1;
	for (int i = 0; i < N; i++) same &= got[i] == (unsigned char)(i % 13);
	CHECK(same, "B's mapping still holds what it wrote");
	EQ(cuMemUnmap(va, MB2), 0, "B: unmap");
	EQ(cuMemAddressFree(va, MB2), 0, "B: free the range");
	EQ(cuMemRelease(vh), 0, "B: release");
	CHECK(cuMemcpyDtoH_v2(got, q, 16) != 0, "the exporter's free revoked B's mapping");
	EQ(cuMemPoolImportPointer(&junk, ipool, &o.ptr), 1, "a freed allocation's export names nothing");
	step(sock, "3", 1);
}

int main(int argc, char **argv) {
	if (argc < 2) { fprintf(stderr, "usage: shareable LIBDIR [sim|remote]\n"); return 2; }
	int remote = argc > 2 && strcmp(argv[2], "remote") == 0;
	if (!remote) {
		load(argv[1]);
		one_process();
		printf("shareable (%s): %d checks, %d failures\n", argc > 2 ? argv[2] : "", checks, failures);
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
		printf("shareable (remote, importer): %d checks, %d failures\n", checks, failures);
		fflush(stdout);
		_exit(failures != 0);
	}
	close(sv[1]);
	load(argv[1]);
	one_process();
	exporter(sv[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	printf("shareable (remote, exporter): %d checks, %d failures\n", checks, failures);
	return failures != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}
