package remote

import (
	"encoding/binary"
	"unsafe"

	"vgpu/cudart"
	"vgpu/shim"
)

func u64s(vs ...uint64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return b
}

// send posts an asynchronous request or waits for a synchronous one's status.
func send(op uint32, req []byte, async bool) shim.Status {
	if async {
		if post(op, req) != nil {
			return shim.ErrNotSupported
		}
		return shim.OK
	}
	resp, err := roundTrip(op, req)
	if err != nil {
		return shim.ErrNotSupported
	}
	return status(resp)
}

func memcpy2D(dst uintptr, dpitch uint64, src uintptr, spitch, width, height uint64, kind int32, async bool, stream uintptr) cudart.Error {
	stream = perThread(stream)
	dpitch, spitch, e := cudart.Pitches2D(dpitch, spitch, width, height)
	if e != cudart.Success {
		return e
	}
	if width == 0 || height == 0 {
		return checkStream(async, stream)
	}
	_, dok := shim.MulAdd(dpitch, height-1, width)
	_, sok := shim.MulAdd(spitch, height-1, width)
	if height > 1<<32 || width > 1<<40 || !dok || !sok {
		return cudart.ErrorInvalidValue
	}
	kind = resolveKind(dst, src, kind)
	rowsPer := max(1, Chunk/width) // rows per frame
	switch kind {
	case shim.HostToHost:
		for r := uint64(0); r < height; r++ {
			copy(shim.View(unsafe.Pointer(dst+uintptr(r*dpitch)), int(width)), shim.View(unsafe.Pointer(src+uintptr(r*spitch)), int(width)))
		}
		return cudart.Success
	case shim.DeviceToDevice:
		return cudart.From(send(OpCopy2D, u64s(uint64(dst), dpitch, uint64(src), spitch, width, height, uint64(stream)), async))
	case shim.HostToDevice:
		for r := uint64(0); r < height; r += rowsPer {
			n := min(rowsPer, height-r)
			req := u64s(uint64(dst)+r*dpitch, dpitch, width, n, uint64(stream))
			for i := r; i < r+n; i++ {
				req = append(req, shim.View(unsafe.Pointer(src+uintptr(i*spitch)), int(width))...)
			}
			if s := send(OpPut2D, req, async); s != shim.OK {
				return cudart.From(s)
			}
		}
		return cudart.Success
	case shim.DeviceToHost:
		for r := uint64(0); r < height; r += rowsPer {
			n := min(rowsPer, height-r)
			resp, err := roundTrip(OpGet2D, u64s(uint64(src)+r*spitch, spitch, width, n))
			if err != nil {
				return cudart.From(shim.ErrNotSupported)
			}
			if s := status(resp); s != shim.OK {
				return cudart.From(s)
			}
			if uint64(len(resp)-1) != n*width {
				return cudart.ErrorInvalidValue
			}
			for i := uint64(0); i < n; i++ {
				copy(shim.View(unsafe.Pointer(dst+uintptr((r+i)*dpitch)), int(width)), resp[1+i*width:1+(i+1)*width])
			}
		}
		return cudart.Success
	}
	return cudart.ErrorInvalidMemcpyDirection
}

// Memcpy2D is cudaMemcpy2D over the connection.
func Memcpy2D(dst uintptr, dpitch uint64, src uintptr, spitch, width, height uint64, kind int32) cudart.Error {
	return memcpy2D(dst, dpitch, src, spitch, width, height, kind, false, 0)
}

// Memcpy2DAsync is cudaMemcpy2DAsync: uploads and device copies are pipelined.
func Memcpy2DAsync(dst uintptr, dpitch uint64, src uintptr, spitch, width, height uint64, kind int32, stream uintptr) cudart.Error {
	return memcpy2D(dst, dpitch, src, spitch, width, height, kind, true, stream)
}

// checkStream stands in for a copy of nothing: an asynchronous one still posts an empty copy
// on its stream, so that the server checks the stream and a bad one reports at the next sync,
// as it would in process.
func checkStream(async bool, stream uintptr) cudart.Error {
	if !async || stream == 0 {
		return cudart.Success
	}
	return cudart.From(send(OpCopy2D, u64s(0, 0, 0, 0, 0, 0, uint64(stream)), true))
}

// memcpy3D carries a 3D copy as one pitched copy per slice.
func memcpy3D(p unsafe.Pointer, peer, async bool, stream uintptr) cudart.Error {
	moved := false
	e := cudart.Slices3D(p, peer, arrayLayout, func(dst uintptr, dpitch uint64, src uintptr, spitch, w, h uint64, kind int32) cudart.Error {
		moved = true
		return memcpy2D(dst, dpitch, src, spitch, w, h, kind, async, stream)
	})
	if e == cudart.Success && !moved {
		return checkStream(async, stream)
	}
	return e
}

// Memcpy3D is cudaMemcpy3D over the connection (pitched pointers or CUDA arrays).
func Memcpy3D(p unsafe.Pointer) cudart.Error { return memcpy3D(p, false, false, 0) }

// Memcpy3DAsync is cudaMemcpy3DAsync.
func Memcpy3DAsync(p unsafe.Pointer, stream uintptr) cudart.Error {
	return memcpy3D(p, false, true, stream)
}

// Memcpy3DPeer is cudaMemcpy3DPeer.
func Memcpy3DPeer(p unsafe.Pointer) cudart.Error { return memcpy3D(p, true, false, 0) }

// Memcpy3DPeerAsync is cudaMemcpy3DPeerAsync.
func Memcpy3DPeerAsync(p unsafe.Pointer, stream uintptr) cudart.Error {
	return memcpy3D(p, true, true, stream)
}
