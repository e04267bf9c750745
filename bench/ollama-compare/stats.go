package main

import (
	"fmt"
	"slices"
	"sort"
)

// median of the values; 0 when there are none (a real figure is never exactly 0, so 0 reads
// as "not measured" everywhere, and it survives JSON where NaN would not).
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// ratio is x/native, or 0 when either is missing.
func ratio(x, native float64) float64 {
	if x <= 0 || native <= 0 {
		return 0
	}
	return x / native
}

// rate is count per second of a duration in nanoseconds, as Ollama reports its timings.
func rate(count int, ns int64) float64 {
	if count <= 0 || ns <= 0 {
		return 0
	}
	return float64(count) / (float64(ns) / 1e9)
}

// firstDiff is the first index where a and b differ, len of the shorter one when one is a
// prefix of the other, and -1 when they are equal.
func firstDiff[T comparable](a, b []T) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return n
	}
	return -1
}

// sample is what one identity request produced. Context holds the token ids of prompt plus
// output as Ollama returns them; Text is the generated text, compared when a version of
// Ollama returns no context.
type sample struct {
	Context []int  `json:"context,omitempty"`
	Text    string `json:"text"`
	Err     string `json:"error,omitempty"`
}

// diff says where two samples part, "" when they are the same.
func diff(a, b sample) string {
	switch {
	case a.Err != "" || b.Err != "":
		if a.Err == b.Err {
			return ""
		}
		return "request failed"
	case len(a.Context) > 0 && len(b.Context) > 0:
		i := firstDiff(a.Context, b.Context)
		switch {
		case i < 0:
			return ""
		case i < len(a.Context) && i < len(b.Context):
			return fmt.Sprintf("token %d (%d vs %d)", i, a.Context[i], b.Context[i])
		default:
			return fmt.Sprintf("token %d (lengths %d vs %d)", i, len(a.Context), len(b.Context))
		}
	default:
		i := firstDiff([]byte(a.Text), []byte(b.Text))
		switch {
		case i < 0:
			return ""
		case i < len(a.Text) && i < len(b.Text):
			return fmt.Sprintf("byte %d", i)
		default:
			return fmt.Sprintf("byte %d (lengths %d vs %d)", i, len(a.Text), len(b.Text))
		}
	}
}

// check is one identity comparison of a mode's sample with native's.
type check struct {
	Name string `json:"name"`
	// Demanded: native gave the same result twice here, so a difference is the mode's doing
	// and not the nondeterminism of, say, batching concurrent requests.
	Demanded bool `json:"demanded"`
	Equal    bool `json:"equal"`
	// NativeElsewhere: where the mode's sample differs, the samples native gave for the same
	// request sent at another stagger (either pass) that it equals: a batching native too
	// produces, not a result only the mode computes.
	NativeElsewhere []string `json:"native_elsewhere,omitempty"`
	Diff            string   `json:"diff,omitempty"`
}

// compare checks every sample native produced against the mode's; names lists the samples
// in the order they were taken. A missing sample counts as a difference.
func compare(names []string, native, nativeAgain, mode map[string]sample) []check {
	var out []check
	for _, name := range names {
		n, ok := native[name]
		if !ok {
			continue // native itself never got this far: nothing to compare with
		}
		c := check{Name: name}
		if again, ok := nativeAgain[name]; ok {
			c.Demanded = diff(n, again) == "" && n.Err == ""
		}
		if m, ok := mode[name]; !ok {
			c.Diff = "missing"
		} else if c.Diff = diff(n, m); c.Diff == "" {
			c.Equal = true
		} else {
			c.NativeElsewhere = sameElsewhere(name, m, native, nativeAgain)
		}
		out = append(out, c)
	}
	return out
}

// sameElsewhere lists the samples of native's two passes for the request name is of, under
// any other name, that equal s ("again:" marks the second pass's).
func sameElsewhere(name string, s sample, native, nativeAgain map[string]sample) []string {
	var out []string
	for _, pass := range []struct {
		prefix  string
		samples map[string]sample
	}{{"", native}, {"again:", nativeAgain}} {
		for other, n := range pass.samples {
			if other != name && requestOf(other) == requestOf(name) && n.Err == "" && diff(n, s) == "" {
				out = append(out, pass.prefix+other)
			}
		}
	}
	slices.Sort(out)
	return out
}

// failures are the checks that were demanded and did not hold.
func failures(cs []check) []check {
	var f []check
	for _, c := range cs {
		if c.Demanded && !c.Equal {
			f = append(f, c)
		}
	}
	return f
}
