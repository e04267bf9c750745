package testmodel

import "math"

// How the values are chosen. Everything is uniform random except:
//
//   - norms are 1.0;
//   - matrices use ±1/sqrt(fan_in), which keeps each layer's output at about the scale of
//     its input, so 28 random layers stay finite in f16;
//   - token_embd has unit variance, so the current token's embedding is still a large part
//     of the residual stream at the output;
//   - output.weight rows of tokens the model must not emit are zero (see emits), and each
//     other row t has -antiRepeat × token t's unit embedding direction added. The current
//     token then scores well below the rest, so greedy decoding never emits the same token
//     twice in a row: a random model otherwise falls into one repeated token, which
//     Ollama stops after 30 repeats with no final "done" response.
const antiRepeat = 8

func embedBound() float32 { return float32(math.Sqrt(3)) }

func bound(t *Tensor) float32 {
	if t.Name == "token_embd.weight" {
		return embedBound()
	}
	return float32(1 / math.Sqrt(float64(t.Dims[0])))
}

// filler computes a tensor's values; one per worker, for its scratch row.
type filler struct {
	seed uint64
	row  []float32
}

// fill sets v to the values start... of tensor t.
func (f *filler) fill(v []float32, t *Tensor, start int64) {
	if t.norm {
		for i := range v {
			v[i] = 1
		}
		return
	}
	uniform(v, streamBase(f.seed, t.Name), start, bound(t))
	if !t.output {
		return
	}
	d := int64(t.Dims[0])
	if int64(len(f.row)) < d {
		f.row = make([]float32, d)
	}
	emb := f.row[:d]
	embBase := streamBase(f.seed, "token_embd.weight")
	for i := int64(0); i < int64(len(v)); {
		r := (start + i) / d
		lo := start + i - r*d // first column of row r in v
		end := min(i+d-lo, int64(len(v)))
		if !emits(int(r)) {
			clear(v[i:end])
		} else {
			uniform(emb, embBase, r*d, embedBound()) // token r's embedding, as token_embd has it
			var n float64
			for _, e := range emb {
				n += float64(e) * float64(e)
			}
			k := float32(antiRepeat / math.Sqrt(n*float64(d)))
			for j := i; j < end; j++ {
				v[j] -= k * emb[lo+j-i]
			}
		}
		i = end
	}
}
