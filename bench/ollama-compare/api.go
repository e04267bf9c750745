package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"vgpu/ollama"
)

// client speaks the few endpoints of Ollama's HTTP API that the benchmark needs.
type client struct {
	base  string // http://127.0.0.1:PORT
	model string // the model every request names
	http  *http.Client
	// timeout bounds each request; a server stuck in a model load must not hang the run.
	timeout time.Duration
}

func newClient(base, model string) *client {
	return &client{base: strings.TrimRight(base, "/"), model: model, http: &http.Client{}}
}

// genResponse is the final object of a non-streamed /api/generate; durations are in ns.
type genResponse struct {
	Response           string `json:"response"`
	Done               bool   `json:"done"`
	DoneReason         string `json:"done_reason,omitempty"`
	Context            []int  `json:"context,omitempty"`
	TotalDuration      int64  `json:"total_duration"`
	LoadDuration       int64  `json:"load_duration"`
	PromptEvalCount    int    `json:"prompt_eval_count"`
	PromptEvalDuration int64  `json:"prompt_eval_duration"`
	EvalCount          int    `json:"eval_count"`
	EvalDuration       int64  `json:"eval_duration"`
	// WallNs is the driver's own clock around the request, not Ollama's.
	WallNs int64 `json:"wall_ns"`
}

func (r genResponse) promptRate() float64 { return rate(r.PromptEvalCount, r.PromptEvalDuration) }
func (r genResponse) decodeRate() float64 { return rate(r.EvalCount, r.EvalDuration) }

// generate runs one completion. Not raw: Ollama 0.17 returns no `context` for raw requests,
// and the model is created with the template {{ .Prompt }}, so the model sees the prompt
// byte for byte either way. temperature 0 and a fixed seed make the output a function of the
// arithmetic alone, which is what the identity check compares.
func (c *client) generate(ctx context.Context, prompt string, numPredict int) (genResponse, error) {
	req := map[string]any{
		"model":      c.model,
		"prompt":     prompt,
		"stream":     false,
		"keep_alive": "1h", // the model stays loaded across every measurement of a mode
		"options":    map[string]any{"temperature": 0, "seed": 42, "num_predict": numPredict},
	}
	var r genResponse
	start := time.Now()
	err := c.call(ctx, http.MethodPost, "/api/generate", req, &r)
	r.WallNs = time.Since(start).Nanoseconds()
	if err == nil && !r.Done {
		err = errors.New("POST /api/generate: response not done")
	}
	return r, err
}

// psModel is one loaded model as GET /api/ps lists it.
type psModel struct {
	Name          string `json:"name"`
	Model         string `json:"model"`
	Size          int64  `json:"size"`
	SizeVRAM      int64  `json:"size_vram"`
	ContextLength int    `json:"context_length"`
}

// loaded is the benchmark's model as /api/ps reports it.
func (c *client) loaded(ctx context.Context) (psModel, error) {
	var r struct {
		Models []psModel `json:"models"`
	}
	if err := c.call(ctx, http.MethodGet, "/api/ps", nil, &r); err != nil {
		return psModel{}, err
	}
	for _, m := range r.Models {
		if m.Name == c.model || m.Model == c.model || strings.TrimSuffix(m.Name, ":latest") == c.model {
			return m, nil
		}
	}
	return psModel{}, fmt.Errorf("GET /api/ps: %s is not loaded", c.model)
}

func (c *client) version(ctx context.Context) (string, error) {
	var r struct {
		Version string `json:"version"`
	}
	err := c.call(ctx, http.MethodGet, "/api/version", nil, &r)
	return r.Version, err
}

// waitReady polls the server until it answers, it exits (exited closes), or ctx ends.
func (c *client) waitReady(ctx context.Context, exited <-chan struct{}) error {
	for {
		short, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := c.version(short)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("server at %s did not answer: %w", c.base, ctx.Err())
		case <-exited:
			return fmt.Errorf("server at %s exited before answering", c.base)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// create uploads the GGUF as a blob and creates the model from it, as `ollama create` with
// a Modelfile of FROM, TEMPLATE {{ .Prompt }} and PARAMETER temperature 0 would.
func (c *client) create(ctx context.Context, gguf, digest string) error {
	blob := "/api/blobs/" + digest
	if err := c.call(ctx, http.MethodHead, blob, nil, nil); err != nil {
		f, err := os.Open(gguf)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := c.call(ctx, http.MethodPost, blob, f, nil); err != nil {
			return err
		}
	}
	req := map[string]any{
		"model":      c.model,
		"files":      map[string]string{filepath.Base(gguf): digest},
		"template":   "{{ .Prompt }}",
		"parameters": map[string]any{"temperature": 0},
		"stream":     false,
	}
	var r struct {
		Status string `json:"status"`
	}
	if err := c.call(ctx, http.MethodPost, "/api/create", req, &r); err != nil {
		return err
	}
	if r.Status != "success" {
		return fmt.Errorf("POST /api/create: status %q", r.Status)
	}
	return nil
}

// fileDigest is the file's "sha256:<hex>", the name Ollama gives blobs.
func fileDigest(path string) (string, error) {
	h, err := ollama.FileSHA256(path)
	return "sha256:" + h, err
}

// call sends body (JSON-encoded, or streamed when it is an io.Reader) and decodes a JSON
// answer into out. Ollama reports failures as {"error": "..."} with a non-2xx status.
func (c *client) call(ctx context.Context, method, path string, body, out any) error {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case io.Reader:
		rd = b
	default:
		js, err := json.Marshal(b)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if f, ok := body.(*os.File); ok {
		if st, err := f.Stat(); err == nil {
			req.ContentLength = st.Size()
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, e.Error)
		}
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	return nil
}
