package shim

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// allocated is the bytes f allocates on the heap.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// lz4Run is one LZ4 block of n bytes of 'a': a literal, then one match at distance 1.
func lz4Run(n int) []byte {
	out := []byte{0x1f, 'a', 1, 0}
	ml := n - 1 - 4 - 15
	for ; ml >= 255; ml -= 255 {
		out = append(out, 255)
	}
	return append(out, byte(ml))
}

// zstdRLE is a Zstandard frame of RLE blocks (one byte repeated, 64 KiB per 4-byte block)
// holding n bytes of 'a'.
func zstdRLE(n int) []byte {
	out := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x30} // no content size; a 64 KiB window
	for n > 0 {
		k := min(n, 64<<10)
		n -= k
		h := uint32(k)<<3 | 1<<1 // an RLE block
		if n == 0 {
			h |= 1
		}
		out = append(out, byte(h), byte(h>>8), byte(h>>16), 'a')
	}
	return out
}

func TestEntryPayload_AnEntryInflatesToAtMostItsRatioTimesItsCompressedLength(t *testing.T) {
	for what, mk := range map[string]func(int) testEntry{
		"LZ4":  func(n int) testEntry { return testEntry{2, fatbinEntryLZ4, lz4Run(n), n} },
		"zstd": func(n int) testEntry { return testEntry{2, fatbinEntryZstd, zstdRLE(n), n} },
	} {
		within := mk(100 * len(mk(4096).payload)) // well within the ratio: decoded
		var got []byte
		FatbinPayloads(testFatbin(within), func(_ uint16, p []byte, ok bool) {
			assert.True(t, ok, what)
			got = p
		})
		assert.Equal(t, strings.Repeat("a", within.inflated), string(got), what)

	}
	// LZ4 cannot pass the ratio (about 255:1 at most); zstd's RLE blocks reach 16384:1.
	bomb := testEntry{2, fatbinEntryZstd, zstdRLE(16 << 20), 16 << 20} // 16 MiB from 1 KiB
	require.Greater(t, bomb.inflated, maxInflateRatio*len(bomb.payload))
	img := testFatbin(bomb)
	n := allocated(func() {
		FatbinPayloads(img, func(_ uint16, _ []byte, ok bool) { assert.False(t, ok) })
	})
	assert.Less(t, n, uint64(1<<20), "refused before its output is allocated")
}

func TestEntryPayload_ATinyEntryClaimingAHugeSizeAllocatesNothingLikeIt(t *testing.T) {
	// 12 bytes that claim the whole 256 MiB an entry may inflate to.
	for _, flag := range []uint64{fatbinEntryLZ4, fatbinEntryZstd} {
		img := testFatbin(testEntry{2, flag, []byte("\x28\xb5\x2f\xfd\x00\x30\x01\x00\x00\x00\x00\x00"), maxInflated})
		n := allocated(func() { ImageKernels(img) })
		assert.Less(t, n, uint64(1<<20), "flag %#x", flag)
	}
}

func TestEntryPayload_AZstdFrameLongerThanItsEntrySaysIsUnreadable(t *testing.T) {
	_, ok := unzstd(zstdRLE(1000), 999)
	assert.False(t, ok)
	out, ok := unzstd(zstdRLE(1000), 1000)
	assert.True(t, ok)
	assert.Len(t, out, 1000)
	_, ok = unzstd(zstdRLE(1000), 1001)
	assert.False(t, ok, "shorter than it says")
}

// overlappingCubin is a cubin of n kernels whose symbols all name offsets into one long
// string of 'k's (each a suffix of the first): names the image repeats past its own size.
func overlappingCubin(n, long int) []byte {
	syms := []testSym{{strings.Repeat("k", long), true, true}}
	for i := 1; i < n; i++ {
		syms = append(syms, testSym{"x", true, true})
	}
	img := testCubin(syms, "")
	le := binary.LittleEndian
	shoff := le.Uint64(img[0x28:])
	symtab := le.Uint64(img[shoff+3*64+0x18:]) // testCubin's section 3
	for i := 2; i <= n; i++ {
		le.PutUint32(img[symtab+uint64(i)*24:], uint32(1+i%long)) // into the first name
	}
	return img
}

func TestCubinKernels_NamesOverlappingPastTheImagesSizeMakeItUnreadable(t *testing.T) {
	img := overlappingCubin(20000, 100000) // 2 GB of names from 1.5 MB
	start := time.Now()
	_, known := ImageKernels(img)
	assert.False(t, known)
	assert.Less(t, time.Since(start), 4*time.Second) // the quadratic reader took 6.7-12.6 s
	// Names that share their tails (a linker's tail merging) but fit in the image are read.
	names, known := ImageKernels(overlappingCubin(3, 10))
	assert.True(t, known)
	assert.Equal(t, []string{"kkkkkkkkkk", "kkkkkkkk", "kkkkkkk"}, names)
}

func TestCubinKernels_SectionNamesOverlappingPastTheImagesSizeMakeItUnreadable(t *testing.T) {
	// No function symbols: the kernels are read by .text.NAME sections, here all named
	// into one long section name.
	img := overlappingCubin(20000, 100000)
	le := binary.LittleEndian
	shoff := le.Uint64(img[0x28:])
	symtab := le.Uint64(img[shoff+3*64+0x18:])
	for i := 1; i <= 20000; i++ {
		img[symtab+uint64(i)*24+4] = 0x11 // STT_OBJECT
	}
	first := le.Uint32(img[shoff+5*64:]) // the long kernel's .text section
	for i := uint64(6); i < uint64(le.Uint16(img[0x3c:])); i++ {
		le.PutUint32(img[shoff+i*64:], first)
	}
	start := time.Now()
	_, known := ImageKernels(img)
	assert.False(t, known)
	assert.Less(t, time.Since(start), 4*time.Second) // the quadratic reader took 6.7-12.6 s
}

func TestImageKernels_ManyKernelsAreReadInLinearTime(t *testing.T) {
	const n = 100000
	var ptx strings.Builder
	ptx.WriteString(".version 8.4\n")
	for i := range n {
		fmt.Fprintf(&ptx, ".entry k%d()\n", i)
	}
	syms := make([]testSym, 0, 20000)
	for i := range cap(syms) {
		syms = append(syms, testSym{fmt.Sprintf("k%d", i), true, true})
	}
	c := testCubin(syms, "")
	p := []byte(ptx.String())
	start := time.Now()
	names, known := ImageKernels(p)
	assert.True(t, known)
	assert.Len(t, names, n)
	names, known = ImageKernels(testFatbin(testEntry{2, 0, c, len(c)}, testEntry{2, 0, c, len(c)}))
	assert.True(t, known)
	assert.Len(t, names, len(syms))
	assert.Less(t, time.Since(start), 4*time.Second) // the quadratic reader took 6.7-12.6 s
}

func TestCubinKernels_AHostileSectionTableIsUnreadableNotAPanic(t *testing.T) {
	c := libraryCubin()
	le := binary.LittleEndian
	for what, mutate := range map[string]func([]byte){
		"table past the end":     func(b []byte) { le.PutUint64(b[0x28:], uint64(len(b))-10) },
		"huge shoff":             func(b []byte) { le.PutUint64(b[0x28:], 1<<63) },
		"short entries":          func(b []byte) { le.PutUint16(b[0x3a:], 8) },
		"extended count too big": func(b []byte) { le.PutUint16(b[0x3c:], 0); le.PutUint64(b[le.Uint64(b[0x28:])+0x20:], 1<<40) },
		"strtab link past table": func(b []byte) { le.PutUint32(b[le.Uint64(b[0x28:])+3*64+0x28:], 1000) },
		"symtab past the end":    func(b []byte) { le.PutUint64(b[le.Uint64(b[0x28:])+3*64+0x20:], 1<<62) },
		"name offset past table": func(b []byte) { le.PutUint32(b[le.Uint64(b[le.Uint64(b[0x28:])+3*64+0x18:])+24:], 1<<31) },
		"32-bit class":           func(b []byte) { b[4] = 1 },
		"big-endian":             func(b []byte) { b[5] = 2 },
	} {
		b := append([]byte(nil), c...)
		mutate(b)
		require.NotPanics(t, func() { ImageKernels(b) }, what)
	}
}
