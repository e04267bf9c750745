/* A client nobody here wrote, driven the way Ollama drives it: dlopen a real prebuilt ggml
 * CUDA backend with RTLD_NOW, let ggml enumerate the devices, read their memory, and move
 * memory through a ggml buffer. Only ggml's public C API is declared here.
 *
 * usage: probe DIR EXPECTED_NAME EXPECTED_TOTAL_BYTES
 *   DIR holds libggml-cuda.so; libggml-base.so comes from $PROBE_BASE_DIR if set, else DIR
 *   (Ollama keeps it one level up, in lib/ollama).
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void *reg_t, *dev_t_, *buft_t, *buf_t;

typedef reg_t (*init_fn)(void);
typedef const char *(*reg_name_fn)(reg_t);
typedef size_t (*dev_count_fn)(reg_t);
typedef dev_t_ (*dev_get_fn)(reg_t, size_t);
typedef const char *(*dev_str_fn)(dev_t_);
typedef void (*dev_mem_fn)(dev_t_, size_t *, size_t *);
typedef buft_t (*dev_buft_fn)(dev_t_);
typedef buf_t (*alloc_fn)(buft_t, size_t);
typedef void (*clear_fn)(buf_t, uint8_t);
typedef void (*free_fn)(buf_t);

#define LOAD(lib, name, type) type name = (type)dlsym(lib, #name); \
	if (!name) { printf("FAIL missing %s\n", #name); return 1; }

int main(int argc, char **argv) {
	if (argc != 4) { fprintf(stderr, "usage: probe DIR NAME TOTAL\n"); return 2; }
	char path[4096];
	const char *base_dir = getenv("PROBE_BASE_DIR") ? getenv("PROBE_BASE_DIR") : argv[1];
	snprintf(path, sizeof path, "%s/libggml-base.so", base_dir);
	void *base = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	if (!base) { printf("FAIL dlopen base: %s\n", dlerror()); return 1; }
	snprintf(path, sizeof path, "%s/libggml-cuda.so", argv[1]);
	void *cuda = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!cuda) { printf("FAIL dlopen(RTLD_NOW) libggml-cuda.so: %s\n", dlerror()); return 1; }
	printf("ok dlopen(RTLD_NOW) %s\n", path);

	LOAD(cuda, ggml_backend_init, init_fn);
	LOAD(base, ggml_backend_reg_name, reg_name_fn);
	LOAD(base, ggml_backend_reg_dev_count, dev_count_fn);
	LOAD(base, ggml_backend_reg_dev_get, dev_get_fn);
	LOAD(base, ggml_backend_dev_name, dev_str_fn);
	LOAD(base, ggml_backend_dev_description, dev_str_fn);
	LOAD(base, ggml_backend_dev_memory, dev_mem_fn);
	LOAD(base, ggml_backend_dev_buffer_type, dev_buft_fn);
	LOAD(base, ggml_backend_buft_alloc_buffer, alloc_fn);
	LOAD(base, ggml_backend_buffer_clear, clear_fn);
	LOAD(base, ggml_backend_buffer_free, free_fn);

	reg_t reg = ggml_backend_init();
	if (!reg) { printf("FAIL ggml_backend_init returned NULL\n"); return 1; }
	size_t n = ggml_backend_reg_dev_count(reg);
	printf("ok backend %s with %zu device(s)\n", ggml_backend_reg_name(reg), n);
	if (n == 0) { printf("FAIL no devices\n"); return 1; }
	unsigned long long want_total = strtoull(argv[3], NULL, 10);
	int bad = 0;
	for (size_t i = 0; i < n; i++) {
		dev_t_ dev = ggml_backend_reg_dev_get(reg, i);
		size_t free = 0, total = 0;
		ggml_backend_dev_memory(dev, &free, &total);
		const char *desc = ggml_backend_dev_description(dev);
		printf("device %zu: %s \"%s\" free %zu total %zu\n", i, ggml_backend_dev_name(dev), desc, free, total);
		if (strcmp(desc, argv[2]) != 0) { printf("FAIL description: want %s\n", argv[2]); bad = 1; }
		if (total != want_total) { printf("FAIL total: want %llu\n", want_total); bad = 1; }
		if (free > total || free == 0) { printf("FAIL free out of range\n"); bad = 1; }
	}
	/* One real allocation through ggml's CUDA buffer type: memory must drop and come back. */
	dev_t_ dev = ggml_backend_reg_dev_get(reg, 0);
	size_t free0, total0, free1, total1, free2, total2;
	ggml_backend_dev_memory(dev, &free0, &total0);
	buf_t buf = ggml_backend_buft_alloc_buffer(ggml_backend_dev_buffer_type(dev), 1 << 30);
	if (!buf) { printf("FAIL 1 GiB ggml buffer allocation\n"); return 1; }
	ggml_backend_buffer_clear(buf, 0x5a);
	ggml_backend_dev_memory(dev, &free1, &total1);
	ggml_backend_buffer_free(buf);
	ggml_backend_dev_memory(dev, &free2, &total2);
	printf("free before %zu, with 1 GiB buffer %zu, after free %zu\n", free0, free1, free2);
	if (free0 - free1 < (1u << 30)) { printf("FAIL allocation not accounted\n"); bad = 1; }
	if (free2 != free0) { printf("FAIL memory not returned\n"); bad = 1; }
	printf(bad ? "FAIL\n" : "PASS\n");
	return bad;
}
