package cuda

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A server reads images its clients ship. Lengths and offsets in them are the client's
// choice: a sum that wraps past 2^64 must be refused, not sliced (a panic ends the session).

func TestFatbinEntryWhoseSizeWrapsIsRefused(t *testing.T) {
	lockThread(t)
	le := binary.LittleEndian
	img := make([]byte, 16+0x30+16)
	le.PutUint32(img, fatbinMagic)
	le.PutUint16(img[6:], 16)                  // header size
	le.PutUint64(img[8:], uint64(len(img)-16)) // entries' bytes
	e := img[16:]
	le.PutUint16(e, fatbinKindELF)
	le.PutUint32(e[4:], 0x30)                   // entry header size
	le.PutUint64(e[8:], ^uint64(0)-0x30-16+1+8) // payload size: off+hs+ps wraps to 8
	assert.NotPanics(t, func() { kernelNames(img) })
	assert.NotPanics(t, func() { globalInImage(img, "x") })
}

func TestELFSectionTableWhoseOffsetWrapsIsRefused(t *testing.T) {
	lockThread(t)
	le := binary.LittleEndian
	elf := make([]byte, 256)
	copy(elf, "\x7fELF")
	elf[4], elf[5] = 2, 1
	le.PutUint64(elf[0x28:], ^uint64(0)-63) // shoff: shoff + shsize*shnum wraps to 64
	le.PutUint16(elf[0x3a:], 64)
	le.PutUint16(elf[0x3c:], 2)
	assert.NotPanics(t, func() { elfSymbol(elf, "x") })
	assert.NotPanics(t, func() { kernelNames(elf) })
	assert.NotPanics(t, func() { paramTable(elf, "k") })
}
