/* Every memcpy kind at sizes from 1 byte up (to 1 GiB with "big"): host to device, device to
 * device (at an odd offset), device to host, from pageable and from pinned memory, blocking
 * and on a stream, with cudaMemcpyDefault too. Prints one line per size with a checksum of
 * what came back; native, local and remote runs must print the same.
 *   memcpy [big]                                  (finds libcudart.so.13 or .12 by name) */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { H2H = 0, H2D = 1, D2H = 2, D2D = 3, DEFAULT = 4 };

static uint64_t fnv(const unsigned char *p, size_t n) {
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

int main(int argc, char **argv) {
	void *rt = dlopen("libcudart.so.13", RTLD_NOW);
	if (!rt) rt = dlopen("libcudart.so.12", RTLD_NOW);
	if (!rt) { printf("dlopen: %s\n", dlerror()); return 2; }
	int (*dmalloc)(void **, size_t) = (int (*)(void **, size_t))dlsym(rt, "cudaMalloc");
	int (*dfree)(void *) = (int (*)(void *))dlsym(rt, "cudaFree");
	int (*hmalloc)(void **, size_t) = (int (*)(void **, size_t))dlsym(rt, "cudaMallocHost");
	int (*hfree)(void *) = (int (*)(void *))dlsym(rt, "cudaFreeHost");
	int (*cpy)(void *, const void *, size_t, int) = (int (*)(void *, const void *, size_t, int))dlsym(rt, "cudaMemcpy");
	int (*cpya)(void *, const void *, size_t, int, void *) = (int (*)(void *, const void *, size_t, int, void *))dlsym(rt, "cudaMemcpyAsync");
	int (*screate)(void **) = (int (*)(void **))dlsym(rt, "cudaStreamCreate");
	int (*ssync)(void *) = (int (*)(void *))dlsym(rt, "cudaStreamSynchronize");
	size_t sizes[] = {1, 2, 3, 7, 64, 4095, 4096, 65535, 65536, 65537, (1 << 20) + 7, 16 << 20, 64 << 20, 1 << 30};
	int nsizes = sizeof sizes / sizeof *sizes - (argc > 1 && !strcmp(argv[1], "big") ? 0 : 1);
	void *st = NULL;
	screate(&st);
	int fails = 0;
	for (int i = 0; i < nsizes; i++) {
		size_t n = sizes[i];
		unsigned char *src = malloc(n), *back = malloc(n), *pin = NULL, *pinback = NULL;
		void *a = NULL, *b = NULL;
		for (size_t j = 0; j < n; j++) src[j] = (unsigned char)((j * 2654435761u) >> 7 ^ i);
		int r = dmalloc(&a, n) | dmalloc(&b, n + 1) | hmalloc((void **)&pin, n) | hmalloc((void **)&pinback, n);
		if (r) { printf("%zu bytes: allocation failed (%d)\n", n, r); fails++; break; }
		uint64_t want = fnv(src, n);
		char res[8][24];
		int k = 0;
		/* pageable, blocking: up, across (to an odd offset and back), down */
		memset(back, 0, n);
		r = cpy(a, src, n, H2D) | cpy((char *)b + 1, a, n, D2D) | cpy(a, (char *)b + 1, n, D2D) | cpy(back, a, n, D2H);
		snprintf(res[k++], 24, "%s", r ? "err" : fnv(back, n) == want ? "ok" : "BAD");
		/* pinned, on a stream */
		memcpy(pin, src, n);
		memset(pinback, 0, n);
		r = cpya(b, pin, n, H2D, st) | cpya(a, b, n, D2D, st) | cpya(pinback, a, n, D2H, st) | ssync(st);
		snprintf(res[k++], 24, "%s", r ? "err" : fnv(pinback, n) == want ? "ok" : "BAD");
		/* pageable on a stream, and cudaMemcpyDefault every way */
		memset(back, 0, n);
		r = cpya(a, src, n, DEFAULT, st) | cpya(b, a, n, DEFAULT, st) | cpya(back, b, n, DEFAULT, st) | ssync(st);
		snprintf(res[k++], 24, "%s", r ? "err" : fnv(back, n) == want ? "ok" : "BAD");
		/* host to host through the runtime */
		memset(back, 0, n);
		r = cpy(back, pin, n, H2H);
		snprintf(res[k++], 24, "%s", r ? "err" : fnv(back, n) == want ? "ok" : "BAD");
		for (int j = 0; j < k; j++) fails += strcmp(res[j], "ok") != 0;
		printf("%10zu bytes: pageable %s, pinned async %s, default kind %s, host-host %s; fnv %016llx\n",
			n, res[0], res[1], res[2], res[3], (unsigned long long)want);
		dfree(a); dfree(b); hfree(pin); hfree(pinback); free(src); free(back);
	}
	/* Bad input: the runtime's own answers. */
	void *d = NULL;
	dmalloc(&d, 16);
	printf("bad kind %d, NULL source %d\n", cpy(d, d, 8, 7), cpy(d, NULL, 8, H2D));
	printf("%s\n", fails ? "FAIL" : "all intact");
	return fails != 0;
}
