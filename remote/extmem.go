package remote

import (
	"encoding/binary"
	"runtime"
	"unsafe"

	"vgpu/shim"
	"vgpu/shim/api"
	"vgpu/wire"

	"golang.org/x/sys/unix"
)

// External memory over remote (shim/extmem.go): the opaque fd is read here, in the program's
// own process; the server gets the descriptor's first ExtMemDescSize bytes followed by the
// bytes the fd held. On success the fd is closed here: the import owns it, as NVIDIA documents.

func init() {
	byName := api.ByName()
	for _, name := range []string{"cuImportExternalMemory", "cudaImportExternalMemory"} {
		beforeCall[byName[name].Op] = func(f *api.Func, v []wire.Value) (uint64, bool) {
			desc := unsafe.Pointer(uintptr(v[1].U))
			if desc == nil {
				return 0, false // the server answers the bad argument
			}
			buf := make([]byte, shim.ExtMemDescSize+shim.ShareableSize)
			copy(buf, shim.View(desc, shim.ExtMemDescSize))
			typ := int32(binary.LittleEndian.Uint32(buf[0:]))
			if st := shim.ExtMemTypeStatus(typ); st != shim.OK {
				return statusOf(f, st), true
			}
			fd := int(int32(binary.LittleEndian.Uint32(buf[8:])))
			b, st := shim.ReadShareableFD(fd)
			if st != shim.OK {
				return statusOf(f, st), true
			}
			copy(buf[shim.ExtMemDescSize:], b)
			w := append([]wire.Value(nil), v...)
			w[1].U = uint64(uintptr(unsafe.Pointer(&buf[0])))
			r := forwardCall(f, w)
			runtime.KeepAlive(buf)
			if r == 0 {
				unix.Close(fd)
			}
			return r, true
		}
	}
}
