package cuda

import (
	"unsafe"

	"vgpu/shim"
)

// Batched copies (cuMemcpyBatchAsync, cuMemcpy3DBatchAsync and the runtime's forms, CUDA
// 12.8+). A batch is read and checked whole before any copy is issued: its attributes, then
// every entry; a bad entry answers INVALID_VALUE with *failIdx its index, an error that is no
// one entry's with *failIdx SIZE_MAX. Each entry then becomes pitched copies (Copy2D) that go
// through the ordinary copy path: in process shim.Memcpy2D, over remote the client's copies
// (host bytes travel as for cuMemcpy2DAsync). The runtime's structures have the driver's
// layout, so cudart reads them here too.

// NoIndex is *failIdx for an error that concerns no particular copy (SIZE_MAX).
const NoIndex = ^uint64(0)

// MaxBatch bounds a batch's entries (and attribute sets): a count beyond it is an invalid
// value rather than a walk through the caller's memory.
const MaxBatch = 1 << 20

// CUmemcpySrcAccessOrder and CUmemcpyFlags values.
const (
	srcOrderStream        = 1
	srcOrderDuringAPICall = 2
	srcOrderAny           = 3
	memcpyPreferOverlap   = 1
)

// CUmemcpy3DOperandType values.
const (
	operandPointer = 1
	operandArray   = 2
)

// BatchPlan is a checked batch: per entry, the pitched copies that make it.
type BatchPlan [][]Copy2D

// LegacyStream reports whether h names the legacy default stream (NULL or CU_STREAM_LEGACY),
// which the batched copies refuse.
func LegacyStream(h uintptr) bool { return h == 0 || h == 1 }

// locHint checks a CUmemLocation (type, id): invalid (no hint), device, host, host NUMA node,
// current host NUMA node.
func locHint(b []byte) bool {
	t, id := shim.Le.Uint32(b), int32(shim.Le.Uint32(b[4:]))
	if t > 4 {
		return false
	}
	return t != 1 || id >= 0
}

// attrOK checks one CUmemcpyAttributes (24 bytes): source access order, source and
// destination location hints, flags.
func attrOK(b []byte) bool {
	order := shim.Le.Uint32(b)
	if order < srcOrderStream || order > srcOrderAny {
		return false
	}
	return locHint(b[4:]) && locHint(b[12:]) && shim.Le.Uint32(b[20:])&^memcpyPreferOverlap == 0
}

// Batch1DAt reads cuMemcpyBatchAsync's arrays: count destinations, sources and sizes, and
// numAttrs attribute sets, attrsIdxs[k] the first copy set k applies to (0 first, strictly
// increasing). It returns the plan, or the failing index and the error.
func Batch1DAt(dsts, srcs, sizes unsafe.Pointer, count uint64, attrs, attrsIdxs unsafe.Pointer, numAttrs uint64) (BatchPlan, uint64, Result) {
	if count == 0 || count > MaxBatch || dsts == nil || srcs == nil || sizes == nil {
		return nil, NoIndex, ErrorInvalidValue
	}
	if numAttrs == 0 || numAttrs > count || attrs == nil || attrsIdxs == nil {
		return nil, NoIndex, ErrorInvalidValue
	}
	ab, ib := shim.View(attrs, int(24*numAttrs)), shim.View(attrsIdxs, int(8*numAttrs))
	for k := uint64(0); k < numAttrs; k++ {
		first := shim.Le.Uint64(ib[8*k:])
		if (k == 0 && first != 0) || first >= count || (k > 0 && first <= shim.Le.Uint64(ib[8*(k-1):])) {
			return nil, NoIndex, ErrorInvalidValue
		}
		if !attrOK(ab[24*k:]) {
			return nil, first, ErrorInvalidValue // the first copy the bad set applies to
		}
	}
	db, sb, nb := shim.View(dsts, int(8*count)), shim.View(srcs, int(8*count)), shim.View(sizes, int(8*count))
	plan := make(BatchPlan, count)
	for i := uint64(0); i < count; i++ {
		dst, src, n := uintptr(shim.Le.Uint64(db[8*i:])), uintptr(shim.Le.Uint64(sb[8*i:])), shim.Le.Uint64(nb[8*i:])
		if dst == 0 || src == 0 || n > 1<<48 {
			return nil, i, ErrorInvalidValue
		}
		if n > 0 {
			plan[i] = []Copy2D{{Dst: dst, Src: src, DPitch: n, SPitch: n, W: n, H: 1, Kind: shim.CopyDefault}}
		}
	}
	return plan, 0, Success
}

// operand3D writes one CUmemcpy3DOperand (40 bytes at b) as one side of a CUDA_MEMCPY3D at
// d: its x at 0, memory type at 32, pointers from 40, pitch at 72, height at 80. A pointer is
// unified memory (the direction is inferred); the extent is in elem-byte elements.
func operand3D(b, d []byte, elem, w, h uint64) bool {
	switch shim.Le.Uint32(b) {
	case operandPointer:
		row, layer := shim.Le.Uint64(b[16:]), shim.Le.Uint64(b[24:])
		if row == 0 {
			row = w
		}
		if layer == 0 {
			layer = h
		}
		if row < w || layer < h || row > 1<<48 || !locHint(b[32:]) {
			return false
		}
		shim.Le.PutUint32(d[32:], memUnified)
		shim.Le.PutUint64(d[48:], shim.Le.Uint64(b[8:]))
		shim.Le.PutUint64(d[72:], row*elem)
		shim.Le.PutUint64(d[80:], layer)
		return shim.Le.Uint64(b[8:]) != 0
	case operandArray:
		x := shim.Le.Uint64(b[16:])
		if x > 1<<48 {
			return false
		}
		shim.Le.PutUint64(d[0:], x*elem)
		shim.Le.PutUint64(d[8:], shim.Le.Uint64(b[24:]))
		shim.Le.PutUint64(d[16:], shim.Le.Uint64(b[32:]))
		shim.Le.PutUint32(d[32:], memArray)
		shim.Le.PutUint64(d[56:], shim.Le.Uint64(b[8:]))
		return true
	}
	return false
}

// elemOf is an operand's element size: an array's, else 0 (a pointer has none of its own).
func elemOf(b []byte, res ArrayResolver) (uint64, Result) {
	if shim.Le.Uint32(b) != operandArray {
		return 0, Success
	}
	l, r := res(uintptr(shim.Le.Uint64(b[8:])))
	if r != Success {
		return 0, r
	}
	return max(l.Elem, 1), Success
}

// Batch3DAt reads numOps CUDA_MEMCPY3D_BATCH_OPs (112 bytes: source and destination
// operands, extent, source access order, flags). The extent and the operands' rows, layers
// and array offsets are in elements: an array's element size where an end is an array, else
// bytes. Each op becomes a CUDA_MEMCPY3D read by Copy3DAt, arrays through res.
func Batch3DAt(ops unsafe.Pointer, numOps uint64, flags uint64, res ArrayResolver) (BatchPlan, uint64, Result) {
	if numOps == 0 || numOps > MaxBatch || ops == nil || flags != 0 {
		return nil, NoIndex, ErrorInvalidValue
	}
	all := shim.View(ops, int(112*numOps))
	plan := make(BatchPlan, numOps)
	for i := uint64(0); i < numOps; i++ {
		b := all[112*i : 112*(i+1)]
		if o := shim.Le.Uint32(b[104:]); o < srcOrderStream || o > srcOrderAny || shim.Le.Uint32(b[108:])&^memcpyPreferOverlap != 0 {
			return nil, i, ErrorInvalidValue
		}
		se, r := elemOf(b[0:], res)
		if r != Success {
			return nil, i, r
		}
		de, r := elemOf(b[40:], res)
		if r != Success {
			return nil, i, r
		}
		if se != 0 && de != 0 && se != de {
			return nil, i, ErrorInvalidValue // arrays of different elements
		}
		elem := max(se, de, 1)
		w, h, d := shim.Le.Uint64(b[80:]), shim.Le.Uint64(b[88:]), shim.Le.Uint64(b[96:])
		if w > 1<<40 || h > 1<<32 || d > 1<<20 {
			return nil, i, ErrorInvalidValue
		}
		desc := make([]byte, 200)
		if !operand3D(b[0:], desc[0:], elem, w, h) || !operand3D(b[40:], desc[88:], elem, w, h) {
			return nil, i, ErrorInvalidValue
		}
		shim.Le.PutUint64(desc[176:], w*elem)
		shim.Le.PutUint64(desc[184:], h)
		shim.Le.PutUint64(desc[192:], d)
		cs, r := Copy3DAt(unsafe.Pointer(&desc[0]), res)
		if r != Success {
			return nil, i, r
		}
		plan[i] = cs
	}
	return plan, 0, Success
}

// Extent is the memory one end of a batch entry covers: from its first slice's first byte to
// its last slice's last.
type Extent struct {
	At uintptr
	N  uint64
}

// Extents returns an entry's destination and source extents; false when one overflows. An
// entry of several slices is checked as one range, so that a slice past its buffer is not
// mistaken for host memory.
func Extents(cs []Copy2D) (dst, src Extent, ok bool) {
	var live []Copy2D
	for _, c := range cs {
		if c.W != 0 && c.H != 0 {
			live = append(live, c)
		}
	}
	if len(live) == 0 {
		return Extent{}, Extent{}, true
	}
	first, last := live[0], live[len(live)-1]
	dn, ok1 := shim.MulAdd(last.DPitch, last.H-1, last.W)
	sn, ok2 := shim.MulAdd(last.SPitch, last.H-1, last.W)
	if !ok1 || !ok2 || last.Dst < first.Dst || last.Src < first.Src {
		return Extent{}, Extent{}, false
	}
	dst = Extent{first.Dst, uint64(last.Dst-first.Dst) + dn}
	src = Extent{first.Src, uint64(last.Src-first.Src) + sn}
	return dst, src, dst.N >= dn && src.N >= sn
}

// checkLocal checks every entry's ends in this process (device memory the caller's, the whole
// extent inside one allocation; host memory not NULL) before any is issued, so a bad entry
// leaves the batch unrun: it returns the first bad entry's index.
func (p BatchPlan) checkLocal() (uint64, Result) {
	for i, cs := range p {
		d, s, ok := Extents(cs)
		if !ok {
			return uint64(i), ErrorInvalidValue
		}
		for _, e := range [2]Extent{d, s} {
			if e.N == 0 {
				continue
			}
			if e.At == 0 {
				return uint64(i), ErrorInvalidValue
			}
			if shim.IsDevice(e.At) {
				if _, st := shim.DeviceRange(e.At, e.N); st != shim.OK {
					return uint64(i), From(st)
				}
			}
		}
	}
	return 0, Success
}

// RunLocal issues a checked plan on s in this process.
func (p BatchPlan) RunLocal(s *shim.Stream) (uint64, Result) {
	if i, r := p.checkLocal(); r != Success {
		return i, r
	}
	for i, cs := range p {
		for _, c := range cs {
			if st := shim.Memcpy2D(s, c.Dst, c.DPitch, c.Src, c.SPitch, c.W, c.H, c.Kind); st != shim.OK {
				return uint64(i), From(st)
			}
		}
	}
	return 0, Success
}

// batchStream resolves the stream of a batched copy: the legacy stream is an invalid value.
func batchStream(h uintptr) (*shim.Stream, Result) {
	if LegacyStream(h) {
		if _, r := ctxDevice(); r != Success {
			return nil, r
		}
		return nil, ErrorInvalidValue
	}
	return stream(h)
}

// finish writes *failIdx (where the caller gave one) for a failed batch.
func finish(failIdx unsafe.Pointer, i uint64, r Result) Result {
	if r != Success {
		shim.PutU64(failIdx, i)
	}
	return r
}

// MemcpyBatchAsyncCU is cuMemcpyBatchAsync (CUDA 12.8's form, with failIdx).
func MemcpyBatchAsyncCU(dsts, srcs, sizes unsafe.Pointer, count uint64, attrs, attrsIdxs unsafe.Pointer, numAttrs uint64, failIdx unsafe.Pointer, h uintptr) Result {
	s, r := batchStream(h)
	if r != Success {
		return finish(failIdx, NoIndex, r)
	}
	plan, i, r := Batch1DAt(dsts, srcs, sizes, count, attrs, attrsIdxs, numAttrs)
	if r != Success {
		return finish(failIdx, i, r)
	}
	i, r = plan.RunLocal(s)
	return finish(failIdx, i, r)
}

// MemcpyBatchAsyncPtszCU is cuMemcpyBatchAsync_ptsz.
func MemcpyBatchAsyncPtszCU(dsts, srcs, sizes unsafe.Pointer, count uint64, attrs, attrsIdxs unsafe.Pointer, numAttrs uint64, failIdx unsafe.Pointer, h uintptr) Result {
	return MemcpyBatchAsyncCU(dsts, srcs, sizes, count, attrs, attrsIdxs, numAttrs, failIdx, ptsz(h))
}

// MemcpyBatchAsync2CU is cuMemcpyBatchAsync_v2 (CUDA 13: no failIdx).
func MemcpyBatchAsync2CU(dsts, srcs, sizes unsafe.Pointer, count uint64, attrs, attrsIdxs unsafe.Pointer, numAttrs uint64, h uintptr) Result {
	return MemcpyBatchAsyncCU(dsts, srcs, sizes, count, attrs, attrsIdxs, numAttrs, nil, h)
}

// MemcpyBatchAsync2PtszCU is cuMemcpyBatchAsync_v2_ptsz.
func MemcpyBatchAsync2PtszCU(dsts, srcs, sizes unsafe.Pointer, count uint64, attrs, attrsIdxs unsafe.Pointer, numAttrs uint64, h uintptr) Result {
	return MemcpyBatchAsyncCU(dsts, srcs, sizes, count, attrs, attrsIdxs, numAttrs, nil, ptsz(h))
}

// Memcpy3DBatchAsyncCU is cuMemcpy3DBatchAsync (CUDA 12.8's form, with failIdx).
func Memcpy3DBatchAsyncCU(numOps uint64, ops, failIdx unsafe.Pointer, flags uint64, h uintptr) Result {
	s, r := batchStream(h)
	if r != Success {
		return finish(failIdx, NoIndex, r)
	}
	plan, i, r := Batch3DAt(ops, numOps, flags, LocalArrays)
	if r != Success {
		return finish(failIdx, i, r)
	}
	i, r = plan.RunLocal(s)
	return finish(failIdx, i, r)
}

// Memcpy3DBatchAsyncPtszCU is cuMemcpy3DBatchAsync_ptsz.
func Memcpy3DBatchAsyncPtszCU(numOps uint64, ops, failIdx unsafe.Pointer, flags uint64, h uintptr) Result {
	return Memcpy3DBatchAsyncCU(numOps, ops, failIdx, flags, ptsz(h))
}

// Memcpy3DBatchAsync2CU is cuMemcpy3DBatchAsync_v2 (CUDA 13: no failIdx).
func Memcpy3DBatchAsync2CU(numOps uint64, ops unsafe.Pointer, flags uint64, h uintptr) Result {
	return Memcpy3DBatchAsyncCU(numOps, ops, nil, flags, h)
}

// Memcpy3DBatchAsync2PtszCU is cuMemcpy3DBatchAsync_v2_ptsz.
func Memcpy3DBatchAsync2PtszCU(numOps uint64, ops unsafe.Pointer, flags uint64, h uintptr) Result {
	return Memcpy3DBatchAsyncCU(numOps, ops, nil, flags, ptsz(h))
}

// StreamBeginCaptureToGraph is cuStreamBeginCaptureToGraph: a capture that adds its nodes to
// the caller's graph g, the first after deps (nodes of g; edge data, where given, only the
// default edge), instead of to a new graph; cuStreamEndCapture hands back g.
func StreamBeginCaptureToGraph(h, hg uintptr, deps, edgeData unsafe.Pointer, numDeps uint64, mode int32) Result {
	s, r := stream(h)
	if r != Success {
		return r
	}
	g, r := graph(hg)
	if r != Success {
		return r
	}
	if numDeps > 1<<20 || !defaultEdges(edgeData, numDeps) {
		return ErrorInvalidValue
	}
	ds, st := g.NodesAt(deps, numDeps)
	if st != shim.OK {
		return From(st)
	}
	return From(s.BeginCaptureToGraph(mode, g, ds))
}

// StreamBeginCaptureToGraphPtsz is cuStreamBeginCaptureToGraph_ptsz.
func StreamBeginCaptureToGraphPtsz(h, hg uintptr, deps, edgeData unsafe.Pointer, numDeps uint64, mode int32) Result {
	return StreamBeginCaptureToGraph(ptsz(h), hg, deps, edgeData, numDeps, mode)
}
