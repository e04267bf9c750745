package shim

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// IPC between processes on a real GPU. A server's clients each have a process of their own
// (a worker of `vgpu serve --backend local`, or the private server VGPU_BACKEND=local starts
// for each program), so the exporter's allocation lives in another process than the opener's,
// and only NVIDIA's driver can map it there: its own IPC handle (cuIpcGetMemHandle) opened
// by cuIpcOpenMemHandle in the opener's process. vgpu's handle stays the 48 random bytes it
// issued; the exporter's process records, in a directory only this user can reach, a file
// named by those bytes that holds the driver's handle and the size. An opener whose process
// did not issue the handle reads that file and asks the driver, which decides as it would
// natively (its own handle: invalid context; memory gone: an error). A tenant that does not
// hold the random bytes names no file, so it cannot reach another's memory by forging
// handles; a driver handle never leaves the server's machine.

// IPCDriver is a backend on NVIDIA's driver, whose memory other processes map by the
// driver's own IPC handles.
type IPCDriver interface {
	// IPCExport is cuIpcGetMemHandle of a (the caller's allocation).
	IPCExport(a *Alloc) ([IPCHandleSize]byte, Status)
	// IPCImport is cuIpcOpenMemHandle in the caller's context on d.
	IPCImport(h [IPCHandleSize]byte, d *Device) (uintptr, Status)
	// IPCUnimport is cuIpcCloseMemHandle of owner's mapping at p on d.
	IPCUnimport(owner uint64, p uintptr, d *Device)
}

// ipcRecord is one registry file: kind 'm' (memory: the driver's handle and the allocation's
// size) or 'e' (an event: its flags, and with size 1 the driver handle of its driver event).
// The exporting process (pid and start time) is recorded too: a record whose process has
// gone (a crash leaves its records) is stale, and its driver handle might by then name memory
// a later process allocated, so it is removed instead of opened.
type ipcRecord struct {
	kind   byte
	driver [IPCHandleSize]byte
	size   uint64
	flags  uint32
	pid    uint32
	start  uint64
}

const ipcRecordSize = 1 + IPCHandleSize + 8 + 4 + 4 + 8

func (r *ipcRecord) encode() []byte {
	b := make([]byte, ipcRecordSize)
	b[0] = r.kind
	copy(b[1:], r.driver[:])
	o := 1 + IPCHandleSize
	binary.LittleEndian.PutUint64(b[o:], r.size)
	binary.LittleEndian.PutUint32(b[o+8:], r.flags)
	binary.LittleEndian.PutUint32(b[o+12:], r.pid)
	binary.LittleEndian.PutUint64(b[o+16:], r.start)
	return b
}

func decodeRecord(b []byte) (*ipcRecord, bool) {
	if len(b) != ipcRecordSize || (b[0] != 'm' && b[0] != 'e') {
		return nil, false
	}
	o := 1 + IPCHandleSize
	r := &ipcRecord{kind: b[0], size: binary.LittleEndian.Uint64(b[o:]), flags: binary.LittleEndian.Uint32(b[o+8:]),
		pid: binary.LittleEndian.Uint32(b[o+12:]), start: binary.LittleEndian.Uint64(b[o+16:])}
	copy(r.driver[:], b[1:])
	return r, true
}

// processStart is pid's start time (clock ticks since boot, /proc/PID/stat's 22nd field),
// which with the pid names one process for good; 0 when it has gone.
func processStart(pid int) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')') // the command name may hold spaces and parentheses
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:])) // from the 3rd field on
	if len(f) < 20 {
		return 0
	}
	v, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0
	}
	return v
}

// alive reports whether the process that wrote r is still running.
func (r *ipcRecord) alive() bool {
	return r.start != 0 && processStart(int(r.pid)) == r.start
}

// ipcDir is the registry: VGPU_IPC_DIR, or vgpu-ipc-UID under XDG_RUNTIME_DIR or the
// temporary directory; made 0700, and refused unless a directory of this user's that no
// one else can enter (another user could otherwise plant or read records).
var ipcDir = sync.OnceValues(func() (string, error) {
	dir := os.Getenv("VGPU_IPC_DIR")
	if dir == "" {
		base := os.Getenv("XDG_RUNTIME_DIR")
		if base == "" {
			base = os.TempDir()
		}
		dir = filepath.Join(base, fmt.Sprintf("vgpu-ipc-%d", os.Getuid()))
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	if err := checkPrivateDir(dir); err != nil {
		return "", err
	}
	return dir, nil
})

// ipcRegister writes t's record and returns its path, or "" when there is no registry (then
// only this process's clients can open the handle).
func ipcRegister(t ipcToken, r *ipcRecord) string {
	dir, err := ipcDir()
	if err != nil {
		WarnOnce("ipc-dir", "no IPC registry: handles open only within this process", "err", err)
		return ""
	}
	r.pid = uint32(os.Getpid())
	r.start = processStart(os.Getpid())
	name := filepath.Join(dir, hex.EncodeToString(t[:]))
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, r.encode(), 0o600); err != nil {
		WarnOnce("ipc-write", "cannot write an IPC record: the handle opens only within this process", "err", err)
		return ""
	}
	if err := os.Rename(tmp, name); err != nil { // whole or absent for a reader
		os.Remove(tmp)
		return ""
	}
	return name
}

// ipcUnregister removes a record: its export ended.
func ipcUnregister(file string) {
	if file != "" {
		os.Remove(file)
	}
}

// ipcLookup reads t's record, if another process of this user registered it.
func ipcLookup(t ipcToken) (*ipcRecord, bool) {
	dir, err := ipcDir()
	if err != nil {
		return nil, false
	}
	name := filepath.Join(dir, hex.EncodeToString(t[:]))
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, false
	}
	r, ok := decodeRecord(b)
	if !ok || !r.alive() {
		os.Remove(name) // stale or not a record: it names nothing
		return nil, false
	}
	return r, true
}

// ipcImportMem opens another process's export t for client me on d, through the driver; a
// second open by the same client counts one more close. The caller holds ipc's lock.
func ipcImportMem(t ipcToken, me uint64, d *Device) (uintptr, Status) {
	drv, ok := S().Backend.(IPCDriver)
	if !ok || d == nil {
		return 0, ErrInvalidHandle
	}
	x := ipc.imports[t]
	if x == nil {
		r, ok := ipcLookup(t)
		if !ok || r.kind != 'm' {
			return 0, ErrInvalidHandle
		}
		x = &ipcExport{token: t, imp: r, maps: map[uint64]*ipcMap{}}
	}
	if m := x.maps[me]; m != nil {
		m.refs++
		return m.alias.Base, OK
	}
	p, st := drv.IPCImport(x.imp.driver, d)
	if st != OK {
		return 0, st
	}
	alias := &Alloc{Base: p, Size: uintptr(x.imp.size), Kind: MemIPC, Dev: d}
	S().Mem.Add(alias) // the caller's mapping; the exporter's process pays for the memory
	x.maps[me] = &ipcMap{alias: alias, refs: 1}
	ipc.imports[t], ipc.byAlias[alias] = x, x
	return p, OK
}

// ipcImportEvent opens another process's event export: an event of this process's with the
// exported one's flags, behind which the exporter's driver event opened here (ipcevents.go),
// where the exporter's backend made one; without, ordering does not cross processes.
func ipcImportEvent(t ipcToken) (uintptr, Status) {
	if _, ok := S().Backend.(IPCDriver); !ok {
		return 0, ErrInvalidHandle
	}
	r, ok := ipcLookup(t)
	if !ok || r.kind != 'e' {
		return 0, ErrInvalidHandle
	}
	if r.size == 1 { // the exporter's driver event: the driver opens it or says why not
		e, ok := ipcEventImport(r.driver, r.flags)
		if !ok {
			return 0, ErrInvalidHandle
		}
		return e.Handle, OK
	}
	return NewEvent(r.flags).Handle, OK
}

// checkPrivateDir accepts dir only as a real directory of this user's, closed to others.
func checkPrivateDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	case !ok || int(st.Uid) != os.Getuid():
		return fmt.Errorf("%s is not this user's", dir)
	case fi.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("%s is open to other users (mode %v)", dir, fi.Mode().Perm())
	}
	return nil
}
