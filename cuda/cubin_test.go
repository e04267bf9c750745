package cuda

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"

	"vgpu/shim"
)

// kernelCubin builds an ELF64 with named sections, as nvcc names a cubin's: .text.NAME per
// kernel, and for each kernel given parameters, .nv.info.NAME with one KPARAM_INFO record per
// parameter (format 4, attribute 0x17, 12 bytes: index, ordinal, offset, size << 18).
func kernelCubin(kernels map[string][]shim.ParamInfo, order []string) []byte {
	le := binary.LittleEndian
	type sec struct {
		name string
		data []byte
	}
	secs := []sec{{".shstrtab", nil}}
	for _, k := range order {
		secs = append(secs, sec{".text." + k, make([]byte, 16)})
		if ps := kernels[k]; ps != nil {
			var info []byte
			for i := len(ps) - 1; i >= 0; i-- { // records in any order: ordinals place them
				r := []byte{4, 0x17, 12, 0}
				r = le.AppendUint32(r, 0)
				r = le.AppendUint16(r, uint16(i))
				r = le.AppendUint16(r, uint16(ps[i].Offset))
				r = le.AppendUint32(r, ps[i].Size<<18)
				info = append(info, r...)
			}
			info = append([]byte{1, 0x0a, 0, 0}, info...) // a record without a value first
			secs = append(secs, sec{".nv.info." + k, info})
		}
	}
	shstr := []byte{0}
	names := make([]int, len(secs))
	for i, s := range secs {
		names[i] = len(shstr)
		shstr = append(append(shstr, s.name...), 0)
	}
	secs[0].data = shstr
	var body bytes.Buffer
	body.Write(make([]byte, 64))
	offs := make([]int, len(secs))
	for i, s := range secs {
		offs[i] = body.Len()
		body.Write(s.data)
	}
	shoff := body.Len()
	body.Write(make([]byte, 64)) // section 0
	for i, s := range secs {
		h := make([]byte, 64)
		le.PutUint32(h, uint32(names[i]))
		le.PutUint32(h[4:], 1)
		le.PutUint64(h[0x18:], uint64(offs[i]))
		le.PutUint64(h[0x20:], uint64(len(s.data)))
		body.Write(h)
	}
	elf := body.Bytes()
	copy(elf, "\x7fELF\x02\x01")
	le.PutUint64(elf[0x28:], uint64(shoff))
	le.PutUint16(elf[0x3a:], 64)
	le.PutUint16(elf[0x3c:], uint16(len(secs)+1))
	le.PutUint16(elf[0x3e:], 1)
	return elf
}

func TestCubinKernelsAreItsTextSections(t *testing.T) {
	lockThread(t)
	elf := kernelCubin(nil, []string{"_Z1av", "_Z1bi"})
	assert.Equal(t, []string{"_Z1av", "_Z1bi"}, kernelNames(elf))
	assert.Equal(t, []string{"_Z1av", "_Z1bi"}, kernelNames(testFatbin(elf, 0)), "inside a fat binary")
	assert.Empty(t, kernelNames(testFatbin(elf, fatbinCompressed)), "a compressed entry cannot be read")
	assert.Empty(t, kernelNames([]byte("not an image")))
}

func TestCubinParameterTableIsByOrdinal(t *testing.T) {
	lockThread(t)
	ps := []shim.ParamInfo{{Offset: 0, Size: 8}, {Offset: 8, Size: 4}, {Offset: 16, Size: 512}}
	elf := kernelCubin(map[string][]shim.ParamInfo{"_Z1kPvi": ps, "_Z1nv": {}}, []string{"_Z1kPvi", "_Z1nv", "_Z1x"})
	assert.Equal(t, ps, paramTable(elf, "_Z1kPvi"))
	assert.Empty(t, paramTable(elf, "_Z1nv"), "a kernel without parameters")
	assert.Nil(t, paramTable(elf, "_Z1x"), "no table for the kernel")
	assert.Nil(t, paramTable(elf, "_Z1k"), "a name that only prefixes another")
}

func TestCubinWithHostileSectionTableIsIgnored(t *testing.T) {
	lockThread(t)
	elf := kernelCubin(nil, []string{"_Z1av"})
	binary.LittleEndian.PutUint64(elf[0x28:], 1<<62) // section headers past the end
	assert.Empty(t, kernelNames(elf))
	elf = kernelCubin(nil, []string{"_Z1av"})
	binary.LittleEndian.PutUint16(elf[0x3c:], 0xffff) // more sections than the image holds
	assert.Empty(t, kernelNames(elf))
}
