package testmodel

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func tiny(t *testing.T, typ Type, seed uint64) Options {
	s, err := LookupSize("tiny")
	require.NoError(t, err)
	return Options{Size: s, Type: typ, Seed: seed}
}

func writeFile(t *testing.T, o Options) (string, []byte) {
	path := filepath.Join(t.TempDir(), "m.gguf")
	n, err := Write(path, o)
	require.NoError(t, err)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.EqualValues(t, len(b), n)
	return path, b
}

// The tiny file, parsed back: header, every key, every tensor's shape, type, offset and
// alignment, and the total size.
func TestTinyFileParsesBack(t *testing.T) {
	for _, typ := range []Type{F16, Q8_0} {
		t.Run(typ.String(), func(t *testing.T) {
			o := tiny(t, typ, 7)
			_, b := writeFile(t, o)
			assert.Equal(t, "GGUF", string(b[:4]))
			assert.EqualValues(t, 3, binary.LittleEndian.Uint32(b[4:]))
			f, err := Read(bytes.NewReader(b))
			require.NoError(t, err)

			// Every key, in order, with its exact type and value.
			md := o.metadata()
			require.Len(t, f.KV, len(md))
			for i, p := range md {
				assert.Equal(t, p.Key, f.KV[i].Key)
				assert.Equal(t, p.Value, f.KV[i].Value, p.Key)
			}
			// Spot checks against the specification rather than against ourselves.
			assert.Equal(t, "llama", f.Get("general.architecture"))
			assert.Equal(t, map[Type]uint32{F16: 1, Q8_0: 7}[typ], f.Get("general.file_type"))
			assert.Equal(t, uint32(2), f.Get("llama.block_count"))
			assert.Equal(t, uint32(256), f.Get("llama.embedding_length"))
			assert.Equal(t, uint32(2), f.Get("llama.attention.head_count_kv"))
			assert.Equal(t, uint32(64), f.Get("llama.rope.dimension_count"))
			assert.Equal(t, "llama", f.Get("tokenizer.ggml.model"))
			toks := f.Get("tokenizer.ggml.tokens").([]string)
			types := f.Get("tokenizer.ggml.token_type").([]int32)
			require.Len(t, toks, 512)
			require.Len(t, types, 512)
			require.Len(t, f.Get("tokenizer.ggml.scores").([]float32), 512)
			assert.Equal(t, []string{"<unk>", "<s>", "</s>", "<0x00>"}, toks[:4])
			assert.Equal(t, "<0xFF>", toks[258])
			assert.Equal(t, "\u2581", toks[259])
			assert.Equal(t, []int32{2, 3, 3, 6}, types[:4])
			assert.Equal(t, int32(6), types[258])
			assert.Equal(t, int32(5), types[511])
			seen := map[string]bool{}
			for _, s := range toks {
				assert.False(t, seen[s], "duplicate token %q", s) // llama.cpp asserts uniqueness
				seen[s] = true
			}
			assert.EqualValues(t, 32, f.Alignment)

			// Tensors: llama.cpp's names, ggml's dimension order, f32 norms.
			want := map[string][]uint64{
				"token_embd.weight":        {256, 512},
				"blk.0.attn_norm.weight":   {256},
				"blk.0.attn_q.weight":      {256, 256},
				"blk.0.attn_k.weight":      {256, 128},
				"blk.0.attn_v.weight":      {256, 128},
				"blk.0.attn_output.weight": {256, 256},
				"blk.0.ffn_norm.weight":    {256},
				"blk.1.ffn_gate.weight":    {256, 512},
				"blk.1.ffn_up.weight":      {256, 512},
				"blk.1.ffn_down.weight":    {512, 256},
				"output_norm.weight":       {256},
				"output.weight":            {256, 512},
			}
			require.Len(t, f.Tensors, 2+9*2+1)
			var off uint64
			for _, ts := range f.Tensors {
				if d, ok := want[ts.Name]; ok {
					assert.Equal(t, d, ts.Dims, ts.Name)
					delete(want, ts.Name)
				}
				if len(ts.Dims) == 1 {
					assert.Equal(t, F32, ts.Type, ts.Name)
					assert.EqualValues(t, 4*ts.Dims[0], ts.Bytes)
				} else {
					assert.Equal(t, typ, ts.Type, ts.Name)
					n := ts.Dims[0] * ts.Dims[1]
					if typ == F16 {
						assert.EqualValues(t, 2*n, ts.Bytes)
					} else {
						assert.EqualValues(t, n/32*34, ts.Bytes)
					}
				}
				assert.Equal(t, off, ts.Offset, ts.Name)
				assert.Zero(t, ts.Offset%32, ts.Name)
				off += (ts.Bytes + 31) / 32 * 32
			}
			assert.Empty(t, want, "tensors missing")
			assert.Zero(t, f.DataOffset%32)
			assert.EqualValues(t, len(b), f.DataOffset+off)
			size, err := o.FileSize()
			require.NoError(t, err)
			assert.EqualValues(t, len(b), size)
			assert.Less(t, len(b), 4<<20, "tiny is for CI")
		})
	}
}

// The values: norms 1, matrices within their bound, output rows of silent tokens zero and
// every token scored below the rest when it is the current one.
func TestValues(t *testing.T) {
	o := tiny(t, F16, 3)
	_, b := writeFile(t, o)
	f, err := Read(bytes.NewReader(b))
	require.NoError(t, err)
	data := func(name string) []float32 {
		for _, ts := range f.Tensors {
			if ts.Name == name {
				raw := b[f.DataOffset+ts.Offset:][:ts.Bytes]
				v := make([]float32, ts.Elements())
				for i := range v {
					if ts.Type == F32 {
						v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
					} else {
						v[i] = f16to32(binary.LittleEndian.Uint16(raw[2*i:]))
					}
				}
				return v
			}
		}
		t.Fatalf("no tensor %s", name)
		return nil
	}
	for _, v := range data("blk.1.ffn_norm.weight") {
		require.Equal(t, float32(1), v)
	}
	q := data("blk.0.attn_q.weight")
	var sum, sq float64
	for _, v := range q {
		require.LessOrEqual(t, math.Abs(float64(v)), 1/16.0+1e-3)
		sum += float64(v)
		sq += float64(v) * float64(v)
	}
	mean, sd := sum/float64(len(q)), math.Sqrt(sq/float64(len(q)))
	assert.InDelta(t, 0, mean, 1e-3)
	assert.InDelta(t, 1/16.0/math.Sqrt(3), sd, 1e-3) // uniform in ±1/sqrt(256)

	emb, out := data("token_embd.weight"), data("output.weight")
	const d = 256
	emitting := 0
	for tok := 0; tok < 512; tok++ {
		row := out[tok*d : (tok+1)*d]
		if !emits(tok) {
			for _, v := range row {
				require.Zero(t, v, "token %d", tok)
			}
			continue
		}
		emitting++
		// The current token's own score (with its embedding as the whole residual) is
		// far below what random rows give.
		var self float64
		for i := range row {
			self += float64(row[i]) * float64(emb[tok*d+i])
		}
		e := emb[tok*d : (tok+1)*d]
		var n float64
		for _, x := range e {
			n += float64(x) * float64(x)
		}
		assert.Less(t, self/math.Sqrt(n)*math.Sqrt(d), -5.0, "token %d", tok) // RMS-normed input
	}
	assert.Equal(t, 94+1+2, emitting) // '!'..'~', "▁", tab, newline
}

func sum(t *testing.T, o Options) [32]byte {
	_, b := writeFile(t, o)
	return sha256.Sum256(b)
}

func TestDeterministic(t *testing.T) {
	for _, typ := range []Type{F16, Q8_0} {
		o := tiny(t, typ, 1)
		a := sum(t, o)
		assert.Equal(t, a, sum(t, o), "same options, same bytes")
		o.Workers = 1
		assert.Equal(t, a, sum(t, o), "one worker or many")
		o.Workers = 7
		assert.Equal(t, a, sum(t, o))
		var buf bytes.Buffer
		_, err := WriteTo(&buf, o)
		require.NoError(t, err)
		assert.Equal(t, a, sha256.Sum256(buf.Bytes()), "WriteTo and Write")
		o.Seed = 2
		assert.NotEqual(t, a, sum(t, o), "another seed")
	}
	assert.NotEqual(t, sum(t, tiny(t, F16, 1)), sum(t, tiny(t, Q8_0, 1)))
}

// A tensor larger than one chunk, whose chunks land on different workers, still comes out
// as one stream: compare with values generated in a single call.
func TestChunkingInvisible(t *testing.T) {
	s, _ := LookupSize("tiny")
	s.Name, s.FFN = "wide", 4352 // ffn_down: 256 × 4352, about 1.06 chunks
	o := Options{Size: s, Type: F16, Seed: 5, Workers: 3}
	_, b := writeFile(t, o)
	f, err := Read(bytes.NewReader(b))
	require.NoError(t, err)
	for _, ts := range f.Tensors {
		if ts.Name != "blk.1.ffn_down.weight" {
			continue
		}
		require.Greater(t, ts.Elements(), uint64(chunkElems))
		want := make([]float32, ts.Elements())
		uniform(want, streamBase(5, ts.Name), 0, bound(&ts))
		raw := b[f.DataOffset+ts.Offset:]
		for i, w := range want {
			require.Equal(t, f16(w), binary.LittleEndian.Uint16(raw[2*i:]), "element %d", i)
		}
		return
	}
	t.Fatal("no ffn_down")
}

func TestQ8_0RoundTrip(t *testing.T) {
	src := make([]float32, 32*200)
	uniform(src, 99, 0, 3)
	// Edge blocks: all zero, one spike, all negative, tiny values (subnormal-f16 scale).
	for i := 32; i < 64; i++ {
		src[i] = 0
	}
	src[64+5] = 1000
	for i := 96; i < 128; i++ {
		src[i] = -float32(i)
	}
	for i := 128; i < 160; i++ {
		src[i] = float32(i-140) * 1e-9
	}
	q := make([]byte, len(src)/32*34)
	quantizeQ8_0(q, src)
	back := make([]float32, len(src))
	dequantizeQ8_0(back, q)
	for blk := 0; blk < len(src)/32; blk++ {
		x := src[blk*32 : blk*32+32]
		var amax float64
		for _, v := range x {
			amax = math.Max(amax, math.Abs(float64(v)))
		}
		d := amax / 127
		d16 := float64(f16to32(binary.LittleEndian.Uint16(q[blk*34:])))
		// round() costs d/2; storing d as f16 moves each of up to 127 steps by |d-d16|.
		bound := d/2 + 127*math.Abs(d-d16) + 1e-6*amax
		for i, v := range x {
			qi := int8(q[blk*34+2+i])
			require.GreaterOrEqual(t, qi, int8(-127))
			require.LessOrEqual(t, math.Abs(float64(v)-float64(back[blk*32+i])), bound, "block %d elem %d", blk, i)
			if math.Abs(float64(v)) == amax && amax > 0 && d16 > 0 {
				assert.Equal(t, int8(127), int8(math.Abs(float64(qi))), "the largest maps to ±127")
			}
		}
	}
	assert.Equal(t, float32(0), back[40], "zero block stays zero")
}

func TestF16(t *testing.T) {
	for _, c := range []struct {
		f float32
		h uint16
	}{
		{0, 0}, {1, 0x3c00}, {-2, 0xc000}, {0.5, 0x3800}, {65504, 0x7bff}, {65520, 0x7c00},
		{float32(math.Inf(-1)), 0xfc00}, {1.0 / (1 << 24), 0x0001}, {1.0 / (1 << 25), 0},
		{3.0 / (1 << 25), 0x0002}, {1.0 / (1 << 14), 0x0400}, {1 + 1.0/2048, 0x3c00}, {1 + 3.0/2048, 0x3c02},
		{0.1, 0x2e66}, {-0.0, 0},
	} {
		assert.Equal(t, c.h, f16(c.f), "%g", c.f)
	}
	assert.Equal(t, uint16(0x7e00), f16(float32(math.NaN())))
	// Every half survives a trip through float32.
	for h := 0; h < 1<<16; h++ {
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			continue // NaN
		}
		if got := f16(f16to32(uint16(h))); got != uint16(h) {
			t.Fatalf("%#04x came back as %#04x", h, got)
		}
	}
}

func TestWriteIsAtomic(t *testing.T) {
	dir := t.TempDir()
	_, err := Write(filepath.Join(dir, "missing", "m.gguf"), tiny(t, F16, 0))
	require.Error(t, err)
	path := filepath.Join(dir, "m.gguf")
	_, err = Write(path, tiny(t, F16, 0))
	require.NoError(t, err)
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, ents, 1, "no temporary left behind")
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), st.Mode().Perm())
}

func TestReadRejects(t *testing.T) {
	_, b := writeFile(t, tiny(t, Q8_0, 0))
	_, err := Read(bytes.NewReader(append([]byte("GGUX"), b[4:]...)))
	assert.ErrorContains(t, err, "magic")
	_, err = Read(bytes.NewReader(b[:1000]))
	assert.Error(t, err)
}

// The big sizes: shapes as the issue gives them, parameter counts, and a header that
// parses, without writing gigabytes.
func TestSizes(t *testing.T) {
	for _, c := range []struct {
		name                                       string
		layers, hidden, heads, kv, ffn, vocab, ctx int
		theta, eps                                 float32
		minParams, maxParams                       float64
	}{
		{"qwen0.5b", 24, 896, 14, 2, 4864, 151936, 32768, 1e6, 1e-6, 0.6e9, 0.65e9},
		{"3b", 28, 3072, 24, 8, 8192, 128256, 131072, 500000, 1e-5, 3e9, 3.7e9},
	} {
		s, err := LookupSize(c.name)
		require.NoError(t, err)
		assert.Equal(t, []int{c.layers, c.hidden, c.heads, c.kv, c.ffn, c.vocab, c.ctx},
			[]int{s.Layers, s.Hidden, s.Heads, s.KVHeads, s.FFN, s.Vocab, s.Context}, c.name)
		assert.Equal(t, c.theta, s.RopeTheta)
		assert.Equal(t, c.eps, s.RMSEps)
		o := Options{Size: s, Type: Q8_0}
		p := float64(o.Params())
		assert.True(t, p >= c.minParams && p <= c.maxParams, "%s: %g parameters", c.name, p)
		hdr, ts, err := o.header()
		require.NoError(t, err)
		f, err := Read(bytes.NewReader(hdr))
		require.NoError(t, err)
		assert.Equal(t, uint64(len(hdr)), f.DataOffset)
		assert.Len(t, f.Tensors, len(ts))
		assert.Len(t, f.Get("tokenizer.ggml.tokens"), c.vocab)
		n16, _ := Options{Size: s, Type: F16}.FileSize()
		n8, _ := o.FileSize()
		assert.InDelta(t, 2*p, float64(n16), 0.01*p, "f16 is two bytes a parameter")
		assert.InDelta(t, 34.0/32*p, float64(n8), 0.01*p)
	}
	_, err := LookupSize("7b")
	assert.ErrorContains(t, err, "tiny")
	_, err = ParseType("q4_0")
	assert.Error(t, err)
}

func TestModelfile(t *testing.T) {
	mf := Modelfile("m.gguf", tiny(t, Q8_0, 4))
	assert.Contains(t, mf, "\nFROM ./m.gguf\n")
	assert.Contains(t, mf, "\nTEMPLATE \"\"\"{{ .Prompt }}\"\"\"\n")
	assert.Contains(t, mf, "\nPARAMETER temperature 0\n")
	assert.Contains(t, mf, fmt.Sprintf("--seed %d", 4))
}

// The output layer's rows depend on token_embd's rows; a chunk boundary inside a row must
// not change them.
func TestOutputRowsAcrossChunks(t *testing.T) {
	o := tiny(t, Q8_0, 11)
	ts := o.Tensors()
	out := &ts[len(ts)-1]
	require.True(t, out.output)
	whole := make([]float32, out.Elements())
	(&filler{seed: 11}).fill(whole, out, 0)
	f := &filler{seed: 11}
	const piece = 998 // even, as chunks are, and no divisor of the row
	for start := 0; start < len(whole); start += piece {
		v := make([]float32, min(piece, len(whole)-start))
		f.fill(v, out, int64(start))
		require.Equal(t, whole[start:start+len(v)], v, "piece at %d", start)
	}
}

// The fast path of f16 agrees with the general conversion over many floats, including
// around every rounding boundary of the normal range.
func TestF16FastPath(t *testing.T) {
	for h := uint32(0x0400); h < 0x7c00; h++ { // every normal half, and halfway points
		lo := math.Float32bits(f16to32(uint16(h)))
		for _, b := range []uint32{lo, lo + 0x1000, lo + 0x0fff, lo + 0x1001, lo - 1} {
			for _, sgn := range []uint32{0, 0x80000000} {
				if f := math.Float32frombits(b | sgn); f16Slow(f) != f16(f) {
					t.Fatalf("%#08x: fast %#04x, slow %#04x", b|sgn, f16(f), f16Slow(f))
				}
			}
		}
	}
	v := make([]float32, 1<<16)
	uniform(v, 1, 0, 70000)
	for _, f := range v {
		if f16Slow(f) != f16(f) {
			t.Fatalf("%g: fast %#04x, slow %#04x", f, f16(f), f16Slow(f))
		}
	}
}
