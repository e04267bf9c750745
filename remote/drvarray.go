package remote

import (
	"math"
	"sync"
	"unsafe"

	"vgpu/cuda"
	"vgpu/shim"
	"vgpu/shim/api"
	"vgpu/wire"
)

// The driver API's array copies that move host memory, over the connection: the rules are
// cuda/array.go's and cuda/copy2d.go's, the array's layout comes from the server (for this
// client's own arrays only) and the bytes move by the ordinary copy ops, whose every address
// the server checks again. Copies between device memory and arrays are table rows: the server
// runs them whole.

// copierCU is a Copier over the connection.
func copierCU(async bool, stream uintptr) cuda.Copier {
	return func(dst, src uintptr, n uint64, kind int32) cuda.Result {
		return cuda.From(memcpy(dst, src, n, kind, async, stream))
	}
}

// MemcpyHtoA is cuMemcpyHtoA_v2 over the connection.
func MemcpyHtoA(dst uintptr, off uint64, src uintptr, n uint64) int32 {
	return int32(cuda.ToArray(driverArrays, copierCU(false, 0), dst, off, src, n, shim.HostToDevice))
}

// streamCheckCU answers an invalid handle for a stream the server does not know, before an
// async copy's bytes go out (whose errors would otherwise wait for the next sync). A stream
// this client made is known without asking.
func streamCheckCU(stream uintptr) int32 {
	if known(uint64(stream), true) {
		return 0
	}
	var flags uint32
	return int32(Forward(fnIndex("cuStreamGetFlags"), []wire.Value{{U: uint64(stream)}, {U: uint64(uintptr(unsafe.Pointer(&flags)))}}))
}

// MemcpyHtoAAsync is cuMemcpyHtoAAsync_v2 over the connection.
func MemcpyHtoAAsync(dst uintptr, off uint64, src uintptr, n uint64, stream uintptr) int32 {
	if r := streamCheckCU(stream); r != 0 {
		return r
	}
	return int32(cuda.ToArray(driverArrays, copierCU(true, stream), dst, off, src, n, shim.HostToDevice))
}

// MemcpyAtoH is cuMemcpyAtoH_v2 over the connection.
func MemcpyAtoH(dst, src uintptr, off, n uint64) int32 {
	return int32(cuda.FromArray(driverArrays, copierCU(false, 0), dst, src, off, n, shim.DeviceToHost))
}

// MemcpyAtoHAsync is cuMemcpyAtoHAsync_v2 over the connection.
func MemcpyAtoHAsync(dst, src uintptr, off, n uint64, stream uintptr) int32 {
	if r := streamCheckCU(stream); r != 0 {
		return r
	}
	return int32(cuda.FromArray(driverArrays, copierCU(true, stream), dst, src, off, n, shim.DeviceToHost))
}

// MemcpyHtoA32 is cuMemcpyHtoA (32-bit offsets) over the connection.
func MemcpyHtoA32(dst uintptr, off uint32, src uintptr, n uint32) int32 {
	return MemcpyHtoA(dst, uint64(off), src, uint64(n))
}

// MemcpyHtoAAsync32 is cuMemcpyHtoAAsync over the connection.
func MemcpyHtoAAsync32(dst uintptr, off uint32, src uintptr, n uint32, stream uintptr) int32 {
	return MemcpyHtoAAsync(dst, uint64(off), src, uint64(n), stream)
}

// MemcpyAtoH32 is cuMemcpyAtoH over the connection.
func MemcpyAtoH32(dst, src uintptr, off, n uint32) int32 {
	return MemcpyAtoH(dst, src, uint64(off), uint64(n))
}

// MemcpyAtoHAsync32 is cuMemcpyAtoHAsync over the connection.
func MemcpyAtoHAsync32(dst, src uintptr, off, n uint32, stream uintptr) int32 {
	return MemcpyAtoHAsync(dst, src, uint64(off), uint64(n), stream)
}

// MemcpyHtoAPtds is cuMemcpyHtoA_v2_ptds over the connection.
func MemcpyHtoAPtds(dst uintptr, off uint64, src uintptr, n uint64) int32 {
	if r := ptdsCheckCU(); r != 0 {
		return r
	}
	return MemcpyHtoA(dst, off, src, n)
}

// MemcpyAtoHPtds is cuMemcpyAtoH_v2_ptds over the connection.
func MemcpyAtoHPtds(dst, src uintptr, off, n uint64) int32 {
	if r := ptdsCheckCU(); r != 0 {
		return r
	}
	return MemcpyAtoH(dst, src, off, n)
}

// MemcpyHtoAAsyncPtsz is cuMemcpyHtoAAsync_v2_ptsz over the connection.
func MemcpyHtoAAsyncPtsz(dst uintptr, off uint64, src uintptr, n uint64, stream uintptr) int32 {
	return MemcpyHtoAAsync(dst, off, src, n, ptsz(stream))
}

// MemcpyAtoHAsyncPtsz is cuMemcpyAtoHAsync_v2_ptsz over the connection.
func MemcpyAtoHAsyncPtsz(dst, src uintptr, off, n uint64, stream uintptr) int32 {
	return MemcpyAtoHAsync(dst, src, off, n, ptsz(stream))
}

// Memcpy2D32 is cuMemcpy2D and cuMemcpy2DUnaligned (pre-3.2 descriptor) over the connection.
func Memcpy2D32(p unsafe.Pointer) int32 { return Memcpy2DCU(cuda.Widen2D(p)) }

// Memcpy2DAsync32 is cuMemcpy2DAsync over the connection.
func Memcpy2DAsync32(p unsafe.Pointer, stream uintptr) int32 {
	return Memcpy2DAsyncCU(cuda.Widen2D(p), stream)
}

// Memcpy3D32 is cuMemcpy3D over the connection.
func Memcpy3D32(p unsafe.Pointer) int32 { return Memcpy3DCU(cuda.Widen3D(p)) }

// Memcpy3DAsync32 is cuMemcpy3DAsync over the connection.
func Memcpy3DAsync32(p unsafe.Pointer, stream uintptr) int32 {
	return Memcpy3DAsyncCU(cuda.Widen3D(p), stream)
}

var fnIndexes = sync.OnceValue(func() map[string]int {
	m := map[string]int{}
	for i := range api.Functions {
		m[api.Functions[i].Name] = i
	}
	return m
})

// fnIndex is the table index of the function name (a row of functions.txt).
func fnIndex(name string) int { return fnIndexes()[name] }

// peerContexts checks a CUDA_MEMCPY3D_PEER's contexts on the server: each must be one of this
// client's (cuCtxGetApiVersion answers an invalid context for anything else).
func peerContexts(p unsafe.Pointer) int32 {
	if p == nil {
		return int32(cuda.ErrorInvalidValue)
	}
	b := shim.View(p, 200)
	for _, off := range []int{64, 152} {
		var v uint32
		ctx := shim.Le.Uint64(b[off:])
		if ctx == 0 {
			return int32(cuda.ErrorInvalidContext)
		}
		if r := Forward(fnIndex("cuCtxGetApiVersion"), []wire.Value{{U: ctx}, {U: uint64(uintptr(unsafe.Pointer(&v)))}}); r != 0 {
			return int32(r)
		}
	}
	return 0
}

// Memcpy3DPeerCU is cuMemcpy3DPeer over the connection.
func Memcpy3DPeerCU(p unsafe.Pointer) int32 { return Memcpy3DPeerAsyncCU(p, 0) }

// Memcpy3DPeerAsyncCU is cuMemcpy3DPeerAsync over the connection.
func Memcpy3DPeerAsyncCU(p unsafe.Pointer, stream uintptr) int32 {
	if r := peerContexts(p); r != 0 {
		return r
	}
	if stream == 0 {
		return Memcpy3DCU(p)
	}
	return Memcpy3DAsyncCU(p, stream)
}

// Memcpy3DPeerPtdsCU is cuMemcpy3DPeer_ptds over the connection.
func Memcpy3DPeerPtdsCU(p unsafe.Pointer) int32 {
	if r := ptdsCheckCU(); r != 0 {
		return r
	}
	return Memcpy3DPeerCU(p)
}

// Memcpy3DPeerAsyncPtszCU is cuMemcpy3DPeerAsync_ptsz over the connection.
func Memcpy3DPeerAsyncPtszCU(p unsafe.Pointer, stream uintptr) int32 {
	return Memcpy3DPeerAsyncCU(p, ptsz(stream))
}

// f32bits carries a float argument through the table's codec as its bits (the server's f32
// reads it back); a conversion to an integer would truncate it.
func f32bits(f float32) uint64 { return uint64(math.Float32bits(f)) }
