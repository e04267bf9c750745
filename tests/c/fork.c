// Fork safety: a child forked at any moment after the library loads behaves as under NVIDIA's
// driver. If the parent never initialised CUDA, the child works; if it had, the child's CUDA
// calls answer "not initialised" (3) and its NVML starts afresh; never a hang.
//
// usage: fork LIBDIR [remote]
// Each case runs in a fresh process (the runner) that loads the library, so that a fork at
// 0 ms meets the Go runtime still starting. The runner forks the child; an alarm in the child
// and in the runner turns a hang into a failure.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHILD_ALARM 10 // seconds a child may take before it counts as hung

static const char *libdir;
static void *lib;
#define SYM(name) dlsym(lib, name)
typedef int (*i_u)(unsigned);
typedef int (*i_p)(void *);
typedef int (*i_pp)(void *, void *);
typedef int (*i_v)(void);
typedef int (*i_ip)(int, void *);
typedef int (*i_pz)(void *, size_t);
typedef int (*i_pii)(void *, int, int);
typedef const char *(*s_i)(int);

static void load(void) {
	char path[4096];
	// Three names, one object: the driver, the runtime (CUDA 13 symbols) and NVML.
	snprintf(path, sizeof path, "%s/libcuda.so.1", libdir);
	lib = dlopen(path, RTLD_NOW);
	snprintf(path, sizeof path, "%s/libcudart.so.13", libdir);
	void *rt = dlopen(path, RTLD_NOW);
	snprintf(path, sizeof path, "%s/libnvidia-ml.so.1", libdir);
	void *ml = dlopen(path, RTLD_NOW);
	if (!lib || rt != lib || ml != lib) {
		fprintf(stderr, "fork: dlopen: %s\n", dlerror());
		exit(2);
	}
}

// As nvcc's constructors do at load: a fat binary and one kernel, whose host stub is
// kernel_stub. (The image is a header around the kernel's name, as tests/remote uses.)
static void kernel_stub(void) {}
static struct {
	unsigned magic, version;
	const unsigned long long *data;
	void *unused;
} fatbin_wrapper = {0x466243b1, 1, NULL, NULL};
static unsigned long long fatbin[4] = {0x0010000100000000ull | 0xba55ed50u, 16, 0x7674736574345a5full, 0};
typedef struct {
	unsigned x, y, z;
} dim3;
typedef int (*launch_fn)(const void *, dim3, dim3, void **, size_t, void *);

static void register_kernel(void) {
	fatbin_wrapper.data = fatbin;
	void **mod = ((void **(*)(void *))SYM("__cudaRegisterFatBinary"))(&fatbin_wrapper);
	((void (*)(void **, const char *, char *, const char *, int, void *, void *, void *, void *, int *))SYM("__cudaRegisterFunction"))(
		mod, (const char *)kernel_stub, "_Z4testv", "_Z4testv", -1, 0, 0, 0, 0, 0);
	((void (*)(void **))SYM("__cudaRegisterFatBinaryEnd"))(mod);
}

static int failures;
static char why[512];
static void expect(int got, int want, const char *what) {
	if (got != want && !failures++) snprintf(why, sizeof why, "%s = %d, want %d", what, got, want);
}

// What a child checks. parent_cuda: the parent had initialised CUDA before forking; remote:
// VGPU_BACKEND=remote.
static void child_checks(int parent_cuda, int remote, int registered) {
	int n = -1, v = -1;
	void *p = NULL;
	const char *s = NULL;
	unsigned c = 0;
	int want = parent_cuda ? 3 : 0; // CUDA_ERROR_NOT_INITIALIZED, cudaErrorInitializationError
	expect(((i_u)SYM("cuInit"))(0), want, "cuInit(0)");
	expect(((i_p)SYM("cuDeviceGetCount"))(&n), want, "cuDeviceGetCount");
	if (!parent_cuda) expect(n, 1, "device count");
	expect(((i_pii)SYM("cuDeviceGetAttribute"))(&v, 16 /* multiprocessors */, 0), want, "cuDeviceGetAttribute");
	expect(((i_pz)SYM("cudaMalloc"))(&p, 1 << 20), want, "cudaMalloc");
	if (!parent_cuda) expect(((i_p)SYM("cudaFree"))(p), 0, "cudaFree");
	if (registered) {
		// The parent's registrations hold in the child (VGPU_SIM_LAUNCH=noop: a registered
		// kernel launches; an unregistered function is cudaErrorInvalidDeviceFunction).
		dim3 g = {1, 1, 1}, b = {32, 1, 1};
		launch_fn launch = (launch_fn)SYM("cudaLaunchKernel");
		expect(launch((void *)kernel_stub, g, b, NULL, 0, NULL), want, "cudaLaunchKernel of the parent's kernel");
		expect(launch((void *)child_checks, g, b, NULL, 0, NULL), parent_cuda ? 3 : 98, "cudaLaunchKernel of an unregistered function");
	}
	// What NVIDIA answers without initialisation still works in any child.
	expect(((i_p)SYM("cuDriverGetVersion"))(&v), 0, "cuDriverGetVersion");
	expect(v > 0, 1, "a driver version");
	expect(((i_ip)SYM("cuGetErrorString"))(3, &s), 0, "cuGetErrorString(3)");
	expect(s && !strncmp(s, "initialization error", 20), 1, "cuGetErrorString(3) text");
	s = ((s_i)SYM("cudaGetErrorString"))(3);
	expect(s && !strcmp(s, "initialization error"), 1, "cudaGetErrorString(3) text");
	// A child's NVML starts uninitialised, whatever its parent did, and its own nvmlInit works.
	// (A remote client's NVML is the server's, which other clients have initialised.)
	if (!remote) expect(((i_p)SYM("nvmlDeviceGetCount_v2"))(&c), 1, "nvmlDeviceGetCount before the child's nvmlInit");
	expect(((i_v)SYM("nvmlInit_v2"))(), 0, "nvmlInit_v2");
	expect(((i_p)SYM("nvmlDeviceGetCount_v2"))(&c), 0, "nvmlDeviceGetCount_v2");
	expect(c, 1, "NVML device count");
}

static double now_ms(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void sleep_us(long us) {
	struct timespec t = {us / 1000000, (us % 1000000) * 1000};
	nanosleep(&t, NULL);
}

// Busy parents: threads that keep calling into Go while the runner forks.
static volatile int stop;
static void *busy_thread(void *arg) {
	int cuda = arg != NULL;
	while (!stop) {
		int v;
		unsigned c;
		char name[96];
		void *p = NULL;
		((i_p)SYM("cuDriverGetVersion"))(&v);
		((i_v)SYM("nvmlInit_v2"))();
		((i_p)SYM("nvmlDeviceGetCount_v2"))(&c);
		void *dev = NULL;
		((i_ip)SYM("nvmlDeviceGetHandleByIndex_v2"))(0, &dev);
		((int (*)(void *, char *, unsigned))SYM("nvmlDeviceGetName"))(dev, name, sizeof name);
		((i_v)SYM("nvmlShutdown"))();
		if (cuda) {
			((i_pz)SYM("cudaMalloc"))(&p, 4096);
			((i_p)SYM("cudaFree"))(p);
		}
	}
	return NULL;
}

enum { QUIET = 0, THREADS = 1, REGISTER = 2, GRANDCHILD = 4 }; // what the runner does besides forking


// run_case is the runner: load, optionally initialise and start busy threads, wait delay_us,
// fork, check the child. Returns the runner's exit status: 0 pass.
static int run_case(long delay_us, int parent_cuda, int busy, int remote) {
	load();
	if (busy & REGISTER) register_kernel();
	if (parent_cuda == 1) expect(((i_u)SYM("cuInit"))(0), 0, "parent cuInit");
	if (parent_cuda == 2) expect(((i_p)SYM("cudaFree"))(NULL), 0, "parent cudaFree(NULL)"); // the runtime initialises
	if (failures) {
		fprintf(stderr, "%s\n", why);
		return 1;
	}
	pthread_t th[2];
	if (busy & THREADS)
		for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, busy_thread, parent_cuda ? (void *)1 : NULL);
	if (delay_us) sleep_us(delay_us);
	pid_t pid = fork();
	if (pid == 0) {
		alarm(CHILD_ALARM);
		child_checks(parent_cuda != 0, remote, busy & REGISTER);
		if ((busy & GRANDCHILD) && !failures) {
			// The child initialised CUDA (its own): its child gets 3, and its NVML still works.
			pid_t g = fork();
			if (g == 0) {
				alarm(CHILD_ALARM);
				child_checks(1, remote, 0);
				if (failures) fprintf(stderr, "grandchild: %s\n", why);
				_exit(failures ? 1 : 0);
			}
			int gst = 0;
			waitpid(g, &gst, 0);
			if (!WIFEXITED(gst) || WEXITSTATUS(gst)) failures++, snprintf(why, sizeof why, "grandchild status %d", gst);
		}
		if (failures) fprintf(stderr, "child: %s\n", why);
		_exit(failures ? 1 : 0);
	}
	int st = 0;
	if (getenv("FORK_GDB")) { // diagnosis: where a hung child waits
		for (int i = 0; i < 200 && waitpid(pid, &st, WNOHANG) != pid; i++) sleep_us(10000);
		if (kill(pid, 0) == 0 && waitpid(pid, &st, WNOHANG) != pid) {
			char cmd[256];
			snprintf(cmd, sizeof cmd, "gdb -batch -p %d -ex 'thread apply all bt' 2>&1 | grep -E '^#|^Thread' >&2", pid);
			system(cmd);
		}
	}
	waitpid(pid, &st, 0);
	if (busy & THREADS) {
		stop = 1;
		for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
	}
	if (WIFSIGNALED(st)) {
		fprintf(stderr, "child killed by signal %d%s\n", WTERMSIG(st), WTERMSIG(st) == SIGALRM ? " (hung)" : "");
		return 1;
	}
	if (WEXITSTATUS(st)) return 1;
	if (remote) {
		// The parent's connection is intact: the child wrote nothing on it.
		int n = -1;
		void *p = NULL;
		expect(((i_p)SYM("cuDeviceGetCount"))(&n), 0, "parent cuDeviceGetCount after the fork");
		expect(n, 1, "parent device count after the fork");
		expect(((i_pz)SYM("cudaMalloc"))(&p, 1 << 20), 0, "parent cudaMalloc after the fork");
		expect(((i_p)SYM("cudaFree"))(p), 0, "parent cudaFree after the fork");
		if (failures) fprintf(stderr, "parent: %s\n", why);
	}
	return failures ? 1 : 0;
}

// spawn runs one case in a fresh runner process and reports whether it passed.
static int spawn(long delay_us, int parent_cuda, int busy, int remote) {
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		alarm(3 * CHILD_ALARM);
		_exit(run_case(delay_us, parent_cuda, busy, remote));
	}
	int st = 0;
	waitpid(pid, &st, 0);
	if (WIFSIGNALED(st)) fprintf(stderr, "runner killed by signal %d%s\n", WTERMSIG(st), WTERMSIG(st) == SIGALRM ? " (hung)" : "");
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static int total_failed;
static void report(const char *name, int n, int passed, double ms) {
	printf("%-72s %3d/%3d  %6.0f ms\n", name, passed, n, ms);
	if (passed != n) total_failed++;
}

// A group of n cases; delay_us < 0 draws a random delay up to -delay_us.
static void group(const char *name, int n, long delay_us, int parent_cuda, int busy, int remote) {
	double t0 = now_ms();
	int passed = 0;
	for (int i = 0; i < n; i++) passed += spawn(delay_us < 0 ? random() % -delay_us : delay_us, parent_cuda, busy, remote);
	report(name, n, passed, now_ms() - t0);
}

int main(int argc, char **argv) {
	if (argc < 2) {
		fprintf(stderr, "usage: fork LIBDIR [remote]\n");
		return 2;
	}
	libdir = argv[1];
	srandom(getpid());
	setenv("VGPU_SIM_LAUNCH", "noop", 1); // kernels "run" (as no-ops) on the sim backend
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 2 && !strcmp(argv[2], "remote")) {
		// VGPU_BACKEND=remote and VGPU_SERVER are set by the caller.
		group("remote: parent never connected, fork at 0-5 ms: the child works", 10, -5000, 0, QUIET, 1);
		group("remote: parent never connected, registered a kernel: the child launches it", 5, -2000, 0, REGISTER, 1);
		group("remote: parent connected (cuInit): child gets 3, parent's link intact", 10, -2000, 1, QUIET, 1);
		group("remote: parent connected, busy threads: child gets 3, link intact", 10, -2000, 1, THREADS, 1);
		return total_failed ? 1 : 0;
	}
	group("parent never initialised CUDA, fork at 0 ms: the child works", 50, 0, 0, QUIET, 0);
	group("parent never initialised CUDA, fork at 1 ms: the child works", 25, 1000, 0, QUIET, 0);
	group("parent never initialised CUDA, fork at 5 ms: the child works", 25, 5000, 0, QUIET, 0);
	group("parent never initialised CUDA, fork at 0-20 ms: the child works", 25, -20000, 0, QUIET, 0);
	group("... with two threads calling into Go while it forks", 25, -20000, 0, THREADS, 0);
	group("parent registered a kernel, never initialised CUDA: the child launches it", 10, -2000, 0, REGISTER, 0);
	group("the child's own child: 3 from CUDA (the child initialised it), NVML works", 10, -2000, 0, GRANDCHILD, 0);
	group("parent called cuInit: the child's CUDA answers 3, its NVML works", 20, -2000, 1, QUIET, 0);
	group("parent registered a kernel and called cuInit: the child's launch answers 3", 10, -2000, 1, REGISTER, 0);
	group("parent initialised the runtime: likewise", 10, -2000, 2, QUIET, 0);
	group("parent called cuInit, threads in cudaMalloc/NVML at the fork: likewise", 20, -2000, 1, THREADS, 0);
	return total_failed ? 1 : 0;
}
