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
		a: matrix{uintptr(unsafe.Pointer(&a[0])), TypeF32, 3}, b: matrix{uintptr(unsafe.Pointer(&b[0])), TypeF32, 3},
		c: matrix{uintptr(unsafe.Pointer(&c[0])), typeF16, 2}, accum32: true}
	g.run()
	got := []float32{halfToFloat(c[0]), halfToFloat(c[1]), halfToFloat(c[2]), halfToFloat(c[3])}
	assert.Equal(t, []float32{4, 10, 5, 11}, got)
}

// The host's triangular solve inverts what it solves, for every side, fill, transpose and
// diagonal, as cuBLAS defines them.
func TestHostTrsmEveryForm(t *testing.T) {
	const m, n = 5, 4
	for side := int32(0); side < 2; side++ {
		for uplo := int32(0); uplo < 2; uplo++ {
			for trans := int32(0); trans < 2; trans++ {
				for diag := int32(0); diag < 2; diag++ {
					k := int64(m)
					if side == 1 {
						k = n
					}
					a := make([]float32, k*k)
					for j := int64(0); j < k; j++ {
						for i := int64(0); i < k; i++ {
							upperPart := i <= j
							if (uplo == 1) == upperPart || i == j { // the stored triangle
								a[j*k+i] = float32((i*7+j*3)%5) / 10
							}
							if i == j {
								a[j*k+i] = 2 + float32(i)/10
							}
						}
					}
					opA := func(i, j int64) float64 {
						if trans != 0 {
							i, j = j, i
						}
						if (uplo == 1) != (i <= j) && i != j {
							return 0 // outside the triangle cuBLAS reads
						}
						if diag == 1 && i == j {
							return 1
						}
						return float64(a[j*k+i])
					}
					x := make([]float64, m*n)
					for i := range x {
						x[i] = float64(i%7) - 3
					}
					const alpha = 2.0
					b := make([]float32, m*n) // column-major m x n: alpha * B = op(A) X or X op(A)
					for c := int64(0); c < n; c++ {
						for r := int64(0); r < m; r++ {
							var v float64
							for l := int64(0); l < k; l++ {
								if side == 0 {
									v += opA(r, l) * x[c*m+l]
								} else {
									v += x[l*m+r] * opA(l, c)
								}
							}
							b[c*m+r] = float32(v / alpha)
						}
					}
					hostTrsm(side, uplo, trans, diag, m, n, alpha,
						matrix{uintptr(unsafe.Pointer(&a[0])), TypeF32, k}, matrix{uintptr(unsafe.Pointer(&b[0])), TypeF32, m})
					for i := range x {
						assert.InDelta(t, x[i], float64(b[i]), 1e-4, "side %d uplo %d trans %d diag %d element %d", side, uplo, trans, diag, i)
					}
				}
			}
		}
	}
}
