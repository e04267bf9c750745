package shim

// Stream-ordered allocation during a capture (cudaMallocAsync, cudaFreeAsync on a capturing
// stream): as NVIDIA's capture does, the allocation becomes a memory allocation node whose
// address is fixed now and held while the graph lives (GraphMemAlloc), the free a memory
// free node; replaying either does nothing more.

// Graph node types of the node view (CUgraphNodeType).
const (
	GraphNodeMemAlloc = 10
	GraphNodeMemFree  = 11
)

// CaptureAlloc records an allocation of size bytes of s's device into the capture s belongs
// to and returns its address: the node's parameters are a CUDA_MEM_ALLOC_NODE_PARAMS (pool
// properties: pinned device memory of the device at 0..88; bytesize at 104, dptr at 112).
func (s *Stream) CaptureAlloc(size uint64) (uintptr, Status) {
	c := s.Capturing()
	if c == nil {
		return 0, ErrIllegalState
	}
	if c.Invalidated {
		return 0, ErrCaptureInvalidated
	}
	addr, st := GraphMemAlloc(s.Dev, c.Graph, size)
	if st != OK {
		return 0, st
	}
	p := make([]byte, 120)
	Le.PutUint32(p[0:], allocPinned)
	Le.PutUint32(p[8:], locationDevice)
	Le.PutUint32(p[12:], uint32(s.Dev.Index))
	Le.PutUint64(p[104:], size)
	Le.PutUint64(p[112:], uint64(addr))
	if st := s.Enqueue(Node{Kind: NodeHost, ViewType: GraphNodeMemAlloc, ViewParams: p}); st != OK {
		return 0, st
	}
	return addr, OK
}

// CaptureFree records the free of a graph allocation at p into the capture s belongs to;
// other memory cannot be freed by a graph (an invalid value).
func (s *Stream) CaptureFree(p uintptr) Status {
	if s.Capturing() == nil {
		return ErrIllegalState
	}
	if !IsGraphAlloc(p) {
		return ErrInvalidValue
	}
	return s.Enqueue(Node{Kind: NodeHost, ViewType: GraphNodeMemFree, ViewParams: Le.AppendUint64(nil, uint64(p))})
}
