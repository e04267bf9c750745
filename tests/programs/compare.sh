#!/usr/bin/env bash
# Compares a program's output with its expected (native) output, leaving out on both sides
# the lines that depend on a kernel having really run ("k " lines), as the CI sim runs
# kernels as no-ops. Prints the diff and exits 1 when they differ.
# usage: tests/programs/compare.sh OUTPUT EXPECTED
set -uo pipefail
[ $# -eq 2 ] || { echo "usage: $0 OUTPUT EXPECTED" >&2; exit 2; }
[ -r "$1" ] && [ -r "$2" ] || { echo "compare.sh: cannot read $1 or $2" >&2; exit 2; }
if d=$(diff <(grep -v '^k ' "$2") <(grep -v '^k ' "$1")); then exit 0; fi
echo "$1 differs from $2 (k lines left out; < expected, > output):"
echo "$d"
exit 1
