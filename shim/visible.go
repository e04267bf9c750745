package shim

import (
	"strconv"
	"strings"
)

// ApplyVisible filters devices as CUDA does for CUDA_VISIBLE_DEVICES: a comma-separated list
// of indexes or GPU-<uuid> (a unique prefix is enough). Parsing stops at the first entry that
// names no device or repeats one; set-but-empty hides everything.
func ApplyVisible(all []*Device, value string, set bool) []*Device {
	if !set {
		return all
	}
	var out []*Device
	seen := map[*Device]bool{}
	for _, tok := range strings.Split(value, ",") {
		tok = strings.TrimSpace(tok)
		d := lookupVisibleToken(all, tok)
		if d == nil || seen[d] {
			break
		}
		seen[d] = true
		out = append(out, d)
	}
	return out
}

func lookupVisibleToken(all []*Device, tok string) *Device {
	if tok == "" {
		return nil
	}
	if n, err := strconv.Atoi(tok); err == nil {
		if n >= 0 && n < len(all) {
			return all[n]
		}
		return nil
	}
	lower := strings.ToLower(tok)
	if !strings.HasPrefix(lower, "gpu-") || len(lower) <= 4 {
		return nil
	}
	var found *Device
	for _, d := range all {
		if strings.HasPrefix(strings.ToLower(d.UUIDString()), lower) {
			if found != nil {
				return nil // ambiguous prefix
			}
			found = d
		}
	}
	return found
}
