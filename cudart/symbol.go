package cudart

import (
	"sync"
	"unsafe"

	"vgpu/shim"
)

// Symbol is a registered __device__ or __constant__ variable as the runtime addresses it:
// by the host address of its shadow (what the program passes as `symbol`).
type Symbol struct {
	Module *shim.Module
	Var    shim.Var
	mu     sync.Mutex
	dev    uintptr // its device storage in this process's model, once resolved
}

var (
	symbolsMu sync.RWMutex
	symbols   = map[uintptr]*Symbol{}
)

// SymbolAt finds the variable whose host shadow is at host.
func SymbolAt(host uintptr) *Symbol {
	symbolsMu.RLock()
	defer symbolsMu.RUnlock()
	return symbols[host]
}

// device returns the variable's device storage: real device memory of the model, charged
// to the device, allocated on first use and filled from the host shadow, which nvcc
// initialises as the device image's initialiser.
func (y *Symbol) device() (uintptr, Error) {
	y.mu.Lock()
	defer y.mu.Unlock()
	if y.dev != 0 {
		return y.dev, Success
	}
	d, e := currentDevice()
	if e != Success {
		return 0, e
	}
	if y.Var.Size == 0 {
		return 0, ErrorInvalidSymbol
	}
	a, st := shim.AllocDevice(d, y.Var.Size, shim.MemDevice)
	if st != shim.OK {
		return 0, From(st)
	}
	if st := shim.S().Backend.Copy(a.Base, y.Var.HostVar, y.Var.Size, shim.HostToDevice); st != shim.OK {
		return 0, From(st)
	}
	y.dev = a.Base
	return y.dev, Success
}

// symbolAt resolves a symbol argument: an unknown address is cudaErrorInvalidSymbol.
func symbolAt(host uintptr) (*Symbol, Error) {
	if _, e := begin(); e != Success {
		return nil, e
	}
	y := SymbolAt(host)
	if y == nil {
		return nil, ErrorInvalidSymbol
	}
	return y, Success
}

// GetSymbolAddress is cudaGetSymbolAddress.
func GetSymbolAddress(out unsafe.Pointer, host uintptr) Error {
	y, e := symbolAt(host)
	if e != Success {
		return e
	}
	if out == nil {
		return ErrorInvalidValue
	}
	p, e := y.device()
	if e != Success {
		return e
	}
	shim.PutPtr(out, p)
	return Success
}

// GetSymbolSize is cudaGetSymbolSize.
func GetSymbolSize(out unsafe.Pointer, host uintptr) Error {
	y, e := symbolAt(host)
	if e != Success {
		return e
	}
	if out == nil {
		return ErrorInvalidValue
	}
	shim.PutU64(out, y.Var.Size)
	return Success
}

// SymbolCopyCheck validates a copy of count bytes at offset into (to) or out of a symbol of
// size bytes: the range must lie within the variable, and the other side must be host or
// device memory in a direction the call allows.
func SymbolCopyCheck(size, count, offset uint64, kind int32, to bool) Error {
	other := int32(shim.DeviceToHost)
	if to {
		other = shim.HostToDevice
	}
	if kind != other && kind != shim.DeviceToDevice && kind != shim.CopyDefault {
		return ErrorInvalidMemcpyDirection
	}
	if offset > size || count > size-offset {
		return ErrorInvalidValue
	}
	return Success
}

func symbolCopy(host, other uintptr, count, offset uint64, kind int32, stream uintptr, to bool) Error {
	y, e := symbolAt(host)
	if e != Success {
		return e
	}
	if e := SymbolCopyCheck(y.Var.Size, count, offset, kind, to); e != Success {
		return e
	}
	s, e := resolveStream(stream)
	if e != Success {
		return e
	}
	p, e := y.device()
	if e != Success {
		return e
	}
	if count == 0 {
		return Success
	}
	if to {
		return From(shim.Memcpy(s, p+uintptr(offset), other, count, kind))
	}
	return From(shim.Memcpy(s, other, p+uintptr(offset), count, kind))
}

// MemcpyToSymbol is cudaMemcpyToSymbol.
func MemcpyToSymbol(host, src uintptr, count, offset uint64, kind int32) Error {
	return symbolCopy(host, src, count, offset, kind, 0, true)
}

// MemcpyToSymbolAsync is cudaMemcpyToSymbolAsync.
func MemcpyToSymbolAsync(host, src uintptr, count, offset uint64, kind int32, stream uintptr) Error {
	return symbolCopy(host, src, count, offset, kind, stream, true)
}

// MemcpyFromSymbol is cudaMemcpyFromSymbol.
func MemcpyFromSymbol(dst, host uintptr, count, offset uint64, kind int32) Error {
	return symbolCopy(host, dst, count, offset, kind, 0, false)
}

// MemcpyFromSymbolAsync is cudaMemcpyFromSymbolAsync.
func MemcpyFromSymbolAsync(dst, host uintptr, count, offset uint64, kind int32, stream uintptr) Error {
	return symbolCopy(host, dst, count, offset, kind, stream, false)
}
