package cuda

import (
	"math"
	"runtime"
	"sync"
	"unsafe"

	"vgpu/shim"
)

// The legacy launch path (cuFuncSetBlockShape, cuFuncSetSharedSize, cuParamSetSize,
// cuParamSeti/f/v, cuLaunch, cuLaunchGrid, cuLaunchGridAsync). The block shape, shared size
// and parameter buffer are the function's state in the calling process (a remote client's
// own, like its function handles); a launch hands them to cuLaunchKernel as one packed
// buffer (CU_LAUNCH_PARAM_BUFFER_POINTER/SIZE), so it is checked, captured and run as that
// launch is, here or over the connection.

// maxParamBytes is the largest parameter block a kernel takes (32764 bytes since CUDA 12.1).
const maxParamBytes = 32764

type legacyState struct {
	block  [3]uint32 // 0 until cuFuncSetBlockShape: such a launch is an invalid value
	shared uint32
	params []byte
}

var legacyMu sync.Mutex

// legacyFunc resolves a CUfunction (the caller's) and its state, under legacyMu.
func legacyFunc(f uintptr) (*legacyState, Result) {
	if r := codeContext(); r != Success { // a remote client's functions are its own records
		return nil, r
	}
	k, ok := shim.Lookup[*shim.Kernel](shim.KindFunction, f)
	if !ok {
		return nil, ErrorInvalidHandle
	}
	st, _ := k.Legacy.(*legacyState)
	if st == nil {
		st = &legacyState{}
		k.Legacy = st
	}
	return st, Success
}

// FuncSetBlockShape is cuFuncSetBlockShape: each dimension at least 1 (the launch checks
// the device's limits, as cuLaunchKernel does).
func FuncSetBlockShape(f uintptr, x, y, z int32) Result {
	legacyMu.Lock()
	defer legacyMu.Unlock()
	st, r := legacyFunc(f)
	if r != Success {
		return r
	}
	if x <= 0 || y <= 0 || z <= 0 {
		return ErrorInvalidValue
	}
	st.block = [3]uint32{uint32(x), uint32(y), uint32(z)}
	return Success
}

// FuncSetSharedSize is cuFuncSetSharedSize: the dynamic shared memory of later launches.
func FuncSetSharedSize(f uintptr, bytes uint32) Result {
	legacyMu.Lock()
	defer legacyMu.Unlock()
	st, r := legacyFunc(f)
	if r != Success {
		return r
	}
	st.shared = bytes
	return Success
}

// ParamSetSize is cuParamSetSize: the parameter block's size; values already set within it
// are kept.
func ParamSetSize(f uintptr, n uint32) Result {
	legacyMu.Lock()
	defer legacyMu.Unlock()
	st, r := legacyFunc(f)
	if r != Success {
		return r
	}
	if n > maxParamBytes {
		return ErrorInvalidValue
	}
	p := make([]byte, n)
	copy(p, st.params)
	st.params = p
	return Success
}

// paramSet writes b at offset: the bytes must lie inside the size cuParamSetSize set.
func paramSet(f uintptr, offset int32, b []byte) Result {
	legacyMu.Lock()
	defer legacyMu.Unlock()
	st, r := legacyFunc(f)
	if r != Success {
		return r
	}
	if offset < 0 || int64(offset)+int64(len(b)) > int64(len(st.params)) {
		return ErrorInvalidValue
	}
	copy(st.params[offset:], b)
	return Success
}

// ParamSeti is cuParamSeti: a 32-bit integer at offset.
func ParamSeti(f uintptr, offset int32, v uint32) Result {
	return paramSet(f, offset, shim.Le.AppendUint32(nil, v))
}

// ParamSetf is cuParamSetf: a float at offset.
func ParamSetf(f uintptr, offset int32, v float32) Result {
	return paramSet(f, offset, shim.Le.AppendUint32(nil, math.Float32bits(v)))
}

// ParamSetv is cuParamSetv: n bytes from ptr at offset (read only once the function and
// the span are known good).
func ParamSetv(f uintptr, offset int32, ptr unsafe.Pointer, n uint32) Result {
	legacyMu.Lock()
	defer legacyMu.Unlock()
	st, r := legacyFunc(f)
	if r != Success {
		return r
	}
	if (ptr == nil && n > 0) || offset < 0 || int64(offset)+int64(n) > int64(len(st.params)) {
		return ErrorInvalidValue
	}
	if n > 0 {
		copy(st.params[offset:], shim.View(ptr, int(n)))
	}
	return Success
}

// Launcher is cuLaunchKernel's signature: the semantics' LaunchFunction, or a remote
// client's.
type Launcher func(f uintptr, gx, gy, gz, bx, by, bz, shared uint32, stream uintptr, params, extra uintptr) Result

// LegacyLaunch launches f on a gx x gy grid with its legacy state, through launch. Where
// the function's image says its parameter layout, the buffer goes as kernelParams (one
// pointer per parameter, at its offset), which every backend packs by the layout it knows;
// a buffer longer than the parameters is too many arguments, a shorter one is zero-filled,
// as cuLaunchKernel's packed form does. Otherwise the buffer goes packed, as `extra`.
func LegacyLaunch(f uintptr, gx, gy int32, h uintptr, launch Launcher) Result {
	legacyMu.Lock()
	st, r := legacyFunc(f)
	var cp legacyState
	var layout []shim.ParamInfo
	if r == Success {
		cp = *st
		cp.params = append([]byte(nil), st.params...)
		layout = paramLayout(f)
	}
	legacyMu.Unlock()
	if r != Success {
		return r
	}
	if gx <= 0 || gy <= 0 || cp.block[0] == 0 {
		return ErrorInvalidValue
	}
	var params, extra uintptr
	size := uint64(len(cp.params))
	var kv [5]uintptr
	var slots []uintptr
	switch {
	case layout != nil:
		end := 0
		for _, q := range layout {
			end = max(end, int(q.Offset+q.Size))
		}
		if len(cp.params) > end {
			return ErrorLaunchOutOfRes
		}
		cp.params = append(cp.params, make([]byte, end-len(cp.params)+1)...) // +1: a pointer for an empty block
		slots = make([]uintptr, len(layout)+1)
		for i, q := range layout {
			slots[i] = uintptr(unsafe.Pointer(&cp.params[q.Offset]))
		}
		params = uintptr(unsafe.Pointer(&slots[0]))
	case size > 0:
		kv = [5]uintptr{launchParamBufferPointer, uintptr(unsafe.Pointer(&cp.params[0])), launchParamBufferSize, uintptr(unsafe.Pointer(&size)), launchParamEnd}
		extra = uintptr(unsafe.Pointer(&kv[0]))
	}
	r = launch(f, uint32(gx), uint32(gy), 1, cp.block[0], cp.block[1], cp.block[2], cp.shared, h, params, extra)
	runtime.KeepAlive(cp.params)
	runtime.KeepAlive(slots)
	runtime.KeepAlive(&size)
	runtime.KeepAlive(&kv)
	return r
}

// paramLayout is the function's parameter table, from its image (nil where the image does
// not say: PTX, a compressed entry).
func paramLayout(f uintptr) []shim.ParamInfo {
	k, ok := shim.Lookup[*shim.Kernel](shim.KindFunction, f)
	if !ok {
		return nil
	}
	if k.Params != nil {
		return k.Params
	}
	if k.Module != nil && k.Module.Image != 0 && k.Module.Size != 0 {
		return paramTable(shim.Bytes(k.Module.Image, k.Module.Size), k.Name)
	}
	return nil
}

// The keys of cuLaunchKernel's extra array (CU_LAUNCH_PARAM_*).
const (
	launchParamEnd           = 0
	launchParamBufferPointer = 1
	launchParamBufferSize    = 2
)

// Launch is cuLaunch: a 1 x 1 grid on the NULL stream.
func Launch(f uintptr) Result { return LegacyLaunch(f, 1, 1, 0, LaunchFunction) }

// LaunchGrid is cuLaunchGrid: on the NULL stream.
func LaunchGrid(f uintptr, gx, gy int32) Result { return LegacyLaunch(f, gx, gy, 0, LaunchFunction) }

// LaunchGridAsync is cuLaunchGridAsync.
func LaunchGridAsync(f uintptr, gx, gy int32, h uintptr) Result {
	return LegacyLaunch(f, gx, gy, h, LaunchFunction)
}
