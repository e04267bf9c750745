package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"vgpu/shim/api"
)

// Bounds on single arguments.
const (
	MaxString = 4096     // [cstr] and [outstr]
	MaxBuffer = 16 << 20 // [in], [inout] and [out] structs and arrays
)

// Value is one argument: scalars, handles and device addresses in U; dim3 in D; buffers
// and strings in B.
type Value struct {
	U uint64
	D [3]uint32
	B []byte
}

// ArgKind is how an argument travels.
type ArgKind uint8

const (
	Scalar     ArgKind = iota // value, 8 bytes
	Dim3                      // three uint32
	Addr                      // [dev]: an address, 8 bytes, never dereferenced in transit
	InBuf                     // [in], [inout]: bytes to the server
	CStr                      // [cstr]: a string to the server
	OutBuf                    // [out]: bytes back, size from the list
	OutStr                    // [outstr]: a string back, capacity from an argument
	HostScalar                // [scalar]: cuBLAS alpha/beta: an address, and the value when it is host memory
)

// MaxScalar bounds a [scalar] value: a double is the widest scale type carried.
const MaxScalar = 16

// Kind classifies an argument from its declaration.
func Kind(a api.Arg) ArgKind {
	switch a.Dir {
	case "dev":
		return Addr
	case "scalar":
		return HostScalar
	case "in":
		return InBuf
	case "inout":
		return InBuf
	case "cstr":
		return CStr
	case "out":
		return OutBuf
	case "outstr":
		return OutStr
	}
	if strings.TrimSpace(a.CType) == "dim3" {
		return Dim3
	}
	return Scalar
}

// Returns reports whether an argument comes back in the response.
func Returns(a api.Arg) bool {
	k := Kind(a)
	return k == OutBuf || k == OutStr || a.Dir == "inout"
}

// pointee sizes for [out] and [in] pointers without an explicit size.
var pointee = map[string]int{
	"int *": 4, "unsigned int *": 4, "CUdevice *": 4, "float *": 4, "size_t *": 8, "unsigned long long *": 8,
	"void * *": 8, "const void * *": 8, "const char * *": 8, "CUdeviceptr *": 8, "CUmemGenericAllocationHandle *": 8,
	"CUcontext *": 8, "CUstream *": 8, "CUevent *": 8, "CUmodule *": 8, "CUfunction *": 8, "cudaStream_t *": 8,
	"cudaEvent_t *": 8, "cudaGraph_t *": 8, "cudaGraphExec_t *": 8, "cudaKernel_t *": 8, "cublasHandle_t *": 8,
	"nvmlDevice_t *": 8, "nvmlEventSet_t *": 8, "enum cudaStreamCaptureStatus *": 4, "enum cudaStreamCaptureMode *": 4,
	"cublasMath_t *": 4, "cublasPointerMode_t *": 4, "nvmlPstates_t *": 4, "nvmlEnableState_t *": 4,
	"nvmlComputeMode_t *": 4, "nvmlBrandType_t *": 4, "nvmlDeviceArchitecture_t *": 4,
}

// BufSize is the byte size of a buffer argument, from its annotation or its pointee type;
// args supplies the values of the arguments a size may name.
func BufSize(f *api.Func, a api.Arg, args []Value) (int, error) {
	s := a.Size
	if s == "" {
		n, ok := pointee[a.CType]
		if !ok {
			return 0, fmt.Errorf("%s: no size for %s %s", f.Name, a.CType, a.Name)
		}
		return n, nil
	}
	mult := 1
	if i := strings.Index(s, "*"); i >= 0 {
		m, err := strconv.Atoi(s[:i])
		if err != nil {
			return 0, err
		}
		mult, s = m, s[i+1:]
	}
	if n, err := strconv.Atoi(s); err == nil {
		return mult * n, nil
	}
	for i, other := range f.Args {
		if other.Name == s {
			v := args[i].U
			if Kind(other) == InBuf { // a count passed by pointer ([inout] counts)
				switch b := args[i].B; {
				case pointee[other.CType] == 8 && len(b) >= 8:
					v = binary.LittleEndian.Uint64(b)
				case len(b) >= 4:
					v = uint64(binary.LittleEndian.Uint32(b))
				default:
					return 0, fmt.Errorf("%s: count %s is missing", f.Name, s)
				}
			}
			if v > MaxBuffer || uint64(mult)*v > MaxBuffer {
				return 0, fmt.Errorf("%s: %s = %d is over the protocol's bound", f.Name, s, v)
			}
			return mult * int(v), nil
		}
	}
	return 0, fmt.Errorf("%s: size names unknown argument %q", f.Name, s)
}

// ScalarSize is the byte size of a [scalar] argument: a count, or the scale type that a
// cuBLAS compute type (or, from older programs, a cudaDataType) implies.
func ScalarSize(f *api.Func, a api.Arg, args []Value) int {
	if n, err := strconv.Atoi(a.Size); err == nil {
		return n
	}
	if i := f.ArgIndex(a.Size); i >= 0 {
		return api.ScalarBytes(args[i].U)
	}
	return 4
}

// EncodeRequest lays out f's inputs.
func EncodeRequest(f *api.Func, args []Value) ([]byte, error) {
	if len(args) != len(f.Args) {
		return nil, fmt.Errorf("%s: %d arguments, want %d", f.Name, len(args), len(f.Args))
	}
	var b []byte
	for i, a := range f.Args {
		switch Kind(a) {
		case Scalar, Addr:
			b = binary.LittleEndian.AppendUint64(b, args[i].U)
		case HostScalar:
			if len(args[i].B) > MaxScalar {
				return nil, fmt.Errorf("%s: %s is %d bytes, over %d", f.Name, a.Name, len(args[i].B), MaxScalar)
			}
			b = binary.LittleEndian.AppendUint64(b, args[i].U)
			b = binary.LittleEndian.AppendUint32(b, uint32(len(args[i].B)))
			b = append(b, args[i].B...)
		case Dim3:
			for _, d := range args[i].D {
				b = binary.LittleEndian.AppendUint32(b, d)
			}
		case OutBuf, OutStr: // whether the caller passed a buffer at all (NULL is an error to report)
			present := byte(0)
			if args[i].U != 0 {
				present = 1
			}
			b = append(b, present)
		case InBuf, CStr:
			limit := MaxBuffer
			if Kind(a) == CStr {
				limit = MaxString
			}
			if len(args[i].B) > limit {
				return nil, fmt.Errorf("%s: %s is %d bytes, over %d", f.Name, a.Name, len(args[i].B), limit)
			}
			b = binary.LittleEndian.AppendUint32(b, uint32(len(args[i].B)))
			b = append(b, args[i].B...)
		}
	}
	return b, nil
}

var errShort = errors.New("wire: payload ends early")

type reader struct{ b []byte }

func (r *reader) u32() (uint32, error) {
	if len(r.b) < 4 {
		return 0, errShort
	}
	v := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v, nil
}

func (r *reader) u64() (uint64, error) {
	if len(r.b) < 8 {
		return 0, errShort
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v, nil
}

func (r *reader) bytes(limit int) ([]byte, error) {
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	if int64(n) > int64(limit) || int(n) > len(r.b) {
		return nil, fmt.Errorf("wire: %d-byte argument (limit %d, %d left)", n, limit, len(r.b))
	}
	v := append([]byte(nil), r.b[:n]...)
	r.b = r.b[n:]
	return v, nil
}

// DecodeRequest reads f's inputs; output buffers are sized from them, ready to be filled.
func DecodeRequest(f *api.Func, payload []byte) ([]Value, error) {
	r := &reader{payload}
	args := make([]Value, len(f.Args))
	var err error
	for i, a := range f.Args {
		switch Kind(a) {
		case Scalar, Addr:
			args[i].U, err = r.u64()
		case HostScalar:
			if args[i].U, err = r.u64(); err == nil {
				args[i].B, err = r.bytes(MaxScalar)
			}
		case Dim3:
			for j := range args[i].D {
				if args[i].D[j], err = r.u32(); err != nil {
					break
				}
			}
		case InBuf:
			args[i].B, err = r.bytes(MaxBuffer)
		case CStr:
			args[i].B, err = r.bytes(MaxString)
		case OutBuf, OutStr:
			if len(r.b) < 1 {
				err = errShort
				break
			}
			args[i].U = uint64(r.b[0]) // 1: a buffer is wanted; 0: the caller passed NULL
			r.b = r.b[1:]
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", f.Name, a.Name, err)
		}
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%s: %d trailing bytes", f.Name, len(r.b))
	}
	for i, a := range f.Args {
		if (Kind(a) == OutBuf || Kind(a) == OutStr) && args[i].U == 0 {
			continue // NULL stays NULL
		}
		switch Kind(a) {
		case InBuf:
			// The callee reads (and for [inout] writes) as many bytes as the declaration
			// says: a shorter buffer would let it run past the frame's bytes into the
			// server's memory. An empty one is NULL.
			if len(args[i].B) == 0 {
				continue
			}
			n, err := BufSize(f, a, args)
			if err != nil {
				return nil, err
			}
			if n != len(args[i].B) {
				return nil, fmt.Errorf("%s: %s is %d bytes, want %d", f.Name, a.Name, len(args[i].B), n)
			}
		case HostScalar:
			// A value carried is exactly its type's size: the callee reads that many.
			if n := len(args[i].B); n != 0 && n != ScalarSize(f, a, args) {
				return nil, fmt.Errorf("%s: %s is %d bytes, want %d", f.Name, a.Name, n, ScalarSize(f, a, args))
			}
		case OutBuf:
			n, err := BufSize(f, a, args)
			if err != nil {
				return nil, err
			}
			args[i].B = make([]byte, n)
		case OutStr:
			n, err := BufSize(f, a, args)
			if err != nil {
				return nil, err
			}
			if n < 0 || n > MaxString {
				return nil, fmt.Errorf("%s: string capacity %d", f.Name, n)
			}
			args[i].B = make([]byte, n)
		}
	}
	return args, nil
}

// EncodeResponse lays out the result and every argument that comes back.
func EncodeResponse(f *api.Func, result uint64, args []Value) []byte {
	b := binary.LittleEndian.AppendUint64(nil, result)
	for i, a := range f.Args {
		if Returns(a) {
			b = binary.LittleEndian.AppendUint32(b, uint32(len(args[i].B)))
			b = append(b, args[i].B...)
		}
	}
	return b
}

// DecodeResponse reads a response into the result and the returned buffers (indexed like
// f.Args; nil where nothing comes back).
func DecodeResponse(f *api.Func, payload []byte) (uint64, [][]byte, error) {
	r := &reader{payload}
	res, err := r.u64()
	if err != nil {
		return 0, nil, err
	}
	out := make([][]byte, len(f.Args))
	for i, a := range f.Args {
		if !Returns(a) {
			continue
		}
		if out[i], err = r.bytes(MaxBuffer); err != nil {
			return 0, nil, fmt.Errorf("%s: %s: %w", f.Name, a.Name, err)
		}
	}
	if len(r.b) != 0 {
		return 0, nil, fmt.Errorf("%s: %d trailing bytes", f.Name, len(r.b))
	}
	return res, out, nil
}
