package server

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"vgpu/shim"
)

// A module image goes to cuModuleLoadData, which takes no length: the server passes only
// images whose headers end inside the frame, and PTX with its NUL.
func TestModuleImagesAreBoundedByTheirFrame(t *testing.T) {
	le := binary.LittleEndian
	ptx := []byte(".version 8.0\n.target sm_90\n")
	got, ok := sealedImage(ptx)
	require.True(t, ok)
	require.Equal(t, append(append([]byte(nil), ptx...), 0), got, "PTX gets its terminator")

	fatbin := func(header uint16, size uint64, have int) []byte {
		b := le.AppendUint32(nil, fatbinMagic)
		b = le.AppendUint16(b, 1)
		b = le.AppendUint16(b, header)
		b = le.AppendUint64(b, size)
		return append(b, make([]byte, have-len(b))...)
	}
	_, ok = sealedImage(fatbin(16, 48, 64))
	require.True(t, ok, "a fatbin as long as its header says")
	_, ok = sealedImage(fatbin(16, 1<<30, 64))
	require.False(t, ok, "a fatbin claiming more than the frame")
	_, ok = sealedImage(fatbin(16, ^uint64(0)-8, 64))
	require.False(t, ok, "a size that wraps")
	_, ok = sealedImage(fatbin(16, 0, 16)[:8])
	require.False(t, ok, "a truncated header")

	// An ELF with one section: its bytes, then the section header table.
	elf := func(secOff, secSize uint64) []byte {
		b := make([]byte, 64+32+2*64)
		copy(b, "\x7fELF")
		b[4], b[5] = 2, 1
		le.PutUint64(b[0x28:], 96) // e_shoff
		le.PutUint16(b[0x3a:], 64)
		le.PutUint16(b[0x3c:], 2)
		sh := b[96+64:]
		le.PutUint32(sh[4:], 1) // PROGBITS
		le.PutUint64(sh[0x18:], secOff)
		le.PutUint64(sh[0x20:], secSize)
		return b
	}
	_, ok = sealedImage(elf(64, 32))
	require.True(t, ok)
	_, ok = sealedImage(elf(64, 1<<20))
	require.False(t, ok, "a section past the frame")
	_, ok = sealedImage(elf(1<<40, 8))
	require.False(t, ok, "a section far outside")
	bad := elf(64, 32)
	le.PutUint16(bad[0x3c:], 1000)
	_, ok = sealedImage(bad)
	require.False(t, ok, "a section table past the frame")
}

// A cubin as nvcc lays it out (program headers after the section headers) is shipped whole by
// the client and accepted by the server: the client measures the image to its last table.
func TestACubinWithTrailingProgramHeadersIsShippedWhole(t *testing.T) {
	le := binary.LittleEndian
	img := make([]byte, 64+16+2*64+56) // header, one section's bytes, 2 section headers, 1 program header
	copy(img, "\x7fELF\x02\x01\x01")
	shoff, phoff := uint64(80), uint64(80+2*64)
	le.PutUint64(img[0x20:], phoff)
	le.PutUint64(img[0x28:], shoff)
	le.PutUint16(img[0x36:], 56)
	le.PutUint16(img[0x38:], 1)
	le.PutUint16(img[0x3a:], 64)
	le.PutUint16(img[0x3c:], 2)
	sh := img[shoff+64:] // section 1: PROGBITS at 64, 16 bytes
	le.PutUint32(sh[4:], 1)
	le.PutUint64(sh[0x18:], 64)
	le.PutUint64(sh[0x20:], 16)
	ph := img[phoff:] // one segment: the section's bytes
	le.PutUint64(ph[8:], 64)
	le.PutUint64(ph[0x20:], 16)
	m := shim.LoadImage(uintptr(unsafe.Pointer(&img[0])))
	require.Equal(t, uint64(len(img)), m.Size, "the client measures the image to its program headers")
	_, ok := sealedImage(img[:m.Size])
	require.True(t, ok, "the server accepts what the client ships")
	_, ok = sealedImage(img[:shoff+2*64])
	require.False(t, ok, "an image cut after its section headers is refused")
}
