#!/usr/bin/env python3
"""Compiles facts.cu, dropping lines the compiler rejects (names under #if guards)."""
import re, subprocess, sys
src, exe, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
for attempt in range(8):
    r = subprocess.run(["nvcc", "-O0", "-w", "-o", exe, src, "-lcuda", "-lcublas"] + extra, capture_output=True, text=True)
    if r.returncode == 0:
        print("built after", attempt, "retries"); sys.exit(0)
    bad = {int(m) for m in re.findall(re.escape(src.split("/")[-1]) + r"\((\d+)\): error", r.stdout + r.stderr)}
    bad |= {int(m) for m in re.findall(re.escape(src.split("/")[-1]) + r":(\d+):\d*:? ?error", r.stdout + r.stderr)}
    print("attempt", attempt, "bad lines", sorted(bad)[:20], (r.stdout + r.stderr)[-800:] if not bad else "")
    if not bad: sys.exit(1)
    lines = open(src).read().split("\n")
    for b in bad:
        if "int main" not in lines[b-1] and "return 0" not in lines[b-1]:
            lines[b-1] = "/* dropped */"
    open(src, "w").write("\n".join(lines))
sys.exit(1)
