package cuda

import (
	"bytes"
	"encoding/binary"
	"sync"
	"unsafe"

	"vgpu/shim"
)

// Module globals (__device__ and __constant__ variables) as the driver API addresses them:
// by module and name. NVIDIA's runtime resolves every variable a program registered this way
// when it loads the program's modules, so without it the runtime's initialisation fails.

// A global's device storage, per module and name: one allocation, made on first use.
type globalKey struct {
	module uintptr
	name   string
}

var (
	globalsMu sync.Mutex
	globals   = map[globalKey]*shim.Alloc{}
)

// unknownGlobalSize is the storage given a variable whose size the image does not show
// (a compressed or PTX image): a constant bank's 64 KiB. Copies past it are refused as out
// of bounds, like any copy past an allocation.
const unknownGlobalSize = 64 << 10

// ModuleGetGlobal is cuModuleGetGlobal_v2: the variable's device address and size. The
// storage is allocated on the first lookup and filled with the image's initialiser where the
// image is an uncompressed cubin (else zeros).
func ModuleGetGlobal(dptr, size unsafe.Pointer, h uintptr, name unsafe.Pointer) Result {
	d, r := ctxDevice()
	if r != Success {
		return r
	}
	m, ok := shim.Lookup[*shim.Module](shim.KindModule, h)
	if !ok {
		return ErrorInvalidHandle
	}
	n, ok := shim.GoString(name, 4096)
	if !ok || n == "" || (dptr == nil && size == nil) {
		return ErrorInvalidValue
	}
	globalsMu.Lock()
	defer globalsMu.Unlock()
	a := globals[globalKey{h, n}]
	if a != nil && shim.S().Mem.Exact(a.Base, shim.MemDevice) != a {
		a = nil // freed with its context (cuDevicePrimaryCtxReset)
	}
	if a == nil {
		var image []byte
		if m.Image != 0 && m.Size != 0 {
			image = shim.Bytes(m.Image, m.Size)
		}
		if !bytes.Contains(image, append([]byte(n), 0)) && !fatbinHasCompressed(image) {
			return ErrorNotFound
		}
		sz, init := globalInImage(image, n)
		if sz == 0 {
			sz = unknownGlobalSize
		}
		var st shim.Status
		if a, st = shim.AllocDevice(d, sz, shim.MemDevice); st != shim.OK {
			return From(st)
		}
		if len(init) > 0 {
			if st := shim.S().Backend.Copy(a.Base, uintptr(unsafe.Pointer(&init[0])), uint64(len(init)), shim.HostToDevice); st != shim.OK {
				return From(st)
			}
		}
		globals[globalKey{h, n}] = a
	}
	if dptr != nil {
		shim.PutU64(dptr, uint64(a.Base))
	}
	if size != nil {
		shim.PutU64(size, uint64(a.Size))
	}
	return Success
}

// GlobalInImage is a variable's size and initialiser as the image shows them: size 0 when
// the image does not say (a compressed or PTX image); found is false when the image cannot
// hold the name at all.
func GlobalInImage(image []byte, name string) (size uint64, init []byte, found bool) {
	if !bytes.Contains(image, append([]byte(name), 0)) && !fatbinHasCompressed(image) {
		return 0, nil, false
	}
	size, init = globalInImage(image, name)
	return size, init, true
}

// UnknownGlobalSize is the storage given a variable whose size the image does not show.
const UnknownGlobalSize = unknownGlobalSize

// Fat binary layout (facts of the format nvcc emits): a 16-byte header (magic, version,
// header size, body size), then entries, each a header (kind, version, header size, payload
// size, ..., flags at 0x28) and its payload. Kind 2 is a cubin.
const (
	fatbinMagic      = 0xba55ed50
	fatbinKindELF    = 2
	fatbinCompressed = 0x2000 | 0x8000 // LZ4, Zstandard
)

// fatbinEntries calls f with each entry's kind, flags and payload, until f returns true.
func fatbinEntries(image []byte, f func(kind uint16, flags uint64, payload []byte) bool) {
	le := binary.LittleEndian
	if len(image) < 16 || le.Uint32(image) != fatbinMagic {
		return
	}
	off, end := uint64(le.Uint16(image[6:])), uint64(le.Uint16(image[6:]))+le.Uint64(image[8:])
	end = min(end, uint64(len(image)))
	for off+0x30 <= end {
		e := image[off:]
		hs, ps := uint64(le.Uint32(e[4:])), le.Uint64(e[8:])
		if hs < 0x30 || hs > end-off || ps > end-off-hs { // no sum of the client's sizes, which could wrap
			return
		}
		if f(le.Uint16(e), le.Uint64(e[0x28:]), image[off+hs:off+hs+ps]) {
			return
		}
		off += hs + ps
	}
}

func fatbinHasCompressed(image []byte) (yes bool) {
	fatbinEntries(image, func(_ uint16, flags uint64, _ []byte) bool {
		yes = flags&fatbinCompressed != 0
		return yes
	})
	return
}

// globalInImage finds a variable in a cubin, or in a fat binary's uncompressed cubins: its
// size from the symbol table, and its initialiser (nil for a zero-filled section).
func globalInImage(image []byte, name string) (size uint64, init []byte) {
	if len(image) >= 4 && string(image[:4]) == "\x7fELF" {
		return elfSymbol(image, name)
	}
	fatbinEntries(image, func(kind uint16, flags uint64, p []byte) bool {
		if kind == fatbinKindELF && flags&fatbinCompressed == 0 {
			size, init = elfSymbol(p, name)
		}
		return size != 0
	})
	return
}

// elfSymbol reads a 64-bit little-endian ELF's symbol table for name.
func elfSymbol(elf []byte, name string) (uint64, []byte) {
	le := binary.LittleEndian
	if len(elf) < 64 || string(elf[:4]) != "\x7fELF" || elf[4] != 2 || elf[5] != 1 {
		return 0, nil
	}
	shoff, shsize, shnum := le.Uint64(elf[0x28:]), uint64(le.Uint16(elf[0x3a:])), uint64(le.Uint16(elf[0x3c:]))
	if shsize < 64 || shoff > uint64(len(elf)) || shsize*shnum > uint64(len(elf))-shoff { // shoff+...: could wrap
		return 0, nil
	}
	sec := func(i uint64) []byte { return elf[shoff+i*shsize : shoff+(i+1)*shsize] }
	data := func(s []byte) []byte {
		off, sz := le.Uint64(s[0x18:]), le.Uint64(s[0x20:])
		if le.Uint32(s[4:]) == 8 || off+sz > uint64(len(elf)) || off+sz < off { // SHT_NOBITS, or out of range
			return nil
		}
		return elf[off : off+sz]
	}
	for i := uint64(0); i < shnum; i++ {
		s := sec(i)
		if le.Uint32(s[4:]) != 2 || uint64(le.Uint32(s[0x28:])) >= shnum { // SHT_SYMTAB, and its string table
			continue
		}
		syms, strs := data(s), data(sec(uint64(le.Uint32(s[0x28:]))))
		for j := 0; j+24 <= len(syms); j += 24 {
			y := syms[j:]
			no := uint64(le.Uint32(y))
			if no >= uint64(len(strs)) {
				continue
			}
			nm := strs[no:]
			if k := bytes.IndexByte(nm, 0); k < 0 || string(nm[:k]) != name {
				continue
			}
			size, value, shndx := le.Uint64(y[16:]), le.Uint64(y[8:]), uint64(le.Uint16(y[6:]))
			if size == 0 {
				return 0, nil
			}
			if shndx < shnum {
				if d := data(sec(shndx)); value+size <= uint64(len(d)) && value+size > value {
					return size, d[value : value+size]
				}
			}
			return size, nil
		}
	}
	return 0, nil
}
