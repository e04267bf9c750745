package shim

import (
	"sync"
	"sync/atomic"
)

// A server may cap what each client allocates (vgpu serve --client-memory). The client then
// sees the cap as its devices' memory in every API, as a program under a hard limit should:
// Ollama's scheduler fits layers to what cudaMemGetInfo and NVML report.
type quota struct {
	limit uint64
	used  atomic.Uint64
}

var (
	quotas  sync.Map     // owner -> *quota
	nQuotas atomic.Int64 // how many: with none, memory queries skip the per-thread lookup
)

// SetClientMemory caps the device memory owner may hold; 0 removes the cap.
func SetClientMemory(owner, limit uint64) {
	if limit == 0 {
		if _, had := quotas.LoadAndDelete(owner); had {
			nQuotas.Add(-1)
		}
		return
	}
	if _, had := quotas.Swap(owner, &quota{limit: limit}); !had {
		nQuotas.Add(1)
	}
}

// callerQuota is the cap of the client whose call this thread runs, if any.
func callerQuota() *quota {
	if nQuotas.Load() == 0 {
		return nil
	}
	return quotaFor(CallerOwner())
}

func quotaFor(owner uint64) *quota {
	if owner == 0 {
		return nil
	}
	q, _ := quotas.Load(owner)
	v, _ := q.(*quota)
	return v
}

func (q *quota) charge(n uint64) bool { return chargeWithin(&q.used, q.limit, n) }

// refund returns n bytes charged earlier.
func (q *quota) refund(n uint64) { q.used.Add(^(n - 1)) }

// chargeWithin adds n to used unless that would pass limit.
func chargeWithin(used *atomic.Uint64, limit, n uint64) bool {
	for {
		u := used.Load()
		if n > limit-u {
			return false
		}
		if used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

// Total is the device memory the calling thread's client may see: the device's, or its cap.
func (d *Device) Total() uint64 {
	if q := callerQuota(); q != nil && q.limit < d.Memory {
		return q.limit
	}
	return d.Memory
}
