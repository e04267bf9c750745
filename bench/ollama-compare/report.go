package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// report is the whole run: what ran where, every mode's figures, and the verdicts. It is the
// JSON file as it is; the table is drawn from it.
type report struct {
	Time        string        `json:"time"`
	Machine     machine       `json:"machine"`
	Ollama      ollamaInfo    `json:"ollama"`
	VGPU        vgpuInfo      `json:"vgpu"`
	Model       modelInfo     `json:"model"`
	Settings    settings      `json:"settings"`
	Modes       []*modeResult `json:"modes"`
	NativeAgain *modeResult   `json:"native_again,omitempty"` // native's second identity pass
	Problems    []string      `json:"problems"`               // each fails the run
	Notes       []string      `json:"notes"`                  // worth knowing, fail nothing
	OK          bool          `json:"ok"`
}

type machine struct {
	CPU    string   `json:"cpu"`
	Cores  int      `json:"cores"`
	GPUs   []string `json:"gpus"`
	Kernel string   `json:"kernel"`
	Host   string   `json:"host"`
}

type ollamaInfo struct {
	Dir     string `json:"dir"`
	Version string `json:"version"`
}

type vgpuInfo struct {
	Dir           string `json:"dir"`
	ServerBackend string `json:"server_backend"`
}

type modelInfo struct {
	Name      string `json:"name"`
	Path      string `json:"path"`
	TestModel string `json:"testmodel,omitempty"`
	Bytes     int64  `json:"bytes"`
	Digest    string `json:"digest"`
}

type settings struct {
	Runs         int             `json:"runs"`
	Rounds       int             `json:"rounds"`
	NumPredict   int             `json:"num_predict"`
	Parallel     int             `json:"parallel"`
	Staggers     []time.Duration `json:"staggers_ns,omitempty"`
	NumCtx       int             `json:"num_ctx"`
	PromptBytes  int             `json:"long_prompt_bytes"`
	PromptTokens int             `json:"long_prompt_tokens"`
	HideGPU      bool            `json:"hide_gpu"`
}

func newReport(e *runEnv) *report {
	rep := &report{
		Time:    time.Now().UTC().Format(time.RFC3339),
		Machine: machineInfo(),
		Ollama:  ollamaInfo{Dir: e.cfg.ollamaDir, Version: e.version},
		VGPU:    vgpuInfo{Dir: e.cfg.vgpuDir, ServerBackend: e.cfg.serverBackend},
		Model:   modelInfo{Name: modelName, Path: e.modelPath, TestModel: e.cfg.testModel, Digest: e.digest},
		Settings: settings{Runs: e.cfg.runs, Rounds: e.cfg.rounds, NumPredict: e.cfg.numPredict, Parallel: e.cfg.parallel,
			Staggers: e.cfg.staggers, NumCtx: e.ctxLen, PromptBytes: len(e.plan.longText), PromptTokens: e.promptTokens, HideGPU: e.cfg.hideGPU},
	}
	if st, err := os.Stat(e.modelPath); err == nil {
		rep.Model.Bytes = st.Size()
	}
	return rep
}

func (rep *report) mode(name string) *modeResult {
	for _, r := range rep.Modes {
		if r.Mode == name {
			return r
		}
	}
	return nil
}

// evaluate fills in medians, ratios and identity checks, and decides: a failed mode, a
// demanded identity that does not hold, or less of the model in GPU memory than native
// managed, each make the run fail.
func (rep *report) evaluate() {
	rep.Problems, rep.Notes = nil, nil
	names := plan{parallel: rep.Settings.Parallel, staggers: rep.Settings.Staggers}.identityNames()
	native := rep.mode("native")
	var again map[string]sample
	if rep.NativeAgain != nil {
		again = rep.NativeAgain.Samples
		if rep.NativeAgain.Error != "" {
			rep.Problems = append(rep.Problems, "native (second identity pass): "+rep.NativeAgain.Error)
		}
	}
	for i := len(rep.Modes) - 1; i >= 0; i-- { // the first mode's count wins over setup's
		r := rep.Modes[i]
		r.Median = r.medians()
		if len(r.RoundLoads) > 1 {
			r.Median.LoadS = median(r.RoundLoads)
		}
		if len(r.PromptTokens) > 0 {
			rep.Settings.PromptTokens = r.PromptTokens[0]
		}
	}
	for _, r := range rep.Modes {
		if r.Error != "" {
			rep.Problems = append(rep.Problems, r.Mode+": "+r.Error)
		}
		if native == nil {
			continue
		}
		r.Ratio = ratios(r.Median, native.Median)
		r.RoundRatios = nil
		if len(r.RoundMedians) > 1 {
			for k, m := range r.RoundMedians {
				if k < len(native.RoundMedians) {
					r.RoundRatios = append(r.RoundRatios, ratios(m, native.RoundMedians[k]))
				}
			}
			if r != native {
				rep.Notes = append(rep.Notes, roundNote(r))
			}
		}
		if r == native {
			r.Identity = compare(names, native.Samples, again, again)
			continue
		}
		r.Identity = compare(names, native.Samples, again, r.Samples)
		for _, c := range failures(r.Identity) {
			switch {
			case c.Diff != "missing":
				p := fmt.Sprintf("%s: identity: %s differs from native at %s", r.Mode, c.Name, c.Diff)
				if len(c.NativeElsewhere) > 0 {
					p += fmt.Sprintf(", and is native's own result for %s (another batching)", strings.Join(c.NativeElsewhere, ", "))
				}
				rep.Problems = append(rep.Problems, p)
			case r.Error == "": // a failed mode's missing samples are its failure, already told
				rep.Problems = append(rep.Problems, fmt.Sprintf("%s: identity: no %s sample", r.Mode, c.Name))
			}
		}
	}
	for _, r := range rep.Modes {
		rep.residency(r)
		if len(r.DecodeTokens) > 0 && slices.Min(r.DecodeTokens) < rep.Settings.NumPredict {
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s: the model stopped before num_predict in a decode run (%v tokens)",
				r.Mode, r.DecodeTokens))
		}
	}
	if t := rep.Settings.PromptTokens; t > 0 && t < 1000 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("the long prompt has %d tokens only (context %d)", t, rep.Settings.NumCtx))
	}
	rep.OK = len(rep.Problems) == 0
}

// residency: a vgpu mode exists to put the model on a GPU, so anything short of all of it in
// GPU memory fails it (and catches a client that quietly fell back to the CPU). Native is
// the baseline as found: less than 100% there is only noted.
func (rep *report) residency(r *modeResult) {
	if r.Residency == nil || r.Residency.Percent >= 99.95 {
		return
	}
	msg := fmt.Sprintf("%s: %.0f%% of the model in GPU memory (%d of %d bytes)", r.Mode, r.Residency.Percent,
		r.Residency.SizeVRAM, r.Residency.Size)
	if r.Mode == "native" {
		rep.Notes = append(rep.Notes, msg)
	} else {
		rep.Problems = append(rep.Problems, msg)
	}
}

// table writes the report as Markdown: a few lines of context, one row per mode, then what
// went wrong.
func (rep *report) table(w io.Writer) {
	fmt.Fprintf(w, "## Ollama native vs vgpu\n\n")
	fmt.Fprintf(w, "- Ollama %s (%s)\n", orDash(rep.Ollama.Version), rep.Ollama.Dir)
	src := rep.Model.Path
	if rep.Model.TestModel != "" {
		src = "vgpu testmodel " + rep.Model.TestModel
	}
	fmt.Fprintf(w, "- model: %s, %.1f MiB\n", src, float64(rep.Model.Bytes)/(1<<20))
	gpu := "none"
	if len(rep.Machine.GPUs) > 0 {
		gpu = strings.Join(rep.Machine.GPUs, ", ")
	}
	fmt.Fprintf(w, "- machine: %s (%d cores); GPU: %s\n", orDash(rep.Machine.CPU), rep.Machine.Cores, gpu)
	s := rep.Settings
	runs := fmt.Sprintf("the median of %d runs", s.Runs)
	if s.Runs == 1 {
		runs = "one run"
	}
	if s.Rounds > 1 {
		each := fmt.Sprintf("%d runs", s.Runs)
		if s.Runs == 1 {
			each = "one run"
		}
		runs = fmt.Sprintf("the median of %s in each of %d rounds of every mode (native first in each)", each, s.Rounds)
	}
	fmt.Fprintf(w, "- each figure %s; long prompt %d tokens; decode %d tokens; identity over a short, "+
		"a long and %d concurrent requests; (×) = mode / native\n\n", runs, s.PromptTokens, s.NumPredict, s.Parallel)

	fmt.Fprintln(w, "| mode | load s | first prompt tok/s | prompt tok/s | decode tok/s | short ms | identity | in GPU | client's /dev/nvidia* |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---|---:|---|")
	for _, r := range rep.Modes {
		nat := r.Mode == "native"
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.Mode,
			cell(r.Median.LoadS, r.Ratio.LoadS, nat, "%.2f"),
			cell(r.Median.FirstTPS, r.Ratio.FirstTPS, nat, ""),
			cell(r.Median.PromptTPS, r.Ratio.PromptTPS, nat, ""),
			cell(r.Median.DecodeTPS, r.Ratio.DecodeTPS, nat, ""),
			cell(r.Median.ShortMs, r.Ratio.ShortMs, nat, "%.1f"),
			rep.identityCell(r), residencyCell(r), rep.clientGPUCell(r))
	}
	fmt.Fprintln(w)
	list := func(title string, items []string) {
		if len(items) > 0 {
			fmt.Fprintln(w, title)
			for _, p := range items {
				fmt.Fprintf(w, "- %s\n", strings.ReplaceAll(p, "\n", " "))
			}
			fmt.Fprintln(w)
		}
	}
	list("Notes:", rep.Notes)
	list("Problems:", rep.Problems)
	if rep.OK {
		fmt.Fprintln(w, "All checks passed.")
	}
}

// cell is a median with its ratio to native; "—" where nothing was measured.
func cell(v, ratio float64, native bool, format string) string {
	if v == 0 {
		return "—"
	}
	if format == "" { // rates: three significant figures or so, whatever their size
		switch {
		case v >= 100:
			format = "%.0f"
		case v >= 10:
			format = "%.1f"
		default:
			format = "%.2f"
		}
	}
	s := fmt.Sprintf(format, v)
	if !native && ratio > 0 {
		s += fmt.Sprintf(" (%.2f×)", ratio)
	}
	return s
}

func (rep *report) identityCell(r *modeResult) string {
	if r.Error != "" {
		return "**failed**, see below"
	}
	if rep.mode("native") == nil {
		return "no native to compare"
	}
	demanded := 0
	for _, c := range r.Identity {
		if c.Demanded {
			demanded++
		}
	}
	if r.Mode == "native" {
		if rep.NativeAgain == nil || rep.NativeAgain.Error != "" {
			return "no second pass"
		}
		return fmt.Sprintf("self-identical %d/%d", demanded, len(r.Identity))
	}
	if f := failures(r.Identity); len(f) > 0 {
		s := fmt.Sprintf("**differs**: %s at %s", f[0].Name, f[0].Diff)
		if len(f) > 1 {
			s += fmt.Sprintf(" (+%d more)", len(f)-1)
		}
		return s
	}
	s := fmt.Sprintf("identical %d/%d", demanded, demanded)
	if n := len(r.Identity) - demanded; n > 0 {
		s += fmt.Sprintf(" (%d unchecked: native varies)", n)
	}
	return s
}

func residencyCell(r *modeResult) string {
	if r.Residency == nil {
		return "—"
	}
	return fmt.Sprintf("%.0f%%", r.Residency.Percent)
}

func (rep *report) clientGPUCell(r *modeResult) string {
	switch {
	case !strings.HasPrefix(r.Mode, "remote"):
		return "in use"
	case r.Hidden == nil && rep.Settings.HideGPU:
		return "—" // the client never started
	case r.Hidden == nil:
		return "not hidden"
	case r.Hidden.HostNodes == 0:
		return "none on this host"
	default:
		return fmt.Sprintf("hidden (%d/%d)", r.Hidden.Covered, r.Hidden.HostNodes)
	}
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func (rep *report) writeJSON(path string) error {
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// machineInfo: the CPU from /proc/cpuinfo, the GPUs as nvidia-smi names them (none without it).
func machineInfo() machine {
	m := machine{Cores: runtime.NumCPU()}
	m.Host, _ = os.Hostname()
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "nvidia-smi", "--query-gpu=name", "--format=csv,noheader").Output(); err == nil {
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				m.GPUs = append(m.GPUs, l)
			}
		}
	}
	return m
}

// ratios is m over native's n, figure by figure.
func ratios(m, n figures) figures {
	return figures{LoadS: ratio(m.LoadS, n.LoadS), FirstTPS: ratio(m.FirstTPS, n.FirstTPS), PromptTPS: ratio(m.PromptTPS, n.PromptTPS),
		DecodeTPS: ratio(m.DecodeTPS, n.DecodeTPS), ShortMs: ratio(m.ShortMs, n.ShortMs)}
}

// roundNote lists a mode's decode and prompt ratios round by round: their spread is how far
// one round's figure can be trusted on this machine.
func roundNote(r *modeResult) string {
	var dec, pro []string
	for _, f := range r.RoundRatios {
		dec = append(dec, fmt.Sprintf("%.2f×", f.DecodeTPS))
		pro = append(pro, fmt.Sprintf("%.2f×", f.PromptTPS))
	}
	return fmt.Sprintf("%s, round by round: decode %s; prompt %s", r.Mode, strings.Join(dec, " "), strings.Join(pro, " "))
}
