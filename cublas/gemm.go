package cublas

import (
	"math"
	"unsafe"

	"vgpu/shim"
	"vgpu/shim/api"
)

// cudaDataType values and cublasComputeType_t values GEMMs accept.
const (
	TypeF32  = 0
	typeF64  = 1
	typeF16  = 2
	typeBF16 = 14

	compute16F  = 64
	Compute32F  = 68
	compute64F  = 70
	compute32Fa = 69 // pedantic
	compute32Fb = 74 // fast 16F
	compute32Fc = 75 // fast 16BF
	compute32Fd = 77 // fast TF32
	compute16Fp = 65
	compute64Fp = 71
)

// matrix reads and writes one operand's elements.
type matrix struct {
	base uintptr
	typ  int32
	ld   int64
}

func elemSize(t int32) int64 {
	switch t {
	case TypeF32:
		return 4
	case typeF64:
		return 8
	case typeF16, typeBF16:
		return 2
	}
	return 0
}

func (m matrix) at(i, j int64) unsafe.Pointer {
	return unsafe.Pointer(m.base + uintptr((j*m.ld+i)*elemSize(m.typ)))
}

func (m matrix) get(i, j int64) float64 {
	p := m.at(i, j)
	switch m.typ {
	case TypeF32:
		return float64(*(*float32)(p))
	case typeF64:
		return *(*float64)(p)
	case typeF16:
		return float64(halfToFloat(*(*uint16)(p)))
	default:
		return float64(math.Float32frombits(uint32(*(*uint16)(p)) << 16))
	}
}

func (m matrix) set(i, j int64, v float64) {
	p := m.at(i, j)
	switch m.typ {
	case TypeF32:
		*(*float32)(p) = float32(v)
	case typeF64:
		*(*float64)(p) = v
	case typeF16:
		*(*uint16)(p) = floatToHalf(float32(v))
	default:
		b := math.Float32bits(float32(v))
		b += 0x7fff + (b>>16)&1 // round to nearest even
		*(*uint16)(p) = uint16(b >> 16)
	}
}

// span is the bytes an operand of rows x cols with leading dimension ld touches.
func (m matrix) span(rows, cols int64) uint64 {
	if rows == 0 || cols == 0 {
		return 0
	}
	return uint64(((cols-1)*m.ld + rows) * elemSize(m.typ))
}

type gemmCall struct {
	ta, tb  int32
	m, n, k int64
	alpha   float64
	beta    float64
	a, b, c matrix
	accum32 bool // round the accumulator to float32, as 32F compute does
	accum16 bool
}

func (g *gemmCall) validate() shim.Status {
	ar, ac := g.m, g.k
	if g.ta != 0 {
		ar, ac = g.k, g.m
	}
	br, bc := g.k, g.n
	if g.tb != 0 {
		br, bc = g.n, g.k
	}
	for _, x := range []struct {
		mt         matrix
		rows, cols int64
	}{{g.a, ar, ac}, {g.b, br, bc}, {g.c, g.m, g.n}} {
		if n := x.mt.span(x.rows, x.cols); n > 0 {
			if _, st := shim.DeviceRange(x.mt.base, n); st != shim.OK {
				return st
			}
		}
	}
	return shim.OK
}

func (g *gemmCall) run() {
	for j := int64(0); j < g.n; j++ {
		for i := int64(0); i < g.m; i++ {
			var acc float64
			for l := int64(0); l < g.k; l++ {
				var x, y float64
				if g.ta == 0 {
					x = g.a.get(i, l)
				} else {
					x = g.a.get(l, i)
				}
				if g.tb == 0 {
					y = g.b.get(l, j)
				} else {
					y = g.b.get(j, l)
				}
				acc += x * y
				if g.accum32 {
					acc = float64(float32(acc))
				} else if g.accum16 {
					acc = float64(halfToFloat(floatToHalf(float32(acc))))
				}
			}
			v := g.alpha * acc
			if g.beta != 0 {
				v += g.beta * g.c.get(i, j)
			}
			g.c.set(i, j, v)
		}
	}
}

// scalar reads alpha or beta in the compute type's scalar format.
func scalar(p uintptr, compute int32) float64 {
	switch api.ScalarBytes(uint64(compute)) {
	case 2:
		return float64(halfToFloat(*(*uint16)(unsafe.Pointer(p))))
	case 8:
		return *(*float64)(unsafe.Pointer(p))
	}
	return float64(*(*float32)(unsafe.Pointer(p)))
}

// deviceScalars reports whether scalars given in device pointer mode lie in device memory
// (the caller's own, on a server): the sim reads them on the host, and a backend's cuBLAS
// on the GPU, so a wild address is refused instead of followed.
func deviceScalars(n int, ps ...uintptr) bool {
	for _, p := range ps {
		if _, st := shim.DeviceRange(p, uint64(n)); st != shim.OK {
			return false
		}
	}
	return true
}

// CheckGemm validates a GEMM's arguments as cuBLAS does before it queues anything: a
// remote client runs it before posting the call, so a bad argument is still reported by
// the call itself.
func CheckGemm(ta, tb, m, n, k, lda, ldb, ldc, count, at, bt, ct, compute int32, alpha, beta uintptr) Status {
	if ta < 0 || ta > 2 || tb < 0 || tb > 2 || m < 0 || n < 0 || k < 0 || count < 0 || alpha == 0 || beta == 0 {
		return InvalidValue
	}
	rowsA, rowsB := m, k
	if ta != 0 {
		rowsA = k
	}
	if tb != 0 {
		rowsB = n
	}
	if lda < max(1, rowsA) || ldb < max(1, rowsB) || ldc < max(1, m) {
		return InvalidValue
	}
	for _, t := range []int32{at, bt, ct} {
		if elemSize(t) == 0 {
			return NotSupported
		}
	}
	switch compute {
	case compute16F, compute16Fp, Compute32F, compute32Fa, compute32Fb, compute32Fc, compute32Fd, compute64F, compute64Fp:
		return Success
	}
	return InvalidValue
}

// gemmBatch checks the arguments, then runs (or, on a capturing stream, records) the batch:
// on the host for the sim backend, through the backend's own cuBLAS for one that has it.
func gemmBatch(h uintptr, g shim.GemmCall, alphaP, betaP uintptr, operands func(i int64) (a, b, c uintptr)) Status {
	hd, st := handle(h)
	if st != Success {
		return st
	}
	if st := CheckGemm(g.TA, g.TB, g.M, g.N, g.K, g.LDA, g.LDB, g.LDC, g.Count, g.AType, g.BType, g.CType, g.Compute, alphaP, betaP); st != Success {
		return st
	}
	if hd.PointerMode == PointerModeDevice && !deviceScalars(api.ScalarBytes(uint64(g.Compute)), alphaP, betaP) {
		return InvalidValue
	}
	s, sst := shim.ResolveStream(hd.Stream, hd.Dev)
	if sst != shim.OK {
		return InvalidValue
	}
	if g.M == 0 || g.N == 0 || g.Count == 0 {
		return Success
	}
	var work func() shim.Status
	blas, capturable := shim.S().Backend.(shim.BlasBackend)
	if capturable {
		g.Math, g.Dev = hd.Math, hd.Dev.Index
		if hd.PointerMode == PointerModeDevice {
			g.AlphaDev, g.BetaDev = alphaP, betaP
		} else { // copied now: a captured call replays later, when the program's scalars are gone
			n := uintptr(api.ScalarBytes(uint64(g.Compute)))
			copy(g.Alpha[:], unsafe.Slice((*byte)(unsafe.Pointer(alphaP)), n))
			copy(g.Beta[:], unsafe.Slice((*byte)(unsafe.Pointer(betaP)), n))
		}
		work = func() shim.Status { return blas.Gemm(&g) }
	} else {
		work = hostGemm(g, scalar(alphaP, g.Compute), scalar(betaP, g.Compute), operands)
	}
	// A backend's own cuBLAS works on its current stream, so it can be recorded into the
	// backend's graphs; the host computation cannot.
	node := shim.Node{Kind: shim.NodeHost, Run: work, Capturable: capturable}
	if s.Capturing() != nil {
		// Recorded, not run: Ollama captures with placeholder pointers to measure graphs.
		s.Enqueue(node)
		return Success
	}
	if st := s.Enqueue(node); st != shim.OK {
		if st == shim.ErrInvalidValue {
			return InvalidValue
		}
		return ExecFailed
	}
	return Success
}

// hostGemm computes the batch on the host, from sim device memory.
func hostGemm(g shim.GemmCall, alpha, beta float64, operands func(i int64) (a, b, c uintptr)) func() shim.Status {
	return func() shim.Status {
		for i := int64(0); i < int64(g.Count); i++ {
			a, b, c := operands(i)
			h := gemmCall{ta: g.TA, tb: g.TB, m: int64(g.M), n: int64(g.N), k: int64(g.K), alpha: alpha, beta: beta,
				a: matrix{a, g.AType, int64(g.LDA)}, b: matrix{b, g.BType, int64(g.LDB)}, c: matrix{c, g.CType, int64(g.LDC)},
				accum32: g.Compute != compute64F && g.Compute != compute64Fp && g.Compute != compute16F && g.Compute != compute16Fp,
				accum16: g.Compute == compute16F || g.Compute == compute16Fp}
			if st := h.validate(); st != shim.OK {
				return st
			}
			h.run()
		}
		return shim.OK
	}
}

// gemm builds the call record shared by every GEMM entry point.
func gemm(fn int, ta, tb, m, n, k int32, a uintptr, at, lda int32, b uintptr, bt, ldb int32, c uintptr, ct, ldc int32, count, compute, algo int32) shim.GemmCall {
	return shim.GemmCall{Fn: fn, TA: ta, TB: tb, M: m, N: n, K: k, A: a, B: b, C: c, AType: at, BType: bt, CType: ct,
		LDA: lda, LDB: ldb, LDC: ldc, Count: count, Compute: compute, Algo: algo}
}

func single(a, b, c uintptr) func(int64) (uintptr, uintptr, uintptr) {
	return func(int64) (uintptr, uintptr, uintptr) { return a, b, c }
}

// strided walks a strided batch.
func strided(g *shim.GemmCall) func(i int64) (uintptr, uintptr, uintptr) {
	return func(i int64) (uintptr, uintptr, uintptr) {
		return g.A + uintptr(i*g.StrideA*elemSize(g.AType)), g.B + uintptr(i*g.StrideB*elemSize(g.BType)), g.C + uintptr(i*g.StrideC*elemSize(g.CType))
	}
}

// Sgemm is cublasSgemm_v2.
func Sgemm(h uintptr, ta, tb, m, n, k int32, alpha, a uintptr, lda int32, b uintptr, ldb int32, beta, c uintptr, ldc int32) Status {
	g := gemm(shim.GemmSgemm, ta, tb, m, n, k, a, TypeF32, lda, b, TypeF32, ldb, c, TypeF32, ldc, 1, Compute32F, -1)
	return gemmBatch(h, g, alpha, beta, single(a, b, c))
}

// GemmEx is cublasGemmEx.
func GemmEx(h uintptr, ta, tb, m, n, k int32, alpha, a uintptr, at, lda int32, b uintptr, bt, ldb int32, beta, c uintptr, ct, ldc int32, compute, algo int32) Status {
	g := gemm(shim.GemmEx, ta, tb, m, n, k, a, at, lda, b, bt, ldb, c, ct, ldc, 1, compute, algo)
	return gemmBatch(h, g, alpha, beta, single(a, b, c))
}

// GemmStridedBatchedEx is cublasGemmStridedBatchedEx.
func GemmStridedBatchedEx(h uintptr, ta, tb, m, n, k int32, alpha, a uintptr, at, lda int32, sa int64, b uintptr, bt, ldb int32, sb int64,
	beta, c uintptr, ct, ldc int32, sc int64, count, compute, algo int32) Status {
	g := gemm(shim.GemmStridedBatchedEx, ta, tb, m, n, k, a, at, lda, b, bt, ldb, c, ct, ldc, count, compute, algo)
	g.StrideA, g.StrideB, g.StrideC = sa, sb, sc
	return gemmBatch(h, g, alpha, beta, strided(&g))
}

// pointerArrays reads operand i from device-resident pointer arrays. Each slot is checked
// when it is read: a call recorded in a graph was not checked at the call (a capture takes
// placeholder pointers), and its arrays may be gone by the replay. An unreadable slot reads
// as NULL, which the operand checks then refuse.
func pointerArrays(a, b, c uintptr) func(i int64) (uintptr, uintptr, uintptr) {
	return func(i int64) (uintptr, uintptr, uintptr) {
		rd := func(arr uintptr) uintptr {
			slot := arr + uintptr(8*i)
			if _, st := shim.DeviceRange(slot, 8); st != shim.OK {
				return 0
			}
			return *(*uintptr)(unsafe.Pointer(slot))
		}
		return rd(a), rd(b), rd(c)
	}
}

// checkArrays makes sure the pointer arrays themselves are readable device memory.
func checkArrays(count int32, arrays ...uintptr) bool {
	for _, p := range arrays {
		if count > 0 {
			if _, st := shim.DeviceRange(p, uint64(count)*8); st != shim.OK {
				return false
			}
		}
	}
	return true
}

// batched is a GEMM over device-resident pointer arrays.
func batched(h uintptr, g shim.GemmCall, alpha, beta uintptr) Status {
	if hd, st := handle(h); st == Success {
		if s, _ := shim.ResolveStream(hd.Stream, hd.Dev); s != nil && s.Capturing() == nil && !checkArrays(g.Count, g.A, g.B, g.C) {
			return InvalidValue
		}
	}
	return gemmBatch(h, g, alpha, beta, pointerArrays(g.A, g.B, g.C))
}

// GemmBatchedEx is cublasGemmBatchedEx.
func GemmBatchedEx(h uintptr, ta, tb, m, n, k int32, alpha, a uintptr, at, lda int32, b uintptr, bt, ldb int32,
	beta, c uintptr, ct, ldc int32, count, compute, algo int32) Status {
	return batched(h, gemm(shim.GemmBatchedEx, ta, tb, m, n, k, a, at, lda, b, bt, ldb, c, ct, ldc, count, compute, algo), alpha, beta)
}

// SgemmStridedBatched is cublasSgemmStridedBatched.
func SgemmStridedBatched(h uintptr, ta, tb, m, n, k int32, alpha, a uintptr, lda int32, sa int64, b uintptr, ldb int32, sb int64,
	beta, c uintptr, ldc int32, sc int64, count int32) Status {
	g := gemm(shim.GemmSgemmStridedBatched, ta, tb, m, n, k, a, TypeF32, lda, b, TypeF32, ldb, c, TypeF32, ldc, count, Compute32F, -1)
	g.StrideA, g.StrideB, g.StrideC = sa, sb, sc
	return gemmBatch(h, g, alpha, beta, strided(&g))
}

// SgemmBatched is cublasSgemmBatched.
func SgemmBatched(h uintptr, ta, tb, m, n, k int32, alpha, a uintptr, lda int32, b uintptr, ldb int32, beta, c uintptr, ldc int32, count int32) Status {
	return batched(h, gemm(shim.GemmSgemmBatched, ta, tb, m, n, k, a, TypeF32, lda, b, TypeF32, ldb, c, TypeF32, ldc, count, Compute32F, -1), alpha, beta)
}

// CheckTrsm validates a batched triangular solve's arguments (run by a remote client too).
func CheckTrsm(side, uplo, trans, diag, m, n, lda, ldb, count int32, alpha uintptr) Status {
	rowsA := m
	if side == 1 { // CUBLAS_SIDE_RIGHT
		rowsA = n
	}
	if m < 0 || n < 0 || count < 0 || side < 0 || side > 1 || uplo < 0 || uplo > 1 || trans < 0 || trans > 2 ||
		diag < 0 || diag > 1 || alpha == 0 || lda < max(1, rowsA) || ldb < max(1, m) {
		return InvalidValue
	}
	return Success
}

// hostTrsm solves op(A)·X = alpha·B (side left) or X·op(A) = alpha·B (side right) in place
// in B, for a triangular A, in float64 with float32 storage.
func hostTrsm(side, uplo, trans, diag int32, m, n int64, alpha float64, a, b matrix) {
	k := m // A's order
	if side == 1 {
		k = n
	}
	// op(A)[i][j]; after a transpose an upper matrix is lower.
	at := func(i, j int64) float64 {
		if trans != 0 {
			i, j = j, i
		}
		if diag == 1 && i == j {
			return 1
		}
		return a.get(i, j)
	}
	upper := (uplo == 1) != (trans != 0) // CUBLAS_FILL_MODE_UPPER is 1
	order := make([]int64, k)
	for i := range order {
		order[i] = int64(i)
	}
	if side == 0 && upper || side == 1 && !upper { // back substitution
		for i, j := 0, len(order)-1; i < j; i, j = i+1, j-1 {
			order[i], order[j] = order[j], order[i]
		}
	}
	x := make([]float64, k)
	if side == 0 { // each column of B: op(A)·x = alpha·b
		for c := int64(0); c < n; c++ {
			for _, i := range order {
				v := alpha * b.get(i, c)
				for _, j := range order {
					if j == i {
						break
					}
					v -= at(i, j) * x[j]
				}
				x[i] = v / at(i, i)
			}
			for i := int64(0); i < k; i++ {
				b.set(i, c, x[i])
			}
		}
		return
	}
	for r := int64(0); r < m; r++ { // each row of B: x·op(A) = alpha·b
		for _, j := range order {
			v := alpha * b.get(r, j)
			for _, i := range order {
				if i == j {
					break
				}
				v -= x[i] * at(i, j)
			}
			x[j] = v / at(j, j)
		}
		for j := int64(0); j < k; j++ {
			b.set(r, j, x[j])
		}
	}
}

// StrsmBatched is cublasStrsmBatched: NVIDIA's cuBLAS on a local backend, the host on sim.
func StrsmBatched(h uintptr, side, uplo, trans, diag, m, n int32, alpha, a uintptr, lda int32, b uintptr, ldb int32, count int32) Status {
	hd, st := handle(h)
	if st != Success {
		return st
	}
	if st := CheckTrsm(side, uplo, trans, diag, m, n, lda, ldb, count, alpha); st != Success {
		return st
	}
	if hd.PointerMode == PointerModeDevice && !deviceScalars(4, alpha) {
		return InvalidValue
	}
	s, sst := shim.ResolveStream(hd.Stream, hd.Dev)
	if sst != shim.OK {
		return InvalidValue
	}
	if m == 0 || n == 0 || count == 0 {
		return Success
	}
	var work func() shim.Status
	blas, capturable := shim.S().Backend.(shim.BlasBackend)
	if capturable {
		t := shim.TrsmCall{Dev: hd.Dev.Index, Side: side, Uplo: uplo, Trans: trans, Diag: diag, M: m, N: n, A: a, LDA: lda, B: b, LDB: ldb,
			Count: count, Math: hd.Math}
		if hd.PointerMode == PointerModeDevice {
			t.AlphaDev = alpha
		} else {
			copy(t.Alpha[:], unsafe.Slice((*byte)(unsafe.Pointer(alpha)), 4))
		}
		work = func() shim.Status { return blas.Trsm(&t) }
	} else {
		al := float64(*(*float32)(unsafe.Pointer(alpha)))
		work = func() shim.Status {
			if !checkArrays(count, a, b) {
				return shim.ErrInvalidValue
			}
			operands := pointerArrays(a, b, b)
			order := int64(m) // A is order x order
			if side == 1 {
				order = int64(n)
			}
			for i := int64(0); i < int64(count); i++ {
				pa, pb, _ := operands(i)
				ma, mb := matrix{pa, TypeF32, int64(lda)}, matrix{pb, TypeF32, int64(ldb)}
				// The operands' addresses are data in device memory: each must be device
				// memory of the extent the solve touches, or the host would follow them.
				if _, st := shim.DeviceRange(pa, ma.span(order, order)); st != shim.OK {
					return shim.ErrInvalidValue
				}
				if _, st := shim.DeviceRange(pb, mb.span(int64(m), int64(n))); st != shim.OK {
					return shim.ErrInvalidValue
				}
				hostTrsm(side, uplo, trans, diag, int64(m), int64(n), al, ma, mb)
			}
			return shim.OK
		}
	}
	node := shim.Node{Kind: shim.NodeHost, Capturable: capturable, Run: work}
	if st := s.Enqueue(node); st != shim.OK {
		return ExecFailed
	}
	return Success
}

func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		f := float32(frac) / 1024 * float32(math.Pow(2, -14))
		if sign != 0 {
			return -f
		}
		return f
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
}

func floatToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23&0xff) - 127 + 15
	frac := b & 0x7fffff
	switch {
	case int32(b>>23&0xff) == 0xff: // inf or nan
		if frac != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp >= 0x1f:
		return sign | 0x7c00
	case exp <= 0:
		if exp < -10 {
			return sign
		}
		frac |= 0x800000
		shift := uint32(14 - exp)
		half := frac >> shift
		rem := frac & (1<<shift - 1)
		if rem > 1<<(shift-1) || (rem == 1<<(shift-1) && half&1 != 0) {
			half++
		}
		return sign | uint16(half)
	}
	half := uint32(exp)<<10 | frac>>13
	rem := frac & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && half&1 != 0) {
		half++
	}
	return sign | uint16(half)
}
