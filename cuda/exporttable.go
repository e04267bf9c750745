package cuda

/*
#include <stdint.h>
const void *vgpu_export_table(const unsigned char *id, int *which);
const void *vgpu_probe_table(void);
void vgpu_et_bind(const uintptr_t *f);
void vgpu_et_cls_dtor(uintptr_t fn, uintptr_t ctx, uintptr_t key, uintptr_t value);
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"os"
	"sync"
	"unsafe"

	"vgpu/shim"
)

// The tables of exporttable.c, by index: names for the log.
var exportTableNames = [...]string{"runtime interface", "tools TLS", "tools callback hooks",
	"context-local storage", "context creation bypass", "heap access", "extended device attributes",
	"integrity check", "context checks", "tools context", "cuBLAS 13", "probe (VGPU_EXPORT_PROBE)"}

var bindOnce sync.Once

// bindExportTables hands exporttable.c the library's own entry points for the driver calls
// its slots make. ProcLookup is set by the exports layer; without it (a unit test of this
// package) those slots answer "not supported".
func bindExportTables() {
	if ProcLookup == nil {
		return
	}
	// The order of exporttable.c's vgpu_et_bind.
	names := []string{"cuModuleLoadData", "cuDevicePrimaryCtxRetain", "cuCtxGetCurrent", "cuCtxCreate_v2",
		"cuDriverGetVersion", "cuDeviceGetCount", "cuDeviceGetUuid", "cuDeviceGetAttribute", "cuCtxGetId", "cuStreamGetId"}
	f := make([]C.uintptr_t, len(names))
	for i, n := range names {
		f[i] = C.uintptr_t(ProcLookup(n))
	}
	C.vgpu_et_bind(&f[0])
}

// uuidText writes a CUuuid as ZLUDA's write-ups and NVIDIA's tools print it.
func uuidText(b []byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// declinedTables are tables NVIDIA's runtimes ask for that vgpu knowingly refuses, each
// with why: the runtime carries on without them, so the refusal is no news to a user.
var declinedTables = map[string]string{
	// Observed on the GPU machine: CUDA 13.0's runtime (static and shared) asks at start-up,
	// is refused, and passes every check of tests/cuda118/runtime.c; the real driver's table
	// holds two slots whose meaning nobody has described.
	"f8cff951-2146-8b4e-b9e2-fb469e7c0dd9": "CUDA 13's runtime carries on without it",
}

// logRefusal logs a table cuGetExportTable refuses: at debug when vgpu declines it on
// purpose, else a warning (once per table) that names it, for whoever adds it.
var logRefusal = func(uuid, why string, declined bool) {
	if declined {
		shim.DebugOnce("export-table:"+uuid, "cuGetExportTable: a table vgpu declines", "uuid", uuid, "why", why)
		return
	}
	shim.WarnOnce("export-table:"+uuid, "cuGetExportTable: a table vgpu does not know", "uuid", uuid)
}

// GetExportTable is cuGetExportTable: the private tables NVIDIA's runtime (libcudart,
// static or shared) asks the driver for. An unknown identifier is logged once with its text,
// and answers CUDA_ERROR_NOT_FOUND with a null table, as the driver does.
func GetExportTable(table unsafe.Pointer, id unsafe.Pointer) Result {
	if table == nil || id == nil {
		return ErrorInvalidValue
	}
	bindOnce.Do(bindExportTables)
	var which C.int
	t := C.vgpu_export_table((*C.uchar)(id), &which)
	u := uuidText(shim.Bytes(uintptr(id), 16))
	if t == nil && u == os.Getenv("VGPU_EXPORT_PROBE") {
		t, which = C.vgpu_probe_table(), C.int(len(exportTableNames)-1)
		shim.Log().Warnw("cuGetExportTable: serving the probe table (VGPU_EXPORT_PROBE)", "uuid", u)
	}
	if t == nil {
		why, ok := declinedTables[u]
		logRefusal(u, why, ok)
		shim.PutPtr(table, 0)
		return ErrorNotFound
	}
	shim.DebugOnce("export-table:"+u, "cuGetExportTable", "uuid", u, "table", exportTableNames[which])
	shim.PutPtr(table, uintptr(t))
	return Success
}

//export vgpuETUnknownSlot
func vgpuETUnknownSlot(table, slot C.int, a, b, c, caller C.uintptr_t) C.int {
	u := exportTableNames[table]
	shim.WarnOnce(fmt.Sprintf("export-slot:%d:%d", table, slot), "an export table's slot vgpu does not implement was called",
		"table", u, "slot", int(slot), "args", fmt.Sprintf("%#x %#x %#x", a, b, c), "caller", fmt.Sprintf("%#x", caller))
	return C.int(ErrorNotSupported)
}

// Context-local storage: values the runtime keeps per context and key, each with the
// destructor the driver calls when the context goes (contextGone).
type clsKey struct{ ctx, key uintptr }

type clsEntry struct{ value, dtor uintptr }

var (
	clsMu sync.Mutex
	cls   = map[clsKey]clsEntry{}
)

//export vgpuETStorePut
func vgpuETStorePut(ctx, key, value, dtor unsafe.Pointer) C.int {
	clsMu.Lock()
	defer clsMu.Unlock()
	cls[clsKey{uintptr(ctx), uintptr(key)}] = clsEntry{uintptr(value), uintptr(dtor)}
	return C.int(Success)
}

// contextGone ends context h's storage, as the driver does when it destroys a context or
// resets a primary one: each destructor is called with (context, key, value), outside the
// lock (they may call the driver). NVIDIA's runtime keeps its per-context state there (its
// loaded modules among it), so after a reset it initialises the context afresh.
func contextGone(h uintptr) {
	clsMu.Lock()
	var gone []clsKey
	var ents []clsEntry
	for k, e := range cls {
		if k.ctx == h {
			gone, ents = append(gone, k), append(ents, e)
			delete(cls, k)
		}
	}
	clsMu.Unlock()
	for i, k := range gone {
		if ents[i].dtor != 0 {
			C.vgpu_et_cls_dtor(C.uintptr_t(ents[i].dtor), C.uintptr_t(k.ctx), C.uintptr_t(k.key), C.uintptr_t(ents[i].value))
		}
	}
}

//export vgpuETStoreDelete
func vgpuETStoreDelete(ctx, key unsafe.Pointer) C.int {
	clsMu.Lock()
	defer clsMu.Unlock()
	delete(cls, clsKey{uintptr(ctx), uintptr(key)})
	return C.int(Success)
}

//export vgpuETStoreGet
func vgpuETStoreGet(value unsafe.Pointer, ctx, key unsafe.Pointer) C.int {
	clsMu.Lock()
	e, ok := cls[clsKey{uintptr(ctx), uintptr(key)}]
	clsMu.Unlock()
	if !ok {
		return C.int(ErrorInvalidHandle)
	}
	shim.PutPtr(value, e.value)
	return C.int(Success)
}

// The integrity check's key: a constant of NVIDIA's runtime (ZLUDA's write-up derives it).
var integrityKey = [16]byte{0x14, 0x6a, 0xdd, 0xae, 0x53, 0xa9, 0xa7, 0x52, 0xaa, 0x08, 0x41, 0x36, 0x0b, 0xf5, 0x5a, 0x9f}

//export vgpuETIntegrity
func vgpuETIntegrity(version C.uint, msg unsafe.Pointer, n C.int, out unsafe.Pointer) {
	d := integrityDigest(uint32(version), unsafe.Slice((*byte)(msg), int(n)))
	copy(unsafe.Slice((*byte)(out), 16), d[:])
}

// integrityDigest answers the runtime's integrity check for a message: two fixed answers for
// handshake versions ending in 0 or 1, else HMAC-MD2 under integrityKey.
func integrityDigest(version uint32, msg []byte) [16]byte {
	var d [16]byte
	switch version % 10 {
	case 0:
		binary.LittleEndian.PutUint64(d[:], 0x3341181c03cb675c)
		binary.LittleEndian.PutUint64(d[8:], 0x8ed383aa1f4cd1e8)
		return d
	case 1:
		binary.LittleEndian.PutUint64(d[:], 0x1841181c03cb675c)
		binary.LittleEndian.PutUint64(d[8:], 0x8ed383aa1f4cd1e8)
		return d
	}
	return hmacMD2(integrityKey[:], msg)
}
