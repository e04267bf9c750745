package shim

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sharedNameCubin is a cubin whose n kernel entries (and, with sections, n section headers)
// all name the same long string: each name costs the image 24 (or 64) bytes, and a reader
// that copies a name per symbol or per section allocates n times the string.
func sharedNameCubin(n, nameLen int, sections bool) []byte {
	img := testCubin([]testSym{{"k", true, true}}, "")
	le := binary.LittleEndian
	long := append(bytes.Repeat([]byte{'x'}, nameLen), 0)
	// The string table (section 2) and the symbol table (section 3) are rebuilt at the end of
	// the image, then the section headers after them.
	shoff := le.Uint64(img[0x28:])
	shnum := int(le.Uint16(img[0x3c:]))
	heads := append([]byte(nil), img[shoff:shoff+uint64(64*shnum)]...)
	body := img[:shoff]
	strOff := uint64(len(body))
	body = append(body, 0)
	body = append(body, long...)
	symOff := uint64(len(body))
	body = append(body, make([]byte, 24)...)
	for i := 0; i < n; i++ {
		e := make([]byte, 24)
		le.PutUint32(e, 1)
		e[4], e[5] = 0x12, stoCudaEntry
		le.PutUint16(e[6:], 5)
		body = append(body, e...)
	}
	le.PutUint64(heads[2*64+0x18:], strOff)
	le.PutUint64(heads[2*64+0x20:], symOff-strOff)
	le.PutUint64(heads[3*64+0x18:], symOff)
	le.PutUint64(heads[3*64+0x20:], uint64(len(body))-symOff)
	if sections {
		// The section name table (section 1) gets the long name too, and n more sections
		// are named by it.
		shstr := uint64(len(body))
		body = append(append(body, 0), long...)
		le.PutUint64(heads[1*64+0x18:], shstr)
		le.PutUint64(heads[1*64+0x20:], uint64(len(long)+1))
		for i := 0; i < n; i++ {
			h := make([]byte, 64)
			le.PutUint32(h, 1)
			le.PutUint32(h[4:], 8) // SHT_NOBITS
			heads = append(heads, h...)
		}
	}
	for len(body)%8 != 0 {
		body = append(body, 0)
	}
	le.PutUint64(body[0x28:], uint64(len(body)))
	le.PutUint16(body[0x3c:], uint16(len(heads)/64))
	return append(body, heads...)
}

// Reading the kernels of a client's image (which a server does for the sim backend's
// cuModuleGetFunction) costs memory in proportion to the image: names many symbols or
// sections share are not copied once each, so a small image cannot make the reader allocate
// gigabytes (in a server shared by tenants, one client's image would end every session).
func TestImageKernels_NamesSharedByManySymbolsOrSectionsCostNoMoreThanTheImage(t *testing.T) {
	for _, sections := range []bool{false, true} {
		img := sharedNameCubin(3000, 64<<10, sections)
		var names []string
		used := allocated(func() { names, _ = ImageKernels(img) })
		assert.Less(t, used, uint64(16*len(img)), "sections=%v: bytes allocated for a %d-byte image", sections, len(img))
		for _, n := range names {
			assert.LessOrEqual(t, len(n), 64<<10)
		}
	}
}

// Kernels are listed once each without comparing every name with every other: an image of
// many distinct names is read in time proportional to its size.
func TestImageKernels_ManyDistinctNamesAreReadInLinearTime(t *testing.T) {
	var ptx strings.Builder
	ptx.WriteString(".version 8.4\n")
	var syms []testSym
	for i := 0; i < 60000; i++ {
		fmt.Fprintf(&ptx, ".entry k%d(){}\n", i)
		if i < 20000 {
			syms = append(syms, testSym{fmt.Sprintf("k%d", i), true, true})
		}
	}
	for what, img := range map[string][]byte{"PTX": []byte(ptx.String()), "cubin": testCubin(syms, "")} {
		start := time.Now()
		names, known := ImageKernels(img)
		took := time.Since(start)
		require.True(t, known, what)
		assert.Equal(t, "k0", names[0], what)
		assert.Less(t, took, 4*time.Second, what)
	}
}

// A compressed entry's declared size is not taken on trust: an entry that claims to inflate
// to the cap costs no allocation of that size, and what all entries may inflate to is bounded
// by the image's size, so a few kilobytes of zstd cannot make the reader produce gigabytes.
func TestImageKernels_CompressedEntriesInflateInProportionToTheImage(t *testing.T) {
	// LZ4: entries of a few bytes claiming the per-entry cap each.
	var lies []testEntry
	for i := 0; i < 64; i++ {
		lies = append(lies, testEntry{2, fatbinEntryLZ4, []byte{0x10, 'a', 1, 0}, maxInflated})
	}
	img := testFatbin(lies...)
	used := allocated(func() { ImageKernels(img) })
	assert.Less(t, used, uint64(64<<20), "bytes allocated for %d bytes of lying LZ4 entries", len(img))

	// zstd: RLE blocks inflate 4 bytes to 128 KiB each; entries of 32 MiB of zeros each.
	rle := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58} // magic; no content size; an 8 MiB window
	const blocks = 256
	for i := 0; i < blocks; i++ {
		h := uint32(128<<10)<<3 | 1<<1 // an RLE block of 128 KiB
		if i == blocks-1 {
			h |= 1
		}
		rle = append(rle, byte(h), byte(h>>8), byte(h>>16), 0)
	}
	var bombs []testEntry
	for i := 0; i < 16; i++ {
		bombs = append(bombs, testEntry{2, fatbinEntryZstd, rle, blocks * 128 << 10})
	}
	img = testFatbin(bombs...)
	start := time.Now()
	used = allocated(func() { ImageKernels(img) })
	assert.Less(t, used, uint64(64<<20), "bytes allocated for %d bytes of zstd", len(img))
	assert.Less(t, time.Since(start), 2*time.Second)
}

// Any image, however malformed, is read without a panic and answers known or not.
