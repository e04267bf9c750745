package main

import (
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	c, err := parseFlags([]string{"--ollama", "/opt/ollama", "--testmodel", "tiny:f16"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.modes, []string{"native", "remote"}) || c.runs != 3 || c.numPredict != 128 || c.parallel != 4 ||
		c.serverBackend != "local" || c.timeout != 10*time.Minute || c.numCtx != 4096 || !slices.Equal(c.staggers, []time.Duration{0}) {
		t.Errorf("defaults %+v", c)
	}
	if c.ollamaBin() != "/opt/ollama/bin/ollama" || !filepath.IsAbs(c.vgpuDir) {
		t.Errorf("paths %s, %s", c.ollamaBin(), c.vgpuDir)
	}
	c, err = parseFlags([]string{"--ollama=o", "--model=m.gguf", "--modes", "local, native,local", "--vgpu", "/v"}, io.Discard)
	if err != nil || !slices.Equal(c.modes, []string{"local", "native"}) || c.vgpuBin() != "/v/bin/vgpu" ||
		!filepath.IsAbs(c.model) || !filepath.IsAbs(c.ollamaDir) {
		t.Errorf("%+v, %v", c, err)
	}
	c, err = parseFlags([]string{"--ollama=o", "--model=m", "--staggers", "0, 2ms,20ms,2ms"}, io.Discard)
	if err != nil || !slices.Equal(c.staggers, []time.Duration{0, 2 * time.Millisecond, 20 * time.Millisecond}) {
		t.Errorf("staggers %v, %v", c.staggers, err)
	}
	for _, bad := range [][]string{
		{"--ollama", "o", "--model", "m", "--staggers", "5"},         // no unit
		{"--ollama", "o", "--model", "m", "--staggers", "-1ms"},      // negative
		{"--testmodel", "tiny:f16"},                                  // no --ollama
		{"--ollama", "o"},                                            // no model
		{"--ollama", "o", "--model", "m", "--testmodel", "tiny:f16"}, // both
		{"--ollama", "o", "--testmodel", "tiny"},                     // no type
		{"--ollama", "o", "--testmodel", "huge:f16"},                 // unknown size
		{"--ollama", "o", "--testmodel", "tiny:q4_0"},                // unknown type
		{"--ollama", "o", "--model", "m", "--modes", "native,gpu"},   // unknown mode
		{"--ollama", "o", "--model", "m", "--runs", "0"},             // nothing to measure
		{"--ollama", "o", "--model", "m", "extra"},                   // stray argument
	} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("%s: accepted", strings.Join(bad, " "))
		}
	}
}

// Every vgpu mode has a driver-only form (-driver): vgpu as libcuda.so.1 and NVML only.
func TestDriverOnlyModesAreAcceptedForVgpuModesOnly(t *testing.T) {
	c, err := parseFlags([]string{"--ollama=o", "--model=m", "--modes", "native,local-driver,remote-driver,remote-tcp-driver"}, io.Discard)
	if err != nil || !slices.Equal(c.modes, []string{"native", "local-driver", "remote-driver", "remote-tcp-driver"}) {
		t.Fatalf("got %v, %v", c, err)
	}
	for _, bad := range []string{"gpu-driver", "native-driver", "local-driver-driver"} {
		if _, err := parseFlags([]string{"--ollama=o", "--model=m", "--modes", bad}, io.Discard); err == nil {
			t.Fatalf("mode %s was accepted", bad)
		}
	}
}

// --transport names the paths to the server; each is measured by the same remote mode that
// --modes would name, beside native unless --modes says otherwise.
func TestTransportsSelectTheRemoteModes(t *testing.T) {
	c, err := parseFlags([]string{"--ollama=o", "--model=m", "--transport", "unix,tcp, shm-file,tls"}, io.Discard)
	if err != nil || !slices.Equal(c.modes, []string{"native", "remote", "remote-tcp", "remote-shm-file", "remote-tls"}) {
		t.Fatalf("got %v, %v", c, err)
	}
	c, err = parseFlags([]string{"--ollama=o", "--model=m", "--modes", "local", "--transport", "tcp"}, io.Discard)
	if err != nil || !slices.Equal(c.modes, []string{"local", "remote-tcp"}) {
		t.Fatalf("with --modes: got %v, %v", c, err)
	}
	c, err = parseFlags([]string{"--ollama=o", "--model=m", "--modes", "native,remote-tcp", "--transport", "tcp"}, io.Discard)
	if err != nil || !slices.Equal(c.modes, []string{"native", "remote-tcp"}) {
		t.Fatalf("a mode named twice: got %v, %v", c, err)
	}
	for _, bad := range []string{"vsock", "udp", "unix,", "remote"} {
		if _, err := parseFlags([]string{"--ollama=o", "--model=m", "--transport", bad}, io.Discard); err == nil {
			t.Errorf("transport %q was accepted", bad)
		}
	}
}
