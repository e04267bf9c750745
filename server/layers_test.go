package server

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The protocol lives in wire/: the server takes its operations and types from there and
// never imports the client (remote/), nor does the C ABI layer (exports/) import either.
func TestLayersImportNoClient(t *testing.T) {
	for dir, banned := range map[string][]string{
		".":          {"vgpu/remote"},
		"../exports": {"vgpu/remote", "vgpu/wire"},
	} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		require.NoError(t, err)
		require.NotEmpty(t, files)
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			require.NoError(t, err)
			for _, imp := range ast.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				require.NotContains(t, banned, path, "%s imports %s", f, path)
			}
		}
	}
}
