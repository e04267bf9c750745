package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testReport: native, remote half as fast with one token off in the long sample, local
// failed outright.
func testReport() *report {
	s := func(ids ...int) sample { return sample{Context: ids} }
	same := func() map[string]sample {
		return map[string]sample{"short": s(1, 2), "long": s(3, 4, 5), "parallel-1": s(6), "parallel-2": s(7)}
	}
	native := &modeResult{Mode: "native", LoadS: 1, ShortMs: []float64{10, 12, 11}, FirstTPS: []float64{800}, PromptTPS: []float64{1000, 1000, 900},
		DecodeTPS: []float64{100, 100, 100}, PromptTokens: []int{1104}, DecodeTokens: []int{128, 128, 128},
		Residency: &residency{Size: 10, SizeVRAM: 10, Percent: 100}, Samples: same()}
	remote := &modeResult{Mode: "remote", LoadS: 2, ShortMs: []float64{20, 22, 24}, FirstTPS: []float64{600}, PromptTPS: []float64{500, 500, 500},
		DecodeTPS: []float64{50, 50, 50}, DecodeTokens: []int{128, 128, 128},
		Residency: &residency{Size: 10, SizeVRAM: 10, Percent: 100}, Samples: same(), Hidden: &hidden{HostNodes: 5, Covered: 5}}
	remote.Samples["long"] = s(3, 4, 9)
	local := &modeResult{Mode: "local", Error: "first request (model load): POST /api/generate: 500 | boom"}
	return &report{
		Settings:    settings{Runs: 3, NumPredict: 128, Parallel: 2, NumCtx: 4096},
		Modes:       []*modeResult{native, remote, local},
		NativeAgain: &modeResult{Mode: "native-again", Samples: same()},
	}
}

func TestEvaluate(t *testing.T) {
	rep := testReport()
	rep.evaluate()
	nat, rem := rep.Modes[0], rep.Modes[1]
	if nat.Median != (figures{LoadS: 1, FirstTPS: 800, PromptTPS: 1000, DecodeTPS: 100, ShortMs: 11}) {
		t.Errorf("native medians %+v", nat.Median)
	}
	if rem.Ratio != (figures{LoadS: 2, FirstTPS: 0.75, PromptTPS: 0.5, DecodeTPS: 0.5, ShortMs: 2}) {
		t.Errorf("remote ratios %+v", rem.Ratio)
	}
	if rep.Settings.PromptTokens != 1104 {
		t.Errorf("prompt tokens %d", rep.Settings.PromptTokens)
	}
	if rep.OK || len(rep.Problems) != 2 {
		t.Fatalf("OK %v, problems %q; want the local failure and the remote mismatch", rep.OK, rep.Problems)
	}
	if rep.Problems[0] != "remote: identity: long differs from native at token 2 (5 vs 9)" ||
		!strings.HasPrefix(rep.Problems[1], "local: first request") {
		t.Errorf("problems %q", rep.Problems)
	}
}

func TestEvaluatePassesAndResidency(t *testing.T) {
	rep := testReport()
	rep.Modes = rep.Modes[:2]
	rep.Modes[1].Samples["long"] = rep.Modes[0].Samples["long"]
	rep.evaluate()
	if !rep.OK {
		t.Fatalf("problems %q", rep.Problems)
	}
	// Native only partly on the GPU is a note; a vgpu mode that is, fails.
	rep.Modes[0].Residency.Percent = 40
	rep.evaluate()
	if !rep.OK || len(rep.Notes) != 1 || !strings.HasPrefix(rep.Notes[0], "native: 40%") {
		t.Errorf("native at 40%%: OK %v, notes %q", rep.OK, rep.Notes)
	}
	rep.Modes[1].Residency.Percent = 0
	rep.evaluate()
	if rep.OK || !strings.HasPrefix(rep.Problems[0], "remote: 0% of the model in GPU memory") {
		t.Errorf("remote at 0%%: OK %v, problems %q", rep.OK, rep.Problems)
	}
}

func TestEvaluateNativeNotSelfIdentical(t *testing.T) {
	rep := testReport()
	rep.Modes = rep.Modes[:2]
	rep.NativeAgain.Samples["long"] = sample{Context: []int{3, 4, 6}} // native varies here
	rep.evaluate()
	if !rep.OK {
		t.Errorf("a difference where native varies failed the run: %q", rep.Problems)
	}
	var out bytes.Buffer
	rep.table(&out)
	if !strings.Contains(out.String(), "| self-identical 3/4 |") ||
		!strings.Contains(out.String(), "| identical 3/3 (1 unchecked: native varies) |") {
		t.Errorf("table:\n%s", out.String())
	}
}

func TestTable(t *testing.T) {
	rep := testReport()
	rep.Ollama.Version = "0.17.4"
	rep.Machine = machine{CPU: "Test CPU", Cores: 8, GPUs: []string{"NVIDIA H100 80GB HBM3"}}
	rep.Model = modelInfo{TestModel: "tiny:f16", Bytes: 3 << 20}
	rep.evaluate()
	var out bytes.Buffer
	rep.table(&out)
	got := out.String()
	for _, want := range []string{
		"- Ollama 0.17.4 (",
		"- model: vgpu testmodel tiny:f16, 3.0 MiB",
		"- machine: Test CPU (8 cores); GPU: NVIDIA H100 80GB HBM3",
		"| mode | load s | first prompt tok/s | prompt tok/s | decode tok/s | short ms | identity | in GPU | client's /dev/nvidia* |",
		"| native | 1.00 | 800 | 1000 | 100 | 11.0 | self-identical 4/4 | 100% | in use |",
		"| remote | 2.00 (2.00×) | 600 (0.75×) | 500 (0.50×) | 50.0 (0.50×) | 22.0 (2.00×) | **differs**: long at token 2 (5 vs 9) | 100% | hidden (5/5) |",
		"| local | — | — | — | — | — | **failed**, see below | — | in use |",
		"\n\nProblems:\n- remote: identity: long differs from native at token 2 (5 vs 9)\n- local: first request (model load): POST /api/generate: 500 | boom\n\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q\n%s", want, got)
		}
	}
	if strings.Contains(got, "All checks passed") {
		t.Error("a failing run says all checks passed")
	}
	// Every row has the header's number of cells.
	for _, l := range strings.Split(got, "\n") {
		if strings.HasPrefix(l, "| ") && strings.Count(l, " | ") != 8 {
			t.Errorf("row with %d cells: %s", strings.Count(l, " | ")+1, l)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	rep := testReport()
	rep.evaluate()
	path := filepath.Join(t.TempDir(), "r.json")
	if err := rep.writeJSON(path); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	var back map[string]any
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	modes := back["modes"].([]any)
	remote := modes[1].(map[string]any)
	if remote["ratio_to_native"].(map[string]any)["decode_tok_s"] != 0.5 || back["ok"] != false {
		t.Errorf("JSON: %s", data)
	}
}

func TestCell(t *testing.T) {
	for _, c := range []struct {
		v, r   float64
		native bool
		format string
		want   string
	}{
		{0, 1, false, "", "—"},
		{12345.6, 0.91, false, "", "12346 (0.91×)"},
		{45.67, 1.5, false, "", "45.7 (1.50×)"},
		{4.567, 0, false, "", "4.57"},
		{1.5, 1, true, "%.2f", "1.50"},
	} {
		if got := cell(c.v, c.r, c.native, c.format); got != c.want {
			t.Errorf("cell(%v, %v, %v) = %q, want %q", c.v, c.r, c.native, got, c.want)
		}
	}
}

// With --rounds, a mode's later rounds join its first: each figure is the median of every
// round's runs, the load the median of the rounds' loads, and each round's ratios are
// against native's of the same round, listed in the notes. A later round's failure fails
// the mode.
func TestRoundsPoolTheRunsAndKeepEachRoundsRatios(t *testing.T) {
	round := func(mode string, load, decode float64) *modeResult {
		return &modeResult{Mode: mode, LoadS: load, ShortMs: []float64{10}, PromptTPS: []float64{decode * 10},
			DecodeTPS: []float64{decode}, DecodeTokens: []int{128}}
	}
	first := func(r *modeResult) *modeResult {
		r.RoundLoads, r.RoundMedians = []float64{r.LoadS}, []figures{r.medians()}
		return r
	}
	// The machine slows in round 2: native and remote alike.
	native, remote := first(round("native", 1, 100)), first(round("remote", 2, 90))
	native.absorb(round("native", 3, 50), 1)
	remote.absorb(round("remote", 4, 45), 1)
	native.absorb(round("native", 2, 98), 2)
	remote.absorb(round("remote", 3, 88), 2)
	rep := &report{Settings: settings{Runs: 1, Rounds: 3}, Modes: []*modeResult{native, remote}}
	rep.evaluate()
	if native.Median.DecodeTPS != 98 || remote.Median.DecodeTPS != 88 || remote.Median.LoadS != 3 {
		t.Errorf("medians: native %+v, remote %+v", native.Median, remote.Median)
	}
	if len(remote.RoundRatios) != 3 || remote.RoundRatios[1].DecodeTPS != 0.9 {
		t.Fatalf("round ratios %+v", remote.RoundRatios)
	}
	if len(rep.Notes) != 1 || rep.Notes[0] != "remote, round by round: decode 0.90× 0.90× 0.90×; prompt 0.90× 0.90× 0.90×" {
		t.Errorf("notes %q", rep.Notes)
	}

	remote.absorb(&modeResult{Mode: "remote", Error: "first request: boom"}, 3)
	if remote.Error != "round 4: first request: boom" {
		t.Errorf("a later round's failure: %q", remote.Error)
	}
}
