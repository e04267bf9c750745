package shim

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"io"
	"slices"
	"strings"
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
	// maxInflated bounds what one compressed entry may claim to inflate to.
	maxInflated = 1 << 28
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
// sections.
func cubinKernels(image []byte) ([]string, bool) {
	if len(image) < 64 {
		return nil, false
	}
	f, err := elf.NewFile(cubinReader{image})
	if err != nil {
		return nil, false
	}
	var out []string
	syms, _ := f.Symbols()
	funcs := false
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC {
			continue
		}
		funcs = true
		if s.Other&stoCudaEntry != 0 && s.Name != "" && !slices.Contains(out, s.Name) {
			out = append(out, s.Name)
		}
	}
	if funcs {
		return out, true
	}
	for _, s := range f.Sections {
		if n, ok := strings.CutPrefix(s.Name, ".text."); ok && n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, true
}

// cubinReader reads a cubin as debug/elf expects an ELF file: nvcc stores the CUDA version
// in the header's e_version (EV_CURRENT in any other ELF), which debug/elf refuses.
type cubinReader struct{ b []byte }

func (r cubinReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= int64(len(r.b)) {
		return 0, io.EOF
	}
	n := copy(p, r.b[off:])
	for i := range n { // the 4 bytes of e_version read as 1
		if at := off + int64(i); at >= 0x14 && at < 0x18 {
			p[i] = 0
			if at == 0x14 {
				p[i] = 1
			}
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// ptxKernels reads PTX text's .entry directives.
func ptxKernels(text []byte) []string {
	var out []string
	for rest := text; ; {
		i := bytes.Index(rest, []byte(".entry"))
		if i < 0 {
			return out
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
		if n := string(rest[:end]); n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
}

// fatbinKernels reads a fat binary's entries: the kernels of its cubins, or where it holds
// no cubin (PTX only, for the driver to compile), its PTX's entries.
func fatbinKernels(image []byte) ([]string, bool) {
	var cubin, ptx []string
	haveCubin, havePTX, known := false, false, true
	FatbinPayloads(image, func(kind uint16, p []byte, ok bool) {
		if !ok {
			known = false
			return
		}
		var names []string
		switch kind {
		case fatbinKindCubin:
			n, k := cubinKernels(p)
			if !k {
				known = false
				return
			}
			haveCubin, names = true, n
			for _, n := range names {
				if !slices.Contains(cubin, n) {
					cubin = append(cubin, n)
				}
			}
		case fatbinKindPTX:
			havePTX = true
			for _, n := range ptxKernels(p) {
				if !slices.Contains(ptx, n) {
					ptx = append(ptx, n)
				}
			}
		}
	})
	if !known || !haveCubin && !havePTX {
		return nil, false // a fat binary with nothing vgpu can read says nothing about a name
	}
	if haveCubin {
		return cubin, true
	}
	return ptx, true
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
	if csize == 0 || csize > uint64(len(p)) || usize == 0 || usize > maxInflated {
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
	out, err := io.ReadAll(io.LimitReader(r, int64(n)+1))
	if err != nil || uint64(len(out)) != n {
		return nil, false
	}
	return out, true
}
