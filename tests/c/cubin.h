/* Little-endian writers and an ELF writer for the hand-made cubins of the driver tests: each
 * test lists its sections (names, types, contents); cubin_write lays them out after the ELF
 * header, 8-byte aligned, with the section header table last. */
#ifndef VGPU_TEST_CUBIN_H
#define VGPU_TEST_CUBIN_H
#include <stddef.h>
#include <string.h>

static inline void put16(unsigned char *p, unsigned v) { p[0] = v; p[1] = v >> 8; }
static inline void put32(unsigned char *p, unsigned v) { put16(p, v); put16(p + 2, v >> 16); }
static inline void put64(unsigned char *p, unsigned long long v) { put32(p, (unsigned)v); put32(p + 4, (unsigned)(v >> 32)); }

/* A section: type 1 PROGBITS, 2 SYMTAB (link: its string table's index), 3 STRTAB. Section 1
 * must be ".shstrtab": cubin_write fills it with the names. */
struct sec { const char *name; unsigned type, link; const unsigned char *data; size_t size; size_t off, name_off; };

/* cubin_write writes n sections into out (big enough) and returns the image's size.
 * e_version is what nvcc's cubins hold there (the CUDA version), or 1; abi is e_ident[7];
 * symtab_info gives a symbol table its sh_info (the first global) and sh_entsize. */
static size_t cubin_write(unsigned char *out, struct sec *s, int n, unsigned e_version, unsigned char abi, int symtab_info) {
	static char shstr[256];
	size_t sl = 1;
	for (int i = 1; i < n; i++) { s[i].name_off = sl; strcpy(shstr + sl, s[i].name); sl += strlen(s[i].name) + 1; }
	s[1].data = (unsigned char *)shstr; s[1].size = sl;
	size_t off = 64;
	for (int i = 1; i < n; i++) { s[i].off = off; memcpy(out + off, s[i].data, s[i].size); off = (off + s[i].size + 7) & ~7UL; }
	size_t shoff = off;
	for (int i = 0; i < n; i++) {
		unsigned char *h = out + shoff + 64 * i;
		put32(h, s[i].name_off); put32(h + 4, s[i].type); put64(h + 0x18, s[i].off); put64(h + 0x20, s[i].size);
		put32(h + 0x28, s[i].link);
		if (symtab_info && s[i].type == 2) { put32(h + 0x2c, 1); put64(h + 0x38, 24); }
	}
	memcpy(out, "\x7f" "ELF", 4); out[4] = 2; out[5] = 1; out[6] = 1; out[7] = abi;
	put16(out + 0x10, 2); put16(out + 0x12, 190); put32(out + 0x14, e_version);
	put64(out + 0x28, shoff); put16(out + 0x34, 64); put16(out + 0x3a, 64); put16(out + 0x3c, n); put16(out + 0x3e, 1);
	return shoff + 64 * n;
}
#endif
