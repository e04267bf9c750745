package cublas

import (
	"math"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

func TestHalfConversion(t *testing.T) {
	for _, f := range []float32{0, 1, -2, 0.5, 65504, 6.1035156e-05, 5.9604645e-08, -1.5} {
		assert.Equal(t, f, halfToFloat(floatToHalf(f)), "%g", f)
	}
	assert.Equal(t, uint16(0x3c00), floatToHalf(1))
	assert.Equal(t, uint16(0x7c00), floatToHalf(1e6), "overflow to infinity")
	assert.True(t, math.IsNaN(float64(halfToFloat(floatToHalf(float32(math.NaN()))))))
}

func TestGemmTransposesAndTypes(t *testing.T) {
	// A (2x3) = [1 2 3; 4 5 6] stored transposed (3x2 column-major), B (3x2), C = A*B.
	a := []float32{1, 2, 3, 4, 5, 6} // columns of A^T: (1,2,3), (4,5,6)
	b := []float32{1, 0, 1, 0, 1, 1} // columns of B: (1,0,1), (0,1,1)
	c := make([]uint16, 4)           // f16 output
	g := gemmCall{ta: 1, tb: 0, m: 2, n: 2, k: 3, alpha: 1, beta: 0,
		a: matrix{uintptr(unsafe.Pointer(&a[0])), typeF32, 3}, b: matrix{uintptr(unsafe.Pointer(&b[0])), typeF32, 3},
		c: matrix{uintptr(unsafe.Pointer(&c[0])), typeF16, 2}, accum32: true}
	g.run()
	got := []float32{halfToFloat(c[0]), halfToFloat(c[1]), halfToFloat(c[2]), halfToFloat(c[3])}
	assert.Equal(t, []float32{4, 10, 5, 11}, got)
}
