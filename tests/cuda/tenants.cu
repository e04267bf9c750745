// Two tenants of one GPU: the roles tests/cuda/tenants.sh runs as separate processes, each
// either on NVIDIA's runtime (the reference: separate processes) or as a remote client of one
// `vgpu serve --backend local`. Built with `nvcc -cudart shared`, it runs on either runtime.
//   tenants a PTRFILE GOFILE  A: writes a secret into device memory, publishes its address in
//                             PTRFILE, waits for GOFILE, then checks that its copies and
//                             launches still work and the secret is intact
//   tenants read PTRFILE      B: a kernel copies from A's address into B's buffer; B must not
//                             obtain the secret (an error, or a buffer without it)
//   tenants copy PTRFILE      B: cudaMemcpy straight from A's address (no kernel)
//   tenants fault             B: a kernel writes to address 0x10: B gets an error, and its next
//                             copy reports it too (the error is sticky, as CUDA's is)
//   tenants ok                a client that only does honest work: alloc, copy, launch
//   tenants pingpong N        figures: first call, N sync round trips (empty kernel + stream
//                             sync), then the launch rate of 20,000 empty kernels
//   tenants hold SECONDS      keeps a context and 1 MiB, then exits
// Each role prints "verdict: PASS ..." or "verdict: FAIL ..." and exits 0 or 1.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>
#include <unistd.h>
#include <cuda_runtime.h>

static const int N = 1 << 16; // words of secret (256 KiB)

static unsigned secret(int i) { return 0x5EC2E700u ^ (unsigned)(i * 2654435761u); }

__global__ void steal(const unsigned *from, unsigned *to, int n) {
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n) to[i] = from[i];
}
__global__ void poke(unsigned *p) { *p = 0xBADu; }
__global__ void bump(unsigned *p, int n) {
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n) p[i] += 1;
}
__global__ void empty() {}

static double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
static int verdict(bool ok, const char *what) {
	printf("verdict: %s %s\n", ok ? "PASS" : "FAIL", what);
	return ok ? 0 : 1;
}

// count compares a buffer with the secret: words equal to it, and words not zero.
static void count(const std::vector<unsigned> &h, int *same, int *nonzero) {
	*same = *nonzero = 0;
	for (int i = 0; i < N; i++) *same += h[i] == secret(i), *nonzero += h[i] != 0;
}

static unsigned *read_ptr(const char *file) {
	FILE *f = fopen(file, "r");
	unsigned long long p = 0;
	if (!f || fscanf(f, "%llx", &p) != 1) { printf("cannot read %s\n", file); exit(2); }
	fclose(f);
	return (unsigned *)(uintptr_t)p;
}

static int role_a(const char *ptrfile, const char *gofile) {
	std::vector<unsigned> h(N);
	for (int i = 0; i < N; i++) h[i] = secret(i);
	unsigned *d = 0;
	int r = cudaMalloc(&d, N * 4);
	if (!r) r = cudaMemcpy(d, h.data(), N * 4, cudaMemcpyHostToDevice);
	if (r) { printf("A: setup failed: %d\n", r); return 2; }
	printf("A: secret written at %p\n", (void *)d);
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", ptrfile);
	FILE *f = fopen(tmp, "w");
	fprintf(f, "%llx\n", (unsigned long long)(uintptr_t)d);
	fclose(f);
	rename(tmp, ptrfile);
	for (int i = 0; i < 1200 && access(gofile, F_OK) != 0; i++) usleep(50000);
	// After B's reads and faults: A's copies and launches still work, its data intact.
	std::fill(h.begin(), h.end(), 0);
	int copy = cudaMemcpy(h.data(), d, N * 4, cudaMemcpyDeviceToHost), same, nz;
	count(h, &same, &nz);
	bump<<<(N + 255) / 256, 256>>>(d, N);
	int launch = cudaGetLastError(), sync = cudaDeviceSynchronize();
	int copy2 = cudaMemcpy(h.data(), d, N * 4, cudaMemcpyDeviceToHost), bumped = 0;
	for (int i = 0; i < N; i++) bumped += h[i] == secret(i) + 1;
	printf("A after B: copy=%d intact_words=%d/%d launch=%d sync=%d copy=%d bumped_words=%d/%d\n", copy, same, N, launch, sync, copy2,
		bumped, N);
	return verdict(copy == 0 && same == N && launch == 0 && sync == 0 && copy2 == 0 && bumped == N,
		"A's copies and launches work after B's attempts, and its data is intact");
}

static int role_read(const char *ptrfile) {
	unsigned *a = read_ptr(ptrfile), *mine = 0;
	if (cudaMalloc(&mine, N * 4) || cudaMemset(mine, 0, N * 4)) { printf("B: setup failed\n"); return 2; }
	steal<<<(N + 255) / 256, 256>>>(a, mine, N);
	int launch = cudaGetLastError(), sync = cudaDeviceSynchronize();
	std::vector<unsigned> h(N, 0);
	int copy = cudaMemcpy(h.data(), mine, N * 4, cudaMemcpyDeviceToHost), same, nz;
	count(h, &same, &nz);
	if (copy) same = nz = 0; // nothing came back
	printf("B's kernel reads A's %p: launch=%d sync=%d (%s) copy_back=%d secret_words=%d nonzero_words=%d\n", (void *)a, launch,
		sync, cudaGetErrorName((cudaError_t)sync), copy, same, nz);
	return verdict(same == 0 && nz == 0, "B's kernel obtained none of A's data");
}

static int role_copy(const char *ptrfile) {
	unsigned *a = read_ptr(ptrfile);
	std::vector<unsigned> h(N, 0);
	int copy = cudaMemcpy(h.data(), a, N * 4, cudaMemcpyDeviceToHost), same, nz;
	count(h, &same, &nz);
	printf("B's cudaMemcpy from A's %p: %d (%s) secret_words=%d\n", (void *)a, copy, cudaGetErrorName((cudaError_t)copy), same);
	return verdict(same == 0, "B's copy obtained none of A's data");
}

static int role_fault() {
	unsigned *mine = 0;
	if (cudaMalloc(&mine, 4096)) { printf("B: setup failed\n"); return 2; }
	poke<<<1, 1>>>((unsigned *)0x10);
	int launch = cudaGetLastError(), sync = cudaDeviceSynchronize();
	unsigned v = 0;
	int copy = cudaMemcpy(&v, mine, 4, cudaMemcpyDeviceToHost);
	printf("B's kernel writes to 0x10: launch=%d sync=%d (%s); B's next copy=%d (%s)\n", launch, sync,
		cudaGetErrorName((cudaError_t)sync), copy, cudaGetErrorName((cudaError_t)copy));
	return verdict((sync == 700 || sync == 719) && copy != 0, "B's fault is B's: reported to it, and sticky");
}

static int role_ok() {
	unsigned *d = 0;
	std::vector<unsigned> h(N);
	for (int i = 0; i < N; i++) h[i] = i;
	int r = cudaMalloc(&d, N * 4);
	if (!r) r = cudaMemcpy(d, h.data(), N * 4, cudaMemcpyHostToDevice);
	bump<<<(N + 255) / 256, 256>>>(d, N);
	int sync = cudaDeviceSynchronize();
	int copy = cudaMemcpy(h.data(), d, N * 4, cudaMemcpyDeviceToHost), good = 0;
	for (int i = 0; i < N; i++) good += h[i] == (unsigned)i + 1;
	printf("C (a new client): setup=%d sync=%d copy=%d good_words=%d/%d\n", r, sync, copy, good, N);
	return verdict(!r && !sync && !copy && good == N, "a new client is served normally");
}

static int role_pingpong(int n) {
	double t = now();
	void *d = 0;
	int r = cudaMalloc(&d, 1 << 20);
	printf("first_call_ms %.1f\n", (now() - t) * 1e3);
	if (r) { printf("error cudaMalloc %d\n", r); return 1; }
	for (int i = 0; i < 200; i++) { // warm-up
		empty<<<1, 1>>>();
		cudaStreamSynchronize(0);
	}
	std::vector<double> lat(n);
	for (int i = 0; i < n; i++) {
		t = now();
		empty<<<1, 1>>>();
		r |= cudaStreamSynchronize(0);
		lat[i] = (now() - t) * 1e6;
	}
	std::sort(lat.begin(), lat.end());
	printf("sync_round_trip_p50 %.1f us\nsync_round_trip_p99 %.1f us\n", lat[n / 2], lat[n * 99 / 100]);
	const int L = 20000;
	t = now();
	for (int i = 0; i < L; i++) empty<<<1, 1>>>();
	r |= cudaDeviceSynchronize();
	printf("launch_throughput %.0f kernels/s\n", L / (now() - t));
	return verdict(r == 0, "figures measured without error");
}

static int role_hold(int seconds) {
	void *d = 0;
	int r = cudaMalloc(&d, 1 << 20);
	if (!r) r = cudaMemset(d, 1, 1 << 20);
	if (!r) r = cudaDeviceSynchronize();
	printf("holding: %d\n", r);
	fflush(stdout);
	std::this_thread::sleep_for(std::chrono::seconds(seconds));
	return r ? 1 : 0;
}

int main(int argc, char **argv) {
	setvbuf(stdout, 0, _IOLBF, 0);
	if (argc >= 4 && !strcmp(argv[1], "a")) return role_a(argv[2], argv[3]);
	if (argc >= 3 && !strcmp(argv[1], "read")) return role_read(argv[2]);
	if (argc >= 3 && !strcmp(argv[1], "copy")) return role_copy(argv[2]);
	if (argc >= 2 && !strcmp(argv[1], "fault")) return role_fault();
	if (argc >= 2 && !strcmp(argv[1], "ok")) return role_ok();
	if (argc >= 3 && !strcmp(argv[1], "pingpong")) return role_pingpong(atoi(argv[2]));
	if (argc >= 3 && !strcmp(argv[1], "hold")) return role_hold(atoi(argv[2]));
	fprintf(stderr, "usage: tenants a PTRFILE GOFILE | read PTRFILE | copy PTRFILE | fault | ok | pingpong N | hold SECONDS\n");
	return 2;
}
