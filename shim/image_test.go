package shim

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testSym is one symbol of a test cubin: a function (entry or device function, each with a
// .text.NAME section) or an object.
type testSym struct {
	name  string
	fn    bool
	entry bool
}

// testCubin lays out a cubin as nvcc does: e_version holding the CUDA version, a symbol
// table whose kernels are STT_FUNC symbols marked STO_CUDA_ENTRY, one .text.NAME per
// function, and extra bytes (a device string) in .nv.global.init.
func testCubin(syms []testSym, extra string) []byte {
	le := binary.LittleEndian
	type sec struct {
		name       string
		typ, link  uint32
		data       []byte
		entsize    uint64
		off, nameo uint64
	}
	strtab := []byte{0}
	symtab := make([]byte, 24)
	secs := []sec{{}, {name: ".shstrtab", typ: 3}, {name: ".strtab", typ: 3}, {name: ".symtab", typ: 2, link: 2, entsize: 24}, {name: ".nv.global.init", typ: 1, data: []byte(extra)}}
	for _, s := range syms {
		e := make([]byte, 24)
		le.PutUint32(e, uint32(len(strtab)))
		strtab = append(append(strtab, s.name...), 0)
		e[4] = 0x11 // STB_GLOBAL, STT_OBJECT
		le.PutUint16(e[6:], 4)
		if s.fn {
			e[4] = 0x12 // STB_GLOBAL, STT_FUNC
			if s.entry {
				e[5] = stoCudaEntry
			}
			le.PutUint16(e[6:], uint16(len(secs)))
			secs = append(secs, sec{name: ".text." + s.name, typ: 1, data: make([]byte, 16)})
		}
		symtab = append(symtab, e...)
	}
	secs[2].data, secs[3].data = strtab, symtab
	shstr := []byte{0}
	for i := 1; i < len(secs); i++ {
		secs[i].nameo = uint64(len(shstr))
		shstr = append(append(shstr, secs[i].name...), 0)
	}
	secs[1].data = shstr
	img := make([]byte, 64)
	for i := 1; i < len(secs); i++ {
		secs[i].off = uint64(len(img))
		img = append(img, secs[i].data...)
		for len(img)%8 != 0 {
			img = append(img, 0)
		}
	}
	shoff := uint64(len(img))
	for _, s := range secs {
		h := make([]byte, 64)
		le.PutUint32(h, uint32(s.nameo))
		le.PutUint32(h[4:], s.typ)
		le.PutUint64(h[0x18:], s.off)
		le.PutUint64(h[0x20:], uint64(len(s.data)))
		le.PutUint32(h[0x28:], s.link)
		if s.typ == 2 {
			le.PutUint32(h[0x2c:], 1)
		}
		le.PutUint64(h[0x38:], s.entsize)
		img = append(img, h...)
	}
	copy(img, "\x7fELF\x02\x01\x01\x33")
	le.PutUint16(img[0x10:], 2)
	le.PutUint16(img[0x12:], 190)
	le.PutUint32(img[0x14:], 0x7c) // the CUDA version, where other ELF files say EV_CURRENT
	le.PutUint64(img[0x28:], shoff)
	le.PutUint16(img[0x34:], 64)
	le.PutUint16(img[0x3a:], 64)
	le.PutUint16(img[0x3c:], uint16(len(secs)))
	le.PutUint16(img[0x3e:], 1)
	return img
}

// libraryCubin is tests/programs/library_kernels.cu's shape: two kernels, a device function
// and the device string "nope".
func libraryCubin() []byte {
	return testCubin([]testSym{{"scale", true, true}, {"_Z6helperf", true, false}, {"count", true, true}, {"msg", false, false}}, "nope\x00")
}

// testEntry is one fat binary entry: kind, flags, stored bytes and inflated size.
type testEntry struct {
	kind     uint16
	flags    uint64
	payload  []byte
	inflated int
}

func testFatbin(entries ...testEntry) []byte {
	le := binary.LittleEndian
	var body []byte
	for _, e := range entries {
		h := make([]byte, 64)
		le.PutUint16(h, e.kind)
		le.PutUint32(h[4:], 64)
		p := append([]byte(nil), e.payload...)
		for len(p)%8 != 0 {
			p = append(p, 0) // nvcc pads a payload past its stored length
		}
		le.PutUint64(h[8:], uint64(len(p)))
		le.PutUint32(h[0x10:], uint32(len(e.payload)))
		le.PutUint64(h[0x28:], 0x11|e.flags)
		le.PutUint64(h[0x38:], uint64(e.inflated))
		body = append(append(body, h...), p...)
	}
	out := le.AppendUint32(nil, fatbinMagic)
	out = le.AppendUint16(out, 1)
	out = le.AppendUint16(out, 16)
	out = le.AppendUint64(out, uint64(len(body)))
	return append(out, body...)
}

// lz4Literals is one LZ4 block holding b as literals (its only, last, sequence).
func lz4Literals(b []byte) []byte {
	out := []byte{0xf0}
	n := len(b) - 15
	for ; n >= 255; n -= 255 {
		out = append(out, 255)
	}
	return append(append(out, byte(n)), b...)
}

// zstdRaw is a Zstandard frame of raw blocks of at most chunk bytes.
func zstdRaw(b []byte, chunk int) []byte {
	out := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x30} // magic; no content size; a 64 KiB window
	for len(b) > 0 {
		n := min(chunk, len(b))
		h := uint32(n) << 3
		if n == len(b) {
			h |= 1 // the last block
		}
		out = append(out, byte(h), byte(h>>8), byte(h>>16))
		out = append(out, b[:n]...)
		b = b[n:]
	}
	return out
}

func TestImageKernels_ACubinsKernelsAreItsEntrySymbolsNotItsStringsOrDeviceFunctions(t *testing.T) {
	names, known := ImageKernels(libraryCubin())
	assert.True(t, known)
	assert.Equal(t, []string{"scale", "count"}, names)
}

func TestImageKernels_AFatBinarysCubinsAreReadPlainLZ4OrZstd(t *testing.T) {
	c := libraryCubin()
	for what, img := range map[string][]byte{
		"plain": testFatbin(testEntry{2, 0, c, len(c)}),
		"LZ4":   testFatbin(testEntry{2, fatbinEntryLZ4, lz4Literals(c), len(c)}),
		"zstd":  testFatbin(testEntry{2, fatbinEntryZstd, zstdRaw(c, 100), len(c)}),
	} {
		names, known := ImageKernels(img)
		assert.True(t, known, what)
		assert.Equal(t, []string{"scale", "count"}, names, what)
	}
}

func TestImageKernels_PTXKernelsAreItsEntryDirectives(t *testing.T) {
	ptx := ".version 8.4\n.target sm_90\n// nope\n.func (.param .b32 r) _Z6helperf(.param .b32 x)\n{ ret; }\n" +
		".visible .entry scale(\n.param .u64 p\n)\n{ ret; }\n.entry\tcount(){ ret; }\n.entryish x\n"
	names, known := ImageKernels([]byte(ptx))
	assert.True(t, known)
	assert.Equal(t, []string{"scale", "count"}, names)
	// A fat binary of PTX alone (for the driver to compile) answers with its PTX's entries.
	names, known = ImageKernels(testFatbin(testEntry{1, fatbinEntryLZ4, lz4Literals([]byte(ptx)), len(ptx)}))
	assert.True(t, known)
	assert.Equal(t, []string{"scale", "count"}, names)
}

func TestImageKernels_AnUnreadableImageIsUnknownAndAnswersByItsStrings(t *testing.T) {
	c := libraryCubin()
	bad := testFatbin(testEntry{2, fatbinEntryZstd, []byte("\x28\xb5\x2f\xfd garbage"), len(c)})
	_, known := ImageKernels(bad)
	assert.False(t, known, "a zstd entry that does not decode")
	_, known = ImageKernels([]byte("not an image at all"))
	assert.False(t, known)
	m := &Module{image: append(bad, "\x00kern_x\x00"...)}
	assert.True(t, m.Defines("kern_x"), "an unreadable image cannot disprove a name")
	m = &Module{image: c}
	assert.False(t, m.Defines("nope"))
	assert.False(t, m.Defines("_Z6helperf"))
	assert.True(t, m.Defines("count"))
	assert.False(t, m.Defines(""))
}

func TestUnlz4_MatchesCopyOverlappingBytesAndHostileBlocksFail(t *testing.T) {
	// "ab", then a match of 6 at distance 2 (overlapping what it copies), then literals "c".
	block := []byte{0x22, 'a', 'b', 2, 0, 0x10, 'c'}
	out, ok := unlz4(block, 9)
	assert.True(t, ok)
	assert.Equal(t, "abababab"[:8]+"c", string(out))
	_, ok = unlz4(block, 10)
	assert.False(t, ok, "a block shorter than its entry says")
	_, ok = unlz4([]byte{0x20, 'a', 'b', 0, 0, 0x10, 'c'}, 9)
	assert.False(t, ok, "a zero distance")
	_, ok = unlz4([]byte{0x20, 'a', 'b', 9, 0, 0x10, 'c'}, 9)
	assert.False(t, ok, "a distance before the start")
	_, ok = unlz4([]byte{0xf0, 255, 255}, 1000)
	assert.False(t, ok, "a length running off the block")
}

func TestFatbinPayloads_HostileSizesEndTheWalk(t *testing.T) {
	c := libraryCubin()
	img := testFatbin(testEntry{2, 0, c, len(c)})
	for _, mutate := range []func([]byte){
		func(b []byte) { binary.LittleEndian.PutUint64(b[8:], 1<<63) },        // the container's size
		func(b []byte) { binary.LittleEndian.PutUint32(b[16+4:], 0) },         // an entry header of no size
		func(b []byte) { binary.LittleEndian.PutUint64(b[16+8:], 1<<62) },     // an entry's payload size
		func(b []byte) { binary.LittleEndian.PutUint64(b[16+0x28:], 0x8011) }, // called compressed ...
		func(b []byte) { binary.LittleEndian.PutUint64(b[16+0x38:], 1<<40) },  // ... inflating to 1 TiB
		func(b []byte) { binary.LittleEndian.PutUint32(b[16+0x10:], 1<<31) },  // a stored length past the payload
		func(b []byte) { binary.LittleEndian.PutUint64(b[80+0x28:], 1<<62) },  // the cubin's section table
	} {
		b := append([]byte(nil), img...)
		mutate(b)
		require.NotPanics(t, func() { ImageKernels(b) })
	}
	require.NotPanics(t, func() { ImageKernels(img[:40]) })
}

func TestImageKernels_AFatBinaryWithNoReadableEntryIsUnknown(t *testing.T) {
	// A container header around a bare name table, as tests register for the runtime.
	img := binary.LittleEndian.AppendUint32(nil, fatbinMagic)
	img = binary.LittleEndian.AppendUint16(img, 1)
	img = binary.LittleEndian.AppendUint16(img, 16)
	img = binary.LittleEndian.AppendUint64(img, 48)
	img = append(img, "_Z5kstubv\x00dev_var\x00"...)
	img = append(img, make([]byte, 30)...)
	_, known := ImageKernels(img)
	assert.False(t, known)
	assert.True(t, (&Module{image: img}).Defines("_Z5kstubv"), "answered by its strings")
	_, known = ImageKernels(testFatbin())
	assert.False(t, known, "no entries at all")
}
