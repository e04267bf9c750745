package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// The requests every mode runs, in the same order, so that modes differ only in what is
// under Ollama.
const (
	shortPrompt  = "What is 2+3? Answer:"
	shortPredict = 16
	decodePrompt = "Once upon a time"
)

// plan is the workload of one mode.
type plan struct {
	runs       int
	numPredict int
	parallel   int
	// staggers: the concurrent requests are sent once for each, request i leaving i×stagger
	// after the first. Ollama batches them by arrival, so each stagger is another batching,
	// and a mode's result can be looked for among native's under every one.
	staggers []time.Duration
	longText string // ≥ 1000 tokens, sized in the setup phase
}

// identityNames are the identity samples in the order a mode takes them.
func (p plan) identityNames() []string {
	names := []string{"short", "long"}
	for _, st := range p.staggerList() {
		for i := range p.parallel {
			names = append(names, parallelName(i, st))
		}
	}
	return names
}

func (p plan) staggerList() []time.Duration {
	if len(p.staggers) == 0 {
		return []time.Duration{0}
	}
	return p.staggers
}

// parallelName is the sample name of concurrent request i, counted from 0, sent stagger
// after the one before it.
func parallelName(i int, stagger time.Duration) string {
	if stagger == 0 {
		return fmt.Sprintf("parallel-%d", i+1)
	}
	return fmt.Sprintf("parallel-%d+%v", i+1, stagger)
}

// requestOf is the concurrent request a sample name is of ("parallel-2+5ms": "parallel-2"),
// so that a sample can be compared with native's of the same request under other batchings.
func requestOf(name string) string {
	r, _, _ := strings.Cut(name, "+")
	return r
}

// modeResult is everything measured in one mode; the JSON report carries it as it is.
type modeResult struct {
	Mode  string `json:"mode"`
	Error string `json:"error,omitempty"`

	LoadS        float64   `json:"load_s"`             // load_duration of the first request
	ShortMs      []float64 `json:"short_ms"`           // wall clock of each short request
	FirstTPS     []float64 `json:"first_prompt_tok_s"` // the first long prompt of each start, kept out of PromptTPS
	PromptTPS    []float64 `json:"prompt_tok_s"`       // prompt_eval_count / prompt_eval_duration
	PromptTokens []int     `json:"prompt_tokens"`      // prompt_eval_count of each long prompt
	DecodeTPS    []float64 `json:"decode_tok_s"`       // eval_count / eval_duration
	DecodeTokens []int     `json:"decode_tokens"`      // eval_count of each generation
	Median       figures   `json:"median"`             // filled in by the report
	Ratio        figures   `json:"ratio_to_native"`    // the same, over native's

	// With --rounds: each round's load and medians, and (filled in by the report) its
	// ratios to native's of the same round.
	RoundLoads   []float64 `json:"round_load_s,omitempty"`
	RoundMedians []figures `json:"round_medians,omitempty"`
	RoundRatios  []figures `json:"round_ratios,omitempty"`

	Residency *residency        `json:"residency,omitempty"`
	Hidden    *hidden           `json:"hidden_gpu,omitempty"`
	Samples   map[string]sample `json:"samples,omitempty"`
	Identity  []check           `json:"identity,omitempty"`
	Responses []genResponse     `json:"responses,omitempty"` // every response, in order

	Logs     map[string]string `json:"logs,omitempty"`         // name → path
	LogTails map[string]string `json:"log_tails,omitempty"`    // on failure
	Metrics  string            `json:"vgpu_metrics,omitempty"` // path of the scraped /metrics
}

// figures are one mode's medians, or its ratios to native; 0 is "not measured".
type figures struct {
	LoadS     float64 `json:"load_s"`
	FirstTPS  float64 `json:"first_prompt_tok_s"`
	PromptTPS float64 `json:"prompt_tok_s"`
	DecodeTPS float64 `json:"decode_tok_s"`
	ShortMs   float64 `json:"short_ms"`
}

// residency is how much of the loaded model /api/ps puts in GPU memory.
type residency struct {
	Size     int64   `json:"size"`
	SizeVRAM int64   `json:"size_vram"`
	Percent  float64 `json:"percent"`
}

// hidden records the proof that a client could not open the GPU: the NVIDIA nodes the host
// has, and how many of them were mounted over in the client's mount namespace.
type hidden struct {
	HostNodes int `json:"host_nodes"`
	Covered   int `json:"covered"`
}

// measure runs the workload against a freshly started server. It stops at the first failure
// and keeps what it measured up to it; logf reports progress.
func measure(ctx context.Context, c *client, p plan, r *modeResult, logf func(string, ...any)) error {
	r.Samples = map[string]sample{}
	gen := func(prompt string, n int) (genResponse, error) {
		g, err := c.generate(ctx, prompt, n)
		if err == nil {
			r.Responses = append(r.Responses, g)
		}
		return g, err
	}

	// The first request loads the model: its load_duration is the cold load in this process,
	// and its output is the "short" identity sample, taken before any prompt cache exists.
	g, err := gen(shortPrompt, shortPredict)
	if err != nil {
		return fmt.Errorf("first request (model load): %w", err)
	}
	r.LoadS = float64(g.LoadDuration) / 1e9
	r.Samples["short"] = sampleOf(g)
	logf("model loaded in %.2f s", r.LoadS)

	m, err := c.loaded(ctx)
	if err != nil {
		return err
	}
	r.Residency = &residency{Size: m.Size, SizeVRAM: m.SizeVRAM}
	if m.Size > 0 {
		r.Residency.Percent = 100 * float64(m.SizeVRAM) / float64(m.Size)
	}
	logf("%.0f%% of %d MiB in GPU memory", r.Residency.Percent, m.Size>>20)

	for i := 0; i < p.runs; i++ {
		g, err := gen(shortPrompt, shortPredict)
		if err != nil {
			return fmt.Errorf("short request: %w", err)
		}
		r.ShortMs = append(r.ShortMs, float64(g.WallNs)/1e6)
	}
	logf("short request %.1f ms", median(r.ShortMs))

	// A different first token each run: Ollama reuses a cached prompt prefix, and a shared
	// prefix would let it skip the very work measured here. The first long prompt of a
	// start is its own figure: it pays one-time work, native or not (kernels loaded on first
	// use, memory pools grown to a long batch's size; GPU timelines in BENCHMARKS.md), and
	// native's own first prompt moves by 15% between starts; prompt eval is the runs after it.
	g, err = gen("w: "+p.longText, 1)
	if err != nil {
		return fmt.Errorf("first long prompt: %w", err)
	}
	r.FirstTPS = append(r.FirstTPS, g.promptRate())
	for i := 0; i < p.runs; i++ {
		g, err := gen(fmt.Sprintf("r%d: %s", i+1, p.longText), 1)
		if err != nil {
			return fmt.Errorf("long prompt: %w", err)
		}
		r.PromptTPS = append(r.PromptTPS, g.promptRate())
		r.PromptTokens = append(r.PromptTokens, g.PromptEvalCount)
	}
	logf("prompt eval %.1f tok/s (%v tokens)", median(r.PromptTPS), r.PromptTokens)

	for i := 0; i < p.runs; i++ {
		g, err := gen(fmt.Sprintf("d%d: %s", i+1, decodePrompt), p.numPredict)
		if err != nil {
			return fmt.Errorf("generation: %w", err)
		}
		r.DecodeTPS = append(r.DecodeTPS, g.decodeRate())
		r.DecodeTokens = append(r.DecodeTokens, g.EvalCount)
	}
	logf("decode %.1f tok/s (%v tokens)", median(r.DecodeTPS), r.DecodeTokens)

	return identityRest(ctx, c, p, r.Samples)
}

// identityRest takes the identity samples after "short": the long prompt, then the parallel
// requests, all at once. Their prompts share no prefix with anything sent before, so no
// mode's result depends on what its prompt cache held.
func identityRest(ctx context.Context, c *client, p plan, into map[string]sample) error {
	g, err := c.generate(ctx, "id: "+p.longText, p.numPredict)
	if err != nil {
		return fmt.Errorf("long identity request: %w", err)
	}
	into["long"] = sampleOf(g)

	for _, st := range p.staggerList() {
		if err := concurrent(ctx, c, p.parallel, st, p.numPredict, into); err != nil {
			return err
		}
	}
	return nil
}

// concurrent sends n requests, request i leaving i×stagger after the first, and files each
// sample under its name.
func concurrent(ctx context.Context, c *client, n int, stagger time.Duration, numPredict int, into map[string]sample) error {
	out := make([]sample, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * stagger)
			g, err := c.generate(ctx, fmt.Sprintf("p%d: Write a story about the number %d.", i+1, i+1), numPredict)
			out[i], errs[i] = sampleOf(g), err
			if err != nil {
				out[i].Err = err.Error()
			}
		}()
	}
	wg.Wait()
	for i, s := range out {
		into[parallelName(i, stagger)] = s
	}
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("parallel requests (stagger %v): %w", stagger, err)
		}
	}
	return nil
}

// repeatIdentity is native's second pass, in a process of its own: the same identity
// requests in the same order, so that a difference can only come from nondeterminism.
func repeatIdentity(ctx context.Context, c *client, p plan) (map[string]sample, error) {
	got := map[string]sample{}
	g, err := c.generate(ctx, shortPrompt, shortPredict)
	if err != nil {
		return got, fmt.Errorf("first request (model load): %w", err)
	}
	got["short"] = sampleOf(g)
	return got, identityRest(ctx, c, p, got)
}

func sampleOf(g genResponse) sample { return sample{Context: g.Context, Text: g.Response} }

// filler is n bytes of plain English-like text, the same every time: the long prompt. Words
// rather than random bytes, so that a real tokenizer sees ordinary text.
func filler(n int) string {
	words := strings.Fields(`the of and to in is was that for on with as by at from his her
		they this have are one had not but what all were when we there can an your which their
		said if do will each about how up out them then she many some so these would other into
		has more two like him see time could no make than first been its who now people my made
		over did down only way find use may water long little very after words called just where`)
	var b strings.Builder
	x := uint32(2463534242) // xorshift: a fixed, dependency-free sequence
	for i := 0; b.Len() < n; i++ {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		if i > 0 {
			if i%11 == 0 {
				b.WriteString(". ")
			} else {
				b.WriteByte(' ')
			}
		}
		b.WriteString(words[x%uint32(len(words))])
	}
	return b.String()[:n]
}

// medians are r's figures as measured so far (one round's, before absorb).
func (r *modeResult) medians() figures {
	return figures{LoadS: r.LoadS, FirstTPS: median(r.FirstTPS), PromptTPS: median(r.PromptTPS), DecodeTPS: median(r.DecodeTPS), ShortMs: median(r.ShortMs)}
}

// absorb adds a later round o of the same mode to r: its runs join r's, its load and medians
// are kept as its round's, and its failure, if r had none, becomes r's. The identity samples
// stay the first round's.
func (r *modeResult) absorb(o *modeResult, round int) {
	r.ShortMs = append(r.ShortMs, o.ShortMs...)
	r.FirstTPS = append(r.FirstTPS, o.FirstTPS...)
	r.PromptTPS = append(r.PromptTPS, o.PromptTPS...)
	r.PromptTokens = append(r.PromptTokens, o.PromptTokens...)
	r.DecodeTPS = append(r.DecodeTPS, o.DecodeTPS...)
	r.DecodeTokens = append(r.DecodeTokens, o.DecodeTokens...)
	r.RoundLoads = append(r.RoundLoads, o.LoadS)
	r.RoundMedians = append(r.RoundMedians, o.medians())
	if r.Error == "" && o.Error != "" {
		r.Error = fmt.Sprintf("round %d: %s", round+1, o.Error)
	}
}
