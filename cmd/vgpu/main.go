// Command vgpu is the command-line side of vgpu: it lists profiles and shows the
// configuration the library would use. install, run, doctor, smi and serve come next.
package main

import (
	"fmt"
	"os"

	"vgpu/shim"
)

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	switch os.Args[1] {
	case "profiles":
		ps, err := shim.Profiles()
		if err != nil {
			fail(err)
		}
		for _, p := range ps {
			fmt.Printf("%-16s %-28s cc %d.%d  %3d SMs  %6.1f GiB\n", p.ID, p.Name, p.CC[0], p.CC[1], p.SMs, float64(p.Memory)/(1<<30))
		}
	case "config":
		s := shim.S()
		if s.Err != nil {
			fail(s.Err)
		}
		fmt.Printf("backend %s, driver %s, CUDA %d.%d\n", s.Config.Backend, s.Config.DriverVersion,
			s.Config.CUDAVersion/1000, s.Config.CUDAVersion%1000/10)
		for i, d := range s.Visible {
			fmt.Printf("%d: %s  %s  %s  %d bytes\n", i, d.Name, d.UUIDString(), d.PCIBusID(), d.Memory)
		}
	case "-h", "--help", "help":
		usage()
	default:
		fmt.Fprintf(os.Stderr, "vgpu: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: vgpu profiles | config")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "vgpu:", err)
	os.Exit(1)
}
