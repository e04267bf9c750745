package remote

import (
	"strings"

	"vgpu/shim/api"
	"vgpu/wire"
)

// A runtime or driver call whose output array is sized by a count passed by pointer
// (cudaGraphGetNodes, cudaGraphGetEdges, ...) cannot be encoded when that pointer is NULL
// and the array is not: the size is unknown. In process that is an invalid value (1 in
// both APIs), which the client answers here instead of failing to carry the call.
func init() {
	for i := range api.Functions {
		f := &api.Functions[i]
		if (f.Lib != "cudart" && f.Lib != "cuda") || beforeCall[f.Op] != nil {
			continue
		}
		type pair struct{ array, count int }
		var pairs []pair
		for j, a := range f.Args {
			size := a.Size
			if k := strings.Index(size, "*"); k >= 0 {
				size = size[k+1:]
			}
			if c := f.ArgIndex(size); c >= 0 && c != j && f.Args[c].Dir == "inout" {
				pairs = append(pairs, pair{j, c})
			}
		}
		if len(pairs) == 0 {
			continue
		}
		beforeCall[f.Op] = func(_ *api.Func, v []wire.Value) (uint64, bool) {
			for _, p := range pairs {
				if v[p.array].U != 0 && v[p.count].U == 0 {
					return 1, true
				}
			}
			return 0, false
		}
	}
}
