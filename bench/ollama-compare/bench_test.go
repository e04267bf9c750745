package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMeasure(t *testing.T) {
	f, srv := newFake(t)
	f.delay = 20 * time.Millisecond // long enough for the parallel requests to overlap
	p := plan{runs: 3, numPredict: 8, parallel: 4, longText: filler(1200)}
	r := &modeResult{Mode: "test"}
	if err := measure(context.Background(), newClient(srv.URL, modelName), p, r, t.Logf); err != nil {
		t.Fatal(err)
	}
	if r.LoadS != 2 {
		t.Errorf("load %v s, want the first request's 2 s", r.LoadS)
	}
	if len(r.ShortMs) != 3 || len(r.PromptTPS) != 3 || len(r.DecodeTPS) != 3 {
		t.Errorf("runs: %d short, %d prompt, %d decode; want 3 each", len(r.ShortMs), len(r.PromptTPS), len(r.DecodeTPS))
	}
	if len(r.FirstTPS) != 1 {
		t.Errorf("%d first-prompt figures, want one: the first long prompt of a start is not a run", len(r.FirstTPS))
	}
	for _, v := range r.ShortMs {
		if v < 20 {
			t.Errorf("short request %v ms, faster than the server's 20 ms", v)
		}
	}
	if median(r.PromptTPS) != 1000 || median(r.DecodeTPS) != 100 {
		t.Errorf("prompt %v, decode %v tok/s; want 1000 and 100", r.PromptTPS, r.DecodeTPS)
	}
	if r.Residency == nil || r.Residency.Percent != 100 {
		t.Errorf("residency %+v", r.Residency)
	}
	for _, n := range p.identityNames() {
		if s, ok := r.Samples[n]; !ok || len(s.Context) == 0 {
			t.Errorf("identity sample %s missing", n)
		}
	}
	if f.maxIn < 2 {
		t.Errorf("the parallel requests never overlapped (at most %d in flight)", f.maxIn)
	}

	// The long prompts must defeat the prompt cache: no two share their first 3 bytes, and
	// none shares them with any other prompt sent.
	seen := map[string]string{}
	for _, pr := range f.prompts {
		if len(pr) < 1000 {
			continue
		}
		if other, ok := seen[pr[:3]]; ok && other != pr {
			t.Errorf("two long prompts start alike: %.10q and %.10q", pr, other)
		}
		seen[pr[:3]] = pr
	}
	if len(seen) != 5 { // the first, three measured, one identity
		t.Errorf("%d distinct long prompts, want 5", len(seen))
	}
}

func TestMeasureStopsAtTheFirstFailure(t *testing.T) {
	f, srv := newFake(t)
	f.failOn = "d2:" // the second decode run
	r := &modeResult{Mode: "test"}
	err := measure(context.Background(), newClient(srv.URL, modelName), plan{runs: 3, numPredict: 4, parallel: 2, longText: "x"}, r, t.Logf)
	if err == nil || !strings.Contains(err.Error(), "generation") {
		t.Fatalf("err = %v", err)
	}
	if len(r.PromptTPS) != 3 || len(r.DecodeTPS) != 1 {
		t.Errorf("kept %d prompt and %d decode figures, want 3 and 1", len(r.PromptTPS), len(r.DecodeTPS))
	}
}

func TestRepeatIdentityMatchesMeasure(t *testing.T) {
	_, srv1 := newFake(t)
	_, srv2 := newFake(t)
	p := plan{runs: 2, numPredict: 4, parallel: 3, staggers: []time.Duration{0, time.Millisecond}, longText: filler(100)}
	r := &modeResult{}
	if err := measure(context.Background(), newClient(srv1.URL, modelName), p, r, t.Logf); err != nil {
		t.Fatal(err)
	}
	again, err := repeatIdentity(context.Background(), newClient(srv2.URL, modelName), p)
	if err != nil {
		t.Fatal(err)
	}
	cs := compare(p.identityNames(), r.Samples, again, again)
	if len(cs) != 8 || len(failures(cs)) != 0 {
		t.Errorf("checks %+v", cs)
	}
	for _, c := range cs {
		if !c.Demanded {
			t.Errorf("%s not self-identical against a deterministic server", c.Name)
		}
	}
}

// Setup sizes the long prompt in tokens of the model's tokenizer, whatever its bytes per token.
func TestPrepareSizesTheLongPrompt(t *testing.T) {
	for _, perTok := range []int{1, 4} {
		f, srv := newFake(t)
		f.perTok = perTok
		gguf := filepath.Join(t.TempDir(), "m.gguf")
		os.WriteFile(gguf, []byte("GGUF"), 0o644)
		digest, _ := fileDigest(gguf)
		e := &runEnv{cfg: &config{numCtx: 4096, numPredict: 128, runs: 1, parallel: 1}, stderr: io.Discard,
			modelPath: gguf, digest: digest}
		if err := e.prepare(context.Background(), newClient(srv.URL, modelName)); err != nil {
			t.Fatal(err)
		}
		if n := len(e.plan.longText) / perTok; n < 1050 || n > 1150 {
			t.Errorf("%d bytes per token: long prompt of %d tokens, want about 1100", perTok, n)
		}
		if e.version != "0.0.0-fake" || e.ctxLen != 4096 || f.created == nil {
			t.Errorf("version %q, context %d, created %v", e.version, e.ctxLen, f.created != nil)
		}
	}
}
