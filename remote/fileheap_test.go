package remote

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The shared file's heap hands out whole pages first fit, and what is given back joins its
// neighbours, so that a freed run of allocations serves one as large as all of them.
func TestTheSharedFilesHeapReusesWhatIsFreed(t *testing.T) {
	region := make([]byte, 16<<12)
	h := newFileHeap(region, 1<<20)
	a, offA, _, ok := h.take(1) // a page, however little is asked for
	require.True(t, ok)
	require.Equal(t, uint64(1<<20), offA, "the first page of the heap, where the heap lies in the file")
	b, offB, _, _ := h.take(4 << 12)
	c, _, _, _ := h.take(4 << 12)
	require.Equal(t, offA+4096, offB)
	require.Equal(t, b+4<<12, c)
	_, _, _, ok = h.take(8 << 12)
	require.False(t, ok, "7 pages are left, not 8")

	require.True(t, h.give(b))
	require.False(t, h.give(b), "given back twice")
	require.False(t, h.give(b+4096), "not an allocation's address")
	require.True(t, h.give(a))
	_, _, _, ok = h.take(8 << 12)
	require.False(t, ok, "5 free pages before c, 7 after: no run of 8 yet")
	require.True(t, h.give(c))
	all, off, _, ok := h.take(16 << 12)
	require.True(t, ok, "everything given back is one run again")
	require.Equal(t, a, all)
	require.Equal(t, offA, off)
}
