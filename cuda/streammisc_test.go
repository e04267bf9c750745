package cuda

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// A wait's comparisons, as the driver documents them: GEQ is cyclic in the word's width
// ((int)(*addr - value) >= 0), AND needs a common bit, NOR a bit set in neither.
func TestWaitComparisonsFollowTheDocumentedRules(t *testing.T) {
	lockThread(t)
	cases := []struct {
		word, value uint64
		cmp         uint32
		size        uint64
		want        bool
	}{
		{5, 5, waitEQ, 4, true},
		{5, 6, waitEQ, 4, false},
		{5, 3, waitGEQ, 4, true},
		{3, 5, waitGEQ, 4, false},
		{5, 0xfffffff0, waitGEQ, 4, true},          // 5 is past a value just before the wrap
		{0xfffffff0, 5, waitGEQ, 4, false},         // ... and a value just after it is ahead
		{0x1_0000_0005, 6, waitGEQ, 4, false},      // a 32-bit wait sees only the low word
		{5, 0xfffffffffffffff0, waitGEQ, 8, true},  // the same wrap at 64 bits
		{0xfffffffffffffff0, 5, waitGEQ, 8, false}, //
		{5, 4, waitAND, 4, true},
		{5, 2, waitAND, 4, false},
		{5, 2, waitNOR, 4, true},
		{5, 0xfffffffa, waitNOR, 4, false},                  // every bit set in one of them
		{5, 0xfffffffa, waitNOR, 8, true},                   // at 64 bits the high bits are in neither
		{0xffffffff00000000, 0xffffffff, waitNOR, 8, false}, //
	}
	for _, c := range cases {
		assert.Equal(t, c.want, satisfied(c.word, c.value, c.cmp, c.size), "word %#x value %#x cmp %d size %d", c.word, c.value, c.cmp, c.size)
	}
}

// A link with native atomics reports each operation's widths; one without reports none, and an
// unknown operation fails the whole query.
func TestAtomicCapabilitiesFollowTheLink(t *testing.T) {
	lockThread(t)
	ops := []uint32{0, 9, 10, 12}
	caps := make([]uint32, len(ops))
	assert.Equal(t, Success, atomicCaps(ptrOf(caps), ptrOf(ops), uint32(len(ops)), true))
	for i, op := range ops {
		assert.NotZero(t, caps[i]&(atomicScalar32|atomicScalar64), "op %d", op)
	}
	assert.NotZero(t, caps[1]&atomicScalar128, "compare-and-swap at 128 bits")
	assert.Zero(t, caps[2]&atomicSigned, "float add has no integer signedness")
	assert.Equal(t, Success, atomicCaps(ptrOf(caps), ptrOf(ops), uint32(len(ops)), false))
	assert.Equal(t, []uint32{0, 0, 0, 0}, caps)
	assert.Equal(t, ErrorInvalidValue, atomicCaps(ptrOf(caps), ptrOf([]uint32{0, 13}), 2, true))
}

func ptrOf(s []uint32) unsafe.Pointer { return unsafe.Pointer(&s[0]) }
