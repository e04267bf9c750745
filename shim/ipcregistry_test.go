package shim

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeIPCDriver is the sim backend with a driver's IPC: a handle is "drv" and the address,
// and another process maps it at the same address (the sim's memory is this process's).
type fakeIPCDriver struct {
	Backend
	exports, imports, unimports int
	lastImport                  [IPCHandleSize]byte
}

func (f *fakeIPCDriver) IPCExport(a *Alloc) ([IPCHandleSize]byte, Status) {
	var h [IPCHandleSize]byte
	copy(h[:], "drv")
	binary.LittleEndian.PutUint64(h[8:], uint64(a.Base))
	f.exports++
	return h, OK
}

func (f *fakeIPCDriver) IPCImport(h [IPCHandleSize]byte, d *Device) (uintptr, Status) {
	f.imports++
	f.lastImport = h
	if string(h[:3]) != "drv" {
		return 0, ErrInvalidHandle
	}
	return uintptr(binary.LittleEndian.Uint64(h[8:])), OK
}

func (f *fakeIPCDriver) IPCUnimport(owner uint64, p uintptr, d *Device) { f.unimports++ }

// withRegistry gives the test a registry directory of its own and the fake driver.
func withRegistry(t *testing.T) (*Device, *fakeIPCDriver, string) {
	d := freshState(t)
	dir := t.TempDir()
	old := ipcDir
	ipcDir = func() (string, error) { return dir, nil }
	t.Cleanup(func() { ipcDir = old })
	f := &fakeIPCDriver{Backend: S().Backend}
	S().Backend = f
	return d, f, dir
}

// asIfAnotherProcess makes this process forget that it issued handle h, as the opener's
// process (another worker, another program's private server) never knew it.
func asIfAnotherProcess(t *testing.T, h []byte) {
	tok, ok := decodeHandle(h, ipcMemMagic)
	if !ok {
		tok, ok = decodeHandle(h, ipcEventMagic)
	}
	require.True(t, ok)
	ipc.Lock()
	delete(ipc.byToken, tok)
	ipc.Unlock()
}

func exportOne(t *testing.T, d *Device) (uintptr, []byte) {
	h := make([]byte, IPCHandleSize)
	var base uintptr
	AsClient(clientA, func() {
		a, st := AllocDevice(d, 1<<16, MemDevice)
		require.Equal(t, OK, st)
		base = a.Base
		require.Equal(t, OK, IPCGetMemHandle(h, base))
	})
	return base, h
}

// A handle another process issued opens through the driver's own handle, which the
// exporter's process recorded under vgpu's token: the mapping is the opener's, of the
// exported size; opening again counts, and the last close closes the driver's mapping.
func TestIPCHandleOfAnotherProcessOpensThroughTheDriversHandle(t *testing.T) {
	d, f, dir := withRegistry(t)
	base, h := exportOne(t, d)
	require.Equal(t, 1, f.exports)
	files, _ := os.ReadDir(dir)
	require.Len(t, files, 1, "one record per export")
	asIfAnotherProcess(t, h)

	AsClient(clientB, func() {
		p, st := IPCOpenMemHandle(h, d)
		require.Equal(t, OK, st)
		require.Equal(t, base, p)
		require.Equal(t, "drv", string(f.lastImport[:3]), "the driver got its own handle, not vgpu's")
		a := S().Mem.Exact(p, MemIPC)
		require.NotNil(t, a, "the opener's mapping")
		assert.Equal(t, uintptr(1<<16), a.Size)
		p2, st := IPCOpenMemHandle(h, d)
		require.Equal(t, OK, st)
		require.Equal(t, p, p2)
		require.Equal(t, 1, f.imports, "a second open maps nothing new")
		require.Equal(t, OK, IPCCloseMemHandle(p))
		require.Equal(t, 0, f.unimports)
		require.Equal(t, OK, IPCCloseMemHandle(p))
		require.Equal(t, 1, f.unimports, "the last close ends the driver's mapping")
		require.Equal(t, ErrInvalidValue, IPCCloseMemHandle(p))
	})
}

// Bytes no export was issued under name no record: the driver is never asked, so a tenant
// cannot reach another's memory by forging or guessing a handle.
func TestForgedIPCHandleNeverReachesTheDriver(t *testing.T) {
	d, f, _ := withRegistry(t)
	exportOne(t, d)
	forged := make([]byte, IPCHandleSize)
	encodeHandle(forged, ipcMemMagic, newToken())
	AsClient(clientB, func() {
		_, st := IPCOpenMemHandle(forged, d)
		assert.Equal(t, ErrInvalidHandle, st)
		ev := make([]byte, IPCHandleSize)
		encodeHandle(ev, ipcEventMagic, newToken())
		_, st = IPCOpenEventHandle(ev)
		assert.Equal(t, ErrInvalidHandle, st)
	})
	assert.Equal(t, 0, f.imports)
}

// The exporter freeing its memory removes the record: the handle no longer opens anywhere.
func TestFreeingExportedMemoryRemovesItsRecord(t *testing.T) {
	d, f, dir := withRegistry(t)
	base, h := exportOne(t, d)
	asIfAnotherProcess(t, h)
	AsClient(clientA, func() { require.Equal(t, OK, FreeDevice(base)) })
	files, _ := os.ReadDir(dir)
	assert.Empty(t, files)
	AsClient(clientB, func() {
		_, st := IPCOpenMemHandle(h, d)
		assert.Equal(t, ErrInvalidHandle, st)
	})
	assert.Equal(t, 0, f.imports)
}

// An opener that goes without closing has its driver mappings closed.
func TestADepartingOpenerClosesItsDriverMappings(t *testing.T) {
	d, f, _ := withRegistry(t)
	_, h := exportOne(t, d)
	asIfAnotherProcess(t, h)
	AsClient(clientB, func() {
		_, st := IPCOpenMemHandle(h, d)
		require.Equal(t, OK, st)
	})
	FreeOwned(clientB)
	assert.Equal(t, 1, f.unimports)
}

// A driver's refusal is the opener's answer (its own process's handle: invalid context).
func TestTheDriversRefusalIsTheOpenersAnswer(t *testing.T) {
	d, f, dir := withRegistry(t)
	_, h := exportOne(t, d)
	asIfAnotherProcess(t, h)
	files, _ := os.ReadDir(dir)
	require.Len(t, files, 1)
	rec, err := os.ReadFile(filepath.Join(dir, files[0].Name()))
	require.NoError(t, err)
	rec[1] = 'X' // a driver handle the fake driver refuses
	require.NoError(t, os.WriteFile(filepath.Join(dir, files[0].Name()), rec, 0o600))
	AsClient(clientB, func() {
		_, st := IPCOpenMemHandle(h, d)
		assert.Equal(t, ErrInvalidHandle, st)
	})
	assert.Equal(t, 1, f.imports)
}

// An interprocess event's handle opens in another process as an event with its flags.
func TestIPCEventHandleOfAnotherProcessOpens(t *testing.T) {
	withRegistry(t)
	h := make([]byte, IPCHandleSize)
	AsClient(clientA, func() { IPCGetEventHandle(h, NewEvent(0x4|EventDisableTiming)) })
	asIfAnotherProcess(t, h)
	AsClient(clientB, func() {
		eh, st := IPCOpenEventHandle(h)
		require.Equal(t, OK, st)
		e, ok := Lookup[*Event](KindEvent, eh)
		require.True(t, ok)
		assert.Equal(t, uint32(0x4|EventDisableTiming), e.Flags)
	})
}

// The registry must be a directory only this user can enter: another user could otherwise
// read driver handles or plant records.
func TestTheRegistryRefusesADirectoryOpenToOthers(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o755))
	assert.Error(t, checkPrivateDir(dir))
	require.NoError(t, os.Chmod(dir, 0o700))
	assert.NoError(t, checkPrivateDir(dir))
	link := filepath.Join(t.TempDir(), "link")
	require.NoError(t, os.Symlink(dir, link))
	assert.Error(t, checkPrivateDir(link), "a link could point anywhere")
}

// A record whose exporting process has gone (a crash leaves records behind) opens nothing and
// is removed: by then its driver handle might name memory some later process allocated.
func TestARecordOfAProcessThatHasGoneIsStale(t *testing.T) {
	d, f, dir := withRegistry(t)
	_, h := exportOne(t, d)
	asIfAnotherProcess(t, h)
	files, _ := os.ReadDir(dir)
	require.Len(t, files, 1)
	name := filepath.Join(dir, files[0].Name())
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	r, ok := decodeRecord(b)
	require.True(t, ok)
	require.True(t, r.alive(), "this process wrote it")
	r.start++ // the same pid, another process
	require.NoError(t, os.WriteFile(name, r.encode(), 0o600))
	AsClient(clientB, func() {
		_, st := IPCOpenMemHandle(h, d)
		assert.Equal(t, ErrInvalidHandle, st)
	})
	assert.Equal(t, 0, f.imports)
	_, err = os.Stat(name)
	assert.True(t, os.IsNotExist(err), "the stale record is removed")
}

// fakeEventDriver adds the driver's interprocess events to fakeIPCDriver: one table of
// events both "processes" see, recording who recorded and waited on what.
type fakeEventDriver struct {
	*fakeIPCDriver
	next           uintptr
	records, waits map[uintptr]int
	freed          map[uintptr]bool
	pending        Status
	imported       uintptr
}

func (f *fakeEventDriver) IPCEventExport(dev int) (uintptr, [IPCHandleSize]byte, Status) {
	f.next++
	var h [IPCHandleSize]byte
	copy(h[:], "drvev")
	binary.LittleEndian.PutUint64(h[8:], uint64(f.next))
	return f.next, h, OK
}

func (f *fakeEventDriver) IPCEventImport(h [IPCHandleSize]byte, dev int) (uintptr, Status) {
	if string(h[:5]) != "drvev" {
		return 0, ErrInvalidHandle
	}
	f.imported = uintptr(binary.LittleEndian.Uint64(h[8:]))
	return f.imported, OK
}
func (f *fakeEventDriver) IPCEventRecord(ev uintptr, dev int) Status { f.records[ev]++; return OK }
func (f *fakeEventDriver) IPCEventWait(ev uintptr, dev int) Status   { f.waits[ev]++; return OK }
func (f *fakeEventDriver) IPCEventQuery(ev uintptr, dev int, wait bool) Status {
	if f.records[ev] == 0 {
		return OK
	}
	return f.pending
}
func (f *fakeEventDriver) IPCEventFree(owner uint64, ev uintptr, dev int) { f.freed[ev] = true }

// Where the backend has the driver's interprocess events, an exported event is one: another
// process's record of it is what the exporter's query answers and its streams wait for.
func TestAnInterprocessEventOrdersAcrossProcessesThroughTheDriver(t *testing.T) {
	d, base, _ := withRegistry(t)
	f := &fakeEventDriver{fakeIPCDriver: base, records: map[uintptr]int{}, waits: map[uintptr]int{}, freed: map[uintptr]bool{}, pending: ErrNotReady}
	S().Backend = f
	h := make([]byte, IPCHandleSize)
	var e *Event
	AsClient(clientA, func() {
		e = NewEvent(0x4 | EventDisableTiming)
		IPCGetEventHandle(h, e)
	})
	asIfAnotherProcess(t, h)
	AsClient(clientB, func() {
		eh, st := IPCOpenEventHandle(h)
		require.Equal(t, OK, st)
		opened, ok := Lookup[*Event](KindEvent, eh)
		require.True(t, ok)
		require.NotSame(t, e, opened, "another process's event object")
		require.Equal(t, OK, opened.Record(NewStream(d, 0, 0)))
		IPCRevokeEvent(opened) // the opener destroys its handle
	})
	require.NotZero(t, f.imported)
	assert.Equal(t, 1, f.records[f.imported], "the opener's record is the driver event's")
	assert.True(t, f.freed[f.imported], "the opener's destroy frees its opened driver event")
	AsClient(clientA, func() {
		assert.Equal(t, ErrNotReady, e.Poll(), "the exporter never recorded it; the other process did")
		require.Equal(t, OK, NewStream(d, 0, 0).WaitOn(e))
		f.pending = OK
		assert.Equal(t, OK, e.Poll())
	})
	assert.Equal(t, 1, f.waits[f.imported], "the exporter's wait is the driver's")
}

// The registry across real processes: a record another process wrote opens here while that
// process runs, and is stale once it has exited.
func TestARecordOfAnotherLiveProcessIsFoundAndOfAnExitedOneIsNot(t *testing.T) {
	dir := t.TempDir()
	old := ipcDir
	ipcDir = func() (string, error) { return dir, nil }
	t.Cleanup(func() { ipcDir = old })
	cmd := exec.Command(os.Args[0], "-test.run=^TestIPCRegistryWriterProcess$")
	cmd.Env = append(os.Environ(), "VGPU_IPC_WRITER="+dir)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	raw, err := hex.DecodeString(strings.TrimSpace(line))
	require.NoError(t, err)
	var tok ipcToken
	require.Len(t, raw, len(tok))
	copy(tok[:], raw)

	r, ok := ipcLookup(tok)
	require.True(t, ok, "the writer is running")
	assert.Equal(t, uint32(cmd.Process.Pid), r.pid)
	assert.Equal(t, "drv-of-writer", string(r.driver[:13]))

	stdin.Close() // the writer exits, leaving its record behind as a crash would
	require.NoError(t, cmd.Wait())
	_, err = os.Stat(filepath.Join(dir, hex.EncodeToString(tok[:])))
	require.NoError(t, err, "the record outlived its writer")
	_, ok = ipcLookup(tok)
	assert.False(t, ok, "its writer has gone")
}

// TestIPCRegistryWriterProcess is the writer the test above starts: it registers one record,
// prints its token and waits for its stdin to close.
func TestIPCRegistryWriterProcess(t *testing.T) {
	dir := os.Getenv("VGPU_IPC_WRITER")
	if dir == "" {
		t.Skip("run by TestARecordOfAnotherLiveProcessIsFoundAndOfAnExitedOneIsNot")
	}
	ipcDir = func() (string, error) { return dir, nil }
	tok := newToken()
	r := &ipcRecord{kind: 'm', size: 4096}
	copy(r.driver[:], "drv-of-writer")
	require.NotEmpty(t, ipcRegister(tok, r))
	fmt.Println(hex.EncodeToString(tok[:]))
	io.Copy(io.Discard, os.Stdin)
}
