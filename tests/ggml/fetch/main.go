// Command fetch downloads the prebuilt ggml CUDA backends from the npm registry once and
// unpacks them under tests/cache/npm/<version>/. Only Go is needed: CI machines have no npm.
// The tarballs are checked against the registry's published sha512 integrity.
package main

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

type pkg struct {
	version   string
	integrity string // sha512, as the registry publishes it
}

// @node-llama-cpp/linux-x64-cuda: 3.10.0 is a CUDA 12 build, 3.22.1 a CUDA 13 build.
var pkgs = []pkg{
	{"3.10.0", "FnTXEArNUAUkNO8x+Zd3tojvkPfIC1HlShx7x60eWm+pnBr7VFk6SWzuqllcm+GqD+Uy/5y6P7ey5Q3FnFEy0g=="},
	{"3.22.1", "8rQCjyNNLZJUFit+YpjwlC4hwkKgOMIkB2wuycKBf8NU2O3ySKbiWZQ8aw9ku2nUTXjSnUIrE6KB88itduTBuA=="},
}

var keep = map[string]bool{"libggml-base.so": true, "libggml-cuda.so": true}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: fetch CACHEDIR")
		os.Exit(2)
	}
	registry := strings.TrimSuffix(os.Getenv("npm_config_registry"), "/")
	if registry == "" {
		registry = "https://registry.npmjs.org"
	}
	for _, p := range pkgs {
		dir := filepath.Join(os.Args[1], p.version)
		if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
			continue
		}
		url := fmt.Sprintf("%s/@node-llama-cpp/linux-x64-cuda/-/linux-x64-cuda-%s.tgz", registry, p.version)
		if err := fetch(url, dir, p.integrity); err != nil {
			fmt.Fprintf(os.Stderr, "fetch %s: %v\n", url, err)
			os.Exit(1)
		}
		fmt.Printf("fetched linux-x64-cuda@%s into %s\n", p.version, dir)
	}
}

func fetch(url, dir, integrity string) error {
	client := &http.Client{Timeout: 15 * time.Minute}
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("HTTP %s", resp.Status)
	}
	tmp, err := os.CreateTemp("", "vgpu-npm-*.tgz")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	h := sha512.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), resp.Body); err != nil {
		return err
	}
	if got := base64.StdEncoding.EncodeToString(h.Sum(nil)); got != integrity {
		return fmt.Errorf("integrity mismatch: got sha512-%s", got)
	}
	if _, err := tmp.Seek(0, 0); err != nil {
		return err
	}
	gz, err := gzip.NewReader(tmp)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tr := tar.NewReader(gz)
	found := 0
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		base := filepath.Base(hdr.Name)
		if !keep[base] || hdr.Typeflag != tar.TypeReg {
			continue
		}
		f, err := os.OpenFile(filepath.Join(dir, base), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, tr); err != nil {
			f.Close()
			return err
		}
		f.Close()
		found++
	}
	if found != len(keep) {
		return fmt.Errorf("package holds %d of the %d libraries", found, len(keep))
	}
	return os.WriteFile(filepath.Join(dir, ".complete"), nil, 0o644)
}
