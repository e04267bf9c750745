// Package loader answers "which file would the dynamic loader pick for this name, and why",
// and reads the ELF facts that decide whether it then links: sonames, NEEDED entries,
// RUNPATH, and versioned symbols. It reads files; it never loads them.
package loader

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Info is what the loader cares about in one shared object.
type Info struct {
	Path    string
	Soname  string
	Needed  []string
	Runpath []string // DT_RUNPATH, $ORIGIN expanded
	Rpath   []string // DT_RPATH, $ORIGIN expanded
	IsVGPU  bool     // exports vgpu_build_info
	defined map[string]bool
}

// Read parses path's dynamic section and symbol tables.
func Read(path string) (*Info, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	in := &Info{Path: path, defined: map[string]bool{}}
	if v, _ := f.DynString(elf.DT_SONAME); len(v) > 0 {
		in.Soname = v[0]
	}
	in.Needed, _ = f.DynString(elf.DT_NEEDED)
	origin := filepath.Dir(path)
	expand := func(tag elf.DynTag) []string {
		v, _ := f.DynString(tag)
		var out []string
		for _, s := range v {
			for _, p := range strings.Split(s, ":") {
				if p = strings.ReplaceAll(strings.ReplaceAll(p, "${ORIGIN}", origin), "$ORIGIN", origin); p != "" {
					out = append(out, p)
				}
			}
		}
		return out
	}
	in.Runpath, in.Rpath = expand(elf.DT_RUNPATH), expand(elf.DT_RPATH)
	syms, _ := f.DynamicSymbols()
	for _, s := range syms {
		if s.Section == elf.SHN_UNDEF || elf.ST_BIND(s.Info) == elf.STB_LOCAL {
			continue
		}
		in.defined[s.Name+"@"+s.Version] = true
		in.defined[s.Name] = true
		if s.Name == "vgpu_build_info" {
			in.IsVGPU = true
		}
	}
	return in, nil
}

// Import is one undefined symbol a library needs, with the version node it requires.
type Import struct {
	Name, Version, Library string
}

// Imports lists path's undefined dynamic symbols.
func Imports(path string) ([]Import, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	syms, err := f.ImportedSymbols()
	if err != nil {
		return nil, err
	}
	out := make([]Import, len(syms))
	for i, s := range syms {
		out[i] = Import{s.Name, s.Version, s.Library}
	}
	return out, nil
}

// Defines reports whether the object defines name at version ("" = any).
func (in *Info) Defines(name, version string) bool {
	if version == "" {
		return in.defined[name]
	}
	return in.defined[name+"@"+version]
}

// Resolution says where a NEEDED name would come from.
type Resolution struct {
	Name string
	Path string // "" when not found
	Via  string // LD_PRELOAD, DT_RPATH, LD_LIBRARY_PATH, DT_RUNPATH, ld.so.cache, default path
	Info *Info
}

// Env is the part of a process environment that decides library resolution.
type Env struct {
	Preload     []string // LD_PRELOAD entries
	LibraryPath []string // LD_LIBRARY_PATH entries, in order
}

// Resolve follows the glibc search order for a NEEDED name of the object from.
func Resolve(name string, from *Info, env Env) Resolution {
	r := Resolution{Name: name}
	// An already-loaded object whose soname matches wins: preloads are loaded first.
	for _, p := range env.Preload {
		if in, err := Read(p); err == nil && in.Soname == name {
			r.Path, r.Via, r.Info = p, "LD_PRELOAD", in
			return r
		}
	}
	try := func(dirs []string, via string) bool {
		for _, d := range dirs {
			p := filepath.Join(d, name)
			if in, err := Read(p); err == nil {
				r.Path, r.Via, r.Info = p, via, in
				return true
			}
		}
		return false
	}
	if from != nil && len(from.Runpath) == 0 && try(from.Rpath, "DT_RPATH") {
		return r
	}
	if try(env.LibraryPath, "LD_LIBRARY_PATH") {
		return r
	}
	if from != nil && try(from.Runpath, "DT_RUNPATH") {
		return r
	}
	if p, ok := cache()[name]; ok {
		if in, err := Read(p); err == nil {
			r.Path, r.Via, r.Info = p, "ld.so.cache", in
			return r
		}
	}
	try([]string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"}, "default path")
	return r
}

var cached map[string]string

// cache reads the loader cache through ldconfig -p.
func cache() map[string]string {
	if cached != nil {
		return cached
	}
	cached = map[string]string{}
	for _, bin := range []string{"ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig"} {
		out, err := exec.Command(bin, "-p").Output()
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(out), "\n") {
			// "	libcuda.so.1 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcuda.so.1"
			f := strings.Fields(line)
			if len(f) >= 4 && f[len(f)-2] == "=>" && strings.Contains(line, "x86-64") {
				if _, ok := cached[f[0]]; !ok {
					cached[f[0]] = f[len(f)-1]
				}
			}
		}
		break
	}
	return cached
}

// SplitPath splits a colon-separated path list, dropping empty entries.
func SplitPath(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ":") {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// SplitPreload splits LD_PRELOAD (colons or spaces).
func SplitPreload(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == ' ' })
}

// Describe is a one-line account of a resolution.
func (r Resolution) Describe() string {
	if r.Path == "" {
		return fmt.Sprintf("%s: not found", r.Name)
	}
	who := "not vgpu"
	if r.Info != nil && r.Info.IsVGPU {
		who = "vgpu"
	}
	real, _ := filepath.EvalSymlinks(r.Path)
	if real == "" || real == r.Path {
		return fmt.Sprintf("%s -> %s (%s, via %s)", r.Name, r.Path, who, r.Via)
	}
	return fmt.Sprintf("%s -> %s = %s (%s, via %s)", r.Name, r.Path, real, who, r.Via)
}

// Exists reports whether a path exists.
func Exists(p string) bool { _, err := os.Lstat(p); return err == nil }
