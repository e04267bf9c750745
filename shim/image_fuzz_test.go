package shim

import (
	"testing"
	"time"
)

// FuzzImageKernels reads arbitrary images as a hostile client may send them: the reader
// never panics, answers in bounded time, and decodes no entry past its ratio or the cap.
func FuzzImageKernels(f *testing.F) {
	c := libraryCubin()
	ptx := []byte(".version 8.4\n.target sm_90\n.visible .entry scale(\n.param .u64 p\n)\n{ ret; }\n.entry\tcount(){ ret; }\n")
	f.Add(c)
	f.Add(ptx)
	f.Add(testFatbin(testEntry{2, 0, c, len(c)}))
	f.Add(testFatbin(testEntry{2, fatbinEntryLZ4, lz4Literals(c), len(c)}))
	f.Add(testFatbin(testEntry{2, fatbinEntryZstd, zstdRaw(c, 100), len(c)}))
	f.Add(testFatbin(testEntry{1, fatbinEntryLZ4, lz4Literals(ptx), len(ptx)}, testEntry{2, fatbinEntryZstd, zstdRLE(4096), 4096}))
	f.Add(testFatbin(testEntry{2, fatbinEntryLZ4, lz4Run(2000), 2000}))
	f.Add(append(testFatbin(testEntry{1, 0, ptx, len(ptx)}), testFatbin(testEntry{2, 0, c, len(c)})...))
	f.Add(overlappingCubin(4, 16))
	f.Fuzz(func(t *testing.T, image []byte) {
		start := time.Now()
		ImageKernels(image)
		FatbinPayloads(image, func(_ uint16, p []byte, ok bool) {
			if ok && (len(p) > maxInflated || uint64(len(p)) > maxInflateRatio*uint64(len(image))) {
				t.Fatalf("an entry of a %d-byte image inflated to %d bytes", len(image), len(p))
			}
		})
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("a %d-byte image took %v", len(image), d)
		}
	})
}
