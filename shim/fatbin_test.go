package shim

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
)

// fatbin builds a one-container fat binary whose entries carry the given flags and payloads.
func fatbin(entries ...fatbinEntry) []byte {
	le := binary.LittleEndian
	var body []byte
	for _, e := range entries {
		h := make([]byte, 64)
		le.PutUint16(h[0:], 2) // ELF
		le.PutUint32(h[4:], 64)
		le.PutUint64(h[8:], uint64(len(e.payload)))
		le.PutUint64(h[0x28:], e.flags)
		body = append(append(body, h...), e.payload...)
	}
	out := le.AppendUint32(nil, fatbinMagic)
	out = le.AppendUint16(out, 1)
	out = le.AppendUint16(out, 16)
	out = le.AppendUint64(out, uint64(len(body)))
	return append(out, body...)
}

type fatbinEntry struct {
	flags   uint64
	payload []byte
}

func TestImageNames_PlainFatBinaryAnswersFromItsStrings(t *testing.T) {
	img := fatbin(fatbinEntry{0x11, []byte("\x00kern_a\x00pad.")})
	assert.True(t, imageNames(img, "kern_a"))
	assert.False(t, imageNames(img, "kern_b"), "a name the image does not hold")
	assert.False(t, imageNames(img, ""))
}

func TestImageNames_CompressedEntriesCannotDisproveAName(t *testing.T) {
	// nvcc 13 compresses with zstd (0x8000), older nvcc with LZ4 (0x2000): the names are
	// not in the bytes, so any name is taken.
	for _, flag := range []uint64{fatbinEntryZstd, fatbinEntryLZ4} {
		img := fatbin(fatbinEntry{0x11, []byte("plain\x00\x00\x00")}, fatbinEntry{0x11 | flag, []byte("\x28\xb5\x2f\xfd....")})
		assert.True(t, imageNames(img, "kern_b"), "flag %#x", flag)
	}
}

func TestFatbinCompressed_HostileSizesEndTheWalk(t *testing.T) {
	img := fatbin(fatbinEntry{0x11, []byte("12345678")}, fatbinEntry{fatbinEntryZstd, []byte("12345678")})
	binary.LittleEndian.PutUint64(img[16+8:], 1<<62) // the first entry claims a huge payload
	assert.False(t, fatbinCompressed(img))
	binary.LittleEndian.PutUint64(img[16+8:], 8)
	binary.LittleEndian.PutUint32(img[16+4:], 0) // a zero header size would loop forever
	assert.False(t, fatbinCompressed(img))
	assert.False(t, fatbinCompressed(img[:20]), "a cut header")
}
