package cuda

import (
	"bytes"
	"encoding/binary"
	"strings"

	"vgpu/shim"
)

// What a cubin says about its kernels, read from its ELF sections (facts of the layout nvcc
// emits): each kernel's code is a section .text.NAME, and its parameter table sits in
// .nv.info.NAME as EIATTR_KPARAM_INFO records. A compressed fat binary entry cannot be read
// here; its kernels are found by name as the program asks for them.

// elfSections calls f with each named section's name and bytes of a 64-bit little-endian ELF.
func elfSections(elf []byte, f func(name string, data []byte)) {
	le := binary.LittleEndian
	if len(elf) < 64 || string(elf[:4]) != "\x7fELF" || elf[4] != 2 || elf[5] != 1 {
		return
	}
	shoff, shsize, shnum := le.Uint64(elf[0x28:]), uint64(le.Uint16(elf[0x3a:])), uint64(le.Uint16(elf[0x3c:]))
	shstr := uint64(le.Uint16(elf[0x3e:]))
	if shsize < 64 || shnum > 1<<16 || shoff > uint64(len(elf)) || shsize*shnum > uint64(len(elf))-shoff || shstr >= shnum {
		return
	}
	sec := func(i uint64) []byte { return elf[shoff+i*shsize : shoff+(i+1)*shsize] }
	data := func(s []byte) []byte {
		off, sz := le.Uint64(s[0x18:]), le.Uint64(s[0x20:])
		if le.Uint32(s[4:]) == 8 || off > uint64(len(elf)) || sz > uint64(len(elf))-off { // SHT_NOBITS, or out of range
			return nil
		}
		return elf[off : off+sz]
	}
	names := data(sec(shstr))
	for i := uint64(1); i < shnum; i++ {
		s := sec(i)
		no := uint64(le.Uint32(s))
		if no >= uint64(len(names)) {
			continue
		}
		n := names[no:]
		if k := bytes.IndexByte(n, 0); k >= 0 {
			f(string(n[:k]), data(s))
		}
	}
}

// cubins calls f with each uncompressed cubin of an image: the image itself, or a fat
// binary's ELF entries.
func cubins(image []byte, f func(elf []byte)) {
	if len(image) >= 4 && string(image[:4]) == "\x7fELF" {
		f(image)
		return
	}
	fatbinEntries(image, func(kind uint16, flags uint64, p []byte) bool {
		if kind == fatbinKindELF && flags&fatbinCompressed == 0 {
			f(p)
		}
		return false
	})
}

// kernelNames lists the kernels an image's cubins hold, each once.
func kernelNames(image []byte) []string {
	var out []string
	seen := map[string]bool{}
	cubins(image, func(elf []byte) {
		elfSections(elf, func(name string, _ []byte) {
			if k, ok := strings.CutPrefix(name, ".text."); ok && k != "" && !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		})
	})
	return out
}

// EIATTR record formats and the attribute that describes one kernel parameter.
const (
	eifmtSval        = 4 // a u16 byte count, then that many bytes
	eiattrKparamInfo = 0x17
)

// paramTable reads kernel name's parameter layout from the first cubin of image that has
// its .nv.info.NAME section: per parameter (by ordinal), its offset and size in bytes.
func paramTable(image []byte, name string) []shim.ParamInfo {
	var out []shim.ParamInfo
	cubins(image, func(elf []byte) {
		if out != nil {
			return
		}
		elfSections(elf, func(sec string, d []byte) {
			if sec != ".nv.info."+name || out != nil {
				return
			}
			le := binary.LittleEndian
			byOrdinal := map[uint16]shim.ParamInfo{}
			for off := 0; off+4 <= len(d); {
				fmt, attr, v := d[off], d[off+1], int(le.Uint16(d[off+2:]))
				off += 4
				if fmt != eifmtSval {
					continue
				}
				if v > len(d)-off {
					return
				}
				if attr == eiattrKparamInfo && v >= 12 {
					p := d[off:]
					ordinal, offset := le.Uint16(p[4:]), le.Uint16(p[6:])
					size := le.Uint32(p[8:]) >> 18 // bits 18-31 of the record's last word
					byOrdinal[ordinal] = shim.ParamInfo{Offset: uint32(offset), Size: size}
				}
				off += v
			}
			out = make([]shim.ParamInfo, 0, len(byOrdinal))
			for i := 0; i < len(byOrdinal); i++ {
				p, ok := byOrdinal[uint16(i)]
				if !ok {
					out = nil
					return
				}
				out = append(out, p)
			}
		})
	})
	return out
}
