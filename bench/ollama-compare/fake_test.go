package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeOllama imitates the endpoints the benchmark uses, closely enough to test it: a
// byte-level "tokenizer", an output that is a function of the prompt, fixed timings.
type fakeOllama struct {
	t *testing.T

	mu       sync.Mutex
	blobs    map[string][]byte
	created  map[string]any // the last /api/create request
	prompts  []string       // every /api/generate prompt, in arrival order
	loaded   bool
	inFlight int
	maxIn    int
	failOn   string // a prompt prefix that gets a 500 with Ollama's error object
	vram     int64  // size_vram of the loaded model
	delay    time.Duration
	perTok   int // bytes per token of the fake tokenizer; 1 when 0
}

func newFake(t *testing.T) (*fakeOllama, *httptest.Server) {
	f := &fakeOllama{t: t, blobs: map[string][]byte{}, vram: 1000}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeOllama) serve(w http.ResponseWriter, r *http.Request) {
	fail := func(code int, msg string) {
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]string{"error": msg})
	}
	switch {
	case r.URL.Path == "/api/version":
		json.NewEncoder(w).Encode(map[string]string{"version": "0.0.0-fake"})
	case strings.HasPrefix(r.URL.Path, "/api/blobs/"):
		digest := strings.TrimPrefix(r.URL.Path, "/api/blobs/")
		f.mu.Lock()
		defer f.mu.Unlock()
		if r.Method == http.MethodHead {
			if _, ok := f.blobs[digest]; !ok {
				w.WriteHeader(http.StatusNotFound)
			}
			return
		}
		data, _ := io.ReadAll(r.Body)
		sum := sha256.Sum256(data)
		if "sha256:"+hex.EncodeToString(sum[:]) != digest {
			fail(http.StatusBadRequest, "digest mismatch")
			return
		}
		f.blobs[digest] = data
		w.WriteHeader(http.StatusCreated)
	case r.URL.Path == "/api/create":
		var req map[string]any
		json.NewDecoder(r.Body).Decode(&req)
		f.mu.Lock()
		f.created = req
		f.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]string{"status": "success"})
	case r.URL.Path == "/api/ps":
		f.mu.Lock()
		defer f.mu.Unlock()
		models := []psModel{}
		if f.loaded {
			models = append(models, psModel{Name: "vgpu-bench:latest", Model: "vgpu-bench:latest", Size: 1000,
				SizeVRAM: f.vram, ContextLength: 4096})
		}
		json.NewEncoder(w).Encode(map[string]any{"models": models})
	case r.URL.Path == "/api/generate":
		f.generate(w, r, fail)
	default:
		fail(http.StatusNotFound, "404 page not found")
	}
}

func (f *fakeOllama) generate(w http.ResponseWriter, r *http.Request, fail func(int, string)) {
	var req struct {
		Model   string         `json:"model"`
		Prompt  string         `json:"prompt"`
		Stream  *bool          `json:"stream"`
		Options map[string]any `json:"options"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Stream == nil || *req.Stream {
		fail(http.StatusBadRequest, "want a non-streamed request")
		return
	}
	f.mu.Lock()
	f.prompts = append(f.prompts, req.Prompt)
	first := !f.loaded
	f.loaded = true
	f.inFlight++
	f.maxIn = max(f.maxIn, f.inFlight)
	failOn := f.failOn
	f.mu.Unlock()
	defer func() { f.mu.Lock(); f.inFlight--; f.mu.Unlock() }()
	time.Sleep(f.delay)
	if failOn != "" && strings.HasPrefix(req.Prompt, failOn) {
		fail(http.StatusInternalServerError, "llama runner process has terminated")
		return
	}
	n := int(req.Options["num_predict"].(float64))
	out := strings.Repeat("x", n)
	var ctx []int
	for _, b := range []byte(req.Prompt + out) {
		ctx = append(ctx, int(b))
	}
	resp := genResponse{
		Response: out, Done: true, Context: ctx,
		PromptEvalCount: len(req.Prompt) / max(f.perTok, 1), PromptEvalDuration: int64(len(req.Prompt)/max(f.perTok, 1)) * 1e6, // 1000 tok/s
		EvalCount: n, EvalDuration: int64(n) * 1e7, // 100 tok/s
	}
	if first {
		resp.LoadDuration = 2e9
	}
	json.NewEncoder(w).Encode(resp)
}
