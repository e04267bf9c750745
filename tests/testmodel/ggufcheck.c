// ggufcheck: ggml's own GGUF reader (gguf_init_from_file in libggml-base.so, loaded with
// dlopen) must accept a file from `vgpu testmodel` and see what we meant to write.
// usage: ggufcheck LIBGGML_BASE FILE TYPE(f16|q8_0) LAYERS HIDDEN VOCAB
// Prints one "ok"/"FAIL" line per check, then PASS or FAIL; exit 1 on any failure.
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

// From ggml.h and gguf.h, declared here so that the check needs only the shared library.
struct gguf_context;
struct ggml_context;
struct gguf_init_params {
	bool no_alloc;
	struct ggml_context **ctx;
};
// The stable head of struct ggml_tensor: type, buffer, ne[4].
struct ggml_tensor_head {
	int type;
	void *buffer;
	int64_t ne[4];
};
enum { GGML_TYPE_F32 = 0, GGML_TYPE_F16 = 1, GGML_TYPE_Q8_0 = 8 };

static struct gguf_context *(*init_from_file)(const char *, struct gguf_init_params);
static void (*gguf_free_)(struct gguf_context *);
static uint32_t (*get_version)(const struct gguf_context *);
static size_t (*get_alignment)(const struct gguf_context *);
static size_t (*get_data_offset)(const struct gguf_context *);
static int64_t (*get_n_kv)(const struct gguf_context *);
static int64_t (*get_n_tensors)(const struct gguf_context *);
static int64_t (*find_key)(const struct gguf_context *, const char *);
static const char *(*get_val_str)(const struct gguf_context *, int64_t);
static uint32_t (*get_val_u32)(const struct gguf_context *, int64_t);
static float (*get_val_f32)(const struct gguf_context *, int64_t);
static size_t (*get_arr_n)(const struct gguf_context *, int64_t);
static const char *(*get_arr_str)(const struct gguf_context *, int64_t, size_t);
static const char *(*get_tensor_name)(const struct gguf_context *, int64_t);
static int (*get_tensor_type)(const struct gguf_context *, int64_t);
static size_t (*get_tensor_offset)(const struct gguf_context *, int64_t);
static size_t (*get_tensor_size)(const struct gguf_context *, int64_t);
static struct ggml_tensor_head *(*get_tensor)(struct ggml_context *, const char *);
static void (*ggml_free_)(struct ggml_context *);
static const char *(*type_name)(int);

static int failures;
#define CHECK(cond, ...)                                                                       \
	do {                                                                                   \
		if (cond) {                                                                    \
			printf("ok   ");                                                       \
		} else {                                                                       \
			printf("FAIL ");                                                       \
			failures++;                                                            \
		}                                                                              \
		printf(__VA_ARGS__);                                                           \
		printf("\n");                                                                  \
	} while (0)

static void *sym(void *h, const char *name) {
	void *p = dlsym(h, name);
	if (!p) {
		printf("FAIL %s not exported: %s\n", name, dlerror());
		exit(1);
	}
	return p;
}

static const char *str_key(struct gguf_context *g, const char *key) {
	int64_t id = find_key(g, key);
	return id < 0 ? "(missing)" : get_val_str(g, id);
}

static long u32_key(struct gguf_context *g, const char *key) {
	int64_t id = find_key(g, key);
	return id < 0 ? -1 : (long)get_val_u32(g, id);
}

int main(int argc, char **argv) {
	if (argc != 7) {
		fprintf(stderr, "usage: %s LIBGGML_BASE FILE f16|q8_0 LAYERS HIDDEN VOCAB\n", argv[0]);
		return 2;
	}
	const char *file = argv[2];
	int want_type = strcmp(argv[3], "q8_0") == 0 ? GGML_TYPE_Q8_0 : GGML_TYPE_F16;
	long layers = atol(argv[4]), hidden = atol(argv[5]), vocab = atol(argv[6]);

	void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		printf("FAIL dlopen %s: %s\n", argv[1], dlerror());
		return 1;
	}
	init_from_file = sym(h, "gguf_init_from_file");
	gguf_free_ = sym(h, "gguf_free");
	get_version = sym(h, "gguf_get_version");
	get_alignment = sym(h, "gguf_get_alignment");
	get_data_offset = sym(h, "gguf_get_data_offset");
	get_n_kv = sym(h, "gguf_get_n_kv");
	get_n_tensors = sym(h, "gguf_get_n_tensors");
	find_key = sym(h, "gguf_find_key");
	get_val_str = sym(h, "gguf_get_val_str");
	get_val_u32 = sym(h, "gguf_get_val_u32");
	get_val_f32 = sym(h, "gguf_get_val_f32");
	get_arr_n = sym(h, "gguf_get_arr_n");
	get_arr_str = sym(h, "gguf_get_arr_str");
	get_tensor_name = sym(h, "gguf_get_tensor_name");
	get_tensor_type = sym(h, "gguf_get_tensor_type");
	get_tensor_offset = sym(h, "gguf_get_tensor_offset");
	get_tensor_size = sym(h, "gguf_get_tensor_size");
	get_tensor = sym(h, "ggml_get_tensor");
	ggml_free_ = sym(h, "ggml_free");
	type_name = sym(h, "ggml_type_name");

	// no_alloc: tensor metadata in a ggml context, no data read; as llama.cpp opens models.
	struct ggml_context *meta = NULL;
	struct gguf_init_params params = {.no_alloc = true, .ctx = &meta};
	struct gguf_context *g = init_from_file(file, params);
	if (!g || !meta) {
		printf("FAIL gguf_init_from_file rejected %s\n", file);
		printf("FAIL\n");
		return 1;
	}
	printf("ok   gguf_init_from_file accepted %s\n", file);

	int64_t nt = get_n_tensors(g), nkv = get_n_kv(g);
	long want_nt = 9 * layers + 3;
	CHECK(get_version(g) == 3, "version %u", get_version(g));
	CHECK(get_alignment(g) == 32, "alignment %zu", get_alignment(g));
	CHECK(nt == want_nt, "%lld tensors (want %ld)", (long long)nt, want_nt);
	CHECK(nkv >= 20, "%lld keys", (long long)nkv);
	CHECK(strcmp(str_key(g, "general.architecture"), "llama") == 0, "general.architecture = %s",
	      str_key(g, "general.architecture"));
	CHECK(strcmp(str_key(g, "tokenizer.ggml.model"), "llama") == 0, "tokenizer.ggml.model = %s",
	      str_key(g, "tokenizer.ggml.model"));
	CHECK(u32_key(g, "llama.block_count") == layers, "llama.block_count = %ld", u32_key(g, "llama.block_count"));
	CHECK(u32_key(g, "llama.embedding_length") == hidden, "llama.embedding_length = %ld",
	      u32_key(g, "llama.embedding_length"));
	CHECK(u32_key(g, "general.file_type") == (want_type == GGML_TYPE_Q8_0 ? 7 : 1), "general.file_type = %ld",
	      u32_key(g, "general.file_type"));
	int64_t eps = find_key(g, "llama.attention.layer_norm_rms_epsilon");
	CHECK(eps >= 0 && get_val_f32(g, eps) > 0, "rms epsilon %g", eps >= 0 ? get_val_f32(g, eps) : -1.0);
	int64_t tk = find_key(g, "tokenizer.ggml.tokens");
	size_t ntok = tk < 0 ? 0 : get_arr_n(g, tk);
	CHECK((long)ntok == vocab, "%zu tokens (want %ld)", ntok, vocab);
	if ((long)ntok == vocab && vocab > 258) {
		CHECK(strcmp(get_arr_str(g, tk, 1), "<s>") == 0 && strcmp(get_arr_str(g, tk, 3), "<0x00>") == 0 &&
		          strcmp(get_arr_str(g, tk, 258), "<0xFF>") == 0,
		      "tokens <s> at 1, <0x00>..<0xFF> at 3..258");
	}

	// Every tensor: weights of the asked type, norms f32, aligned, sizes consistent with
	// the shape ggml built, and the data inside the file.
	struct stat st;
	stat(file, &st);
	int bad_type = 0, bad_align = 0, bad_size = 0, bad_bounds = 0, f32s = 0;
	for (int64_t i = 0; i < nt; i++) {
		const char *name = get_tensor_name(g, i);
		int t = get_tensor_type(g, i);
		struct ggml_tensor_head *x = get_tensor(meta, name);
		int dims = x && x->ne[1] > 1 ? 2 : 1;
		int64_t n = x ? x->ne[0] * x->ne[1] * x->ne[2] * x->ne[3] : 0;
		size_t want_size = t == GGML_TYPE_F32 ? 4 * n : t == GGML_TYPE_F16 ? 2 * n : n / 32 * 34;
		if (!x || (dims == 1 ? t != GGML_TYPE_F32 : t != want_type)) {
			printf("FAIL %s: type %s\n", name, type_name(t));
			bad_type++;
		}
		f32s += t == GGML_TYPE_F32;
		if (get_tensor_offset(g, i) % 32) bad_align++;
		if (get_tensor_size(g, i) != want_size) {
			printf("FAIL %s: %zu bytes, want %zu\n", name, get_tensor_size(g, i), want_size);
			bad_size++;
		}
		if (get_data_offset(g) + get_tensor_offset(g, i) + get_tensor_size(g, i) > (size_t)st.st_size) bad_bounds++;
	}
	CHECK(bad_type == 0, "tensor types: %lld %s, %d f32 norms", (long long)(nt - f32s), argv[3], f32s);
	CHECK(bad_align == 0, "tensor offsets aligned to 32");
	CHECK(bad_size == 0, "tensor sizes match their shapes");
	CHECK(bad_bounds == 0, "tensor data within the file (%lld bytes)", (long long)st.st_size);

	struct ggml_tensor_head *e = get_tensor(meta, "token_embd.weight");
	struct ggml_tensor_head *q = get_tensor(meta, "blk.0.attn_q.weight");
	struct ggml_tensor_head *o = get_tensor(meta, "output.weight");
	CHECK(e && e->ne[0] == hidden && e->ne[1] == vocab, "token_embd.weight [%lld, %lld]",
	      e ? (long long)e->ne[0] : -1, e ? (long long)e->ne[1] : -1);
	CHECK(q && q->ne[0] == hidden && q->ne[1] == hidden, "blk.0.attn_q.weight [%lld, %lld]",
	      q ? (long long)q->ne[0] : -1, q ? (long long)q->ne[1] : -1);
	CHECK(o && o->ne[0] == hidden && o->ne[1] == vocab, "output.weight [%lld, %lld]",
	      o ? (long long)o->ne[0] : -1, o ? (long long)o->ne[1] : -1);

	ggml_free_(meta);
	gguf_free_(g);
	printf(failures ? "FAIL\n" : "PASS\n");
	return failures ? 1 : 0;
}
