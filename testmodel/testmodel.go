// Package testmodel writes GGUF model files with seeded random weights that llama.cpp and
// Ollama load and run: nothing here can download real weights, and a GPU stack is tested as
// well by a model whose text is noise as by one that talks, as long as the shapes, the tensor
// types and the file layout are real. The architecture is llama; the tokenizer is a
// SentencePiece-style byte vocabulary, so any text tokenizes (as byte tokens, and "▁" for
// a space).
package testmodel

import (
	"fmt"
	"strings"
)

// Size is a model shape. The larger ones copy real models' shapes so that kernels, memory
// estimates and offload decisions see what they would see with those models.
type Size struct {
	Name      string
	About     string // the model whose shape it copies
	Layers    int
	Hidden    int
	Heads     int
	KVHeads   int
	FFN       int
	Vocab     int // padded with unused tokens up to this
	Context   int
	RopeTheta float32
	RMSEps    float32
}

var sizes = []Size{
	{Name: "tiny", About: "a few MB for CI: 2 layers, grouped-query attention, head dim 64",
		Layers: 2, Hidden: 256, Heads: 4, KVHeads: 2, FFN: 512, Vocab: 512, Context: 4096,
		RopeTheta: 10000, RMSEps: 1e-5},
	{Name: "qwen0.5b", About: "qwen2.5-0.5B's shapes",
		Layers: 24, Hidden: 896, Heads: 14, KVHeads: 2, FFN: 4864, Vocab: 151936, Context: 32768,
		RopeTheta: 1e6, RMSEps: 1e-6},
	{Name: "3b", About: "llama-3.2-3B's shapes",
		Layers: 28, Hidden: 3072, Heads: 24, KVHeads: 8, FFN: 8192, Vocab: 128256, Context: 131072,
		RopeTheta: 500000, RMSEps: 1e-5},
}

// Sizes lists the built-in sizes, smallest first.
func Sizes() []Size { return append([]Size(nil), sizes...) }

// LookupSize finds a size by name.
func LookupSize(name string) (Size, error) {
	var names []string
	for _, s := range sizes {
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	return Size{}, fmt.Errorf("unknown size %q (want %s)", name, strings.Join(names, ", "))
}

// HeadDim is the per-head width of queries, keys and values.
func (s Size) HeadDim() int { return s.Hidden / s.Heads }

func (s Size) validate() error {
	switch {
	case s.Layers <= 0 || s.Hidden <= 0 || s.Heads <= 0 || s.KVHeads <= 0 || s.FFN <= 0:
		return fmt.Errorf("size %s: every dimension must be positive", s.Name)
	case s.Hidden%s.Heads != 0 || s.Heads%s.KVHeads != 0:
		return fmt.Errorf("size %s: hidden must divide into heads, heads into KV heads", s.Name)
	case s.Hidden%qk8 != 0 || s.FFN%qk8 != 0 || s.HeadDim()*s.KVHeads%qk8 != 0:
		// Q8_0 quantizes along ne[0] in blocks of 32.
		return fmt.Errorf("size %s: hidden, FFN and KV widths must be multiples of %d", s.Name, qk8)
	case s.Vocab < baseVocab:
		return fmt.Errorf("size %s: vocabulary below the %d byte and control tokens", s.Name, baseVocab)
	}
	return nil
}

// Type is the ggml type of the weight matrices; norms are always F32.
type Type uint32

// ggml's type numbers, as GGUF tensor infos carry them.
const (
	F32  Type = 0
	F16  Type = 1
	Q8_0 Type = 8
)

func (t Type) String() string {
	switch t {
	case F32:
		return "f32"
	case F16:
		return "f16"
	case Q8_0:
		return "q8_0"
	}
	return fmt.Sprintf("type%d", uint32(t))
}

// ParseType accepts the weight types a test model can have.
func ParseType(s string) (Type, error) {
	switch strings.ToLower(s) {
	case "f16":
		return F16, nil
	case "q8_0", "q8":
		return Q8_0, nil
	}
	return 0, fmt.Errorf("unknown type %q (want f16 or q8_0)", s)
}

// fileType is general.file_type: llama.cpp's LLAMA_FTYPE_MOSTLY_* for the weights' type.
func (t Type) fileType() uint32 {
	if t == Q8_0 {
		return 7
	}
	return 1
}

const qk8 = 32 // Q8_0 block: one f16 scale and 32 int8

// rowBytes is the storage of n consecutive elements of type t (n a multiple of the block).
func (t Type) rowBytes(n int64) int64 {
	switch t {
	case F32:
		return 4 * n
	case F16:
		return 2 * n
	case Q8_0:
		return n / qk8 * (2 + qk8)
	}
	panic("testmodel: no size for " + t.String())
}

// Options say which file to write. The same Options always give the same bytes.
type Options struct {
	Size    Size
	Type    Type
	Seed    uint64
	Workers int // goroutines generating weights; 0: GOMAXPROCS (does not change the bytes)
}

// Tensor is one tensor of the file, dims in ggml order: Dims[0] is the row length (the
// input dimension of a matrix).
type Tensor struct {
	Name   string
	Dims   []uint64
	Type   Type
	Offset uint64 // from the start of the data section
	Bytes  uint64 // without the padding to the alignment
	norm   bool   // filled with 1.0 rather than random values
	output bool   // the output layer: rows are tokens, see emits
}

// Elements is the product of the dimensions.
func (t Tensor) Elements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// Tensors lists the tensors in file order, with llama.cpp's names for the llama architecture.
func (o Options) Tensors() []Tensor {
	s := o.Size
	h, kv, f, v := uint64(s.Hidden), uint64(s.HeadDim()*s.KVHeads), uint64(s.FFN), uint64(s.Vocab)
	q := uint64(s.HeadDim() * s.Heads)
	mat := func(name string, in, out uint64) Tensor {
		return Tensor{Name: name, Dims: []uint64{in, out}, Type: o.Type}
	}
	norm := func(name string) Tensor {
		return Tensor{Name: name, Dims: []uint64{h}, Type: F32, norm: true}
	}
	ts := []Tensor{mat("token_embd.weight", h, v)}
	for i := 0; i < s.Layers; i++ {
		p := fmt.Sprintf("blk.%d.", i)
		ts = append(ts,
			norm(p+"attn_norm.weight"),
			mat(p+"attn_q.weight", h, q),
			mat(p+"attn_k.weight", h, kv),
			mat(p+"attn_v.weight", h, kv),
			mat(p+"attn_output.weight", q, h),
			norm(p+"ffn_norm.weight"),
			mat(p+"ffn_gate.weight", h, f),
			mat(p+"ffn_up.weight", h, f),
			mat(p+"ffn_down.weight", f, h),
		)
	}
	// Always an output.weight of its own, even where the copied model ties it to
	// token_embd: a tied output layer scores the current token highest, and the model would
	// repeat one token until Ollama aborts the generation (see fill).
	out := mat("output.weight", h, v)
	out.output = true
	ts = append(ts, norm("output_norm.weight"), out)
	var off uint64
	for i := range ts {
		ts[i].Offset = off
		ts[i].Bytes = uint64(ts[i].Type.rowBytes(int64(ts[i].Elements())))
		off += pad(ts[i].Bytes, Alignment)
	}
	return ts
}

// Params is the number of parameters (elements of all tensors).
func (o Options) Params() uint64 {
	var n uint64
	for _, t := range o.Tensors() {
		n += t.Elements()
	}
	return n
}

// FileSize is the exact size of the file Write produces.
func (o Options) FileSize() (int64, error) {
	hdr, ts, err := o.header()
	if err != nil {
		return 0, err
	}
	last := ts[len(ts)-1]
	return int64(len(hdr)) + int64(last.Offset+pad(last.Bytes, Alignment)), nil
}

// The vocabulary: <unk>, <s>, </s>, the 256 byte tokens, "▁" (SentencePiece's space), then
// unused padding. Byte fallback in both SentencePiece implementations (Ollama's and
// llama.cpp's) turns any text into byte tokens, so nothing is ever unknown; "▁" is there
// because both write a space as "▁" before tokenizing, which would otherwise cost three
// byte tokens.
const (
	unkID, bosID, eosID = 0, 1, 2
	firstByte           = 3
	spaceID             = firstByte + 256
	baseVocab           = spaceID + 1
)

// Token types, as llama.cpp's and Ollama's vocabularies number them.
const (
	tokNormal  = 1
	tokUnknown = 2
	tokControl = 3
	tokUnused  = 5
	tokByte    = 6
)

func vocabulary(n int) (tokens []string, scores []float32, types []int32) {
	tokens = make([]string, n)
	scores = make([]float32, n)
	types = make([]int32, n)
	tokens[unkID], types[unkID] = "<unk>", tokUnknown
	tokens[bosID], types[bosID] = "<s>", tokControl
	tokens[eosID], types[eosID] = "</s>", tokControl
	for b := 0; b < 256; b++ {
		tokens[firstByte+b], types[firstByte+b] = fmt.Sprintf("<0x%02X>", b), tokByte
	}
	tokens[spaceID], types[spaceID] = "\u2581", tokNormal
	// Unused tokens keep the embedding and output shapes of the real models; names are
	// unique because llama.cpp asserts that, and never match text because no merges lead
	// to them. A very low score keeps SentencePiece from ever preferring them.
	for i := baseVocab; i < n; i++ {
		tokens[i], types[i], scores[i] = fmt.Sprintf("<unused%d>", i-baseVocab), tokUnused, -1e9
	}
	return tokens, scores, types
}

// emits says whether the model can produce token id: "▁" and the byte tokens of printable
// ASCII but space (which tokenizes as "▁"), tab and newline. Every other row of the output
// layer is zero, so its logit is exactly 0 while ~95 random logits compete above it; greedy
// decoding then always picks a token that decodes to valid text, which re-tokenizes to the
// very same ids (Ollama's "context"), and never ends the sequence early with </s>.
func emits(id int) bool {
	b := id - firstByte
	return id == spaceID || b == '\t' || b == '\n' || b > ' ' && b <= '~'
}

// metadata is the file's key-value pairs, in file order.
func (o Options) metadata() []KV {
	s := o.Size
	tokens, scores, types := vocabulary(s.Vocab)
	a := "llama."
	return []KV{
		{"general.architecture", "llama"},
		{"general.name", "vgpu testmodel " + s.Name},
		{"general.description", fmt.Sprintf("random weights (seed %d) in %s's shapes, written by vgpu testmodel", o.Seed, s.Name)},
		{"general.file_type", o.Type.fileType()},
		{"general.quantization_version", uint32(2)},
		{"general.alignment", uint32(Alignment)},
		{a + "vocab_size", uint32(s.Vocab)},
		{a + "context_length", uint32(s.Context)},
		{a + "embedding_length", uint32(s.Hidden)},
		{a + "block_count", uint32(s.Layers)},
		{a + "feed_forward_length", uint32(s.FFN)},
		{a + "attention.head_count", uint32(s.Heads)},
		{a + "attention.head_count_kv", uint32(s.KVHeads)},
		{a + "attention.key_length", uint32(s.HeadDim())},
		{a + "attention.value_length", uint32(s.HeadDim())},
		{a + "rope.dimension_count", uint32(s.HeadDim())},
		{a + "rope.freq_base", s.RopeTheta},
		{a + "attention.layer_norm_rms_epsilon", s.RMSEps},
		{"tokenizer.ggml.model", "llama"},
		{"tokenizer.ggml.tokens", tokens},
		{"tokenizer.ggml.scores", scores},
		{"tokenizer.ggml.token_type", types},
		{"tokenizer.ggml.bos_token_id", uint32(bosID)},
		{"tokenizer.ggml.eos_token_id", uint32(eosID)},
		{"tokenizer.ggml.unknown_token_id", uint32(unkID)},
		{"tokenizer.ggml.add_bos_token", true},
		{"tokenizer.ggml.add_eos_token", false},
		// Ollama's SentencePiece never adds a leading "▁"; llama.cpp would by default. Off,
		// both runners turn the same prompt into the same tokens.
		{"tokenizer.ggml.add_space_prefix", false},
	}
}

// Modelfile is an Ollama Modelfile for the model written as gguf (a path relative to the
// Modelfile, which Ollama resolves from the Modelfile's directory). The template passes
// prompts through unchanged and sampling is greedy, so a prompt gives the same tokens on
// every run.
func Modelfile(gguf string, o Options) string {
	return fmt.Sprintf(`# vgpu testmodel --size %s --type %s --seed %d: llama with random weights (%s).
# The text is noise, but the same prompt always gives the same tokens.
FROM ./%s
TEMPLATE """{{ .Prompt }}"""
PARAMETER temperature 0
PARAMETER top_k 1
PARAMETER num_ctx %d
`, o.Size.Name, o.Type, o.Seed, o.Size.About, gguf, min(o.Size.Context, 4096))
}
