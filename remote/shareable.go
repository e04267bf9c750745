package remote

import (
	"runtime"
	"unsafe"

	"vgpu/cuda"
	"vgpu/cudart"
	"vgpu/shim"
	"vgpu/shim/api"
	"vgpu/wire"
)

// Shareable handles over remote (shim/shareable.go): the server issues and resolves the 64
// bytes; the fd the program holds is made and read here, in its own process. A server is
// never sent an fd, nor asked to open one.

// statusOf is a shim status as f's library answers it.
func statusOf(f *api.Func, st shim.Status) uint64 {
	if f.Lib == "cudart" {
		return uint64(cudart.From(st))
	}
	return uint64(cuda.From(st))
}

func init() {
	byName := api.ByName()
	// Exports: the server writes the bytes into a buffer of ours; the program gets an fd.
	for _, name := range []string{"cuMemPoolExportToShareableHandle", "cuMemExportToShareableHandle", "cudaMemPoolExportToShareableHandle"} {
		beforeCall[byName[name].Op] = func(f *api.Func, v []wire.Value) (uint64, bool) {
			out := unsafe.Pointer(uintptr(v[0].U))
			if out == nil {
				return 0, false // the server answers the bad argument
			}
			buf := make([]byte, shim.ShareableSize)
			w := append([]wire.Value(nil), v...)
			w[0].U = uint64(uintptr(unsafe.Pointer(&buf[0])))
			r := forwardCall(f, w)
			runtime.KeepAlive(buf)
			if r != 0 {
				return r, true
			}
			fd, st := shim.ShareableFD(buf)
			if st != shim.OK {
				return statusOf(f, st), true
			}
			shim.PutU32(out, uint32(fd))
			return 0, true
		}
	}
	// Imports: the fd is read here; the server resolves its bytes.
	for _, name := range []string{"cuMemPoolImportFromShareableHandle", "cuMemImportFromShareableHandle", "cudaMemPoolImportFromShareableHandle"} {
		beforeCall[byName[name].Op] = func(f *api.Func, v []wire.Value) (uint64, bool) {
			b, st := shim.ReadShareableFD(fdOf(v[1].U))
			if st != shim.OK {
				return statusOf(f, st), true
			}
			w := append([]wire.Value(nil), v...)
			w[1].U = uint64(uintptr(unsafe.Pointer(&b[0])))
			r := forwardCall(f, w)
			runtime.KeepAlive(b)
			return r, true
		}
	}
}

// fdOf is the fd a program passed cast to a pointer; a value no int holds is none.
func fdOf(u uint64) int {
	if u > 1<<31-1 {
		return -1
	}
	return int(u)
}
