/* A stand-in for llama.cpp's llama-server that does, for real, the one thing Ollama 0.25+
 * runs it for before a model is loaded: `--list-devices`. Like llama-server it takes
 * libggml-base.so from the loader's search path (its NEEDED entry resolves through
 * LD_LIBRARY_PATH), loads the backend named by GGML_BACKEND_PATH as ggml_backend_load does
 * (RTLD_NOW, the registration's API version checked), and prints each device of the
 * backend's registry in llama.cpp's format. Any other invocation exits 1.
 * Only ggml's public C API is declared here. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void *reg_t, *dev_t_;
typedef reg_t (*init_fn)(void);
typedef size_t (*dev_count_fn)(reg_t);
typedef dev_t_ (*dev_get_fn)(reg_t, size_t);
typedef const char *(*dev_str_fn)(dev_t_);
typedef void (*dev_mem_fn)(dev_t_, size_t *, size_t *);

/* The API version of the ggml this stand-in plays (GGML_BACKEND_API_VERSION); a
 * registration begins with the version its backend was built for. */
enum { API_VERSION = 2 };

static reg_t load_backend(const char *path) {
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "load_backend: failed to load %s: %s\n", path, dlerror());
		return NULL;
	}
	init_fn init = (init_fn)dlsym(h, "ggml_backend_init");
	if (!init) {
		fprintf(stderr, "load_backend: failed to find ggml_backend_init in %s\n", path);
		return NULL;
	}
	reg_t reg = init();
	if (!reg) {
		fprintf(stderr, "load_backend: failed to initialize backend from %s\n", path);
		return NULL;
	}
	if (*(const int *)reg != API_VERSION) {
		fprintf(stderr, "load_backend: failed to initialize backend from %s: version mismatch: %d != %d\n",
			path, *(const int *)reg, API_VERSION);
		return NULL;
	}
	fprintf(stderr, "load_backend: loaded backend from %s\n", path);
	return reg;
}

int main(int argc, char **argv) {
	int list = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--list-devices") == 0) { list = 1; break; }
	}
	if (!list) { fprintf(stderr, "llama-server stand-in: only --list-devices is implemented\n"); return 1; }
	void *base = dlopen("libggml-base.so", RTLD_NOW | RTLD_GLOBAL);
	if (!base) { fprintf(stderr, "error while loading shared libraries: %s\n", dlerror()); return 127; }
	dev_count_fn dev_count = (dev_count_fn)dlsym(base, "ggml_backend_reg_dev_count");
	dev_get_fn dev_get = (dev_get_fn)dlsym(base, "ggml_backend_reg_dev_get");
	dev_str_fn dev_name = (dev_str_fn)dlsym(base, "ggml_backend_dev_name");
	dev_str_fn dev_desc = (dev_str_fn)dlsym(base, "ggml_backend_dev_description");
	dev_mem_fn dev_mem = (dev_mem_fn)dlsym(base, "ggml_backend_dev_memory");
	if (!dev_count || !dev_get || !dev_name || !dev_desc || !dev_mem) {
		fprintf(stderr, "libggml-base.so lacks the device API\n");
		return 127;
	}
	reg_t reg = NULL;
	const char *path = getenv("GGML_BACKEND_PATH");
	if (path) reg = load_backend(path);
	size_t n = reg ? dev_count(reg) : 0;
	const size_t MiB = 1024 * 1024;
	printf("Available devices:\n");
	if (n == 0) printf("  (none)\n");
	for (size_t i = 0; i < n; i++) {
		dev_t_ dev = dev_get(reg, i);
		size_t free = 0, total = 0;
		dev_mem(dev, &free, &total);
		printf("  %s: %s (%zu MiB, %zu MiB free)\n", dev_name(dev), dev_desc(dev), total / MiB, free / MiB);
	}
	return 0;
}
