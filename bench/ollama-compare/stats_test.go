package main

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{5}, 5},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{10, 10, 1000}, 10}, // an outlier does not move it
	} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	in := []float64{3, 1, 2}
	median(in)
	if in[0] != 3 || in[1] != 1 {
		t.Errorf("median sorted its argument: %v", in)
	}
}

func TestRatioAndRate(t *testing.T) {
	if got := ratio(3, 2); got != 1.5 {
		t.Errorf("ratio(3, 2) = %v", got)
	}
	for _, c := range [][2]float64{{0, 2}, {2, 0}, {-1, 2}} {
		if got := ratio(c[0], c[1]); got != 0 || math.IsNaN(got) {
			t.Errorf("ratio(%v, %v) = %v, want 0 (missing)", c[0], c[1], got)
		}
	}
	if got := rate(500, 250_000_000); got != 2000 {
		t.Errorf("rate(500 tokens, 250 ms) = %v, want 2000", got)
	}
	if got := rate(5, 0); got != 0 {
		t.Errorf("rate with no duration = %v, want 0", got)
	}
}

func TestFirstDiff(t *testing.T) {
	for _, c := range []struct {
		a, b []int
		want int
	}{
		{nil, nil, -1},
		{[]int{1, 2, 3}, []int{1, 2, 3}, -1},
		{[]int{1, 2, 3}, []int{1, 9, 3}, 1},
		{[]int{7}, []int{8}, 0},
		{[]int{1, 2}, []int{1, 2, 3}, 2},
		{[]int{1, 2, 3}, []int{1, 2}, 2},
		{nil, []int{1}, 0},
	} {
		if got := firstDiff(c.a, c.b); got != c.want {
			t.Errorf("firstDiff(%v, %v) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
	if got := firstDiff([]byte("abcd"), []byte("abXd")); got != 2 {
		t.Errorf("firstDiff on bytes = %d, want 2", got)
	}
}

func TestDiff(t *testing.T) {
	for _, c := range []struct {
		a, b sample
		want string
	}{
		{sample{Context: []int{1, 2, 3}, Text: "a"}, sample{Context: []int{1, 2, 3}, Text: "a"}, ""},
		{sample{Context: []int{1, 2, 3}}, sample{Context: []int{1, 5, 3}}, "token 1 (2 vs 5)"},
		{sample{Context: []int{1, 2}}, sample{Context: []int{1, 2, 3}}, "token 2 (lengths 2 vs 3)"},
		// No context (a newer Ollama): the text decides.
		{sample{Text: "hello"}, sample{Text: "help"}, "byte 3"},
		{sample{Text: "he"}, sample{Text: "hello"}, "byte 2 (lengths 2 vs 5)"},
		{sample{Text: "a", Err: "boom"}, sample{Text: "a"}, "request failed"},
	} {
		if got := diff(c.a, c.b); got != c.want {
			t.Errorf("diff(%+v, %+v) = %q, want %q", c.a, c.b, got, c.want)
		}
	}
}

func TestCompare(t *testing.T) {
	s := func(ids ...int) sample { return sample{Context: ids} }
	names := []string{"short", "long", "parallel-1", "parallel-2"}
	native := map[string]sample{"short": s(1, 2), "long": s(3, 4), "parallel-1": s(5, 6), "parallel-2": s(7, 8)}
	// parallel-2 varies between native's own passes: it must not be demanded.
	again := map[string]sample{"short": s(1, 2), "long": s(3, 4), "parallel-1": s(5, 6), "parallel-2": s(7, 9)}
	mode := map[string]sample{"short": s(1, 2), "long": s(3, 0), "parallel-2": s(0, 0)}

	cs := compare(names, native, again, mode)
	if len(cs) != 4 {
		t.Fatalf("got %d checks, want 4: %+v", len(cs), cs)
	}
	want := []check{
		{Name: "short", Demanded: true, Equal: true},
		{Name: "long", Demanded: true, Diff: "token 1 (4 vs 0)"},
		{Name: "parallel-1", Demanded: true, Diff: "missing"},
		{Name: "parallel-2", Demanded: false, Diff: "token 0 (7 vs 0)"},
	}
	for i := range want {
		if !reflect.DeepEqual(cs[i], want[i]) {
			t.Errorf("check %d = %+v, want %+v", i, cs[i], want[i])
		}
	}
	f := failures(cs)
	if len(f) != 2 || f[0].Name != "long" || f[1].Name != "parallel-1" {
		t.Errorf("failures = %+v, want long and parallel-1", f)
	}
	// Without a second native pass nothing is demanded.
	if f := failures(compare(names, native, nil, mode)); len(f) != 0 {
		t.Errorf("failures without a baseline = %+v", f)
	}
}

// A mode's concurrent result that native gave too, for the same request sent at another
// stagger, is named as native's: another batching, not a result only the mode computes.
func TestADifferingConcurrentResultIsLookedForAmongNativesOtherBatchings(t *testing.T) {
	s := func(ids ...int) sample { return sample{Context: ids} }
	p := plan{parallel: 2, staggers: []time.Duration{0, 5 * time.Millisecond}}
	names := p.identityNames()
	if want := []string{"short", "long", "parallel-1", "parallel-2", "parallel-1+5ms", "parallel-2+5ms"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("identity names %v, want %v", names, want)
	}
	native := map[string]sample{"short": s(1), "long": s(2), "parallel-1": s(3, 4), "parallel-2": s(5, 6),
		"parallel-1+5ms": s(3, 4), "parallel-2+5ms": s(5, 7)}
	again := map[string]sample{"short": s(1), "long": s(2), "parallel-1": s(3, 4), "parallel-2": s(5, 6),
		"parallel-1+5ms": s(3, 9), "parallel-2+5ms": s(5, 7)}
	// parallel-1 is native's parallel-1+5ms of the second pass; parallel-2 is native's
	// parallel-2+5ms (request 2's, not request 1's); long is nobody's.
	mode := map[string]sample{"short": s(1), "long": s(0), "parallel-1": s(3, 9), "parallel-2": s(5, 7),
		"parallel-1+5ms": s(3, 4), "parallel-2+5ms": s(5, 7)}
	got := map[string][]string{}
	for _, c := range failures(compare(names, native, again, mode)) {
		got[c.Name] = c.NativeElsewhere
	}
	want := map[string][]string{"long": nil, "parallel-1": {"again:parallel-1+5ms"}, "parallel-2": {"again:parallel-2+5ms", "parallel-2+5ms"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("failures and where native gave the same: %v, want %v", got, want)
	}
}

func TestFiller(t *testing.T) {
	a, b := filler(1100), filler(1100)
	if a != b || len(a) != 1100 {
		t.Fatalf("filler not deterministic or wrong length: %d", len(a))
	}
	if len(strings.Fields(a)) < 150 {
		t.Errorf("filler is not text-like: %.80q", a)
	}
	if !strings.HasPrefix(filler(2000), a) {
		t.Errorf("a longer filler does not extend a shorter one")
	}
}
