package cuda

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// testCubin builds a minimal ELF64 with a symbol table naming one variable of 12 bytes at
// offset 4 of a data section, as a cubin lays out a __device__ variable.
func testCubin(name string, init []byte) []byte {
	le := binary.LittleEndian
	strtab := append([]byte{0}, append([]byte(name), 0)...)
	data := append([]byte{0xee, 0xee, 0xee, 0xee}, init...)
	sym := make([]byte, 48) // the null symbol, then ours
	le.PutUint32(sym[24:], 1)
	le.PutUint16(sym[24+6:], 3) // in section 3 (data)
	le.PutUint64(sym[24+8:], 4)
	le.PutUint64(sym[24+16:], uint64(len(init)))
	var body bytes.Buffer
	body.Write(make([]byte, 64))
	offs := []int{}
	for _, b := range [][]byte{sym, strtab, data} {
		offs = append(offs, body.Len())
		body.Write(b)
	}
	shoff := body.Len()
	sh := func(typ uint32, off, size int, link uint32) {
		s := make([]byte, 64)
		le.PutUint32(s[4:], typ)
		le.PutUint64(s[0x18:], uint64(off))
		le.PutUint64(s[0x20:], uint64(size))
		le.PutUint32(s[0x28:], link)
		body.Write(s)
	}
	sh(0, 0, 0, 0)
	sh(2, offs[0], len(sym), 2) // SHT_SYMTAB, strings in section 2
	sh(3, offs[1], len(strtab), 0)
	sh(1, offs[2], len(data), 0)
	elf := body.Bytes()
	copy(elf, "\x7fELF\x02\x01")
	le.PutUint64(elf[0x28:], uint64(shoff))
	le.PutUint16(elf[0x3a:], 64)
	le.PutUint16(elf[0x3c:], 4)
	return elf
}

// testFatbin wraps a cubin as a fat binary's one ELF entry, compressed-flagged if asked.
func testFatbin(cubin []byte, flags uint64) []byte {
	le := binary.LittleEndian
	f := make([]byte, 16+0x40)
	le.PutUint32(f, fatbinMagic)
	le.PutUint16(f[4:], 1)
	le.PutUint16(f[6:], 16)
	le.PutUint64(f[8:], uint64(0x40+len(cubin)))
	e := f[16:]
	le.PutUint16(e, fatbinKindELF)
	le.PutUint32(e[4:], 0x40)
	le.PutUint64(e[8:], uint64(len(cubin)))
	le.PutUint64(e[0x28:], flags)
	return append(f, cubin...)
}

// A module global's size and initialiser come from the cubin's symbol table, directly or
// inside a fat binary; a compressed entry hides them, and other names are absent.
func TestGlobalSizeAndInitialiserComeFromTheSymbolTable(t *testing.T) {
	lockThread(t)
	init := []byte("abcdefghijkl")
	cubin := testCubin("gvar", init)
	for what, image := range map[string][]byte{"cubin": cubin, "fat binary": testFatbin(cubin, 0)} {
		size, got := globalInImage(image, "gvar")
		if size != 12 || !bytes.Equal(got, init) {
			t.Errorf("%s: size %d, initialiser %q; want 12, %q", what, size, got, init)
		}
		if size, _ := globalInImage(image, "other"); size != 0 {
			t.Errorf("%s: a name not in the table has size %d", what, size)
		}
	}
	if size, _ := globalInImage(testFatbin(cubin, 0x8000), "gvar"); size != 0 {
		t.Error("a compressed entry was read as a cubin")
	}
	if !fatbinHasCompressed(testFatbin(cubin, 0x2000)) || fatbinHasCompressed(testFatbin(cubin, 0)) {
		t.Error("compressed entries are not told apart")
	}
	// Truncated images are read safely.
	for n := 0; n < len(cubin); n += 7 {
		globalInImage(cubin[:n], "gvar")
		globalInImage(testFatbin(cubin, 0)[:n], "gvar")
	}
}
