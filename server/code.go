package server

import (
	"bytes"
	"encoding/binary"

	"vgpu/shim"
	"vgpu/wire"
)

// shippedModule is a client's image on this server, under a handle the client owns (so no
// other client can use it); its kernels are shim Kernels with a native function.
type shippedModule struct {
	native  uintptr
	backend shim.CodeBackend
}

// Close unloads the module when its client goes (shim.ReleaseOwned).
func (m *shippedModule) Close() {
	m.backend.UnloadModule(m.native)
	forgetGlobals(m)
	stats.modules.Add(-1)
}

// reply is the response of a protocol op outside the function list: its status byte.
func reply(s shim.Status) []byte { return []byte{byte(s)} }

// statusBytes backs staticReply: one byte per status.
var statusBytes = func() (b [256]byte) {
	for i := range b {
		b[i] = byte(i)
	}
	return
}()

// staticReply is reply without an allocation, for the launch path: a shared, read-only slice
// whose capacity is its length, so that appending to it copies.
func staticReply(s shim.Status) []byte { return statusBytes[s : s+1 : s+1] }

// code loads shipped images, resolves kernels and launches them.
func code(op uint32, p []byte) []byte {
	cb, ok := shim.S().Backend.(shim.CodeBackend)
	if !ok {
		return reply(shim.ErrNotSupported)
	}
	le := binary.LittleEndian
	switch op {
	case wire.OpLoadModule:
		image, ok := sealedImage(p)
		if !ok {
			return reply(shim.ErrInvalidKernelImage)
		}
		native, s := cb.LoadModule(image)
		if s != shim.OK {
			return reply(s)
		}
		stats.bytesIn.Add(uint64(len(p)))
		stats.modules.Add(1)
		return le.AppendUint64(reply(shim.OK), uint64(shim.NewHandle(shim.KindModule, &shippedModule{native, cb})))
	case wire.OpFunction:
		if len(p) < 9 {
			return reply(shim.ErrInvalidValue)
		}
		m, ok := shim.Lookup[*shippedModule](shim.KindModule, uintptr(le.Uint64(p)))
		if !ok {
			return reply(shim.ErrInvalidHandle)
		}
		native, params, s := cb.Function(m.native, string(p[8:]))
		if s != shim.OK {
			return reply(s)
		}
		// The client checks dynamic shared memory against the limit its program raised.
		k := &shim.Kernel{Name: string(p[8:]), Native: native, Params: params,
			MaxDynShared: shim.S().Device(0).Attrs[shim.AttrMaxSharedMemPerBlockOptin]}
		k.Handle = shim.NewHandle(shim.KindFunction, k)
		out := le.AppendUint64(reply(shim.OK), uint64(k.Handle))
		out = le.AppendUint32(out, uint32(len(params)))
		for _, q := range params {
			out = le.AppendUint32(le.AppendUint32(out, q.Offset), q.Size)
		}
		return out
	case wire.OpFuncQuery:
		if len(p) != 32 {
			return reply(shim.ErrInvalidValue)
		}
		k, ok := shim.Lookup[*shim.Kernel](shim.KindFunction, uintptr(le.Uint64(p)))
		if !ok || k.Native == 0 {
			return reply(shim.ErrInvalidDeviceFunction)
		}
		q, ok := cb.(shim.KernelQuerier)
		if !ok {
			return reply(shim.ErrNotSupported) // the client keeps its model's answer
		}
		var vals []int32
		var s shim.Status
		if le.Uint32(p[8:]) == 0 {
			var a [shim.KernelAttrCount]int32
			a, s = q.KernelAttributes(k.Native)
			vals = a[:]
		} else {
			var blocks int32
			blocks, s = q.Occupancy(k.Native, int32(le.Uint32(p[12:])), le.Uint64(p[16:]), le.Uint32(p[24:]), int32(le.Uint32(p[28:])))
			vals = []int32{blocks}
		}
		if s != shim.OK {
			return reply(s)
		}
		out := reply(shim.OK)
		for _, v := range vals {
			out = le.AppendUint32(out, uint32(v))
		}
		return out
	case wire.OpLaunch, wire.OpLaunchAttrs:
		return launchOp(cb, shim.Thread(), op, p, nil)
	}
	return reply(shim.ErrNotSupported)
}

// launchOp checks a launch against the model and runs it; with pipe, a launch that would
// reach the backend is queued on the session's launch thread instead (pipeline.go).
func launchOp(cb shim.CodeBackend, ts *shim.ThreadState, op uint32, p []byte, pipe *launchPipe) []byte {
	le := binary.LittleEndian
	{
		if len(p) < wire.LaunchHeader {
			return reply(shim.ErrInvalidValue)
		}
		// The attributes are checked before anything else: a count past the bound or past
		// the frame is refused, never read.
		args, attrs := p[wire.LaunchHeader:], []shim.LaunchAttr(nil)
		if op == wire.OpLaunchAttrs {
			if len(p) < wire.LaunchHeader+4 {
				return reply(shim.ErrInvalidValue)
			}
			n := le.Uint32(p[wire.LaunchHeader:])
			if n == 0 || n > shim.MaxLaunchAttrs || len(p) < wire.LaunchAttrsAt(int(n)) {
				return reply(shim.ErrInvalidValue)
			}
			var st shim.Status
			if attrs, st = shim.ParseLaunchAttrs(p[wire.LaunchHeader+4:wire.LaunchAttrsAt(int(n))], int(n)); st != shim.OK {
				return reply(st)
			}
			args = p[wire.LaunchAttrsAt(int(n)):]
		}
		k, ok := shim.LookupAs[*shim.Kernel](ts, shim.KindFunction, uintptr(le.Uint64(p)))
		if !ok || k.Native == 0 {
			return reply(shim.ErrInvalidDeviceFunction)
		}
		u := func(i int) uint32 { return le.Uint32(p[8+4*i:]) }
		lc := shim.LaunchConfig{
			Grid: shim.Dim3{X: u(0), Y: u(1), Z: u(2)}, Block: shim.Dim3{X: u(3), Y: u(4), Z: u(5)},
			Shared: le.Uint64(p[32:]), Stream: uintptr(le.Uint64(p[40:])), Attrs: attrs, // a cooperative grid is checked too
		}
		d := shim.S().Device(0)
		if s := shim.CheckLaunch(d, k, lc); s != shim.OK {
			return reply(s)
		}
		s, res := shim.ResolveStreamAs(ts, lc.Stream, d)
		if res != shim.OK {
			return reply(res)
		}
		if s.Capturing() != nil { // the graph keeps the arguments; the frame's bytes are borrowed
			args = bytes.Clone(args)
		}
		// Unknown ids are refused; events named by an attribute must be this client's, and
		// are recorded here rather than handed to the driver as the client's numbers.
		var events []*shim.Event
		if lc.Attrs, events, res = shim.SplitLaunchAttrs(attrs); res != shim.OK {
			return reply(res)
		}
		stats.launches.Add(1)
		if pipe != nil && len(events) == 0 && s.Capturing() == nil && pipe.submit(k.Native, k.Params, lc, args) {
			return staticReply(shim.OK)
		}
		// Through the stream: a capturing stream records the launch for its graph, whose
		// replay on this server then launches it again (the payload is this frame's own), its
		// attributes with it.
		return staticReply(s.EnqueueKernelAs(ts, shim.Node{Kind: shim.NodeKernel, Kernel: k, Launch: lc, ArgBlock: args}, events))
	}
}

// sealedImage is a client's module image as the driver may read it. cuModuleLoadData takes
// no length: the driver finds the end itself, from a fatbin's or an ELF's headers or at
// PTX's NUL. Those headers must then describe nothing past what the frame carried, and the
// image gets a NUL after it (PTX arrives without one), so the driver never reads the
// server's memory beyond the frame.
func sealedImage(p []byte) ([]byte, bool) {
	le := binary.LittleEndian
	n := uint64(len(p))
	within := func(off, size uint64) bool { return off <= n && size <= n-off }
	switch {
	case len(p) >= 4 && le.Uint32(p) == fatbinMagic:
		if len(p) < 16 || !within(uint64(le.Uint16(p[6:])), le.Uint64(p[8:])) {
			return nil, false
		}
	case len(p) >= 4 && string(p[:4]) == "\x7fELF":
		if len(p) < 64 || p[4] != 2 || p[5] != 1 { // 64-bit, little-endian: what nvcc emits
			return nil, false
		}
		phoff, shoff := le.Uint64(p[0x20:]), le.Uint64(p[0x28:])
		phsize, phnum := uint64(le.Uint16(p[0x36:])), uint64(le.Uint16(p[0x38:]))
		shsize, shnum := uint64(le.Uint16(p[0x3a:])), uint64(le.Uint16(p[0x3c:]))
		if (phnum > 0 && (phsize < 56 || !within(phoff, phsize*phnum))) || (shnum > 0 && (shsize < 64 || !within(shoff, shsize*shnum))) {
			return nil, false
		}
		for i := uint64(0); i < phnum; i++ {
			h := p[phoff+i*phsize:]
			if !within(le.Uint64(h[8:]), le.Uint64(h[0x20:])) { // p_offset, p_filesz
				return nil, false
			}
		}
		for i := uint64(0); i < shnum; i++ {
			h := p[shoff+i*shsize:]
			if le.Uint32(h[4:]) != 8 && !within(le.Uint64(h[0x18:]), le.Uint64(h[0x20:])) { // SHT_NOBITS has no bytes
				return nil, false
			}
		}
	}
	return append(append(make([]byte, 0, len(p)+1), p...), 0), true
}

// fatbinMagic starts a fat binary's header.
const fatbinMagic = 0xba55ed50
