package shim

import (
	"bytes"
	crand "crypto/rand"
	"sync"
)

// IPC handles (cudaIpcGetMemHandle / cudaIpcOpenMemHandle and the event forms). On a server,
// a handle is a capability: 64 bytes whose 48 random ones the server issued for one
// allocation (or event) of one client. Another client of the same server that presents the
// exact bytes gets a mapping of that allocation in its own name: it may copy to and from it
// and close it, never free it; the exporter freeing the allocation (or leaving) revokes the
// handle and removes every mapping, so nobody keeps an address that memory may be reused at.
// Guessing is hopeless (2^384), and a handle is refused to its own exporter, as NVIDIA's
// driver refuses a process opening its own handle. In a program's own process, the only
// other "process" there is, is none: every handle is its own, so opening one always fails.

// IPCHandleSize is sizeof(cudaIpcMemHandle_t) and sizeof(cudaIpcEventHandle_t).
const IPCHandleSize = 64

var (
	ipcMemMagic   = [8]byte{'v', 'g', 'p', 'u', 'i', 'p', 'c', 'm'}
	ipcEventMagic = [8]byte{'v', 'g', 'p', 'u', 'i', 'p', 'c', 'e'}
)

type ipcToken [48]byte

// ipcExport is one exported allocation or event, or (imported set) another process's export
// this process opened through the registry.
type ipcExport struct {
	token ipcToken
	owner uint64
	alloc *Alloc // memory handles
	event *Event // event handles
	maps  map[uint64]*ipcMap
	file  string     // its registry record (ipcregistry.go), removed when the export ends
	imp   *ipcRecord // imported: what the exporter's registry record says
}

// ipcMap is one opener's mapping of an export, opened refs times.
type ipcMap struct {
	alias   *Alloc
	refs    int
	viaPool bool // made (also) by cuMemPoolImportPointer: the importer's free closes it (shim/shareable.go)
}

var ipc = struct {
	sync.Mutex
	byToken map[ipcToken]*ipcExport
	byAlloc map[*Alloc]*ipcExport
	byEvent map[*Event]*ipcExport
	byAlias map[*Alloc]*ipcExport
	imports map[ipcToken]*ipcExport // other processes' exports opened here
}{byToken: map[ipcToken]*ipcExport{}, byAlloc: map[*Alloc]*ipcExport{}, byEvent: map[*Event]*ipcExport{},
	byAlias: map[*Alloc]*ipcExport{}, imports: map[ipcToken]*ipcExport{}}

func newToken() ipcToken {
	var t ipcToken
	if _, err := crand.Read(t[:]); err != nil {
		panic("vgpu: no entropy for IPC handles: " + err.Error())
	}
	return t
}

func encodeHandle(out []byte, magic [8]byte, t ipcToken) {
	clear(out[:IPCHandleSize])
	copy(out, magic[:])
	copy(out[8:], t[:])
}

func decodeHandle(h []byte, magic [8]byte) (ipcToken, bool) {
	var t ipcToken
	if len(h) != IPCHandleSize || !bytes.Equal(h[:8], magic[:]) {
		return t, false
	}
	copy(t[:], h[8:56])
	return t, true
}

// IPCGetMemHandle writes a handle for the caller's device allocation holding p into out
// (64 bytes). The same allocation always gets the same handle.
func IPCGetMemHandle(out []byte, p uintptr) Status {
	a := S().Mem.Find(p)
	if a == nil || a.Kind != MemDevice {
		return ErrInvalidValue
	}
	ipc.Lock()
	defer ipc.Unlock()
	x := ipc.byAlloc[a]
	if x == nil {
		x = &ipcExport{token: newToken(), owner: a.Owner, alloc: a, maps: map[uint64]*ipcMap{}}
		if drv, ok := S().Backend.(IPCDriver); ok { // other processes open it through the driver
			dh, st := drv.IPCExport(a)
			if st != OK {
				return st
			}
			x.file = ipcRegister(x.token, &ipcRecord{kind: 'm', driver: dh, size: uint64(a.Size)})
		}
		ipc.byToken[x.token], ipc.byAlloc[a] = x, x
	}
	encodeHandle(out, ipcMemMagic, x.token)
	return OK
}

// IPCOpenMemHandle maps the allocation a handle names for the caller, on d (the caller's
// current device), and returns its address: ErrInvalidHandle for bytes no live export has,
// ErrInvalidContext for the caller's own export. Opening one handle again returns the same
// address and counts one more close. A handle this process did not issue is looked up in the
// registry of exports by other processes on this machine (ipcregistry.go).
func IPCOpenMemHandle(h []byte, d *Device) (uintptr, Status) {
	if allZero(h) {
		return 0, ErrInvalidValue // NVIDIA's driver: an all-zero handle is an invalid value, not an unknown handle
	}
	t, ok := decodeHandle(h, ipcMemMagic)
	if !ok {
		return 0, ErrInvalidHandle
	}
	me := CallerOwner()
	ipc.Lock()
	defer ipc.Unlock()
	x := ipc.byToken[t]
	if x == nil {
		return ipcImportMem(t, me, d)
	}
	if x.alloc == nil {
		return 0, ErrInvalidHandle
	}
	if x.owner == me {
		return 0, ErrInvalidContext
	}
	if m := x.maps[me]; m != nil {
		m.refs++
		return m.alias.Base, OK
	}
	a := x.alloc
	alias := &Alloc{Base: a.Base, Size: a.Size, Kind: MemIPC, Dev: a.Dev}
	S().Mem.Add(alias) // owned by the caller, charged to nobody: the exporter pays
	x.maps[me] = &ipcMap{alias: alias, refs: 1}
	ipc.byAlias[alias] = x
	return a.Base, OK
}

// IPCCloseMemHandle undoes one open of the mapping at p.
func IPCCloseMemHandle(p uintptr) Status {
	alias := S().Mem.Exact(p, MemIPC)
	if alias == nil {
		return ErrInvalidValue
	}
	ipc.Lock()
	defer ipc.Unlock()
	x := ipc.byAlias[alias]
	if x == nil {
		return ErrInvalidValue
	}
	m := x.maps[alias.Owner]
	if m == nil || m.alias != alias {
		return ErrInvalidValue
	}
	if m.refs--; m.refs == 0 {
		S().Mem.Remove(alias)
		dropMap(x, alias)
	}
	return OK
}

// dropMap forgets alias, one client's mapping of x, and closes it in the driver when it was
// another process's memory. The caller holds ipc's lock.
func dropMap(x *ipcExport, alias *Alloc) {
	delete(x.maps, alias.Owner)
	delete(ipc.byAlias, alias)
	if x.imp == nil {
		return
	}
	if drv, ok := S().Backend.(IPCDriver); ok {
		drv.IPCUnimport(alias.Owner, alias.Base, alias.Dev)
	}
	if len(x.maps) == 0 {
		delete(ipc.imports, x.token)
	}
}

// ipcRevokeAlloc ends a's export, if any, and every mapping of it: a is being freed. It
// reports whether another client had it mapped: then a copy of that client's may be under
// way, validated before the revocation, and the memory must stay until it returns
// (afterCallsInFlight).
func ipcRevokeAlloc(a *Alloc) (mapped bool) {
	ipc.Lock()
	defer ipc.Unlock()
	if a.Kind == MemIPC { // an opener's mapping going with its client
		if x := ipc.byAlias[a]; x != nil {
			dropMap(x, a)
		}
		return false
	}
	x := ipc.byAlloc[a]
	if x == nil {
		return false
	}
	mapped = len(x.maps) > 0
	for _, m := range x.maps {
		S().Mem.Remove(m.alias)
		delete(ipc.byAlias, m.alias)
	}
	delete(ipc.byAlloc, a)
	delete(ipc.byToken, x.token)
	ipcUnregister(x.file) // other processes' mappings stay: the driver keeps the memory for them
	return mapped
}

// IPCGetEventHandle writes a handle for the caller's event e.
func IPCGetEventHandle(out []byte, e *Event) {
	ipc.Lock()
	defer ipc.Unlock()
	x := ipc.byEvent[e]
	if x == nil {
		x = &ipcExport{token: newToken(), owner: CallerOwner(), event: e}
		if _, ok := S().Backend.(IPCDriver); ok {
			r := &ipcRecord{kind: 'e', flags: e.Flags}
			if h, ok := ipcEventExport(e); ok { // size 1: the record carries a driver event
				r.driver, r.size = h, 1
			}
			x.file = ipcRegister(x.token, r)
		}
		ipc.byToken[x.token], ipc.byEvent[e] = x, x
	}
	encodeHandle(out, ipcEventMagic, x.token)
}

// IPCOpenEventHandle returns a new handle of the caller's for the event a handle names.
func IPCOpenEventHandle(h []byte) (uintptr, Status) {
	t, ok := decodeHandle(h, ipcEventMagic)
	if !ok {
		return 0, ErrInvalidHandle
	}
	ipc.Lock()
	x := ipc.byToken[t]
	ipc.Unlock()
	if x == nil {
		return ipcImportEvent(t)
	}
	if x.event == nil {
		return 0, ErrInvalidHandle
	}
	if x.owner == CallerOwner() {
		return 0, ErrInvalidContext
	}
	return NewHandle(KindEvent, x.event), OK
}

// IPCRevokeEvent ends e's export when the caller is its creator: it destroyed it. An
// opener's handle names the same event, and destroying that ends only the handle. Openers'
// handles stay valid, as an opened event outlives its creator's handle in CUDA.
func IPCRevokeEvent(e *Event) {
	ipcEventDestroyed(e) // the caller's driver event behind it, if any
	ipc.Lock()
	defer ipc.Unlock()
	if x := ipc.byEvent[e]; x != nil && x.owner == CallerOwner() {
		delete(ipc.byEvent, e)
		delete(ipc.byToken, x.token)
		ipcUnregister(x.file)
	}
}

// ipcRevokeOwned ends every event export of a departed client (its memory exports end as
// its memory is freed).
func ipcRevokeOwned(owner uint64) {
	ipc.Lock()
	defer ipc.Unlock()
	drvEvents.Range(func(k, v any) bool {
		if d := v.(*drvEvent); d.owner == owner {
			drvEvents.Delete(k)
			if drv, ok := S().Backend.(IPCEventDriver); ok {
				drv.IPCEventFree(owner, d.ev, d.dev)
			}
		}
		return true
	})
	for e, x := range ipc.byEvent {
		if x.owner == owner {
			delete(ipc.byEvent, e)
			delete(ipc.byToken, x.token)
			ipcUnregister(x.file)
		}
	}
}

// allZero reports whether every byte of b is zero.
func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
