package testmodel

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// GGUF, version 3, little-endian:
//
//	"GGUF" u32:version u64:tensor_count u64:kv_count
//	kv_count × (string:key u32:value_type value)
//	tensor_count × (string:name u32:n_dims n_dims×u64:ne u32:ggml_type u64:offset)
//	zero padding to the alignment, then the tensor data, each tensor padded to the alignment
//
// where a string is u64:length and the bytes, and an array value is u32:element_type
// u64:count and the elements. Offsets are relative to the start of the data.

// Alignment is general.alignment, written explicitly though 32 is also GGUF's default.
const Alignment = 32

const (
	ggufMagic   = "GGUF"
	ggufVersion = 3
)

// GGUF value types.
const (
	gUint8   = 0
	gInt8    = 1
	gUint16  = 2
	gInt16   = 3
	gUint32  = 4
	gInt32   = 5
	gFloat32 = 6
	gBool    = 7
	gString  = 8
	gArray   = 9
	gUint64  = 10
	gInt64   = 11
	gFloat64 = 12
)

func pad(n, a uint64) uint64 { return (n + a - 1) / a * a }

type encoder struct{ b []byte }

func (e *encoder) u32(v uint32) { e.b = binary.LittleEndian.AppendUint32(e.b, v) }
func (e *encoder) u64(v uint64) { e.b = binary.LittleEndian.AppendUint64(e.b, v) }
func (e *encoder) str(s string) { e.u64(uint64(len(s))); e.b = append(e.b, s...) }

func (e *encoder) value(v any) error {
	switch v := v.(type) {
	case uint32:
		e.u32(gUint32)
		e.u32(v)
	case int32:
		e.u32(gInt32)
		e.u32(uint32(v))
	case uint64:
		e.u32(gUint64)
		e.u64(v)
	case float32:
		e.u32(gFloat32)
		e.u32(math.Float32bits(v))
	case bool:
		e.u32(gBool)
		if v {
			e.b = append(e.b, 1)
		} else {
			e.b = append(e.b, 0)
		}
	case string:
		e.u32(gString)
		e.str(v)
	case []string:
		e.u32(gArray)
		e.u32(gString)
		e.u64(uint64(len(v)))
		for _, s := range v {
			e.str(s)
		}
	case []float32:
		e.u32(gArray)
		e.u32(gFloat32)
		e.u64(uint64(len(v)))
		for _, f := range v {
			e.u32(math.Float32bits(f))
		}
	case []int32:
		e.u32(gArray)
		e.u32(gInt32)
		e.u64(uint64(len(v)))
		for _, i := range v {
			e.u32(uint32(i))
		}
	default:
		return fmt.Errorf("gguf: no encoding for %T", v)
	}
	return nil
}

// header is everything before the tensor data, padding included, and the tensors it names.
func (o Options) header() ([]byte, []Tensor, error) {
	if err := o.Size.validate(); err != nil {
		return nil, nil, err
	}
	if o.Type != F16 && o.Type != Q8_0 {
		return nil, nil, fmt.Errorf("weights of type %s: want f16 or q8_0", o.Type)
	}
	ts := o.Tensors()
	md := o.metadata()
	e := &encoder{}
	e.b = append(e.b, ggufMagic...)
	e.u32(ggufVersion)
	e.u64(uint64(len(ts)))
	e.u64(uint64(len(md)))
	for _, p := range md {
		e.str(p.Key)
		if err := e.value(p.Value); err != nil {
			return nil, nil, err
		}
	}
	for _, t := range ts {
		e.str(t.Name)
		e.u32(uint32(len(t.Dims)))
		for _, d := range t.Dims {
			e.u64(d)
		}
		e.u32(uint32(t.Type))
		e.u64(t.Offset)
	}
	e.b = append(e.b, make([]byte, pad(uint64(len(e.b)), Alignment)-uint64(len(e.b)))...)
	return e.b, ts, nil
}

// File is a GGUF file's header as Read parses it.
type File struct {
	Version    uint32
	KV         []KV // in file order
	Tensors    []Tensor
	Alignment  uint64
	DataOffset uint64 // where the tensor data starts
}

// KV is one metadata pair. Value is uint8 … float64, bool, string, or a slice of one of
// those for arrays.
type KV struct {
	Key   string
	Value any
}

// Get returns the value of key, or nil.
func (f *File) Get(key string) any {
	for _, p := range f.KV {
		if p.Key == key {
			return p.Value
		}
	}
	return nil
}

// Read parses a GGUF header (any version-3 file, not only ours). Tensor Bytes are filled in
// for the types this package knows, and zero for others.
func Read(r io.Reader) (*File, error) {
	d := &decoder{r: bufio.NewReaderSize(r, 1<<20)}
	magic := d.bytes(4)
	if d.err == nil && string(magic) != ggufMagic {
		return nil, fmt.Errorf("gguf: bad magic %q", magic)
	}
	f := &File{Version: d.u32(), Alignment: Alignment}
	if d.err == nil && f.Version != ggufVersion {
		return nil, fmt.Errorf("gguf: version %d, want %d", f.Version, ggufVersion)
	}
	nt, nkv := d.u64(), d.u64()
	if d.err == nil && (nt > 1<<24 || nkv > 1<<24) {
		return nil, fmt.Errorf("gguf: implausible counts: %d tensors, %d keys", nt, nkv)
	}
	for i := uint64(0); i < nkv && d.err == nil; i++ {
		k := d.str()
		v := d.value(d.u32())
		f.KV = append(f.KV, KV{k, v})
		if a, ok := v.(uint32); ok && k == "general.alignment" {
			f.Alignment = uint64(a)
		}
	}
	for i := uint64(0); i < nt && d.err == nil; i++ {
		t := Tensor{Name: d.str()}
		n := d.u32()
		if n > 4 {
			return nil, fmt.Errorf("gguf: tensor %s has %d dimensions", t.Name, n)
		}
		for j := uint32(0); j < n; j++ {
			t.Dims = append(t.Dims, d.u64())
		}
		t.Type = Type(d.u32())
		t.Offset = d.u64()
		switch t.Type {
		case F32, F16, Q8_0:
			t.Bytes = uint64(t.Type.rowBytes(int64(t.Elements())))
		}
		f.Tensors = append(f.Tensors, t)
	}
	if d.err != nil {
		return nil, fmt.Errorf("gguf: %w", d.err)
	}
	f.DataOffset = pad(d.n, f.Alignment)
	return f, nil
}

type decoder struct {
	r   *bufio.Reader
	n   uint64 // bytes consumed
	err error
}

func (d *decoder) bytes(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > 1<<30 {
		d.err = fmt.Errorf("string of %d bytes", n)
		return nil
	}
	b := make([]byte, n)
	_, d.err = io.ReadFull(d.r, b)
	if errors.Is(d.err, io.EOF) {
		d.err = io.ErrUnexpectedEOF
	}
	d.n += n
	return b
}

func (d *decoder) u32() uint32 {
	if b := d.bytes(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if b := d.bytes(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (d *decoder) str() string { return string(d.bytes(d.u64())) }

func (d *decoder) value(t uint32) any {
	switch t {
	case gUint8:
		return d.scalar(1)[0]
	case gInt8:
		return int8(d.scalar(1)[0])
	case gUint16:
		return binary.LittleEndian.Uint16(d.scalar(2))
	case gInt16:
		return int16(binary.LittleEndian.Uint16(d.scalar(2)))
	case gUint32:
		return d.u32()
	case gInt32:
		return int32(d.u32())
	case gFloat32:
		return math.Float32frombits(d.u32())
	case gBool:
		return d.scalar(1)[0] != 0
	case gString:
		return d.str()
	case gUint64:
		return d.u64()
	case gInt64:
		return int64(d.u64())
	case gFloat64:
		return math.Float64frombits(d.u64())
	case gArray:
		et, n := d.u32(), d.u64()
		if n > 1<<26 {
			d.err = fmt.Errorf("array of %d elements", n)
			return nil
		}
		return d.array(et, n)
	}
	if d.err == nil {
		d.err = fmt.Errorf("unknown value type %d", t)
	}
	return nil
}

// scalar reads n bytes, zeros after an error so callers need not check.
func (d *decoder) scalar(n uint64) []byte {
	if b := d.bytes(n); b != nil {
		return b
	}
	return make([]byte, n)
}

func (d *decoder) array(et uint32, n uint64) any {
	switch et {
	case gString:
		a := make([]string, 0, n)
		for i := uint64(0); i < n && d.err == nil; i++ {
			a = append(a, d.str())
		}
		return a
	case gFloat32:
		return arrayOf(d, n, func(d *decoder) float32 { return math.Float32frombits(d.u32()) })
	case gInt32:
		return arrayOf(d, n, func(d *decoder) int32 { return int32(d.u32()) })
	case gUint32:
		return arrayOf(d, n, (*decoder).u32)
	case gUint64:
		return arrayOf(d, n, (*decoder).u64)
	case gInt64:
		return arrayOf(d, n, func(d *decoder) int64 { return int64(d.u64()) })
	case gFloat64:
		return arrayOf(d, n, func(d *decoder) float64 { return math.Float64frombits(d.u64()) })
	case gUint8, gInt8, gBool:
		return d.bytes(n) // raw bytes; callers convert if they care
	case gUint16, gInt16:
		return arrayOf(d, n, func(d *decoder) uint16 { return binary.LittleEndian.Uint16(d.scalar(2)) })
	}
	if d.err == nil {
		d.err = fmt.Errorf("unknown array element type %d", et)
	}
	return nil
}

func arrayOf[T any](d *decoder, n uint64, read func(*decoder) T) []T {
	a := make([]T, 0, min(n, 1<<20))
	for i := uint64(0); i < n && d.err == nil; i++ {
		a = append(a, read(d))
	}
	return a
}
