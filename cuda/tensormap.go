package cuda

import (
	"encoding/binary"
	"fmt"
	"os"
	"sync"
	"unsafe"

	"vgpu/shim"
)

// Tensor maps (cuTensorMapEncodeTiled, cuTensorMapEncodeIm2col, cuTensorMapReplaceAddress):
// a 128-byte descriptor of a tensor in global memory that Hopper's TMA unit reads. It is a
// host-side object: the calls check the documented rules and write the descriptor, with no
// device work and nothing sent anywhere. The byte layout inside the opaque 128 bytes is the
// model's own and deterministic (the same arguments give the same bytes).

const tensorMapSize = 128

// tensorMapMark, in the last byte, says the descriptor was written by an encode call.
const tensorMapMark = 0x76

// Element sizes in bytes of CUtensorMapDataType 0..12 (UINT8 .. TFLOAT32_FTZ).
var tensorElemSize = [...]uint64{1, 2, 4, 4, 8, 8, 2, 4, 8, 2, 4, 4, 4}

// Float types take the NaN out-of-bounds fill: FLOAT16, FLOAT32, FLOAT64, BFLOAT16, FLOAT32_FTZ, TFLOAT32(_FTZ).
func tensorFloat(t int32) bool { return t >= 6 }

// Interleave (CUtensorMapInterleave) and swizzle (CUtensorMapSwizzle) values.
const (
	interleaveNone = 0
	interleave32B  = 2
	swizzleNone    = 0
	swizzle128B    = 3
)

// tensorCommon checks what both encodings share and returns the descriptor's common part.
func tensorCommon(tmap unsafe.Pointer, dtype int32, rank uint32, addr uintptr, dims, strides, estrides unsafe.Pointer,
	interleave, swizzle, l2, oob int32, minRank uint32) ([]byte, Result) {
	if r := codeReady(); r != Success {
		return nil, r
	}
	if tmap == nil || uintptr(tmap)%64 != 0 || dims == nil || estrides == nil {
		return nil, ErrorInvalidValue
	}
	if dtype < 0 || int(dtype) >= len(tensorElemSize) || rank < minRank || rank > 5 {
		return nil, ErrorInvalidValue
	}
	if interleave < interleaveNone || interleave > interleave32B || swizzle < swizzleNone || swizzle > swizzle128B ||
		l2 < 0 || l2 > 3 || oob < 0 || oob > 1 || (oob == 1 && !tensorFloat(dtype)) {
		return nil, ErrorInvalidValue
	}
	if interleave != interleaveNone && rank < 3 {
		return nil, ErrorInvalidValue
	}
	align := uintptr(16)
	if interleave == interleave32B {
		align = 32
	}
	if addr == 0 || addr%align != 0 {
		return nil, ErrorInvalidValue
	}
	if rank > 1 && strides == nil {
		return nil, ErrorInvalidValue
	}
	d := make([]byte, tensorMapSize)
	le := binary.LittleEndian
	le.PutUint64(d[0:], uint64(addr))
	es := tensorElemSize[dtype]
	for i := uintptr(0); i < uintptr(rank); i++ {
		dim := *(*uint64)(unsafe.Add(dims, 8*i))
		if dim == 0 || dim > 1<<32 {
			return nil, ErrorInvalidValue
		}
		le.PutUint64(d[8+8*i:], dim)
		e := *(*uint32)(unsafe.Add(estrides, 4*i))
		if e == 0 || e > 8 {
			return nil, ErrorInvalidValue
		}
		d[85+i] = byte(e)
		if i+1 < uintptr(rank) { // globalStrides has rank-1 entries: the bytes between rows of dimension i+1
			st := *(*uint64)(unsafe.Add(strides, 8*i))
			if st%uint64(align) != 0 || st >= 1<<40 || st < dim*es && i == 0 {
				return nil, ErrorInvalidValue
			}
			le.PutUint64(d[48+8*i:], st)
		}
	}
	d[90], d[91], d[92], d[93], d[94], d[95] = byte(dtype), byte(rank), byte(interleave), byte(swizzle), byte(l2), byte(oob)
	d[tensorMapSize-1] = tensorMapMark
	return d, Success
}

// swizzleSpan is the bytes one swizzle pattern spans: a box's inner dimension must fit it.
func swizzleSpan(swizzle int32) uint64 { return 16 << swizzle }

// TensorMapEncodeTiled is cuTensorMapEncodeTiled.
func TensorMapEncodeTiled(tmapp uintptr, dtype int32, rank uint32, addr uintptr, dimsp, stridesp, boxp, estridesp uintptr,
	interleave, swizzle, l2, oob int32) Result {
	tmap, dims, strides, box, estrides := unsafe.Pointer(tmapp), unsafe.Pointer(dimsp), unsafe.Pointer(stridesp), unsafe.Pointer(boxp), unsafe.Pointer(estridesp)
	d, r := tensorCommon(tmap, dtype, rank, addr, dims, strides, estrides, interleave, swizzle, l2, oob, 1)
	if r != Success {
		return r
	}
	if box == nil {
		return ErrorInvalidValue
	}
	for i := uintptr(0); i < uintptr(rank); i++ {
		b := *(*uint32)(unsafe.Add(box, 4*i))
		if b == 0 || b > 256 {
			return ErrorInvalidValue
		}
		d[80+i] = byte(b - 1)
	}
	if interleave == interleaveNone {
		inner := uint64(*(*uint32)(box)) * tensorElemSize[dtype]
		if inner%16 != 0 || (swizzle != swizzleNone && inner > swizzleSpan(swizzle)) {
			return ErrorInvalidValue
		}
	}
	copy(unsafe.Slice((*byte)(tmap), tensorMapSize), d)
	return Success
}

// TensorMapEncodeIm2col is cuTensorMapEncodeIm2col: rank 3 to 5, with rank-2 spatial corners
// whose range narrows as the rank grows.
func TensorMapEncodeIm2col(tmapp uintptr, dtype int32, rank uint32, addr uintptr, dimsp, stridesp, lowerp, upperp uintptr,
	channels, pixels uint32, estridesp uintptr, interleave, swizzle, l2, oob int32) Result {
	tmap, dims, strides, estrides := unsafe.Pointer(tmapp), unsafe.Pointer(dimsp), unsafe.Pointer(stridesp), unsafe.Pointer(estridesp)
	lower, upper := unsafe.Pointer(lowerp), unsafe.Pointer(upperp)
	d, r := tensorCommon(tmap, dtype, rank, addr, dims, strides, estrides, interleave, swizzle, l2, oob, 3)
	if r != Success {
		return r
	}
	if lower == nil || upper == nil || channels == 0 || channels > 256 || pixels == 0 || pixels > 1024 {
		return ErrorInvalidValue
	}
	limit := int32(1 << 15) // rank 3: [-2^15, 2^15); the range narrows as the rank grows
	switch rank {
	case 4:
		limit = 128
	case 5:
		limit = 16
	}
	d[96] = 1 // im2col
	for i := uintptr(0); i < uintptr(rank-2); i++ {
		lo, hi := *(*int32)(unsafe.Add(lower, 4*i)), *(*int32)(unsafe.Add(upper, 4*i))
		if lo < -limit || lo >= limit || hi < -limit || hi >= limit {
			return ErrorInvalidValue
		}
		binary.LittleEndian.PutUint16(d[98+2*i:], uint16(int16(lo)))
		binary.LittleEndian.PutUint16(d[104+2*i:], uint16(int16(hi)))
	}
	binary.LittleEndian.PutUint16(d[110:], uint16(channels))
	binary.LittleEndian.PutUint16(d[112:], uint16(pixels))
	copy(unsafe.Slice((*byte)(tmap), tensorMapSize), d)
	return Success
}

// TensorMapReplaceAddress is cuTensorMapReplaceAddress: a new global address, aligned as the
// map's interleave requires, in a descriptor an encode call wrote.
func TensorMapReplaceAddress(tmapp uintptr, addr uintptr) Result {
	tmap := unsafe.Pointer(tmapp)
	if r := codeReady(); r != Success {
		return r
	}
	if tmap == nil || uintptr(tmap)%64 != 0 {
		return ErrorInvalidValue
	}
	d := unsafe.Slice((*byte)(tmap), tensorMapSize)
	if d[tensorMapSize-1] != tensorMapMark {
		return ErrorInvalidValue
	}
	align := uintptr(16)
	if d[92] == interleave32B {
		align = 32
	}
	if addr == 0 || addr%align != 0 {
		return ErrorInvalidValue
	}
	binary.LittleEndian.PutUint64(d[0:], uint64(addr))
	return Success
}

// Coredump settings (cuCoredumpGetAttribute/SetAttribute and their _Global forms). The model
// raises no GPU exception and so never writes a dump; the settings are kept, per context and
// for the process, and read back as set. They are the calling process's (a remote client's
// own): no path named here is opened, here or on a server.

// CUcoredumpSettings values.
const (
	coreEnableOnException = 1
	coreTriggerHost       = 2
	coreLightweight       = 3
	coreEnableUserTrigger = 4
	coreFile              = 5
	corePipe              = 6
	coreGenerateFlags     = 7
)

type coreSettings struct {
	flags      [coreEnableUserTrigger + 1]bool
	file, pipe string
	generate   uint32
}

var (
	coreMu     sync.Mutex
	coreByCtx  = map[uintptr]*coreSettings{} // 0: the process's (global) settings
	coreGlobal *coreSettings
)

func defaultCore() *coreSettings {
	host, _ := os.Hostname()
	c := &coreSettings{file: fmt.Sprintf("core.cuda.%s.%d", host, os.Getpid()), pipe: fmt.Sprintf("corepipe.cuda.%s.%d", host, os.Getpid())}
	c.flags[coreTriggerHost] = true
	return c
}

// coreFor returns the settings a call reads or writes: the current context's (a copy of the
// global ones until first set), or the process's.
func coreFor(global bool) *coreSettings {
	if coreGlobal == nil {
		coreGlobal = defaultCore()
	}
	if global {
		return coreGlobal
	}
	c := shim.CurrentContext()
	if c == nil || ClientCode.Load() {
		return coreGlobal
	}
	s := coreByCtx[c.Handle]
	if s == nil {
		cp := *coreGlobal
		s = &cp
		coreByCtx[c.Handle] = s
	}
	return s
}

func coreGet(attr int32, value, size unsafe.Pointer, global bool) Result {
	if r := codeReady(); r != Success {
		return r
	}
	if size == nil || attr < coreEnableOnException || attr > coreGenerateFlags {
		return ErrorInvalidValue
	}
	coreMu.Lock()
	defer coreMu.Unlock()
	s := coreFor(global)
	var b []byte
	switch attr {
	case coreFile:
		b = append([]byte(s.file), 0)
	case corePipe:
		b = append([]byte(s.pipe), 0)
	case coreGenerateFlags:
		b = binary.LittleEndian.AppendUint32(nil, s.generate)
	default:
		b = []byte{0}
		if s.flags[attr] {
			b[0] = 1
		}
	}
	have := *(*uint64)(size)
	*(*uint64)(size) = uint64(len(b))
	if value == nil {
		return Success // the size the value needs
	}
	if have < uint64(len(b)) {
		return ErrorInvalidValue
	}
	copy(unsafe.Slice((*byte)(value), len(b)), b)
	return Success
}

func coreSet(attr int32, value, size unsafe.Pointer, global bool) Result {
	if r := codeReady(); r != Success {
		return r
	}
	if value == nil || size == nil || attr < coreEnableOnException || attr > coreGenerateFlags {
		return ErrorInvalidValue
	}
	if !global && (attr == coreEnableUserTrigger || attr == corePipe) {
		return ErrorNotPermitted // process-wide settings only
	}
	n := *(*uint64)(size)
	coreMu.Lock()
	defer coreMu.Unlock()
	s := coreFor(global)
	switch attr {
	case coreFile, corePipe:
		v, ok := shim.GoString(value, int(min(n, 4096)))
		if !ok || v == "" {
			return ErrorInvalidValue
		}
		if attr == coreFile {
			s.file = v
		} else {
			s.pipe = v
		}
	case coreGenerateFlags:
		if n < 4 {
			return ErrorInvalidValue
		}
		s.generate = *(*uint32)(value)
	default:
		if n < 1 {
			return ErrorInvalidValue
		}
		s.flags[attr] = *(*byte)(value) != 0
	}
	return Success
}

// CoredumpGetAttribute is cuCoredumpGetAttribute: the current context's setting.
func CoredumpGetAttribute(attr int32, value, size uintptr) Result {
	return coreGet(attr, unsafe.Pointer(value), unsafe.Pointer(size), false)
}

// CoredumpGetAttributeGlobal is cuCoredumpGetAttributeGlobal.
func CoredumpGetAttributeGlobal(attr int32, value, size uintptr) Result {
	return coreGet(attr, unsafe.Pointer(value), unsafe.Pointer(size), true)
}

// CoredumpSetAttribute is cuCoredumpSetAttribute.
func CoredumpSetAttribute(attr int32, value, size uintptr) Result {
	return coreSet(attr, unsafe.Pointer(value), unsafe.Pointer(size), false)
}

// CoredumpSetAttributeGlobal is cuCoredumpSetAttributeGlobal.
func CoredumpSetAttributeGlobal(attr int32, value, size uintptr) Result {
	return coreSet(attr, unsafe.Pointer(value), unsafe.Pointer(size), true)
}
