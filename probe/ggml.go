package probe

/*
#include <stdlib.h>
#include "calls.h"
*/
import "C"

import (
	"fmt"
	"strings"
)

// GGMLBackend is what a ggml backend library reports when ggml loads it.
type GGMLBackend struct {
	APIVersion int               // the registration's api_version; ggml rejects any other than its own
	Features   map[string]string // ggml_backend_get_features, e.g. ARCHS for CUDA
}

// ReadGGMLBackend loads a backend and runs its ggml_backend_init, as ggml_backend_load does.
// The CUDA backend initialises CUDA there, so the caller's environment is the runner's.
func ReadGGMLBackend(path string) (*GGMLBackend, error) {
	l, err := Open(path)
	if err != nil {
		return nil, err
	}
	var api C.int
	var buf [8192]C.char
	switch C.ggml_reg_read(l.h, &api, &buf[0], C.int(len(buf))) {
	case -1:
		return nil, fmt.Errorf("%s exports no ggml_backend_init: not a loadable ggml backend", path)
	case -2:
		return nil, fmt.Errorf("ggml_backend_init of %s returned NULL", path)
	}
	b := &GGMLBackend{APIVersion: int(api), Features: map[string]string{}}
	for _, line := range strings.Split(cstr(buf[:]), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			b.Features[k] = v
		}
	}
	return b, nil
}
