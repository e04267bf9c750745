package ollama

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// ManifestName is the file in lib/ollama that records an installation.
const (
	ManifestName = ".vgpu-install.json"
	backupDir    = ".vgpu-saved"
	libSubdir    = "vgpu"
)

// Moved is one file set aside, to be put back byte for byte.
type Moved struct {
	From   string `json:"from"`
	To     string `json:"to"`
	SHA256 string `json:"sha256,omitempty"` // regular files
	Link   string `json:"link,omitempty"`   // symlinks: their target
}

// The two installation modes. Full puts vgpu under every NVIDIA name (it is the runtime and
// cuBLAS too); driver-only under the driver's and NVML's only, so that Ollama's bundled NVIDIA
// runtime and cuBLAS run on vgpu's libcuda.so.1.
const (
	ModeFull       = "full"
	ModeDriverOnly = "driver-only"
)

// Manifest records everything install did.
type Manifest struct {
	Dir      string   `json:"dir"`
	ModeName string   `json:"mode,omitempty"` // ModeFull or ModeDriverOnly; absent (older records) is full
	Created  []string `json:"created"`        // files and links vgpu made, removed on uninstall
	Moved    []Moved  `json:"moved"`
	System   []string `json:"system,omitempty"` // system files (loader config, systemd drop-in)
}

// Options shape an installation.
type Options struct {
	Dir     string // lib/ollama
	Library string // vgpu's libvgpu.so to install
	System  bool   // also loader configuration and a systemd drop-in
	Root    string // prefix for system files ("/" normally; tests use a scratch root)
	Config  string // VGPU_CONFIG for the systemd drop-in
	// DriverOnly installs vgpu as libcuda.so.1 and libnvidia-ml.so.1 only, keeping the
	// bundled libcudart/libcublas/libcublasLt in place.
	DriverOnly bool
	DryRun     bool
	Out        io.Writer
}

type installer struct {
	o    Options
	m    *Manifest
	acts int
}

func (in *installer) say(f string, a ...any) {
	if in.o.DryRun {
		f = "would " + f
	}
	fmt.Fprintf(in.o.Out, f+"\n", a...)
	in.acts++
}

func (in *installer) rel(p string) string {
	if r, err := filepath.Rel(in.o.Dir, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

// Install puts vgpu under every NVIDIA name Ollama's runners load. Running it again on an
// installed tree changes only what drifted.
func Install(o Options) (*Manifest, error) {
	if o.Out == nil {
		o.Out = io.Discard
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	o.Dir = dir
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory (want Ollama's lib/ollama)", dir)
	}
	vs, err := Variants(dir)
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("%s has no cuda_vNN directory: not an Ollama lib/ollama with a CUDA backend", dir)
	}
	dirs := []string{dir}
	for _, v := range vs {
		dirs = append(dirs, v.Dir)
	}
	for _, d := range dirs {
		if err := unix.Access(d, unix.W_OK); err != nil {
			return nil, fmt.Errorf("cannot write %s (%v): run as its owner, or with sudo", d, err)
		}
	}
	m, err := ReadManifest(dir)
	if errors.Is(err, os.ErrNotExist) {
		m, err = &Manifest{Dir: dir}, nil
	}
	if err != nil {
		return nil, err
	}
	if o.System {
		if err := systemWritable(o.Root); err != nil {
			return nil, err
		}
	}
	mode := ModeFull
	if o.DriverOnly {
		mode = ModeDriverOnly
	}
	// Another mode is a different set of files: the old installation is undone first, so that
	// what the new one records is again exactly what uninstall must put back.
	if m.Mode() != mode && (len(m.Created) > 0 || len(m.Moved) > 0 || len(m.System) > 0) {
		fmt.Fprintf(o.Out, "switching %s from the %s mode to the %s mode: uninstalling first\n", dir, m.Mode(), mode)
		if err := Uninstall(dir, o.Out, o.DryRun); err != nil {
			return nil, err
		}
		if o.DryRun {
			fmt.Fprintf(o.Out, "then would install in the %s mode (run without --dry-run to see each step)\n", mode)
			return m, nil
		}
		m = &Manifest{Dir: dir}
	}
	m.SetMode(mode)
	in := &installer{o: o, m: m}
	err = in.steps(vs)
	// Whatever was done is recorded, also when a later step failed, so uninstall can undo it.
	if !o.DryRun && (len(m.Created) > 0 || len(m.Moved) > 0 || len(m.System) > 0) {
		if werr := m.write(); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		return nil, err
	}
	if in.acts == 0 {
		fmt.Fprintf(o.Out, "vgpu is already installed in %s\n", dir)
	}
	return m, nil
}

// steps changes the tree: vgpu's library, its links, the bundled libraries set aside.
func (in *installer) steps(vs []Variant) error {
	o, dir := in.o, in.o.Dir
	lib := installedLib(dir)
	if err := in.copyLibrary(lib); err != nil {
		return err
	}
	for _, name := range TopNames {
		if err := in.link(filepath.Join(dir, name), lib); err != nil {
			return err
		}
	}
	if o.DriverOnly {
		// The runner's LD_LIBRARY_PATH starts with lib/ollama, so the links above are the
		// libcuda.so.1 and libnvidia-ml.so.1 the bundled runtime and ggml open; the variant
		// directories stay as Ollama shipped them.
		if o.System {
			return in.system(lib)
		}
		return nil
	}
	for _, v := range vs {
		ents, _ := os.ReadDir(v.Dir)
		for _, e := range ents {
			p := filepath.Join(v.Dir, e.Name())
			if bundled.MatchString(e.Name()) && !isLinkTo(p, lib) {
				if err := in.setAside(p); err != nil {
					return err
				}
			}
		}
		for _, name := range v.Names() {
			if err := in.link(filepath.Join(v.Dir, name), lib); err != nil {
				return err
			}
		}
	}
	if o.System {
		return in.system(lib)
	}
	return nil
}

// systemDirs are where --system writes, below the root.
var systemDirs = []string{"etc/ld.so.conf.d", "etc/systemd/system/ollama.service.d"}

// systemWritable checks, before anything changes, that --system can write its files: the
// directory, or the nearest one that exists above it.
func systemWritable(root string) error {
	if root == "" {
		root = "/"
	}
	for _, d := range systemDirs {
		p := filepath.Join(root, d)
		for {
			if _, err := os.Stat(p); err == nil || p == filepath.Dir(p) {
				break
			}
			p = filepath.Dir(p)
		}
		if err := unix.Access(p, unix.W_OK); err != nil {
			return fmt.Errorf("cannot write %s (%v): --system needs root", p, err)
		}
	}
	return nil
}

func (in *installer) copyLibrary(dst string) error {
	src, err := os.ReadFile(in.o.Library)
	if err != nil {
		return fmt.Errorf("vgpu library: %w", err)
	}
	if cur, err := os.ReadFile(dst); err == nil && bytes.Equal(cur, src) {
		return nil
	}
	in.say("install %s (%d bytes)", in.rel(dst), len(src))
	if in.o.DryRun {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in.m.created(filepath.Dir(dst))
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, src, 0o755); err != nil {
		return err
	}
	in.m.created(dst)
	return os.Rename(tmp, dst) // a running process keeps the old inode
}

// isLinkTo reports whether p is a symlink to lib.
func isLinkTo(p, lib string) bool {
	t, err := os.Readlink(p)
	if err != nil {
		return false
	}
	if !filepath.IsAbs(t) {
		t = filepath.Join(filepath.Dir(p), t)
	}
	return filepath.Clean(t) == lib
}

func (in *installer) link(p, lib string) error {
	if isLinkTo(p, lib) {
		return nil
	}
	if _, err := os.Lstat(p); err == nil {
		if err := in.setAside(p); err != nil {
			return err
		}
	}
	rel, _ := filepath.Rel(filepath.Dir(p), lib)
	in.say("link %s -> %s", in.rel(p), rel)
	if in.o.DryRun {
		return nil
	}
	if err := os.Symlink(rel, p); err != nil {
		return err
	}
	in.m.created(p)
	return nil
}

// setAside moves p into the backup area, remembering how to put it back.
func (in *installer) setAside(p string) error {
	rel := in.rel(p)
	to := filepath.Join(in.o.Dir, backupDir, rel)
	mv := Moved{From: p, To: to}
	st, err := os.Lstat(p)
	if err != nil {
		return err
	}
	if st.Mode()&os.ModeSymlink != 0 {
		mv.Link, _ = os.Readlink(p)
	} else if mv.SHA256, err = FileSHA256(p); err != nil {
		return err
	}
	// A copy saved under this name by an earlier install is what an upgrade of Ollama has since
	// replaced: the newer file is the one to put back.
	superseded := -1
	for i, old := range in.m.Moved {
		if old.To == to {
			superseded = i
		}
	}
	if superseded >= 0 {
		in.say("set aside %s (it replaces the copy an earlier install saved)", rel)
	} else {
		in.say("set aside %s", rel)
	}
	if in.o.DryRun {
		return nil
	}
	if superseded >= 0 {
		in.m.Moved = append(in.m.Moved[:superseded], in.m.Moved[superseded+1:]...)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	if err := os.Rename(p, to); err != nil {
		return err
	}
	in.m.Moved = append(in.m.Moved, mv)
	return nil
}

func (in *installer) system(lib string) error {
	root := in.o.Root
	if root == "" {
		root = "/"
	}
	files := map[string]string{
		filepath.Join(root, "etc/ld.so.conf.d/vgpu.conf"): "# vgpu: the virtual GPU's libraries (vgpu uninstall removes this)\n" + filepath.Dir(lib) + "\n",
	}
	dropIn := "# vgpu: Ollama sees the virtual GPU (vgpu uninstall removes this)\n[Service]\n"
	// A preloaded vgpu would bind the runtime's and cuBLAS's symbols before the bundled
	// NVIDIA libraries: driver-only mode relies on the loader configuration alone.
	if !in.o.DriverOnly {
		dropIn += fmt.Sprintf("Environment=\"LD_PRELOAD=%s\"\n", lib)
	}
	if in.o.Config != "" {
		cfg, _ := filepath.Abs(in.o.Config)
		dropIn += fmt.Sprintf("Environment=\"VGPU_CONFIG=%s\"\n", cfg)
	}
	files[filepath.Join(root, "etc/systemd/system/ollama.service.d/vgpu.conf")] = dropIn
	// The loader-config directory gets the driver and NVML names. The loader cache records a
	// file by its soname, so CUDA programs outside Ollama find libcuda.so.1 through it; NVML's
	// name is not cached (one file has one soname): nvidia-smi needs LD_LIBRARY_PATH.
	for _, name := range []string{"libcuda.so.1", "libnvidia-ml.so.1"} {
		if err := in.link(filepath.Join(filepath.Dir(lib), name), lib); err != nil {
			return err
		}
	}
	var paths []string
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if cur, err := os.ReadFile(p); err == nil && string(cur) == files[p] {
			in.m.system(p) // possibly left by an installation whose record is gone
			continue
		}
		if _, err := os.Lstat(p); err == nil && !contains(in.m.System, p) {
			return fmt.Errorf("%s exists and is not vgpu's; remove it first", p)
		}
		in.say("write %s", p)
		if in.o.DryRun {
			continue
		}
		_, statErr := os.Stat(filepath.Dir(p))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("%w (system install needs root)", err)
		}
		if err := os.WriteFile(p, []byte(files[p]), 0o644); err != nil {
			return fmt.Errorf("%w (system install needs root)", err)
		}
		in.m.system(p)
		// A directory made for the file goes too (after it), when nothing else is in it then.
		if statErr != nil {
			in.m.system(filepath.Dir(p))
		}
	}
	if !in.o.DryRun && root == "/" {
		refreshSystem()
	}
	return nil
}

// refreshSystem reloads the loader cache and systemd, where they exist.
func refreshSystem() {
	if p, err := exec.LookPath("ldconfig"); err == nil {
		exec.Command(p).Run()
	}
	if p, err := exec.LookPath("systemctl"); err == nil {
		exec.Command(p, "daemon-reload").Run()
	}
}

// Uninstall puts every set-aside file back, byte for byte, and removes all vgpu made.
func Uninstall(dir string, out io.Writer, dryRun bool) error {
	if out == nil {
		out = io.Discard
	}
	dir, _ = filepath.Abs(dir)
	m, err := ReadManifest(dir)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(out, "vgpu is not installed in %s\n", dir)
		return nil
	}
	if err != nil {
		return err
	}
	verb := ""
	if dryRun {
		verb = "would "
	}
	// Created paths go in reverse order: files before the directories holding them.
	lib := installedLib(dir)
	for i := len(m.Created) - 1; i >= 0; i-- {
		p := m.Created[i]
		if st, err := os.Lstat(p); err == nil && st.Mode()&os.ModeSymlink != 0 && !isLinkTo(p, lib) {
			fmt.Fprintf(out, "leave %s: it is no longer vgpu's link\n", p) // something else wrote it since
			continue
		}
		fmt.Fprintf(out, "%sremove %s\n", verb, p)
		if !dryRun {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	// Every saved file is tried: one that cannot go back stays saved and recorded, so that
	// nothing is lost and uninstall can be run again.
	var failed []Moved
	var errs []error
	for i := len(m.Moved) - 1; i >= 0; i-- {
		mv := m.Moved[i]
		// Ollama upgraded over the installation wrote a newer file here: it stays, as the
		// upgrade would have replaced the saved one anyway.
		_, err := os.Lstat(mv.From)
		newer := err == nil && !isLinkTo(mv.From, lib)
		if newer {
			fmt.Fprintf(out, "%skeep %s, written since the install; drop its saved copy\n", verb, mv.From)
		} else {
			fmt.Fprintf(out, "%srestore %s\n", verb, mv.From)
		}
		if dryRun {
			continue
		}
		if newer {
			err = os.Remove(mv.To)
		} else {
			err = restore(mv)
		}
		if err != nil {
			failed, errs = append([]Moved{mv}, failed...), append(errs, err)
		}
	}
	if len(failed) > 0 {
		m.Created, m.Moved = nil, failed
		if err := m.write(); err != nil {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	}
	for _, p := range m.System {
		fmt.Fprintf(out, "%sremove %s\n", verb, p)
		if !dryRun {
			// A directory vgpu made stays if other files have since been put in it.
			err := os.Remove(p)
			if err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, unix.ENOTEMPTY) && !errors.Is(err, unix.EEXIST) {
				return err
			}
		}
	}
	if dryRun {
		return nil
	}
	// The backup tree is empty now; remove it bottom-up, then the manifest.
	backup := filepath.Join(dir, backupDir)
	var dirs []string
	filepath.Walk(backup, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Remove(dirs[i]); err != nil {
			return fmt.Errorf("%s is not empty: %w", dirs[i], err)
		}
	}
	if len(m.System) > 0 {
		refreshSystem()
	}
	return os.Remove(filepath.Join(dir, ManifestName))
}

// restore puts one saved file back, if it is still the file that was saved.
func restore(mv Moved) error {
	if mv.SHA256 != "" {
		if h, err := FileSHA256(mv.To); err != nil || h != mv.SHA256 {
			return fmt.Errorf("saved copy of %s changed or missing (%v); left in %s", mv.From, err, mv.To)
		}
	}
	return os.Rename(mv.To, mv.From)
}

// ReadManifest loads the installation record of dir.
func ReadManifest(dir string) (*Manifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestName, err)
	}
	return &m, nil
}

// system records a system file (or a directory made for one) that uninstall removes.
func (m *Manifest) system(p string) {
	if !contains(m.System, p) {
		m.System = append(m.System, p)
	}
}

// installedLib is where install puts vgpu's library in lib/ollama.
func installedLib(dir string) string { return filepath.Join(dir, libSubdir, "libvgpu.so") }

// Mode is the installation's mode (full for records written before modes existed).
func (m *Manifest) Mode() string {
	if m.ModeName == "" {
		return ModeFull
	}
	return m.ModeName
}

// SetMode records the mode.
func (m *Manifest) SetMode(mode string) { m.ModeName = mode }

func (m *Manifest) created(p string) {
	if !contains(m.Created, p) {
		m.Created = append(m.Created, p)
	}
}

func (m *Manifest) write() error {
	data, _ := json.MarshalIndent(m, "", "  ")
	return os.WriteFile(filepath.Join(m.Dir, ManifestName), append(data, '\n'), 0o644)
}

// FileSHA256 is the hex SHA-256 of a file's bytes.
func FileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
