package testmodel

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
)

// chunkElems is how many values one job generates: large enough that the goroutine
// hand-offs cost nothing, small enough that a few per worker in flight stay in tens of MB.
// A multiple of the Q8_0 block. It does not affect the bytes.
const chunkElems = 1 << 20

// Write writes the model to path atomically: into a temporary file in the same directory,
// synced, then renamed, so a reader never sees half a model.
func Write(path string, o Options) (int64, error) {
	return writeAtomic(path, func(w io.Writer) (int64, error) { return WriteTo(w, o) })
}

// WriteModelfile writes Modelfile(gguf, o) to path, atomically like Write.
func WriteModelfile(path, gguf string, o Options) error {
	_, err := writeAtomic(path, func(w io.Writer) (int64, error) {
		n, err := io.WriteString(w, Modelfile(gguf, o))
		return int64(n), err
	})
	return err
}

// writeAtomic has fill write the file's bytes into a temporary file beside path, syncs it
// and renames it to path.
func writeAtomic(path string, fill func(io.Writer) (int64, error)) (n int64, err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return 0, fmt.Errorf("creating %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if n, err = fill(f); err != nil {
		return n, err
	}
	if err = f.Chmod(0o644); err != nil {
		return n, err
	}
	if err = f.Sync(); err != nil {
		return n, err
	}
	if err = f.Close(); err != nil {
		return n, err
	}
	return n, os.Rename(f.Name(), path)
}

// WriteTo streams the model to w and returns the bytes written.
func WriteTo(w io.Writer, o Options) (int64, error) {
	hdr, ts, err := o.header()
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(w, 8<<20)
	cw := &countWriter{w: bw}
	if _, err := cw.Write(hdr); err != nil {
		return cw.n, err
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if err := writeData(cw, ts, o.Seed, workers); err != nil {
		return cw.n, err
	}
	return cw.n, bw.Flush()
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

type job struct {
	t        *Tensor
	start, n int64 // elements
	last     bool  // the tensor's last chunk: padding follows
	done     chan []byte
}

// writeData generates the tensors' bytes on workers goroutines and writes them in order.
// Jobs go to the workers and, in the same order, to the writer, which waits for each in
// turn; the bounded queue keeps memory flat however large the model.
func writeData(w io.Writer, ts []Tensor, seed uint64, workers int) error {
	jobs := make(chan *job)
	queue := make(chan *job, 4*workers)
	quit := make(chan struct{})
	free := make(chan []byte, 6*workers) // finished buffers, reused rather than collected

	go func() { // producer
		defer close(jobs)
		defer close(queue)
		for i := range ts {
			t := &ts[i]
			n := int64(t.Elements())
			for start := int64(0); start < n; start += chunkElems {
				j := &job{t: t, start: start, n: min(chunkElems, n-start),
					last: start+chunkElems >= n, done: make(chan []byte, 1)}
				select {
				case queue <- j:
				case <-quit:
					return
				}
				select {
				case jobs <- j:
				case <-quit:
					j.done <- nil // queued but never generated: the writer drains it
					return
				}
			}
		}
	}()

	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vals := make([]float32, chunkElems)
			f := &filler{seed: seed}
			for j := range jobs {
				size := j.t.Type.rowBytes(j.n)
				var buf []byte
				select {
				case buf = <-free:
				default:
					buf = make([]byte, 0, 4*chunkElems)
				}
				buf = buf[:size]
				v := vals[:j.n]
				f.fill(v, j.t, j.start)
				switch j.t.Type {
				case F32:
					encodeF32(buf, v)
				case F16:
					encodeF16(buf, v)
				case Q8_0:
					quantizeQ8_0(buf, v)
				}
				j.done <- buf
			}
		}()
	}

	var zeros [Alignment]byte
	var err error
	for j := range queue {
		buf := <-j.done
		if err == nil {
			_, err = w.Write(buf)
		}
		select {
		case free <- buf:
		default:
		}
		if err == nil && j.last {
			_, err = w.Write(zeros[:pad(j.t.Bytes, Alignment)-j.t.Bytes])
		}
		if err != nil {
			break
		}
	}
	if err != nil {
		close(quit)
		for j := range queue { // let workers finish what is in flight
			<-j.done
		}
	}
	wg.Wait()
	if err != nil {
		return fmt.Errorf("writing tensor data: %w", err)
	}
	return nil
}
