/* The wire's own floor for a decode-shaped step: a plain C client and server (a fork of this
 * process) moving the bytes vgpu moves per step with the round trips a minimal protocol needs.
 *   wirefloor tcp|unix [steps] [launches] [download-bytes]
 * Per step the client writes one request (a 16-byte header, the 4 KB upload and a 64-byte
 * descriptor per launch) in one write; the server reads it whole and answers with one reply (a
 * 16-byte header and the download, one writev); the client reads the reply into its buffer.
 * Nagle is off on both ends, socket buffers are the system's defaults. Prints
 * "wire_floor_p50 X us" and "wire_floor_mean X us". */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "timing.h"
static int readfull(int fd, void *p, size_t n) {
	for (size_t got = 0; got < n;) {
		ssize_t k = read(fd, (char *)p + got, n - got);
		if (k <= 0) return -1;
		got += k;
	}
	return 0;
}
static int writefull(int fd, const void *p, size_t n) {
	for (size_t put = 0; put < n;) {
		ssize_t k = write(fd, (const char *)p + put, n - put);
		if (k <= 0) return -1;
		put += k;
	}
	return 0;
}

int main(int argc, char **argv) {
	if (argc < 2 || (strcmp(argv[1], "tcp") && strcmp(argv[1], "unix"))) {
		fprintf(stderr, "usage: wirefloor tcp|unix [steps] [launches] [bytes]\n");
		return 2;
	}
	int tcp = !strcmp(argv[1], "tcp");
	int steps = argc > 2 ? atoi(argv[2]) : 2000, launches = argc > 3 ? atoi(argv[3]) : 40;
	size_t down = argc > 4 ? (size_t)atol(argv[4]) : 600 << 10;
	enum { HDR = 16, UP = 4096, DESC = 64, WARM = 200 };
	size_t req = HDR + UP + (size_t)launches * DESC;
	int total = WARM + steps, one = 1, ln;
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	struct sockaddr *addr = tcp ? (struct sockaddr *)&in : (struct sockaddr *)&un;
	socklen_t alen = tcp ? sizeof in : sizeof un;
	if (tcp) {
		ln = socket(AF_INET, SOCK_STREAM, 0);
		if (bind(ln, addr, alen) || listen(ln, 1) || getsockname(ln, addr, &alen)) { perror("listen"); return 2; }
	} else {
		snprintf(un.sun_path, sizeof un.sun_path, "/tmp/vgpu-wirefloor-%d", (int)getpid());
		unlink(un.sun_path);
		ln = socket(AF_UNIX, SOCK_STREAM, 0);
		if (bind(ln, addr, alen) || listen(ln, 1)) { perror("listen"); return 2; }
	}
	char *rq = calloc(1, req), *reply = malloc(HDR + down);
	/* Real bytes: calloc'ed pages would all be the one zero page, always in cache, and the copy
	 * into the socket would cost less than any real download's. */
	for (size_t i = 0; i < HDR + down; i++) reply[i] = (char)(i * 2654435761u >> 13);
	memset(rq, 1, req);
	pid_t pid = fork();
	if (pid == 0) { /* the server: one reply per request */
		int c = accept(ln, NULL, NULL);
		if (tcp) setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		for (int i = 0; i < total; i++) {
			if (readfull(c, rq, req)) _exit(1);
			struct iovec v[2] = {{reply, HDR}, {reply + HDR, down}};
			size_t left = HDR + down;
			int iv = 0;
			while (left) { /* writev until the whole reply is out */
				ssize_t k = writev(c, v + iv, 2 - iv);
				if (k <= 0) _exit(1);
				left -= k;
				while (iv < 2 && (size_t)k >= v[iv].iov_len) k -= v[iv++].iov_len;
				if (iv < 2) { v[iv].iov_base = (char *)v[iv].iov_base + k; v[iv].iov_len -= k; }
			}
		}
		_exit(0);
	}
	close(ln);
	int c = socket(tcp ? AF_INET : AF_UNIX, SOCK_STREAM, 0);
	if (connect(c, addr, alen)) { perror("connect"); return 2; }
	if (!tcp) unlink(un.sun_path);
	if (tcp) setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	char hdr[HDR], *out = malloc(down);
	double *t = malloc(sizeof *t * total);
	for (int i = 0; i < total; i++) {
		double t0 = now();
		if (writefull(c, rq, req) || readfull(c, hdr, HDR) || readfull(c, out, down)) { printf("error step %d\n", i); return 1; }
		t[i] = (now() - t0) * 1e6;
	}
	int st;
	waitpid(pid, &st, 0);
	double sum = 0;
	for (int i = WARM; i < total; i++) sum += t[i];
	qsort(t + WARM, steps, sizeof *t, cmp);
	printf("wire_floor_p50 %.1f us\nwire_floor_mean %.1f us\n", t[WARM + steps / 2], sum / steps);
	return 0;
}
