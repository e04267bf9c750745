package testmodel

import (
	"encoding/binary"
	"hash/fnv"
	"math"
)

// The weights come from splitmix64 used as a counter-based generator: value i of a tensor
// depends only on (seed, tensor name, i), so any goroutine can fill any chunk and the file
// does not depend on how the work was split.

const golden = 0x9e3779b97f4a7c15

func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// streamBase is the generator state of a tensor; naming it by its name, not its position,
// keeps a tensor's values the same if the tensor list ever changes.
func streamBase(seed uint64, name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return mix64(seed*golden ^ h.Sum64())
}

// uniform fills dst with the tensor's values start, start+1, ... (start even): each 64-bit
// output gives two 24-bit uniforms in [-bound, bound).
func uniform(dst []float32, base uint64, start int64, bound float32) {
	k := 2 * bound / (1 << 24)
	for i := 0; i < len(dst); i += 2 {
		r := mix64(base + uint64(start/2+int64(i/2)+1)*golden)
		dst[i] = float32(uint32(r)>>8)*k - bound
		if i+1 < len(dst) {
			dst[i+1] = float32(uint32(r>>32)>>8)*k - bound
		}
	}
}

// f16 converts to IEEE half precision, rounding to nearest even; overflow goes to infinity.
// Weights are normal halves, so that case is a few integer operations, small enough to
// inline; the rest goes to f16Slow.
func f16(f float32) uint16 {
	b := math.Float32bits(f)
	x := b & 0x7fffffff
	if x-0x38800000 < 0x47800000-0x38800000 { // 2^-14 <= |f| < 2^16
		x += 0xfff + x>>13&1                                       // round the 13 dropped bits to even
		return uint16(b>>16)&0x8000 | uint16((x-(127-15)<<23)>>13) // a carry to 2^16 gives infinity
	}
	return f16Slow(f)
}

func f16Slow(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	man := b & 0x7fffff
	if exp == 0xff {
		if man != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 { // subnormal half, or zero
		if e < -10 {
			return sign
		}
		man |= 0x800000
		shift := uint32(14 - e)
		h := man >> shift
		rem, mid := man&(1<<shift-1), uint32(1)<<(shift-1)
		if rem > mid || rem == mid && h&1 == 1 {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | man>>13
	if rem := man & 0x1fff; rem > 0x1000 || rem == 0x1000 && h&1 == 1 {
		h++ // a carry into the exponent is the right result, up to infinity
	}
	return sign | uint16(h)
}

// f16to32 widens a half; exact.
func f16to32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	man := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp == 0 && man == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: man × 2^-24
		f := float32(man) / (1 << 24)
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
}

func encodeF16(dst []byte, src []float32) {
	dst = dst[:2*len(src)]
	for i, f := range src {
		h := f16(f)
		dst[2*i], dst[2*i+1] = byte(h), byte(h>>8)
	}
}

func encodeF32(dst []byte, src []float32) {
	for i, f := range src {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(f))
	}
}

// quantizeQ8_0 writes ggml's Q8_0 blocks: per 32 values, d = max|x|/127 as an f16, then
// round(x/d) as int8. len(src) is a multiple of 32.
func quantizeQ8_0(dst []byte, src []float32) {
	for b := 0; b < len(src)/qk8; b++ {
		x := src[b*qk8 : (b+1)*qk8]
		var amax float32
		for _, v := range x {
			amax = max(amax, math.Float32frombits(math.Float32bits(v)&0x7fffffff))
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		out := dst[b*(2+qk8) : (b+1)*(2+qk8)]
		h := f16(d)
		out[0], out[1] = byte(h), byte(h>>8)
		q := out[2:]
		for i, v := range x {
			// Round half away from zero, as C's roundf, without a branch on the sign:
			// exact, since a float64 holds a float32 plus 0.5 without rounding, and the
			// truncation of |v×id|+0.5 <= 127.5 fits an int8.
			r := float64(v * id)
			q[i] = byte(int8(r + math.Copysign(0.5, r)))
		}
	}
}

// dequantizeQ8_0 is the inverse, as ggml computes it (the f16 scale times the int8).
func dequantizeQ8_0(dst []float32, src []byte) {
	for b := 0; b < len(dst)/qk8; b++ {
		in := src[b*(2+qk8):]
		d := f16to32(binary.LittleEndian.Uint16(in))
		for i := 0; i < qk8; i++ {
			dst[b*qk8+i] = float32(int8(in[2+i])) * d
		}
	}
}
