package remote

import (
	"encoding/binary"
	"unsafe"

	"vgpu/cuda"
	"vgpu/cudart"
	"vgpu/shim"
)

func status(resp []byte) shim.Status {
	if len(resp) < 1 {
		return shim.ErrInvalidValue
	}
	return shim.Status(resp[0])
}

// put copies n host bytes at src to device address dst; async puts are pipelined (the
// bytes are on their way when it returns, so the caller may reuse its buffer).
func put(dst, src uintptr, n uint64, async bool) shim.Status {
	if n >= shmMinCopy && useShm() {
		return putShm(dst, src, n, async)
	}
	for off := uint64(0); off < n; off += Chunk {
		m := min(Chunk, n-off)
		// The bytes go from where they lie: large ones straight into the socket.
		addr := binary.LittleEndian.AppendUint64(nil, uint64(dst)+off)
		data := shim.View(unsafe.Pointer(src+uintptr(off)), int(m))
		if async {
			if post(OpPut, addr, data) != nil {
				return shim.ErrNotSupported
			}
			continue
		}
		resp, err := roundTrip(OpPut, addr, data)
		if err != nil {
			return shim.ErrNotSupported
		}
		if st := status(resp); st != shim.OK {
			return st
		}
	}
	return shim.OK
}

// get copies n bytes at device address src to host memory at dst, in the order of stream
// (a server stream handle; 0 or cudaStreamLegacy: the legacy stream).
func get(dst, src uintptr, n uint64, stream uintptr) shim.Status {
	if n >= shmMinCopy && useShm() {
		return getShm(dst, src, n, stream)
	}
	for off := uint64(0); off < n; off += Chunk {
		m := min(Chunk, n-off)
		req := binary.LittleEndian.AppendUint64(nil, uint64(src)+off)
		req = binary.LittleEndian.AppendUint64(req, m)
		req = withStream(req, stream)
		st, err := roundTripInto(drainOf(stream), OpGet, shim.View(unsafe.Pointer(dst+uintptr(off)), int(m)), req)
		if err != nil {
			return shim.ErrNotSupported
		}
		if st != shim.OK {
			return st
		}
	}
	return shim.OK
}

// resolveKind asks the server which side is device memory when the program let CUDA infer it.
func resolveKind(dst, src uintptr, kind int32) int32 {
	if kind != shim.CopyDefault {
		return kind
	}
	switch d, s := isDevice(dst), isDevice(src); {
	case d && s:
		return shim.DeviceToDevice
	case d:
		return shim.HostToDevice
	case s:
		return shim.DeviceToHost
	}
	return shim.HostToHost
}

func isDevice(p uintptr) bool {
	resp, err := roundTrip(OpIsDevice, binary.LittleEndian.AppendUint64(nil, uint64(p)))
	return err == nil && len(resp) == 1 && resp[0] == 1
}

// memcpy moves bytes in any direction; device-to-device copies stay on the server.
func memcpy(dst, src uintptr, n uint64, kind int32, async bool, stream uintptr) shim.Status {
	stream = perThread(stream)
	kind = resolveKind(dst, src, kind)
	if n == 0 {
		return shim.OK
	}
	if n > 1<<48 {
		return shim.ErrInvalidValue
	}
	switch kind {
	case shim.HostToDevice:
		if src == 0 {
			return shim.ErrInvalidValue
		}
		// Small uploads still go inline: their bytes leave with the call, so the sync a program
		// makes after one (ggml does, after every input) has nothing to wait for.
		if n >= shmMinCopy && isShared(src, n) && captures.Load() == 0 {
			return hostCopy(OpPutHost, dst, src, n, async)
		}
		return put(dst, src, n, async)
	case shim.DeviceToHost:
		if dst == 0 {
			return shim.ErrInvalidValue
		}
		if isShared(dst, n) && captures.Load() == 0 {
			return hostCopyOn(OpGetHost, src, dst, n, async, stream)
		}
		if async {
			cs := []cuda.Copy2D{{Dst: dst, DPitch: n, Src: src, SPitch: n, W: n, H: 1, Kind: kind}}
			if st, captured := captureCopy(stream, cs); captured {
				return st
			}
		}
		return get(dst, src, n, stream)
	case shim.HostToHost:
		if dst == 0 || src == 0 {
			return shim.ErrInvalidValue
		}
		copy(shim.View(unsafe.Pointer(dst), int(n)), shim.View(unsafe.Pointer(src), int(n)))
		return shim.OK
	case shim.DeviceToDevice:
		if async {
			return send(OpCopyD2DAsync, u64s(uint64(dst), uint64(src), n, uint64(stream)), true)
		}
		return send(OpCopyD2D, u64s(uint64(dst), uint64(src), n), false)
	}
	return shim.ErrInvalidMemcpyDirection
}

// Memcpy is cudaMemcpy over the connection.
func Memcpy(dst, src uintptr, n uint64, kind int32) cudart.Error {
	return cudart.From(memcpy(dst, src, n, kind, false, 0))
}

// MemcpyAsync is cudaMemcpyAsync: uploads are pipelined; downloads wait for their bytes.
func MemcpyAsync(dst, src uintptr, n uint64, kind int32, stream uintptr) cudart.Error {
	return cudart.From(memcpy(dst, src, n, kind, true, stream))
}

// MemcpyHtoD is cuMemcpyHtoD_v2.
func MemcpyHtoD(dst uint64, src uintptr, n uint64) cuda.Result {
	return cuda.From(memcpy(uintptr(dst), src, n, shim.HostToDevice, false, 0))
}

// MemcpyDtoH is cuMemcpyDtoH_v2.
func MemcpyDtoH(dst uintptr, src uint64, n uint64) cuda.Result {
	return cuda.From(memcpy(dst, uintptr(src), n, shim.DeviceToHost, false, 0))
}

// MemcpyHtoDAsync is cuMemcpyHtoDAsync_v2: pipelined.
func MemcpyHtoDAsync(dst uint64, src uintptr, n uint64, stream uintptr) cuda.Result {
	return cuda.From(memcpy(uintptr(dst), src, n, shim.HostToDevice, true, stream))
}

// MemcpyDtoHAsync is cuMemcpyDtoHAsync_v2: in its stream's order, as cudaMemcpyAsync (on a
// capturing stream, a memcpy node of the capture: captureCopy). Not cuMemcpyDtoH: that waits
// for every stream's work, and NVIDIA's runtime makes every cudaMemcpyAsync download this call.
func MemcpyDtoHAsync(dst uintptr, src uint64, n uint64, stream uintptr) cuda.Result {
	return cuda.From(memcpy(dst, uintptr(src), n, shim.DeviceToHost, true, stream))
}
