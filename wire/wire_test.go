package wire

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vgpu/shim/api"
)

// Every entry point of the list can be carried: inputs round-trip, output buffers get a
// size, and the response round-trips.
func TestEveryFunctionRoundTrips(t *testing.T) {
	for i := range api.Functions {
		f := &api.Functions[i]
		args := make([]Value, len(f.Args))
		for j, a := range f.Args {
			switch Kind(a) {
			case Scalar, Addr:
				args[j].U = uint64(3 + j)
			case Dim3:
				args[j].D = [3]uint32{1, 2, 3}
			case InBuf:
				args[j].B = append([]byte{2}, make([]byte, 15)...) // as a count: 2
			case CStr:
				args[j].B = []byte("name")
			case OutBuf, OutStr:
				args[j].U = 1 // a buffer was passed
			case HostScalar:
				args[j].U = uint64(0x7000 + j)
				if j%2 == 0 { // host pointer mode: the value travels
					args[j].B = make([]byte, ScalarSize(f, a, args))
				}
			}
		}
		for j, a := range f.Args { // then each input buffer as large as its declaration says
			if Kind(a) == InBuf {
				n, err := BufSize(f, a, args)
				require.NoError(t, err, f.Name)
				args[j].B = append(append([]byte(nil), args[j].B...), make([]byte, n)...)[:n]
			}
		}
		req, err := EncodeRequest(f, args)
		require.NoError(t, err, f.Name)
		got, err := DecodeRequest(f, req)
		require.NoError(t, err, f.Name)
		for j, a := range f.Args {
			switch Kind(a) {
			case Scalar, Addr, Dim3:
				assert.Equal(t, args[j].U, got[j].U, "%s.%s", f.Name, a.Name)
				assert.Equal(t, args[j].D, got[j].D, "%s.%s", f.Name, a.Name)
			case InBuf, CStr:
				assert.Equal(t, args[j].B, got[j].B, "%s.%s", f.Name, a.Name)
			case HostScalar:
				assert.Equal(t, args[j].U, got[j].U, "%s.%s", f.Name, a.Name)
				assert.Equal(t, len(args[j].B), len(got[j].B), "%s.%s", f.Name, a.Name)
			case OutBuf, OutStr:
				assert.NotNil(t, got[j].B, "%s.%s has a size", f.Name, a.Name)
			}
		}
		res, outs, err := DecodeResponse(f, EncodeResponse(f, 42, got))
		require.NoError(t, err, f.Name)
		assert.Equal(t, uint64(42), res)
		for j, a := range f.Args {
			if Returns(a) {
				assert.Equal(t, got[j].B, outs[j], "%s.%s", f.Name, a.Name)
			}
		}
	}
}

// Scale types follow the compute type: half, float or double.
func TestScalarSizes(t *testing.T) {
	gemm := api.ByName()["cublasGemmEx"]
	ct := -1
	for i, a := range gemm.Args {
		if a.Name == "computeType" {
			ct = i
		}
	}
	require.GreaterOrEqual(t, ct, 0)
	alpha := gemm.Args[6]
	require.Equal(t, HostScalar, Kind(alpha))
	for compute, size := range map[uint64]int{64: 2, 68: 4, 77: 4, 70: 8, 72: 4, 0: 4, 2: 2} {
		args := make([]Value, len(gemm.Args))
		args[ct].U = compute
		assert.Equal(t, size, ScalarSize(gemm, alpha, args), "compute type %d", compute)
	}
	assert.Equal(t, 4, ScalarSize(api.ByName()["cublasSgemm_v2"], api.ByName()["cublasSgemm_v2"].Args[6], nil))
	// A scalar larger than any scale type is refused both ways.
	args := make([]Value, len(gemm.Args))
	args[6].B = make([]byte, MaxScalar+1)
	_, err := EncodeRequest(gemm, args)
	assert.Error(t, err)
}

func TestFrames(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, WriteFrame(&b, Header{Kind: KindRequest, Op: 240, Seq: 7}, []byte("abc")))
	h, p, err := ReadFrame(&b)
	require.NoError(t, err)
	assert.Equal(t, Header{Version: Version, Kind: KindRequest, Op: 240, Seq: 7, Len: 3}, h)
	assert.Equal(t, []byte("abc"), p)
	_, _, err = ReadFrame(bytes.NewReader([]byte("GET / HTTP/1.1\r\n\r\n")))
	assert.ErrorIs(t, err, ErrMagic)
	bad := []byte{0x47, 0x76, 9, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	_, _, err = ReadFrame(bytes.NewReader(bad))
	assert.ErrorIs(t, err, ErrVersion)
	huge := []byte{0x47, 0x76, Version, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}
	_, _, err = ReadFrame(bytes.NewReader(huge))
	assert.ErrorIs(t, err, ErrTooLarge)
}

func TestBoundsRefused(t *testing.T) {
	f := api.ByName()["nvmlDeviceGetComputeRunningProcesses_v3"]
	// count says a billion entries: the output buffer it implies is refused, not allocated.
	args := []Value{{U: 1}, {B: []byte{0, 0xca, 0x9a, 0x3b}}, {U: 1}}
	req, err := EncodeRequest(f, args)
	require.NoError(t, err)
	_, err = DecodeRequest(f, req)
	assert.ErrorContains(t, err, "bound")
	_, err = DecodeRequest(api.ByName()["cuInit"], []byte{1, 2})
	assert.Error(t, err)
	_, err = DecodeRequest(api.ByName()["cuInit"], make([]byte, 9))
	assert.ErrorContains(t, err, "trailing")
}

// The decoders never panic on hostile input.
func FuzzDecodeRequest(f *testing.F) {
	byOp := map[uint16]*api.Func{}
	for i := range api.Functions {
		byOp[uint16(api.Functions[i].Op)] = &api.Functions[i]
	}
	f.Add(uint16(1), []byte{0, 0, 0, 0, 0, 0, 0, 0})
	f.Add(uint16(536), []byte{1, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 255, 255, 255, 255})
	f.Add(uint16(12), []byte{8, 0, 0, 0, 'x'})
	f.Fuzz(func(t *testing.T, op uint16, payload []byte) {
		fn, ok := byOp[op]
		if !ok {
			return
		}
		if args, err := DecodeRequest(fn, payload); err == nil {
			EncodeResponse(fn, 0, args)
		}
		DecodeResponse(fn, payload)
	})
}

func FuzzReadFrame(f *testing.F) {
	var b bytes.Buffer
	WriteFrame(&b, Header{Kind: KindRequest, Op: 1}, []byte{1, 2, 3})
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		ReadFrame(bytes.NewReader(data))
	})
}

// An input buffer or a scalar value shorter or longer than its declaration is refused: the
// server's callee would read (or write) past the frame's bytes.
func TestInputOfTheWrongSizeIsRefused(t *testing.T) {
	byName := api.ByName()
	f := byName["cuMemGetAllocationGranularity"] // prop [in:32]
	for _, n := range []int{1, 31, 33} {
		req, err := EncodeRequest(f, []Value{{U: 1}, {B: make([]byte, n)}, {U: 0}})
		require.NoError(t, err)
		_, err = DecodeRequest(f, req)
		require.Error(t, err, "%d bytes", n)
	}
	req, err := EncodeRequest(f, []Value{{U: 1}, {B: make([]byte, 32)}, {U: 0}})
	require.NoError(t, err)
	_, err = DecodeRequest(f, req)
	require.NoError(t, err)

	gemm := byName["cublasSgemm_v2"]
	args := make([]Value, len(gemm.Args))
	args[6].B = make([]byte, 1) // alpha is a float: 4 bytes
	req, err = EncodeRequest(gemm, args)
	require.NoError(t, err)
	_, err = DecodeRequest(gemm, req)
	require.Error(t, err)
}
