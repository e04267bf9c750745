#!/usr/bin/env bash
# Fetches Debian bookworm's CUDA 11.8 runtime (non-free), once per machine and without root,
# into a cache that outlives the clone:
#   libcudart11.0     libcudart.so.11.0 (NVIDIA's shared runtime)
#   nvidia-cuda-dev   libcudart_static.a (the runtime nvcc links by default)
#   libcublas11, libcublaslt11   cuBLAS 11 (libcublas.so.11, libcublasLt.so.11: ~650 MB unpacked)
# Nothing of it is ever committed; the test programs declare the few prototypes they use.
# The mirror is the one this machine's own apt sources name. Prints the cache dir last.
# With the argument 12.4: Debian trixie's CUDA 12.4 instead: libcudart12 (libcudart.so.12) and
# libcublas12, libcublaslt12 (libcublas.so.12, libcublasLt.so.12: ~530 MB unpacked).
# env: VGPU_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/vgpu)
set -euo pipefail
C=${VGPU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vgpu}
NAME=cuda118 SUITE=bookworm
PKGS=(libcudart11.0 nvidia-cuda-dev libcublas11 libcublaslt11)
LIBS=(libcudart_static.a libcudart.so.11.0 libcublas.so.11 libcublasLt.so.11)
if [ "${1:-}" = 12.4 ]; then
	# Its own directory: a cache of the runtime alone (cuda124, written by older copies of this
	# script) is left to them rather than rewritten back and forth.
	NAME=cuda124-cublas SUITE=trixie PKGS=(libcudart12 libcublas12 libcublaslt12)
	LIBS=(libcudart.so.12 libcublas.so.12 libcublasLt.so.12)
fi
D=$C/$NAME
say() { echo "--- $NAME: $*" >&2; }

# The marker names the packages, so that a cache from a shorter list is completed.
if [ "$(cat "$D/.complete" 2>/dev/null)" = "${PKGS[*]}" ]; then echo "$D"; exit 0; fi

# The Debian mirror: the first URI of the machine's sources (deb822 or one-line format).
mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}')
[ -n "$mirror" ] || mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
	awk '$1 == "deb" && $0 ~ /debian/ && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}')
[ -n "$mirror" ] || { say "no Debian mirror in /etc/apt/sources.list*"; exit 1; }

A=$C/.$NAME-apt
mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$A/debs"
echo "deb $mirror $SUITE main contrib non-free non-free-firmware" >"$A/sources.list"
apt=(-o Dir::Etc::SourceList="$A/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o Dir::State::Lists="$A/lists" -o Dir::Cache="$A/cache" -o Debug::NoLocking=1
	-o APT::Sandbox::User="$(id -un)")
say "apt-get update ($SUITE with non-free, private lists under $A)"
# apt-get update exits 0 when a source cannot be reached: its log says so.
if ! apt-get "${apt[@]}" update -q >"$A/update.log" 2>&1 || grep -qE '^(Err:|E:|W: Failed to fetch)' "$A/update.log"; then
	tail -20 "$A/update.log" >&2
	say "apt-get update failed: is the Debian mirror ($mirror) reachable?"
	exit 1
fi
for p in "${PKGS[@]}"; do
	say "downloading $p ($(apt-cache "${apt[@]}" show --no-all-versions "$p" 2>/dev/null | awk '/^Version:/ {print $2}'))"
	(cd "$A/debs" && apt-get "${apt[@]}" download -q "$p" >>"$A/download.log" 2>&1) ||
		{ tail -20 "$A/download.log" >&2; exit 1; }
done
t=$(mktemp -d "$C/.$NAME.XXXXXX")
# Only the libraries: nvidia-cuda-dev is ~770 MB of static libraries and headers.
for f in "$A"/debs/*.deb; do
	say "unpacking the libraries of $(basename "$f")"
	dpkg-deb --fsys-tarfile "$f" | tar -x -C "$t" --wildcards --exclude='*/stubs/*' '*/libcudart*' '*/libcublas.so*' '*/libcublasLt.so*' 2>/dev/null || true
done
for l in "${LIBS[@]}"; do
	[ -e "$t/usr/lib/x86_64-linux-gnu/$l" ] || { say "no $l in the packages"; exit 1; }
done
rm -f "$A"/debs/*.deb
rm -rf "$D" && mv "$t" "$D"
echo "${PKGS[*]}" >"$D/.complete"
echo "$D"
