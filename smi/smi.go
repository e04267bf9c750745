// Package smi prints what NVML reports in nvidia-smi's formats: its default table, -L, and
// --query-gpu with --format=csv[,noheader][,nounits].
package smi

import (
	"fmt"
	"io"
	"strings"
	"time"

	"vgpu/probe"
)

const mib = 1 << 20

// field is one --query-gpu property: its unit as nvidia-smi prints it, and its value.
type field struct {
	unit string
	get  func(s *probe.System, g *probe.GPU) string
}

var fields = map[string]field{
	"index":              {"", func(s *probe.System, g *probe.GPU) string { return fmt.Sprint(g.Index) }},
	"count":              {"", func(s *probe.System, g *probe.GPU) string { return fmt.Sprint(len(s.GPUs)) }},
	"name":               {"", func(s *probe.System, g *probe.GPU) string { return g.Name }},
	"uuid":               {"", func(s *probe.System, g *probe.GPU) string { return g.UUID }},
	"serial":             {"", func(s *probe.System, g *probe.GPU) string { return g.Serial }},
	"vbios_version":      {"", func(s *probe.System, g *probe.GPU) string { return g.VBIOS }},
	"driver_version":     {"", func(s *probe.System, g *probe.GPU) string { return s.Driver }},
	"pci.bus_id":         {"", func(s *probe.System, g *probe.GPU) string { return strings.ToUpper(g.BusID) }},
	"pci.device_id":      {"", func(s *probe.System, g *probe.GPU) string { return fmt.Sprintf("0x%08X", g.PCIDeviceID) }},
	"compute_cap":        {"", func(s *probe.System, g *probe.GPU) string { return fmt.Sprintf("%d.%d", g.CCMajor, g.CCMinor) }},
	"memory.total":       {"MiB", func(s *probe.System, g *probe.GPU) string { return fmt.Sprint(g.MemTotal / mib) }},
	"memory.used":        {"MiB", func(s *probe.System, g *probe.GPU) string { return fmt.Sprint(g.MemUsed / mib) }},
	"memory.free":        {"MiB", func(s *probe.System, g *probe.GPU) string { return fmt.Sprint(g.MemFree / mib) }},
	"temperature.gpu":    {"", func(s *probe.System, g *probe.GPU) string { return fmt.Sprint(g.TempC) }},
	"power.draw":         {"W", func(s *probe.System, g *probe.GPU) string { return fmt.Sprintf("%.2f", float64(g.PowerMW)/1000) }},
	"power.limit":        {"W", func(s *probe.System, g *probe.GPU) string { return fmt.Sprintf("%.2f", float64(g.PowerLimitMW)/1000) }},
	"clocks.max.sm":      {"MHz", func(s *probe.System, g *probe.GPU) string { return fmt.Sprint(g.MaxSMClock) }},
	"clocks.max.memory":  {"MHz", func(s *probe.System, g *probe.GPU) string { return fmt.Sprint(g.MaxMemClk) }},
	"utilization.gpu":    {"%", func(s *probe.System, g *probe.GPU) string { return fmt.Sprint(g.UtilGPU) }},
	"utilization.memory": {"%", func(s *probe.System, g *probe.GPU) string { return fmt.Sprint(g.UtilMem) }},
}

// nvidia-smi's aliases for some properties.
var aliases = map[string]string{
	"gpu_name": "name", "gpu_uuid": "uuid", "gpu_serial": "serial", "pci.bus": "pci.bus_id",
	"clocks.max.mem": "clocks.max.memory", "clocks.max.sm": "clocks.max.sm", "temperature": "temperature.gpu",
}

// Query prints --query-gpu output. format is nvidia-smi's --format value.
func Query(w io.Writer, s *probe.System, query, format string) error {
	var opts = map[string]bool{}
	for _, o := range strings.Split(format, ",") {
		opts[strings.TrimSpace(o)] = true
	}
	if !opts["csv"] {
		return fmt.Errorf("--format must include csv (got %q)", format)
	}
	var names []string
	for _, q := range strings.Split(query, ",") {
		q = strings.TrimSpace(q)
		if a, ok := aliases[q]; ok {
			q = a
		}
		if _, ok := fields[q]; !ok {
			return fmt.Errorf("field %q is not a valid field to query", q)
		}
		names = append(names, q)
	}
	if !opts["noheader"] {
		var hdr []string
		for _, n := range names {
			if u := fields[n].unit; u != "" && !opts["nounits"] {
				n += " [" + u + "]"
			}
			hdr = append(hdr, n)
		}
		fmt.Fprintln(w, strings.Join(hdr, ", "))
	}
	for i := range s.GPUs {
		var vals []string
		for _, n := range names {
			v := fields[n].get(s, &s.GPUs[i])
			if u := fields[n].unit; u != "" && !opts["nounits"] {
				if u == "%" {
					v += " %"
				} else {
					v += " " + u
				}
			}
			vals = append(vals, v)
		}
		fmt.Fprintln(w, strings.Join(vals, ", "))
	}
	return nil
}

// List prints -L output.
func List(w io.Writer, s *probe.System) {
	for _, g := range s.GPUs {
		fmt.Fprintf(w, "GPU %d: %s (UUID: %s)\n", g.Index, g.Name, g.UUID)
	}
}

// Table prints the default nvidia-smi-style summary of devices, memory and processes.
func Table(w io.Writer, s *probe.System, now time.Time) {
	line := "+" + strings.Repeat("-", 89) + "+"
	sep := "|" + strings.Repeat("=", 89) + "|"
	fmt.Fprintln(w, now.Format("Mon Jan  2 15:04:05 2006"))
	fmt.Fprintln(w, line)
	fmt.Fprintf(w, "| %-87s |\n", fmt.Sprintf("vgpu smi (NVML)            Driver Version: %-16s CUDA Version: %d.%d",
		s.Driver, s.CUDAVersion/1000, s.CUDAVersion%1000/10))
	fmt.Fprintln(w, line)
	fmt.Fprintf(w, "| %-87s |\n", "GPU  Name                          Bus-Id            Temp   Pwr:Usage/Cap    Memory-Usage")
	fmt.Fprintln(w, sep)
	for _, g := range s.GPUs {
		name := g.Name
		if len(name) > 29 {
			name = name[:29]
		}
		fmt.Fprintf(w, "| %-87s |\n", fmt.Sprintf("%3d  %-29s %-16s %4dC %5dW / %4dW  %6dMiB / %6dMiB",
			g.Index, name, strings.ToUpper(g.BusID), g.TempC, g.PowerMW/1000, g.PowerLimitMW/1000, g.MemUsed/mib, g.MemTotal/mib))
	}
	fmt.Fprintln(w, line)
	fmt.Fprintln(w)
	fmt.Fprintln(w, line)
	fmt.Fprintf(w, "| %-87s |\n", "Processes:")
	fmt.Fprintf(w, "| %-87s |\n", " GPU        PID   Type   Process name                                        GPU Memory")
	fmt.Fprintln(w, sep)
	any := false
	for _, g := range s.GPUs {
		for _, p := range g.Processes {
			any = true
			fmt.Fprintf(w, "| %-87s |\n", fmt.Sprintf("%4d %10d      C   %-50s %6dMiB", g.Index, p.PID, procName(p.PID), p.Used/mib))
		}
	}
	if !any {
		fmt.Fprintf(w, "| %-87s |\n", " No running processes found")
	}
	fmt.Fprintln(w, line)
}
