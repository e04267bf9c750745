package remote

import (
	"encoding/binary"
	"sync"
	"unsafe"

	"vgpu/cudart"
	"vgpu/shim"
	"vgpu/shim/api"
	"vgpu/wire"
)

// A module's __device__/__constant__ variable (wire.OpGlobal): the server resolves it in the
// shipped image (its driver's cuModuleGetGlobal, or device memory of the sim's model, filled
// from the initial bytes the client sends: its host shadow).

var (
	globalsMu sync.Mutex
	globals   = map[*cudart.Symbol]uintptr{}
)

// symbolDevice is a symbol's address on the server, its module shipped on first use.
func symbolDevice(y *cudart.Symbol) (uintptr, shim.Status) {
	globalsMu.Lock()
	defer globalsMu.Unlock()
	if p, ok := globals[y]; ok {
		return p, shim.OK
	}
	codeMu.Lock()
	mh, st := shipModuleLocked(y.Module)
	codeMu.Unlock()
	if st != shim.OK {
		return 0, st
	}
	le := binary.LittleEndian
	req := le.AppendUint64(nil, mh)
	req = le.AppendUint64(req, y.Var.Size)
	req = le.AppendUint32(req, uint32(len(y.Var.Name)))
	req = append(req, y.Var.Name...)
	a, st := handleReply(roundTrip(OpGlobal, req, shim.Bytes(y.Var.HostVar, y.Var.Size)))
	if st != shim.OK {
		return 0, st
	}
	globals[y] = uintptr(a)
	return uintptr(a), shim.OK
}

func symbolAt(host uintptr) (*cudart.Symbol, cudart.Error) {
	if y := cudart.SymbolAt(host); y != nil && y.Var.Size > 0 {
		return y, cudart.Success
	}
	return nil, cudart.ErrorInvalidSymbol
}

// symbolFor checks a query's symbol, then its output pointer, in the runtime's order.
func symbolFor(out unsafe.Pointer, host uintptr) (*cudart.Symbol, cudart.Error) {
	y, e := symbolAt(host)
	if e == cudart.Success && out == nil {
		e = cudart.ErrorInvalidValue
	}
	return y, e
}

// GetSymbolAddress is cudaGetSymbolAddress over the connection.
func GetSymbolAddress(out unsafe.Pointer, host uintptr) cudart.Error {
	y, e := symbolFor(out, host)
	if e != cudart.Success {
		return e
	}
	p, st := symbolDevice(y)
	if st != shim.OK {
		return cudart.From(st)
	}
	shim.PutPtr(out, p)
	return cudart.Success
}

// GetSymbolSize is cudaGetSymbolSize: the client's registration knows it.
func GetSymbolSize(out unsafe.Pointer, host uintptr) cudart.Error {
	y, e := symbolFor(out, host)
	if e != cudart.Success {
		return e
	}
	shim.PutU64(out, y.Var.Size)
	return cudart.Success
}

func symbolCopy(host, other uintptr, count, offset uint64, kind int32, async bool, stream uintptr, to bool) cudart.Error {
	y, e := symbolAt(host)
	if e != cudart.Success {
		return e
	}
	if e := cudart.SymbolCopyCheck(y.Var.Size, count, offset, kind, to); e != cudart.Success {
		return e
	}
	p, st := symbolDevice(y)
	if st != shim.OK {
		return cudart.From(st)
	}
	if count == 0 {
		return cudart.Success
	}
	if to {
		return cudart.From(memcpy(p+uintptr(offset), other, count, kind, async, stream))
	}
	return cudart.From(memcpy(other, p+uintptr(offset), count, kind, async, stream))
}

// MemcpyToSymbol is cudaMemcpyToSymbol over the connection.
func MemcpyToSymbol(host, src uintptr, count, offset uint64, kind int32) cudart.Error {
	return symbolCopy(host, src, count, offset, kind, false, 0, true)
}

// MemcpyToSymbolAsync is cudaMemcpyToSymbolAsync over the connection.
func MemcpyToSymbolAsync(host, src uintptr, count, offset uint64, kind int32, stream uintptr) cudart.Error {
	return symbolCopy(host, src, count, offset, kind, true, stream, true)
}

// MemcpyFromSymbol is cudaMemcpyFromSymbol over the connection.
func MemcpyFromSymbol(dst, host uintptr, count, offset uint64, kind int32) cudart.Error {
	return symbolCopy(host, dst, count, offset, kind, false, 0, false)
}

// MemcpyFromSymbolAsync is cudaMemcpyFromSymbolAsync over the connection.
func MemcpyFromSymbolAsync(dst, host uintptr, count, offset uint64, kind int32, stream uintptr) cudart.Error {
	return symbolCopy(host, dst, count, offset, kind, true, stream, false)
}

// streamSync is cudaStreamSynchronize over the connection: it also checks the handle.
func streamSync(stream uintptr) cudart.Error {
	for i := range api.Functions {
		if api.Functions[i].Name == "cudaStreamSynchronize" {
			return cudart.Error(Forward(i, []wire.Value{{U: uint64(stream)}}))
		}
	}
	return cudart.ErrorNotSupported
}

// LaunchHostFunc is cudaLaunchHostFunc over the connection: the stream's work so far
// completes on the server, then fn runs on another thread; the call returns after it, so
// no later work of the program reaches the stream before it has returned.
func LaunchHostFunc(stream, fn, data uintptr) cudart.Error {
	if fn == 0 {
		return cudart.ErrorInvalidValue
	}
	if st, captured := captureHostFunc(stream, fn, data); captured {
		return cudart.From(st)
	}
	if e := streamSync(stream); e != cudart.Success {
		return e
	}
	cudart.RunHostFunc(fn, data)
	return cudart.Success
}

// StreamAddCallback is cudaStreamAddCallback over the connection.
func StreamAddCallback(stream, fn, data uintptr, flags uint32) cudart.Error {
	if fn == 0 || flags != 0 {
		return cudart.ErrorInvalidValue
	}
	if captures.Load() > 0 {
		return cudart.ErrorCaptureUnsupported
	}
	if e := streamSync(stream); e != cudart.Success {
		return e
	}
	cudart.RunStreamCallback(fn, stream, data)
	return cudart.Success
}

func poolAttr(pool uintptr, attr int32, value uintptr, set bool) cudart.Error {
	n := cudart.PoolAttrSize(attr)
	if n == 0 || value == 0 {
		return cudart.ErrorInvalidValue
	}
	le := binary.LittleEndian
	req := le.AppendUint64(nil, uint64(pool))
	req = le.AppendUint32(req, uint32(attr))
	var v [8]byte
	flag := uint32(0)
	if set {
		flag = 1
		copy(v[:], shim.Bytes(value, uint64(n)))
	}
	req = le.AppendUint32(req, flag)
	req = append(req, v[:]...)
	resp, err := roundTrip(OpPoolAttr, req)
	if err != nil {
		return cudart.ErrorNotSupported
	}
	if len(resp) != 12 {
		return cudart.ErrorInvalidValue
	}
	if e := cudart.Error(le.Uint32(resp)); e != cudart.Success {
		return e
	}
	if !set {
		copy(shim.Bytes(value, uint64(n)), resp[4:4+n])
	}
	return cudart.Success
}

// MemPoolGetAttribute is cudaMemPoolGetAttribute over the connection.
func MemPoolGetAttribute(pool uintptr, attr int32, value uintptr) cudart.Error {
	return poolAttr(pool, attr, value, false)
}

// MemPoolSetAttribute is cudaMemPoolSetAttribute over the connection.
func MemPoolSetAttribute(pool uintptr, attr int32, value uintptr) cudart.Error {
	return poolAttr(pool, attr, value, true)
}
