package probe

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fake backend below lays out its registration as ggml-backend-impl.h lays out struct
// ggml_backend_reg: api_version, four interface pointers (get_proc_address last), context.
func TestReadGGMLBackendReportsAPIVersionAndFeatures(t *testing.T) {
	src := `
#include <string.h>
struct feat { const char *name, *value; };
static struct feat feats[] = { { "ARCHS", "500,610,890" }, { "USE_GRAPHS", "1" }, { 0, 0 } };
static struct feat *getf(void *reg) { (void)reg; return feats; }
static void *gpa(void *reg, const char *name) { (void)reg; return strcmp(name, "ggml_backend_get_features") == 0 ? (void *)getf : 0; }
static struct { int api; void *a, *b, *c; void *(*gpa)(void *, const char *); void *ctx; } reg = { 1, 0, 0, 0, gpa, 0 };
void *ggml_backend_init(void) { return &reg; }
`
	so := filepath.Join(t.TempDir(), "libggml-fake.so")
	cmd := exec.Command("gcc", "-shared", "-fPIC", "-x", "c", "-o", so, "-")
	cmd.Stdin = strings.NewReader(src)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	b, err := ReadGGMLBackend(so)
	require.NoError(t, err)
	assert.Equal(t, 1, b.APIVersion)
	assert.Equal(t, "500,610,890", b.Features["ARCHS"])
	assert.Equal(t, "1", b.Features["USE_GRAPHS"])
}

func TestReadGGMLBackendRefusesALibraryWithoutInit(t *testing.T) {
	so := filepath.Join(t.TempDir(), "libnot.so")
	cmd := exec.Command("gcc", "-shared", "-fPIC", "-x", "c", "-o", so, "-")
	cmd.Stdin = strings.NewReader("int x;\n")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	_, err = ReadGGMLBackend(so)
	assert.ErrorContains(t, err, "exports no ggml_backend_init")
}
