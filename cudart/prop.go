package cudart

import (
	"sync"
	"unsafe"

	"vgpu/shim"
)

// cudaDeviceProp sizes per ABI.
const (
	PropSize12 = 1032 // CUDA 12 cudaGetDeviceProperties_v2
	PropSize13 = 1008 // CUDA 13 cudaGetDeviceProperties
)

type propField struct {
	name         string
	off12, off13 int
	wide         bool  // size_t
	attrs        []int // attributes filling consecutive ints; nil: special
}

// offset is where f lives in the given major's layout, or -1.
func (f propField) offset(major int) int {
	if major == 12 {
		return f.off12
	}
	return f.off13
}

// size is how many bytes f occupies.
func (f propField) size() int {
	switch {
	case f.name == "name":
		return 256
	case f.name == "uuid":
		return 16
	case f.name == "luid":
		return 8
	case f.wide:
		return 8 * max(1, len(f.attrs))
	}
	return 4 * max(1, len(f.attrs))
}

// propSize is sizeof(cudaDeviceProp) for a CUDA major.
func propSize(major int) int {
	if major == 12 {
		return PropSize12
	}
	return PropSize13
}

// Offset returns where field lives in the given major's layout, or -1.
func Offset(major int, field string) int {
	for _, f := range propFields {
		if f.name == field {
			return f.offset(major)
		}
	}
	return -1
}

type propKey struct {
	d     *shim.Device
	major int
}

var (
	propMu    sync.RWMutex
	propCache = map[propKey][]byte{}
)

// Props renders d's cudaDeviceProp in the layout of the given CUDA major. Rendered once:
// a property query is then one copy (a plain map: a sync.Map key would allocate per call).
func Props(d *shim.Device, major int) []byte {
	key := propKey{d, major}
	propMu.RLock()
	b, ok := propCache[key]
	propMu.RUnlock()
	if ok {
		return b
	}
	b = make([]byte, propSize(major))
	for _, f := range propFields {
		off := f.offset(major)
		if off < 0 {
			continue
		}
		switch f.name {
		case "name":
			copy(b[off:off+255], d.Name)
		case "uuid":
			copy(b[off:], d.UUID[:])
		case "luid", "luidDeviceNodeMask":
		case "totalGlobalMem":
			shim.Le.PutUint64(b[off:], d.Total())
		default:
			for i, a := range f.attrs {
				if f.wide {
					shim.Le.PutUint64(b[off+8*i:], uint64(uint32(d.Attrs[a])))
				} else {
					shim.Le.PutUint32(b[off+4*i:], uint32(d.Attrs[a]))
				}
			}
		}
	}
	propMu.Lock()
	propCache[key] = b
	propMu.Unlock()
	return b
}

func getProps(prop unsafe.Pointer, dev int32, major int) Error {
	d, e := deviceAt(dev)
	if e != Success {
		return e
	}
	if prop == nil {
		return ErrorInvalidValue
	}
	src := Props(d, major)
	copy(shim.View(prop, len(src)), src)
	shim.PublishProps(major, int(dev), src) // later queries are answered in C (shim/fast.c)
	return Success
}

// GetDeviceProperties12 is cudaGetDeviceProperties_v2@libcudart.so.12 (and the plain name there).
func GetDeviceProperties12(prop unsafe.Pointer, dev int32) Error { return getProps(prop, dev, 12) }

// GetDeviceProperties13 is cudaGetDeviceProperties@libcudart.so.13.
func GetDeviceProperties13(prop unsafe.Pointer, dev int32) Error { return getProps(prop, dev, 13) }
