package cuda

import (
	"sort"
	"strconv"
	"strings"
	"unsafe"

	"vgpu/shim"
	"vgpu/shim/api"
)

// ProcLookup finds an exported driver entry point by its symbol name. The exports layer
// sets it from the generated table.
var ProcLookup func(symbol string) uintptr

// procVersion is one symbol serving a base name from a CUDA version on.
type procVersion struct {
	since int32
	sym   string
}

// procVersions says which symbol serves a base name from which CUDA version on, for the
// names whose ABI changed (cuGetProcAddress semantics); names absent here map to themselves.
// It is read from the table's proc:BASE@VERSION flags (shim/api/functions.txt).
var procVersions = func() map[string][]procVersion {
	m := map[string][]procVersion{}
	for _, f := range api.Functions {
		if f.Lib != "cuda" {
			continue
		}
		for _, fl := range f.Flags {
			spec, ok := strings.CutPrefix(fl, "proc:")
			if !ok {
				continue
			}
			base, ver, _ := strings.Cut(spec, "@")
			since, err := strconv.Atoi(ver)
			if err != nil {
				panic("functions.txt: bad flag " + fl) // apigen refuses such a row first
			}
			m[base] = append(m[base], procVersion{int32(since), f.Name})
		}
	}
	for base, vs := range m {
		sort.Slice(vs, func(i, j int) bool { return vs[i].since < vs[j].since })
		if gap, ok := procNewerABI[base]; ok {
			m[base] = append(vs, procVersion{gap, ""})
		}
	}
	return m
}()

// procNewerABI is where a base name's ABI changes again to a form vgpu does not implement:
// callers of that CUDA version or later are told it is not found rather than handed the
// older form. None today: cuCtxCreate_v4 (CUDA 12.5) is served since driver 580's additions.
var procNewerABI = map[string]int32{}

// cuGetProcAddress flags and results.
const (
	procPerThreadStream = 2
	procFound           = 0
	procNotFound        = 1
	procVersionLow      = 2
)

// resolveProc picks the symbol serving name at cudaVersion, or "" with the reason.
func resolveProc(name string, cudaVersion int32) (string, int32) {
	sym := name
	if vs, ok := procVersions[name]; ok {
		sym = ""
		for _, v := range vs {
			if cudaVersion >= v.since {
				sym = v.sym
			}
		}
		if sym == "" {
			if cudaVersion < vs[0].since {
				return "", procVersionLow
			}
			return "", procNotFound // a newer ABI than vgpu implements
		}
	}
	return sym, procFound
}

// GetProcAddress is cuGetProcAddress_v2.
func GetProcAddress(symbol unsafe.Pointer, pfn unsafe.Pointer, cudaVersion int32, flags uint64, status unsafe.Pointer) Result {
	name, ok := shim.GoString(symbol, 256)
	if !ok || pfn == nil || flags > 2 {
		return ErrorInvalidValue
	}
	sym, st := resolveProc(name, cudaVersion)
	var fn uintptr
	if sym != "" && ProcLookup != nil {
		if flags&procPerThreadStream != 0 {
			// The per-thread default stream form of a stream-ordered or synchronous call.
			if fn = ProcLookup(sym + "_ptsz"); fn == 0 {
				fn = ProcLookup(sym + "_ptds")
			}
		}
		if fn == 0 {
			fn = ProcLookup(sym)
		}
	}
	if fn == 0 && st == procFound {
		st = procNotFound
	}
	shim.PutPtr(pfn, fn)
	if status != nil {
		shim.PutI32(status, st)
	}
	if fn == 0 {
		// Which names a runtime asks for that vgpu lacks (VGPU_LOG_LEVEL=debug).
		shim.DebugOnce("proc:"+name, "cuGetProcAddress: no entry point", "symbol", name, "version", cudaVersion)
		return ErrorNotFound
	}
	return Success
}

// GetProcAddressV1 is the CUDA 11 cuGetProcAddress, without the status output.
func GetProcAddressV1(symbol unsafe.Pointer, pfn unsafe.Pointer, cudaVersion int32, flags uint64) Result {
	return GetProcAddress(symbol, pfn, cudaVersion, flags, nil)
}
