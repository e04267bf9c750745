package shim

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"io"
)

// Reading a module image the way the driver does, to answer which __global__ functions it
// defines: a cubin's symbol table, a fat binary's cubins (decompressed where nvcc compressed
// them), or PTX's .entry directives. Strings elsewhere in the image (a device string, a
// device function's name) are not kernels. Facts of the formats, as cuobjdump shows them.

// The CUDA symbol flag that marks a kernel entry in a cubin's symbol table (st_other), and
// the fat binary entry kinds.
const (
	stoCudaEntry    = 0x10
	fatbinKindPTX   = 1
	fatbinKindCubin = 2
	// What a compressed entry may claim to inflate to: at most maxInflateRatio times its
	// compressed length and at most maxInflated bytes, or it is unreadable. The output is
	// allocated before it is decoded, so without the ratio a few bytes claiming 256 MiB
	// would cost 256 MiB each; with it, an image buys at most 256 bytes of work and memory
	// per byte it holds. LZ4 cannot exceed about 255:1 (a length byte adds at most 255
	// bytes), and nvcc's compressed cubins and PTX inflate a few times over (cuBLAS's
	// entries to tens of MB). A zstd entry past the ratio (one mostly of zeros) only reads
	// as unknown, and its names are then taken on the program's word (Module.Defines).
	maxInflateRatio = 256
	maxInflated     = 1 << 28
)

// ImageKernels lists the kernels an image defines, each once, in image order. known is
// false when the image cannot be read (not a cubin, fat binary or PTX, or an entry that
// does not decompress): then nothing can be said about a name.
func ImageKernels(image []byte) (names []string, known bool) {
	switch {
	case len(image) >= 4 && string(image[:4]) == "\x7fELF":
		return cubinKernels(image)
	case len(image) >= 16 && binary.LittleEndian.Uint32(image) == fatbinMagic:
		return fatbinKernels(image)
	case bytes.Contains(image, []byte(".entry")) || bytes.Contains(image, []byte(".version")):
		return ptxKernels(image), true
	}
	return nil, false
}

// cubinKernels reads a cubin's symbol table: its STT_FUNC symbols marked as entries. A cubin
// whose symbol table has no functions (none that nvcc makes) is read by its .text.NAME
// sections. The ELF is read here rather than by debug/elf, whose name lookups copy each name
// and scan for its end anew: symbols or sections naming offsets into one long string would
// cost the square of the image. Here every name byte read is charged to a budget of the
// image's own size, so a table whose names overlap past that is unreadable (known false).
func cubinKernels(image []byte) ([]string, bool) {
	f, ok := readELF(image)
	if !ok {
		return nil, false
	}
	budget := len(image)
	var out names
	funcs := false
	if symtab, strtab, ok := f.symbols(); ok {
		for off := f.symSize; off+f.symSize <= len(symtab); off += f.symSize { // symbol 0 is null
			name, info, other := f.sym(symtab[off:])
			if elf.ST_TYPE(info) != elf.STT_FUNC {
				continue
			}
			funcs = true
			if other&stoCudaEntry == 0 {
				continue
			}
			n, ok := cstring(strtab, name, &budget)
			if !ok {
				return nil, false
			}
			out.add(n)
		}
	}
	if funcs {
		return out.list, true
	}
	shstr := f.data(f.shstrndx)
	for i := range f.shnum {
		at := f.section(i).name
		if at >= uint64(len(shstr)) || !bytes.HasPrefix(shstr[at:], []byte(".text.")) {
			continue
		}
		n, ok := cstring(shstr, at+uint64(len(".text.")), &budget)
		if !ok {
			return nil, false
		}
		out.add(n)
	}
	return out.list, true
}

// cstring reads the NUL-terminated string at off in tab, charging the bytes it scans to
// budget; false once the budget is spent. An offset outside tab, or a string with no NUL,
// names nothing ("").
func cstring(tab []byte, off uint64, budget *int) (string, bool) {
	if off >= uint64(len(tab)) {
		return "", true
	}
	scan := tab[off:]
	if len(scan) > *budget {
		scan = scan[:*budget+1] // one byte past what the budget pays for
	}
	end := bytes.IndexByte(scan, 0)
	if end < 0 {
		*budget -= len(scan)
		return "", *budget >= 0
	}
	*budget -= end + 1
	return string(scan[:end]), *budget >= 0
}

// elfFile is the layout of an ELF image, 32- or 64-bit, either byte order (nvcc's cubins
// are 64-bit little-endian; nvcc stores the CUDA version in e_version, which is not read).
type elfFile struct {
	b                []byte
	bo               binary.ByteOrder
	is64             bool
	shoff, shentsize uint64
	shnum, shstrndx  uint64
	symSize          int
}

type elfSection struct {
	name, typ, off, size, link uint64
}

// readELF reads an ELF header and checks that its section header table lies in the image.
func readELF(b []byte) (*elfFile, bool) {
	if len(b) < 52 || string(b[:4]) != "\x7fELF" {
		return nil, false
	}
	f := &elfFile{b: b}
	switch b[5] {
	case 1:
		f.bo = binary.LittleEndian
	case 2:
		f.bo = binary.BigEndian
	default:
		return nil, false
	}
	bo := f.bo
	var want uint64
	switch b[4] {
	case 1:
		f.shoff = uint64(bo.Uint32(b[0x20:]))
		f.shentsize, f.shnum, f.shstrndx = uint64(bo.Uint16(b[0x2e:])), uint64(bo.Uint16(b[0x30:])), uint64(bo.Uint16(b[0x32:]))
		want, f.symSize = 40, 16
	case 2:
		if len(b) < 64 {
			return nil, false
		}
		f.is64 = true
		f.shoff = bo.Uint64(b[0x28:])
		f.shentsize, f.shnum, f.shstrndx = uint64(bo.Uint16(b[0x3a:])), uint64(bo.Uint16(b[0x3c:])), uint64(bo.Uint16(b[0x3e:]))
		want, f.symSize = 64, 24
	default:
		return nil, false
	}
	if f.shoff == 0 {
		f.shnum = 0
		return f, true // no sections
	}
	if f.shentsize < want || f.shoff > uint64(len(b)) || (uint64(len(b))-f.shoff)/f.shentsize < 1 {
		return nil, false
	}
	if s0 := f.section(0); f.shnum == 0 || f.shstrndx == 0xffff { // extended numbering
		if f.shnum == 0 {
			f.shnum = s0.size
		}
		if f.shstrndx == 0xffff {
			f.shstrndx = s0.link
		}
	}
	if f.shnum > (uint64(len(b))-f.shoff)/f.shentsize {
		return nil, false
	}
	return f, true
}

// section reads section header i (i < shnum, or 0).
func (f *elfFile) section(i uint64) elfSection {
	h, bo := f.b[f.shoff+i*f.shentsize:], f.bo
	if f.is64 {
		return elfSection{uint64(bo.Uint32(h)), uint64(bo.Uint32(h[4:])), bo.Uint64(h[0x18:]), bo.Uint64(h[0x20:]), uint64(bo.Uint32(h[0x28:]))}
	}
	return elfSection{uint64(bo.Uint32(h)), uint64(bo.Uint32(h[4:])), uint64(bo.Uint32(h[0x10:])), uint64(bo.Uint32(h[0x14:])), uint64(bo.Uint32(h[0x18:]))}
}

// data is section i's bytes, or nil where i is no section or its bytes lie outside the image.
func (f *elfFile) data(i uint64) []byte {
	if i >= f.shnum {
		return nil
	}
	s := f.section(i)
	if s.typ == uint64(elf.SHT_NOBITS) || s.off > uint64(len(f.b)) || s.size > uint64(len(f.b))-s.off {
		return nil
	}
	return f.b[s.off : s.off+s.size]
}

// symbols finds the symbol table (the first SHT_SYMTAB section) and its string table.
func (f *elfFile) symbols() (symtab, strtab []byte, ok bool) {
	for i := range f.shnum {
		if s := f.section(i); s.typ == uint64(elf.SHT_SYMTAB) {
			symtab, strtab = f.data(i), f.data(s.link)
			return symtab, strtab, symtab != nil && strtab != nil
		}
	}
	return nil, nil, false
}

// sym reads a symbol's name offset, st_info and st_other.
func (f *elfFile) sym(e []byte) (name uint64, info, other byte) {
	if f.is64 {
		return uint64(f.bo.Uint32(e)), e[4], e[5]
	}
	return uint64(f.bo.Uint32(e)), e[12], e[13]
}

// ptxKernels reads PTX text's .entry directives.
func ptxKernels(text []byte) []string {
	var out names
	for rest := text; ; {
		i := bytes.Index(rest, []byte(".entry"))
		if i < 0 {
			return out.list
		}
		rest = rest[i+len(".entry"):]
		if len(rest) == 0 || (rest[0] != ' ' && rest[0] != '\t' && rest[0] != '\n' && rest[0] != '\r') {
			continue // .entry is a prefix of a longer word
		}
		rest = bytes.TrimLeft(rest, " \t\r\n")
		end := bytes.IndexFunc(rest, func(r rune) bool {
			return !(r == '_' || r == '$' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
		})
		if end < 0 {
			end = len(rest)
		}
		out.add(string(rest[:end]))
	}
}

// fatbinKernels reads a fat binary's entries: the kernels of its cubins, or where it holds
// no cubin (PTX only, for the driver to compile), its PTX's entries.
func fatbinKernels(image []byte) ([]string, bool) {
	var cubin, ptx names
	haveCubin, havePTX, known := false, false, true
	FatbinPayloads(image, func(kind uint16, p []byte, ok bool) {
		if !ok {
			known = false
			return
		}
		switch kind {
		case fatbinKindCubin:
			n, k := cubinKernels(p)
			if !k {
				known = false
				return
			}
			haveCubin = true
			for _, n := range n {
				cubin.add(n)
			}
		case fatbinKindPTX:
			havePTX = true
			for _, n := range ptxKernels(p) {
				ptx.add(n)
			}
		}
	})
	if !known || !haveCubin && !havePTX {
		return nil, false // a fat binary with nothing vgpu can read says nothing about a name
	}
	if haveCubin {
		return cubin.list, true
	}
	return ptx.list, true
}

// names is a list of distinct names in the order first added, "" never among them. A set
// beside the list keeps adding linear: an image may name hundreds of thousands of kernels.
type names struct {
	list []string
	seen map[string]bool
}

func (s *names) add(n string) {
	if n == "" || s.seen[n] {
		return
	}
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	s.seen[n] = true
	s.list = append(s.list, n)
}

// FatbinPayloads calls f with each entry of a fat binary (its containers one after another):
// its kind and its payload, decompressed; ok is false for an entry whose payload cannot be
// read, or once for a malformed entry header, which ends the walk. The walk is bounded by
// each header's own sizes, so a hostile image ends it.
func FatbinPayloads(image []byte, f func(kind uint16, payload []byte, ok bool)) {
	le := binary.LittleEndian
	for len(image) >= 16 && le.Uint32(image) == fatbinMagic {
		hs, body := uint64(le.Uint16(image[6:])), le.Uint64(image[8:])
		if hs < 16 || hs > uint64(len(image)) || body > uint64(len(image))-hs {
			return
		}
		entries := image[hs : hs+body]
		for off := uint64(0); off+0x40 <= uint64(len(entries)); {
			e := entries[off:]
			ehs, ps := uint64(le.Uint32(e[4:])), le.Uint64(e[8:])
			if ehs < 0x40 || ehs > uint64(len(e)) || ps > uint64(len(e))-ehs {
				f(0, nil, false) // a malformed entry: the rest cannot be read
				return
			}
			p, ok := entryPayload(e[:ehs], e[ehs:ehs+ps])
			f(le.Uint16(e), p, ok)
			off += ehs + ps
		}
		image = image[hs+body:]
		for len(image) >= 8 && le.Uint64(image) == 0 { // padding between containers
			image = image[8:]
		}
	}
}

// entryPayload undoes an entry's compression: the header holds the compressed length at
// 0x10 (the payload is padded past it) and the inflated length at 0x38.
func entryPayload(h, p []byte) ([]byte, bool) {
	le := binary.LittleEndian
	flags := le.Uint64(h[0x28:])
	if flags&(fatbinEntryLZ4|fatbinEntryZstd) == 0 {
		return p, true
	}
	csize, usize := uint64(le.Uint32(h[0x10:])), le.Uint64(h[0x38:])
	if csize == 0 || csize > uint64(len(p)) || usize == 0 || usize > maxInflated || usize > maxInflateRatio*csize {
		return nil, false
	}
	p = p[:csize]
	if flags&fatbinEntryZstd != 0 {
		return unzstd(p, usize)
	}
	return unlz4(p, usize)
}

// unlz4 decodes one LZ4 block (the format's sequences of literals and back-references)
// into exactly n bytes.
func unlz4(src []byte, n uint64) ([]byte, bool) {
	out := make([]byte, 0, n)
	length := func(i *int, v int) (int, bool) {
		if v != 15 {
			return v, true
		}
		for {
			if *i >= len(src) {
				return 0, false
			}
			b := int(src[*i])
			*i++
			v += b
			if v > int(n) {
				return 0, false
			}
			if b != 255 {
				return v, true
			}
		}
	}
	for i := 0; i < len(src); {
		tok := src[i]
		i++
		lit, ok := length(&i, int(tok>>4))
		if !ok || lit > len(src)-i || uint64(len(out)+lit) > n {
			return nil, false
		}
		out = append(out, src[i:i+lit]...)
		i += lit
		if i == len(src) || uint64(len(out)) == n { // the last sequence has literals only (nvcc pads after it)
			break
		}
		if i+2 > len(src) {
			return nil, false
		}
		dist := int(binary.LittleEndian.Uint16(src[i:]))
		i += 2
		ml, ok := length(&i, int(tok&15))
		ml += 4
		if !ok || dist == 0 || dist > len(out) || uint64(len(out)+ml) > n {
			return nil, false
		}
		for k := 0; k < ml; k++ { // byte by byte: a match may overlap what it copies
			out = append(out, out[len(out)-dist])
		}
	}
	return out, uint64(len(out)) == n
}

// unzstd decodes a Zstandard frame into exactly n bytes with the standard library's decoder,
// which Go exposes through debug/elf's compressed sections: the frame is wrapped as one
// SHF_COMPRESSED section of a minimal ELF file.
func unzstd(frame []byte, n uint64) ([]byte, bool) {
	le := binary.LittleEndian
	shstr := []byte("\x00.z\x00.shstrtab\x00")
	const ehsize, shsize = 64, 64
	dataOff := uint64(ehsize)
	chdr := make([]byte, 24)
	le.PutUint32(chdr[0:], uint32(elf.COMPRESS_ZSTD))
	le.PutUint64(chdr[8:], n)
	le.PutUint64(chdr[16:], 1)
	secLen := uint64(len(chdr) + len(frame))
	strOff := dataOff + secLen
	shoff := (strOff + uint64(len(shstr)) + 7) &^ 7
	img := make([]byte, shoff+3*shsize)
	copy(img, "\x7fELF\x02\x01\x01")
	le.PutUint16(img[0x10:], uint16(elf.ET_REL))
	le.PutUint16(img[0x12:], uint16(elf.EM_X86_64))
	le.PutUint32(img[0x14:], 1)
	le.PutUint64(img[0x28:], shoff)
	le.PutUint16(img[0x34:], ehsize)
	le.PutUint16(img[0x3a:], shsize)
	le.PutUint16(img[0x3c:], 3)
	le.PutUint16(img[0x3e:], 2)
	copy(img[dataOff:], chdr)
	copy(img[dataOff+24:], frame)
	copy(img[strOff:], shstr)
	sec := func(i int, name uint32, typ elf.SectionType, flags elf.SectionFlag, off, size uint64) {
		s := img[shoff+uint64(i)*shsize:]
		le.PutUint32(s[0:], name)
		le.PutUint32(s[4:], uint32(typ))
		le.PutUint64(s[8:], uint64(flags))
		le.PutUint64(s[0x18:], off)
		le.PutUint64(s[0x20:], size)
		le.PutUint64(s[0x30:], 1)
	}
	sec(1, 1, elf.SHT_PROGBITS, elf.SHF_COMPRESSED, dataOff, secLen)
	sec(2, 4, elf.SHT_STRTAB, 0, strOff, uint64(len(shstr)))
	f, err := elf.NewFile(bytes.NewReader(img))
	if err != nil {
		return nil, false
	}
	s := f.Section(".z")
	if s == nil {
		return nil, false
	}
	r := s.Open()
	out := make([]byte, n) // n is bounded by the caller (maxInflated, maxInflateRatio)
	if _, err := io.ReadFull(r, out); err != nil {
		return nil, false
	}
	if k, _ := r.Read(make([]byte, 1)); k != 0 {
		return nil, false // more than the entry says
	}
	return out, true
}
