package smi

import (
	"fmt"
	"os"
	"strings"
)

func procName(pid uint32) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(b) == 0 {
		return "[unknown]"
	}
	s := strings.SplitN(string(b), "\x00", 2)[0]
	if len(s) > 50 {
		s = "..." + s[len(s)-47:]
	}
	return s
}
