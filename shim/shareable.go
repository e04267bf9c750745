package shim

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Shareable handles of memory pools and of cuMemCreate'd memory, and pool pointer exports
// (cuMemPoolExportToShareableHandle, cuMemPoolExportPointer, cuMemExportToShareableHandle and
// their imports). They follow the IPC model (shim/ipc.go): the exporter's server (or, in a
// program's own process, the model) issues 48 random bytes for the object; the bytes are the
// capability. CUDA's API wants a POSIX file descriptor, so the fd is made in the program's own
// process: a sealed memfd holding the 64 bytes of the handle. Importing reads the bytes back
// from the fd in the importing process and asks its server to resolve them; a server never
// receives, opens or reads an fd or a path of a client's.
//
// Rules, as SECURITY.md states them:
//   - only objects created with CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR can be exported, and
//     only as that type (invalid value); Win32 and fabric handles are not modelled (not supported);
//   - bytes no live export has, or another server's, are refused (invalid value), as is the
//     exporter's own export: as with IPC handles, the other side must be another client;
//   - a pool's export ends when the exporter destroys the pool or leaves; an imported pool
//     hands out no memory, and names only pointers exported from the pool it imports;
//   - an imported pointer is a mapping of the exporter's allocation (MemIPC): the importer's
//     free drops its mapping only, and the exporter's free revokes it (calls in flight finish
//     first, as with IPC);
//   - imported cuMemCreate memory is a new handle of the importer's to the same memory, which
//     stays until every handle and mapping of it is gone (CUDA's rule); the export ends when the
//     exporter releases its handle.

// ShareableSize is the size of the bytes a shareable fd carries, and of
// CUmemPoolPtrExportData.
const ShareableSize = 64

var (
	poolMagic = [8]byte{'v', 'g', 'p', 'u', 'p', 'o', 'o', 'l'}
	physMagic = [8]byte{'v', 'g', 'p', 'u', 'v', 'm', 'm', 'h'}
	ptrMagic  = [8]byte{'v', 'g', 'p', 'u', 'p', 't', 'r', '0'}
)

// Serving reports whether this process is a server running clients' calls: then a shareable
// handle travels as its 64 bytes (the client's own process makes and reads the fd).
func Serving() bool { return serving.Load() }

type poolExport struct {
	token ipcToken
	owner uint64
	pool  *MemPool
}

type physExport struct {
	token ipcToken
	owner uint64
	phys  *Physical
}

// shares lives under ipc's lock: pointer exports are IPC exports.
var shares = struct {
	pools  map[ipcToken]*poolExport
	byPool map[*MemPool]*poolExport
	phys   map[ipcToken]*physExport
	byPhys map[*Physical]*physExport
}{map[ipcToken]*poolExport{}, map[*MemPool]*poolExport{}, map[ipcToken]*physExport{}, map[*Physical]*physExport{}}

// handleTypeStatus checks a CUmemAllocationHandleType an object may be exported or imported
// as: the POSIX fd only; Win32 (2, 4) and fabric (8) handles are not modelled.
func handleTypeStatus(t int32) Status {
	switch t {
	case HandlePosixFD:
		return OK
	case 2, 4, 8:
		return ErrNotSupported
	}
	return ErrInvalidValue
}

// ExportPool writes the 64 bytes of a shareable handle for p into out.
func ExportPool(out []byte, p *MemPool, typ int32, flags uint64) Status {
	if st := handleTypeStatus(typ); st != OK {
		return st
	}
	if flags != 0 || p.Imported != nil || p.Handles&uint32(typ) == 0 {
		return ErrInvalidValue
	}
	ipc.Lock()
	defer ipc.Unlock()
	x := shares.byPool[p]
	if x == nil {
		x = &poolExport{token: newToken(), owner: p.owner, pool: p}
		shares.pools[x.token], shares.byPool[p] = x, x
	}
	encodeHandle(out, poolMagic, x.token)
	return OK
}

// ImportPool resolves a pool's handle for the caller: a new pool handle of its own naming
// the exporter's pool.
func ImportPool(h []byte, typ int32, flags uint64) (*MemPool, Status) {
	if st := handleTypeStatus(typ); st != OK {
		return nil, st
	}
	t, ok := decodeHandle(h, poolMagic)
	if !ok || flags != 0 {
		return nil, ErrInvalidValue
	}
	me := CallerOwner()
	ipc.Lock()
	x := shares.pools[t]
	ipc.Unlock()
	if x == nil || x.owner == me {
		return nil, ErrInvalidValue
	}
	src := x.pool
	p := &MemPool{live: map[uintptr]uint64{}, reuse: [3]int32{1, 1, 1}, Dev: src.Dev, Created: true,
		Imported: src, owner: me}
	p.Handle = NewHandle(KindMemHandle, p)
	return p, OK
}

// revokePoolExport ends p's export: it is destroyed, or its client left.
func revokePoolExport(p *MemPool) {
	ipc.Lock()
	defer ipc.Unlock()
	if x := shares.byPool[p]; x != nil {
		delete(shares.byPool, p)
		delete(shares.pools, x.token)
	}
}

// ExportPoolPointer writes CUmemPoolPtrExportData for the caller's allocation at p, drawn
// from an exportable pool.
func ExportPoolPointer(out []byte, p uintptr) Status {
	a := S().Mem.Exact(p, MemDevice)
	if a == nil {
		return ErrInvalidValue
	}
	v, ok := allocPools.Load(a.Base)
	if !ok || v.(*MemPool).Handles == 0 {
		return ErrInvalidValue
	}
	ipc.Lock()
	defer ipc.Unlock()
	x := ipc.byAlloc[a]
	if x == nil {
		x = &ipcExport{token: newToken(), owner: a.Owner, alloc: a, maps: map[uint64]*ipcMap{}}
		ipc.byToken[x.token], ipc.byAlloc[a] = x, x
	}
	encodeHandle(out, ptrMagic, x.token)
	return OK
}

// ImportPoolPointer maps the allocation data names for the caller, through pool, which must
// be the caller's import of the pool the allocation was drawn from. Importing it again
// returns the same address and counts one more free.
func ImportPoolPointer(pool *MemPool, data []byte) (uintptr, Status) {
	t, ok := decodeHandle(data, ptrMagic)
	if !ok || pool.Imported == nil {
		return 0, ErrInvalidValue
	}
	me := CallerOwner()
	ipc.Lock()
	defer ipc.Unlock()
	x := ipc.byToken[t]
	if x == nil || x.alloc == nil || x.owner == me {
		return 0, ErrInvalidValue
	}
	if v, ok := allocPools.Load(x.alloc.Base); !ok || v.(*MemPool) != pool.Imported {
		return 0, ErrInvalidValue
	}
	if m := x.maps[me]; m != nil {
		m.refs++
		m.viaPool = true
		return m.alias.Base, OK
	}
	a := x.alloc
	alias := &Alloc{Base: a.Base, Size: a.Size, Kind: MemIPC, Dev: a.Dev}
	S().Mem.Add(alias) // the caller's, charged to nobody: the exporter pays
	x.maps[me] = &ipcMap{alias: alias, refs: 1, viaPool: true}
	ipc.byAlias[alias] = x
	return a.Base, OK
}

// freeImported is the importer's free of a pointer it imported from a pool: one import
// fewer of its mapping; the memory is the exporter's. It reports whether p was one.
func freeImported(p uintptr) bool {
	alias := S().Mem.Exact(p, MemIPC)
	if alias == nil {
		return false
	}
	ipc.Lock()
	x := ipc.byAlias[alias]
	viaPool := x != nil && x.maps[alias.Owner] != nil && x.maps[alias.Owner].viaPool
	ipc.Unlock()
	return viaPool && IPCCloseMemHandle(p) == OK
}

// ExportPhysical writes the 64 bytes of a shareable handle for p into out.
func ExportPhysical(out []byte, p *Physical, typ int32, flags uint64) Status {
	if st := handleTypeStatus(typ); st != OK {
		return st
	}
	if flags != 0 || p.Handles&uint32(typ) == 0 {
		return ErrInvalidValue
	}
	ipc.Lock()
	defer ipc.Unlock()
	x := shares.byPhys[p]
	if x == nil {
		x = &physExport{token: newToken(), owner: CallerOwner(), phys: p}
		shares.phys[x.token], shares.byPhys[p] = x, x
	}
	encodeHandle(out, physMagic, x.token)
	return OK
}

// ImportPhysical resolves a handle of cuMemCreate'd memory for the caller: a new handle of
// its own to the same memory, which it maps and releases like memory it created (it is not
// charged to it: the exporter pays until every handle and mapping is gone).
func ImportPhysical(h []byte, typ int32) (*Physical, Status) {
	if st := handleTypeStatus(typ); st != OK {
		return nil, st
	}
	t, ok := decodeHandle(h, physMagic)
	if !ok {
		return nil, ErrInvalidValue
	}
	me := CallerOwner()
	ipc.Lock()
	x := shares.phys[t]
	ipc.Unlock()
	if x == nil || x.owner == me {
		return nil, ErrInvalidValue
	}
	src := x.phys
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.fd < 0 {
		return nil, ErrInvalidValue
	}
	fd, err := unix.FcntlInt(uintptr(src.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, ErrOutOfMemory
	}
	src.imports++
	p := &Physical{Dev: src.Dev, Size: src.Size, fd: fd, source: src}
	p.Handle = NewHandle(KindMemHandle, p)
	return p, OK
}

// revokePhysExport ends p's export: its handle was released.
func revokePhysExport(p *Physical) {
	ipc.Lock()
	defer ipc.Unlock()
	if x := shares.byPhys[p]; x != nil {
		delete(shares.byPhys, p)
		delete(shares.phys, x.token)
	}
}

// PutShareable hands a shareable handle's bytes to the caller at out: in a program's own
// process as a file descriptor (an int) it can send to another process; on a server as the
// bytes themselves, which the client's own process turns into its fd.
func PutShareable(out unsafe.Pointer, data []byte) Status {
	if Serving() {
		copy(View(out, ShareableSize), data)
		return OK
	}
	fd, st := ShareableFD(data)
	if st != OK {
		return st
	}
	PutU32(out, uint32(fd))
	return OK
}

// GetShareable reads a shareable handle's bytes from what the caller passed as its handle:
// a file descriptor in a program's own process, the bytes' address on a server.
func GetShareable(h unsafe.Pointer) ([]byte, Status) {
	if Serving() {
		if h == nil {
			return nil, ErrInvalidValue
		}
		return append([]byte(nil), View(h, ShareableSize)...), OK
	}
	if u := uintptr(h); u <= 1<<31-1 { // the fd, cast to a pointer as CUDA passes it
		return ReadShareableFD(int(u))
	}
	return nil, ErrInvalidValue
}

// ShareableFD makes a sealed memfd holding data (ShareableSize bytes).
func ShareableFD(data []byte) (int, Status) {
	fd, err := unix.MemfdCreate("vgpu-shareable", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return -1, ErrOutOfMemory
	}
	if n, err := unix.Pwrite(fd, data[:ShareableSize], 0); err != nil || n != ShareableSize {
		unix.Close(fd)
		return -1, ErrOutOfMemory
	}
	// Sealed: whoever receives the fd reads exactly the bytes issued.
	unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_WRITE|unix.F_SEAL_GROW|unix.F_SEAL_SHRINK|unix.F_SEAL_SEAL)
	return fd, OK
}

// ReadShareableFD reads a handle's bytes from fd (without moving its offset): an fd that
// is not a readable file of exactly ShareableSize bytes is an invalid value.
func ReadShareableFD(fd int) ([]byte, Status) {
	if fd < 0 {
		return nil, ErrInvalidValue
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size != ShareableSize {
		return nil, ErrInvalidValue
	}
	b := make([]byte, ShareableSize)
	if n, err := unix.Pread(fd, b, 0); err != nil || n != ShareableSize {
		return nil, ErrInvalidValue
	}
	return b, OK
}
