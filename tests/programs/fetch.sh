#!/usr/bin/env bash
# Fetches NVIDIA's CUDA compiler as Debian trixie ships it (non-free, CUDA 12.4), once per
# machine and without root, into a cache that outlives the clone, and makes nvcc work from
# there. The packages, and what of each is kept:
#   nvidia-cuda-toolkit   nvcc, cicc, cudafe++, ptxas, fatbinary, nvlink, libdevice (all but
#                         compute-sanitizer and nvdisasm). cicc is linked statically: libnvvm4
#                         (libnvvm.so, the NVVM library API) is not needed to compile.
#   nvidia-cuda-dev       the headers and libcudart_static.a (+ libcudadevrt.a, libculibos.a,
#                         the libcudart.so link name); its ~2.4 GB of other static libraries are
#                         not unpacked, but the package is one ~890 MB download: Debian ships
#                         the runtime's headers nowhere else
#   libcudart12           libcudart.so.12, the shared runtime (`nvcc -cudart shared` links it)
#   libthrust-dev, libcub-dev, libcu++-dev   Thrust, CUB, libcu++ (headers)
# Nothing of it is ever committed. Debian's nvcc reads nvcc.profile beside its binary, which
# names /usr paths: the cache gets its own profile naming the cache, so `$D/nvcc` (a link to the
# binary) compiles and links with this machine's g++. Prints the cache dir last.
# The mirror is the one this machine's own apt sources name (as tests/cuda118/fetch.sh).
# env: VGPU_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/vgpu); KEEP_DEBS=1 keeps the downloaded
# packages under the apt dir (to unpack again without downloading).
set -euo pipefail
C=${VGPU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vgpu}
NAME=nvcc124 SUITE=trixie
PKGS=(nvidia-cuda-toolkit nvidia-cuda-dev libcudart12 libthrust-dev libcub-dev libcu++-dev)
D=$C/$NAME
say() { echo "--- $NAME: $*" >&2; }

# The marker names the packages, so that a cache from a shorter list is completed.
if [ "$(cat "$D/.complete" 2>/dev/null)" = "${PKGS[*]}" ]; then echo "$D"; exit 0; fi
start=$SECONDS

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
total=0 got=0
for p in "${PKGS[@]}"; do
	info=$(apt-cache "${apt[@]}" show --no-all-versions "$p" 2>/dev/null)
	v=$(awk '/^Version:/ {print $2}' <<<"$info") size=$(awk '/^Size:/ {print $2}' <<<"$info")
	[ -n "$v" ] || { say "no package $p in $SUITE"; exit 1; }
	total=$((total + size))
	# A package downloaded by an interrupted run is not downloaded again.
	if ls "$A/debs/${p}_"*.deb >/dev/null 2>&1; then say "have $p $v"; continue; fi
	say "downloading $p $v ($((size / 1000000)) MB)"
	got=$((got + size))
	(cd "$A/debs" && apt-get "${apt[@]}" download -q "$p" >>"$A/download.log" 2>&1) ||
		{ tail -20 "$A/download.log" >&2; exit 1; }
done
say "$((total / 1000000)) MB of packages, $((got / 1000000)) MB of it downloaded now, in $((SECONDS - start)) s"

t=$(mktemp -d "$C/.$NAME.XXXXXX")
for f in "$A"/debs/*.deb; do
	say "unpacking $(basename "$f")"
	case $(basename "$f") in
	nvidia-cuda-dev_*)
		dpkg-deb --fsys-tarfile "$f" | tar -x -C "$t" --wildcards './usr/include/*' \
			'*/libcudart_static.a' '*/libcudadevrt.a' '*/libculibos.a' '*/libcudart.so' ;;
	*) dpkg-deb --fsys-tarfile "$f" | tar -x -C "$t" --wildcards --exclude='./usr/share/*' \
		--exclude='*/compute-sanitizer*' --exclude='*/nvdisasm' ;;
	esac
done

# Debian's profile is a link to /etc/nvcc.profile, naming /usr. nvcc reads the profile beside its
# binary and defines _HERE_ as that directory: this one names the tree around it, wherever it is.
B=$t/usr/lib/nvidia-cuda-toolkit/bin
[ -x "$B/nvcc" ] && [ -x "$B/cicc" ] && [ -e "$t/usr/include/cuda_runtime.h" ] &&
	[ -e "$t/usr/lib/x86_64-linux-gnu/libcudart_static.a" ] || { say "the packages lack nvcc, cicc, cuda_runtime.h or libcudart_static.a"; exit 1; }
rm -f "$B/nvcc.profile"
cat >"$B/nvcc.profile" <<'PROFILE'
# Written by tests/programs/fetch.sh: Debian's profile with paths relative to this directory.
NVVMIR_LIBRARY_DIR = $(_HERE_)/../libdevice
PATH		+= $(_HERE_):$(_HERE_)/../../../bin:
INCLUDES	+= "-I$(_HERE_)/../../../include" $(_SPACE_)
LIBRARIES	=+ $(_SPACE_) "-L$(_HERE_)/../../x86_64-linux-gnu"
PROFILE
# $D/nvcc: the compiler, called by any name (the real binary finds its profile by its own path).
printf '#!/bin/sh\nexec "$(dirname "$0")/usr/lib/nvidia-cuda-toolkit/bin/nvcc" "$@"\n' >"$t/nvcc"
chmod +x "$t/nvcc"
# The toolchain must compile and link a kernel with this machine's host compiler before the
# cache is marked complete.
printf '__global__ void k(int *p) { *p = 1; }\nint main() { k<<<1, 1>>>(0); return 0; }\n' >"$t/check.cu"
say "checking: nvcc -arch=sm_90 check.cu"
"$t/nvcc" -arch=sm_90 -o "$t/check" "$t/check.cu" >&2 || { say "nvcc cannot build a program here"; exit 1; }
rm -f "$t/check" "$t/check.cu"
[ -n "${KEEP_DEBS:-}" ] || rm -f "$A"/debs/*.deb
rm -rf "$D" && mv "$t" "$D"
echo "${PKGS[*]}" >"$D/.complete"
say "ready in $((SECONDS - start)) s: $(du -sh "$D" | cut -f1) unpacked; $("$D/nvcc" --version | tail -2 | head -1)"
echo "$D"
