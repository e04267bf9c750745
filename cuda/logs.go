package cuda

/*
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
typedef void (*vgpu_log_cb)(void *, int, char *, size_t);
static void vgpu_call_log_cb(uintptr_t fn, uintptr_t data, int level, char *msg, size_t n) {
	((vgpu_log_cb)fn)((void *)data, level, msg, n);
}
*/
import "C"

import (
	"os"
	"runtime"
	"sync"
	"unsafe"

	"vgpu/shim"
)

// The driver's error log (cuLogs*, and the runtime's cudaLogs*, CUDA 12.9 and later): the
// warnings and errors vgpu itself reports (what VGPU_LOG_LEVEL=warn prints: a kernel the sim
// cannot run, a link it cannot do, ...), kept in this process, the last logCapacity of them.
// An iterator is an entry's sequence number; a dump writes one line per entry from it on
// and moves it past what was written. Dumps to a file write in the calling process (a remote
// client's own), and callbacks run there, on a thread of their own, in log order.

const logCapacity = 100

type logEntry struct {
	seq     uint32
	warning bool
	text    string
}

var logs struct {
	mu      sync.Mutex
	entries []logEntry // the last logCapacity
	next    uint32     // the sequence number of the next entry
	cbs     map[uintptr][2]uintptr
	cbSeq   uintptr
	queue   chan logEntry
}

func init() { shim.SetLogHook(addLog) }

// Log levels as CUlogLevel numbers them.
const (
	logLevelError   = 0
	logLevelWarning = 1
)

func addLog(warning bool, msg string) {
	logs.mu.Lock()
	e := logEntry{seq: logs.next, warning: warning, text: msg}
	logs.next++
	logs.entries = append(logs.entries, e)
	if len(logs.entries) > logCapacity {
		logs.entries = logs.entries[len(logs.entries)-logCapacity:]
	}
	q := logs.queue
	logs.mu.Unlock()
	if q != nil {
		select {
		case q <- e:
		default: // a callback that cannot keep up misses entries; the log itself keeps them
		}
	}
}

// deliver runs the registered callbacks for each entry, on one locked OS thread.
func deliver(q chan logEntry) {
	runtime.LockOSThread()
	for e := range q {
		logs.mu.Lock()
		cbs := make([][2]uintptr, 0, len(logs.cbs))
		for _, cb := range logs.cbs {
			cbs = append(cbs, cb)
		}
		logs.mu.Unlock()
		level := C.int(logLevelError)
		if e.warning {
			level = logLevelWarning
		}
		msg := C.CString(e.text)
		for _, cb := range cbs {
			C.vgpu_call_log_cb(C.uintptr_t(cb[0]), C.uintptr_t(cb[1]), level, msg, C.size_t(len(e.text)))
		}
		C.free(unsafe.Pointer(msg))
	}
}

func (e logEntry) line() string {
	if e.warning {
		return "[vgpu] warning: " + e.text + "\n"
	}
	return "[vgpu] error: " + e.text + "\n"
}

// LogsRegisterCallback is cuLogsRegisterCallback: fn(data, level, message, length) for each
// entry logged from now on.
func LogsRegisterCallback(fn, data, out uintptr) Result {
	if fn == 0 || out == 0 {
		return ErrorInvalidValue
	}
	logs.mu.Lock()
	if logs.cbs == nil {
		logs.cbs = map[uintptr][2]uintptr{}
	}
	logs.cbSeq++
	h := 0x10000 + logs.cbSeq*16 // an opaque, non-NULL handle
	logs.cbs[h] = [2]uintptr{fn, data}
	if logs.queue == nil {
		logs.queue = make(chan logEntry, 256)
		go deliver(logs.queue)
	}
	logs.mu.Unlock()
	shim.PutPtr(unsafe.Pointer(out), h)
	return Success
}

// LogsUnregisterCallback is cuLogsUnregisterCallback.
func LogsUnregisterCallback(h uintptr) Result {
	logs.mu.Lock()
	defer logs.mu.Unlock()
	if _, ok := logs.cbs[h]; !ok {
		return ErrorInvalidValue
	}
	delete(logs.cbs, h)
	return Success
}

// LogsCurrent is cuLogsCurrent: an iterator at the log's current end.
func LogsCurrent(it uintptr, flags uint32) Result {
	if it == 0 || flags != 0 {
		return ErrorInvalidValue
	}
	logs.mu.Lock()
	n := logs.next
	logs.mu.Unlock()
	shim.PutU32(unsafe.Pointer(it), n)
	return Success
}

// since returns the entries from iterator it on (all kept ones when it is NULL).
func since(it uintptr) []logEntry {
	logs.mu.Lock()
	defer logs.mu.Unlock()
	from := uint32(0)
	if it != 0 {
		from = *(*uint32)(unsafe.Pointer(it))
	}
	var out []logEntry
	for _, e := range logs.entries {
		if e.seq >= from {
			out = append(out, e)
		}
	}
	return out
}

// LogsDumpToMemory is cuLogsDumpToMemory: whole lines from the iterator on, as many as fit in
// *size bytes with a terminating NUL; *size becomes the bytes written (the NUL aside) and the
// iterator moves past the last line written.
func LogsDumpToMemory(it, buf, size uintptr, flags uint32) Result {
	if buf == 0 || size == 0 || flags != 0 {
		return ErrorInvalidValue
	}
	room := *(*uint64)(unsafe.Pointer(size))
	if room == 0 {
		return ErrorInvalidValue
	}
	var out []byte
	next := uint32(0)
	written := false
	for _, e := range since(it) {
		l := e.line()
		if uint64(len(out)+len(l)) >= room {
			break
		}
		out = append(out, l...)
		next, written = e.seq+1, true
	}
	dst := unsafe.Slice((*byte)(unsafe.Pointer(buf)), len(out)+1)
	copy(dst, out)
	dst[len(out)] = 0
	*(*uint64)(unsafe.Pointer(size)) = uint64(len(out))
	if it != 0 && written {
		*(*uint32)(unsafe.Pointer(it)) = next
	}
	return Success
}

// LogsDumpToFile is cuLogsDumpToFile: the lines from the iterator on, appended to the file
// (created, mode 0600, if absent) by this process.
func LogsDumpToFile(it, path uintptr, flags uint32) Result {
	if path == 0 || flags != 0 {
		return ErrorInvalidValue
	}
	name, ok := shim.GoString(unsafe.Pointer(path), 4096)
	if !ok || name == "" {
		return ErrorInvalidValue
	}
	entries := since(it)
	f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return ErrorInvalidValue
	}
	defer f.Close()
	for _, e := range entries {
		if _, err := f.WriteString(e.line()); err != nil {
			return ErrorInvalidValue
		}
	}
	if it != 0 && len(entries) > 0 {
		*(*uint32)(unsafe.Pointer(it)) = entries[len(entries)-1].seq + 1
	}
	return Success
}
