package remote

import (
	"encoding/binary"
	"sync"
	"unsafe"

	"vgpu/cudart"
	"vgpu/shim"
)

// A kernel's attributes and occupancy come from the server's driver: a program that sizes
// its launches from them (ggml's flash attention picks its split from occupancy) must get
// the numbers the real device gives, or its results differ from a native run. A server
// whose backend cannot say (sim) leaves the answer to the client's model.

// The answers depend only on the kernel and the question, so each is asked once: ggml asks
// for occupancy before every flash-attention launch.
type queryKey struct {
	k                   *shim.Kernel
	what, flags         uint32
	block, maxDynShared int32
	shared              uint64
}

var answers sync.Map // queryKey -> []int32

// query asks the server about kernel k; nil means the server's backend has no answer.
func query(k *shim.Kernel, what uint32, block int32, shared uint64, flags uint32) ([]int32, cudart.Error) {
	key := queryKey{k, what, flags, block, k.MaxDynShared, shared}
	if v, ok := answers.Load(key); ok {
		return v.([]int32), cudart.Success
	}
	v, e := ask(k, what, block, shared, flags)
	if e == cudart.Success {
		answers.Store(key, v)
	}
	return v, e
}

func ask(k *shim.Kernel, what uint32, block int32, shared uint64, flags uint32) ([]int32, cudart.Error) {
	rk, st := shipped(k)
	if st != shim.OK {
		return nil, cudart.From(st)
	}
	le := binary.LittleEndian
	req := le.AppendUint64(nil, rk.handle)
	req = le.AppendUint32(req, what)
	req = le.AppendUint32(req, uint32(block))
	req = le.AppendUint64(req, shared)
	req = le.AppendUint32(req, flags)
	req = le.AppendUint32(req, uint32(k.MaxDynShared))
	resp, err := roundTrip(OpFuncQuery, req)
	if err != nil {
		return nil, cudart.Error(unavailable("cudart"))
	}
	if s := status(resp); s != shim.OK {
		if s == shim.ErrNotSupported {
			return nil, cudart.Success
		}
		return nil, cudart.From(s)
	}
	vals := make([]int32, (len(resp)-1)/4)
	for i := range vals {
		vals[i] = int32(le.Uint32(resp[1+4*i:]))
	}
	return vals, cudart.Success
}

// FuncGetAttributes is cudaFuncGetAttributes with the server's figures.
func FuncGetAttributes(attr unsafe.Pointer, fn uintptr) cudart.Error {
	if e := cudart.FuncGetAttributes(attr, fn); e != cudart.Success { // argument checks, and the model's figures
		return e
	}
	k := shim.KernelByHost(fn)
	v, e := query(k, 0, 0, 0, 0)
	if e != cudart.Success || len(v) < shim.KernelAttrCount {
		return e
	}
	b := shim.View(attr, 144)
	shim.Le.PutUint64(b[0:], uint64(v[1]))  // sharedSizeBytes
	shim.Le.PutUint64(b[8:], uint64(v[2]))  // constSizeBytes
	shim.Le.PutUint64(b[16:], uint64(v[3])) // localSizeBytes
	for off, a := range map[int]int{24: 0, 28: 4, 32: 5, 36: 6, 40: 7, 44: 8, 48: 9} {
		shim.Le.PutUint32(b[off:], uint32(v[a]))
	}
	if k.MaxDynShared > v[8] { // raised by the program: the server's function learns it at launch
		shim.Le.PutUint32(b[44:], uint32(k.MaxDynShared))
	}
	return cudart.Success
}

// OccupancyMaxActiveBlocksPerMultiprocessor is cudaOccupancyMaxActiveBlocksPerMultiprocessor.
func OccupancyMaxActiveBlocksPerMultiprocessor(n unsafe.Pointer, fn uintptr, blockSize int32, shared uint64) cudart.Error {
	return OccupancyMaxActiveBlocksPerMultiprocessorWithFlags(n, fn, blockSize, shared, 0)
}

// OccupancyMaxActiveBlocksPerMultiprocessorWithFlags answers with the server's driver.
func OccupancyMaxActiveBlocksPerMultiprocessorWithFlags(n unsafe.Pointer, fn uintptr, blockSize int32, shared uint64, flags uint32) cudart.Error {
	if e := cudart.OccupancyMaxActiveBlocksPerMultiprocessorWithFlags(n, fn, blockSize, shared, flags); e != cudart.Success {
		return e
	}
	v, e := query(shim.KernelByHost(fn), 1, blockSize, shared, flags)
	if e != cudart.Success || len(v) < 1 {
		return e
	}
	shim.PutI32(n, v[0])
	return cudart.Success
}
