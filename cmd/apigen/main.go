// Command apigen turns shim/api/functions.txt, the one list of exported C entry points, into
// the //export layer (exports/zz_exports.go: each export calls through a function table),
// the tables and their implementations (table/zz_table.go: types, semantics, tracing;
// remote/zz_stubs.go: the remote client), the C symbol wrappers with their version nodes
// (exports/zz_wrappers.c), the linker version script (exports/zz_exports.map), the Go
// description used for marshalling (shim/api/zz_table.go) and the server's dispatch.
//
// Run it with `make generate`. A line it cannot understand stops it: a function silently
// missing from the library is the failure this project exists to prevent.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

type arg struct {
	Name  string
	CType string // as written, normalised spacing
	Ann   string // in, out, inout, cstr, outstr, dev or ""
	Size  string // byte count or argument name from [out:N]
	Class string // scalar, handle, ptr, dev, dim3
	GoT   string // Go type in the export signature (dim3 expands to three uint32)
	CArg  string // C type in the wrapper signature
	ByVal bool   // a struct passed by value: the wrapper hands Go its address ([in:N])
}

type fn struct {
	Op     int
	Lib    string
	Nodes  []string
	Ret    string
	Name   string
	GoName string
	Args   []arg
	Flags  map[string]bool
	Line   int
	SRet   string // a struct returned by value: the wrapper's C type; Go fills it through a first [out] argument
}

var scalars = map[string][2]string{ // C type -> Go type, C type in wrapper
	"int": {"int32", "int"}, "unsigned int": {"uint32", "unsigned int"}, "unsigned char": {"uint8", "unsigned char"}, "unsigned short": {"uint16", "unsigned short"},
	"char": {"int8", "char"}, "size_t": {"uint64", "size_t"}, "long long": {"int64", "long long"},
	"unsigned long long": {"uint64", "unsigned long long"}, "float": {"float32", "float"},
	"CUdevice": {"int32", "int"}, "CUdeviceptr": {"uint64", "unsigned long long"},
	"CUmemGenericAllocationHandle": {"uint64", "unsigned long long"},
	"cudaTextureObject_t":          {"uint64", "unsigned long long"}, "cudaSurfaceObject_t": {"uint64", "unsigned long long"},
}

// Enumerations travel as int.
var enums = strings.Fields(`CUresult cudaError_t CUdevice_attribute cudaDeviceAttr cudaLimit cudaMemcpyKind
	cudaStreamCaptureMode cudaFuncAttribute CUmemAllocationGranularity_flags CUpointer_attribute
	CUfunction_attribute cublasStatus_t cublasMath_t cublasOperation_t cublasPointerMode_t cudaDataType
	cublasComputeType_t cublasGemmAlgo_t cublasSideMode_t cublasFillMode_t cublasDiagType_t nvmlReturn_t
	nvmlTemperatureSensors_t nvmlClockType_t CUfunc_cache CUlimit CUstreamCaptureMode CUdevice_P2PAttribute
	CUsharedconfig CUmemPool_attribute CUgraphInstantiate_flags cudaChannelFormatKind`)

var handles = strings.Fields(`CUcontext CUstream CUevent CUmodule CUfunction cudaStream_t cudaEvent_t cudaGraph_t
	cudaGraphExec_t cudaGraphNode_t cudaKernel_t cublasHandle_t nvmlDevice_t nvmlEventSet_t CUlibrary CUkernel
	CUgraph CUgraphExec CUgraphNode CUmemoryPool cudaArray_t cudaArray_const_t
	cudaMipmappedArray_t CUlinkState cudaLibrary_t`)

// The driver's array, mipmapped array and texture/surface reference handles (cuda/array.go).
var driverArrayHandles = strings.Fields(`CUarray CUmipmappedArray CUtexref CUsurfref cudaMipmappedArray_const_t`)

func init() {
	handles = append(handles, driverArrayHandles...)
	scalars["CUtexObject"] = [2]string{"uint64", "unsigned long long"}
	scalars["CUsurfObject"] = [2]string{"uint64", "unsigned long long"}
	enums = append(enums, strings.Fields(`CUarray_format CUaddress_mode CUfilter_mode`)...)
}

// Structs passed by value, by their byte size. The C wrapper takes the struct and hands Go
// its address, so the row reads as an [in:N] buffer everywhere else (codec, trace, sweep).
var byValue = map[string]int{"cudaExtent": 24, "cudaPitchedPtr": 32, "cudaMemLocation": 8, "CUmemLocation": 8, "cudaIpcMemHandle_t": 64, "cudaIpcEventHandle_t": 64, "CUipcMemHandle": 64, "CUipcEventHandle": 64}

// byvalTypedefs are the stand-ins, one per size in byValue, that C signatures pass such structs
// as: same size and register class as the real ones.
const byvalTypedefs = "typedef struct { unsigned long long w; } vgpu_byval8;\ntypedef struct { unsigned long long w[4]; } vgpu_byval32;\n" +
	"typedef struct { unsigned long long w[3]; } vgpu_byval24;\ntypedef struct { char b[64]; } vgpu_byval64;\n"

// Structs returned by value: the C type the wrapper returns, and its size.
var returnedStructs = map[string]struct {
	C    string
	Size int
}{"struct cudaChannelFormatDesc": {"vgpu_chdesc", 20}}

var libPrefix = map[string][]string{
	"cuda":   {"cu"},
	"cudart": {"__cuda", "cuda"},
	"cublas": {"cublas"},
	"nvml":   {"nvml"},
}

var libNodes = map[string]string{"cudart": "libcudart.so.", "cublas": "libcublas.so."}

// Each library's status for an entry point that is listed but not implemented.
var notSupported = map[string]string{"cuda": "801", "cudart": "801", "cublas": "15", "nvml": "3"}

var lineRe = regexp.MustCompile(`^(\d+)\s+(\w+)(?:@([\d,]+))?\s+(.+?)\s*(\w+)\((.*)\)\s*(?:=\s*(\w+))?\s*(?:\{([\w,:@\s]+)\})?\s*$`)

// procFlagRe is a driver row's cuGetProcAddress version: proc:BASE@VERSION says the row
// serves BASE for a caller of CUDA VERSION (1000*major + 10*minor) and later.
var procFlagRe = regexp.MustCompile(`^proc:cu\w+@\d{4,5}$`)
var annRe = regexp.MustCompile(`\s*\[(\w+)(?::([^\]]+))?\]\s*$`)
var sizeRe = regexp.MustCompile(`^(|\d+|[A-Za-z_]\w*|\d+\*[A-Za-z_]\w*)$`)

func norm(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "*", " * ")), " ")
}

func parse(path string) ([]fn, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []fn
	seenOp := map[int]int{}
	seenSym := map[string]int{}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := lineRe.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("%s:%d: cannot parse %q", path, n, line)
		}
		op, _ := strconv.Atoi(m[1])
		if prev, ok := seenOp[op]; ok {
			return nil, fmt.Errorf("%s:%d: opcode %d already used on line %d", path, n, op, prev)
		}
		seenOp[op] = n
		d := fn{Op: op, Lib: m[2], Ret: norm(m[4]), Name: m[5], GoName: m[7], Flags: map[string]bool{}, Line: n}
		if rs, ok := returnedStructs[d.Ret]; ok {
			// Go fills the struct through an implicit first argument; the wrapper returns it.
			d.SRet, d.Ret = rs.C, "void"
			d.Args = append(d.Args, arg{Name: "ret_", CType: m[4] + " *", Ann: "out", Size: strconv.Itoa(rs.Size),
				Class: "ptr", GoT: "unsafe.Pointer", CArg: "void*"})
		}
		if _, ok := libPrefix[d.Lib]; !ok {
			return nil, fmt.Errorf("%s:%d: unknown library %q", path, n, d.Lib)
		}
		if base, ok := libNodes[d.Lib]; ok {
			vers := "12,13"
			if m[3] != "" {
				vers = m[3]
			}
			for _, v := range strings.Split(vers, ",") {
				d.Nodes = append(d.Nodes, base+v)
			}
		} else if m[3] != "" {
			return nil, fmt.Errorf("%s:%d: %s symbols carry no version node", path, n, d.Lib)
		}
		for _, fl := range strings.FieldsFunc(m[8], func(r rune) bool { return r == ',' || r == ' ' }) {
			if !contains(strings.Fields("stub noerr async fast local manual noremote sync query ctxswitch new:stream new:event free:stream free:event capture:begin capture:end"), fl) &&
				!procFlagRe.MatchString(fl) {
				return nil, fmt.Errorf("%s:%d: unknown flag %q", path, n, fl)
			}
			d.Flags[fl] = true
		}
		for _, node := range append(d.Nodes, "") {
			key := d.Name + "@" + node
			if node == "" && len(d.Nodes) > 0 {
				continue
			}
			if prev, ok := seenSym[key]; ok {
				return nil, fmt.Errorf("%s:%d: %s already defined on line %d", path, n, key, prev)
			}
			seenSym[key] = n
		}
		if d.GoName == "" {
			d.GoName = defaultGoName(d.Lib, d.Name)
		}
		if strings.TrimSpace(m[6]) != "" {
			for _, a := range strings.Split(m[6], ",") {
				pa, err := parseArg(a)
				if err != nil {
					return nil, fmt.Errorf("%s:%d: %s: %v", path, n, d.Name, err)
				}
				d.Args = append(d.Args, pa)
			}
		}
		if _, err := retGo(d.Ret); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, n, err)
		}
		if err := checkHandleFlags(d); err != nil {
			return nil, fmt.Errorf("%s:%d: %s: %v", path, n, d.Name, err)
		}
		out = append(out, d)
	}
	return out, sc.Err()
}

// handleKind names the kind of handle a C type is (by value, or the pointee of a pointer).
func handleKind(ctype string) string {
	switch strings.TrimSuffix(strings.TrimSpace(ctype), " *") {
	case "CUstream", "cudaStream_t":
		return "stream"
	case "CUevent", "cudaEvent_t":
		return "event"
	}
	return ""
}

// checkHandleFlags holds the handle flags to what the row's first argument is: new:K writes
// a new handle of kind K through it, free:K and capture:* take one by value.
func checkHandleFlags(d fn) error {
	for fl := range d.Flags {
		kind, want, ok := strings.Cut(fl, ":")
		if !ok || kind == "proc" {
			continue
		}
		if kind == "capture" {
			want = "stream"
		}
		if len(d.Args) == 0 {
			return fmt.Errorf("flag %s needs a first argument of kind %s", fl, want)
		}
		a := d.Args[0]
		byPtr := a.Class == "ptr" && a.Ann == "out"
		if handleKind(a.CType) != want || (kind == "new") != byPtr {
			return fmt.Errorf("flag %s: first argument %s %s is not %s %s", fl, a.CType, a.Name,
				map[bool]string{true: "an [out] pointer to a", false: "a"}[kind == "new"], want)
		}
	}
	return nil
}

func defaultGoName(lib, name string) string {
	for _, p := range libPrefix[lib] {
		if strings.HasPrefix(name, p) {
			name = strings.TrimPrefix(name, p)
			break
		}
	}
	return regexp.MustCompile(`_v\d+$`).ReplaceAllString(name, "")
}

func parseArg(s string) (arg, error) {
	var a arg
	if m := annRe.FindStringSubmatch(s); m != nil {
		a.Ann, a.Size = m[1], m[2]
		s = s[:len(s)-len(m[0])]
		// Sizes are N, an argument's name, or N*name; names follow goIdent's renaming.
		if i := strings.LastIndex(a.Size, "*"); i >= 0 {
			a.Size = a.Size[:i+1] + goIdent(a.Size[i+1:])
		} else if a.Size != "" && (a.Size[0] < '0' || a.Size[0] > '9') {
			a.Size = goIdent(a.Size)
		}
		if !sizeRe.MatchString(a.Size) {
			return a, fmt.Errorf("size %q: want N, NAME or N*NAME", a.Size)
		}
	}
	s = norm(s)
	i := strings.LastIndex(s, " ")
	if i < 0 {
		return a, fmt.Errorf("argument %q has no name", s)
	}
	a.Name, a.CType = goIdent(s[i+1:]), s[:i]
	base := strings.TrimSpace(strings.NewReplacer("const ", "", "struct ", "", "enum ", "").Replace(a.CType + " "))
	switch {
	case strings.HasSuffix(base, "*"):
		if a.Ann == "" {
			return a, fmt.Errorf("pointer argument %s needs [in], [out], [inout], [cstr], [outstr:N] or [dev]", a.Name)
		}
		a.CArg = "void*"
		if a.Ann == "dev" || a.Ann == "scalar" {
			a.Class, a.GoT = "dev", "uintptr"
		} else {
			a.Class, a.GoT = "ptr", "unsafe.Pointer"
		}
	case base == "dim3":
		a.Class, a.GoT, a.CArg = "dim3", "uint32", "dim3"
	case byValue[base] > 0:
		if a.Ann != "" {
			return a, fmt.Errorf("annotation on struct %s passed by value", a.Name)
		}
		n := byValue[base]
		a.Class, a.GoT, a.CArg, a.Ann, a.Size, a.ByVal = "ptr", "unsafe.Pointer", fmt.Sprintf("vgpu_byval%d", n), "in", strconv.Itoa(n), true
		return a, nil
	case contains(handles, base):
		a.Class, a.GoT, a.CArg = "handle", "uintptr", "void*"
	case contains(enums, base):
		a.Class, a.GoT, a.CArg = "scalar", "int32", "int"
	default:
		t, ok := scalars[base]
		if !ok {
			return a, fmt.Errorf("unknown type %q of %s", a.CType, a.Name)
		}
		a.Class, a.GoT, a.CArg = "scalar", t[0], t[1]
	}
	if a.Ann != "" && a.Class != "ptr" && a.Class != "dev" {
		return a, fmt.Errorf("annotation on non-pointer %s", a.Name)
	}
	return a, nil
}

// goIdent keeps C parameter names that are Go keywords or builtins from breaking the export.
func goIdent(name string) string {
	switch name {
	case "type", "func", "range", "map", "len", "cap", "copy", "new", "string", "select", "default", "go", "chan":
		return name + "_"
	}
	return name
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// retGo gives the Go return type of the export and the C return type of the wrapper.
func retGo(ret string) ([2]string, error) {
	switch {
	case ret == "void":
		return [2]string{"", "void"}, nil
	case ret == "const char *":
		return [2]string{"unsafe.Pointer", "const char*"}, nil
	case ret == "void * *":
		return [2]string{"uintptr", "void**"}, nil
	case ret == "unsigned int":
		return [2]string{"uint32", "unsigned int"}, nil
	case ret == "char":
		return [2]string{"int8", "char"}, nil
	case contains(enums, ret):
		return [2]string{"int32", "int"}, nil
	}
	return [2]string{}, fmt.Errorf("unknown return type %q", ret)
}

var goPkg = map[string]string{"cuda": "cuda", "cudart": "cudart", "cublas": "cublas", "nvml": "nvml"}

// exportName is the Go export behind a row. Rows of one C name that differ by version node
// (cudaGetDeviceProperties@12 and @13) get the node's major appended.
func exportName(d fn) string {
	if len(d.Nodes) == 1 {
		return "vgpu_" + d.Name + "_" + d.Nodes[0][strings.LastIndex(d.Nodes[0], ".")+1:]
	}
	return "vgpu_" + d.Name
}

// forwardable reports whether the server answers d through the generic codec.
func forwardable(d fn) bool {
	r, _ := retGo(d.Ret)
	return !d.Flags["local"] && !d.Flags["manual"] && !d.Flags["noremote"] && !d.Flags["stub"] && (r[0] == "int32" || r[0] == "uint32")
}

// genDispatch writes the server's table: opcode -> a call of the same semantics the
// program's own process would run, on the server's buffers.
func genDispatch(fns []fn) []byte {
	var b bytes.Buffer
	b.WriteString("// Code generated by cmd/apigen from shim/api/functions.txt. DO NOT EDIT.\n\n")
	b.WriteString("package server\n\nimport (\n\t\"runtime\"\n\n\t\"vgpu/cublas\"\n\t\"vgpu/cuda\"\n\t\"vgpu/cudart\"\n\t\"vgpu/nvml\"\n\t\"vgpu/shim\"\n\t\"vgpu/wire\"\n)\n\n")
	b.WriteString("var _ shim.Dim3\nvar _ = runtime.KeepAlive\nvar _ = cublas.Success\nvar _ = cuda.Success\nvar _ = cudart.Success\nvar _ = nvml.Success\n\n")
	b.WriteString("// dispatch answers every call the generic codec carries.\nvar dispatch = map[uint32]func(v []wire.Value) uint64{\n")
	for _, d := range fns {
		if !forwardable(d) {
			continue
		}
		var args []string
		keep := ""
		for i, a := range d.Args {
			if a.Ann == "scalar" {
				// The address of the value carried, or the device address: held as a uintptr,
				// so v is kept alive until the call returns.
				args = append(args, fmt.Sprintf("scalarArg(v[%d])", i))
				keep = "defer runtime.KeepAlive(v); "
				continue
			}
			switch a.Class {
			case "dim3":
				args = append(args, fmt.Sprintf("shim.Dim3{X: v[%d].D[0], Y: v[%d].D[1], Z: v[%d].D[2]}", i, i, i))
			case "ptr":
				if a.Ann == "cstr" {
					args = append(args, fmt.Sprintf("cstr(v[%d].B)", i))
				} else {
					args = append(args, fmt.Sprintf("ptr(v[%d].B)", i))
				}
			default:
				if a.GoT == "float32" { // carried as its bits (server/float.go)
					args = append(args, fmt.Sprintf("f32(v[%d].U)", i))
					continue
				}
				args = append(args, fmt.Sprintf("%s(v[%d].U)", a.GoT, i))
			}
		}
		fmt.Fprintf(&b, "\t%d: func(v []wire.Value) uint64 { %sreturn uint64(uint32(%s.%s(%s))) },\n", d.Op, keep, goPkg[d.Lib], d.GoName, strings.Join(args, ", "))
	}
	b.WriteString("}\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		fmt.Fprintln(os.Stderr, "apigen: generated dispatch does not parse:", err)
		os.Exit(1)
	}
	return src
}

func traceResult(d fn, goRet string) string {
	if goRet != "int32" {
		return "r"
	}
	switch d.Ret {
	case "CUresult":
		return "cuda.Result(r)"
	case "cudaError_t":
		return "cudart.Error(r)"
	case "cublasStatus_t":
		return "cublas.Status(r)"
	case "nvmlReturn_t":
		return "nvml.Return(r)"
	}
	return "r"
}

var goCType = map[string]string{"int32": "GoInt32", "uint32": "GoUint32", "uint8": "GoUint8", "uint16": "GoUint16", "int8": "GoInt8",
	"uint64": "GoUint64", "int64": "GoInt64", "float32": "GoFloat32", "uintptr": "GoUintptr", "unsafe.Pointer": "void*"}

// noInit lists the CUDA calls NVIDIA's libraries answer without initialisation: a forked
// child of a process that had initialised CUDA still gets them (exports/fork.c).
var noInit = map[string]bool{
	"cuDriverGetVersion": true, "cuGetErrorString": true, "cuGetErrorName": true,
	"cudaDriverGetVersion": true, "cudaRuntimeGetVersion": true, "cudaGetErrorString": true, "cudaGetErrorName": true,
	"cublasGetStatusString": true, "cublasGetStatusName": true,
}

// registrations are the calls by which a CUDA program's constructors hand the runtime its
// kernels and variables. The library keeps a log of them, so that a forked child's own copy
// of the library can be given them too (exports/fork.c).
var registrations = map[string]string{
	"__cudaRegisterFatBinary": "VGPU_REG_FATBIN", "__cudaRegisterFatBinaryEnd": "VGPU_REG_END",
	"__cudaUnregisterFatBinary": "VGPU_REG_UNREG", "__cudaRegisterFunction": "VGPU_REG_FUNC",
	"__cudaRegisterVar": "VGPU_REG_VAR", "__cudaRegisterManagedVar": "VGPU_REG_MVAR", "__cudaInitModule": "VGPU_REG_INIT",
}

// marksInit reports whether d's success means CUDA is initialised in this process, as it
// is under NVIDIA's libraries: cuInit, and the driver, runtime and cuBLAS calls that need
// it (a runtime call initialises implicitly), but not the ones answered without it.
func marksInit(d fn) bool {
	switch d.Ret {
	case "CUresult", "cudaError_t", "cublasStatus_t":
		return !noInit[d.Name] && !d.Flags["noerr"]
	}
	return false
}

// forkedDefault is what a forked child answers in C for d: the library's "not initialised"
// status (CUDA_ERROR_NOT_INITIALIZED, cudaErrorInitializationError,
// CUBLAS_STATUS_NOT_INITIALIZED, NVML_ERROR_UNINITIALIZED), or for the few calls that return
// something else, a value that makes the caller do nothing.
func forkedDefault(d fn) string {
	switch {
	case strings.HasPrefix(d.Name, "nvmlInit"):
		return "9" // NVML_ERROR_DRIVER_NOT_LOADED: only when the child's copy could not be loaded
	case d.Ret == "CUresult" || d.Ret == "cudaError_t":
		return "3"
	case d.Ret == "cublasStatus_t" || d.Ret == "nvmlReturn_t":
		return "1"
	case d.Ret == "unsigned int": // __cudaPushCallConfiguration: non-zero skips the launch
		return "3"
	case d.Ret == "char":
		return "0"
	case d.Ret == "const char *":
		return `"unknown error"`
	case d.Ret == "void * *": // __cudaRegisterFatBinary: a handle nobody dereferences
		return "(void**)&vgpu_forked_handle"
	case d.Ret == "void":
		return ""
	}
	panic("apigen: no forked-child answer for " + d.Name)
}

func genC(fns []fn) ([]byte, []byte) {
	var b bytes.Buffer
	b.WriteString("// Code generated by cmd/apigen from shim/api/functions.txt. DO NOT EDIT.\n\n")
	b.WriteString("// The C symbols every NVIDIA library name resolves to. Each forwards to its Go export;\n")
	b.WriteString("// runtime and cuBLAS symbols exist once per CUDA major under that major's version node.\n\n")
	b.WriteString("// In a forked child each calls its own copy of the library instead, or answers in C (fork.h).\n\n")
	b.WriteString("#include <stddef.h>\n#include <stdint.h>\n#include <stdlib.h>\n#include <string.h>\n#include \"_cgo_export.h\"\n#include \"fork.h\"\n\n")
	b.WriteString("typedef struct { unsigned int x, y, z; } dim3;\n")
	b.WriteString(byvalTypedefs)
	b.WriteString("typedef struct { int x, y, z, w, f; } vgpu_chdesc;\n\nstatic void *vgpu_forked_handle;\n\n")

	// The newest node of a name is its default (@@) version.
	newest := map[string]string{}
	for _, d := range fns {
		for _, n := range d.Nodes {
			if n > newest[d.Name] {
				newest[d.Name] = n
			}
		}
	}
	var procTable []string
	var body bytes.Buffer
	var fastDecls bytes.Buffer
	var forkSyms bytes.Buffer // every wrapper's name and node, by its index in a forked child
	nsyms := 0
	for _, d := range fns {
		r, _ := retGo(d.Ret)
		cargs := d.Args // the C signature's arguments
		var params, call []string
		if d.SRet != "" {
			r[1], cargs = d.SRet, d.Args[1:]
			call = append(call, "(void*)&r")
		}
		for _, a := range cargs {
			params = append(params, a.CArg+" "+a.Name)
			if a.Class == "dim3" {
				call = append(call, a.Name+".x", a.Name+".y", a.Name+".z")
				continue
			}
			if a.ByVal {
				call = append(call, "(void*)&"+a.Name)
				continue
			}
			call = append(call, "("+goCType[a.GoT]+")"+a.Name)
		}
		if len(params) == 0 {
			params = []string{"void"}
		}
		// A forked child calls the same entry point of its own copy of the library, or
		// answers in C (exports/fork.c).
		forked := func(idx int) string {
			var types, names []string
			for _, a := range cargs {
				types = append(types, a.CArg)
				names = append(names, a.Name)
			}
			if len(types) == 0 {
				types = []string{"void"}
			}
			needsInit := 0
			if d.Lib != "nvml" && !noInit[d.Name] {
				needsInit = 1
			}
			get := fmt.Sprintf("%s (*f)(%s) = (%s (*)(%s))vgpu_forked_sym(%d, %d);", r[1], strings.Join(types, ", "), r[1], strings.Join(types, ", "), idx, needsInit)
			if _, ok := registrations[d.Name]; ok && d.Name != "__cudaRegisterFatBinary" {
				names[0] = "vgpu_fork_handle_of(" + names[0] + ")" // the copy's own module handle
			}
			if d.SRet != "" {
				return fmt.Sprintf("if (vgpu_forked()) { %s if (f) return f(%s); %s zero; memset(&zero, 0, sizeof zero); return zero; } ", get, strings.Join(names, ", "), d.SRet)
			}
			if r[0] == "" {
				return fmt.Sprintf("if (vgpu_forked()) { %s if (f) f(%s); return; } ", get, strings.Join(names, ", "))
			}
			return fmt.Sprintf("if (vgpu_forked()) { %s return f ? f(%s) : %s; } ", get, strings.Join(names, ", "), forkedDefault(d))
		}
		invoke := fmt.Sprintf("%s(%s)", exportName(d), strings.Join(call, ", "))
		if kind, ok := registrations[d.Name]; ok {
			// Logged after the call; idx is filled in per node below.
			var as []string
			for _, a := range d.Args {
				as = append(as, "(uintptr_t)"+a.Name)
			}
			ret := "NULL"
			if r[0] != "" {
				ret = "(void*)(uintptr_t)r"
			}
			rec := fmt.Sprintf("{ uintptr_t a[] = {%s}; vgpu_fork_record(%s, IDX, %s, a, %d); }", strings.Join(as, ", "), kind, ret, len(as))
			if r[0] == "" {
				invoke = fmt.Sprintf("%s; %s", invoke, rec)
			} else {
				invoke = fmt.Sprintf("%s r = (%s)%s; %s return r", r[1], r[1], invoke, rec)
			}
		}
		switch {
		case d.SRet != "":
			invoke = fmt.Sprintf("%s r; memset(&r, 0, sizeof r); %s; return r", d.SRet, invoke)
		case registrations[d.Name] != "":
		case marksInit(d):
			// Its success means CUDA is initialised: a child forked after it gets 3.
			invoke = fmt.Sprintf("int r = (int)%s; vgpu_fork_note_init(r); return r", invoke)
		case r[0] != "":
			invoke = fmt.Sprintf("return (%s)%s", r[1], invoke)
		}
		if d.Flags["fast"] {
			// Answered in C when possible (shim/fast.c); -1 means "take the Go path".
			var names []string
			for _, a := range d.Args {
				names = append(names, a.Name)
			}
			fast := "vgpu_fast_" + strings.TrimPrefix(exportName(d), "vgpu_")
			fmt.Fprintf(&fastDecls, "int %s(%s);\n", fast, strings.Join(params, ", "))
			invoke = fmt.Sprintf("int f = %s(%s); if (f >= 0) return f; %s", fast, strings.Join(names, ", "), invoke)
		}
		if len(d.Nodes) == 0 {
			fmt.Fprintf(&forkSyms, "\t{%q, NULL},\n", d.Name)
			fmt.Fprintf(&body, "%s %s(%s) { %s%s; }\n", r[1], d.Name, strings.Join(params, ", "), forked(nsyms), strings.ReplaceAll(invoke, "IDX", strconv.Itoa(nsyms)))
			nsyms++
			if d.Lib == "cuda" {
				procTable = append(procTable, fmt.Sprintf("\t{\"%s\", (void*)%s},", d.Name, d.Name))
			}
			continue
		}
		for _, node := range d.Nodes {
			major := node[strings.LastIndex(node, ".")+1:]
			local := "vgpu" + major + "_" + d.Name
			at := "@"
			if node == newest[d.Name] {
				at = "@@"
			}
			fmt.Fprintf(&forkSyms, "\t{%q, %q},\n", d.Name, node)
			fmt.Fprintf(&body, "%s %s(%s) { %s%s; }\n", r[1], local, strings.Join(params, ", "), forked(nsyms), strings.ReplaceAll(invoke, "IDX", strconv.Itoa(nsyms)))
			nsyms++
			fmt.Fprintf(&body, "__asm__(\".symver %s, %s%s%s\");\n", local, d.Name, at, node)
		}
	}
	b.Write(fastDecls.Bytes())
	b.WriteString("\n")
	b.Write(body.Bytes())
	b.WriteString("\n// What a forked child looks up in its own copy of the library (fork.h).\n")
	fmt.Fprintf(&b, "const struct vgpu_fork_sym vgpu_fork_syms[] = {\n%s};\n", forkSyms.String())
	fmt.Fprintf(&b, "const int vgpu_fork_nsyms = %d;\nvoid *vgpu_fork_cache[%d];\n", nsyms, nsyms)
	sort.Strings(procTable)
	b.WriteString("\n// Driver entry points by name, for cuGetProcAddress. Sorted for bsearch.\n")
	b.WriteString("typedef struct { const char *name; void *fn; } vgpu_proc;\n")
	fmt.Fprintf(&b, "static const vgpu_proc vgpu_procs[] = {\n%s\n};\n\n", strings.Join(procTable, "\n"))
	b.WriteString(`static int vgpu_proc_cmp(const void *key, const void *elem) {
	return strcmp((const char *)key, ((const vgpu_proc *)elem)->name);
}

// vgpu_proc_lookup returns the driver entry point called name, or NULL.
void *vgpu_proc_lookup(const char *name) {
	const vgpu_proc *p = bsearch(name, vgpu_procs, sizeof vgpu_procs / sizeof vgpu_procs[0], sizeof vgpu_procs[0], vgpu_proc_cmp);
	return p ? p->fn : NULL;
}
`)

	// Version script: Base symbols for the driver and NVML, nodes for runtime and cuBLAS.
	var m bytes.Buffer
	m.WriteString("/* Code generated by cmd/apigen from shim/api/functions.txt. DO NOT EDIT. */\n")
	m.WriteString("VGPU_BASE {\n  global:\n")
	var base []string
	for _, d := range fns {
		if len(d.Nodes) == 0 {
			base = append(base, "    "+d.Name+";")
		}
	}
	// vgpu_build_info (exports/marker.c) lets tools tell vgpu from NVIDIA's libraries.
	base = append(base, "    vgpu_build_info;")
	m.WriteString(strings.Join(base, "\n") + "\n  local:\n    *;\n};\n")
	m.WriteString("libcudart.so.12 { };\nlibcudart.so.13 { } libcudart.so.12;\n")
	m.WriteString("libcublas.so.12 { };\nlibcublas.so.13 { } libcublas.so.12;\n")
	return b.Bytes(), m.Bytes()
}

func genTable(fns []fn) []byte {
	var b bytes.Buffer
	b.WriteString("// Code generated by cmd/apigen from shim/api/functions.txt. DO NOT EDIT.\n\npackage api\n\n")
	b.WriteString("// Functions lists every exported entry point in the order of functions.txt.\nvar Functions = []Func{\n")
	for _, d := range fns {
		var args []string
		for _, a := range d.Args {
			args = append(args, fmt.Sprintf("{Name: %q, CType: %q, Dir: %q, Size: %q}", a.Name, a.CType, a.Ann, a.Size))
		}
		var flags []string
		for f := range d.Flags {
			flags = append(flags, f)
		}
		sort.Strings(flags)
		fmt.Fprintf(&b, "\t{Op: %d, Lib: %q, Name: %q, Ret: %q, Nodes: %#v, Flags: %#v, Args: []Arg{%s}},\n",
			d.Op, d.Lib, d.Name, d.Ret, d.Nodes, flags, strings.Join(args, ", "))
	}
	b.WriteString("}\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		panic(err)
	}
	return src
}

func main() {
	root := "."
	if len(os.Args) > 1 {
		root = os.Args[1]
	}
	fns, err := parse(filepath.Join(root, "shim/api/functions.txt"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "apigen:", err)
		os.Exit(1)
	}
	c, m := genC(fns)
	write := func(p string, data []byte) {
		if err := os.WriteFile(filepath.Join(root, p), data, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "apigen:", err)
			os.Exit(1)
		}
	}
	write("exports/zz_exports.go", genExports(fns))
	write("table/zz_table.go", genTableTypes(fns))
	write("remote/zz_stubs.go", genStubs(fns))
	write("exports/zz_wrappers.c", c)
	write("exports/zz_exports.map", m)
	write("shim/api/zz_table.go", genTable(fns))
	write("server/zz_dispatch.go", genDispatch(fns))
	write("tests/c/zz_sweep.h", genSweep(fns))
	write("tests/c/zz_api.h", genCAPI(fns))
	fmt.Printf("apigen: %d entry points\n", len(fns))
}

// traceArgList is the trailing arguments of a TraceEnd call.
func traceArgList(trace []string) string {
	if len(trace) == 0 {
		return ""
	}
	return ", " + strings.Join(trace, ", ")
}

// statusKind names the status family of a return type for the bad-input sweep.
var statusKind = map[string]byte{"CUresult": 'c', "cudaError_t": 'r', "cublasStatus_t": 'b', "nvmlReturn_t": 'n'}

// genSweep lists every C name with one letter per integer-register slot of its arguments, in
// the order the x86-64 ABI passes them, so tests/c/sweep.c can call each with bad values:
// h handle, o a pointer the callee writes, i a pointer it reads, d a device address,
// s a signed value, u an unsigned one, 3 half of a dim3 (12 bytes travel in two slots).
func genSweep(fns []fn) []byte {
	var b bytes.Buffer
	b.WriteString("// Code generated by cmd/apigen from shim/api/functions.txt. DO NOT EDIT.\n\n")
	b.WriteString("// Every exported C name and its argument slots, for the bad-input sweep (sweep.c).\n")
	b.WriteString("static const struct { const char *name, *slots; char status; int async; } sweep_fns[] = {\n")
	seen := map[string]bool{}
	for _, d := range fns {
		if seen[d.Name] {
			continue // one row per version node; dlsym finds the default one
		}
		seen[d.Name] = true
		var slots strings.Builder
		for i, a := range d.Args {
			switch {
			case d.SRet != "" && i == 0:
				slots.WriteByte('r') // the hidden pointer to the returned struct: always a real buffer
			case a.ByVal && a.Size == "8":
				slots.WriteByte('u') // an 8-byte struct travels in an integer register
			case a.ByVal:
				// passed in memory, on the stack: no integer slot
			case a.Class == "dim3":
				slots.WriteString("33")
			case a.Class == "handle":
				slots.WriteByte('h')
			case a.Class == "dev":
				slots.WriteByte('d')
			case a.Class == "ptr" && (a.Ann == "in" || a.Ann == "cstr"):
				slots.WriteByte('i')
			case a.Class == "ptr":
				slots.WriteByte('o')
			case a.GoT == "float32":
				// travels in a vector register: no integer slot
			case strings.HasPrefix(a.GoT, "int"):
				slots.WriteByte('s')
			default:
				slots.WriteByte('u')
			}
		}
		st := statusKind[d.Ret]
		if st == 0 {
			st = '-'
		}
		async := 0
		if d.Flags["async"] {
			async = 1
		}
		fmt.Fprintf(&b, "\t{%q, %q, '%c', %d},\n", d.Name, slots.String(), st, async)
	}
	b.WriteString("};\n")
	return b.Bytes()
}
