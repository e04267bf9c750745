package cuda

import (
	"crypto/rand"
	"encoding/binary"
	"math/bits"
	"sync"
	"unsafe"

	"vgpu/shim"
)

// Green contexts and device resources (CUDA 12.4+, driver 580): an SM partition model on
// the device model's SM count. A device's SM resource names every SM; a split hands out
// disjoint groups of them, each a multiple of the architecture's granularity; a descriptor
// made from one split's outputs becomes a green context, a context limited to those SMs
// (what its resource query reports; the model runs work at issue, so nothing else differs).
//
// CUdevResource is 144 bytes: the type at 0, 92 bytes of driver data, then the union whose SM
// member is smCount, minSmPartitionSize, smCoscheduledAlignment and flags (CUDA 13). The driver
// data is vgpu's: a tag, the device, the split it came from, the split's flags and the SM set
// as a 256-bit mask. A resource is the caller's own bytes, so every field is checked when it
// comes back: a forged one can only name SMs of a device the caller may use.

const (
	ErrorInvalidResourceType   Result = 914
	ErrorInvalidResourceConfig Result = 915
)

const (
	devResourceSize = 144
	resTypeSM       = 1
	resTag          = 0x4d536776 // "vgSM"
	resOffDev       = 8
	resOffSplit     = 12
	resOffFlags     = 16
	resOffMask      = 20 // four little-endian uint64s
	resOffSM        = 96 // CUdevSmResource
	maxModelSMs     = 256

	splitIgnoreCoscheduling = 1 // CU_DEV_SM_RESOURCE_SPLIT_IGNORE_SM_COSCHEDULING
	splitMaxClusterSize     = 2 // CU_DEV_SM_RESOURCE_SPLIT_MAX_POTENTIAL_CLUSTER_SIZE

	greenCtxDefaultStream = 1 // CU_GREEN_CTX_DEFAULT_STREAM
	streamNonBlocking     = 1 // CU_STREAM_NON_BLOCKING

	// maxDescsPerOwner bounds the descriptors one caller keeps: the API has no call that
	// destroys one, so a loop of cuDevResourceGenerateDesc would otherwise grow forever.
	maxDescsPerOwner = 4096
)

// smMask is a set of SMs.
type smMask [4]uint64

func (m smMask) count() uint32 {
	n := 0
	for _, w := range m {
		n += bits.OnesCount64(w)
	}
	return uint32(n)
}

func (m *smMask) set(i uint32)     { m[i/64] |= 1 << (i % 64) }
func (m smMask) has(i uint32) bool { return m[i/64]&(1<<(i%64)) != 0 }

func (m smMask) overlaps(o smMask) bool {
	for i := range m {
		if m[i]&o[i] != 0 {
			return true
		}
	}
	return false
}

// wholeDevice is the mask of all of d's SMs.
func wholeDevice(d *shim.Device) smMask {
	var m smMask
	for i := uint32(0); i < uint32(min(d.Attrs[shim.AttrMultiprocessorCount], maxModelSMs)); i++ {
		m.set(i)
	}
	return m
}

// smGranularity is the documented minimum SM count of a group and the multiple its size
// must be, per compute capability: 6.x one SM; 7.x two and a multiple of 2; 8.x four and a
// multiple of 2; 9.0 and later eight and a multiple of 8. Ignoring co-scheduling lowers
// the latter two to two SMs (one TPC), at the cost of large clusters.
func smGranularity(d *shim.Device, flags uint32) (minimum, align uint32) {
	switch major := d.Attrs[shim.AttrComputeCapabilityMajor]; {
	case major <= 6:
		return 1, 1
	case major == 7:
		return 2, 2
	case flags&splitIgnoreCoscheduling != 0:
		return 2, 2
	case major == 8:
		return 4, 2
	default:
		return 8, 8
	}
}

// devResource is a parsed CUdevResource of type SM.
type devResource struct {
	dev   *shim.Device
	split uint32 // 0: a device's, a context's or a green context's whole resource
	flags uint32
	mask  smMask
}

func putResource(p unsafe.Pointer, r devResource) {
	b := shim.View(p, devResourceSize)
	clear(b)
	le := binary.LittleEndian
	le.PutUint32(b[0:], resTypeSM)
	le.PutUint32(b[4:], resTag)
	le.PutUint32(b[resOffDev:], uint32(shim.S().Ordinal(r.dev)))
	le.PutUint32(b[resOffSplit:], r.split)
	le.PutUint32(b[resOffFlags:], r.flags)
	for i, w := range r.mask {
		le.PutUint64(b[resOffMask+8*i:], w)
	}
	minimum, align := smGranularity(r.dev, r.flags)
	le.PutUint32(b[resOffSM:], r.mask.count())
	le.PutUint32(b[resOffSM+4:], minimum)
	le.PutUint32(b[resOffSM+8:], align)
	le.PutUint32(b[resOffSM+12:], r.flags)
}

// getResource reads a CUdevResource back, checking every field against the device model.
func getResource(p unsafe.Pointer) (devResource, Result) {
	if p == nil {
		return devResource{}, ErrorInvalidValue
	}
	b := shim.View(p, devResourceSize)
	le := binary.LittleEndian
	if le.Uint32(b[0:]) != resTypeSM {
		return devResource{}, ErrorInvalidResourceType
	}
	if le.Uint32(b[4:]) != resTag {
		return devResource{}, ErrorInvalidResourceConfig
	}
	d, r := device(int32(le.Uint32(b[resOffDev:])))
	if r != Success {
		return devResource{}, r
	}
	res := devResource{dev: d, split: le.Uint32(b[resOffSplit:]), flags: le.Uint32(b[resOffFlags:])}
	for i := range res.mask {
		res.mask[i] = le.Uint64(b[resOffMask+8*i:])
	}
	whole := wholeDevice(d)
	for i := range res.mask {
		if res.mask[i]&^whole[i] != 0 {
			return devResource{}, ErrorInvalidResourceConfig // an SM the device does not have
		}
	}
	if le.Uint32(b[resOffSM:]) != res.mask.count() || res.flags&^(splitIgnoreCoscheduling|splitMaxClusterSize) != 0 {
		return devResource{}, ErrorInvalidResourceConfig
	}
	return res, Success
}

// greenCtx is a CUgreenCtx: a context limited to a set of SMs.
type greenCtx struct {
	Handle  uintptr
	dev     *shim.Device
	mask    smMask
	ctx     *shim.Context // what cuCtxFromGreenCtx returns
	mu      sync.Mutex
	streams []*shim.Stream
}

// resourceDesc is a CUdevResourceDesc.
type resourceDesc struct {
	dev   *shim.Device
	mask  smMask
	owner uint64
}

var (
	greenOfCtx    sync.Map // *shim.Context -> *greenCtx
	greenOfStream sync.Map // *shim.Stream -> *greenCtx
	descMu        sync.Mutex
	descCount     = map[uint64]int{}
)

// Close forgets a departed client's descriptor (ReleaseOwned calls it).
func (d *resourceDesc) Close() {
	descMu.Lock()
	descCount[d.owner]--
	if descCount[d.owner] <= 0 {
		delete(descCount, d.owner)
	}
	descMu.Unlock()
}

// Close forgets a green context whose client went (ReleaseOwned calls it; the handles of
// its context and streams go with the client's).
func (g *greenCtx) Close() { g.forget() }

func (g *greenCtx) forget() {
	greenOfCtx.Delete(g.ctx)
	g.mu.Lock()
	for _, s := range g.streams {
		greenOfStream.Delete(s)
	}
	g.streams = nil
	g.mu.Unlock()
}

func green(h uintptr) (*greenCtx, Result) {
	if _, r := ready(); r != Success {
		return nil, r
	}
	g, ok := shim.Lookup[*greenCtx](shim.KindGreenCtx, h)
	if !ok {
		return nil, ErrorInvalidHandle
	}
	return g, Success
}

// greenOf is the green context a context stands for, or nil.
func greenOf(c *shim.Context) *greenCtx {
	if v, ok := greenOfCtx.Load(c); ok {
		return v.(*greenCtx)
	}
	return nil
}

func resourceOut(out unsafe.Pointer, typ int32, r devResource) Result {
	if out == nil {
		return ErrorInvalidValue
	}
	if typ != resTypeSM {
		return ErrorInvalidResourceType
	}
	putResource(out, r)
	return Success
}

// DeviceGetDevResource is cuDeviceGetDevResource: every SM of the device.
func DeviceGetDevResource(dev int32, out unsafe.Pointer, typ int32) Result {
	d, r := device(dev)
	if r != Success {
		return r
	}
	return resourceOut(out, typ, devResource{dev: d, mask: wholeDevice(d)})
}

// CtxGetDevResource is cuCtxGetDevResource: a context's SMs (a green context's partition
// for one from cuCtxFromGreenCtx). NULL is the current context.
func CtxGetDevResource(h uintptr, out unsafe.Pointer, typ int32) Result {
	c, r := ctxOrCurrent(h)
	if r != Success {
		return r
	}
	if g := greenOf(c); g != nil {
		return resourceOut(out, typ, devResource{dev: g.dev, mask: g.mask})
	}
	return resourceOut(out, typ, devResource{dev: c.Dev, mask: wholeDevice(c.Dev)})
}

// GreenCtxGetDevResource is cuGreenCtxGetDevResource.
func GreenCtxGetDevResource(h uintptr, out unsafe.Pointer, typ int32) Result {
	g, r := green(h)
	if r != Success {
		return r
	}
	return resourceOut(out, typ, devResource{dev: g.dev, mask: g.mask})
}

// newSplitID names one split, so that a descriptor can require its resources to come from
// the same one.
func newSplitID() uint32 {
	var b [4]byte
	for {
		rand.Read(b[:])
		if v := binary.LittleEndian.Uint32(b[:]); v != 0 {
			return v
		}
	}
}

// DevSmResourceSplitByCount is cuDevSmResourceSplitByCount: groups of at least minCount SMs
// (rounded up to the architecture's granularity) taken in SM order, the rest in remaining.
// With result NULL it only says how many groups there would be.
func DevSmResourceSplitByCount(result, nbGroups, input, remaining unsafe.Pointer, flags, minCount uint32) Result {
	if _, r := ready(); r != Success {
		return r
	}
	if nbGroups == nil || input == nil || flags&^(splitIgnoreCoscheduling|splitMaxClusterSize) != 0 {
		return ErrorInvalidValue
	}
	in, r := getResource(input)
	if r != Success {
		return r
	}
	if in.split != 0 {
		// A split's outputs split again only once they are a green context's resource.
		return ErrorInvalidResourceConfig
	}
	if flags&splitMaxClusterSize != 0 && in.dev.Attrs[shim.AttrComputeCapabilityMajor] < 9 {
		return ErrorInvalidValue
	}
	minimum, align := smGranularity(in.dev, flags)
	want := max(minCount, minimum)
	want = (want + align - 1) / align * align
	n := in.mask.count()
	if want > n {
		return ErrorInvalidResourceConfig
	}
	groups := n / want
	if result != nil {
		asked := *(*uint32)(nbGroups)
		if asked == 0 {
			return ErrorInvalidValue
		}
		groups = min(groups, asked)
	}
	id := newSplitID()
	var sm uint32
	next := func(k uint32) smMask { // the next k SMs of the input, in order
		var m smMask
		for ; k > 0 && sm < maxModelSMs; sm++ {
			if in.mask.has(sm) {
				m.set(sm)
				k--
			}
		}
		return m
	}
	for i := uint32(0); i < groups; i++ {
		m := next(want)
		if result != nil {
			putResource(unsafe.Add(result, uintptr(i)*devResourceSize), devResource{dev: in.dev, split: id, flags: flags, mask: m})
		}
	}
	if remaining != nil {
		putResource(remaining, devResource{dev: in.dev, split: id, flags: flags, mask: next(n)})
	}
	*(*uint32)(nbGroups) = groups
	return Success
}

// DevResourceGenerateDesc is cuDevResourceGenerateDesc: one descriptor of the SMs of
// resources from one device; several SM resources must be outputs of the same split.
func DevResourceGenerateDesc(out, resources unsafe.Pointer, n uint32) Result {
	if _, r := ready(); r != Success {
		return r
	}
	if out == nil || resources == nil || n == 0 || n > maxModelSMs {
		return ErrorInvalidValue
	}
	var desc resourceDesc
	var split uint32
	for i := uint32(0); i < n; i++ {
		res, r := getResource(unsafe.Add(resources, uintptr(i)*devResourceSize))
		if r != Success {
			return r
		}
		if i == 0 {
			desc.dev, split = res.dev, res.split
		} else if res.dev != desc.dev || res.split != split || split == 0 || res.mask.overlaps(desc.mask) {
			return ErrorInvalidResourceConfig
		}
		for j := range desc.mask {
			desc.mask[j] |= res.mask[j]
		}
	}
	if desc.mask.count() == 0 {
		return ErrorInvalidResourceConfig
	}
	desc.owner = shim.CallerOwner()
	descMu.Lock()
	if descCount[desc.owner] >= maxDescsPerOwner {
		descMu.Unlock()
		return ErrorOutOfMemory
	}
	descCount[desc.owner]++
	descMu.Unlock()
	d := &desc
	shim.PutPtr(out, shim.NewHandle(shim.KindDevResourceDesc, d))
	return Success
}

// GreenCtxCreate is cuGreenCtxCreate: a green context on dev with desc's SMs. It retains
// dev's primary context until it is destroyed, and is not made current.
func GreenCtxCreate(out unsafe.Pointer, hdesc uintptr, dev int32, flags uint32) Result {
	d, r := device(dev)
	if r != Success {
		return r
	}
	desc, ok := shim.Lookup[*resourceDesc](shim.KindDevResourceDesc, hdesc)
	if !ok {
		return ErrorInvalidValue
	}
	if out == nil || flags&^greenCtxDefaultStream != 0 || desc.dev != d {
		return ErrorInvalidValue
	}
	shim.PrimaryContext(d).Retain()
	g := &greenCtx{dev: d, mask: desc.mask, ctx: shim.NewContext(d, 0)}
	greenOfCtx.Store(g.ctx, g)
	g.Handle = shim.NewHandle(shim.KindGreenCtx, g)
	shim.PutPtr(out, g.Handle)
	return Success
}

// GreenCtxDestroy is cuGreenCtxDestroy: its context and streams go with it, and the
// primary context it retained is released.
func GreenCtxDestroy(h uintptr) Result {
	g, r := green(h)
	if r != Success {
		return r
	}
	if !shim.Release(shim.KindGreenCtx, h) {
		return ErrorInvalidHandle
	}
	g.mu.Lock()
	streams := append([]*shim.Stream(nil), g.streams...)
	g.mu.Unlock()
	for _, s := range streams {
		// Only a stream still live as itself: one destroyed already may have given its
		// handle value to another.
		if live, ok := shim.Lookup[*shim.Stream](shim.KindStream, s.Handle); ok && live == s {
			shim.Release(shim.KindStream, s.Handle)
		}
	}
	g.forget()
	shim.Release(shim.KindContext, g.ctx.Handle)
	contextGone(g.ctx.Handle)
	shim.PrimaryContext(g.dev).ReleasePrimary()
	return Success
}

// CtxFromGreenCtx is cuCtxFromGreenCtx.
func CtxFromGreenCtx(out unsafe.Pointer, h uintptr) Result {
	g, r := green(h)
	if r != Success {
		return r
	}
	if !shim.PutPtr(out, g.ctx.Handle) {
		return ErrorInvalidValue
	}
	return Success
}

// GreenCtxGetId is cuGreenCtxGetId: the id of its context (cuCtxGetId on cuCtxFromGreenCtx's).
func GreenCtxGetId(h uintptr, out unsafe.Pointer) Result {
	g, r := green(h)
	if r != Success {
		return r
	}
	if !shim.PutU64(out, g.ctx.ID) {
		return ErrorInvalidValue
	}
	return Success
}

func (g *greenCtx) capturing() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, s := range g.streams {
		if s.Capturing() != nil {
			return true
		}
	}
	return false
}

// GreenCtxRecordEvent is cuGreenCtxRecordEvent: the event completes when the work issued
// so far completes (the model's events, shim.Event, complete with the backend's work).
func GreenCtxRecordEvent(h, ev uintptr) Result {
	g, r := green(h)
	if r != Success {
		return r
	}
	if g.capturing() {
		return ErrorCaptureUnsupported
	}
	return recordOn(g.dev, ev)
}

// GreenCtxWaitEvent is cuGreenCtxWaitEvent: work issued to the green context from now on
// runs after the event.
func GreenCtxWaitEvent(h, ev uintptr) Result {
	if _, r := green(h); r != Success {
		return r
	}
	return waitFor(ev)
}

func recordOn(d *shim.Device, ev uintptr) Result {
	e, r := event(ev)
	if r != Success {
		return r
	}
	s, st := shim.ResolveStream(0, d)
	if st != shim.OK {
		return From(st)
	}
	return From(e.Record(s))
}

// waitFor orders later work after ev by waiting for it here: work runs at issue in the
// model, so whatever is issued after this returns starts after the event.
func waitFor(ev uintptr) Result {
	e, r := event(ev)
	if r != Success {
		return r
	}
	return From(e.Query())
}

// GreenCtxStreamCreate is cuGreenCtxStreamCreate: a non-blocking stream of the green context.
func GreenCtxStreamCreate(out unsafe.Pointer, h uintptr, flags uint32, priority int32) Result {
	g, r := green(h)
	if r != Success {
		return r
	}
	if out == nil || flags != streamNonBlocking {
		return ErrorInvalidValue
	}
	s := shim.NewStream(g.dev, flags, min(max(priority, -5), 0))
	g.mu.Lock()
	g.streams = append(g.streams, s)
	g.mu.Unlock()
	greenOfStream.Store(s, g)
	shim.PutPtr(out, s.Handle)
	return Success
}

// streamGreen is the green context of stream h: its creator's, or for the special streams
// the current context's; nil when none.
func streamGreen(h uintptr) (*shim.Stream, *greenCtx, Result) {
	s, r := stream(h)
	if r != Success {
		return nil, nil, r
	}
	if h == 0 || h == shim.StreamLegacy || h == shim.StreamPerThread {
		return s, greenOf(shim.CurrentContext()), Success
	}
	if v, ok := greenOfStream.Load(s); ok {
		return s, v.(*greenCtx), Success
	}
	return s, nil, Success
}

// StreamGetGreenCtx is cuStreamGetGreenCtx: NULL for a stream of no green context.
func StreamGetGreenCtx(h uintptr, out unsafe.Pointer) Result {
	_, g, r := streamGreen(h)
	if r != Success {
		return r
	}
	var v uintptr
	if g != nil {
		v = g.Handle
	}
	if !shim.PutPtr(out, v) {
		return ErrorInvalidValue
	}
	return Success
}

// StreamGetCtx2 is cuStreamGetCtx_v2: a green context's stream gives the green context and
// its device's primary context; another stream its context and NULL.
func StreamGetCtx2(h uintptr, pctx, pgreen unsafe.Pointer) Result {
	s, g, r := streamGreen(h)
	if r != Success {
		return r
	}
	if pctx == nil || pgreen == nil {
		return ErrorInvalidValue
	}
	if g != nil {
		shim.PutPtr(pctx, shim.PrimaryContext(g.dev).Handle)
		shim.PutPtr(pgreen, g.Handle)
		return Success
	}
	if r := StreamGetCtx(h, pctx); r != Success {
		return r
	}
	_ = s
	shim.PutPtr(pgreen, 0)
	return Success
}

// StreamGetCtx2Ptsz is cuStreamGetCtx_v2_ptsz.
func StreamGetCtx2Ptsz(h uintptr, pctx, pgreen unsafe.Pointer) Result {
	return StreamGetCtx2(ptsz(h), pctx, pgreen)
}

// ctxOrCurrent resolves a context handle, NULL meaning the current one.
func ctxOrCurrent(h uintptr) (*shim.Context, Result) {
	if h == 0 {
		return current()
	}
	return context(h)
}
