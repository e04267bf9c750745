package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"vgpu/testmodel"
)

// testmodelCmd writes a GGUF model with random weights (nothing here can download real
// ones), and with --modelfile the Modelfile that `ollama create` takes.
func testmodelCmd(args []string) error {
	fs := flag.NewFlagSet("testmodel", flag.ExitOnError)
	size := fs.String("size", "tiny", "model shape: tiny, qwen0.5b or 3b (see --list)")
	typ := fs.String("type", "f16", "weight type: f16 or q8_0 (norms stay f32)")
	seed := fs.Uint64("seed", 0, "seed of the random weights; the same flags give the same bytes")
	out := fs.String("o", "", "output FILE.gguf")
	modelfile := fs.Bool("modelfile", false, "also write FILE.Modelfile for `ollama create`")
	list := fs.Bool("list", false, "list the sizes with their parameter counts and file sizes")
	fs.Parse(args)
	if *list {
		return listSizes(os.Stdout)
	}
	if *out == "" || fs.NArg() > 0 {
		return errors.New("usage: vgpu testmodel [--size tiny|qwen0.5b|3b] [--type f16|q8_0] [--seed N] [--modelfile] -o FILE.gguf")
	}
	s, err := testmodel.LookupSize(*size)
	if err != nil {
		return err
	}
	t, err := testmodel.ParseType(*typ)
	if err != nil {
		return err
	}
	o := testmodel.Options{Size: s, Type: t, Seed: *seed}
	start := time.Now()
	n, err := testmodel.Write(*out, o)
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s: %s %s seed %d, %s parameters, %s in %.1fs\n", *out, s.Name, t, *seed,
		humanCount(o.Params()), humanBytes(n), time.Since(start).Seconds())
	if *modelfile {
		mf := strings.TrimSuffix(*out, ".gguf") + ".Modelfile"
		if err := testmodel.WriteModelfile(mf, filepath.Base(*out), o); err != nil {
			return err
		}
		fmt.Printf("wrote %s\n", mf)
	}
	return nil
}

func listSizes(w io.Writer) error {
	fmt.Fprintf(w, "%-9s %6s %6s %5s %3s %5s %7s %7s %8s %10s %10s  %s\n",
		"size", "layers", "hidden", "heads", "kv", "ffn", "vocab", "context", "params", "f16", "q8_0", "shapes of")
	for _, s := range testmodel.Sizes() {
		var files [2]int64
		for i, t := range []testmodel.Type{testmodel.F16, testmodel.Q8_0} {
			n, err := testmodel.Options{Size: s, Type: t}.FileSize()
			if err != nil {
				return err
			}
			files[i] = n
		}
		p := testmodel.Options{Size: s, Type: testmodel.F16}.Params()
		fmt.Fprintf(w, "%-9s %6d %6d %5d %3d %5d %7d %7d %8s %10s %10s  %s\n",
			s.Name, s.Layers, s.Hidden, s.Heads, s.KVHeads, s.FFN, s.Vocab, s.Context,
			humanCount(p), humanBytes(files[0]), humanBytes(files[1]), s.About)
	}
	return nil
}

func humanCount(n uint64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	}
	return fmt.Sprintf("%.1fK", float64(n)/1e3)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
}
