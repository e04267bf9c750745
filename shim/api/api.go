// Package api describes the exported C entry points. functions.txt is the source; cmd/apigen
// derives the //export layer, the C wrappers, the version script and Functions from it.
package api

// Arg is one parameter of an entry point.
type Arg struct {
	Name  string
	CType string
	Dir   string // in, out, inout, cstr, outstr, dev or "" for values
	Size  string // byte count or the argument holding it, when not sizeof the pointee
}

// Func is one exported entry point.
type Func struct {
	Op    int
	Lib   string
	Name  string
	Ret   string
	Nodes []string // symbol version nodes; empty for unversioned driver and NVML symbols
	Flags []string
	Args  []Arg
}

// Has reports whether f's row in functions.txt carries flag (sync, query, async, ...).
func (f *Func) Has(flag string) bool {
	for _, fl := range f.Flags {
		if fl == flag {
			return true
		}
	}
	return false
}

// ArgIndex is the position of f's argument called name, or -1.
func (f *Func) ArgIndex(name string) int {
	for i, a := range f.Args {
		if a.Name == name {
			return i
		}
	}
	return -1
}

// ByName indexes Functions by C name.
func ByName() map[string]*Func {
	m := make(map[string]*Func, len(Functions))
	for i := range Functions {
		m[Functions[i].Name] = &Functions[i]
	}
	return m
}

// ScalarBytes is the size of a [scalar:T] argument whose T names a type: the scale type a
// cuBLAS compute type implies (or, from older programs, a cudaDataType's size).
func ScalarBytes(typ uint64) int {
	switch typ {
	case 64, 65, 2: // CUBLAS_COMPUTE_16F(_PEDANTIC), CUDA_R_16F: half
		return 2
	case 70, 71, 1: // CUBLAS_COMPUTE_64F(_PEDANTIC), CUDA_R_64F: double
		return 8
	}
	return 4 // float, and int32 for CUBLAS_COMPUTE_32I
}
