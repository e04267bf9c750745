package cuda

import (
	"testing"
	"unsafe"
)

// cuLibraryLoad*'s library options: CU_LIBRARY_BINARY_IS_PRESERVED takes no value, so cuBLAS 12
// passes it with a null values array (for each of its images); an option that takes a value
// still needs the array, and an unknown option or a missing options array is invalid.
func TestLibraryOptionsTakeValuesOnlyWhereTheOptionHasOne(t *testing.T) {
	lockThread(t)
	vals := [2]uintptr{0x1000, 0}
	addr := func(o []uint32) uintptr { return uintptr(unsafe.Pointer(&o[0])) }
	valsAt := uintptr(unsafe.Pointer(&vals[0]))
	for _, c := range []struct {
		what       string
		opts       []uint32
		vals       uintptr
		null, want bool
	}{
		{"no options", nil, 0, true, true},
		{"preserved, no values", []uint32{libraryBinaryIsPreserved}, 0, false, true},
		{"preserved twice, no values", []uint32{libraryBinaryIsPreserved, libraryBinaryIsPreserved}, 0, false, true},
		{"the host table, no values", []uint32{libraryHostUniversalTable}, 0, false, false},
		{"the host table with values", []uint32{libraryHostUniversalTable, libraryBinaryIsPreserved}, valsAt, false, true},
		{"an unknown option", []uint32{7}, valsAt, false, false},
		{"counted but not given", []uint32{libraryBinaryIsPreserved}, 0, true, false},
	} {
		var opts uintptr
		n := uint32(len(c.opts))
		if !c.null {
			opts = addr(c.opts)
		}
		if c.what == "counted but not given" {
			n = 1
		}
		if got := libraryOptions(opts, c.vals, n); got != c.want {
			t.Errorf("%s: libraryOptions = %v, want %v", c.what, got, c.want)
		}
	}
}
