package shim

import (
	"cmp"
	"slices"
)

// Percentile is the p-th percentile of v (0 for none), for the statistics VGPU_STATS logs;
// it sorts v in place.
func Percentile[T cmp.Ordered](v []T, p int) T {
	var zero T
	if len(v) == 0 {
		return zero
	}
	slices.Sort(v)
	return v[min(len(v)-1, len(v)*p/100)]
}
