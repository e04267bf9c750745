package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestGenerateParsesTheResponse(t *testing.T) {
	_, srv := newFake(t)
	c := newClient(srv.URL, modelName)
	g, err := c.generate(context.Background(), "abc", 4)
	if err != nil {
		t.Fatal(err)
	}
	if g.Response != "xxxx" || g.EvalCount != 4 || g.PromptEvalCount != 3 || g.LoadDuration != 2e9 {
		t.Errorf("parsed %+v", g)
	}
	if len(g.Context) != 7 || g.Context[0] != 'a' {
		t.Errorf("context %v", g.Context)
	}
	if g.promptRate() != 1000 || g.decodeRate() != 100 {
		t.Errorf("rates %v %v, want 1000 and 100", g.promptRate(), g.decodeRate())
	}
	if g.WallNs <= 0 {
		t.Errorf("no wall clock")
	}
	// A second request finds the model loaded.
	if g, _ := c.generate(context.Background(), "abc", 1); g.LoadDuration != 0 {
		t.Errorf("second load_duration %d", g.LoadDuration)
	}
}

func TestErrorsCarryOllamasMessage(t *testing.T) {
	f, srv := newFake(t)
	f.failOn = "boom"
	c := newClient(srv.URL, modelName)
	_, err := c.generate(context.Background(), "boom now", 1)
	if err == nil || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "llama runner process has terminated") {
		t.Errorf("error = %v", err)
	}
	if err := c.call(context.Background(), "GET", "/api/nothing", nil, nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("404 error = %v", err)
	}
}

func TestTimeout(t *testing.T) {
	f, srv := newFake(t)
	f.delay = 300 * time.Millisecond
	c := newClient(srv.URL, modelName)
	c.timeout = 20 * time.Millisecond
	if _, err := c.generate(context.Background(), "slow", 1); err == nil {
		t.Error("a request past the timeout succeeded")
	}
}

func TestLoadedFindsTheModel(t *testing.T) {
	f, srv := newFake(t)
	c := newClient(srv.URL, modelName)
	if _, err := c.loaded(context.Background()); err == nil {
		t.Error("found a model before any was loaded")
	}
	f.loaded = true
	m, err := c.loaded(context.Background()) // listed as vgpu-bench:latest
	if err != nil || m.Size != 1000 || m.SizeVRAM != 1000 || m.ContextLength != 4096 {
		t.Errorf("loaded = %+v, %v", m, err)
	}
}

func TestCreateUploadsOnceAndNamesTheBlob(t *testing.T) {
	f, srv := newFake(t)
	gguf := filepath.Join(t.TempDir(), "m.gguf")
	os.WriteFile(gguf, []byte("GGUF fake model"), 0o644)
	digest, err := fileDigest(gguf)
	if err != nil || !strings.HasPrefix(digest, "sha256:") || len(digest) != 7+64 {
		t.Fatalf("digest %q, %v", digest, err)
	}
	c := newClient(srv.URL, modelName)
	for range 2 { // the second time the blob exists: HEAD finds it
		if err := c.create(context.Background(), gguf, digest); err != nil {
			t.Fatal(err)
		}
	}
	if string(f.blobs[digest]) != "GGUF fake model" {
		t.Errorf("blob not uploaded intact")
	}
	files, _ := f.created["files"].(map[string]any)
	if f.created["model"] != modelName || files["m.gguf"] != digest || f.created["template"] != "{{ .Prompt }}" {
		t.Errorf("create request %v", f.created)
	}
}

func TestWaitReady(t *testing.T) {
	_, srv := newFake(t)
	if err := newClient(srv.URL, modelName).waitReady(context.Background(), nil); err != nil {
		t.Errorf("waitReady on a live server: %v", err)
	}
	// Nothing listens here; the process "exited": waitReady must not wait for its timeout.
	exited := make(chan struct{})
	close(exited)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	err := newClient("http://127.0.0.1:1", modelName).waitReady(ctx, exited)
	if err == nil || !strings.Contains(err.Error(), "exited") || time.Since(start) > 5*time.Second {
		t.Errorf("waitReady on a dead server: %v after %v", err, time.Since(start))
	}
}
