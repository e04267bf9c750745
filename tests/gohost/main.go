// Command gohost proves that vgpu's Go runtime is safe inside a Go host program, as it must
// be inside Ollama: it dlopens the library by its NVIDIA names, calls it from 8 goroutines
// while both runtimes collect garbage, then does the same in a child process that gets the
// library through LD_PRELOAD instead.
//
// usage: gohost LIBDIR
package main

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

typedef int (*get_count_fn)(int *);
typedef int (*malloc_fn)(void **, size_t);
typedef int (*free_fn)(void *);
typedef int (*memcpy_fn)(void *, const void *, size_t, int);
typedef int (*meminfo_fn)(size_t *, size_t *);
typedef int (*nvml_init_fn)(void);
typedef int (*nvml_count_fn)(unsigned *);

static void *rt, *ml;
static int bind(const char *rtpath, const char *mlpath, char *err, int n) {
	rt = dlopen(rtpath, RTLD_NOW);
	ml = dlopen(mlpath, RTLD_NOW);
	if (!rt || !ml) { strncpy(err, dlerror(), n - 1); return -1; }
	return 0;
}
static int device_count(void) { int n = -1; ((get_count_fn)dlsym(rt, "cudaGetDeviceCount"))(&n); return n; }
static unsigned nvml_count(void) {
	unsigned n = 0;
	((nvml_init_fn)dlsym(ml, "nvmlInit_v2"))();
	((nvml_count_fn)dlsym(ml, "nvmlDeviceGetCount_v2"))(&n);
	return n;
}
// round_trip allocates n bytes on the device, copies buf there and back, and frees.
static int round_trip(unsigned char *buf, size_t n, unsigned char *back) {
	void *d = NULL;
	int r = ((malloc_fn)dlsym(rt, "cudaMalloc"))(&d, n);
	if (r) return r;
	if ((r = ((memcpy_fn)dlsym(rt, "cudaMemcpy"))(d, buf, n, 1))) return r;
	if ((r = ((memcpy_fn)dlsym(rt, "cudaMemcpy"))(back, d, n, 2))) return r;
	return ((free_fn)dlsym(rt, "cudaFree"))(d);
}
static size_t free_mem(void) { size_t f = 0, t = 0; ((meminfo_fn)dlsym(rt, "cudaMemGetInfo"))(&f, &t); return f; }
*/
import "C"

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"unsafe"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gohost LIBDIR")
		os.Exit(2)
	}
	dir, _ := filepath.Abs(os.Args[1])
	child := os.Getenv("VGPU_GOHOST_CHILD") == "1"
	rtName, mlName := filepath.Join(dir, "libcudart.so.13"), filepath.Join(dir, "libnvidia-ml.so.1")
	if child {
		// Only the preloaded file is reachable, under its soname; it serves every API.
		rtName, mlName = "libcuda.so.1", "libcuda.so.1"
	}
	var errbuf [512]C.char
	crt, cml := C.CString(rtName), C.CString(mlName)
	if C.bind(crt, cml, &errbuf[0], 512) != 0 {
		fail("dlopen: %s", C.GoString(&errbuf[0]))
	}
	if n := C.device_count(); n != 1 {
		fail("cudaGetDeviceCount = %d, want 1", n)
	}
	if n := C.nvml_count(); n != 1 {
		fail("nvmlDeviceGetCount = %d, want 1", n)
	}
	before := C.free_mem()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				n := 4096 + (g*300+i)%65536
				buf := bytes.Repeat([]byte{byte(g + i)}, n)
				back := make([]byte, n)
				cb, cback := C.CBytes(buf), C.malloc(C.size_t(n))
				r := C.round_trip((*C.uchar)(cb), C.size_t(n), (*C.uchar)(cback))
				copy(back, C.GoBytes(cback, C.int(n)))
				C.free(cb)
				C.free(cback)
				if r != 0 || !bytes.Equal(buf, back) {
					errs <- fmt.Errorf("goroutine %d round %d: cuda error %d or bytes differ", g, i, r)
					return
				}
				_ = make([]byte, 1<<16) // keep this runtime's collector busy
				if i%50 == 0 {
					runtime.GC()
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		fail("%v", err)
	}
	if after := C.free_mem(); after != before {
		fail("device memory leaked: free %d before, %d after", before, after)
	}
	C.free(unsafe.Pointer(crt))
	C.free(unsafe.Pointer(cml))
	mode := "dlopen by path"
	if child {
		mode = "LD_PRELOAD in a child process"
	}
	fmt.Printf("gohost: 8 goroutines x 300 round trips with GC on both runtimes: PASS (%s)\n", mode)
	if child {
		return
	}
	exe, _ := os.Executable()
	cmd := exec.Command(exe, dir)
	cmd.Env = append(os.Environ(), "VGPU_GOHOST_CHILD=1", "LD_PRELOAD="+filepath.Join(dir, "libvgpu.so"), "LD_LIBRARY_PATH=")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fail("child process: %v", err)
	}
}

func fail(f string, a ...any) {
	fmt.Printf("gohost: FAIL "+f+"\n", a...)
	os.Exit(1)
}
