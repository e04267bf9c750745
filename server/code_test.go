package server

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"
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
