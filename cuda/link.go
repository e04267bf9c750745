package cuda

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sync"
	"unsafe"

	"vgpu/shim"
)

// The linker (cuLinkCreate, cuLinkAddData, cuLinkAddFile, cuLinkComplete, cuLinkDestroy)
// runs in the calling process, a remote client's included, as NVIDIA's does: its inputs are
// bytes here (cuLinkAddFile reads the file in this process, never on a server), and its
// output is an image the program loads with cuModuleLoadData, which ships it like any image.
//
// The model has no device linker: it cannot resolve one object's external device symbols
// against another's. So a link of one cubin, fat binary or PTX input completes with that
// image (what cuModuleLoadData accepts, and what the local backend's driver JITs or loads),
// and a link of several answers CUDA_ERROR_NOT_SUPPORTED at cuLinkComplete, as do host
// objects, archives and NVVM IR (CU_JIT_INPUT_OBJECT, _LIBRARY, _NVVM), which need nvlink or
// libNVVM's link-time optimizer.

// CUjitInputType values.
const (
	jitInputCubin  = 0
	jitInputPTX    = 1
	jitInputFatbin = 2
	jitInputObject = 3
	jitInputLib    = 4
	jitInputNVVM   = 5
)

// ErrorInvalidPTX is CUDA_ERROR_INVALID_PTX; ErrorJitCompilerNotFound is not used: PTX links.
const ErrorInvalidPTX Result = 218

// maxLinkInput bounds one input (and a file cuLinkAddFile reads): far above any real cubin.
const maxLinkInput = 1 << 30

// linkState is one CUlinkState. Its handle has the library kind: lookups are typed, so a
// link state is never taken for a CUlibrary nor one for the other.
type linkState struct {
	handle  uintptr
	mu      sync.Mutex
	inputs  [][]byte
	out     uintptr // the completed image, this state's until cuLinkDestroy
	outSize uint64
}

func linkOf(h uintptr) (*linkState, Result) {
	if r := codeReady(); r != Success {
		return nil, r
	}
	l, ok := shim.Lookup[*linkState](shim.KindLibrary, h)
	if !ok {
		return nil, ErrorInvalidHandle
	}
	return l, Success
}

// LinkCreate is cuLinkCreate(_v2). The JIT options are accepted as given (none changes what
// the model links); their array must be present when counted.
func LinkCreate(n uint32, opts, vals uintptr, outp uintptr) Result {
	out := unsafe.Pointer(outp)
	if r := codeContext(); r != Success {
		return r
	}
	if out == nil || !options(opts, vals, n) {
		return ErrorInvalidValue
	}
	l := &linkState{}
	l.handle = shim.NewHandle(shim.KindLibrary, l)
	shim.PutPtr(out, l.handle)
	return Success
}

// checkInput checks one input's bytes against its declared type.
func checkInput(kind int32, data []byte) Result {
	switch kind {
	case jitInputCubin:
		if len(data) < 64 || !bytes.HasPrefix(data, []byte("\x7fELF")) {
			return ErrorInvalidImage
		}
	case jitInputFatbin:
		if len(data) < 16 || binary.LittleEndian.Uint32(data) != 0xba55ed50 {
			return ErrorInvalidImage
		}
	case jitInputPTX:
		if !bytes.Contains(data, []byte(".version")) || !bytes.Contains(data, []byte(".target")) {
			return ErrorInvalidPTX
		}
	case jitInputObject, jitInputLib, jitInputNVVM:
		return ErrorNotSupported
	default:
		return ErrorInvalidValue
	}
	return Success
}

func (l *linkState) add(kind int32, data []byte) Result {
	if r := checkInput(kind, data); r != Success {
		return r
	}
	if kind == jitInputPTX && data[len(data)-1] != 0 {
		data = append(data, 0) // PTX is loaded as a NUL-terminated string
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.out != 0 {
		return ErrorInvalidHandle // completed: the driver takes no more inputs
	}
	l.inputs = append(l.inputs, data)
	return Success
}

// LinkAddData is cuLinkAddData(_v2): size bytes at data, copied now (the caller may free them).
func LinkAddData(h uintptr, kind int32, data uintptr, size uint64, name uintptr, n uint32, opts, vals uintptr) Result {
	l, r := linkOf(h)
	if r != Success {
		return r
	}
	if data == 0 || size == 0 || size > maxLinkInput || !options(opts, vals, n) {
		return ErrorInvalidValue
	}
	return l.add(kind, bytes.Clone(shim.Bytes(data, size)))
}

// LinkAddFile is cuLinkAddFile(_v2): the file is read here, in the calling process.
func LinkAddFile(h uintptr, kind int32, path uintptr, n uint32, opts, vals uintptr) Result {
	l, r := linkOf(h)
	if r != Success {
		return r
	}
	if path == 0 || !options(opts, vals, n) {
		return ErrorInvalidValue
	}
	name, ok := shim.GoString(unsafe.Pointer(path), 4096)
	if !ok || name == "" {
		return ErrorInvalidValue
	}
	f, err := os.Open(name)
	if err != nil {
		return ErrorFileNotFound
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxLinkInput+1))
	if err != nil || len(data) == 0 {
		return ErrorInvalidImage
	}
	if len(data) > maxLinkInput {
		return ErrorInvalidValue
	}
	return l.add(kind, data)
}

// LinkComplete is cuLinkComplete: the linked image and its size, valid until cuLinkDestroy.
func LinkComplete(h uintptr, outp, sizep uintptr) Result {
	out, size := unsafe.Pointer(outp), unsafe.Pointer(sizep)
	l, r := linkOf(h)
	if r != Success {
		return r
	}
	if out == nil || size == nil {
		return ErrorInvalidValue
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.out == 0 {
		switch len(l.inputs) {
		case 0:
			return ErrorInvalidValue
		case 1:
		default:
			shim.WarnOnce("link-many", fmt.Sprintf("cuLinkComplete: %d inputs need a device linker, which the model lacks", len(l.inputs)))
			return ErrorNotSupported
		}
		img := l.inputs[0]
		p, err := shim.MapAnon(uint64(len(img)), 0x1|0x2)
		if err != nil {
			return ErrorOutOfMemory
		}
		copy(shim.Bytes(p, uint64(len(img))), img)
		l.out, l.outSize = p, uint64(len(img))
	}
	shim.PutPtr(out, l.out)
	shim.PutU64(size, l.outSize)
	return Success
}

// LinkDestroy is cuLinkDestroy: the state and its output go.
func LinkDestroy(h uintptr) Result {
	l, r := linkOf(h)
	if r != Success {
		return r
	}
	if !shim.Release(shim.KindLibrary, h) {
		return ErrorInvalidHandle
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.out != 0 {
		shim.Unmap(l.out, l.outSize)
		l.out = 0
	}
	l.inputs = nil
	return Success
}
